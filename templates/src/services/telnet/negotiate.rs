//! Option negotiation exactly as Debian's `inetutils-telnetd` 2.4 performs
//! it, reconstructed byte for byte from captures of the real daemon against
//! the Linux `telnet` client, a client refusing everything, and a
//! Mirai-style client (see the tests). The first bytes on the wire are
//! `IAC WILL AUTHENTICATION, IAC WILL ENCRYPT, IAC DO TTYPE, IAC DO TSPEED,
//! IAC DO XDISPLOC, IAC DO NEW-ENVIRON, IAC DO OLD-ENVIRON` — never Cowrie's
//! lone `IAC DO NAWS` that nmap labels as a honeypot.
//!
//! Like the real daemon, nothing more happens until the client has answered
//! every option: a client that never negotiates never sees a login prompt.
//! Known gap: the `SLC` reply to a client's linemode proposal is the one the
//! real daemon sent the Linux client (its pty defaults), whatever the client
//! proposed.

use super::iac::{DO, DONT, IAC, SB, SE, WILL, WONT};

/// `TRANSMIT-BINARY`.
pub const BINARY: u8 = 0;
/// `ECHO`.
pub const ECHO: u8 = 1;
/// `SUPPRESS-GO-AHEAD`.
pub const SGA: u8 = 3;
/// `STATUS`.
pub const STATUS: u8 = 5;
/// `TIMING-MARK`.
pub const TM: u8 = 6;
/// `TERMINAL-TYPE`.
pub const TTYPE: u8 = 24;
/// `NAWS`.
pub const NAWS: u8 = 31;
/// `TERMINAL-SPEED`.
pub const TSPEED: u8 = 32;
/// `TOGGLE-FLOW-CONTROL`.
pub const LFLOW: u8 = 33;
/// `LINEMODE`.
pub const LINEMODE: u8 = 34;
/// `X-DISPLAY-LOCATION`.
pub const XDISPLOC: u8 = 35;
/// `OLD-ENVIRON`.
pub const OLD_ENVIRON: u8 = 36;
/// `AUTHENTICATION`.
pub const AUTHENTICATION: u8 = 37;
/// `ENCRYPT`.
pub const ENCRYPT: u8 = 38;
/// `NEW-ENVIRON`.
pub const NEW_ENVIRON: u8 = 39;

/// The daemon's first bytes.
pub const FIRST: &[u8] = &[
    IAC,
    WILL,
    AUTHENTICATION,
    IAC,
    WILL,
    ENCRYPT,
    IAC,
    DO,
    TTYPE,
    IAC,
    DO,
    TSPEED,
    IAC,
    DO,
    XDISPLOC,
    IAC,
    DO,
    NEW_ENVIRON,
    IAC,
    DO,
    OLD_ENVIRON,
];

/// Sent once the terminal-type round is over.
pub const SECOND: &[u8] = &[
    IAC, WILL, SGA, IAC, DO, ECHO, IAC, DO, LINEMODE, IAC, DO, NAWS, IAC, WILL, STATUS, IAC, DO,
    LFLOW,
];

/// When the client refuses linemode: echo on, probe for kludge linemode, binary.
const NO_LINEMODE: &[u8] = &[IAC, WILL, ECHO, IAC, DO, TM, IAC, DO, BINARY];

/// `SB LINEMODE MODE EDIT|TRAPSIG` (with the NUL the real daemon appends).
const LINEMODE_MODE: &[u8] = &[IAC, SB, LINEMODE, 1, 3, IAC, SE, 0];

/// `SB LFLOW RESTART-XON` (with the trailing NUL).
const LFLOW_RESTART: &[u8] = &[IAC, SB, LFLOW, 3, IAC, SE, 0];

/// Echo on, binary, linemode off after the mode exchange.
const AFTER_MODE: &[u8] = &[IAC, WILL, ECHO, IAC, DO, BINARY, IAC, DONT, LINEMODE];

/// The `SLC` reply the daemon sends the Linux client.
const SLC_REPLY: &[u8] = &[
    IAC, SB, LINEMODE, 3, 3, 0xe2, 3, 4, 0x82, 0x0f, 7, 0xe2, 0x1c, 8, 0x82, 4, 9, 0xc2, 0x1a, 10,
    0x82, 0x7f, 11, 0x82, 0x15, 12, 0x82, 0x17, 13, 0x82, 0x12, 14, 0x82, 0x16, 15, 0x82, 0x11, 16,
    0x82, 0x13, IAC, SE,
];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// Waiting for answers to [`FIRST`].
    First,
    /// Waiting for the `SB … IS` replies requested.
    Subs,
    /// Waiting for answers to [`SECOND`].
    Second,
    /// Waiting for the linemode `MODE` acknowledgement.
    Mode,
    /// Done.
    Done,
}

