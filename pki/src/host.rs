//! Validated sensor host names.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::error::HostNameError;

/// DNS suffix of the SAN every agent certificate carries (`<host>.agents.decnet`).
pub const AGENT_DNS_SUFFIX: &str = ".agents.decnet";

const MAX_LEN: usize = 63;

/// A host name matching `^[a-z0-9][a-z0-9-]{0,62}$`, usable as a DNS label.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct HostName(String);

impl HostName {
    /// The name as a string slice.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The DNS SAN of this host's agent certificate.
    pub fn agent_dns_name(&self) -> String {
        format!("{}{AGENT_DNS_SUFFIX}", self.0)
    }

    /// Recovers the host name from an agent SAN (`<host>.agents.decnet`).
    pub fn from_agent_dns_name(dns: &str) -> Option<Self> {
        dns.strip_suffix(AGENT_DNS_SUFFIX)
            .and_then(|label| label.parse().ok())
    }
}

fn reject(input: &str, reason: &'static str) -> HostNameError {
    // Inputs can be arbitrary user text; keep error messages bounded.
    let shown: String = input.chars().take(80).collect();
    HostNameError { shown, reason }
}

impl FromStr for HostName {
    type Err = HostNameError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bytes = s.as_bytes();
        let Some(&first) = bytes.first() else {
            return Err(reject(s, "it is empty"));
        };
        if bytes.len() > MAX_LEN {
            return Err(reject(s, "it is longer than 63 characters"));
        }
        if !(first.is_ascii_lowercase() || first.is_ascii_digit()) {
            return Err(reject(
                s,
                "it must start with a lowercase letter or a digit",
            ));
        }
        let valid = |b: &u8| b.is_ascii_lowercase() || b.is_ascii_digit() || *b == b'-';
        if !bytes.iter().all(valid) {
            return Err(reject(
                s,
                "only lowercase letters, digits and '-' are allowed",
            ));
        }
        Ok(Self(s.to_owned()))
    }
}

impl TryFrom<String> for HostName {
    type Error = HostNameError;

    fn try_from(s: String) -> Result<Self, Self::Error> {
        s.parse()
    }
}

impl AsRef<str> for HostName {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for HostName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for HostName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "HostName({:?})", self.0)
    }
}

impl Serialize for HostName {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for HostName {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn accepts_and_rejects_examples() {
        for ok in ["a", "0", "sensor-01", "a-", &"a".repeat(63)] {
            assert!(ok.parse::<HostName>().is_ok(), "{ok}");
        }
        for bad in [
            "",
            "-a",
            "Sensor",
            "sensor_01",
            "sensor.01",
            "sensör",
            " a",
            &"a".repeat(64),
        ] {
            assert!(bad.parse::<HostName>().is_err(), "{bad:?}");
        }
    }

    #[test]
    fn agent_dns_name_round_trips() {
        let h: HostName = "sensor-01".parse().unwrap();
        assert_eq!(h.agent_dns_name(), "sensor-01.agents.decnet");
        assert_eq!(HostName::from_agent_dns_name(&h.agent_dns_name()), Some(h));
        assert_eq!(HostName::from_agent_dns_name("sensor-01.example.org"), None);
    }

    fn from_cbor(s: &str) -> Result<HostName, ciborium::de::Error<std::io::Error>> {
        let mut buf = Vec::new();
        ciborium::into_writer(&s, &mut buf).unwrap();
        ciborium::from_reader(buf.as_slice())
    }

    #[test]
    fn deserialisation_validates() {
        assert!(from_cbor("BAD").is_err());
        assert_eq!(from_cbor("good-1").unwrap().as_str(), "good-1");
    }

    proptest! {
        #[test]
        fn valid_names_parse(s in "[a-z0-9][a-z0-9-]{0,62}") {
            let h: HostName = s.parse().unwrap();
            prop_assert_eq!(h.as_str(), s.as_str());
        }

        #[test]
        fn parse_matches_the_regex(s in "[a-zA-Z0-9_. -]{0,66}|\\PC{0,8}") {
            let first_ok = s.chars().next().is_some_and(|c| matches!(c, 'a'..='z' | '0'..='9'));
            let rest_ok = s.chars().all(|c| matches!(c, 'a'..='z' | '0'..='9' | '-'));
            let expected = first_ok && rest_ok && s.chars().count() <= 63;
            prop_assert_eq!(s.parse::<HostName>().is_ok(), expected);
        }

        #[test]
        fn near_miss_names_are_rejected(prefix in "[a-z0-9]{1,10}", bad in "[A-Z_.:/ ]") {
            let s = format!("{prefix}{bad}");
            prop_assert!(s.parse::<HostName>().is_err());
        }
    }
}
