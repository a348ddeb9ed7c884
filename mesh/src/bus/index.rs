//! The subscription index: a token trie, so matching a topic costs one walk
//! over its tokens whatever the number of subscriptions.

use std::collections::HashMap;
use std::sync::Arc;

use super::sink::Sink;
use crate::topic::{Pattern, WILDCARD_ONE, WILDCARD_TAIL};

struct Entry {
    sub: u64,
    sink: Arc<Sink>,
}

#[derive(Default)]
struct Node {
    literal: HashMap<Box<str>, Node>,
    one: Option<Box<Node>>,
    /// Subscriptions whose pattern ends with `>` right here.
    tail: Vec<Entry>,
    /// Subscriptions whose pattern ends exactly here.
    here: Vec<Entry>,
}

impl Node {
    fn is_empty(&self) -> bool {
        self.literal.is_empty()
            && self.one.is_none()
            && self.tail.is_empty()
            && self.here.is_empty()
    }

    fn walk<'a>(&'a self, rest: Option<&str>, f: &mut impl FnMut(&'a Arc<Sink>)) {
        let Some(rest) = rest else {
            self.here.iter().for_each(|e| f(&e.sink));
            return;
        };
        // `>` needs at least one more token, and `rest` is one or more.
        self.tail.iter().for_each(|e| f(&e.sink));
        let (token, next) = match rest.split_once('.') {
            Some((t, n)) => (t, Some(n)),
            None => (rest, None),
        };
        if let Some(child) = self.literal.get(token) {
            child.walk(next, f);
        }
        if let Some(child) = &self.one {
            child.walk(next, f);
        }
    }

    /// Removes `sub` below this node along `tokens`; true if it was found.
    fn remove(&mut self, mut tokens: std::str::Split<'_, char>, sub: u64) -> bool {
        let take = |v: &mut Vec<Entry>| {
            let before = v.len();
            v.retain(|e| e.sub != sub);
            v.len() != before
        };
        match tokens.next() {
            None => take(&mut self.here),
            Some(WILDCARD_TAIL) => take(&mut self.tail),
            Some(WILDCARD_ONE) => {
                let Some(child) = self.one.as_mut() else {
                    return false;
                };
                let found = child.remove(tokens, sub);
                if child.is_empty() {
                    self.one = None;
                }
                found
            }
            Some(lit) => {
                let Some(child) = self.literal.get_mut(lit) else {
                    return false;
                };
                let found = child.remove(tokens, sub);
                if child.is_empty() {
                    self.literal.remove(lit);
                }
                found
            }
        }
    }
}

/// Every active subscription, keyed by pattern.
#[derive(Default)]
pub(crate) struct Index {
    root: Node,
    len: usize,
}

impl Index {
    /// Adds subscription `sub` delivering to `sink`.
    pub(crate) fn insert(&mut self, pattern: &Pattern, sub: u64, sink: Arc<Sink>) {
        let mut node = &mut self.root;
        let entry = Entry { sub, sink };
        for token in pattern.as_str().split('.') {
            node = match token {
                WILDCARD_TAIL => {
                    node.tail.push(entry);
                    self.len += 1;
                    return;
                }
                WILDCARD_ONE => node.one.get_or_insert_with(Box::default),
                lit => node.literal.entry(Box::from(lit)).or_default(),
            };
        }
        node.here.push(entry);
        self.len += 1;
    }

    /// Removes subscription `sub` made with `pattern`; true if it existed.
    pub(crate) fn remove(&mut self, pattern: &Pattern, sub: u64) -> bool {
        let found = self.root.remove(pattern.as_str().split('.'), sub);
        if found {
            self.len -= 1;
        }
        found
    }

    /// Calls `f` with the sink of every subscription matching `topic`
    /// (a sink subscribed with several matching patterns comes up once per pattern).
    pub(crate) fn for_each_match<'a>(&'a self, topic: &str, mut f: impl FnMut(&'a Arc<Sink>)) {
        self.root.walk(Some(topic), &mut f);
    }

    /// Number of subscriptions.
    pub(crate) fn len(&self) -> usize {
        self.len
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bus::sink::{ClientId, Counters};
    use crate::topic::pattern::{reference, tests as strategies};
    use crate::topic::{Pattern, Topic};
    use proptest::prelude::*;
    use std::collections::BTreeSet;

    fn sink(id: u64) -> Arc<Sink> {
        let c = Arc::new(Counters::default());
        Arc::new(Sink::new(id, ClientId(0), Arc::from("t"), 4, c.clone(), c))
    }

    proptest! {
        #[test]
        fn index_agrees_with_the_reference_model(
            patterns in prop::collection::vec(strategies::pattern_strategy(), 0..12),
            topics in prop::collection::vec(strategies::topic_strategy(), 1..12),
            removals in prop::collection::vec(any::<bool>(), 12),
        ) {
            let mut index = Index::default();
            let parsed: Vec<Pattern> = patterns.iter().map(|p| Pattern::parse(&p.join(".")).unwrap()).collect();
            for (i, p) in parsed.iter().enumerate() {
                index.insert(p, i as u64, sink(i as u64));
            }
            let mut live: BTreeSet<usize> = (0..parsed.len()).collect();
            for (i, p) in parsed.iter().enumerate() {
                if removals[i] {
                    prop_assert!(index.remove(p, i as u64));
                    prop_assert!(!index.remove(p, i as u64));
                    live.remove(&i);
                }
            }
            prop_assert_eq!(index.len(), live.len());
            for t in &topics {
                let topic = Topic::parse(&t.join(".")).unwrap();
                let mut got = Vec::new();
                index.for_each_match(topic.as_str(), |s| got.push(s.id as usize));
                got.sort_unstable();
                let tr: Vec<&str> = t.iter().map(String::as_str).collect();
                let want: Vec<usize> = live
                    .iter()
                    .copied()
                    .filter(|&i| {
                        let pr: Vec<&str> = patterns[i].iter().map(String::as_str).collect();
                        reference::matches(&pr, &tr)
                    })
                    .collect();
                prop_assert_eq!(got, want);
            }
            for i in live {
                prop_assert!(index.remove(&parsed[i], i as u64));
            }
            prop_assert!(index.root.is_empty());
        }
    }
}
