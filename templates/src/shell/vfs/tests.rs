#![allow(clippy::unwrap_used, clippy::expect_used)]

use super::*;

fn tree() -> Arc<Tree> {
    let mut t = Tree::default();
    t.insert("/", Node::dir(0o755, 0, 0, 0));
    t.insert("/usr", Node::dir(0o755, 0, 0, 0));
    t.insert("/usr/bin", Node::dir(0o755, 0, 0, 0));
    t.insert(
        "/bin",
        Node {
            kind: Kind::Symlink("usr/bin".into()),
            mode: 0o777,
            uid: 0,
            gid: 0,
            mtime: 0,
            data: Data::None,
        },
    );
    t.insert(
        "/usr/bin/ls",
        Node {
            kind: Kind::File,
            mode: 0o755,
            uid: 0,
            gid: 0,
            mtime: 0,
            data: Data::Elf(100),
        },
    );
    t.insert("/etc", Node::dir(0o755, 0, 0, 0));
    t.insert(
        "/etc/shadow",
        Node::file("root:*:1::::::\n", 0o640, 0, 42, 0),
    );
    t.insert("/proc", Node::dir(0o555, 0, 0, 0));
    t.insert(
        "/proc/cpuinfo",
        Node {
            kind: Kind::File,
            mode: 0o444,
            uid: 0,
            gid: 0,
            mtime: 0,
            data: Data::Live(Live::Cpuinfo),
        },
    );
    t.insert("/tmp", Node::dir(0o1777, 0, 0, 0));
    Arc::new(t)
}

#[test]
fn resolution_follows_links_and_reports_errno() {
    let v = Vfs::new(tree());
    assert_eq!(v.resolve("/", "/bin/ls", true).unwrap(), "/usr/bin/ls");
    assert_eq!(
        v.resolve("/etc", "../bin/../etc/./shadow", true).unwrap(),
        "/etc/shadow"
    );
    assert_eq!(
        v.resolve("/", "/etc/shadow/x", true).unwrap_err(),
        FsError::NotDir
    );
    assert_eq!(
        v.resolve("/", "/nope/x", true).unwrap_err(),
        FsError::NotFound
    );
    assert_eq!(v.resolve("/", "/bin", false).unwrap(), "/bin");
    assert_eq!(v.list("/").len(), 5);
}

#[test]
fn overlay_writes_and_pseudo_fs_rules() {
    let mut v = Vfs::new(tree());
    let root = Cred {
        uid: 0,
        gids: vec![0],
    };
    let user = Cred {
        uid: 1000,
        gids: vec![1000],
    };
    v.write("/tmp", "x", b"hi", false, &user, 5).unwrap();
    v.write("/tmp", "x", b"!", true, &user, 6).unwrap();
    assert_eq!(v.read_static(v.get("/tmp/x").unwrap()), b"hi!");
    assert_eq!(
        v.write("/", "/etc/new", b"", false, &user, 0).unwrap_err(),
        FsError::Denied
    );
    assert!(!user.may(v.get("/etc/shadow").unwrap(), Access::Read));
    assert_eq!(
        v.write("/", "/proc/cpuinfo", b"x", false, &root, 0)
            .unwrap_err(),
        FsError::Io
    );
    assert_eq!(
        v.write("/", "/proc/new", b"x", false, &root, 0)
            .unwrap_err(),
        FsError::NotFound
    );
    assert_eq!(
        v.remove("/", "/proc/cpuinfo", false, false, &root)
            .unwrap_err(),
        FsError::NotPermitted
    );
    assert_eq!(
        v.remove("/", "/etc", false, false, &root).unwrap_err(),
        FsError::IsDir
    );
    assert_eq!(
        v.remove("/", "/nope", false, false, &root).unwrap_err(),
        FsError::NotFound
    );
    v.remove("/", "/etc", true, true, &root).unwrap();
    assert!(v.get("/etc/shadow").is_none());
    assert_eq!(v.mkdir("/", "/tmp", &root, 0).unwrap_err(), FsError::Exists);
    v.rename("/tmp", "x", "/y", &root).unwrap();
    assert!(v.get("/y").is_some() && v.get("/tmp/x").is_none());
}