/// Options the daemon lets the client enable (`IAC WILL x` → `IAC DO x`).
fn accepts_will(opt: u8) -> bool {
    matches!(
        opt,
        BINARY
            | SGA
            | TTYPE
            | NAWS
            | TSPEED
            | LFLOW
            | XDISPLOC
            | NEW_ENVIRON
            | OLD_ENVIRON
            | LINEMODE
    )
}

/// Options the daemon agrees to enable itself (`IAC DO x` → `IAC WILL x`).
fn accepts_do(opt: u8) -> bool {
    matches!(opt, BINARY | SGA | ECHO | STATUS)
}

/// The negotiation state of one connection (RFC 1143 in spirit: a request
/// we sent is answered silently; an unsolicited one is accepted or refused
/// once per change of state, so two peers cannot loop).
#[derive(Debug)]
pub struct Negotiation {
    phase: Phase,
    sent_do: Vec<u8>,
    sent_will: Vec<u8>,
    sent_dont: Vec<u8>,
    his: Vec<u8>,
    mine: Vec<u8>,
    subs_wanted: Vec<u8>,
    got_slc: bool,
    /// Terminal type the client reported (`XTERM`).
    pub term: Option<String>,
    /// Window size from NAWS.
    pub size: Option<(u32, u32)>,
    /// Environment the client sent (`USER`, `DISPLAY`, …).
    pub env: Vec<(String, String)>,
}

impl Default for Negotiation {
    fn default() -> Self {
        Negotiation {
            phase: Phase::First,
            sent_do: vec![TTYPE, TSPEED, XDISPLOC, NEW_ENVIRON, OLD_ENVIRON],
            sent_will: vec![AUTHENTICATION, ENCRYPT],
            sent_dont: Vec::new(),
            his: Vec::new(),
            mine: Vec::new(),
            subs_wanted: Vec::new(),
            got_slc: false,
            term: None,
            size: None,
            env: Vec::new(),
        }
    }
}

/// Parses NEW-ENVIRON `IS` payloads: `VAR name VALUE value …`.
fn environ(payload: &[u8]) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut cur: Option<(Vec<u8>, Vec<u8>)> = None;
    let mut in_value = false;
    for &b in payload.iter().skip(1) {
        match b {
            0 | 3 => {
                if let Some((k, v)) = cur.take() {
                    out.push((
                        String::from_utf8_lossy(&k).into_owned(),
                        String::from_utf8_lossy(&v).into_owned(),
                    ));
                }
                cur = Some((Vec::new(), Vec::new()));
                in_value = false;
            }
            1 => in_value = true,
            _ => {
                if let Some((k, v)) = cur.as_mut() {
                    if in_value { v.push(b) } else { k.push(b) }
                }
            }
        }
    }
    if let Some((k, v)) = cur {
        out.push((
            String::from_utf8_lossy(&k).into_owned(),
            String::from_utf8_lossy(&v).into_owned(),
        ));
    }
    out.retain(|(k, _)| !k.is_empty());
    out.truncate(32);
    out
}

fn take(set: &mut Vec<u8>, opt: u8) -> bool {
    match set.iter().position(|&o| o == opt) {
        Some(i) => {
            set.remove(i);
            true
        }
        None => false,
    }
}

impl Negotiation {
    /// Whether the login prompt may be shown.
    pub fn done(&self) -> bool {
        self.phase == Phase::Done
    }

    /// Whether the client agreed to `opt` (it sent `WILL`).
    pub fn his(&self, opt: u8) -> bool {
        self.his.contains(&opt)
    }

    fn send(&mut self, out: &mut Vec<u8>, bytes: &[u8]) {
        // Record what the bytes ask, so the answers are consumed silently.
        let mut i = 0;
        while i + 2 < bytes.len() {
            if bytes[i] == IAC {
                let opt = bytes[i + 2];
                match bytes[i + 1] {
                    DO => self.sent_do.push(opt),
                    WILL => self.sent_will.push(opt),
                    DONT => {
                        self.his.retain(|&o| o != opt);
                        self.sent_dont.push(opt);
                    }
                    _ => {
                        i += 1;
                        continue;
                    }
                }
                i += 3;
                continue;
            }
            i += 1;
        }
        out.extend_from_slice(bytes);
    }

