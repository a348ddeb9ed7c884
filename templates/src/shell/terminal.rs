//! The interactive line editor: what bash's readline does with keystrokes on
//! a pty (echo, backspace, ^C, ^D, ^U, ^W, ^L, arrows, history), producing
//! the same bytes a real bash 5 writes back, bracketed-paste toggles
//! included.

/// Longest line accepted; further keystrokes ring the bell.
pub const MAX_LINE: usize = 16 * 1024;

/// What a keystroke batch produced.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Edit {
    /// Bytes to echo to the terminal.
    pub echo: Vec<u8>,
    /// Lines accepted with Enter, in order, each with the echo that follows it.
    pub events: Vec<KeyEvent>,
}

/// Keystrokes that end the current line.
#[derive(Debug, PartialEq, Eq)]
pub enum KeyEvent {
    /// Enter on this line.
    Line(String),
    /// ^C: the line is discarded.
    Interrupt,
    /// ^D on an empty line.
    Eof,
    /// ^L: clear screen and redraw.
    Clear,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Esc {
    None,
    Start,
    Csi,
    Ss3,
}

/// Line editing state.
#[derive(Debug)]
pub struct LineEditor {
    line: Vec<char>,
    cursor: usize,
    esc: Esc,
    csi: Vec<u8>,
    utf8: Vec<u8>,
    history_pos: Option<usize>,
    stash: Vec<char>,
    /// Set while a key event is waiting for the shell; bytes after it are
    /// kept until the shell has printed its output (type-ahead).
    pending: Vec<u8>,
}

impl Default for LineEditor {
    fn default() -> Self {
        LineEditor {
            line: Vec::new(),
            cursor: 0,
            esc: Esc::None,
            csi: Vec::new(),
            utf8: Vec::new(),
            history_pos: None,
            stash: Vec::new(),
            pending: Vec::new(),
        }
    }
}

fn redraw_tail(out: &mut Vec<u8>, tail: &[char], erase: usize) {
    let s: String = tail.iter().collect();
    out.extend_from_slice(s.as_bytes());
    out.extend(std::iter::repeat_n(b' ', erase));
    out.extend(std::iter::repeat_n(8u8, tail.len() + erase));
}

impl LineEditor {
    /// The current (unfinished) line.
    pub fn current(&self) -> String {
        self.line.iter().collect()
    }

    fn insert(&mut self, c: char, out: &mut Vec<u8>) {
        if self.line.len() >= MAX_LINE {
            out.push(7);
            return;
        }
        self.line.insert(self.cursor, c);
        self.cursor += 1;
        let mut buf = [0u8; 4];
        out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
        if self.cursor < self.line.len() {
            let tail = self.line[self.cursor..].to_vec();
            redraw_tail(out, &tail, 0);
        }
    }

    fn backspace(&mut self, out: &mut Vec<u8>) {
        if self.cursor == 0 {
            out.push(7);
            return;
        }
        self.cursor -= 1;
        self.line.remove(self.cursor);
        out.push(8);
        let tail = self.line[self.cursor..].to_vec();
        redraw_tail(out, &tail, 1);
    }

    fn kill_back(&mut self, to: usize, out: &mut Vec<u8>) {
        let n = self.cursor - to;
        if n == 0 {
            return;
        }
        self.line.drain(to..self.cursor);
        self.cursor = to;
        out.extend(std::iter::repeat_n(8u8, n));
        let tail = self.line[self.cursor..].to_vec();
        redraw_tail(out, &tail, n);
    }

    fn replace(&mut self, new: Vec<char>, out: &mut Vec<u8>) {
        out.extend(std::iter::repeat_n(8u8, self.cursor));
        let old = self.line.len();
        self.line = new;
        self.cursor = self.line.len();
        let s: String = self.line.iter().collect();
        out.extend_from_slice(s.as_bytes());
        if old > self.line.len() {
            let gap = old - self.line.len();
            out.extend(std::iter::repeat_n(b' ', gap));
            out.extend(std::iter::repeat_n(8u8, gap));
        }
    }

