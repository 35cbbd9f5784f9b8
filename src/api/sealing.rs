//! Secrets kept at rest (a workspace's model provider key): sealed with AES-256-GCM under a key
//! derived from the server's secret key. A database dump alone does not reveal them; changing
//! the secret key makes them unreadable (they must be entered again).
//!
//! Secrets sealed before keys were derived per purpose (`super::keys`) used
//! SHA-256("ragd sealed secrets v1\0" || secret key); they still open, through that legacy key,
//! and are sealed under the new one the next time they are saved.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use ring::aead::{AES_256_GCM, Aad, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};
use sha2::{Digest, Sha256};

/// Seals with the derived key; opens with it, or with the legacy key for older values.
pub struct Sealer {
    key: LessSafeKey,
    legacy: LessSafeKey,
}

/// A sealed value that does not open: damaged, or sealed under another secret key.
#[derive(Debug, thiserror::Error)]
#[error("a stored secret cannot be decrypted (was the server's secret key changed?)")]
pub struct Unsealable;

impl Sealer {
    pub fn new(secret_key: &[u8]) -> Self {
        // A key of its own, so a leak of one use of the secret key tells nothing about another.
        let derived = super::keys::derive(secret_key, super::keys::Purpose::Sealing);
        let legacy = Sha256::new()
            .chain_update(b"ragd sealed secrets v1\0")
            .chain_update(secret_key)
            .finalize();
        let aes = |bytes: &[u8]| {
            LessSafeKey::new(UnboundKey::new(&AES_256_GCM, bytes).expect("a 32-byte AES-256 key"))
        };
        Self {
            key: aes(&derived),
            legacy: aes(&legacy),
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
        open_with(&self.key, nonce, rest).or_else(|_| open_with(&self.legacy, nonce, rest))
    }
}

fn open_with(key: &LessSafeKey, nonce: &[u8], sealed: &[u8]) -> Result<String, Unsealable> {
    let nonce = Nonce::try_assume_unique_for_key(nonce).map_err(|_| Unsealable)?;
    let mut buffer = sealed.to_vec();
    let plain = key
        .open_in_place(nonce, Aad::empty(), &mut buffer)
        .map_err(|_| Unsealable)?;
    String::from_utf8(plain.to_vec()).map_err(|_| Unsealable)
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
    fn secrets_sealed_under_the_legacy_key_still_open() {
        // How secrets were sealed before per-purpose keys.
        let secret = b"server secret of thirty-two bytes";
        let legacy = Sha256::new()
            .chain_update(b"ragd sealed secrets v1\0")
            .chain_update(secret)
            .finalize();
        let legacy = LessSafeKey::new(UnboundKey::new(&AES_256_GCM, &legacy).unwrap());
        let nonce = [3u8; NONCE_LEN];
        let mut buffer = b"sk-old-1234567890".to_vec();
        legacy
            .seal_in_place_append_tag(Nonce::assume_unique_for_key(nonce), Aad::empty(), &mut buffer)
            .unwrap();
        let old = STANDARD.encode([nonce.as_slice(), &buffer].concat());
        let sealer = Sealer::new(secret);
        assert_eq!(sealer.open(&old).unwrap(), "sk-old-1234567890");
        // New values use the derived key: the legacy key alone does not open them.
        let new = STANDARD.decode(sealer.seal("sk-new")).unwrap();
        let (nonce, rest) = new.split_at(NONCE_LEN);
        assert!(open_with(&legacy, nonce, rest).is_err());
    }

    #[test]
    fn masks_keep_only_the_ends() {
        assert_eq!(mask("sk-abcdefghijkl"), "sk-********ijkl");
        assert_eq!(mask("short"), "*****");
    }
}
