//! The workspace's single rustls crypto provider.

/// Installs `ring` as the process-wide rustls provider; safe to call repeatedly.
///
/// rustls panics when more than one provider is linked and none was chosen,
/// so every binary and every TLS test calls this first.
pub fn install_crypto_provider() {
    // An error only means a provider is already installed, which is what we want.
    let _ = rustls::crypto::ring::default_provider().install_default();
}

#[cfg(test)]
mod tests {
    #[test]
    fn installing_twice_keeps_ring() {
        super::install_crypto_provider();
        super::install_crypto_provider();
        assert!(rustls::crypto::CryptoProvider::get_default().is_some());
    }
}
