//! Command dispatch in Redis's order (QUIT, lookup, arity, authentication,
//! execution) and the server/connection commands; keyspace commands live in
//! `data.rs`.

use std::sync::atomic::Ordering;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use decnet_event::Outcome as AuthOutcome;

use super::resp::{Proto, Reply, string2ll};
use super::{ConnState, Shared, admin, data, info};
use crate::session::Draft;
use crate::session::event_types::{AUTH, COMMAND};

/// What one command produced.
#[derive(Debug)]
pub struct Outcome {
    /// The reply; `None` closes without answering (Redis's HTTP-smuggling guard).
    pub reply: Option<Reply>,
    /// Close after the reply.
    pub close: bool,
    /// Events to emit.
    pub drafts: Vec<Draft>,
}

/// Execution context of one command.
pub struct Exec<'a> {
    /// Service state.
    pub sh: &'a Shared,
    /// Connection state.
    pub st: &'a mut ConnState,
    /// The command's time.
    pub now: Instant,
    /// Events to emit.
    pub drafts: Vec<Draft>,
}

type Handler = fn(&mut Exec<'_>, &[Vec<u8>]) -> Reply;

struct Spec {
    name: &'static str,
    arity: i32,
    no_auth: bool,
    /// Subcommands and their arities, for container commands.
    subs: &'static [(&'static str, i32)],
    run: Handler,
}

const fn cmd(name: &'static str, arity: i32, run: Handler) -> Spec {
    Spec {
        name,
        arity,
        no_auth: false,
        subs: &[],
        run,
    }
}

const CONFIG_SUBS: &[(&str, i32)] = &[
    ("get", -3),
    ("set", -4),
    ("resetstat", 2),
    ("rewrite", 2),
    ("help", 2),
];
const CLIENT_SUBS: &[(&str, i32)] = &[
    ("id", 2),
    ("getname", 2),
    ("setname", 3),
    ("list", -2),
    ("info", 2),
    ("kill", -3),
    ("setinfo", 4),
    ("reply", 3),
    ("no-evict", 3),
    ("help", 2),
];
const COMMAND_SUBS: &[(&str, i32)] = &[
    ("count", 2),
    ("docs", -2),
    ("info", -2),
    ("list", -2),
    ("help", 2),
];
const MODULE_SUBS: &[(&str, i32)] = &[("list", 2), ("load", -3), ("unload", 3), ("help", 2)];
const ACL_SUBS: &[(&str, i32)] = &[
    ("whoami", 2),
    ("users", 2),
    ("list", 2),
    ("cat", -2),
    ("help", 2),
];

