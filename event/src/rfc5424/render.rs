//! Event → RFC 5424 line.

use std::fmt::Write as _;

use super::{BOM, DEFAULT_PRI, SD_ID};
use crate::Event;
use crate::event::{MAX_DECKY_LEN, MAX_EVENT_TYPE_LEN, MAX_SERVICE_LEN};

/// Renders `event` as one line, without a trailing newline.
pub fn render(event: &Event) -> String {
    let mut out = String::with_capacity(256);
    render_into(event, &mut out);
    out
}

/// Appends the line for `event` to `out` (no trailing newline).
///
/// A valid event (see [`Event::validate`]) round-trips exactly through
/// [`super::parse`]; header columns of an invalid one are sanitised so that
/// the line always stays a single well-formed RFC 5424 line.
pub fn render_into(event: &Event, out: &mut String) {
    // Writing into a String cannot fail, hence the ignored results below.
    let _ = write!(out, "<{DEFAULT_PRI}>1 ");
    crate::timestamp::format_into(event.ts, out);
    out.push(' ');
    push_token(out, &event.decky, MAX_DECKY_LEN);
    out.push(' ');
    push_token(out, &event.service, MAX_SERVICE_LEN);
    out.push_str(" - ");
    push_token(out, &event.event_type, MAX_EVENT_TYPE_LEN);
    out.push_str(" [");
    out.push_str(SD_ID);
    let _ = write!(out, " event_id=\"{}\"", event.id);
    if !event.host.is_empty() {
        push_param(out, "host", &event.host);
    }
    let _ = write!(
        out,
        " src_ip=\"{}\" src_port=\"{}\" dst_port=\"{}\"",
        event.src_ip, event.src_port, event.dst_port
    );
    if let Some(sid) = &event.session_id {
        push_param(out, "session_id", sid);
    }
    for (name, value) in &event.fields {
        push_param(out, name, value);
    }
    out.push(']');
    if let Some(msg) = &event.msg {
        out.push(' ');
        // The parser strips one leading BOM (RFC 5424 MSG-UTF8), so a message
        // that itself starts with one gets a second to survive the trip.
        if msg.starts_with(BOM) {
            out.push(BOM);
        }
        for c in msg.chars() {
            match c {
                '\\' => out.push_str("\\\\"),
                '\n' => out.push_str("\\n"),
                '\r' => out.push_str("\\r"),
                c => out.push(c),
            }
        }
    }
}

fn push_token(out: &mut String, token: &str, max: usize) {
    if token.is_empty() {
        out.push('-');
        return;
    }
    for b in token.bytes().take(max) {
        out.push(if (33..=126).contains(&b) {
            char::from(b)
        } else {
            '_'
        });
    }
}

fn push_param(out: &mut String, name: &str, value: &str) {
    out.push(' ');
    for c in name.chars() {
        // Names are validated on events; this keeps invalid ones from breaking the line.
        let ok = c.is_ascii_graphic() && !matches!(c, '=' | ']' | '"');
        out.push(if ok { c } else { '_' });
    }
    out.push_str("=\"");
    push_value(out, value);
    out.push('"');
}

/// Escapes an SD-PARAM value: RFC 5424's `\`, `"`, `]`, plus CR and LF so that
/// attacker-controlled values can never split the line.
pub(super) fn push_value(out: &mut String, value: &str) {
    for c in value.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            ']' => out.push_str("\\]"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            c => out.push(c),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn matches_the_predecessor_line_shape() {
        let e = Event::builder()
            .id("0196a0e4-0000-7000-8000-000000000001".parse().unwrap())
            .ts(datetime!(2026-04-24 16:24:33.123456 UTC))
            .host("sensor-1")
            .decky("decky-01")
            .service("redis")
            .event_type("command")
            .src("203.0.113.7:51234".parse().unwrap())
            .dst_port(6379)
            .session_id("s1")
            .field("cmd", "SET")
            .field("args", r#"["k","a\"b]c\\d"]"#)
            .msg("line1\nline2")
            .build()
            .unwrap();
        assert_eq!(
            render(&e),
            "<134>1 2026-04-24T16:24:33.123456+00:00 decky-01 redis - command \
             [relay@55555 event_id=\"0196a0e4-0000-7000-8000-000000000001\" host=\"sensor-1\" \
             src_ip=\"203.0.113.7\" src_port=\"51234\" dst_port=\"6379\" session_id=\"s1\" \
             args=\"[\\\"k\\\",\\\"a\\\\\\\"b\\]c\\\\\\\\d\\\"\\]\" cmd=\"SET\"] line1\\nline2"
        );
    }

    #[test]
    fn invalid_header_tokens_are_sanitised_not_spliced() {
        let mut e = Event::builder()
            .decky("d")
            .service("s")
            .event_type("t")
            .src_ip("::1".parse().unwrap())
            .build()
            .unwrap();
        e.decky = "a b\nc".into();
        e.service = String::new();
        let line = render(&e);
        assert!(line.contains(" a_b_c - - t ["), "{line}");
        assert!(!line.contains('\n'));
    }
}
