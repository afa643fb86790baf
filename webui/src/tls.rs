//! HTTPS for the admin backend: a self-signed certificate made at install (or by
//! `tcheck admin cert`), and a listener that completes the TLS handshake before axum sees the
//! connection.

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::connect_info::Connected;
use axum::serve::{IncomingStream, Listener};
use tokio::net::{TcpListener, TcpStream};
use tokio_rustls::rustls::pki_types::pem::PemObject;
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tokio_rustls::rustls::ServerConfig;
use tokio_rustls::server::TlsStream;
use tokio_rustls::TlsAcceptor;

/// How long a client may take over its handshake.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// Writes a self-signed certificate for `names` (host names or addresses) and its key as
/// PEM; the key file is readable by its owner only. Existing files are kept (refused), so
/// that a re-run of the installer never changes a certificate browsers already trust.
pub fn generate_self_signed(cert: &Path, key: &Path, names: &[String]) -> Result<(), String> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    for p in [cert, key] {
        if p.exists() {
            return Err(format!(
                "{}: exists; remove it first to make a new one",
                p.display()
            ));
        }
    }
    let made = rcgen::generate_simple_self_signed(names.to_vec()).map_err(|e| e.to_string())?;
    std::fs::write(cert, made.cert.pem()).map_err(|e| format!("{}: {e}", cert.display()))?;
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(key)
        .map_err(|e| format!("{}: {e}", key.display()))?;
    f.write_all(made.key_pair.serialize_pem().as_bytes())
        .map_err(|e| format!("{}: {e}", key.display()))
}

/// Reads a certificate chain and a private key (PEM) into a TLS acceptor.
pub fn acceptor(cert: &Path, key: &Path) -> Result<TlsAcceptor, String> {
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(cert)
        .map_err(|e| format!("{}: {e}", cert.display()))?
        .collect::<Result<_, _>>()
        .map_err(|e| format!("{}: {e}", cert.display()))?;
    if certs.is_empty() {
        return Err(format!("{}: no certificate", cert.display()));
    }
    let key = PrivateKeyDer::from_pem_file(key).map_err(|e| format!("{}: {e}", key.display()))?;
    let provider = Arc::new(tokio_rustls::rustls::crypto::ring::default_provider());
    let config = ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .map_err(|e| format!("certificate and key: {e}"))?;
    Ok(TlsAcceptor::from(Arc::new(config)))
}

/// A TCP listener whose connections are TLS sessions.
pub struct TlsListener {
    tcp: TcpListener,
    acceptor: TlsAcceptor,
}

impl std::fmt::Debug for TlsListener {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TlsListener")
            .field("tcp", &self.tcp)
            .finish()
    }
}

impl TlsListener {
    /// Wraps `tcp`.
    pub fn new(tcp: TcpListener, acceptor: TlsAcceptor) -> Self {
        TlsListener { tcp, acceptor }
    }
}

impl Listener for TlsListener {
    type Io = TlsStream<TcpStream>;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        loop {
            let Ok((tcp, peer)) = self.tcp.accept().await else {
                // Out of descriptors and the like: wait rather than spin.
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            };
            // A failed or slow handshake (a plain-HTTP client, a scanner) is dropped.
            if let Ok(Ok(tls)) =
                tokio::time::timeout(HANDSHAKE_TIMEOUT, self.acceptor.accept(tcp)).await
            {
                return (tls, peer);
            }
        }
    }

    fn local_addr(&self) -> std::io::Result<Self::Addr> {
        self.tcp.local_addr()
    }
}

/// The peer of an admin connection (what `ConnectInfo` carries on the HTTPS listener).
#[derive(Clone, Copy, Debug)]
pub struct AdminPeer(pub SocketAddr);

impl Connected<IncomingStream<'_, TlsListener>> for AdminPeer {
    fn connect_info(stream: IncomingStream<'_, TlsListener>) -> Self {
        AdminPeer(*stream.remote_addr())
    }
}
