//! Keyspace commands over the shared [`super::store::Store`].

use std::collections::{BTreeSet, VecDeque};
use std::time::Duration;

use rand::seq::SliceRandom as _;

use super::commands::Exec;
use super::resp::{Reply, string2ll};
use super::store::{Entry, Expiry, OutOfMemory, Value, glob_match};

const WRONGTYPE: &str = "WRONGTYPE Operation against a key holding the wrong kind of value";
const NOT_INT: &str = "ERR value is not an integer or out of range";
const OOM: &str = "OOM command not allowed when used memory > 'maxmemory'.";

fn oom(r: Result<(), OutOfMemory>, ok: Reply) -> Reply {
    match r {
        Ok(()) => ok,
        Err(OutOfMemory) => Reply::err(OOM),
    }
}

/// The string at `key`: `Ok(None)` when missing, `Err` when another type.
fn get_str(x: &mut Exec<'_>, key: &[u8]) -> Result<Option<Vec<u8>>, Reply> {
    match x.sh.store.lock().get(x.st.db, key, x.now) {
        None => Ok(None),
        Some(Entry {
            value: Value::Str(s),
            ..
        }) => Ok(Some(s.clone())),
        Some(_) => Err(Reply::err(WRONGTYPE)),
    }
}

fn put(
    x: &mut Exec<'_>,
    key: &[u8],
    value: Value,
    expiry: Option<Expiry>,
) -> Result<(), OutOfMemory> {
    x.sh.store
        .lock()
        .insert(x.st.db, key.to_vec(), Entry { value, expiry })
}

/// GET.
pub fn get(x: &mut Exec<'_>, a: &[Vec<u8>]) -> Reply {
    match get_str(x, &a[1]) {
        Ok(Some(v)) => Reply::Bulk(v),
        Ok(None) => Reply::Null,
        Err(e) => e,
    }
}

/// SET with NX/XX/GET/KEEPTTL/EX/PX/EXAT/PXAT.
pub fn set(x: &mut Exec<'_>, a: &[Vec<u8>]) -> Reply {
    let (mut nx, mut xx, mut want_get, mut keepttl) = (false, false, false, false);
    let mut expiry: Option<Expiry> = None;
    let mut i = 3;
    while i < a.len() {
        let opt = a[i].to_ascii_lowercase();
        let has_next = i + 1 < a.len();
        match opt.as_slice() {
            b"nx" if !xx => nx = true,
            b"xx" if !nx => xx = true,
            b"get" => want_get = true,
            b"keepttl" if expiry.is_none() => keepttl = true,
            b"ex" | b"px" | b"exat" | b"pxat" if has_next && expiry.is_none() && !keepttl => {
                let Some(n) = string2ll(&a[i + 1]) else {
                    return Reply::err(NOT_INT);
                };
                if n <= 0 {
                    return Reply::err("ERR invalid expire time in 'set' command");
                }
                let n = n as u64;
                let now_ms = std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .unwrap_or_default()
                    .as_millis() as u64;
                let ms = match opt.as_slice() {
                    b"ex" => n.saturating_mul(1000),
                    b"px" => n,
                    b"exat" => n.saturating_mul(1000).saturating_sub(now_ms),
                    _ => n.saturating_sub(now_ms),
                };
                expiry = Some(Expiry::At(
                    x.now + Duration::from_millis(ms.min(u32::MAX as u64 * 1000)),
                ));
                i += 1;
            }
            _ => return Reply::err("ERR syntax error"),
        }
        i += 1;
    }
    let old = match get_str(x, &a[1]) {
        Ok(o) => o,
        Err(e) if want_get => return e,
        Err(_) => Some(Vec::new()),
    };
    let exists = old.is_some() || x.sh.store.lock().get(x.st.db, &a[1], x.now).is_some();
    let reply_for = |old: Option<Vec<u8>>| {
        if want_get {
            old.map_or(Reply::Null, Reply::Bulk)
        } else {
            Reply::Null
        }
    };
    if (nx && exists) || (xx && !exists) {
        return reply_for(old);
    }
    if keepttl {
        expiry =
            x.sh.store
                .lock()
                .get(x.st.db, &a[1], x.now)
                .and_then(|e| e.expiry);
    }
    let ok = if want_get {
        old.map_or(Reply::Null, Reply::Bulk)
    } else {
        Reply::Simple("OK")
    };
    oom(put(x, &a[1], Value::Str(a[2].clone()), expiry), ok)
}

