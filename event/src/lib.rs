//! The DECNET attacker event: one interaction, its CBOR/JSON form and its RFC 5424 line.
