//! IPv4 subnets and address allocation for a fleet.

use std::collections::BTreeSet;
use std::fmt;
use std::net::Ipv4Addr;

use serde::Serialize;

/// An IPv4 subnet in CIDR form.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ipv4Net {
    network: Ipv4Addr,
    prefix: u8,
}

impl Ipv4Net {
    /// Parses `a.b.c.d/p`; host bits are cleared (`10.0.0.7/24` → `10.0.0.0/24`).
    pub fn parse(s: &str) -> Result<Self, String> {
        let (ip, prefix) = s
            .trim()
            .split_once('/')
            .ok_or_else(|| format!("{s:?} is not a CIDR subnet like 127.77.0.0/16"))?;
        let ip: Ipv4Addr = ip
            .parse()
            .map_err(|_| format!("{ip:?} is not an IPv4 address"))?;
        let prefix: u8 = prefix
            .parse()
            .ok()
            .filter(|p| *p <= 30)
            .ok_or_else(|| format!("prefix {prefix:?} is not a number in 0..=30"))?;
        Ok(Ipv4Net {
            network: Ipv4Addr::from(u32::from(ip) & Self::mask_of(prefix)),
            prefix,
        })
    }

    fn mask_of(prefix: u8) -> u32 {
        if prefix == 0 {
            0
        } else {
            u32::MAX << (32 - u32::from(prefix))
        }
    }

    /// The network address.
    pub fn network(&self) -> Ipv4Addr {
        self.network
    }

    /// The prefix length.
    pub fn prefix(&self) -> u8 {
        self.prefix
    }

    /// Whether `ip` is a usable host address of the subnet (not network, not broadcast).
    pub fn contains_host(&self, ip: Ipv4Addr) -> bool {
        let v = u32::from(ip);
        let net = u32::from(self.network);
        v & Self::mask_of(self.prefix) == net && v != net && v != self.broadcast()
    }

    fn broadcast(&self) -> u32 {
        u32::from(self.network) | !Self::mask_of(self.prefix)
    }

    /// The default first automatic address: `.10` of the subnet when it is
    /// large enough, else the first host.
    pub fn default_start(&self) -> Ipv4Addr {
        let net = u32::from(self.network);
        if self.prefix <= 27 {
            Ipv4Addr::from(net + 10)
        } else {
            Ipv4Addr::from(net + 1)
        }
    }
}

impl fmt::Display for Ipv4Net {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.network, self.prefix)
    }
}

impl Serialize for Ipv4Net {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// Hands out the free host addresses of a subnet from a start address.
#[derive(Debug)]
pub struct Allocator {
    net: Ipv4Net,
    next: u32,
    taken: BTreeSet<Ipv4Addr>,
}

impl Allocator {
    /// Starts at `start`; `reserved` (gateway, explicit addresses) are skipped.
    pub fn new(
        net: Ipv4Net,
        start: Ipv4Addr,
        reserved: impl IntoIterator<Item = Ipv4Addr>,
    ) -> Self {
        Allocator {
            net,
            next: u32::from(start),
            taken: reserved.into_iter().collect(),
        }
    }

    /// The next free address, or `None` when the subnet is exhausted.
    pub fn next_free(&mut self) -> Option<Ipv4Addr> {
        while self.next < self.net.broadcast() {
            let ip = Ipv4Addr::from(self.next);
            self.next += 1;
            if self.net.contains_host(ip) && self.taken.insert(ip) {
                return Some(ip);
            }
        }
        None
    }

    /// Marks an explicit address as used; false if it already was.
    pub fn take(&mut self, ip: Ipv4Addr) -> bool {
        self.taken.insert(ip)
    }
}
