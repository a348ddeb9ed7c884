//! The SSH side parsers that see attacker bytes before or beside the shell:
//! the identification line, the SFTP server and the scp sink/source. None
//! may panic or buffer without bound.
#![no_main]

use std::sync::{Arc, OnceLock};

use decnet_templates::persona::Persona;
use decnet_templates::services::ssh::ident::parse_ident;
use decnet_templates::services::ssh::scp::{Scp, ScpMode};
use decnet_templates::services::ssh::sftp::{MAX_PACKET, Sftp};
use decnet_templates::shell::host::{Host, HostConfig};
use decnet_templates::shell::vfs::{Cred, Vfs};
use decnet_templates::spec::DeckySpec;
use libfuzzer_sys::fuzz_target;

static HOST: OnceLock<Arc<Host>> = OnceLock::new();

fn host() -> Arc<Host> {
    Arc::clone(HOST.get_or_init(|| {
        let spec = DeckySpec::parse(
            "name = \"f\"\nhostname = \"f\"\nbind = [\"127.0.0.1\"]\n[services.redis]",
        )
        .expect("spec");
        Arc::new(Host::new(
            Arc::new(Persona::new(&spec)),
            &HostConfig::default(),
        ))
    }))
}

fuzz_target!(|data: &[u8]| {
    let Some((&selector, data)) = data.split_first() else {
        return;
    };
    let root = Cred {
        uid: 0,
        gids: vec![0],
    };
    let mut vfs = Vfs::new(Arc::clone(&host().tree));
    let chunk = usize::from(selector >> 2).max(1);
    match selector & 3 {
        0 => {
            let _ = parse_ident(data);
        }
        1 => {
            let mut s = Sftp::new("/root", root, ("root".into(), "root".into()), 4096, 0);
            for piece in data.chunks(chunk) {
                let _ = s.feed(piece, &mut vfs);
                assert!(s.pending() <= MAX_PACKET + 4);
            }
            let _ = s.abandoned();
        }
        2 => {
            let mut s = Scp::new(ScpMode::Sink("/tmp".into()), "/root", root, 4096, 0);
            let _ = s.start();
            for piece in data.chunks(chunk) {
                let _ = s.feed(piece, &mut vfs);
            }
        }
        _ => {
            let mut s = Scp::new(
                ScpMode::Source(vec!["/etc/passwd".into(), "/nope".into(), "/etc".into()]),
                "/root",
                root,
                4096,
                0,
            );
            let _ = s.start();
            for piece in data.chunks(chunk) {
                let _ = s.feed(piece, &mut vfs);
            }
        }
    }
});