    fn advance(&mut self, out: &mut Vec<u8>) {
        loop {
            let quiet = self.sent_do.is_empty() && self.sent_will.is_empty();
            match self.phase {
                Phase::First if quiet => {
                    for opt in [TSPEED, XDISPLOC, NEW_ENVIRON, TTYPE] {
                        if self.his.contains(&opt) {
                            out.extend_from_slice(&[IAC, SB, opt, 1, IAC, SE]);
                            self.subs_wanted.push(opt);
                        }
                    }
                    self.phase = Phase::Subs;
                }
                Phase::Subs if self.subs_wanted.is_empty() => {
                    self.send(out, SECOND);
                    self.phase = Phase::Second;
                }
                Phase::Second if quiet => {
                    if self.his.contains(&LINEMODE) {
                        out.extend_from_slice(LINEMODE_MODE);
                        self.phase = Phase::Mode;
                    } else {
                        self.send(out, NO_LINEMODE);
                        self.phase = Phase::Done;
                    }
                }
                _ => return,
            }
        }
    }

    /// The client answered or asked `IAC verb opt`; returns bytes to send.
    pub fn negotiate(&mut self, verb: u8, opt: u8) -> Vec<u8> {
        let mut out = Vec::new();
        match verb {
            WILL => {
                if take(&mut self.sent_do, opt) {
                    if !self.his.contains(&opt) {
                        self.his.push(opt);
                    }
                } else if !self.his.contains(&opt) {
                    if accepts_will(opt) {
                        self.his.push(opt);
                        out.extend_from_slice(&[IAC, DO, opt]);
                    } else {
                        out.extend_from_slice(&[IAC, DONT, opt]);
                    }
                }
            }
            WONT if !take(&mut self.sent_do, opt)
                && !take(&mut self.sent_dont, opt)
                && take(&mut self.his, opt) =>
            {
                out.extend_from_slice(&[IAC, DONT, opt]);
            }
            DO => {
                if take(&mut self.sent_will, opt) {
                    if !self.mine.contains(&opt) {
                        self.mine.push(opt);
                    }
                } else if !self.mine.contains(&opt) {
                    if accepts_do(opt) {
                        self.mine.push(opt);
                        out.extend_from_slice(&[IAC, WILL, opt]);
                    } else if opt == TM {
                        out.extend_from_slice(&[IAC, WILL, TM]);
                    } else {
                        out.extend_from_slice(&[IAC, WONT, opt]);
                    }
                }
            }
            DONT if !take(&mut self.sent_will, opt) && take(&mut self.mine, opt) => {
                out.extend_from_slice(&[IAC, WONT, opt]);
            }
            _ => {}
        }
        self.advance(&mut out);
        out
    }

    /// The client sent `IAC SB opt payload IAC SE`; returns bytes to send.
    pub fn subnegotiation(&mut self, opt: u8, payload: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        match opt {
            NAWS if payload.len() >= 4 => {
                let w = u32::from(u16::from_be_bytes([payload[0], payload[1]]));
                let h = u32::from(u16::from_be_bytes([payload[2], payload[3]]));
                self.size = Some((w, h));
            }
            TTYPE if payload.first() == Some(&0) => {
                self.term = Some(
                    String::from_utf8_lossy(&payload[1..])
                        .chars()
                        .filter(|c| !c.is_control())
                        .take(40)
                        .collect(),
                );
            }
            NEW_ENVIRON | OLD_ENVIRON if payload.first() == Some(&0) => self.env = environ(payload),
            LINEMODE => match payload.first() {
                Some(3) => self.got_slc = true,
                Some(1) if self.phase == Phase::Mode => {
                    if self.his.contains(&LFLOW) {
                        out.extend_from_slice(LFLOW_RESTART);
                    }
                    self.send(&mut out, AFTER_MODE);
                    if self.got_slc {
                        out.extend_from_slice(SLC_REPLY);
                    }
                    self.phase = Phase::Done;
                }
                _ => {}
            },
            _ => {}
        }
        if self.phase == Phase::Subs && payload.first() == Some(&0) {
            self.subs_wanted.retain(|&o| o != opt);
        }
        self.advance(&mut out);
        out
    }
}
