#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;

use super::*;
use crate::shell::vfs::Tree;

fn pkt(kind: u8, id: Option<u32>, body: &[u8]) -> Vec<u8> {
    let mut w = Writer::default();
    w.u8(kind);
    if let Some(i) = id {
        w.u32(i);
    }
    w.b.extend_from_slice(body);
    w.packet()
}

#[test]
fn upload_round_trip() {
    let mut t = Tree::default();
    t.insert("/", Node::dir(0o755, 0, 0, 0));
    t.insert("/tmp", Node::dir(0o1777, 0, 0, 0));
    t.insert("/root", Node::dir(0o700, 0, 0, 0));
    let mut v = Vfs::new(Arc::new(t));
    let mut s = Sftp::new(
        "/root",
        Cred {
            uid: 0,
            gids: vec![0],
        },
        ("root".into(), "root".into()),
        1 << 20,
        0,
    );
    let out = s.feed(&pkt(INIT, None, &3u32.to_be_bytes()), &mut v);
    assert!(matches!(&out[0], SftpOut::Xfer(XferOut::Reply(b)) if b[4] == VERSION));
    let mut w = Writer::default();
    w.str("/tmp/x.bin").u32(2 | 8 | 0x10).u32(4).u32(0o755);
    let out = s.feed(&pkt(OPEN, Some(7), &w.b), &mut v);
    let SftpOut::Xfer(XferOut::Reply(h)) = &out[1] else {
        panic!("{out:?}")
    };
    assert_eq!(h[4], HANDLE);
    let handle = h[13..17].to_vec();
    let mut w = Writer::default();
    w.bytes(&handle).u64(0).bytes(b"\x7fELF..");
    let mut all = pkt(WRITE, Some(8), &w.b);
    let mut w = Writer::default();
    w.bytes(&handle);
    all.extend(pkt(CLOSE, Some(9), &w.b));
    let mut outs = Vec::new();
    for b in all {
        outs.extend(s.feed(&[b], &mut v));
    }
    assert!(outs.contains(&SftpOut::Xfer(XferOut::Upload(Upload {
        path: "/tmp/x.bin".into(),
        data: b"\x7fELF..".to_vec(),
        received: 6
    }))));
    assert_eq!(v.get("/tmp/x.bin").unwrap().size(), 6);
    let out = s.feed(
        &pkt(STAT, Some(10), &{
            let mut w = Writer::default();
            w.str("/nope");
            w.b
        }),
        &mut v,
    );
    assert!(
        matches!(&out[0], SftpOut::Xfer(XferOut::Reply(b)) if b[4] == STATUS && b[12] == NO_SUCH_FILE as u8)
    );
}

#[test]
fn garbage_never_panics() {
    let mut v = Vfs::new(Arc::new(Tree::default()));
    let mut s = Sftp::new(
        "/",
        Cred {
            uid: 0,
            gids: vec![0],
        },
        ("root".into(), "root".into()),
        10,
        0,
    );
    for k in 0..=255u8 {
        let _ = s.feed(&pkt(k, Some(1), &[0xff; 12]), &mut v);
        let _ = s.feed(&pkt(k, Some(1), &[]), &mut v);
    }
    let _ = s.feed(&[0, 0, 0, 0], &mut v);
    assert!(s.closed());
}
