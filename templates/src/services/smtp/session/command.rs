//! The SMTP verbs: envelope, DATA/BDAT setup, STARTTLS and the MTA's
//! answers to everything else.

use super::super::flavor::{Mta, Say};
use super::{MAX_RCPTS, Mode, SmtpSession, envelope_address, peer_ip};
use crate::session::event_types::{COMMAND, PROTOCOL_ERROR};
use crate::session::{Action, Draft};
use crate::tls::layer::TlsLayer;

impl SmtpSession {
    pub(super) fn command(&mut self, line: &str, out: &mut Vec<Action>) {
        let (verb, arg) = match line.split_once([' ', '\t']) {
            Some((v, a)) => (v.to_ascii_uppercase(), a.trim()),
            None => (line.to_ascii_uppercase(), ""),
        };
        let mut ev = Draft::new(COMMAND).field("cmd", verb.as_str());
        if !arg.is_empty() {
            // AUTH's initial response is a credential; only the mechanism is logged here.
            let shown = if verb == "AUTH" {
                arg.split_whitespace().next().unwrap_or("")
            } else {
                arg
            };
            ev = ev.field("args", shown);
        }
        if verb.is_empty() {
            return self.say(Say::Empty, out);
        }
        out.push(Action::Emit(ev));
        let ip = peer_ip(&self.peer);
        match verb.as_str() {
            "CONNECT" | "GET" | "POST" if matches!(self.mta(), Mta::Postfix) => {
                out.push(Action::Emit(
                    Draft::new(PROTOCOL_ERROR).field("error", "non-SMTP command"),
                ));
                let t = self.mta().say(Say::Forbidden);
                out.push(Action::Send(t.into_bytes()));
                self.close(out);
            }
            "EHLO" | "HELO" => {
                let ehlo = verb == "EHLO";
                if arg.is_empty() {
                    return self.say(Say::HeloSyntax { ehlo }, out);
                }
                self.reset_txn();
                self.helo = Some(arg.to_owned());
                self.esmtp = ehlo;
                let host = self.host().to_owned();
                let text = if ehlo {
                    let tls_offer = self.shared.tls.is_some() && self.tls.is_none();
                    self.mta()
                        .ehlo(&host, arg, &ip, self.shared.size_limit, tls_offer)
                } else {
                    self.mta().helo(&host, arg, &ip)
                };
                out.push(Action::Send(text.into_bytes()));
            }
            "MAIL" => {
                if self.from.is_some() {
                    return self.say(Say::NestedMail, out);
                }
                let Some((addr, params)) = envelope_address(arg, "FROM:") else {
                    return self.say(Say::MailSyntax, out);
                };
                let size = params
                    .split_whitespace()
                    .find_map(|p| {
                        p.get(..5)
                            .filter(|k| k.eq_ignore_ascii_case("SIZE="))
                            .and(p.get(5..))
                    })
                    .and_then(|v| v.parse::<u64>().ok());
                if size.is_some_and(|s| s > self.shared.size_limit) {
                    return self.say(Say::TooBig, out);
                }
                self.from = Some(addr.to_owned());
                self.say(Say::MailOk, out);
            }
            "RCPT" => {
                if self.from.is_none() {
                    return self.say(Say::NeedMail, out);
                }
                match envelope_address(arg, "TO:") {
                    Some((addr, _)) if !addr.is_empty() => {
                        if self.rcpts.len() >= MAX_RCPTS {
                            return self.say(Say::TooManyRcpts, out);
                        }
                        self.rcpts.push(addr.to_owned());
                        self.say(Say::RcptOk, out);
                    }
                    _ => self.say(Say::RcptSyntax, out),
                }
            }
            "DATA" => {
                if self.rcpts.is_empty() {
                    return self.say(Say::NeedRcpt, out);
                }
                self.msg.clear();
                self.msg_len = 0;
                self.at_line_start = true;
                self.mode = Mode::Data;
                self.say(Say::DataGo, out);
            }
            "BDAT" => {
                let mut it = arg.split_whitespace();
                let size = it.next().and_then(|n| n.parse::<u64>().ok());
                let last = it.next().is_some_and(|l| l.eq_ignore_ascii_case("LAST"));
                let Some(size) = size else {
                    return self.say(Say::Unknown, out);
                };
                let discard = self.rcpts.is_empty();
                self.mode = Mode::Bdat {
                    left: size,
                    last,
                    discard,
                };
            }
            "RSET" => {
                self.reset_txn();
                self.say(Say::Reset, out);
            }
            "NOOP" => self.say(Say::Noop, out),
            "QUIT" => {
                let host = self.host().to_owned();
                let t = self.mta().say(Say::Bye { host: &host });
                out.push(Action::Send(t.into_bytes()));
                self.close(out);
            }
            "VRFY" if arg.is_empty() && matches!(self.mta(), Mta::Postfix) => {
                self.reply("501 5.5.4 Syntax: VRFY address\r\n".into(), out);
            }
            "VRFY" => self.say(Say::Vrfy { arg }, out),
            "EXPN" if matches!(self.mta(), Mta::Exim { .. }) => {
                self.reply("550 Administrative prohibition\r\n".into(), out);
            }
            "ETRN" if matches!(self.mta(), Mta::Postfix) => {
                if self.helo.is_none() {
                    self.reply("503 Error: send HELO/EHLO first\r\n".into(), out);
                } else {
                    self.reply("458 Unable to queue messages\r\n".into(), out);
                }
            }
            "HELP" => self.say(Say::Help, out),
            "AUTH" => self.auth(arg, out),
            "STARTTLS" => self.starttls(arg, out),
            _ => {
                self.unknown += 1;
                if matches!(self.mta(), Mta::Exim { .. }) && self.unknown > 3 {
                    let host = self.host().to_owned();
                    let t = self.mta().say(Say::TooManyErrors { host: &host });
                    out.push(Action::Send(t.into_bytes()));
                    self.close(out);
                    return;
                }
                self.say(Say::Unknown, out);
            }
        }
    }

    pub(super) fn starttls(&mut self, arg: &str, out: &mut Vec<Action>) {
        if self.tls.is_some() {
            return self.say(Say::TlsAlready, out);
        }
        let Some(config) = self.shared.tls.clone() else {
            return self.say(Say::TlsUnavailable, out);
        };
        if !arg.is_empty() && matches!(self.mta(), Mta::Postfix) {
            return self.reply("501 5.5.4 Syntax: STARTTLS\r\n".into(), out);
        }
        match TlsLayer::new(config) {
            Ok(layer) => {
                let t = self.mta().say(Say::TlsGo);
                out.push(Action::Send(t.into_bytes()));
                // RFC 3207: nothing sent before the handshake may be acted on.
                if !self.buf.is_empty() {
                    out.push(Action::Emit(
                        Draft::new(PROTOCOL_ERROR)
                            .field("error", "plaintext pipelined after STARTTLS"),
                    ));
                    self.buf.clear();
                }
                self.tls = Some(layer);
                self.helo = None;
                self.esmtp = false;
                self.reset_txn();
            }
            Err(_) => self.reply(
                "454 4.7.0 TLS not available due to local problem\r\n".into(),
                out,
            ),
        }
    }
}