    fn take_line(&mut self) -> String {
        self.cursor = 0;
        self.history_pos = None;
        std::mem::take(&mut self.line).into_iter().collect()
    }

    /// Feeds keystrokes; `history` is the shell's history for the arrows.
    /// Processing stops after the first event so the shell can print its
    /// output before the rest (type-ahead) is echoed; call
    /// [`LineEditor::resume`] to continue.
    pub fn feed(&mut self, input: &[u8], history: &[String]) -> Edit {
        self.pending.extend_from_slice(input);
        self.resume(history)
    }

    /// Whether keystrokes are waiting after an event.
    pub fn has_pending(&self) -> bool {
        !self.pending.is_empty()
    }

    /// Continues with held type-ahead.
    pub fn resume(&mut self, history: &[String]) -> Edit {
        let mut edit = Edit::default();
        let input = std::mem::take(&mut self.pending);
        for (i, &b) in input.iter().enumerate() {
            if let Some(ev) = self.key(b, history, &mut edit.echo) {
                edit.events.push(ev);
                self.pending = input[i + 1..].to_vec();
                break;
            }
        }
        edit
    }

    fn key(&mut self, b: u8, history: &[String], out: &mut Vec<u8>) -> Option<KeyEvent> {
        match self.esc {
            Esc::Start => {
                self.esc = match b {
                    b'[' => Esc::Csi,
                    b'O' => Esc::Ss3,
                    _ => Esc::None,
                };
                self.csi.clear();
                return None;
            }
            Esc::Csi | Esc::Ss3 => {
                if (0x40..=0x7e).contains(&b) {
                    let params = std::mem::take(&mut self.csi);
                    self.esc = Esc::None;
                    self.csi_key(b, &params, history, out);
                } else if self.csi.len() < 16 {
                    self.csi.push(b);
                } else {
                    self.esc = Esc::None;
                }
                return None;
            }
            Esc::None => {}
        }
        if !self.utf8.is_empty() || b >= 0x80 {
            self.utf8.push(b);
            match std::str::from_utf8(&self.utf8) {
                Ok(s) => {
                    let c = s.chars().next().unwrap_or('\u{fffd}');
                    self.utf8.clear();
                    self.insert(c, out);
                }
                Err(e) if e.error_len().is_some() || self.utf8.len() >= 4 => {
                    self.utf8.clear();
                }
                Err(_) => {}
            }
            return None;
        }
        match b {
            b'\r' | b'\n' => {
                out.extend_from_slice(b"\r\n");
                return Some(KeyEvent::Line(self.take_line()));
            }
            0x03 => {
                out.extend_from_slice(b"^C");
                self.take_line();
                return Some(KeyEvent::Interrupt);
            }
            0x04 => {
                if self.line.is_empty() {
                    return Some(KeyEvent::Eof);
                }
                if self.cursor < self.line.len() {
                    self.line.remove(self.cursor);
                    let tail = self.line[self.cursor..].to_vec();
                    redraw_tail(out, &tail, 1);
                } else {
                    out.push(7);
                }
            }
            0x7f | 0x08 => self.backspace(out),
            0x15 => self.kill_back(0, out),
            0x17 => {
                let mut to = self.cursor;
                while to > 0 && self.line[to - 1] == ' ' {
                    to -= 1;
                }
                while to > 0 && self.line[to - 1] != ' ' {
                    to -= 1;
                }
                self.kill_back(to, out);
            }
            0x0c => return Some(KeyEvent::Clear),
            0x01 => {
                out.extend(std::iter::repeat_n(8u8, self.cursor));
                self.cursor = 0;
            }
            0x05 => {
                let tail: String = self.line[self.cursor..].iter().collect();
                out.extend_from_slice(tail.as_bytes());
                self.cursor = self.line.len();
            }
            0x1b => self.esc = Esc::Start,
            b'\t' => out.push(7),
            0x20..=0x7e => self.insert(b as char, out),
            _ => {}
        }
        None
    }

