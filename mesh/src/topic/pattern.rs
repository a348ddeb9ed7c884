//! Wildcard matching of a pattern against a topic.

use super::{WILDCARD_ONE, WILDCARD_TAIL};

/// Whether `pattern` matches `topic`; both are assumed valid.
///
/// Walks both token lists once, without allocating.
pub(crate) fn matches(pattern: &str, topic: &str) -> bool {
    let mut p = pattern.split('.');
    let mut t = topic.split('.');
    loop {
        match (p.next(), t.next()) {
            (None, None) => return true,
            (Some(WILDCARD_TAIL), Some(_)) => return true,
            (Some(WILDCARD_ONE), Some(_)) => {}
            (Some(a), Some(b)) if a == b => {}
            _ => return false,
        }
    }
}

#[cfg(test)]
pub(crate) mod reference {
    //! A deliberately naive model of the matching rules, written differently
    //! from the production code so the two can be checked against each other.

    /// The rules, stated recursively over token lists.
    pub(crate) fn matches(pattern: &[&str], topic: &[&str]) -> bool {
        match (pattern.split_first(), topic.split_first()) {
            (None, None) => true,
            (None, Some(_)) | (Some(_), None) => false,
            (Some((&">", rest)), Some(_)) => rest.is_empty(),
            (Some((&"*", prest)), Some((_, trest))) => matches(prest, trest),
            (Some((lit, prest)), Some((tok, trest))) => lit == tok && matches(prest, trest),
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::topic::{Pattern, Topic};
    use proptest::prelude::*;

    #[test]
    fn examples() {
        let yes = [
            ("a", "a"),
            ("a.b", "a.b"),
            ("*", "a"),
            ("a.*", "a.b"),
            ("a.>", "a.b"),
            ("a.>", "a.b.c.d"),
            (">", "a"),
            (">", "a.b"),
            ("*.b.*", "a.b.c"),
            ("decky.*.traffic", "decky.42.traffic"),
        ];
        let no = [
            ("a", "b"),
            ("a.>", "a"),
            ("a.*", "a"),
            ("a.*", "a.b.c"),
            ("*", "a.b"),
            ("a.b", "a"),
            ("a", "a.b"),
            ("decky.*.traffic", "decky.42.state"),
        ];
        for (p, t) in yes {
            assert!(matches(p, t), "{p} should match {t}");
        }
        for (p, t) in no {
            assert!(!matches(p, t), "{p} should not match {t}");
        }
    }

    fn token() -> impl Strategy<Value = String> {
        prop_oneof![
            Just("a".to_owned()),
            Just("b".to_owned()),
            Just("cc".to_owned())
        ]
    }

    pub(crate) fn topic_strategy() -> impl Strategy<Value = Vec<String>> {
        prop::collection::vec(token(), 1..6)
    }

    pub(crate) fn pattern_strategy() -> impl Strategy<Value = Vec<String>> {
        (
            prop::collection::vec(prop_oneof![3 => token(), 1 => Just("*".to_owned())], 0..6),
            any::<bool>(),
        )
            .prop_filter_map("a pattern needs a token", |(mut toks, tail)| {
                if tail {
                    toks.push(">".to_owned());
                }
                (!toks.is_empty()).then_some(toks)
            })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(4096))]

        #[test]
        fn agrees_with_the_reference_model(p in pattern_strategy(), t in topic_strategy()) {
            let pr: Vec<&str> = p.iter().map(String::as_str).collect();
            let tr: Vec<&str> = t.iter().map(String::as_str).collect();
            let pattern = Pattern::parse(&p.join(".")).unwrap();
            let topic = Topic::parse(&t.join(".")).unwrap();
            prop_assert_eq!(pattern.matches(&topic), reference::matches(&pr, &tr));
        }

        #[test]
        fn a_topic_matches_itself_exactly(t in topic_strategy()) {
            let topic = Topic::parse(&t.join(".")).unwrap();
            prop_assert!(Pattern::exact(&topic).matches(&topic));
            prop_assert!(Pattern::everything().matches(&topic));
        }

        #[test]
        fn tail_wildcard_never_matches_its_own_prefix(t in topic_strategy()) {
            let prefix = Pattern::parse(&format!("{}.>", t.join("."))).unwrap();
            let topic = Topic::parse(&t.join(".")).unwrap();
            prop_assert!(!prefix.matches(&topic));
        }
    }
}
