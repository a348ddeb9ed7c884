//! The words of the claimed FTP daemon: vsftpd 3.x and ProFTPD 1.3.x reply
//! differently to nearly every command, and scanners read exactly these lines.

use std::net::IpAddr;

/// The daemon a decky claims.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Flavor {
    /// vsftpd (Debian's default FTP server).
    Vsftpd {
        /// `3.0.3`.
        version: String,
    },
    /// ProFTPD as Debian packages it (`ServerName "Debian"`).
    Proftpd {
        /// `1.3.8`.
        version: String,
    },
}

/// Replies that differ between the daemons.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reply<'a> {
    /// USER accepted, password needed.
    NeedPassword { user: &'a str, anonymous: bool },
    /// Login accepted.
    LoggedIn { user: &'a str, anonymous: bool },
    /// Login refused.
    LoginIncorrect,
    /// A command before login.
    LoginFirst,
    /// PASS before USER.
    UserFirst,
    /// PWD.
    Pwd { dir: &'a str },
    /// CWD / CDUP done.
    CwdOk { cdup: bool },
    /// CWD to a missing directory.
    CwdFail { arg: &'a str },
    /// TYPE set.
    Type { binary: bool },
    /// TYPE with an unknown argument.
    TypeBad,
    /// PORT / EPRT accepted.
    PortOk { extended: bool },
    /// PORT / EPRT refused.
    PortBad { extended: bool },
    /// A transfer without PORT or PASV first.
    NoDataConnection,
    /// The data connection could not be made.
    DataFailed,
    /// 150 before a listing.
    ListStart,
    /// 226 after a listing.
    ListDone,
    /// 150 before a download.
    RetrStart {
        name: &'a str,
        size: u64,
        binary: bool,
    },
    /// 150 before an upload.
    StorStart { name: &'a str },
    /// 226 after a file transfer.
    TransferDone,
    /// The transfer broke.
    TransferFailed,
    /// A missing file.
    NoSuchFile { arg: &'a str },
    /// A write the account may not make.
    PermissionDenied { arg: &'a str },
    /// NOOP.
    Noop,
    /// An unknown command.
    Unknown { cmd: &'a str },
    /// REST.
    Rest { offset: u64 },
    /// ABOR with nothing running.
    Abor,
    /// USER after login.
    AlreadyUser { anonymous: bool },
    /// OPTS UTF8 ON.
    OptsUtf8,
    /// AUTH TLS / AUTH SSL (no TLS configured).
    Auth { cmd: &'a str, logged_in: bool },
    /// MKD done.
    Mkd { path: &'a str },
    /// A line longer than the daemon reads.
    LineTooLong,
}

impl Flavor {
    /// Builds the flavour named by `product` at `version`.
    pub fn new(product: &str, version: Option<&str>) -> Option<Self> {
        let ok = |v: &str| {
            !v.is_empty()
                && v.len() <= 20
                && v.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'.')
                && v.as_bytes()[0].is_ascii_digit()
        };
        match product {
            "vsftpd" => {
                let version = version.unwrap_or("3.0.3").to_owned();
                ok(&version).then_some(Flavor::Vsftpd { version })
            }
            "proftpd" => {
                let version = version.unwrap_or("1.3.8").to_owned();
                ok(&version).then_some(Flavor::Proftpd { version })
            }
            _ => None,
        }
    }

    /// The product slug.
    pub fn product(&self) -> &'static str {
        match self {
            Flavor::Vsftpd { .. } => "vsftpd",
            Flavor::Proftpd { .. } => "proftpd",
        }
    }

    /// The greeting for a connection to `local`.
    pub fn banner(&self, local: IpAddr) -> String {
        match self {
            Flavor::Vsftpd { version } => format!("220 (vsFTPd {version})\r\n"),
            Flavor::Proftpd { version } => {
                // ProFTPD listens dual-stack on Debian and prints IPv4 peers mapped.
                let shown = match local {
                    IpAddr::V4(v4) => format!("::ffff:{v4}"),
                    IpAddr::V6(v6) => v6.to_string(),
                };
                format!("220 ProFTPD {version} Server (Debian) [{shown}]\r\n")
            }
        }
    }

    /// Commands answered before login (everything else: [`Reply::LoginFirst`]).
    pub fn allowed_before_login(&self, cmd: &str) -> bool {
        match self {
            Flavor::Vsftpd { .. } => matches!(cmd, "USER" | "PASS" | "QUIT" | "FEAT" | "OPTS"),
            Flavor::Proftpd { .. } => {
                matches!(
                    cmd,
                    "USER"
                        | "PASS"
                        | "QUIT"
                        | "FEAT"
                        | "OPTS"
                        | "HELP"
                        | "SYST"
                        | "NOOP"
                        | "AUTH"
                        | "LANG"
                )
            }
        }
    }

    /// FEAT.
    pub fn feat(&self) -> &'static str {
        match self {
            Flavor::Vsftpd { .. } => {
                "211-Features:\r\n EPRT\r\n EPSV\r\n MDTM\r\n PASV\r\n REST STREAM\r\n SIZE\r\n TVFS\r\n211 End\r\n"
            }
            Flavor::Proftpd { .. } => {
                "211-Features:\r\n LANG en-US*\r\n MDTM\r\n MFMT\r\n TVFS\r\n UTF8\r\n MFF modify;UNIX.group;UNIX.mode;\r\n MLST modify*;perm*;size*;type*;unique*;UNIX.group*;UNIX.groupname*;UNIX.mode*;UNIX.owner*;UNIX.ownername*;\r\n REST STREAM\r\n SIZE\r\n211 End\r\n"
            }
        }
    }

    /// HELP.
    pub fn help(&self) -> &'static str {
        match self {
            Flavor::Vsftpd { .. } => {
                "214-The following commands are recognized.\r\n ABOR ACCT ALLO APPE CDUP CWD  DELE EPRT EPSV FEAT HELP LIST MDTM MKD\r\n MODE NLST NOOP OPTS PASS PASV PORT PWD  QUIT REIN REST RETR RMD  RNFR\r\n RNTO SITE SIZE SMNT STAT STOR STOU STRU SYST TYPE USER XCUP XCWD XMKD\r\n XPWD XRMD\r\n214 Help OK.\r\n"
            }
            Flavor::Proftpd { .. } => {
                "214-The following commands are recognized (* =>'s unimplemented):\r\n CWD     XCWD    CDUP    XCUP    SMNT*   QUIT    PORT    PASV    \r\n EPRT    EPSV    ALLO*   RNFR    RNTO    DELE    MDTM    RMD     \r\n XRMD    MKD     XMKD    PWD     XPWD    SIZE    SYST    HELP    \r\n NOOP    FEAT    OPTS    HOST    CLNT    AUTH*   CCC*    CONF*   \r\n ENC*    MIC*    PBSZ*   PROT*   TYPE    STRU    MODE    RETR    \r\n STOR    STOU    APPE    REST    ABOR    RANG    USER    PASS    \r\n ACCT*   REIN*   LIST    NLST    STAT    SITE    MLSD    MLST    \r\n214 Direct comments to root@localhost\r\n"
            }
        }
    }

    /// The text of `reply` (one line, CRLF included).
    pub fn say(&self, reply: Reply<'_>) -> String {
        let vs = matches!(self, Flavor::Vsftpd { .. });
        let s = match reply {
            Reply::NeedPassword {
                anonymous: true, ..
            } if !vs => "331 Anonymous login ok, send your complete email address as your password"
                .to_owned(),
            Reply::NeedPassword { user, .. } => {
                if vs {
                    "331 Please specify the password.".to_owned()
                } else {
                    format!("331 Password required for {user}")
                }
            }
            Reply::LoggedIn { user, anonymous } => match (vs, anonymous) {
                (true, _) => "230 Login successful.".to_owned(),
                (false, true) => "230 Anonymous access granted, restrictions apply".to_owned(),
                (false, false) => format!("230 User {user} logged in"),
            },
            Reply::LoginIncorrect => "530 Login incorrect.".to_owned(),
            Reply::LoginFirst => {
                if vs {
                    "530 Please login with USER and PASS.".to_owned()
                } else {
                    "530 Please login with USER and PASS".to_owned()
                }
            }
            Reply::UserFirst => {
                if vs {
                    "503 Login with USER first.".to_owned()
                } else {
                    "503 Login with USER first".to_owned()
                }
            }
            Reply::Pwd { dir } => format!("257 \"{dir}\" is the current directory"),
            Reply::CwdOk { cdup } => match (vs, cdup) {
                (true, _) => "250 Directory successfully changed.".to_owned(),
                (false, true) => "250 CDUP command successful".to_owned(),
                (false, false) => "250 CWD command successful".to_owned(),
            },
            Reply::CwdFail { arg } => {
                if vs {
                    "550 Failed to change directory.".to_owned()
                } else {
                    format!("550 {arg}: No such file or directory")
                }
            }
            Reply::Type { binary } => match (vs, binary) {
                (true, true) => "200 Switching to Binary mode.".to_owned(),
                (true, false) => "200 Switching to ASCII mode.".to_owned(),
                (false, true) => "200 Type set to I".to_owned(),
                (false, false) => "200 Type set to A".to_owned(),
            },
            Reply::TypeBad => {
                if vs {
                    "500 Unrecognised TYPE command.".to_owned()
                } else {
                    "504 TYPE not implemented for that parameter".to_owned()
                }
            }
            Reply::PortOk { extended } => match (vs, extended) {
                (true, false) => "200 PORT command successful. Consider using PASV.".to_owned(),
                (true, true) => "200 EPRT command successful. Consider using EPSV.".to_owned(),
                (false, false) => "200 PORT command successful".to_owned(),
                (false, true) => "200 EPRT command successful".to_owned(),
            },
            Reply::PortBad { extended } => match (vs, extended) {
                (true, false) => "500 Illegal PORT command.".to_owned(),
                (true, true) => "500 Bad EPRT command.".to_owned(),
                (false, false) => "500 Illegal PORT command".to_owned(),
                (false, true) => "500 Illegal EPRT command".to_owned(),
            },
            Reply::NoDataConnection => {
                if vs {
                    "425 Use PORT or PASV first.".to_owned()
                } else {
                    "425 Unable to build data connection: Connection refused".to_owned()
                }
            }
            Reply::DataFailed => {
                if vs {
                    "425 Failed to establish connection.".to_owned()
                } else {
                    "425 Unable to build data connection: Connection timed out".to_owned()
                }
            }
            Reply::ListStart => {
                if vs {
                    "150 Here comes the directory listing.".to_owned()
                } else {
                    "150 Opening ASCII mode data connection for file list".to_owned()
                }
            }
            Reply::ListDone => {
                if vs {
                    "226 Directory send OK.".to_owned()
                } else {
                    "226 Transfer complete".to_owned()
                }
            }
            Reply::RetrStart { name, size, binary } => {
                let mode = if binary { "BINARY" } else { "ASCII" };
                if vs {
                    format!("150 Opening {mode} mode data connection for {name} ({size} bytes).")
                } else {
                    format!("150 Opening {mode} mode data connection for {name} ({size} bytes)")
                }
            }
            Reply::StorStart { name } => {
                if vs {
                    "150 Ok to send data.".to_owned()
                } else {
                    format!("150 Opening BINARY mode data connection for {name}")
                }
            }
            Reply::TransferDone => {
                if vs {
                    "226 Transfer complete.".to_owned()
                } else {
                    "226 Transfer complete".to_owned()
                }
            }
            Reply::TransferFailed => {
                if vs {
                    "426 Failure writing network stream.".to_owned()
                } else {
                    "426 Transfer aborted. Data connection closed".to_owned()
                }
            }
            Reply::NoSuchFile { arg } => {
                if vs {
                    "550 Failed to open file.".to_owned()
                } else {
                    format!("550 {arg}: No such file or directory")
                }
            }
            Reply::PermissionDenied { arg } => {
                if vs {
                    "550 Permission denied.".to_owned()
                } else {
                    format!("550 {arg}: Permission denied")
                }
            }
            Reply::Noop => {
                if vs {
                    "200 NOOP ok.".to_owned()
                } else {
                    "200 NOOP command successful".to_owned()
                }
            }
            Reply::Unknown { cmd } => {
                if vs {
                    "500 Unknown command.".to_owned()
                } else {
                    format!("500 {cmd} not understood")
                }
            }
            Reply::Rest { offset } => {
                if vs {
                    format!("350 Restart position accepted ({offset}).")
                } else {
                    format!(
                        "350 Restarting at {offset}. Send STORE or RETRIEVE to initiate transfer"
                    )
                }
            }
            Reply::Abor => {
                if vs {
                    "225 No transfer to ABOR.".to_owned()
                } else {
                    "226 Abort successful".to_owned()
                }
            }
            Reply::AlreadyUser { anonymous } => match (vs, anonymous) {
                (true, true) => "530 Can't change from guest user.".to_owned(),
                (true, false) => "530 Can't change to another user.".to_owned(),
                (false, _) => "501 Reauthentication not supported".to_owned(),
            },
            Reply::OptsUtf8 => {
                if vs {
                    "200 Always in UTF8 mode.".to_owned()
                } else {
                    "200 UTF8 set to on".to_owned()
                }
            }
            Reply::Auth { cmd, logged_in } => {
                if vs {
                    if logged_in {
                        "500 Unknown command.".to_owned()
                    } else {
                        "530 Please login with USER and PASS.".to_owned()
                    }
                } else {
                    format!("500 {cmd} not understood")
                }
            }
            Reply::Mkd { path } => {
                if vs {
                    format!("257 \"{path}\" created")
                } else {
                    format!("257 \"{path}\" - Directory successfully created")
                }
            }
            Reply::LineTooLong => "500 Input line too long.".to_owned(),
        };
        s + "\r\n"
    }

    /// One `LIST` line.
    pub fn list_line(&self, mode: &str, owner: &str, size: u64, date: &str, name: &str) -> String {
        let links = if mode.starts_with('d') { 2 } else { 1 };
        match self {
            Flavor::Vsftpd { .. } => {
                let (uid, gid) = if owner == "root" {
                    ("0", "0")
                } else {
                    ("1000", "1000")
                };
                format!("{mode} {links:>4} {uid:<8} {gid:<8} {size:>8} {date} {name}\r\n")
            }
            Flavor::Proftpd { .. } => {
                format!("{mode} {links:>3} {owner:<8} {owner:<8} {size:>8} {date} {name}\r\n")
            }
        }
    }
}
