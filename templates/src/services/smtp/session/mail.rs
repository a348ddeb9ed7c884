//! What a stored message looks like: the queue id, the `Received:` header
//! the MTA prepends, and the subject for the event.

use rand::RngCore as _;

use super::super::flavor::Mta;
use super::super::rfc5322_date;
use super::{SmtpSession, peer_ip};

impl SmtpSession {
    pub(super) fn queue_id(&self) -> String {
        let mut r = [0u8; 8];
        rand::rngs::OsRng.fill_bytes(&mut r);
        match self.mta() {
            // Postfix short ids: 10 or 11 upper-case hex digits, never a leading 0.
            Mta::Postfix => {
                let n = u64::from_be_bytes(r) % 0x00F0_0000_0000 + 0x0010_0000_0000;
                format!("{n:X}")
            }
            // Exim 4.96: base-62 time, pid and fraction: 1rXyZa-000AbC-1d.
            Mta::Exim { .. } => {
                const B62: &[u8] =
                    b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
                let enc = |mut v: u64, n: usize| {
                    let mut s = vec![b'0'; n];
                    for c in s.iter_mut().rev() {
                        *c = B62[(v % 62) as usize];
                        v /= 62;
                    }
                    String::from_utf8_lossy(&s).into_owned()
                };
                let now = (self.shared.clock)() as u64;
                let pid = u64::from(u32::from_be_bytes([r[0], r[1], r[2], r[3]]) % 4_000_000);
                format!(
                    "{}-{}-{}",
                    enc(now, 6),
                    enc(pid, 6),
                    enc(u64::from(r[4]) % 62 * 62 + u64::from(r[5]) % 62, 2)
                )
            }
        }
    }

    pub(super) fn received_header(&self, id: &str) -> String {
        let ip = peer_ip(&self.peer);
        let helo = self.helo.clone().unwrap_or_else(|| format!("[{ip}]"));
        let date = rfc5322_date((self.shared.clock)());
        let with = match (self.esmtp, self.tls.is_some()) {
            (false, _) => "SMTP",
            (true, false) => "ESMTP",
            (true, true) => "ESMTPS",
        };
        match self.mta() {
            Mta::Postfix => {
                let for_ = match self.rcpts.as_slice() {
                    [one] => format!("\r\n\tfor <{one}>"),
                    _ => String::new(),
                };
                format!(
                    "Received: from {helo} (unknown [{ip}])\r\n\tby {} (Postfix) with {with} id {id}{for_};\r\n\t{date}\r\n",
                    self.host()
                )
            }
            Mta::Exim { version } => {
                let for_ = match self.rcpts.as_slice() {
                    [one] => format!("\r\n\tfor {one}"),
                    _ => String::new(),
                };
                format!(
                    "Received: from [{ip}] (helo={helo})\r\n\tby {} with {} (Exim {version})\r\n\t(envelope-from <{}>)\r\n\tid {id}{for_};\r\n\t{date}\r\n",
                    self.host(),
                    with.to_ascii_lowercase(),
                    self.from.clone().unwrap_or_default()
                )
            }
        }
    }
}

/// The first `Subject:` header of a message, unfolded and cut to 256 characters.
pub(super) fn subject_of(msg: &[u8]) -> String {
    let text = String::from_utf8_lossy(&msg[..msg.len().min(64 * 1024)]);
    let mut subject: Option<String> = None;
    for line in text.split('\n') {
        let line = line.trim_end_matches('\r');
        if line.is_empty() {
            break;
        }
        if let Some(s) = &mut subject {
            if line.starts_with([' ', '\t']) {
                s.push_str(line);
                continue;
            }
            break;
        }
        if let Some(name) = line.get(..8)
            && name.eq_ignore_ascii_case("subject:")
        {
            subject = Some(line[8..].trim().to_owned());
        }
    }
    subject.unwrap_or_default().chars().take(256).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subjects_with_multibyte_text_never_split_a_character() {
        // The fuzzer's find: a multi-byte character across the 8th byte.
        let msg = "Subj\u{e9}\u{1f600}ct: x\r\nSubject: caf\u{e9}\r\n\r\nbody".as_bytes();
        assert_eq!(subject_of(msg), "caf\u{e9}");
        assert_eq!(subject_of(b"Subject: a\r\n b\r\n\r\n"), "a b");
        assert_eq!(subject_of(b"\r\nSubject: late"), "");
    }
}
