//! Postfix and Exim, as Debian ships them: banners, EHLO lists and the
//! exact text of every reply the emulator gives.

/// The MTA a decky claims.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Mta {
    /// Postfix (Debian's `smtpd_banner = $myhostname ESMTP $mail_name (Debian/GNU)`).
    Postfix,
    /// Exim 4 (Debian's exim4-daemon-light).
    Exim {
        /// `4.96`.
        version: String,
    },
}

/// Replies that differ between the two.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Say<'a> {
    /// MAIL accepted.
    MailOk,
    /// RCPT accepted.
    RcptOk,
    /// DATA accepted.
    DataGo,
    /// Message queued as `id`.
    Queued { id: &'a str },
    /// RSET.
    Reset,
    /// NOOP.
    Noop,
    /// QUIT.
    Bye { host: &'a str },
    /// Unknown command.
    Unknown,
    /// An empty line.
    Empty,
    /// EHLO / HELO without an argument.
    HeloSyntax { ehlo: bool },
    /// MAIL without `FROM:<...>`.
    MailSyntax,
    /// RCPT without `TO:<...>`.
    RcptSyntax,
    /// A second MAIL.
    NestedMail,
    /// RCPT before MAIL.
    NeedMail,
    /// DATA / BDAT before RCPT.
    NeedRcpt,
    /// The message is over the size limit.
    TooBig,
    /// Too many recipients.
    TooManyRcpts,
    /// AUTH before EHLO.
    AuthNeedsEhlo,
    /// AUTH during a transaction.
    AuthInTransaction,
    /// AUTH without a mechanism.
    AuthSyntax,
    /// AUTH with an unknown mechanism.
    AuthBadMech { mech: &'a str },
    /// The client answered `*`.
    AuthAborted,
    /// Credentials refused; `reason` is Postfix's SASL reply text.
    AuthFailed { reason: &'a str },
    /// Bad base64 in an AUTH exchange.
    AuthBadBase64 { initial: bool },
    /// STARTTLS accepted.
    TlsGo,
    /// STARTTLS not offered.
    TlsUnavailable,
    /// STARTTLS inside TLS.
    TlsAlready,
    /// VRFY.
    Vrfy { arg: &'a str },
    /// HELP.
    Help,
    /// A command line too long.
    LineTooLong,
    /// Too many errors; the server hangs up.
    TooManyErrors { host: &'a str },
    /// An HTTP or proxy command sent to the SMTP port.
    Forbidden,
}

impl Mta {
    /// The spec's `mta` value.
    pub fn new(name: &str, version: Option<&str>) -> Option<Self> {
        match name {
            "postfix" => Some(Mta::Postfix),
            "exim" => {
                let v = version.unwrap_or("4.96").to_owned();
                let ok = !v.is_empty()
                    && v.len() <= 16
                    && v.as_bytes()[0].is_ascii_digit()
                    && v.bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'_');
                ok.then_some(Mta::Exim { version: v })
            }
            _ => None,
        }
    }

    /// The slug.
    pub fn name(&self) -> &'static str {
        match self {
            Mta::Postfix => "postfix",
            Mta::Exim { .. } => "exim",
        }
    }

    /// The advertised and enforced message size limit (`message_size_limit`).
    pub fn default_size_limit(&self) -> u64 {
        match self {
            Mta::Postfix => 10_240_000,
            Mta::Exim { .. } => 52_428_800,
        }
    }

    /// The 220 greeting; `date` is RFC 5322 (`Sun, 29 Nov 2026 13:44:57 +0000`).
    pub fn banner(&self, host: &str, date: &str) -> String {
        match self {
            Mta::Postfix => format!("220 {host} ESMTP Postfix (Debian/GNU)\r\n"),
            Mta::Exim { version } => format!("220 {host} ESMTP Exim {version} {date}\r\n"),
        }
    }

    /// The EHLO answer.
    pub fn ehlo(&self, host: &str, helo: &str, ip: &str, size: u64, starttls: bool) -> String {
        let mut lines: Vec<String> = Vec::new();
        match self {
            Mta::Postfix => {
                lines.push(host.to_owned());
                lines.push("PIPELINING".into());
                lines.push(format!("SIZE {size}"));
                lines.push("VRFY".into());
                lines.push("ETRN".into());
                if starttls {
                    lines.push("STARTTLS".into());
                }
                lines.push("AUTH PLAIN LOGIN".into());
                lines.push("ENHANCEDSTATUSCODES".into());
                lines.push("8BITMIME".into());
                lines.push("DSN".into());
                lines.push("SMTPUTF8".into());
                lines.push("CHUNKING".into());
            }
            Mta::Exim { .. } => {
                lines.push(format!("{host} Hello {helo} [{ip}]"));
                lines.push(format!("SIZE {size}"));
                lines.push("8BITMIME".into());
                lines.push("PIPELINING".into());
                lines.push("PIPECONNECT".into());
                lines.push("AUTH PLAIN LOGIN".into());
                lines.push("CHUNKING".into());
                if starttls {
                    lines.push("STARTTLS".into());
                }
                lines.push("PRDR".into());
                lines.push("HELP".into());
            }
        }
        let mut out = String::new();
        let last = lines.len() - 1;
        for (i, l) in lines.iter().enumerate() {
            out.push_str(if i == last { "250 " } else { "250-" });
            out.push_str(l);
            out.push_str("\r\n");
        }
        out
    }

    /// The HELO answer.
    pub fn helo(&self, host: &str, helo: &str, ip: &str) -> String {
        match self {
            Mta::Postfix => format!("250 {host}\r\n"),
            Mta::Exim { .. } => format!("250 {host} Hello {helo} [{ip}]\r\n"),
        }
    }

    /// Whether this reply counts as an error (for error limits).
    pub fn is_error(text: &str) -> bool {
        text.starts_with('4') || text.starts_with('5')
    }

    /// The text of `say`.
    pub fn say(&self, say: Say<'_>) -> String {
        let pf = matches!(self, Mta::Postfix);
        let s: String = match say {
            Say::MailOk => if pf { "250 2.1.0 Ok" } else { "250 OK" }.into(),
            Say::RcptOk => if pf { "250 2.1.5 Ok" } else { "250 Accepted" }.into(),
            Say::DataGo => if pf {
                "354 End data with <CR><LF>.<CR><LF>"
            } else {
                "354 Enter message, ending with \".\" on a line by itself"
            }
            .into(),
            Say::Queued { id } => {
                if pf {
                    format!("250 2.0.0 Ok: queued as {id}")
                } else {
                    format!("250 OK id={id}")
                }
            }
            Say::Reset => if pf { "250 2.0.0 Ok" } else { "250 Reset OK" }.into(),
            Say::Noop => if pf { "250 2.0.0 Ok" } else { "250 OK" }.into(),
            Say::Bye { host } => {
                if pf {
                    "221 2.0.0 Bye".into()
                } else {
                    format!("221 {host} closing connection")
                }
            }
            Say::Unknown => if pf {
                "502 5.5.2 Error: command not recognized"
            } else {
                "500 unrecognized command"
            }
            .into(),
            Say::Empty => if pf { "500 5.5.2 Error: bad syntax" } else { "500 unrecognized command" }.into(),
            Say::HeloSyntax { ehlo } => match (pf, ehlo) {
                (true, true) => "501 Syntax: EHLO hostname".into(),
                (true, false) => "501 Syntax: HELO hostname".into(),
                (false, true) => "501 Syntactically invalid EHLO argument(s)".into(),
                (false, false) => "501 Syntactically invalid HELO argument(s)".into(),
            },
            Say::MailSyntax => if pf {
                "501 5.5.4 Syntax: MAIL FROM:<address>"
            } else {
                "501 MAIL must have an address operand"
            }
            .into(),
            Say::RcptSyntax => if pf {
                "501 5.5.4 Syntax: RCPT TO:<address>"
            } else {
                "501 RCPT must have an address operand"
            }
            .into(),
            Say::NestedMail => if pf { "503 5.5.1 Error: nested MAIL command" } else { "503 sender already given" }.into(),
            Say::NeedMail => if pf { "503 5.5.1 Error: need MAIL command" } else { "503 sender not yet given" }.into(),
            Say::NeedRcpt => if pf {
                "503 5.5.1 Error: need RCPT command"
            } else {
                "503 valid RCPT command must precede DATA"
            }
            .into(),
            Say::TooBig => if pf {
                "552 5.3.4 Message size exceeds fixed limit"
            } else {
                "552 Message size exceeds maximum permitted"
            }
            .into(),
            Say::TooManyRcpts => if pf { "452 4.5.3 Error: too many recipients" } else { "452 too many recipients" }.into(),
            Say::AuthNeedsEhlo => if pf {
                "503 5.5.1 Error: send HELO/EHLO first"
            } else {
                "503 AUTH command used when not advertised"
            }
            .into(),
            Say::AuthInTransaction => if pf {
                "503 5.5.1 Error: MAIL transaction in progress"
            } else {
                "503 AUTH command used when not advertised"
            }
            .into(),
            Say::AuthSyntax => if pf { "501 5.5.4 Syntax: AUTH mechanism" } else { "501 Syntax error in parameters or arguments" }.into(),
            Say::AuthBadMech { mech } => {
                if pf {
                    "535 5.7.8 Error: authentication failed: Invalid authentication mechanism".into()
                } else {
                    format!("504 {mech} authentication mechanism not supported")
                }
            }
            Say::AuthAborted => if pf { "501 5.7.0 Authentication aborted" } else { "501 Authentication cancelled" }.into(),
            Say::AuthFailed { reason } => {
                if pf {
                    format!("535 5.7.8 Error: authentication failed: {reason}")
                } else {
                    "535 Incorrect authentication data".into()
                }
            }
            Say::AuthBadBase64 { initial } => match (pf, initial) {
                (true, true) => "535 5.7.8 Error: authentication failed: Invalid base64 data in initial response".into(),
                (true, false) => "535 5.7.8 Error: authentication failed: Invalid base64 data in continued response".into(),
                (false, _) => "501 Invalid base64 data".into(),
            },
            Say::TlsGo => if pf { "220 2.0.0 Ready to start TLS" } else { "220 TLS go ahead" }.into(),
            Say::TlsUnavailable => if pf {
                "502 5.5.1 Error: command not implemented"
            } else {
                "503 STARTTLS command used when not advertised"
            }
            .into(),
            Say::TlsAlready => if pf { "554 5.5.1 Error: TLS already active" } else { "554 Already in TLS" }.into(),
            Say::Vrfy { arg } => {
                if pf {
                    format!("252 2.0.0 {arg}")
                } else {
                    "252 Administrative prohibition".into()
                }
            }
            Say::Help => {
                if pf {
                    "502 5.5.2 Error: command not recognized".into()
                } else {
                    "214-Commands supported:\r\n214 AUTH STARTTLS HELO EHLO MAIL RCPT DATA BDAT NOOP QUIT RSET HELP".into()
                }
            }
            Say::LineTooLong => if pf { "500 5.5.2 Error: line too long" } else { "500 Command line too long" }.into(),
            Say::TooManyErrors { host } => {
                if pf {
                    format!("421 4.7.0 {host} Error: too many errors")
                } else {
                    "500 Too many unrecognized commands".into()
                }
            }
            Say::Forbidden => if pf {
                "221 2.7.0 Error: I can break rules, too. Goodbye."
            } else {
                "500 unrecognized command"
            }
            .into(),
        };
        s + "\r\n"
    }
}
