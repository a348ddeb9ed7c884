//! Per-decky certificates, derived from the seed.
//!
//! Two shapes, picked by the seed when the name has a domain (`host.corp.example`),
//! otherwise the first:
//!
//! * **self-signed**, as `make-ssl-cert` or a hand-run `openssl req -x509`
//!   leaves it: subject = issuer = `CN=<name>`, SAN `DNS:<name>`, ten years of
//!   validity, a 159-bit random serial, `CA:FALSE`;
//! * **internal CA** (Active Directory Certificate Services): a two-certificate
//!   chain, the CA `CN=<DOMAIN>-<HOST>-CA` (five years, `CA:TRUE`, AD CS's
//!   "CA Version" extension) and the leaf `CN=<name>` (two years, the "WebServer"
//!   template extension, `serverAuth`, an LDAP CRL distribution point, AD CS-shaped
//!   serial).
//!
//! Keys are ECDSA P-256 drawn from [`Seed::rng`] and signatures are RFC 6979
//! deterministic, so a decky presents the same certificate, byte for byte,
//! across restarts until its seeded renewal date, when it is "renewed" with a
//! new key like a real one. Known gaps: no RSA keys (deterministic RSA key
//! generation would need another big-integer crate), and the key identifiers
//! are truncated SHA-256 (rcgen) where OpenSSL uses SHA-1.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use p256::ecdsa::SigningKey;
use p256::ecdsa::signature::Signer as _;
use p256::pkcs8::EncodePrivateKey as _;
use rand::Rng as _;
use rand::seq::SliceRandom as _;
use rcgen::{
    BasicConstraints, CertificateParams, CrlDistributionPoint, CustomExtension, DistinguishedName,
    DnType, ExtendedKeyUsagePurpose, IsCa, KeyPair, KeyUsagePurpose, RemoteKeyPair, SanType,
    SerialNumber,
};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use time::OffsetDateTime;

use super::TlsError;
use crate::persona::Seed;

/// A certificate chain (leaf first) and the leaf's private key.
#[derive(Debug)]
pub struct CertifiedKey {
    /// DER certificates, leaf first.
    pub chain: Vec<CertificateDer<'static>>,
    /// The leaf key, PKCS#8 DER.
    pub key: PrivateKeyDer<'static>,
}

impl Clone for CertifiedKey {
    fn clone(&self) -> Self {
        CertifiedKey {
            chain: self.chain.clone(),
            key: self.key.clone_key(),
        }
    }
}

/// An ECDSA P-256 key rcgen signs with: deterministic (RFC 6979) signatures.
struct SeededKey {
    signing: SigningKey,
    public: Vec<u8>,
}

impl RemoteKeyPair for SeededKey {
    fn public_key(&self) -> &[u8] {
        &self.public
    }

    fn sign(&self, msg: &[u8]) -> Result<Vec<u8>, rcgen::Error> {
        let sig: p256::ecdsa::Signature = self.signing.sign(msg);
        Ok(sig.to_der().as_bytes().to_vec())
    }

    fn algorithm(&self) -> &'static rcgen::SignatureAlgorithm {
        &rcgen::PKCS_ECDSA_P256_SHA256
    }
}

/// A P-256 secret key from the seed stream `domain`.
fn seeded_secret(seed: &Seed, domain: &str) -> Result<p256::SecretKey, TlsError> {
    let mut rng = seed.rng(domain);
    // A 32-byte string is a valid scalar except with probability ~2^-32.
    for _ in 0..16 {
        let bytes: [u8; 32] = rng.r#gen();
        if let Ok(k) = p256::SecretKey::from_slice(&bytes) {
            return Ok(k);
        }
    }
    Err(TlsError::Generate("no valid P-256 scalar".into()))
}

fn rcgen_key(secret: &p256::SecretKey) -> Result<KeyPair, TlsError> {
    let public = secret.public_key().to_sec1_bytes().to_vec();
    KeyPair::from_remote(Box::new(SeededKey {
        signing: SigningKey::from(secret),
        public,
    }))
    .map_err(gen_err)
}

fn gen_err(e: impl std::fmt::Display) -> TlsError {
    TlsError::Generate(e.to_string())
}

