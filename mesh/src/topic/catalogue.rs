//! The topic catalogue: typed builders for every topic and pattern of the bus.
//!
//! This module is the only place in the workspace where topic strings are
//! spelled out; a workspace test fails on any hand-written topic elsewhere.
//! Builders that take an identifier return `Result`, because the identifier
//! must be a single valid token (no dots, wildcards or whitespace).

use std::fmt::Display;

use super::{Pattern, Topic, TopicError, check_id};

/// First token of every catalogue family; the literal-topic detector flags a
/// string literal starting with one of these followed by a dot.
pub const ROOTS: &[&str] = &[
    "decky",
    "topology",
    "attacker",
    "credential",
    "system",
    "host",
];

/// The namespace of each family, as patterns: a string that could be a topic
/// of one of these is a topic and must come from a builder. (`system.log` is
/// the one two-token system topic; other families put an id second.)
pub const FAMILIES: &[&str] = &[
    "decky.*.>",
    "topology.*.>",
    "attacker.>",
    "credential.>",
    "system.log",
    "system.*.>",
    "host.*.>",
];

fn id(what: &'static str, value: &dyn Display) -> Result<String, TopicError> {
    check_id(what, value.to_string())
}

/// `decky.{id}.state|traffic|lifecycle`: per-decky notifications.
pub mod decky {
    use super::*;

    fn leaf(decky: &dyn Display, leaf: &str) -> Result<Topic, TopicError> {
        Topic::assembled(format!("decky.{}.{leaf}", id("decky id", decky)?))
    }

    /// `decky.{id}.state`: the reconciler's view of a decky changed.
    pub fn state(decky: impl Display) -> Result<Topic, TopicError> {
        leaf(&decky, "state")
    }

    /// `decky.{id}.traffic`: the sniffer saw traffic for a decky.
    pub fn traffic(decky: impl Display) -> Result<Topic, TopicError> {
        leaf(&decky, "traffic")
    }

    /// `decky.{id}.lifecycle`: a decky was created, started, stopped or removed.
    pub fn lifecycle(decky: impl Display) -> Result<Topic, TopicError> {
        leaf(&decky, "lifecycle")
    }

    /// `decky.{id}.>`: everything about one decky.
    pub fn of(decky: impl Display) -> Result<Pattern, TopicError> {
        Pattern::assembled(format!("decky.{}.>", id("decky id", &decky)?))
    }

    /// `decky.*.state`: state changes of every decky.
    pub fn all_state() -> Pattern {
        Pattern::constant("decky.*.state")
    }

    /// `decky.*.traffic`: traffic of every decky.
    pub fn all_traffic() -> Pattern {
        Pattern::constant("decky.*.traffic")
    }

    /// `decky.*.lifecycle`: lifecycle of every decky.
    pub fn all_lifecycle() -> Pattern {
        Pattern::constant("decky.*.lifecycle")
    }

    /// `decky.>`: every decky topic.
    pub fn all() -> Pattern {
        Pattern::constant("decky.>")
    }
}

/// `topology.{id}.mutation.{phase}` and `topology.{id}.status`.
pub mod topology {
    use super::*;

    /// Phase of a topology mutation.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
    pub enum MutationPhase {
        /// Accepted and queued.
        Enqueued,
        /// Being applied to the hosts.
        Applying,
        /// Applied everywhere.
        Applied,
        /// Gave up; the topology is as before.
        Failed,
    }

    impl MutationPhase {
        /// Every phase, in lifecycle order.
        pub const ALL: [MutationPhase; 4] = [
            MutationPhase::Enqueued,
            MutationPhase::Applying,
            MutationPhase::Applied,
            MutationPhase::Failed,
        ];

