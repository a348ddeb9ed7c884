#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::net::IpAddr;

use proptest::prelude::*;

use super::parse::is_field_key;
use super::sql::{Param, filter, like_pattern};
use super::*;

fn parse(s: &str) -> Result<Query, ParseError> {
    Query::parse(s)
}

fn col(c: Column, v: &str) -> Term {
    Term::Column(c, v.into())
}

#[test]
fn predecessor_examples_parse() {
    let q = parse("service:ssh event:login_attempt").unwrap();
    assert_eq!(
        q.terms,
        [
            col(Column::Service, "ssh"),
            col(Column::EventType, "login_attempt")
        ]
    );
    let q = parse(r#"decky:web-01 attacker:203.0.113.7 user:"john doe" wget"#).unwrap();
    assert_eq!(
        q.terms,
        [
            col(Column::Decky, "web-01"),
            Term::Attacker(Attacker::Ip("203.0.113.7".parse().unwrap())),
            Term::Field {
                key: "user".into(),
                value: "john doe".into()
            },
            Term::Word("wget".into()),
        ]
    );
    assert!(parse("").unwrap().is_empty());
    assert!(parse("   \t\n ").unwrap().is_empty());
}

#[test]
fn aliases_cidr_ipv6_and_colons_in_values() {
    let q = parse(
        "event_type:auth session_id:abc src_ip:10.0.0.0/8 attacker:2001:db8::1 url:http://x/y",
    )
    .unwrap();
    assert_eq!(
        q.terms,
        [
            col(Column::EventType, "auth"),
            col(Column::Session, "abc"),
            Term::Attacker(Attacker::Net("10.0.0.0".parse().unwrap(), 8)),
            Term::Attacker(Attacker::Ip("2001:db8::1".parse().unwrap())),
            Term::Field {
                key: "url".into(),
                value: "http://x/y".into()
            },
        ]
    );
    assert_eq!(
        q.to_string(),
        "event:auth session:abc attacker:10.0.0.0/8 attacker:2001:db8::1 url:http://x/y"
    );
}

#[test]
fn quotes_and_escapes() {
    let q = parse(r#"msg:"say \"hi\" \\ now" "C:\temp dir" k:"""#).unwrap();
    assert_eq!(
        q.terms,
        [
            Term::Field {
                key: "msg".into(),
                value: r#"say "hi" \ now"#.into()
            },
            Term::Word(r"C:\temp dir".into()),
            Term::Field {
                key: "k".into(),
                value: String::new()
            },
        ]
    );
    assert_eq!(parse(&q.to_string()).unwrap(), q);
}

#[test]
fn errors_are_precise() {
    let cases: [(&str, ParseError); 12] = [
        (r#"a "open"#, ParseError::UnterminatedQuote { at: 2 }),
        (r#"k:"v"#, ParseError::UnterminatedQuote { at: 2 }),
        (r#"ab"c"#, ParseError::UnexpectedQuote { at: 2 }),
        (r#"k:v"x""#, ParseError::UnexpectedQuote { at: 3 }),
        (r#""a"b"#, ParseError::MissingSpace { at: 3 }),
        ("x :v", ParseError::EmptyKey { at: 2 }),
        (
            "decky:",
            ParseError::EmptyValue {
                key: "decky".into(),
                at: 6,
            },
        ),
        (
            "decky: web",
            ParseError::EmptyValue {
                key: "decky".into(),
                at: 6,
            },
        ),
        (r#"a """#, ParseError::EmptyWord { at: 2 }),
        (
            "a=b:c",
            ParseError::BadKey {
                key: "a=b".into(),
                at: 0,
            },
        ),
        (
            "attacker:10.0.0.1/33",
            ParseError::BadAttacker {
                value: "10.0.0.1/33".into(),
                at: 9,
            },
        ),
        ("a\0b", ParseError::Nul { at: 1 }),
    ];
    for (input, want) in cases {
        assert_eq!(parse(input), Err(want), "{input:?}");
    }
    for bad in [
        "attacker:nope",
        "attacker:1.2.3.4/",
        "attacker:1.2.3.4/+8",
        "attacker:::/129",
    ] {
        assert!(
            matches!(parse(bad), Err(ParseError::BadAttacker { .. })),
            "{bad}"
        );
    }
}

#[test]
fn length_is_counted_in_characters() {
    assert!(parse(&"é".repeat(MAX_LEN)).is_ok());
    assert_eq!(
        parse(&"é".repeat(MAX_LEN + 1)),
        Err(ParseError::TooLong {
            len: MAX_LEN + 1,
            max: MAX_LEN
        })
    );
}

#[test]
fn cidr_ranges() {
    let r = |s: &str| match parse(&format!("attacker:{s}")).unwrap().terms[0] {
        Term::Attacker(a) => a.range(),
        _ => unreachable!(),
    };
    let ip = |s: &str| s.parse::<IpAddr>().unwrap();
    assert_eq!(r("10.1.2.3/8"), (ip("10.0.0.0"), ip("10.255.255.255")));
    assert_eq!(r("10.1.2.3/32"), (ip("10.1.2.3"), ip("10.1.2.3")));
    assert_eq!(r("1.2.3.4/0"), (ip("0.0.0.0"), ip("255.255.255.255")));
    assert_eq!(
        r("2001:db8::/32"),
        (
            ip("2001:db8::"),
            ip("2001:db8:ffff:ffff:ffff:ffff:ffff:ffff")
        )
    );
    assert_eq!(r("::/0").1, ip("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"));
}

#[test]
fn sql_uses_placeholders_for_every_value() {
    let q = parse(r#"decky:"x'; DROP TABLE events;--" attacker:10.0.0.0/8 k:"v" 50%_off"#).unwrap();
    let f = filter(&q, 3);
    assert_eq!(
        f.clauses,
        [
            "decky = $3",
            "src_ip BETWEEN $4 AND $5",
            "fields @> $6",
            "(msg ILIKE $7 OR fields::text ILIKE $8)",
        ]
    );
    assert_eq!(f.params[0], Param::Text("x'; DROP TABLE events;--".into()));
    assert_eq!(f.params[3], Param::Json(serde_json::json!({"k": "v"})));
    assert_eq!(f.params[4], Param::Text(r"%50\%\_off%".into()));
    // The SQL text never contains a value.
    for c in &f.clauses {
        assert!(!c.contains("DROP") && !c.contains("50"), "{c}");
    }
    assert_eq!(like_pattern(r"a\b"), r"%a\\b%");
}

fn value() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-z0-9._/-]{1,12}",
        any::<String>().prop_map(|s| s.replace('\0', "").chars().take(12).collect()),
        Just(String::new()),
        Just("a b".to_owned()),
        Just(r#"q"uo\te"#.to_owned()),
        Just("colon:in:value".to_owned()),
    ]
}

fn word() -> impl Strategy<Value = String> {
    value().prop_filter("words are not empty", |w| !w.is_empty())
}

fn attacker() -> impl Strategy<Value = Attacker> {
    prop_oneof![
        any::<IpAddr>().prop_map(Attacker::Ip),
        (any::<std::net::Ipv4Addr>(), 0u8..=32).prop_map(|(a, l)| Attacker::Net(a.into(), l)),
        (any::<std::net::Ipv6Addr>(), 0u8..=128).prop_map(|(a, l)| Attacker::Net(a.into(), l)),
    ]
}

fn term() -> impl Strategy<Value = Term> {
    prop_oneof![
        (prop::sample::select(Column::ALL.to_vec()), value()).prop_map(|(c, v)| Term::Column(c, v)),
        attacker().prop_map(Term::Attacker),
        ("[A-Za-z_][A-Za-z0-9_.-]{0,10}", value())
            .prop_filter("a field key", |(k, _)| is_field_key(k))
            .prop_map(|(key, value)| Term::Field { key, value }),
        word().prop_map(Term::Word),
    ]
}

/// Inputs made of the syntax's own pieces, to reach deep into the parser.
fn syntaxish() -> impl Strategy<Value = String> {
    prop::collection::vec(
        prop_oneof![
            Just("decky:"),
            Just("attacker:"),
            Just(":"),
            Just("\""),
            Just("\\"),
            Just(" "),
            Just("\t"),
            Just("k"),
            Just("1.2.3.4"),
            Just("/"),
            Just("::1"),
            Just("é"),
            Just("="),
            Just("\0"),
        ],
        0..40,
    )
    .prop_map(|parts| parts.concat())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn arbitrary_input_never_panics(s in any::<String>()) {
        let _ = parse(&s);
    }

    #[test]
    fn syntax_fuzz_never_panics_and_accepted_queries_round_trip(s in syntaxish()) {
        if let Ok(q) = parse(&s) {
            let rendered = q.to_string();
            prop_assert!(rendered.chars().count() <= s.chars().count());
            prop_assert_eq!(parse(&rendered), Ok(q));
        }
    }

    #[test]
    fn rendered_queries_reparse_to_the_same_terms(terms in prop::collection::vec(term(), 0..8)) {
        let q = Query { terms };
        let rendered = q.to_string();
        prop_assert_eq!(parse(&rendered), Ok(q.clone()), "rendered: {}", rendered);
        // SQL generation: one clause per term, placeholders only.
        let f = filter(&q, 1);
        prop_assert_eq!(f.clauses.len(), q.terms.len());
        let placeholders: usize = f.clauses.iter().map(|c| c.matches('$').count()).sum();
        prop_assert_eq!(placeholders, f.params.len());
    }
}
