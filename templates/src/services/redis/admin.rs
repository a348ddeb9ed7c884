//! Administrative commands: CONFIG, CLIENT, COMMAND, MODULE, ACL, DEBUG, REPLICAOF.

use super::ConnState;
use super::commands::Exec;
use super::config::SetError;
use super::resp::{Proto, Reply, string2ll};

/// REPLICAOF/SLAVEOF: accepted, no replication starts.
pub fn replicaof(_: &mut Exec<'_>, a: &[Vec<u8>]) -> Reply {
    if a[1].eq_ignore_ascii_case(b"no") && a[2].eq_ignore_ascii_case(b"one") {
        return Reply::Simple("OK");
    }
    match string2ll(&a[2]) {
        Some(p) if (0..=65_535).contains(&p) => Reply::Simple("OK"),
        Some(_) => Reply::err("ERR Invalid master port"),
        None => Reply::err("ERR value is not an integer or out of range"),
    }
}

/// DEBUG before 7.0 (7.0+ refuses it in dispatch).
pub fn debug(x: &mut Exec<'_>, a: &[Vec<u8>]) -> Reply {
    if a[1].eq_ignore_ascii_case(b"sleep") {
        return Reply::Simple("OK");
    }
    Reply::err(x.sh.version.unknown_subcommand(&a[1], "DEBUG"))
}

/// CONFIG GET/SET/RESETSTAT/REWRITE.
pub fn config(x: &mut Exec<'_>, a: &[Vec<u8>]) -> Reply {
    let v = x.sh.version;
    let sub = a[1].to_ascii_lowercase();
    match sub.as_slice() {
        b"get" => {
            if !v.modern_subcommands() && a.len() != 3 {
                return Reply::err(v.wrong_arity("config", Some("get"), &a[1]));
            }
            let pairs = x.sh.config.lock().get(&a[2..]);
            Reply::Map(
                pairs
                    .into_iter()
                    .map(|(k, val)| (Reply::bulk(k), Reply::bulk(val)))
                    .collect(),
            )
        }
        b"set" => {
            let pairs = &a[2..];
            if !pairs.len().is_multiple_of(2) || (!v.modern_subcommands() && pairs.len() != 2) {
                return Reply::err(v.wrong_arity("config", Some("set"), &a[1]));
            }
            let mut cfg = x.sh.config.lock();
            for pair in pairs.chunks(2) {
                match cfg.set(&pair[0], &pair[1]) {
                    Ok(()) => {}
                    Err(SetError::Unknown(name)) => return Reply::err(v.config_set_unknown(&name)),
                    Err(SetError::Refused { name, why }) if v.modern_subcommands() => {
                        return Reply::err(format!(
                            "ERR CONFIG SET failed (possibly related to argument '{name}') - {why}"
                        ));
                    }
                    Err(SetError::Refused { name, .. }) => {
                        return Reply::err(v.config_set_unknown(name.as_bytes()));
                    }
                }
            }
            Reply::Simple("OK")
        }
        b"resetstat" | b"rewrite" => Reply::Simple("OK"),
        _ => help("CONFIG"),
    }
}

fn help(cmd: &str) -> Reply {
    Reply::Array(vec![
        Reply::Simple("HELP"),
        Reply::bulk(format!(
            "{cmd} <subcommand> [<arg> [value] [opt] ...]. Subcommands are:"
        )),
    ])
}

fn client_line(st: &ConnState) -> String {
    let name = st
        .name
        .as_deref()
        .map(String::from_utf8_lossy)
        .unwrap_or_default();
    format!(
        "id={} addr={} laddr={} fd=8 name={} age={} idle=0 flags=N db={} sub=0 psub=0 ssub=0 multi=-1 qbuf=26 qbuf-free=20448 argv-mem=10 multi-mem=0 rbs=1024 rbp=0 obl=0 oll=0 omem=0 tot-mem=22426 events=r cmd={} user=default redir=-1 resp={}\n",
        st.id,
        st.conn.peer,
        st.conn.local,
        name,
        st.opened.elapsed().as_secs(),
        st.db,
        st.last_cmd,
        if st.proto == Proto::Resp3 { 3 } else { 2 },
    )
}

/// CLIENT ID/GETNAME/SETNAME/LIST/INFO/KILL and friends.
pub fn client(x: &mut Exec<'_>, a: &[Vec<u8>]) -> Reply {
    match a[1].to_ascii_lowercase().as_slice() {
        b"id" => Reply::Int(x.st.id as i64),
        b"getname" => x.st.name.clone().map_or(Reply::Null, Reply::Bulk),
        b"setname" => {
            if a[2].iter().any(|&b| b <= b' ' || b > b'~') {
                return Reply::err(
                    "ERR Client names cannot contain spaces, newlines or special characters.",
                );
            }
            x.st.name = (!a[2].is_empty()).then(|| a[2].clone());
            Reply::Simple("OK")
        }
        b"list" | b"info" => Reply::Verbatim(client_line(x.st).into_bytes()),
        b"kill" => Reply::err("ERR No such client"),
        b"setinfo" | b"reply" | b"no-evict" => Reply::Simple("OK"),
        _ => help("CLIENT"),
    }
}

/// COMMAND, COUNT, DOCS, INFO, LIST (empty tables).
pub fn command(x: &mut Exec<'_>, a: &[Vec<u8>]) -> Reply {
    let count = match x.sh.version.major {
        5 => 200,
        6 => 224,
        _ => 240,
    };
    match a.get(1).map(|s| s.to_ascii_lowercase()).as_deref() {
        None | Some(b"list") => Reply::Array(vec![]),
        Some(b"count") => Reply::Int(count),
        Some(b"docs") => Reply::Map(vec![]),
        Some(b"info") => Reply::Array(a[2..].iter().map(|_| Reply::NullArray).collect()),
        _ => help("COMMAND"),
    }
}

/// MODULE before 7.0 (7.0+ refuses it in dispatch).
pub fn module(_: &mut Exec<'_>, a: &[Vec<u8>]) -> Reply {
    match a[1].to_ascii_lowercase().as_slice() {
        b"list" => Reply::Array(vec![]),
        b"load" => Reply::err("ERR Error loading the extension. Please check the server logs."),
        b"unload" => Reply::err("ERR Error unloading module: no such module with that name"),
        _ => help("MODULE"),
    }
}

/// ACL WHOAMI/USERS/LIST/CAT (6.0+).
pub fn acl(x: &mut Exec<'_>, a: &[Vec<u8>]) -> Reply {
    match a[1].to_ascii_lowercase().as_slice() {
        b"whoami" => Reply::bulk("default"),
        b"users" => Reply::Array(vec![Reply::bulk("default")]),
        b"list" => {
            let pass = if x.sh.passwords.is_empty() {
                "nopass".to_owned()
            } else {
                "#<hidden>".to_owned()
            };
            Reply::Array(vec![Reply::bulk(format!(
                "user default on {pass} ~* &* +@all"
            ))])
        }
        b"cat" => Reply::Array(
            [
                "keyspace",
                "read",
                "write",
                "set",
                "sortedset",
                "list",
                "hash",
                "string",
                "admin",
                "dangerous",
                "connection",
            ]
            .iter()
            .map(|c| Reply::bulk(*c))
            .collect(),
        ),
        _ => help("ACL"),
    }
}
