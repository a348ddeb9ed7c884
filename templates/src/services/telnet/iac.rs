//! Telnet stream parsing (RFC 854/855): separates data from IAC commands and
//! subnegotiations, applying the NVT newline rules telnetd applies before
//! the pty sees the bytes (`CR LF` and `CR NUL` become `CR`).
//!
//! SANS-IO and incremental: sequences split across reads are kept, and a
//! subnegotiation is capped at [`MAX_SB`] bytes so a peer cannot make the
//! decky buffer without bound.

/// `IAC`.
pub const IAC: u8 = 255;
/// `DONT`.
pub const DONT: u8 = 254;
/// `DO`.
pub const DO: u8 = 253;
/// `WONT`.
pub const WONT: u8 = 252;
/// `WILL`.
pub const WILL: u8 = 251;
/// `SB`.
pub const SB: u8 = 250;
/// `SE`.
pub const SE: u8 = 240;
/// `IP` (interrupt process).
pub const IP: u8 = 244;
/// `AYT` (are you there).
pub const AYT: u8 = 246;
/// `EC` (erase character).
pub const EC: u8 = 247;
/// `EL` (erase line).
pub const EL: u8 = 248;

/// Longest subnegotiation payload kept.
pub const MAX_SB: usize = 1024;

/// One parsed element.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Item {
    /// Data bytes (after NVT newline handling).
    Data(Vec<u8>),
    /// `IAC WILL/WONT/DO/DONT option`.
    Negotiate(u8, u8),
    /// `IAC SB option … IAC SE`, payload unescaped (capped).
    Sub(u8, Vec<u8>),
    /// Any other two-byte command (`IP`, `AYT`, `NOP`, …).
    Command(u8),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Data,
    Cr,
    Iac,
    Verb(u8),
    SbOpt,
    Sb,
    SbIac,
}

/// Incremental parser.
#[derive(Debug)]
pub struct Parser {
    state: State,
    sb_opt: u8,
    sb: Vec<u8>,
    /// Whether the peer sends binary (no NVT newline translation).
    pub binary: bool,
}

impl Default for Parser {
    fn default() -> Self {
        Parser {
            state: State::Data,
            sb_opt: 0,
            sb: Vec::new(),
            binary: false,
        }
    }
}

impl Parser {
    /// Bytes held in an unfinished sequence (for the slowloris timer).
    pub fn pending(&self) -> usize {
        match self.state {
            State::Data | State::Cr => 0,
            _ => 1 + self.sb.len(),
        }
    }

    /// Parses `input`, returning elements in order.
    pub fn feed(&mut self, input: &[u8]) -> Vec<Item> {
        let mut out = Vec::new();
        let mut data = Vec::new();
        let flush = |data: &mut Vec<u8>, out: &mut Vec<Item>| {
            if !data.is_empty() {
                out.push(Item::Data(std::mem::take(data)));
            }
        };
        for &b in input {
            match self.state {
                State::Data | State::Cr => {
                    let after_cr = self.state == State::Cr;
                    self.state = State::Data;
                    if b == IAC {
                        self.state = State::Iac;
                        continue;
                    }
                    if after_cr && !self.binary && (b == b'\n' || b == 0) {
                        continue;
                    }
                    data.push(b);
                    if b == b'\r' {
                        self.state = State::Cr;
                    }
                }
                State::Iac => match b {
                    IAC => {
                        data.push(IAC);
                        self.state = State::Data;
                    }
                    WILL | WONT | DO | DONT => self.state = State::Verb(b),
                    SB => self.state = State::SbOpt,
                    other => {
                        flush(&mut data, &mut out);
                        out.push(Item::Command(other));
                        self.state = State::Data;
                    }
                },
                State::Verb(v) => {
                    flush(&mut data, &mut out);
                    out.push(Item::Negotiate(v, b));
                    self.state = State::Data;
                }
                State::SbOpt => {
                    self.sb_opt = b;
                    self.sb.clear();
                    self.state = State::Sb;
                }
                State::Sb => {
                    if b == IAC {
                        self.state = State::SbIac;
                    } else if self.sb.len() < MAX_SB {
                        self.sb.push(b);
                    }
                }
                State::SbIac => match b {
                    SE => {
                        flush(&mut data, &mut out);
                        out.push(Item::Sub(self.sb_opt, std::mem::take(&mut self.sb)));
                        self.state = State::Data;
                    }
                    IAC => {
                        if self.sb.len() < MAX_SB {
                            self.sb.push(IAC);
                        }
                        self.state = State::Sb;
                    }
                    // A broken subnegotiation: drop it and read this byte as a command.
                    other => {
                        self.sb.clear();
                        self.state = State::Iac;
                        out.extend(self.feed(&[other]));
                    }
                },
            }
        }
        flush(&mut data, &mut out);
        out
    }
}

/// Doubles `IAC` bytes in outgoing data.
pub fn escape(data: &[u8]) -> Vec<u8> {
    if !data.contains(&IAC) {
        return data.to_vec();
    }
    let mut out = Vec::with_capacity(data.len() + 8);
    for &b in data {
        out.push(b);
        if b == IAC {
            out.push(IAC);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_commands_from_data_across_reads() {
        let mut p = Parser::default();
        let all = b"ab\xff\xfb\x18\xff\xfa\x18\x00XTERM\xff\xf0c\r\nd\r\x00e\xff\xff\xff\xf4";
        let mut items = Vec::new();
        for b in all.iter() {
            items.extend(p.feed(&[*b]));
        }
        let data: Vec<u8> = items
            .iter()
            .filter_map(|i| {
                if let Item::Data(d) = i {
                    Some(d.clone())
                } else {
                    None
                }
            })
            .flatten()
            .collect();
        assert_eq!(data, b"abc\rd\re\xff");
        assert!(items.contains(&Item::Negotiate(WILL, 24)));
        assert!(items.contains(&Item::Sub(24, b"\x00XTERM".to_vec())));
        assert!(items.contains(&Item::Command(IP)));
        assert_eq!(escape(b"a\xffb"), b"a\xff\xffb");
    }

    #[test]
    fn subnegotiation_is_capped() {
        let mut p = Parser::default();
        let mut input = vec![IAC, SB, 31];
        input.extend(vec![7u8; 10_000]);
        input.extend([IAC, SE]);
        let items = p.feed(&input);
        assert_eq!(items, vec![Item::Sub(31, vec![7u8; MAX_SB])]);
        assert_eq!(p.pending(), 0);
    }
}
