//! AUTH PLAIN and LOGIN: the exchanges, the captured credentials and the
//! MTA's refusal.

use base64::Engine as _;
use decnet_event::Outcome;

use super::super::flavor::Say;
use super::{Mode, SmtpSession};
use crate::session::event_types::{AUTH, PROTOCOL_ERROR};
use crate::session::{Action, Draft};

impl SmtpSession {
    pub(super) fn auth_event(
        &mut self,
        mech: &str,
        user: &[u8],
        pass: &[u8],
        authzid: Option<&[u8]>,
        out: &mut Vec<Action>,
    ) {
        let principal = String::from_utf8_lossy(user).into_owned();
        let mut d = Draft::new(AUTH)
            .credential(&principal, "plaintext", pass, Outcome::Failure)
            .field("auth_mechanism", mech);
        if let Some(z) = authzid.filter(|z| !z.is_empty()) {
            d = d.field("authzid", String::from_utf8_lossy(z).into_owned());
        }
        out.push(Action::Emit(d));
        // Dovecot's auth_failure_delay (2 s) before the 535.
        out.push(Action::Pause(self.shared.auth_delay));
        let reason = self.sasl_reply.clone();
        self.say(Say::AuthFailed { reason: &reason }, out);
        self.mode = Mode::Command;
    }

    pub(super) fn b64(&self, s: &str) -> Option<Vec<u8>> {
        base64::engine::general_purpose::STANDARD
            .decode(s.trim())
            .ok()
    }

    pub(super) fn plain_response(&mut self, line: &str, initial: bool, out: &mut Vec<Action>) {
        let Some(raw) = self.b64(line) else {
            out.push(Action::Emit(
                Draft::new(PROTOCOL_ERROR).field("error", "bad base64 in AUTH PLAIN"),
            ));
            self.mode = Mode::Command;
            self.say(Say::AuthBadBase64 { initial }, out);
            return;
        };
        let mut parts = raw.splitn(3, |&b| b == 0);
        let authzid = parts.next().unwrap_or_default().to_vec();
        let user = parts.next().unwrap_or_default().to_vec();
        let pass = parts.next().unwrap_or_default().to_vec();
        self.auth_event("PLAIN", &user, &pass, Some(&authzid), out);
    }

    pub(super) fn auth(&mut self, arg: &str, out: &mut Vec<Action>) {
        if self.helo.is_none() || !self.esmtp {
            return self.say(Say::AuthNeedsEhlo, out);
        }
        if self.from.is_some() {
            return self.say(Say::AuthInTransaction, out);
        }
        let mut it = arg.split_whitespace();
        let Some(mech) = it.next() else {
            return self.say(Say::AuthSyntax, out);
        };
        let mech = mech.to_ascii_uppercase();
        let initial = it.next();
        match (mech.as_str(), initial) {
            ("PLAIN", Some("=")) => self.plain_response("", true, out),
            ("PLAIN", Some(i)) => self.plain_response(i, true, out),
            ("PLAIN", None) => {
                self.sasl_reply.clear();
                self.mode = Mode::AuthPlain;
                out.push(Action::Send(b"334 \r\n".to_vec()));
            }
            ("LOGIN", Some(i)) => match self.b64(i) {
                Some(user) => {
                    self.sasl_reply = "UGFzc3dvcmQ6".into();
                    self.mode = Mode::AuthLogin { user: Some(user) };
                    out.push(Action::Send(b"334 UGFzc3dvcmQ6\r\n".to_vec()));
                }
                None => self.say(Say::AuthBadBase64 { initial: true }, out),
            },
            ("LOGIN", None) => {
                self.sasl_reply = "VXNlcm5hbWU6".into();
                self.mode = Mode::AuthLogin { user: None };
                out.push(Action::Send(b"334 VXNlcm5hbWU6\r\n".to_vec()));
            }
            _ => self.say(Say::AuthBadMech { mech: &mech }, out),
        }
    }

    pub(super) fn auth_line(&mut self, line: &str, out: &mut Vec<Action>) {
        if line.trim() == "*" {
            self.mode = Mode::Command;
            return self.say(Say::AuthAborted, out);
        }
        match std::mem::replace(&mut self.mode, Mode::Command) {
            Mode::AuthPlain => self.plain_response(line, false, out),
            Mode::AuthLogin { user: None } => match self.b64(line) {
                Some(user) => {
                    self.sasl_reply = "UGFzc3dvcmQ6".into();
                    self.mode = Mode::AuthLogin { user: Some(user) };
                    out.push(Action::Send(b"334 UGFzc3dvcmQ6\r\n".to_vec()));
                }
                None => self.say(Say::AuthBadBase64 { initial: false }, out),
            },
            Mode::AuthLogin { user: Some(user) } => match self.b64(line) {
                Some(pass) => self.auth_event("LOGIN", &user, &pass, None, out),
                None => self.say(Say::AuthBadBase64 { initial: false }, out),
            },
            other => self.mode = other,
        }
    }
}
