#![allow(clippy::unwrap_used, clippy::expect_used)]

use super::*;

fn lit(s: &str) -> Word {
    Word {
        parts: vec![Part::Lit(s.into())],
    }
}

fn simple(script: &Script, i: usize) -> (Vec<Word>, Vec<Redir>) {
    match &script.items[i].first.cmds[0] {
        Command::Simple { words, redirs, .. } => (words.clone(), redirs.clone()),
        other => panic!("{other:?}"),
    }
}

#[test]
fn lists_pipes_and_connectors() {
    let s = parse("uname -a; free -m|grep Mem && echo ok || echo no &").unwrap();
    assert_eq!(s.items.len(), 2);
    assert_eq!(simple(&s, 0).0, vec![lit("uname"), lit("-a")]);
    assert_eq!(s.items[1].first.cmds.len(), 2);
    assert_eq!(s.items[1].rest.len(), 2);
    assert!(s.items[1].background);
}

#[test]
fn quotes_expansions_and_redirections() {
    let s = parse("echo 'a b' \"x $HOME $(id -u)\" `whoami` >/tmp/o 2>&1").unwrap();
    let (w, r) = simple(&s, 0);
    assert_eq!(
        w[1],
        Word {
            parts: vec![Part::Quoted("a b".into())]
        }
    );
    assert_eq!(
        w[2].parts,
        vec![
            Part::Quoted("x ".into()),
            Part::Var("HOME".into(), true),
            Part::Quoted(" ".into()),
            Part::Sub("id -u".into(), true),
        ]
    );
    assert_eq!(w[3].parts, vec![Part::Sub("whoami".into(), false)]);
    assert_eq!(r[0].op, RedirOp::Out);
    assert_eq!(
        r[1],
        Redir {
            fd: 2,
            op: RedirOp::Dup(1),
            target: Word::default()
        }
    );
}

#[test]
fn compound_commands() {
    let s = parse("for i in 1 2; do echo $i; done; if true; then echo y; else echo n; fi").unwrap();
    assert!(matches!(s.items[0].first.cmds[0], Command::For { .. }));
    assert!(matches!(s.items[1].first.cmds[0], Command::If { .. }));
    assert!(matches!(
        parse("(cd /tmp; ls)").unwrap().items[0].first.cmds[0],
        Command::Subshell(..)
    ));
}

#[test]
fn errors_like_bash() {
    assert_eq!(parse("echo \"abc").unwrap_err(), ParseError::Incomplete);
    assert_eq!(parse("ls |").unwrap_err(), ParseError::Incomplete);
    assert_eq!(parse("if true; then").unwrap_err(), ParseError::Incomplete);
    assert_eq!(
        parse("echo a;;").unwrap_err(),
        ParseError::Unexpected(";;".into())
    );
    assert_eq!(
        parse("| ls").unwrap_err(),
        ParseError::Unexpected("|".into())
    );
    assert_eq!(
        parse("fi").unwrap_err(),
        ParseError::Unexpected("fi".into())
    );
    assert_eq!(parse(&"(".repeat(200)).unwrap_err(), ParseError::TooDeep);
    assert_eq!(parse("X=1 Y=2").unwrap().items.len(), 1);
}
