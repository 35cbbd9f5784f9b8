//! Keys of their own for each use of the server's secret key, so that a key exposed through one
//! use (a session token forged offline, say) says nothing about another. Each is
//! HMAC-SHA256(secret key, a label naming the purpose), the extract-free form of HKDF-Expand
//! with a uniformly random or operator-chosen key of at least 32 bytes.

use hmac::{Hmac, Mac};
use sha2::Sha256;

/// The smallest secret key an operator may configure (the generated one has 32 random bytes,
/// hex-encoded).
pub const MIN_SECRET_KEY_BYTES: usize = 32;

/// What a derived key is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    /// Console access, CSRF and setup tokens (HS256 JWTs).
    Sessions,
    /// Signed file links.
    FileLinks,
    /// AES-256-GCM sealing of stored provider keys.
    Sealing,
}

impl Purpose {
    fn label(self) -> &'static [u8] {
        match self {
            Purpose::Sessions => b"ragd key v2: console sessions",
            Purpose::FileLinks => b"ragd key v2: file links",
            Purpose::Sealing => b"ragd key v2: sealed secrets",
        }
    }
}

/// The key for `purpose` under `secret_key`.
pub fn derive(secret_key: &[u8], purpose: Purpose) -> [u8; 32] {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret_key).expect("HMAC takes keys of any length");
    mac.update(purpose.label());
    mac.finalize().into_bytes().into()
}

/// Refuses an operator's secret key that is too short to be a key (a word, a short phrase).
pub fn check_configured(secret_key: &[u8]) -> Result<(), String> {
    if secret_key.len() < MIN_SECRET_KEY_BYTES {
        return Err(format!(
            "secret_key (RAGD_SECRET_KEY) is {} bytes; it must be at least {MIN_SECRET_KEY_BYTES} \
             (e.g. `openssl rand -hex 32`), or leave it unset to have one generated",
            secret_key.len()
        ));
    }
    Ok(())
}

/// Whether two secrets are equal, in time that does not depend on where they differ: their
/// HMAC tags under a fresh random key are compared by `verify_slice` (constant time).
pub fn same_secret(given: &str, expected: &str) -> bool {
    let key = super::signing::random_bytes::<32>();
    let tag = |text: &str| {
        let mut mac = Hmac::<Sha256>::new_from_slice(&key).expect("HMAC takes keys of any length");
        mac.update(text.as_bytes());
        mac
    };
    let expected = tag(expected).finalize().into_bytes();
    tag(given).verify_slice(&expected).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_purpose_has_its_own_key() {
        let secret = [7u8; 32];
        let keys = [
            derive(&secret, Purpose::Sessions),
            derive(&secret, Purpose::FileLinks),
            derive(&secret, Purpose::Sealing),
        ];
        assert_ne!(keys[0], keys[1]);
        assert_ne!(keys[1], keys[2]);
        assert_ne!(keys[0].as_slice(), secret.as_slice());
        assert_eq!(keys[0], derive(&secret, Purpose::Sessions), "deterministic");
        assert_ne!(keys[0], derive(&[8u8; 32], Purpose::Sessions));
        assert!(check_configured(b"short").is_err());
        assert!(check_configured(&secret).is_ok());
        assert!(same_secret("let-me-in", "let-me-in"));
        assert!(!same_secret("let-me-im", "let-me-in") && !same_secret("", "let-me-in"));
    }
}
