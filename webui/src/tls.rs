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
pub const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

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
///
/// Handshakes run in their own tasks, at most [`MAX_HANDSHAKES`] at once,
/// [`MAX_HANDSHAKES_PER_PEER`] per address, and each for at most [`HANDSHAKE_TIMEOUT`]: a
/// client that connects and says nothing (a scanner, a plain HTTP client) delays nobody
/// else, and one address cannot take every slot.
pub struct TlsListener {
    local: SocketAddr,
    ready: tokio::sync::mpsc::Receiver<(TlsStream<TcpStream>, SocketAddr)>,
    accepting: tokio::task::JoinHandle<()>,
}

/// Handshakes in progress at once; further connections wait in the kernel's backlog.
pub const MAX_HANDSHAKES: usize = 64;

impl std::fmt::Debug for TlsListener {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TlsListener")
            .field("local", &self.local)
            .finish()
    }
}

impl TlsListener {
    /// Starts accepting on `tcp` (needs a Tokio runtime).
    pub fn new(tcp: TcpListener, acceptor: TlsAcceptor) -> std::io::Result<Self> {
        let local = tcp.local_addr()?;
        let (done, ready) = tokio::sync::mpsc::channel(MAX_HANDSHAKES);
        let accepting = tokio::spawn(accept_loop(tcp, acceptor, done));
        Ok(TlsListener {
            local,
            ready,
            accepting,
        })
    }
}

impl Drop for TlsListener {
    fn drop(&mut self) {
        self.accepting.abort();
    }
}

/// Accepts connections and hands each to a handshake task; finished sessions go to `done`.
async fn accept_loop(
    tcp: TcpListener,
    acceptor: TlsAcceptor,
    done: tokio::sync::mpsc::Sender<(TlsStream<TcpStream>, SocketAddr)>,
) {
    let slots = Arc::new(tokio::sync::Semaphore::new(MAX_HANDSHAKES));
    let per_peer = Arc::new(PeerHandshakes::default());
    loop {
        let Ok(slot) = slots.clone().acquire_owned().await else {
            return;
        };
        let Ok((stream, peer)) = tcp.accept().await else {
            // Out of descriptors and the like: wait rather than spin.
            tokio::time::sleep(Duration::from_millis(100)).await;
            continue;
        };
        if done.is_closed() {
            return;
        }
        // One address may not hold every slot: its connections past its share are closed.
        let Some(counted) = PeerHandshakes::begin(&per_peer, peer.ip()) else {
            continue;
        };
        let (acceptor, done) = (acceptor.clone(), done.clone());
        tokio::spawn(async move {
            let _slot = slot;
            let _counted = counted;
            // A failed or slow handshake is dropped.
            if let Ok(Ok(tls)) =
                tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(stream)).await
            {
                let _ = done.send((tls, peer)).await;
            }
        });
    }
}

/// Handshakes one address may have in progress at once.
pub const MAX_HANDSHAKES_PER_PEER: usize = 8;

/// Handshakes in progress, by address.
#[derive(Debug, Default)]
struct PeerHandshakes(std::sync::Mutex<std::collections::HashMap<std::net::IpAddr, usize>>);

/// One handshake counted against its address until dropped.
struct Counted(Arc<PeerHandshakes>, std::net::IpAddr);

impl PeerHandshakes {
    /// Counts a handshake from `ip`, unless it has [`MAX_HANDSHAKES_PER_PEER`] already.
    fn begin(me: &Arc<Self>, ip: std::net::IpAddr) -> Option<Counted> {
        let mut n = me.0.lock().unwrap_or_else(|p| p.into_inner());
        let count = n.entry(ip).or_insert(0);
        if *count >= MAX_HANDSHAKES_PER_PEER {
            return None;
        }
        *count += 1;
        Some(Counted(me.clone(), ip))
    }
}

impl Drop for Counted {
    fn drop(&mut self) {
        let mut n = self.0 .0.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(count) = n.get_mut(&self.1) {
            *count = count.saturating_sub(1);
            if *count == 0 {
                n.remove(&self.1);
            }
        }
    }
}