/// A positive serial of `len` bytes from the seed stream `domain`.
fn serial(seed: &Seed, domain: &str, len: usize) -> Vec<u8> {
    let mut rng = seed.rng(domain);
    let mut s: Vec<u8> = (0..len).map(|_| rng.r#gen()).collect();
    if let Some(first) = s.first_mut() {
        // Positive and without a leading zero octet, like OpenSSL's.
        *first = (*first & 0x7f).max(0x01);
    }
    s
}

/// Reissue windows: `(not_before, index)` of the window holding `now`.
///
/// Windows of `period` start at a seeded phase, so a certificate stays the
/// same for `period` and every decky renews on a different day and second.
fn window(seed: &Seed, domain: &str, now: SystemTime, period: Duration) -> (OffsetDateTime, u64) {
    // 2016-01-01T00:00:00Z: any fixed anchor before every window in use.
    const ANCHOR: u64 = 1_451_606_400;
    let phase = seed.rng(domain).gen_range(0..period.as_secs());
    let now = now
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(ANCHOR + phase, |d| d.as_secs())
        .max(ANCHOR + phase);
    let index = (now - ANCHOR - phase) / period.as_secs();
    let start = ANCHOR + phase + index * period.as_secs();
    let nb =
        OffsetDateTime::from_unix_timestamp(start as i64).unwrap_or(OffsetDateTime::UNIX_EPOCH);
    (nb, index)
}

const DAY: u64 = 86_400;

/// A DNS-ish name that can go into a SAN.
fn san(name: &str) -> Result<SanType, TlsError> {
    Ok(SanType::DnsName(name.try_into().map_err(gen_err)?))
}

/// The certificate a decky called `cn` presents.
pub fn generate(seed: &Seed, cn: &str, now: SystemTime) -> Result<CertifiedKey, TlsError> {
    let labels: Vec<&str> = cn.split('.').collect();
    let internal_ca = labels.len() >= 3 && seed.rng("tls.profile").gen_bool(0.5);
    if internal_ca {
        adcs(seed, cn, &labels, now)
    } else {
        self_signed(seed, cn, now)
    }
}

fn self_signed(seed: &Seed, cn: &str, now: SystemTime) -> Result<CertifiedKey, TlsError> {
    // Reinstalled every few years; each install runs make-ssl-cert once.
    let (nb, index) = window(
        seed,
        "tls.self.window",
        now,
        Duration::from_secs(1095 * DAY),
    );
    let secret = seeded_secret(seed, &format!("tls.self.key.{index}"))?;
    let key = rcgen_key(&secret)?;
    let mut p = CertificateParams::default();
    p.not_before = nb;
    p.not_after = nb + time::Duration::days(3650);
    p.serial_number = Some(SerialNumber::from(serial(
        seed,
        &format!("tls.self.serial.{index}"),
        20,
    )));
    let mut dn = DistinguishedName::new();
    dn.push(DnType::CommonName, cn);
    p.distinguished_name = dn;
    p.subject_alt_names = vec![san(cn)?];
    p.is_ca = IsCa::ExplicitNoCa;
    let cert = p.self_signed(&key).map_err(gen_err)?;
    Ok(CertifiedKey {
        chain: vec![cert.der().clone()],
        key: pkcs8(&secret)?,
    })
}

fn pkcs8(secret: &p256::SecretKey) -> Result<PrivateKeyDer<'static>, TlsError> {
    let doc = secret.to_pkcs8_der().map_err(gen_err)?;
    Ok(PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(
        doc.as_bytes().to_vec(),
    )))
}

/// DER of a BMPString (UTF-16BE), as AD CS writes the template name.
fn bmp_string(s: &str) -> Vec<u8> {
    let units: Vec<u8> = s.encode_utf16().flat_map(u16::to_be_bytes).collect();
    let mut out = vec![0x1e, units.len() as u8];
    out.extend(units);
    out
}