        /// The topic token of the phase.
        pub fn token(self) -> &'static str {
            match self {
                MutationPhase::Enqueued => "enqueued",
                MutationPhase::Applying => "applying",
                MutationPhase::Applied => "applied",
                MutationPhase::Failed => "failed",
            }
        }
    }

    /// `topology.{id}.mutation.{phase}`.
    pub fn mutation(topology: impl Display, phase: MutationPhase) -> Result<Topic, TopicError> {
        Topic::assembled(format!(
            "topology.{}.mutation.{}",
            id("topology id", &topology)?,
            phase.token()
        ))
    }

    /// `topology.{id}.status`.
    pub fn status(topology: impl Display) -> Result<Topic, TopicError> {
        Topic::assembled(format!("topology.{}.status", id("topology id", &topology)?))
    }

    /// `topology.{id}.mutation.*`: every mutation phase of one topology.
    pub fn mutations(topology: impl Display) -> Result<Pattern, TopicError> {
        Pattern::assembled(format!(
            "topology.{}.mutation.*",
            id("topology id", &topology)?
        ))
    }

    /// `topology.*.mutation.*`: every mutation phase of every topology.
    pub fn all_mutations() -> Pattern {
        Pattern::constant("topology.*.mutation.*")
    }

    /// `topology.*.status`: status of every topology.
    pub fn all_status() -> Pattern {
        Pattern::constant("topology.*.status")
    }

    /// `topology.>`: every topology topic.
    pub fn all() -> Pattern {
        Pattern::constant("topology.>")
    }
}

/// `attacker.*` notifications from the correlation engine, prober and collector.
pub mod attacker {
    use super::*;

    /// `attacker.observed`: first sighting of an attacker.
    pub fn observed() -> Topic {
        Topic::constant("attacker.observed")
    }

    /// `attacker.scored`: an attacker's score changed.
    pub fn scored() -> Topic {
        Topic::constant("attacker.scored")
    }

    /// `attacker.fingerprinted`: the prober fingerprinted an attacker.
    pub fn fingerprinted() -> Topic {
        Topic::constant("attacker.fingerprinted")
    }

    /// `attacker.fingerprint_rotated`: an attacker's fingerprint changed.
    pub fn fingerprint_rotated() -> Topic {
        Topic::constant("attacker.fingerprint_rotated")
    }

    /// `attacker.session.started`.
    pub fn session_started() -> Topic {
        Topic::constant("attacker.session.started")
    }

    /// `attacker.session.ended`.
    pub fn session_ended() -> Topic {
        Topic::constant("attacker.session.ended")
    }

    /// `attacker.session.*`: session start and end.
    pub fn sessions() -> Pattern {
        Pattern::constant("attacker.session.*")
    }

    /// `attacker.>`: every attacker topic.
    pub fn all() -> Pattern {
        Pattern::constant("attacker.>")
    }
}

/// `credential.*`: captured and reused credentials.
pub mod credential {
    use super::*;

    /// `credential.captured`.
    pub fn captured() -> Topic {
        Topic::constant("credential.captured")
    }

    /// `credential.reuse.detected`.
    pub fn reuse_detected() -> Topic {
        Topic::constant("credential.reuse.detected")
    }

    /// `credential.>`: every credential topic.
    pub fn all() -> Pattern {
        Pattern::constant("credential.>")
    }
}

/// `system.*`: logs, worker health and worker control.
pub mod system {
    use super::*;

    /// `system.log`.
    pub fn log() -> Topic {
        Topic::constant("system.log")
    }

    /// `system.{worker}.health`: a worker's heartbeat.
    pub fn health(worker: impl Display) -> Result<Topic, TopicError> {
        Topic::assembled(format!("system.{}.health", id("worker", &worker)?))
    }

    /// `system.{worker}.control`: stop/start requests for a worker.
    pub fn control(worker: impl Display) -> Result<Topic, TopicError> {
        Topic::assembled(format!("system.{}.control", id("worker", &worker)?))
    }

    /// `system.*.health`: every worker's heartbeat.
    pub fn all_health() -> Pattern {
        Pattern::constant("system.*.health")
    }