static COMMANDS: &[Spec] = &[
    Spec {
        no_auth: true,
        ..cmd("auth", -2, auth)
    },
    Spec {
        no_auth: true,
        ..cmd("hello", -1, hello)
    },
    cmd("ping", -1, ping),
    cmd("echo", 2, |_, a| Reply::Bulk(a[1].clone())),
    cmd("info", -1, |x, a| {
        Reply::Verbatim(info::render(x.sh, &a[1..], x.now))
    }),
    cmd("select", 2, select),
    cmd("dbsize", 1, |x, _| {
        let db = x.st.db;
        Reply::Int(x.sh.store.lock().counts(db, x.now).0 as i64)
    }),
    cmd("flushall", -1, flush),
    cmd("flushdb", -1, flush),
    cmd("save", 1, |_, _| Reply::Simple("OK")),
    cmd("bgsave", -1, |_, _| {
        Reply::Simple("Background saving started")
    }),
    cmd("lastsave", 1, |x, _| {
        Reply::Int((unix_secs() - x.sh.ids.last_save_age) as i64)
    }),
    cmd("time", 1, |_, _| {
        let t = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default();
        Reply::Array(vec![
            Reply::bulk(t.as_secs().to_string()),
            Reply::bulk(t.subsec_micros().to_string()),
        ])
    }),
    cmd("role", 1, |_, _| {
        Reply::Array(vec![
            Reply::bulk("master"),
            Reply::Int(0),
            Reply::Array(vec![]),
        ])
    }),
    cmd("slaveof", 3, admin::replicaof),
    cmd("replicaof", 3, admin::replicaof),
    cmd("shutdown", -1, |_, _| {
        Reply::err("ERR Errors trying to SHUTDOWN. Check logs.")
    }),
    cmd("monitor", 1, |_, _| Reply::Simple("OK")),
    cmd("eval", -3, |_, _| Reply::Null),
    cmd("evalsha", -3, |_, _| {
        Reply::err("NOSCRIPT No matching script. Please use EVAL.")
    }),
    cmd("debug", -2, admin::debug),
    Spec {
        subs: CONFIG_SUBS,
        ..cmd("config", -2, admin::config)
    },
    Spec {
        subs: CLIENT_SUBS,
        ..cmd("client", -2, admin::client)
    },
    Spec {
        subs: COMMAND_SUBS,
        ..cmd("command", -1, admin::command)
    },
    Spec {
        subs: MODULE_SUBS,
        ..cmd("module", -2, admin::module)
    },
    Spec {
        subs: ACL_SUBS,
        ..cmd("acl", -2, admin::acl)
    },
    cmd("get", 2, data::get),
    cmd("set", -3, data::set),
    cmd("setnx", 3, data::setnx),
    cmd("setex", 4, data::setex),
    cmd("getset", 3, data::getset),
    cmd("mget", -2, data::mget),
    cmd("append", 3, data::append),
    cmd("strlen", 2, data::strlen),
    cmd("incr", 2, data::incr),
    cmd("decr", 2, data::incr),
    cmd("incrby", 3, data::incr),
    cmd("decrby", 3, data::incr),
    cmd("del", -2, data::del),
    cmd("unlink", -2, data::del),
    cmd("exists", -2, data::exists),
    cmd("type", 2, data::type_of),
    cmd("ttl", 2, data::ttl),
    cmd("pttl", 2, data::ttl),
    cmd("expire", -3, data::expire),
    cmd("persist", 2, data::persist),
    cmd("keys", 2, data::keys),
    cmd("scan", -2, data::scan),
    cmd("randomkey", 1, data::randomkey),
    cmd("hget", 3, data::hget),
    cmd("hset", -4, data::hset),
    cmd("hgetall", 2, data::hgetall),
    cmd("hkeys", 2, data::hgetall),
    cmd("hlen", 2, data::hgetall),
    cmd("lrange", 4, data::lrange),
    cmd("llen", 2, data::llen),
    cmd("lpush", -3, data::push),
    cmd("rpush", -3, data::push),
    cmd("smembers", 2, data::smembers),
    cmd("scard", 2, data::smembers),
    cmd("sismember", 3, data::smembers),
    cmd("sadd", -3, data::sadd),
];

fn unix_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// Longest argument kept in a `command` event.
const EVENT_ARG_MAX: usize = 256;

fn command_event(args: &[Vec<u8>]) -> Draft {
    let shown: Vec<String> = args[1..]
        .iter()
        .take(8)
        .map(|a| {
            let cut = &a[..a.len().min(EVENT_ARG_MAX)];
            String::from_utf8_lossy(cut).into_owned()
        })
        .collect();
    Draft::new(COMMAND)
        .field("cmd", String::from_utf8_lossy(&args[0]).to_uppercase())
        .field("args", serde_json::to_string(&shown).unwrap_or_default())
        .field("argc", (args.len() - 1).to_string())
}