fn adcs(seed: &Seed, cn: &str, labels: &[&str], now: SystemTime) -> Result<CertifiedKey, TlsError> {
    let domain = &labels[1..];
    let netbios = domain[0].to_ascii_uppercase();
    let mut rng = seed.rng("tls.adcs.host");
    let host = format!(
        "{}{:02}",
        ["DC", "CA", "PKI", "ADCS", "SRV-CA"]
            .choose(&mut rng)
            .copied()
            .unwrap_or("DC"),
        rng.gen_range(1..4)
    );
    let ca_name = format!("{netbios}-{host}-CA");

    let (ca_nb, ca_index) = window(
        seed,
        "tls.adcs.ca.window",
        now,
        Duration::from_secs(1826 * DAY),
    );
    let ca_na = ca_nb + time::Duration::days(1826);
    let ca_secret = seeded_secret(seed, &format!("tls.adcs.ca.key.{ca_index}"))?;
    let ca_key = rcgen_key(&ca_secret)?;
    let mut ca = CertificateParams::default();
    ca.not_before = ca_nb;
    ca.not_after = ca_na;
    ca.serial_number = Some(SerialNumber::from(serial(
        seed,
        &format!("tls.adcs.ca.serial.{ca_index}"),
        16,
    )));
    let mut dn = DistinguishedName::new();
    dn.push(DnType::CommonName, ca_name.as_str());
    ca.distinguished_name = dn;
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca.key_usages = vec![
        KeyUsagePurpose::DigitalSignature,
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
    ];
    // szOID_CERTSRV_CA_VERSION = INTEGER 0 (first CA key).
    ca.custom_extensions = vec![CustomExtension::from_oid_content(
        &[1, 3, 6, 1, 4, 1, 311, 21, 1],
        vec![0x02, 0x01, 0x00],
    )];
    let ca_cert = ca.self_signed(&ca_key).map_err(gen_err)?;

    // The Web Server template: two years, renewed yearly, never past the CA.
    let (mut nb, index) = window(
        seed,
        "tls.adcs.leaf.window",
        now,
        Duration::from_secs(365 * DAY),
    );
    if nb < ca_nb {
        nb = ca_nb + time::Duration::hours(1);
    }
    let na = (nb + time::Duration::days(730)).min(ca_na);
    let secret = seeded_secret(seed, &format!("tls.adcs.leaf.key.{index}"))?;
    let key = rcgen_key(&secret)?;
    let mut leaf = CertificateParams::default();
    leaf.not_before = nb;
    leaf.not_after = na;
    // AD CS serials: request-id bytes, random middle, request-id again.
    let mut s = serial(seed, &format!("tls.adcs.leaf.serial.{index}"), 19);
    let req = 0x10 + (index as u8 & 0x3f);
    s[0] = req;
    s[1..4].fill(0);
    s[15..18].fill(0);
    s[18] = req;
    leaf.serial_number = Some(SerialNumber::from(s));
    let mut dn = DistinguishedName::new();
    dn.push(DnType::CommonName, cn);
    leaf.distinguished_name = dn;
    leaf.subject_alt_names = vec![san(cn)?];
    leaf.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    leaf.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    leaf.use_authority_key_identifier_extension = true;
    let dc: Vec<String> = domain.iter().map(|l| format!("DC={l}")).collect();
    leaf.crl_distribution_points = vec![CrlDistributionPoint {
        uris: vec![format!(
            "ldap:///CN={ca_name},CN={host},CN=CDP,CN=Public%20Key%20Services,CN=Services,CN=Configuration,{}?certificateRevocationList?base?objectClass=cRLDistributionPoint",
            dc.join(",")
        )],
    }];
    // szOID_ENROLL_CERTTYPE_EXTENSION: the template name.
    leaf.custom_extensions = vec![CustomExtension::from_oid_content(
        &[1, 3, 6, 1, 4, 1, 311, 20, 2],
        bmp_string("WebServer"),
    )];
    let cert = leaf.signed_by(&key, &ca_cert, &ca_key).map_err(gen_err)?;
    Ok(CertifiedKey {
        chain: vec![cert.der().clone(), ca_cert.der().clone()],
        key: pkcs8(&secret)?,
    })
}

/// Loads `tls_cert` (PEM chain) and `tls_key` (PEM private key) given in a spec.
pub fn load(cert: &std::path::Path, key: &std::path::Path) -> Result<CertifiedKey, TlsError> {
    use rustls::pki_types::pem::PemObject as _;
    let chain: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(cert)
        .map_err(|e| TlsError::Load(format!("{}: {e}", cert.display())))?
        .collect::<Result<_, _>>()
        .map_err(|e| TlsError::Load(format!("{}: {e}", cert.display())))?;
    if chain.is_empty() {
        return Err(TlsError::Load(format!(
            "{}: no certificate found",
            cert.display()
        )));
    }
    let key = PrivateKeyDer::from_pem_file(key)
        .map_err(|e| TlsError::Load(format!("{}: {e}", key.display())))?;
    Ok(CertifiedKey { chain, key })
}