    fn csi_key(&mut self, b: u8, params: &[u8], history: &[String], out: &mut Vec<u8>) {
        match b {
            b'A' | b'B' => {
                if history.is_empty() {
                    return;
                }
                let pos = match (self.history_pos, b) {
                    (None, b'A') => {
                        self.stash = self.line.clone();
                        Some(history.len() - 1)
                    }
                    (None, _) => return,
                    (Some(0), b'A') => Some(0),
                    (Some(p), b'A') => Some(p - 1),
                    (Some(p), _) if p + 1 < history.len() => Some(p + 1),
                    (Some(_), _) => None,
                };
                self.history_pos = pos;
                let new = match pos {
                    Some(p) => history[p].chars().collect(),
                    None => std::mem::take(&mut self.stash),
                };
                self.replace(new, out);
            }
            b'C' if self.cursor < self.line.len() => {
                let mut buf = [0u8; 4];
                out.extend_from_slice(self.line[self.cursor].encode_utf8(&mut buf).as_bytes());
                self.cursor += 1;
            }
            b'D' if self.cursor > 0 => {
                self.cursor -= 1;
                out.push(8);
            }
            b'H' => {
                out.extend(std::iter::repeat_n(8u8, self.cursor));
                self.cursor = 0;
            }
            b'F' => {
                let tail: String = self.line[self.cursor..].iter().collect();
                out.extend_from_slice(tail.as_bytes());
                self.cursor = self.line.len();
            }
            b'~' if params == b"3" && self.cursor < self.line.len() => {
                self.line.remove(self.cursor);
                let tail = self.line[self.cursor..].to_vec();
                redraw_tail(out, &tail, 1);
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn echoes_and_edits_like_readline() {
        let mut e = LineEditor::default();
        let r = e.feed(b"ab\x7f\x7fecho hi\r", &[]);
        assert_eq!(r.echo, b"ab\x08 \x08\x08 \x08echo hi\r\n");
        assert_eq!(r.events, vec![KeyEvent::Line("echo hi".into())]);
        let r = e.feed(b"x\x03", &[]);
        assert_eq!(r.echo, b"x^C");
        assert_eq!(r.events, vec![KeyEvent::Interrupt]);
        let r = e.feed(b"\x04", &[]);
        assert_eq!(r.events, vec![KeyEvent::Eof]);
    }

    #[test]
    fn history_arrows_and_type_ahead() {
        let mut e = LineEditor::default();
        let h = vec!["uname -a".to_owned(), "id".to_owned()];
        let r = e.feed(b"\x1b[A\x1b[A\r", &h);
        assert_eq!(r.events, vec![KeyEvent::Line("uname -a".into())]);
        let r = e.feed(b"ls\rpwd\r", &h);
        assert_eq!(r.events, vec![KeyEvent::Line("ls".into())]);
        assert!(e.has_pending());
        let r = e.resume(&h);
        assert_eq!(r.events, vec![KeyEvent::Line("pwd".into())]);
        assert_eq!(r.echo, b"pwd\r\n");
    }

    #[test]
    fn utf8_and_garbage_never_panic() {
        let mut e = LineEditor::default();
        let r = e.feed("é\u{1F600}\r".as_bytes(), &[]);
        assert_eq!(r.events, vec![KeyEvent::Line("é\u{1F600}".into())]);
        let junk: Vec<u8> = (0..=255u8).cycle().take(3000).collect();
        let mut guard = 0;
        let mut r = e.feed(&junk, &[]);
        while e.has_pending() && guard < 10_000 {
            r = e.resume(&[]);
            guard += 1;
        }
        let _ = r;
    }
}