impl Listener for TlsListener {
    type Io = TlsStream<TcpStream>;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        match self.ready.recv().await {
            Some(session) => session,
            // The accepting task ended (it only does when this listener goes): wait for
            // the server to shut down.
            None => std::future::pending().await,
        }
    }

    fn local_addr(&self) -> std::io::Result<Self::Addr> {
        Ok(self.local)
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

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio_rustls::rustls::{ClientConfig, RootCertStore};

    /// A self-signed certificate for `localhost` in a temporary directory: (directory,
    /// certificate, key).
    fn certificate() -> (tempfile::TempDir, std::path::PathBuf, std::path::PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let (cert, key) = (dir.path().join("cert.pem"), dir.path().join("key.pem"));
        generate_self_signed(&cert, &key, &["localhost".to_string()]).unwrap();
        (dir, cert, key)
    }

    /// A client that connects and never speaks holds one handshake slot, not the listener:
    /// a real client's session arrives while the silent one is still waiting.
    #[tokio::test]
    async fn a_silent_client_does_not_delay_others() {
        let (_dir, cert, key) = certificate();
        let tcp = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let mut listener = TlsListener::new(tcp, acceptor(&cert, &key).unwrap()).unwrap();
        let addr = Listener::local_addr(&listener).unwrap();

        let _silent = TcpStream::connect(addr).await.unwrap();

        let mut roots = RootCertStore::empty();
        for c in CertificateDer::pem_file_iter(&cert).unwrap() {
            roots.add(c.unwrap()).unwrap();
        }
        let provider = Arc::new(tokio_rustls::rustls::crypto::ring::default_provider());
        let config = ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_root_certificates(roots)
            .with_no_client_auth();
        let connector = tokio_rustls::TlsConnector::from(Arc::new(config));
        let client = tokio::spawn(async move {
            let tcp = TcpStream::connect(addr).await.unwrap();
            let name = "localhost".try_into().unwrap();
            let mut tls = connector.connect(name, tcp).await.unwrap();
            tls.write_all(b"ping").await.unwrap();
            tls.flush().await.unwrap();
            tls
        });

        let (mut session, _) = tokio::time::timeout(HANDSHAKE_TIMEOUT / 2, listener.accept())
            .await
            .expect("the second client waited for the silent one");
        let mut got = [0u8; 4];
        session.read_exact(&mut got).await.unwrap();
        assert_eq!(&got, b"ping");
        drop(client.await.unwrap());
    }

    /// One address holding its share of silent connections gets the next one closed at
    /// once; another address is still served.
    #[tokio::test]
    async fn one_address_cannot_take_every_slot() {
        let (_dir, cert, key) = certificate();
        let tcp = TcpListener::bind("0.0.0.0:0").await.unwrap();
        let port = tcp.local_addr().unwrap().port();
        let _listener = TlsListener::new(tcp, acceptor(&cert, &key).unwrap()).unwrap();
        let from = |ip: &str| {
            let ip: std::net::IpAddr = ip.parse().unwrap();
            async move {
                let s = tokio::net::TcpSocket::new_v4().unwrap();
                s.bind(SocketAddr::new(ip, 0)).unwrap();
                s.connect(SocketAddr::new("127.0.0.1".parse().unwrap(), port))
                    .await
                    .unwrap()
            }
        };
        let mut silent = Vec::new();
        for _ in 0..MAX_HANDSHAKES_PER_PEER {
            silent.push(from("127.0.0.2").await);
        }
        // Closed by the server: the read ends (0 bytes or a reset) well before the
        // handshake timeout.
        let mut extra = from("127.0.0.2").await;
        let mut buf = [0u8; 1];
        let ended = tokio::time::timeout(HANDSHAKE_TIMEOUT / 2, extra.read(&mut buf)).await;
        assert!(matches!(ended, Ok(Ok(0)) | Ok(Err(_))), "{ended:?}");
        // Another address still gets a handshake slot: its connection stays open.
        let mut other = from("127.0.0.3").await;
        let waited = tokio::time::timeout(Duration::from_millis(500), other.read(&mut buf)).await;
        assert!(waited.is_err(), "the other address was closed: {waited:?}");
        drop(silent);
    }
}
