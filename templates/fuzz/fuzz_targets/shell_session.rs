//! A whole interactive shell (line editor, parser, expansion, commands,
//! virtual file system) fed arbitrary keystrokes in arbitrary chunks never
//! panics, and runs command lines non-interactively too.
#![no_main]

use std::sync::{Arc, OnceLock};

use decnet_templates::persona::Persona;
use decnet_templates::shell::host::{Host, HostConfig};
use decnet_templates::shell::{Entry, Pty, Shell, ShellOptions};
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
            &HostConfig {
                accounts: vec!["admin".into()],
                ..HostConfig::default()
            },
        ))
    }))
}

fuzz_target!(|data: &[u8]| {
    let Some((&selector, data)) = data.split_first() else {
        return;
    };
    let interactive = selector & 1 == 0;
    let mut sh = Shell::new(
        host(),
        ShellOptions {
            user: if selector & 2 == 0 {
                "root".into()
            } else {
                "admin".into()
            },
            entry: if interactive {
                Entry::SshLogin
            } else {
                Entry::Exec
            },
            pty: interactive.then(|| Pty {
                term: "xterm".into(),
                cols: 80,
                rows: 24,
            }),
            peer: "192.0.2.1:1".parse().expect("addr"),
            local: "127.0.0.1:22".parse().expect("addr"),
            env: Vec::new(),
            tty: None,
        },
    );
    let _ = sh.start();
    let chunk = usize::from(selector >> 2).max(1);
    for piece in data.chunks(chunk) {
        if interactive {
            let _ = sh.input(piece);
        } else {
            let _ = sh.run(&String::from_utf8_lossy(piece));
        }
        if sh.exited().is_some() {
            break;
        }
    }
});
