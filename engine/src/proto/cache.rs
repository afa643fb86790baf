//! What the flows of one shard share: the memory budget of the application-layer parsers,
//! and certificates already parsed.
//!
//! Budget: every parser may hold a few kilobytes per flow freely; beyond that it must
//! reserve from its shard's share of `Config::app_memcap`, and a parser refused stops
//! dissecting that flow (counted). Memory is thus bounded by configuration: live flows times
//! the free allowance, plus the memcap.
//!
//! Certificates: Servers send the same
//! chains over and over; parsing and hashing a certificate costs more than the rest of a TLS
//! handshake, so each distinct DER is parsed once per shard. The cache only saves work: what
//! it returns is exactly what parsing would, so outputs do not depend on it.

use std::sync::Arc;

use hashbrown::HashMap;

use super::tls::x509::{cert_info, CertInfo};

/// Certificates remembered per shard at most; the cache is emptied when full.
const MAX_CERTS: usize = 2048;

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
    certs: HashMap<Arc<[u8]>, Arc<CertInfo>>,
    /// The parsers' memory budget.
    pub budget: AppBudget,
    /// Nothing reads Zeek's DNS transactions ([`crate::config::Config::dns_transactions`]
    /// is off): the DNS parser does not build them.
    pub no_dns_transactions: bool,
}

impl Cache {
    /// Shared state with a budget of `cap` bytes.
    pub fn with_budget(cap: usize) -> Self {
        Cache {
            certs: HashMap::new(),
            budget: AppBudget {
                cap,
                ..AppBudget::default()
            },
            no_dns_transactions: false,
        }
    }

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

#[cfg(test)]
mod tests {
    use super::*;

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
