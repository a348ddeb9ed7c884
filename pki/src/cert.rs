//! Reading the DECNET-specific parts of X.509 certificates.

use rustls::pki_types::CertificateDer;
use x509_parser::certificate::X509Certificate;
use x509_parser::extensions::GeneralName;
use x509_parser::prelude::FromDer;

use crate::error::PkiError;
use crate::fingerprint::Fingerprint;
use crate::host::HostName;

/// Parses a DER certificate, rejecting trailing bytes.
pub(crate) fn parse(der: &[u8]) -> Result<X509Certificate<'_>, PkiError> {
    let (rest, cert) =
        X509Certificate::from_der(der).map_err(|e| PkiError::BadCertificate(e.to_string()))?;
    if !rest.is_empty() {
        return Err(PkiError::BadCertificate(
            "trailing data after the certificate".into(),
        ));
    }
    Ok(cert)
}

/// DER SubjectPublicKeyInfo of a certificate.
pub(crate) fn spki_der(der: &[u8]) -> Result<Vec<u8>, PkiError> {
    Ok(parse(der)?.public_key().raw.to_vec())
}

/// Checks that `cert_der` carries a valid signature by the CA in `ca_der` and names it as issuer.
pub(crate) fn verify_issued_by(cert_der: &[u8], ca_der: &[u8]) -> Result<(), PkiError> {
    let cert = parse(cert_der)?;
    let ca = parse(ca_der)?;
    if cert.issuer().as_raw() != ca.subject().as_raw() {
        return Err(PkiError::WrongIssuer(format!(
            "issuer is {}, the CA is {}",
            cert.issuer(),
            ca.subject()
        )));
    }
    cert.verify_signature(Some(ca.public_key()))
        .map_err(|e| PkiError::WrongIssuer(format!("signature: {e}")))
}

/// The agent host named by an agent certificate (its `<host>.agents.decnet` SAN, matching its CN).
pub fn host_from_cert(der: &[u8]) -> Result<HostName, PkiError> {
    let cert = parse(der)?;
    let san = cert
        .subject_alternative_name()
        .map_err(|e| PkiError::BadCertificate(format!("subjectAltName: {e}")))?
        .ok_or_else(|| PkiError::BadCertificate("no subjectAltName extension".into()))?;
    let mut hosts = san.value.general_names.iter().filter_map(|n| match n {
        GeneralName::DNSName(dns) => HostName::from_agent_dns_name(dns),
        _ => None,
    });
    let host = hosts.next().ok_or_else(|| {
        PkiError::BadCertificate(
            "no <host>.agents.decnet DNS name: not an agent certificate".into(),
        )
    })?;
    if hosts.next().is_some() {
        return Err(PkiError::BadCertificate(
            "more than one <host>.agents.decnet DNS name".into(),
        ));
    }
    let cn = cert
        .subject()
        .iter_common_name()
        .next()
        .and_then(|cn| cn.as_str().ok());
    if cn != Some(host.as_str()) {
        return Err(PkiError::BadCertificate(format!(
            "common name {cn:?} does not match the host name {host}"
        )));
    }
    Ok(host)
}

/// Host and leaf fingerprint of a verified peer chain (e.g. `Connection::peer_certificates`).
pub fn peer_identity(chain: &[CertificateDer<'_>]) -> Result<(HostName, Fingerprint), PkiError> {
    let leaf = chain
        .first()
        .ok_or_else(|| PkiError::BadCertificate("the peer presented no certificate".into()))?;
    Ok((host_from_cert(leaf)?, Fingerprint::of_der(leaf)))
}
