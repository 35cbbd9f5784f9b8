//! Secrets kept at rest (a workspace's model provider key): sealed with AES-256-GCM under a key
//! derived from the server's secret key. A database dump alone does not reveal them; changing
//! the secret key makes them unreadable (they must be entered again).

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use ring::aead::{AES_256_GCM, Aad, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};
use sha2::{Digest, Sha256};

/// Seals and opens secrets with one derived key.
pub struct Sealer {
    key: LessSafeKey,
}

/// A sealed value that does not open: damaged, or sealed under another secret key.
#[derive(Debug, thiserror::Error)]
#[error("a stored secret cannot be decrypted (was the server's secret key changed?)")]
pub struct Unsealable;

impl Sealer {
    pub fn new(secret_key: &[u8]) -> Self {
        // A key of its own, so a leak of one use of the secret key tells nothing about another.
        let derived = Sha256::new()
            .chain_update(b"ragd sealed secrets v1\0")
            .chain_update(secret_key)
            .finalize();
        let key = UnboundKey::new(&AES_256_GCM, &derived).expect("a 32-byte AES-256 key");
        Self {
            key: LessSafeKey::new(key),
        }
    }

    /// `base64(nonce || ciphertext || tag)` of `plain`, with a fresh random nonce.
    pub fn seal(&self, plain: &str) -> String {
        let nonce_bytes = super::signing::random_bytes::<NONCE_LEN>();
        let mut buffer = plain.as_bytes().to_vec();
        self.key
            .seal_in_place_append_tag(
                Nonce::assume_unique_for_key(nonce_bytes),
                Aad::empty(),
                &mut buffer,
            )
            .expect("AES-GCM sealing of a short secret");
        let mut out = nonce_bytes.to_vec();
        out.extend_from_slice(&buffer);
        STANDARD.encode(out)
    }

    pub fn open(&self, sealed: &str) -> Result<String, Unsealable> {
        let bytes = STANDARD.decode(sealed).map_err(|_| Unsealable)?;
        if bytes.len() < NONCE_LEN {
            return Err(Unsealable);
        }
        let (nonce, rest) = bytes.split_at(NONCE_LEN);
        let nonce = Nonce::try_assume_unique_for_key(nonce).map_err(|_| Unsealable)?;
        let mut buffer = rest.to_vec();
        let plain = self
            .key
            .open_in_place(nonce, Aad::empty(), &mut buffer)
            .map_err(|_| Unsealable)?;
        String::from_utf8(plain.to_vec()).map_err(|_| Unsealable)
    }
}

/// `sk-...abcd`: enough of a key to recognise it, never enough to use it.
pub fn mask(secret: &str) -> String {
    let chars: Vec<char> = secret.chars().collect();
    if chars.len() <= 8 {
        return "*".repeat(chars.len().max(4));
    }
    let head: String = chars[..3].iter().collect();
    let tail: String = chars[chars.len() - 4..].iter().collect();
    format!("{head}{}{tail}", "*".repeat(8))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sealed_secrets_open_only_under_the_same_key() {
        let sealer = Sealer::new(b"server secret");
        let sealed = sealer.seal("sk-live-1234567890");
        assert!(!sealed.contains("sk-live"));
        assert_ne!(sealed, sealer.seal("sk-live-1234567890"), "nonces differ");
        assert_eq!(sealer.open(&sealed).unwrap(), "sk-live-1234567890");
        assert!(Sealer::new(b"another secret").open(&sealed).is_err());
        let mut tampered = STANDARD.decode(&sealed).unwrap();
        *tampered.last_mut().unwrap() ^= 1;
        assert!(sealer.open(&STANDARD.encode(tampered)).is_err());
        assert!(sealer.open("not base64!").is_err());
    }

    #[test]
    fn masks_keep_only_the_ends() {
        assert_eq!(mask("sk-abcdefghijkl"), "sk-********ijkl");
        assert_eq!(mask("short"), "*****");
    }
}
