//! The ephemeral network's name and password, and the QR code's payload.
//!
//! Both come from the operating system's CSPRNG (`getrandom`), drawn without bias from an
//! alphabet without look-alike characters (no `0 O o 1 l I`), so that a person can type the
//! password from the screen if the QR code fails.

use serde::Serialize;

/// Letters and digits that cannot be mistaken for one another.
pub const ALPHABET: &[u8] = b"abcdefghijkmnpqrstuvwxyzACDEFGHJKLMNPQRSTUVWXYZ23456789";
/// Password length: 14 characters of a 55-letter alphabet, about 81 bits.
pub const PASSWORD_LEN: usize = 14;
/// SSID suffix length.
pub const SUFFIX_LEN: usize = 4;

/// A network's name and password.
#[derive(Clone, PartialEq, Eq, Serialize)]
pub struct Credentials {
    /// The network name.
    pub ssid: String,
    /// The WPA2/WPA3 passphrase.
    pub password: String,
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credentials")
            .field("ssid", &self.ssid)
            .field("password", &"(hidden)")
            .finish()
    }
}

impl Credentials {
    /// A name drawn from `bases` plus a random suffix, and a random password.
    pub fn generate(bases: &[String]) -> Result<Self, String> {
        let base = match bases.len() {
            0 => "Wi-Fi".to_string(),
            n => bases
                .get(uniform(n)?)
                .cloned()
                .unwrap_or_else(|| "Wi-Fi".into()),
        };
        Ok(Credentials {
            ssid: format!("{base}-{}", random_string(SUFFIX_LEN)?),
            password: random_string(PASSWORD_LEN)?,
        })
    }

    /// The payload of a Wi-Fi QR code (`WIFI:S:…;T:WPA;P:…;;`), with `\ ; , : "` escaped
    /// as the format asks.
    pub fn qr_payload(&self) -> String {
        format!(
            "WIFI:S:{};T:WPA;P:{};;",
            qr_escape(&self.ssid),
            qr_escape(&self.password)
        )
    }
}

fn qr_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if matches!(c, '\\' | ';' | ',' | ':' | '"') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// `len` characters of [`ALPHABET`], uniformly.
pub fn random_string(len: usize) -> Result<String, String> {
    let mut out = String::with_capacity(len);
    for _ in 0..len {
        let i = uniform(ALPHABET.len())?;
        if let Some(&b) = ALPHABET.get(i) {
            out.push(char::from(b));
        }
    }
    Ok(out)
}

/// A uniform integer below `n` (1 ≤ n ≤ 256), by rejection sampling of random bytes.
fn uniform(n: usize) -> Result<usize, String> {
    let n = n.clamp(1, 256);
    let limit = 256 - 256 % n;
    loop {
        let mut b = [0u8; 1];
        getrandom::fill(&mut b).map_err(|e| format!("no randomness from the system: {e}"))?;
        if usize::from(b[0]) < limit {
            return Ok(usize::from(b[0]) % n);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credentials_are_random_and_unambiguous() {
        let bases = vec!["Home".to_string()];
        let a = Credentials::generate(&bases).unwrap();
        let b = Credentials::generate(&bases).unwrap();
        assert_ne!(a.password, b.password);
        assert!(a.ssid.starts_with("Home-") && a.ssid.len() == 5 + SUFFIX_LEN);
        assert!(a.password.len() >= 12);
        for c in a.password.chars() {
            assert!(!"0Oo1lI".contains(c), "{c}");
            assert!(ALPHABET.contains(&(c as u8)));
        }
        assert!(!format!("{a:?}").contains(&a.password));
    }

    #[test]
    fn every_character_of_the_alphabet_is_drawn() {
        let s = random_string(20_000).unwrap();
        for &c in ALPHABET {
            let n = s.bytes().filter(|&b| b == c).count();
            // 20,000 / 55 ≈ 364 expected; a biased draw would leave some far off.
            assert!((200..560).contains(&n), "{} drawn {n} times", c as char);
        }
    }

    #[test]
    fn qr_payload_escapes_the_format_characters() {
        let c = Credentials {
            ssid: "Café;\"x\":y,z\\".into(),
            password: "abc".into(),
        };
        assert_eq!(
            c.qr_payload(),
            "WIFI:S:Café\\;\\\"x\\\"\\:y\\,z\\\\;T:WPA;P:abc;;"
        );
    }
}
