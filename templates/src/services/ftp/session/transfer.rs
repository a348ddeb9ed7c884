//! Transfers over the data connection: opening it, the 150 / 226 replies
//! around it, and what a finished download or upload leaves behind.

use std::net::{IpAddr, SocketAddr};

use super::super::data::{DataHandle, DataHow, DataRequest, DataResult, Source};
use super::super::flavor::Reply;
use super::super::fs::{Content, Entry, resolve};
use super::super::{FILE_CAPTURED, FILE_DOWNLOAD};
use super::{FtpSession, Transfer, Wait, v4};
use crate::session::event_types::PROTOCOL_ERROR;
use crate::session::{Action, Draft};

impl FtpSession {
    pub(super) fn begin(&mut self, t: Transfer, out: &mut Vec<Action>) {
        match self.data.take() {
            None => out.push(self.say(Reply::NoDataConnection)),
            Some(how) => {
                self.start_side(DataRequest::Open(how, self.peer.ip()));
                self.wait = Wait::Open(t);
            }
        }
    }

    pub(super) fn retr(&mut self, arg: &str, out: &mut Vec<Action>) {
        let path = resolve(&self.cwd, arg);
        let Some(e) = self.lookup(&path).filter(|e| !e.dir) else {
            out.push(self.say(Reply::NoSuchFile { arg }));
            return;
        };
        let offset = std::mem::take(&mut self.rest).min(e.size);
        let source = match &e.content {
            Content::Text(t) => Source::Bytes(
                t.as_bytes()[usize::try_from(offset).unwrap_or(0).min(t.len())..].to_vec(),
            ),
            c => Source::Generated {
                content: c.clone(),
                len: e.size,
                offset,
            },
        };
        self.begin(
            Transfer::Retr {
                path,
                arg: arg.to_owned(),
                source,
                size: e.size,
            },
            out,
        );
    }

    pub(super) fn stor(&mut self, arg: &str, out: &mut Vec<Action>) {
        if arg.is_empty() {
            out.push(Self::raw("553 Could not create file.\r\n"));
            return;
        }
        let path = resolve(&self.cwd, arg);
        self.rest = 0;
        self.begin(Transfer::Stor { path }, out);
    }

    pub(super) fn data_result(&mut self, r: DataResult, out: &mut Vec<Action>) {
        match (std::mem::replace(&mut self.wait, Wait::Idle), r) {
            (Wait::Listen { extended }, DataResult::Listening(port, handle)) => {
                self.data = Some(DataHow::Passive(handle));
                if extended {
                    out.push(Self::raw(format!(
                        "229 Entering Extended Passive Mode (|||{port}|)\r\n"
                    )));
                } else {
                    let ip = v4(self.local.ip()).unwrap_or(std::net::Ipv4Addr::UNSPECIFIED);
                    let o = ip.octets();
                    out.push(Self::raw(format!(
                        "227 Entering Passive Mode ({},{},{},{},{},{}).\r\n",
                        o[0],
                        o[1],
                        o[2],
                        o[3],
                        port >> 8,
                        port & 0xff
                    )));
                }
            }
            (Wait::Listen { .. }, _) => out.push(Self::raw("500 OOPS: vsf_sysutil_bind\r\n")),
            (Wait::Open(t), DataResult::Opened(conn)) => self.opened(t, conn, out),
            (Wait::Open(_), _) => out.push(self.say(Reply::DataFailed)),
            (Wait::Run(Transfer::List { .. }), DataResult::Sent(_)) => {
                out.push(self.say(Reply::ListDone))
            }
            (Wait::Run(Transfer::Retr { path, size, .. }), DataResult::Sent(n)) => {
                out.push(Action::Emit(
                    Draft::new(FILE_DOWNLOAD)
                        .field("path", path)
                        .field("size", size.to_string())
                        .field("bytes_sent", n.to_string()),
                ));
                out.push(self.say(Reply::TransferDone));
            }
            (Wait::Run(Transfer::Stor { path }), DataResult::Stored(s)) => {
                let stored_as = s
                    .path
                    .file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_default();
                out.push(Action::Emit(
                    Draft::new(FILE_CAPTURED)
                        .field("path", path.as_str())
                        .field("sha256", s.sha256.as_str())
                        .field("size", s.size.to_string())
                        .field("received", s.received.to_string())
                        .field("truncated", s.truncated.to_string())
                        .field("stored_as", stored_as),
                ));
                let now = (self.shared.clock)();
                self.uploads.retain(|e| e.path != path);
                self.uploads.push(Entry {
                    path,
                    dir: false,
                    size: s.received,
                    mtime: now,
                    owner: "ftp",
                    content: Content::Text(String::new()),
                });
                out.push(self.say(Reply::TransferDone));
            }
            (Wait::Run(Transfer::Stor { path }), DataResult::StoreFailed(n)) => {
                out.push(Action::Emit(
                    Draft::new(PROTOCOL_ERROR)
                        .field("error", "upload failed")
                        .field("path", path)
                        .field("received", n.to_string()),
                ));
                out.push(self.say(Reply::TransferFailed));
            }
            (Wait::Run(_), _) => out.push(self.say(Reply::TransferFailed)),
            (Wait::Idle, _) => {}
        }
    }

    pub(super) fn opened(&mut self, t: Transfer, conn: DataHandle, out: &mut Vec<Action>) {
        match t {
            Transfer::List { listing } => {
                out.push(self.say(Reply::ListStart));
                self.start_side(DataRequest::Send(conn, Source::Bytes(listing)));
                self.wait = Wait::Run(Transfer::List {
                    listing: Vec::new(),
                });
            }
            Transfer::Retr {
                path,
                arg,
                source,
                size,
            } => {
                out.push(self.say(Reply::RetrStart {
                    name: &arg,
                    size,
                    binary: self.binary,
                }));
                self.start_side(DataRequest::Send(conn, source.clone()));
                self.wait = Wait::Run(Transfer::Retr {
                    path,
                    arg,
                    source,
                    size,
                });
            }
            Transfer::Stor { path } => {
                let name = path.rsplit('/').next().unwrap_or("").to_owned();
                out.push(self.say(Reply::StorStart { name: &name }));
                self.start_side(DataRequest::Receive(conn));
                self.wait = Wait::Run(Transfer::Stor { path });
            }
        }
    }
}

pub(super) fn parse_port(arg: &str) -> Option<SocketAddr> {
    let n: Vec<u8> = arg
        .split(',')
        .map(|p| p.trim().parse::<u8>())
        .collect::<Result<_, _>>()
        .ok()?;
    if n.len() != 6 {
        return None;
    }
    let ip = std::net::Ipv4Addr::new(n[0], n[1], n[2], n[3]);
    Some(SocketAddr::new(
        IpAddr::V4(ip),
        u16::from(n[4]) << 8 | u16::from(n[5]),
    ))
}

pub(super) fn parse_eprt(arg: &str) -> Option<SocketAddr> {
    let d = arg.chars().next()?;
    let parts: Vec<&str> = arg.split(d).collect();
    // |proto|addr|port|
    if parts.len() != 5 {
        return None;
    }
    let ip: IpAddr = parts[2].parse().ok()?;
    let port: u16 = parts[3].parse().ok()?;
    match (parts[1], ip) {
        ("1", IpAddr::V4(_)) | ("2", IpAddr::V6(_)) => Some(SocketAddr::new(ip, port)),
        _ => None,
    }
}