/// Executes one command.
pub fn execute(sh: &Shared, st: &mut ConnState, args: Vec<Vec<u8>>) -> Outcome {
    sh.stats.commands.fetch_add(1, Ordering::Relaxed);
    let v = sh.version;
    let lower = String::from_utf8_lossy(&args[0]).to_ascii_lowercase();
    let mut x = Exec {
        sh,
        st,
        now: Instant::now(),
        drafts: Vec::new(),
    };
    let done = |x: Exec<'_>, reply: Option<Reply>, close: bool| Outcome {
        reply,
        close,
        drafts: x.drafts,
    };
    match lower.as_str() {
        "auth" => {}
        "hello" => {
            let cut = args
                .iter()
                .position(|a| a.eq_ignore_ascii_case(b"auth"))
                .unwrap_or(args.len());
            x.drafts.push(command_event(&args[..cut]));
        }
        _ => x.drafts.push(command_event(&args)),
    }
    if lower == "quit" {
        return done(x, Some(Reply::Simple("OK")), true);
    }
    // Redis drops connections that look like HTTP sent to it (cross-protocol scripting).
    if lower == "post" || lower == "host:" {
        return done(x, None, true);
    }
    let spec = COMMANDS
        .iter()
        .find(|s| s.name == lower)
        .filter(|s| v.has_acl() || !matches!(s.name, "hello" | "acl"));
    let Some(spec) = spec else {
        return done(
            x,
            Some(Reply::err(v.unknown_command(&args[0], &args[1..]))),
            false,
        );
    };
    let arity = if spec.name == "auth" && !v.has_acl() {
        2
    } else {
        spec.arity
    };
    let argc = args.len() as i32;
    if (arity > 0 && argc != arity) || argc < -arity {
        return done(
            x,
            Some(Reply::err(v.wrong_arity(spec.name, None, b""))),
            false,
        );
    }
    // 7.0 validates subcommands before authentication; older versions inside the command.
    if v.modern_subcommands()
        && !spec.subs.is_empty()
        && args.len() > 1
        && let Some(err) = check_sub(&x, spec, &args)
    {
        return done(x, Some(err), false);
    }
    if !x.st.authenticated && !spec.no_auth {
        return done(
            x,
            Some(Reply::err("NOAUTH Authentication required.")),
            false,
        );
    }
    if !v.modern_subcommands()
        && !spec.subs.is_empty()
        && args.len() > 1
        && let Some(err) = check_sub(&x, spec, &args)
    {
        return done(x, Some(err), false);
    }
    if v.protects_module_command() && matches!(spec.name, "module" | "debug") {
        let (name, option) = if spec.name == "debug" {
            ("DEBUG", "enable-debug-command")
        } else {
            ("MODULE", "enable-module-command")
        };
        return done(
            x,
            Some(Reply::err(format!(
                "ERR {name} command not allowed. If the {option} option is set to \"local\", you can run it from a local connection, otherwise you need to set this option in the configuration file, and then restart the server."
            ))),
            false,
        );
    }
    x.st.last_cmd = match (spec.subs.is_empty(), args.get(1)) {
        (false, Some(sub)) => format!(
            "{}|{}",
            spec.name,
            String::from_utf8_lossy(sub).to_ascii_lowercase()
        ),
        _ => spec.name.to_owned(),
    };
    let reply = (spec.run)(&mut x, &args);
    done(x, Some(reply), false)
}

fn check_sub(x: &Exec<'_>, spec: &Spec, args: &[Vec<u8>]) -> Option<Reply> {
    let v = x.sh.version;
    let sub = String::from_utf8_lossy(&args[1]).to_ascii_lowercase();
    let upper = spec.name.to_ascii_uppercase();
    let Some((name, arity)) = spec.subs.iter().find(|(n, _)| *n == sub) else {
        return Some(Reply::err(v.unknown_subcommand(&args[1], &upper)));
    };
    let argc = args.len() as i32;
    if (*arity > 0 && argc != *arity) || argc < -arity {
        return Some(Reply::err(v.wrong_arity(spec.name, Some(name), &args[1])));
    }
    None
}

fn auth_check(x: &mut Exec<'_>, user: Option<&[u8]>, pass: &[u8]) -> bool {
    let user_is_default = user.is_none_or(|u| u == b"default");
    let ok = if x.sh.passwords.is_empty() {
        user.is_some() && user_is_default
    } else {
        user_is_default && x.sh.passwords.iter().any(|p| p == pass)
    };
    let principal = user.map_or_else(
        || "default".to_owned(),
        |u| String::from_utf8_lossy(u).into_owned(),
    );
    let outcome = if ok {
        AuthOutcome::Success
    } else {
        AuthOutcome::Failure
    };
    x.drafts
        .push(Draft::new(AUTH).credential(&principal, "plaintext", pass, outcome));
    if ok {
        x.st.authenticated = true;
    }
    ok
}

