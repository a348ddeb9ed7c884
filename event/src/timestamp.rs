//! Event timestamps: UTC, microsecond precision, RFC 3339 text.

use std::fmt::Write as _;

use time::format_description::well_known::Rfc3339;
use time::{OffsetDateTime, UtcOffset};

/// The current time in UTC, truncated to microseconds.
pub fn now() -> OffsetDateTime {
    truncate(OffsetDateTime::now_utc())
}

/// Converts `ts` to UTC and drops everything below the microsecond.
///
/// Every timestamp an [`crate::Event`] carries goes through this, so that
/// CBOR, JSON and RFC 5424 forms all round-trip to the same value.
pub fn truncate(ts: OffsetDateTime) -> OffsetDateTime {
    let utc = ts.to_offset(UtcOffset::UTC);
    let micros_as_nanos = utc.nanosecond() / 1_000 * 1_000;
    // Cannot fail: the value is below 1e9 by construction.
    utc.replace_nanosecond(micros_as_nanos).unwrap_or(utc)
}

/// Appends `ts` as `2026-04-24T16:24:33.123456+00:00` (the predecessor's shape).
pub fn format_into(ts: OffsetDateTime, out: &mut String) {
    let ts = truncate(ts);
    // Writing into a String cannot fail.
    let _ = write!(
        out,
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:06}+00:00",
        ts.year(),
        u8::from(ts.month()),
        ts.day(),
        ts.hour(),
        ts.minute(),
        ts.second(),
        ts.nanosecond() / 1_000
    );
}

/// Formats `ts` as RFC 3339 in UTC with exactly six fractional digits.
pub fn format(ts: OffsetDateTime) -> String {
    let mut out = String::with_capacity(32);
    format_into(ts, &mut out);
    out
}

/// Parses any RFC 3339 timestamp (any offset, 0–9 fractional digits) into UTC µs.
pub fn parse(text: &str) -> Result<OffsetDateTime, time::error::Parse> {
    OffsetDateTime::parse(text, &Rfc3339).map(truncate)
}

/// Serde adapter: timestamps travel as RFC 3339 strings in CBOR and JSON alike.
pub mod serde_rfc3339 {
    use serde::{Deserialize as _, Deserializer, Serializer};
    use time::OffsetDateTime;

    /// Serialises as an RFC 3339 string with microseconds.
    pub fn serialize<S: Serializer>(ts: &OffsetDateTime, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&super::format(*ts))
    }

    /// Deserialises from an RFC 3339 string, normalised to UTC µs.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<OffsetDateTime, D::Error> {
        let text = std::borrow::Cow::<str>::deserialize(d)?;
        super::parse(&text).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn formats_like_python_isoformat_in_utc() {
        let ts = datetime!(2026-04-24 18:24:33.123456789 +02:00);
        assert_eq!(format(ts), "2026-04-24T16:24:33.123456+00:00");
    }

    #[test]
    fn parses_other_offsets_and_precisions() {
        let a = parse("2003-10-11T22:14:15.003Z").unwrap();
        assert_eq!(format(a), "2003-10-11T22:14:15.003000+00:00");
        let b = parse("2003-08-24T05:14:15.000003-07:00").unwrap();
        assert_eq!(format(b), "2003-08-24T12:14:15.000003+00:00");
        let c = parse("2026-01-01T00:00:00+00:00").unwrap();
        assert_eq!(format(c), "2026-01-01T00:00:00.000000+00:00");
        assert!(parse("2026-13-01T00:00:00Z").is_err());
    }
}