/// SETNX.
pub fn setnx(x: &mut Exec<'_>, a: &[Vec<u8>]) -> Reply {
    if x.sh.store.lock().get(x.st.db, &a[1], x.now).is_some() {
        return Reply::Int(0);
    }
    oom(put(x, &a[1], Value::Str(a[2].clone()), None), Reply::Int(1))
}

/// SETEX.
pub fn setex(x: &mut Exec<'_>, a: &[Vec<u8>]) -> Reply {
    let secs = match string2ll(&a[2]) {
        None => return Reply::err(NOT_INT),
        Some(n) if n <= 0 => return Reply::err("ERR invalid expire time in 'setex' command"),
        Some(n) => n as u64,
    };
    let expiry = Some(Expiry::At(
        x.now + Duration::from_secs(secs.min(u32::MAX as u64)),
    ));
    oom(
        put(x, &a[1], Value::Str(a[3].clone()), expiry),
        Reply::Simple("OK"),
    )
}

/// GETSET.
pub fn getset(x: &mut Exec<'_>, a: &[Vec<u8>]) -> Reply {
    match get_str(x, &a[1]) {
        Err(e) => e,
        Ok(old) => oom(
            put(x, &a[1], Value::Str(a[2].clone()), None),
            old.map_or(Reply::Null, Reply::Bulk),
        ),
    }
}

/// MGET.
pub fn mget(x: &mut Exec<'_>, a: &[Vec<u8>]) -> Reply {
    Reply::Array(
        a[1..]
            .iter()
            .map(|k| match get_str(x, k) {
                Ok(Some(v)) => Reply::Bulk(v),
                _ => Reply::Null,
            })
            .collect(),
    )
}

/// APPEND.
pub fn append(x: &mut Exec<'_>, a: &[Vec<u8>]) -> Reply {
    match get_str(x, &a[1]) {
        Err(e) => e,
        Ok(old) => {
            let mut v = old.unwrap_or_default();
            v.extend_from_slice(&a[2]);
            let len = v.len() as i64;
            let expiry =
                x.sh.store
                    .lock()
                    .get(x.st.db, &a[1], x.now)
                    .and_then(|e| e.expiry);
            oom(put(x, &a[1], Value::Str(v), expiry), Reply::Int(len))
        }
    }
}

/// STRLEN.
pub fn strlen(x: &mut Exec<'_>, a: &[Vec<u8>]) -> Reply {
    match get_str(x, &a[1]) {
        Err(e) => e,
        Ok(v) => Reply::Int(v.map_or(0, |v| v.len() as i64)),
    }
}

/// INCR/DECR/INCRBY/DECRBY.
pub fn incr(x: &mut Exec<'_>, a: &[Vec<u8>]) -> Reply {
    let name = a[0].to_ascii_lowercase();
    let by = match name.as_slice() {
        b"incr" => 1,
        b"decr" => -1,
        _ => match string2ll(&a[2]) {
            None => return Reply::err(NOT_INT),
            Some(n) if name == b"decrby" => match n.checked_neg() {
                Some(n) => n,
                None => return Reply::err("ERR decrement would overflow"),
            },
            Some(n) => n,
        },
    };
    let current = match get_str(x, &a[1]) {
        Err(e) => return e,
        Ok(None) => 0,
        Ok(Some(v)) => match string2ll(&v) {
            Some(n) => n,
            None => return Reply::err(NOT_INT),
        },
    };
    let Some(new) = current.checked_add(by) else {
        return Reply::err("ERR increment or decrement would overflow");
    };
    let expiry =
        x.sh.store
            .lock()
            .get(x.st.db, &a[1], x.now)
            .and_then(|e| e.expiry);
    oom(
        put(x, &a[1], Value::Str(new.to_string().into_bytes()), expiry),
        Reply::Int(new),
    )
}

