//! TLS set-up shared by the HTTP clients of the registry and the API.

/// rustls' process-wide crypto provider (ring, already in the workspace's tree), installed
/// once before the first HTTPS client is made.
pub(crate) fn install_crypto() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}
