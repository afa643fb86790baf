//! Work shared by the flows of one shard: certificates already parsed. Servers send the same
//! chains over and over; parsing and hashing a certificate costs more than the rest of a TLS
//! handshake, so each distinct DER is parsed once per shard. The cache only saves work: what
//! it returns is exactly what parsing would, so outputs do not depend on it.

use std::sync::Arc;

use hashbrown::HashMap;

use super::tls::x509::{cert_info, CertInfo};

/// Certificates remembered per shard at most; the cache is emptied when full.
const MAX_CERTS: usize = 2048;

/// Per-shard caches.
#[derive(Debug, Default)]
pub struct Cache {
    certs: HashMap<Arc<[u8]>, Arc<CertInfo>>,
}

impl Cache {
    /// The facts of certificate `der`, parsed once.
    pub fn cert(&mut self, der: &[u8]) -> (Arc<[u8]>, Arc<CertInfo>) {
        if let Some((k, v)) = self.certs.get_key_value(der) {
            return (Arc::clone(k), Arc::clone(v));
        }
        if self.certs.len() >= MAX_CERTS {
            self.certs.clear();
        }
        let key: Arc<[u8]> = Arc::from(der);
        let info = Arc::new(cert_info(der));
        self.certs.insert(Arc::clone(&key), Arc::clone(&info));
        (key, info)
    }
}