/// DEL/UNLINK.
pub fn del(x: &mut Exec<'_>, a: &[Vec<u8>]) -> Reply {
    let mut store = x.sh.store.lock();
    let mut n = 0;
    for k in &a[1..] {
        if store.get(x.st.db, k, x.now).is_some() && store.remove(x.st.db, k) {
            n += 1;
        }
    }
    Reply::Int(n)
}

/// EXISTS.
pub fn exists(x: &mut Exec<'_>, a: &[Vec<u8>]) -> Reply {
    let mut store = x.sh.store.lock();
    Reply::Int(
        a[1..]
            .iter()
            .filter(|k| store.get(x.st.db, k, x.now).is_some())
            .count() as i64,
    )
}

/// TYPE.
pub fn type_of(x: &mut Exec<'_>, a: &[Vec<u8>]) -> Reply {
    match x.sh.store.lock().get(x.st.db, &a[1], x.now) {
        None => Reply::Simple("none"),
        Some(e) => Reply::Simple(e.value.type_name()),
    }
}

/// TTL/PTTL.
pub fn ttl(x: &mut Exec<'_>, a: &[Vec<u8>]) -> Reply {
    let millis = a[0].eq_ignore_ascii_case(b"pttl");
    match x.sh.store.lock().get(x.st.db, &a[1], x.now) {
        None => Reply::Int(-2),
        Some(Entry { expiry: None, .. }) => Reply::Int(-1),
        Some(Entry {
            expiry: Some(e), ..
        }) => {
            let ms = e.remaining(x.now).unwrap_or_default().as_millis() as i64;
            Reply::Int(if millis { ms } else { (ms + 500) / 1000 })
        }
    }
}

/// EXPIRE.
pub fn expire(x: &mut Exec<'_>, a: &[Vec<u8>]) -> Reply {
    let Some(secs) = string2ll(&a[2]) else {
        return Reply::err(NOT_INT);
    };
    if a.len() > 4 || (a.len() == 4 && !x.sh.version.modern_subcommands()) {
        return Reply::err(x.sh.version.wrong_arity("expire", None, b""));
    }
    let mut store = x.sh.store.lock();
    if store.get(x.st.db, &a[1], x.now).is_none() {
        return Reply::Int(0);
    }
    if secs <= 0 {
        store.remove(x.st.db, &a[1]);
        return Reply::Int(1);
    }
    let at = Expiry::At(x.now + Duration::from_secs((secs as u64).min(u32::MAX as u64)));
    Reply::Int(i64::from(store.set_expiry(x.st.db, &a[1], Some(at), x.now)))
}

/// PERSIST.
pub fn persist(x: &mut Exec<'_>, a: &[Vec<u8>]) -> Reply {
    let mut store = x.sh.store.lock();
    let had = store
        .get(x.st.db, &a[1], x.now)
        .is_some_and(|e| e.expiry.is_some());
    if had {
        store.set_expiry(x.st.db, &a[1], None, x.now);
    }
    Reply::Int(i64::from(had))
}

/// KEYS.
pub fn keys(x: &mut Exec<'_>, a: &[Vec<u8>]) -> Reply {
    let keys = x.sh.store.lock().keys(x.st.db, x.now);
    Reply::Array(
        keys.into_iter()
            .filter(|k| glob_match(&a[1], k))
            .map(Reply::Bulk)
            .collect(),
    )
}