fn auth(x: &mut Exec<'_>, a: &[Vec<u8>]) -> Reply {
    let v = x.sh.version;
    let (user, pass) = match a.len() {
        2 => (None, &a[1]),
        3 => (Some(a[1].as_slice()), &a[2]),
        _ => return Reply::err("ERR syntax error"),
    };
    if x.sh.passwords.is_empty() && user.is_none() {
        auth_check(x, None, pass);
        return Reply::err(v.auth_without_password());
    }
    if auth_check(x, user, pass) {
        Reply::Simple("OK")
    } else {
        Reply::err(v.wrong_password())
    }
}

fn hello(x: &mut Exec<'_>, a: &[Vec<u8>]) -> Reply {
    let v = x.sh.version;
    let mut proto = x.st.proto;
    let mut i = 1;
    if let Some(ver) = a.get(1) {
        match string2ll(ver) {
            None => return Reply::err("ERR Protocol version is not an integer or out of range"),
            Some(2) => proto = Proto::Resp2,
            Some(3) => proto = Proto::Resp3,
            Some(_) => return Reply::err("NOPROTO unsupported protocol version"),
        }
        i = 2;
    }
    let mut creds = None;
    let mut name = None;
    while i < a.len() {
        let more = a.len() - i - 1;
        if a[i].eq_ignore_ascii_case(b"auth") && more >= 2 {
            creds = Some((a[i + 1].clone(), a[i + 2].clone()));
            i += 3;
        } else if a[i].eq_ignore_ascii_case(b"setname") && more >= 1 {
            name = Some(a[i + 1].clone());
            i += 2;
        } else {
            return Reply::err(format!(
                "ERR Syntax error in HELLO option '{}'",
                String::from_utf8_lossy(&a[i])
            ));
        }
    }
    if let Some((user, pass)) = creds
        && !auth_check(x, Some(&user), &pass)
    {
        return Reply::err(v.wrong_password());
    }
    if !x.st.authenticated {
        return Reply::err(v.hello_noauth());
    }
    x.st.proto = proto;
    if name.is_some() {
        x.st.name = name;
    }
    Reply::Map(vec![
        (Reply::bulk("server"), Reply::bulk("redis")),
        (Reply::bulk("version"), Reply::bulk(v.to_string())),
        (
            Reply::bulk("proto"),
            Reply::Int(if proto == Proto::Resp3 { 3 } else { 2 }),
        ),
        (Reply::bulk("id"), Reply::Int(x.st.id as i64)),
        (Reply::bulk("mode"), Reply::bulk("standalone")),
        (Reply::bulk("role"), Reply::bulk("master")),
        (Reply::bulk("modules"), Reply::Array(vec![])),
    ])
}

fn ping(_: &mut Exec<'_>, a: &[Vec<u8>]) -> Reply {
    match a.len() {
        1 => Reply::Simple("PONG"),
        2 => Reply::Bulk(a[1].clone()),
        _ => Reply::err("ERR wrong number of arguments for 'ping' command"),
    }
}

fn select(x: &mut Exec<'_>, a: &[Vec<u8>]) -> Reply {
    match string2ll(&a[1]) {
        None => Reply::err("ERR value is not an integer or out of range"),
        Some(n) if (0..super::store::DATABASES as i64).contains(&n) => {
            x.st.db = n as usize;
            Reply::Simple("OK")
        }
        Some(_) => Reply::err("ERR DB index is out of range"),
    }
}

fn flush(x: &mut Exec<'_>, a: &[Vec<u8>]) -> Reply {
    let mode_ok = match a.len() {
        1 => true,
        2 => a[1].eq_ignore_ascii_case(b"async") || a[1].eq_ignore_ascii_case(b"sync"),
        _ => false,
    };
    if !mode_ok {
        return Reply::err("ERR syntax error");
    }
    let mut store = x.sh.store.lock();
    if a[0].eq_ignore_ascii_case(b"flushall") {
        store.flush_all();
    } else {
        store.flush_db(x.st.db);
    }
    Reply::Simple("OK")
}