    /// `system.*.control`: every worker's control requests.
    pub fn all_control() -> Pattern {
        Pattern::constant("system.*.control")
    }

    /// `system.>`: every system topic.
    pub fn all() -> Pattern {
        Pattern::constant("system.>")
    }
}

/// `host.{id}.…`: addressing one agent host.
pub mod host {
    use super::*;

    /// `host.{id}.{leaf...}`: a message for one host; `leaf` holds one or more tokens.
    pub fn addressed(host: impl Display, leaf: &[&str]) -> Result<Topic, TopicError> {
        if leaf.is_empty() {
            return Err(TopicError::InvalidId {
                what: "host leaf",
                value: String::new(),
                reason: Box::new(TopicError::Empty),
            });
        }
        let mut s = format!("host.{}", id("host id", &host)?);
        for token in leaf {
            s.push('.');
            s.push_str(&check_id("host leaf token", (*token).to_owned())?);
        }
        Topic::assembled(s)
    }

    /// `host.{id}.>`: everything addressed to one host.
    pub fn of(host: impl Display) -> Result<Pattern, TopicError> {
        Pattern::assembled(format!("host.{}.>", id("host id", &host)?))
    }

    /// `host.>`: everything addressed to any host.
    pub fn all() -> Pattern {
        Pattern::constant("host.>")
    }
}

#[cfg(test)]
mod tests {
    use super::topology::MutationPhase;
    use super::*;

    #[test]
    fn builders_spell_the_architecture_hierarchy() {
        let cases: Vec<(Topic, &str)> = vec![
            (decky::state("d1").unwrap(), "decky.d1.state"),
            (decky::traffic("d1").unwrap(), "decky.d1.traffic"),
            (decky::lifecycle("d1").unwrap(), "decky.d1.lifecycle"),
            (
                topology::mutation("t1", MutationPhase::Enqueued).unwrap(),
                "topology.t1.mutation.enqueued",
            ),
            (
                topology::mutation("t1", MutationPhase::Applying).unwrap(),
                "topology.t1.mutation.applying",
            ),
            (
                topology::mutation("t1", MutationPhase::Applied).unwrap(),
                "topology.t1.mutation.applied",
            ),
            (
                topology::mutation("t1", MutationPhase::Failed).unwrap(),
                "topology.t1.mutation.failed",
            ),
            (topology::status("t1").unwrap(), "topology.t1.status"),
            (attacker::observed(), "attacker.observed"),
            (attacker::scored(), "attacker.scored"),
            (attacker::fingerprinted(), "attacker.fingerprinted"),
            (
                attacker::fingerprint_rotated(),
                "attacker.fingerprint_rotated",
            ),
            (attacker::session_started(), "attacker.session.started"),
            (attacker::session_ended(), "attacker.session.ended"),
            (credential::captured(), "credential.captured"),
            (credential::reuse_detected(), "credential.reuse.detected"),
            (system::log(), "system.log"),
            (system::health("bus").unwrap(), "system.bus.health"),
            (
                system::control("sniffer").unwrap(),
                "system.sniffer.control",
            ),
            (
                host::addressed("h1", &["deploy"]).unwrap(),
                "host.h1.deploy",
            ),
            (
                host::addressed("h1", &["worker", "stop"]).unwrap(),
                "host.h1.worker.stop",
            ),
        ];
        for (topic, expected) in cases {
            assert_eq!(topic.as_str(), expected);
            assert_eq!(Topic::parse(expected).unwrap(), topic);
            let root = expected.split('.').next().unwrap();
            assert!(ROOTS.contains(&root), "{root} is not a catalogue root");
        }
    }