/// SCAN with MATCH/COUNT/TYPE.
pub fn scan(x: &mut Exec<'_>, a: &[Vec<u8>]) -> Reply {
    let cursor = match std::str::from_utf8(&a[1])
        .ok()
        .and_then(|s| s.parse::<u64>().ok())
    {
        Some(c) => c as usize,
        None => return Reply::err("ERR invalid cursor"),
    };
    let (mut pattern, mut count, mut kind) = (None, 10usize, None);
    let mut i = 2;
    while i < a.len() {
        let opt = a[i].to_ascii_lowercase();
        if i + 1 >= a.len() {
            return Reply::err("ERR syntax error");
        }
        match opt.as_slice() {
            b"match" => pattern = Some(a[i + 1].clone()),
            b"count" => match string2ll(&a[i + 1]) {
                None => return Reply::err(NOT_INT),
                Some(n) if n < 1 => return Reply::err("ERR syntax error"),
                Some(n) => count = n.min(100_000) as usize,
            },
            b"type" => kind = Some(String::from_utf8_lossy(&a[i + 1]).to_ascii_lowercase()),
            _ => return Reply::err("ERR syntax error"),
        }
        i += 2;
    }
    let mut store = x.sh.store.lock();
    let keys = store.keys(x.st.db, x.now);
    let end = cursor.saturating_add(count).min(keys.len());
    let mut found = Vec::new();
    for k in keys.get(cursor.min(keys.len())..end).unwrap_or(&[]) {
        if pattern.as_deref().is_some_and(|p| !glob_match(p, k)) {
            continue;
        }
        if let Some(t) = &kind
            && store.get(x.st.db, k, x.now).map(|e| e.value.type_name()) != Some(t.as_str())
        {
            continue;
        }
        found.push(Reply::Bulk(k.clone()));
    }
    let next = if end >= keys.len() { 0 } else { end };
    Reply::Array(vec![Reply::bulk(next.to_string()), Reply::Array(found)])
}

/// RANDOMKEY.
pub fn randomkey(x: &mut Exec<'_>, _: &[Vec<u8>]) -> Reply {
    let keys = x.sh.store.lock().keys(x.st.db, x.now);
    keys.choose(&mut rand::thread_rng())
        .cloned()
        .map_or(Reply::Null, Reply::Bulk)
}

/// Runs `f` on the value at `key` if it is of the wanted kind.
fn with_value<T>(
    x: &mut Exec<'_>,
    key: &[u8],
    f: impl FnOnce(Option<&Value>) -> Result<T, Reply>,
) -> Result<T, Reply> {
    let mut store = x.sh.store.lock();
    f(store.get(x.st.db, key, x.now).map(|e| &e.value))
}

/// HGET.
pub fn hget(x: &mut Exec<'_>, a: &[Vec<u8>]) -> Reply {
    with_value(x, &a[1], |v| match v {
        None => Ok(Reply::Null),
        Some(Value::Hash(h)) => Ok(h
            .iter()
            .find(|(k, _)| *k == a[2])
            .map_or(Reply::Null, |(_, v)| Reply::Bulk(v.clone()))),
        Some(_) => Err(Reply::err(WRONGTYPE)),
    })
    .unwrap_or_else(|e| e)
}

/// HGETALL/HKEYS/HLEN.
pub fn hgetall(x: &mut Exec<'_>, a: &[Vec<u8>]) -> Reply {
    let which = a[0].to_ascii_lowercase();
    with_value(x, &a[1], |v| {
        let empty = Vec::new();
        let h = match v {
            None => &empty,
            Some(Value::Hash(h)) => h,
            Some(_) => return Err(Reply::err(WRONGTYPE)),
        };
        Ok(match which.as_slice() {
            b"hlen" => Reply::Int(h.len() as i64),
            b"hkeys" => Reply::Array(h.iter().map(|(k, _)| Reply::Bulk(k.clone())).collect()),
            _ => Reply::Map(
                h.iter()
                    .map(|(k, v)| (Reply::Bulk(k.clone()), Reply::Bulk(v.clone())))
                    .collect(),
            ),
        })
    })
    .unwrap_or_else(|e| e)
}

/// HSET.
pub fn hset(x: &mut Exec<'_>, a: &[Vec<u8>]) -> Reply {
    if !a.len().is_multiple_of(2) {
        return Reply::err(x.sh.version.wrong_arity("hset", None, b""));
    }
    let current = with_value(x, &a[1], |v| match v {
        None => Ok(Vec::new()),
        Some(Value::Hash(h)) => Ok(h.clone()),
        Some(_) => Err(Reply::err(WRONGTYPE)),
    });
    let mut h = match current {
        Ok(h) => h,
        Err(e) => return e,
    };
    let mut added = 0;
    for pair in a[2..].chunks(2) {
        match h.iter_mut().find(|(k, _)| *k == pair[0]) {
            Some(slot) => slot.1 = pair[1].clone(),
            None => {
                h.push((pair[0].clone(), pair[1].clone()));
                added += 1;
            }
        }
    }
    oom(put(x, &a[1], Value::Hash(h), None), Reply::Int(added))
}

