//! What the flows of one shard share: the memory budget of the application-layer parsers,
//! certificates already parsed, and the fingerprints of ClientHellos already seen
//! ([`FingerprintCache`]).
//!
//! Budget: every parser may hold a few kilobytes per flow freely; beyond that it must
//! reserve from its shard's share of `Config::app_memcap`, and a parser refused stops
//! dissecting that flow (counted). Memory is thus bounded by configuration: live flows times
//! the free allowance, plus the memcap.
//!
//! Certificates: servers send the same chains over and over; parsing and hashing a
//! certificate costs more than the rest of a TLS handshake, so each distinct DER is parsed
//! once per run: the shards share one [`CertCache`]. The cache only saves work: what it
//! returns is exactly what parsing would, so outputs do not depend on it (nor on the order
//! in which threads fill it). It holds at most [`MAX_CERTS`] certificates and
//! [`MAX_CERT_BYTES`] of DER, and is emptied when either would be exceeded.

use std::sync::{Arc, Mutex, PoisonError};

use hashbrown::HashMap;

use super::tls::fingerprint::FingerprintCache;
use super::tls::x509::{cert_info, CertInfo};

/// Certificates remembered at most.
pub const MAX_CERTS: usize = 2048;

/// Bytes of DER remembered at most.
pub const MAX_CERT_BYTES: usize = 16 << 20;

/// Certificates already parsed, shared by the shards of a run.
#[derive(Debug, Default)]
pub struct CertCache {
    certs: HashMap<Arc<[u8]>, Arc<CertInfo>>,
    /// Bytes of DER held.
    bytes: usize,
}

/// A handle on a run's certificate cache.
pub type SharedCerts = Arc<Mutex<CertCache>>;

/// Bytes a parser may buffer per flow without reserving.
pub const FREE_PER_FLOW: usize = 4096;

/// The application-layer memory of one shard.
#[derive(Debug, Default)]
pub struct AppBudget {
    /// Bytes reserved.
    pub used: usize,
    /// The most that may be reserved.
    pub cap: usize,
    /// Reservations refused.
    pub refused: u64,
}

/// What one parser holds of its shard's budget.
#[derive(Debug, Default)]
pub struct Charge {
    held: usize,
}

impl Charge {
    /// Makes sure `need` bytes may be held; false if the budget refuses.
    pub fn ensure(&mut self, need: usize, budget: &mut AppBudget) -> bool {
        let need = need.saturating_sub(FREE_PER_FLOW);
        if need <= self.held {
            return true;
        }
        let more = need - self.held;
        if budget.used + more > budget.cap {
            budget.refused += 1;
            return false;
        }
        budget.used += more;
        self.held = need;
        true
    }

    /// Gives everything back (the parser is gone).
    pub fn release(&mut self, budget: &mut AppBudget) {
        budget.used = budget.used.saturating_sub(self.held);
        self.held = 0;
    }
}

/// Per-shard shared state.
#[derive(Debug, Default)]
pub struct Cache {
    certs: SharedCerts,
    /// The parsers' memory budget.
    pub budget: AppBudget,
    /// The fingerprints of the ClientHellos this shard has seen.
    pub hellos: FingerprintCache,
    /// Nothing reads Zeek's DNS transactions ([`crate::config::Config::dns_transactions`]
    /// is off): the DNS parser does not build them.
    pub no_dns_transactions: bool,
    /// Nothing reads decoded HTTP response bodies
    /// ([`crate::config::Config::http_response_decoding`] is off): the HTTP parser decodes
    /// them only for the rules.
    pub no_response_decoding: bool,
}

impl Cache {
    /// Shared state with a budget of `cap` bytes, sharing the certificates of `certs`.
    pub fn with_budget(cap: usize, certs: SharedCerts) -> Self {
        Cache {
            certs,
            budget: AppBudget {
                cap,
                ..AppBudget::default()
            },
            hellos: FingerprintCache::default(),
            no_dns_transactions: false,
            no_response_decoding: false,
        }
    }

    /// The facts of certificate `der`, parsed once.
    pub fn cert(&mut self, der: &[u8]) -> (Arc<[u8]>, Arc<CertInfo>) {
        // A thread that panicked holding the lock left a cache that is still consistent
        // (every entry is inserted whole), so a poisoned lock is used as it is.
        let lock = || self.certs.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some((k, v)) = lock().certs.get_key_value(der) {
            return (Arc::clone(k), Arc::clone(v));
        }
        // Parsed outside the lock: the other shards' threads do not wait for it.
        let key: Arc<[u8]> = Arc::from(der);
        let info = Arc::new(cert_info(der));
        lock().insert(&key, &info);
        (key, info)
    }
}

impl CertCache {
    fn insert(&mut self, der: &Arc<[u8]>, info: &Arc<CertInfo>) {
        if self.certs.contains_key(der.as_ref()) {
            return;
        }
        if self.certs.len() >= MAX_CERTS || self.bytes + der.len() > MAX_CERT_BYTES {
            self.certs.clear();
            self.bytes = 0;
        }
        if der.len() <= MAX_CERT_BYTES {
            self.bytes += der.len();
            self.certs.insert(Arc::clone(der), Arc::clone(info));
        }
    }

    /// Certificates held.
    pub fn len(&self) -> usize {
        self.certs.len()
    }

    /// Whether it holds none.
    pub fn is_empty(&self) -> bool {
        self.certs.is_empty()
    }

    /// Bytes of DER held.
    pub fn bytes(&self) -> usize {
        self.bytes
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Distinct certificates, however many and however large, never hold more than the
    /// caps; a certificate seen again is not parsed again.
    #[test]
    fn the_certificate_cache_is_bounded() {
        let shared = SharedCerts::default();
        let mut a = Cache::with_budget(1 << 20, Arc::clone(&shared));
        let mut b = Cache::with_budget(1 << 20, Arc::clone(&shared));
        let (first, _) = a.cert(b"not a certificate");
        let (again, _) = b.cert(b"not a certificate");
        assert!(
            Arc::ptr_eq(&first, &again),
            "the shards share what was parsed"
        );
        for i in 0..3 * MAX_CERTS {
            let mut der = vec![0u8; 40_000];
            der[..8].copy_from_slice(&(i as u64).to_le_bytes());
            a.cert(&der);
            let held = shared.lock().unwrap_or_else(PoisonError::into_inner);
            assert!(held.len() <= MAX_CERTS);
            assert!(held.bytes() <= MAX_CERT_BYTES);
        }
        // Larger than the whole cache: parsed, returned, not kept.
        let huge = vec![1u8; MAX_CERT_BYTES + 1];
        let (der, _) = a.cert(&huge);
        assert_eq!(der.len(), huge.len());
        assert!(
            shared
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .bytes()
                <= MAX_CERT_BYTES
        );
    }

    #[test]
    fn charges_are_bounded_and_released() {
        let mut b = AppBudget {
            cap: 10_000,
            ..AppBudget::default()
        };
        let mut c1 = Charge::default();
        let mut c2 = Charge::default();
        assert!(c1.ensure(FREE_PER_FLOW, &mut b));
        assert_eq!(b.used, 0);
        assert!(c1.ensure(FREE_PER_FLOW + 8_000, &mut b));
        assert!(!c2.ensure(FREE_PER_FLOW + 3_000, &mut b));
        assert_eq!(b.refused, 1);
        c1.release(&mut b);
        assert!(c2.ensure(FREE_PER_FLOW + 3_000, &mut b));
        assert_eq!(b.used, 3_000);
    }
}
