//! MAC addresses whose vendor prefix (OUI) fits the persona: a Windows
//! workstation on a Dell or Hyper-V NIC, a Cisco switch on a Cisco OUI, a
//! camera on a camera maker's. An attacker who reads the neighbour table (or
//! an `nmap` MAC-vendor line) sees hardware that matches the banners.

use sha2::{Digest as _, Sha256};

use crate::persona::OsFamily;

/// One NIC vendor and its IEEE OUI.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NicVendor {
    /// Vendor name as registered with the IEEE.
    pub name: &'static str,
    /// The first three bytes of its MAC addresses.
    pub oui: [u8; 3],
}

const fn v(name: &'static str, oui: [u8; 3]) -> NicVendor {
    NicVendor { name, oui }
}

const LINUX: &[NicVendor] = &[
    v("VMware, Inc.", [0x00, 0x50, 0x56]),
    v("Dell Inc.", [0x00, 0x14, 0x22]),
    v("Super Micro Computer, Inc.", [0x00, 0x25, 0x90]),
    v("Hewlett Packard Enterprise", [0x94, 0x18, 0x82]),
];
const WINDOWS: &[NicVendor] = &[
    v("Dell Inc.", [0x00, 0x14, 0x22]),
    v("Hewlett Packard", [0x3c, 0xd9, 0x2b]),
    v(
        "LCFC(HeFei) Electronics Technology (Lenovo)",
        [0x54, 0xe1, 0xad],
    ),
    v("Intel Corporate", [0x3c, 0x97, 0x0e]),
];
const WINDOWS_SERVER: &[NicVendor] = &[
    v("Microsoft Corporation (Hyper-V)", [0x00, 0x15, 0x5d]),
    v("VMware, Inc.", [0x00, 0x50, 0x56]),
    v("Dell Inc.", [0x00, 0x14, 0x22]),
];
const BSD: &[NicVendor] = &[
    v("Super Micro Computer, Inc.", [0x00, 0x25, 0x90]),
    v("Intel Corporate", [0x3c, 0x97, 0x0e]),
];
const EMBEDDED: &[NicVendor] = &[
    v("Hangzhou Hikvision Digital Technology", [0xc0, 0x56, 0xe3]),
    v("Raspberry Pi Foundation", [0xb8, 0x27, 0xeb]),
    v("Synology Incorporated", [0x00, 0x11, 0x32]),
];
const CISCO: &[NicVendor] = &[
    v("Cisco Systems, Inc", [0x00, 0x1b, 0x54]),
    v("Cisco Systems, Inc", [0x00, 0x26, 0x0b]),
];

/// The NIC vendors a persona of `os` may plausibly have.
pub fn nic_vendors(os: OsFamily) -> &'static [NicVendor] {
    match os {
        OsFamily::Linux => LINUX,
        OsFamily::Windows => WINDOWS,
        OsFamily::WindowsServer => WINDOWS_SERVER,
        OsFamily::Bsd => BSD,
        OsFamily::Embedded => EMBEDDED,
        OsFamily::Cisco => CISCO,
    }
}

/// The decky's MAC address: a vendor of its OS family and a NIC-specific part, both
/// derived from `seed` (the decky name, or its explicit seed) so that a redeploy keeps
/// the address and two deckies do not share one.
pub fn mac_address(os: OsFamily, seed: &str) -> ([u8; 6], &'static NicVendor) {
    let digest = Sha256::new()
        .chain_update(b"decnet.mac\0")
        .chain_update(seed.as_bytes())
        .finalize();
    let vendors = nic_vendors(os);
    let vendor = &vendors[usize::from(digest[0]) % vendors.len()];
    let [a, b, c] = vendor.oui;
    ([a, b, c, digest[1], digest[2], digest[3]], vendor)
}

/// `aa:bb:cc:dd:ee:ff`.
pub fn format_mac(mac: &[u8; 6]) -> String {
    mac.iter()
        .map(|b| format!("{b:02x}"))
        .collect::<Vec<_>>()
        .join(":")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mac_is_stable_unicast_and_from_the_family_vendors() {
        for os in [
            OsFamily::Linux,
            OsFamily::Windows,
            OsFamily::WindowsServer,
            OsFamily::Bsd,
            OsFamily::Embedded,
            OsFamily::Cisco,
        ] {
            let (mac, vendor) = mac_address(os, "decky-01");
            assert_eq!(mac_address(os, "decky-01").0, mac, "stable");
            assert_eq!(&mac[..3], &vendor.oui);
            assert!(nic_vendors(os).contains(vendor));
            assert_eq!(mac[0] & 0x03, 0, "globally administered unicast");
        }
        assert_ne!(
            mac_address(OsFamily::Linux, "a").0,
            mac_address(OsFamily::Linux, "b").0
        );
        assert_eq!(
            format_mac(&[0, 0x15, 0x5d, 1, 0xab, 0xff]),
            "00:15:5d:01:ab:ff"
        );
    }
}