/// LRANGE.
pub fn lrange(x: &mut Exec<'_>, a: &[Vec<u8>]) -> Reply {
    let (Some(start), Some(stop)) = (string2ll(&a[2]), string2ll(&a[3])) else {
        return Reply::err(NOT_INT);
    };
    with_value(x, &a[1], |v| {
        let l = match v {
            None => return Ok(Reply::Array(vec![])),
            Some(Value::List(l)) => l,
            Some(_) => return Err(Reply::err(WRONGTYPE)),
        };
        let len = l.len() as i64;
        let norm = |i: i64| if i < 0 { (len + i).max(0) } else { i };
        let (s, e) = (norm(start), norm(stop).min(len - 1));
        if s > e || s >= len {
            return Ok(Reply::Array(vec![]));
        }
        Ok(Reply::Array(
            l.range(s as usize..=e as usize)
                .map(|i| Reply::Bulk(i.clone()))
                .collect(),
        ))
    })
    .unwrap_or_else(|e| e)
}

/// LLEN.
pub fn llen(x: &mut Exec<'_>, a: &[Vec<u8>]) -> Reply {
    with_value(x, &a[1], |v| match v {
        None => Ok(Reply::Int(0)),
        Some(Value::List(l)) => Ok(Reply::Int(l.len() as i64)),
        Some(_) => Err(Reply::err(WRONGTYPE)),
    })
    .unwrap_or_else(|e| e)
}

/// LPUSH/RPUSH.
pub fn push(x: &mut Exec<'_>, a: &[Vec<u8>]) -> Reply {
    let left = a[0].eq_ignore_ascii_case(b"lpush");
    let current = with_value(x, &a[1], |v| match v {
        None => Ok(VecDeque::new()),
        Some(Value::List(l)) => Ok(l.clone()),
        Some(_) => Err(Reply::err(WRONGTYPE)),
    });
    let mut l = match current {
        Ok(l) => l,
        Err(e) => return e,
    };
    for item in &a[2..] {
        if left {
            l.push_front(item.clone());
        } else {
            l.push_back(item.clone());
        }
    }
    let len = l.len() as i64;
    oom(put(x, &a[1], Value::List(l), None), Reply::Int(len))
}

/// SMEMBERS/SCARD/SISMEMBER.
pub fn smembers(x: &mut Exec<'_>, a: &[Vec<u8>]) -> Reply {
    let which = a[0].to_ascii_lowercase();
    with_value(x, &a[1], |v| {
        let empty = BTreeSet::new();
        let s = match v {
            None => &empty,
            Some(Value::Set(s)) => s,
            Some(_) => return Err(Reply::err(WRONGTYPE)),
        };
        Ok(match which.as_slice() {
            b"scard" => Reply::Int(s.len() as i64),
            b"sismember" => Reply::Int(i64::from(s.contains(&a[2]))),
            _ => Reply::Set(s.iter().map(|m| Reply::Bulk(m.clone())).collect()),
        })
    })
    .unwrap_or_else(|e| e)
}

/// SADD.
pub fn sadd(x: &mut Exec<'_>, a: &[Vec<u8>]) -> Reply {
    let current = with_value(x, &a[1], |v| match v {
        None => Ok(BTreeSet::new()),
        Some(Value::Set(s)) => Ok(s.clone()),
        Some(_) => Err(Reply::err(WRONGTYPE)),
    });
    let mut s = match current {
        Ok(s) => s,
        Err(e) => return e,
    };
    let added = a[2..].iter().filter(|m| s.insert((*m).clone())).count() as i64;
    oom(put(x, &a[1], Value::Set(s), None), Reply::Int(added))
}
