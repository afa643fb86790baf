//! Accounts, sessions and the checks every admin request goes through.
//!
//! Passwords are hashed with argon2id (PHC strings in the database; set at install, never a
//! default). A login opens a session: a random id in a cookie (`HttpOnly; Secure;
//! SameSite=Strict`, eight hours) and a random CSRF token the page sends back in
//! `X-CSRF-Token` on every state change. Failed logins are limited per address (five per ten
//! minutes).

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;

/// The session cookie's name.
pub const COOKIE: &str = "tcheck_admin";
/// How long a session lasts.
pub const SESSION_LIFETIME: Duration = Duration::from_secs(8 * 3600);
/// Failed logins allowed per address and window.
pub const MAX_FAILURES: u32 = 5;
/// The window of [`MAX_FAILURES`].
pub const FAILURE_WINDOW: Duration = Duration::from_secs(600);
/// Shortest password accepted when one is set.
pub const MIN_PASSWORD: usize = 12;

/// Hashes `password` with argon2id and a fresh salt.
pub fn hash_password(password: &str) -> Result<String, String> {
    if password.chars().count() < MIN_PASSWORD {
        return Err(format!("a password has at least {MIN_PASSWORD} characters"));
    }
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| e.to_string())
}

/// A hash of a random password, verified against when an account does not exist.
pub fn dummy_hash() -> &'static str {
    static DUMMY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    DUMMY.get_or_init(|| {
        let pass = random_id().unwrap_or_else(|| "tcheck-no-such-account".into());
        hash_password(&pass).unwrap_or_default()
    })
}

/// Whether `password` matches the PHC string `hash`.
pub fn verify_password(password: &str, hash: &str) -> bool {
    PasswordHash::new(hash).is_ok_and(|h| {
        Argon2::default()
            .verify_password(password.as_bytes(), &h)
            .is_ok()
    })
}

/// A logged-in admin.
#[derive(Clone, Debug)]
pub struct Session {
    /// The account.
    pub user: String,
    /// The CSRF token of this session.
    pub csrf: String,
    /// The account's password hash when the session was opened: once the password
    /// changes (`tcheck admin passwd`), the session is over.
    pub password_hash: String,
    expires: Instant,
}

/// Sessions and login failures, in memory (a restart logs everyone out).
#[derive(Debug, Default)]
pub struct Sessions {
    live: Mutex<HashMap<String, Session>>,
    failures: Mutex<HashMap<IpAddr, (u32, Instant)>>,
}

/// 32 random bytes, hex.
pub fn random_id() -> Option<String> {
    let mut b = [0u8; 32];
    getrandom::fill(&mut b).ok()?;
    Some(b.iter().map(|x| format!("{x:02x}")).collect())
}

impl Sessions {
    /// Opens a session for `user`, whose password hash is `password_hash`: (session id,
    /// CSRF token).
    pub fn open(&self, user: &str, password_hash: &str) -> Option<(String, String)> {
        let id = random_id()?;
        let csrf = random_id()?;
        let mut live = self.live.lock().unwrap_or_else(|p| p.into_inner());
        let now = Instant::now();
        live.retain(|_, s| s.expires > now);
        live.insert(
            id.clone(),
            Session {
                user: user.to_string(),
                csrf: csrf.clone(),
                password_hash: password_hash.to_string(),
                expires: now + SESSION_LIFETIME,
            },
        );
        Some((id, csrf))
    }

    /// The session of `id`, if it is live.
    pub fn get(&self, id: &str) -> Option<Session> {
        let live = self.live.lock().unwrap_or_else(|p| p.into_inner());
        live.get(id).filter(|s| s.expires > Instant::now()).cloned()
    }

    /// Ends the session `id`.
    pub fn close(&self, id: &str) {
        let mut live = self.live.lock().unwrap_or_else(|p| p.into_inner());
        live.remove(id);
    }

    /// Whether `peer` may try to log in now; if not, how long it must wait.
    pub fn may_try(&self, peer: IpAddr) -> Result<(), Duration> {
        let f = self.failures.lock().unwrap_or_else(|p| p.into_inner());
        match f.get(&peer) {
            Some((n, since)) if *n >= MAX_FAILURES && since.elapsed() < FAILURE_WINDOW => {
                Err(FAILURE_WINDOW - since.elapsed())
            }
            _ => Ok(()),
        }
    }

    /// Records a failed login from `peer`.
    pub fn failed(&self, peer: IpAddr) {
        let mut f = self.failures.lock().unwrap_or_else(|p| p.into_inner());
        let e = f.entry(peer).or_insert((0, Instant::now()));
        if e.1.elapsed() >= FAILURE_WINDOW {
            *e = (0, Instant::now());
        }
        e.0 += 1;
        // Bounded: a flood of addresses cannot grow this without limit.
        if f.len() > 10_000 {
            f.retain(|_, (_, since)| since.elapsed() < FAILURE_WINDOW);
        }
    }

    /// Clears `peer`'s failures after a successful login.
    pub fn succeeded(&self, peer: IpAddr) {
        let mut f = self.failures.lock().unwrap_or_else(|p| p.into_inner());
        f.remove(&peer);
    }
}

/// The value of cookie `name` in a `Cookie` header.
pub fn cookie<'a>(header: &'a str, name: &str) -> Option<&'a str> {
    header.split(';').find_map(|kv| {
        let (k, v) = kv.trim().split_once('=')?;
        (k == name).then_some(v)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_hash_with_argon2id_and_verify() {
        let h = hash_password("correct horse battery").unwrap();
        assert!(h.starts_with("$argon2id$"));
        assert!(verify_password("correct horse battery", &h));
        assert!(!verify_password("correct horse batterz", &h));
        assert!(!verify_password("x", "not a hash"));
        assert!(hash_password("short").is_err());
        assert_ne!(h, hash_password("correct horse battery").unwrap(), "salted");
    }

    #[test]
    fn failures_are_limited_per_address() {
        let s = Sessions::default();
        let a: IpAddr = "192.0.2.1".parse().unwrap();
        let b: IpAddr = "192.0.2.2".parse().unwrap();
        for _ in 0..MAX_FAILURES {
            assert!(s.may_try(a).is_ok());
            s.failed(a);
        }
        assert!(s.may_try(a).is_err());
        assert!(s.may_try(b).is_ok());
        s.succeeded(a);
        assert!(s.may_try(a).is_ok());
    }

    #[test]
    fn sessions_open_and_close() {
        let s = Sessions::default();
        let (id, csrf) = s.open("admin", "$argon2id$x").unwrap();
        assert_eq!(s.get(&id).unwrap().csrf, csrf);
        assert!(s.get("nope").is_none());
        s.close(&id);
        assert!(s.get(&id).is_none());
        assert_eq!(cookie("a=1; tcheck_admin=xyz; b=2", COOKIE), Some("xyz"));
        assert_eq!(cookie("a=1", COOKIE), None);
    }
}