    #[test]
    fn patterns_cover_their_family() {
        let d = decky::traffic(uuid::Uuid::nil()).unwrap();
        assert!(decky::all_traffic().matches(&d));
        assert!(!decky::all_state().matches(&d));
        assert!(decky::all().matches(&d));
        assert!(decky::of(uuid::Uuid::nil()).unwrap().matches(&d));
        assert!(!decky::of("other").unwrap().matches(&d));
        assert!(decky::all_lifecycle().matches(&decky::lifecycle("x").unwrap()));
        assert!(decky::all_state().matches(&decky::state("x").unwrap()));

        for phase in MutationPhase::ALL {
            let t = topology::mutation("t", phase).unwrap();
            assert!(topology::mutations("t").unwrap().matches(&t));
            assert!(topology::all_mutations().matches(&t));
            assert!(topology::all().matches(&t));
            assert!(!topology::all_status().matches(&t));
        }
        assert!(topology::all_status().matches(&topology::status("t").unwrap()));

        assert!(attacker::sessions().matches(&attacker::session_ended()));
        assert!(!attacker::sessions().matches(&attacker::observed()));
        assert!(attacker::all().matches(&attacker::session_started()));
        assert!(credential::all().matches(&credential::reuse_detected()));
        assert!(system::all_health().matches(&system::health("w").unwrap()));
        assert!(!system::all_health().matches(&system::log()));
        assert!(system::all_control().matches(&system::control("w").unwrap()));
        assert!(system::all().matches(&system::log()));
        assert!(
            host::of("h")
                .unwrap()
                .matches(&host::addressed("h", &["x"]).unwrap())
        );
        assert!(
            !host::of("h")
                .unwrap()
                .matches(&host::addressed("g", &["x"]).unwrap())
        );
        assert!(host::all().matches(&host::addressed("g", &["x", "y"]).unwrap()));
    }

    #[test]
    fn families_cover_every_builder() {
        let families: Vec<Pattern> = FAMILIES
            .iter()
            .map(|f| Pattern::parse(f).unwrap())
            .collect();
        let topics = [
            decky::state("d").unwrap(),
            decky::traffic("d").unwrap(),
            decky::lifecycle("d").unwrap(),
            topology::mutation("t", MutationPhase::Applied).unwrap(),
            topology::status("t").unwrap(),
            attacker::observed(),
            attacker::session_ended(),
            credential::captured(),
            credential::reuse_detected(),
            system::log(),
            system::health("w").unwrap(),
            system::control("w").unwrap(),
            host::addressed("h", &["x"]).unwrap(),
        ];
        for t in &topics {
            assert!(families.iter().any(|f| f.matches(t)), "{t}");
        }
        for f in &families {
            let root = f.as_str().split('.').next().unwrap();
            assert!(ROOTS.contains(&root));
        }
    }

    #[test]
    fn constant_patterns_are_valid() {
        let all = [
            decky::all_state(),
            decky::all_traffic(),
            decky::all_lifecycle(),
            decky::all(),
            topology::all_mutations(),
            topology::all_status(),
            topology::all(),
            attacker::sessions(),
            attacker::all(),
            credential::all(),
            system::all_health(),
            system::all_control(),
            system::all(),
            host::all(),
        ];
        for p in all {
            assert_eq!(Pattern::parse(p.as_str()).unwrap(), p);
        }
    }

    #[test]
    fn identifiers_must_be_single_tokens() {
        for bad in ["", "a.b", "*", ">", "has space", "tab\t"] {
            assert!(decky::state(bad).is_err(), "{bad:?}");
            assert!(decky::of(bad).is_err(), "{bad:?}");
            assert!(topology::status(bad).is_err(), "{bad:?}");
            assert!(topology::mutations(bad).is_err(), "{bad:?}");
            assert!(system::health(bad).is_err(), "{bad:?}");
            assert!(system::control(bad).is_err(), "{bad:?}");
            assert!(host::addressed(bad, &["x"]).is_err(), "{bad:?}");
            assert!(host::addressed("h", &[bad]).is_err(), "{bad:?}");
        }
        assert!(host::addressed("h", &[]).is_err());
    }
}