/// A rustls server configuration presenting `ck`, with the ring provider.
pub fn server_config(
    ck: &CertifiedKey,
    alpn: &[&[u8]],
) -> Result<Arc<rustls::ServerConfig>, TlsError> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut cfg = rustls::ServerConfig::builder_with_provider(provider)
        .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])
        .map_err(|e| TlsError::Config(e.to_string()))?
        .with_no_client_auth()
        .with_single_cert(ck.chain.clone(), ck.key.clone_key())
        .map_err(|e| TlsError::Config(e.to_string()))?;
    cfg.alpn_protocols = alpn.iter().map(|p| p.to_vec()).collect();
    Ok(Arc::new(cfg))
}

#[cfg(test)]
mod tests {
    use super::*;
    use x509_parser::prelude::*;

    fn at(secs: u64) -> SystemTime {
        SystemTime::UNIX_EPOCH + Duration::from_secs(secs)
    }

    const NOW: u64 = 1_790_000_000; // 2026-09

    #[test]
    fn self_signed_is_deterministic_realistic_and_current() {
        let seed = Seed::from_spec(Some("a"), "d");
        let a = generate(&seed, "web-01", at(NOW)).unwrap();
        let b = generate(&seed, "web-01", at(NOW + 3600)).unwrap();
        assert_eq!(a.chain, b.chain, "same certificate across restarts");
        assert_eq!(a.chain.len(), 1);
        let (_, x) = X509Certificate::from_der(&a.chain[0]).unwrap();
        assert_eq!(x.subject().to_string(), "CN=web-01");
        assert_eq!(x.issuer().to_string(), "CN=web-01");
        let nb = x.validity().not_before.timestamp() as u64;
        let na = x.validity().not_after.timestamp() as u64;
        assert!(nb <= NOW && NOW - nb < 1095 * DAY, "{nb}");
        assert_eq!(na - nb, 3650 * DAY);
        assert_eq!(x.raw_serial().len(), 20);
        let sans: Vec<String> = x
            .subject_alternative_name()
            .unwrap()
            .unwrap()
            .value
            .general_names
            .iter()
            .map(|g| g.to_string())
            .collect();
        assert_eq!(sans, ["DNSName(web-01)"]);
        // Another decky, another certificate.
        let other = generate(&Seed::from_spec(Some("b"), "d"), "web-01", at(NOW)).unwrap();
        assert_ne!(other.chain, a.chain);
        // The key loads into rustls (ring needs the public key in the PKCS#8).
        server_config(&a, &[b"http/1.1"]).unwrap();
    }

    #[test]
    fn internal_ca_chain_when_the_seed_says_so() {
        let mut seen_ca = false;
        for i in 0..16 {
            let seed = Seed::from_spec(Some(&format!("s{i}")), "d");
            let ck = generate(&seed, "intranet.corp.example.com", at(NOW)).unwrap();
            server_config(&ck, &[]).unwrap();
            if ck.chain.len() == 2 {
                seen_ca = true;
                let (_, leaf) = X509Certificate::from_der(&ck.chain[0]).unwrap();
                let (_, ca) = X509Certificate::from_der(&ck.chain[1]).unwrap();
                assert_eq!(leaf.subject().to_string(), "CN=intranet.corp.example.com");
                assert_eq!(leaf.issuer(), ca.subject());
                let issuer = ca.subject().to_string();
                assert!(
                    issuer.starts_with("CN=CORP-") && issuer.ends_with("-CA"),
                    "{issuer}"
                );
                assert!(leaf.verify_signature(Some(ca.public_key())).is_ok());
                let nb = leaf.validity().not_before.timestamp() as u64;
                assert!(nb <= NOW);
                assert!(leaf.validity().not_after <= ca.validity().not_after);
                assert!(NOW < leaf.validity().not_after.timestamp() as u64);
            }
        }
        assert!(seen_ca);
    }

    #[test]
    fn no_decky_product_names_in_certificates() {
        let seed = Seed::from_spec(None, "decky-01");
        for cn in ["web-01", "mail.example.org"] {
            let ck = generate(&seed, cn, at(NOW)).unwrap();
            for c in &ck.chain {
                let text = String::from_utf8_lossy(c).to_lowercase();
                assert!(
                    !text.contains("decnet")
                        && !text.contains("honeypot")
                        && !text.contains("rcgen")
                );
            }
        }
    }
}
