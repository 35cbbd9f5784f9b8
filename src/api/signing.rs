//! Signed file links, as Dify makes them: `{files_url}/files/{file_id}/file-preview?timestamp=..
//! &nonce=..&sign=..`, where `sign` is the URL-safe base64 of HMAC-SHA256 over
//! `file-preview|{file_id}|{timestamp}|{nonce}` keyed with the server's secret key. A download
//! link (`&as_attachment=true`) signs `...|{nonce}|attachment` instead, so neither kind of link
//! can be turned into the other. A link works for anyone holding it until it expires; nothing
//! else about the request is checked.

use std::io::Write;
use std::path::Path;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE;
use hmac::{Hmac, Mac};
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use sha2::Sha256;

use crate::config::Config;

type HmacSha256 = Hmac<Sha256>;

/// What Python's `urlencode` escapes in a value: all but letters, digits and `-._~`.
const QUERY_VALUE: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// Name of the generated key's file in the data dir.
pub const SECRET_KEY_FILE: &str = "secret_key";

/// Makes and checks signed file links.
pub struct FileSigner {
    key: Vec<u8>,
    base_url: String,
    ttl_secs: i64,
}

/// The query of a signed link.
#[derive(Debug, Clone, serde::Deserialize)]
pub struct SignedQuery {
    pub timestamp: String,
    pub nonce: String,
    pub sign: String,
    #[serde(default)]
    pub as_attachment: Option<String>,
}

impl FileSigner {
    pub fn new(key: impl Into<Vec<u8>>, base_url: impl Into<String>, ttl_secs: u64) -> Self {
        Self {
            key: key.into(),
            base_url: base_url.into(),
            ttl_secs: i64::try_from(ttl_secs).unwrap_or(i64::MAX),
        }
    }

    /// A signer with the configured key, or the data dir's generated one (created on first use).
    pub fn from_config(config: &Config) -> std::io::Result<Self> {
        Ok(Self::with_key(secret_key(config)?, config))
    }

    /// A signer with `key` and the configured base URL and link lifetime.
    pub fn with_key(key: Vec<u8>, config: &Config) -> Self {
        Self::new(
            key,
            config.server.files_base_url(),
            config.server.files_access_timeout_secs,
        )
    }

    /// A link to the file, valid from now for the configured time.
    pub fn signed_url(&self, file_id: &str, as_attachment: bool) -> String {
        self.signed_url_at(file_id, as_attachment, crate::store::now())
    }

    /// A link signed as if made at `timestamp` (Unix seconds).
    pub fn signed_url_at(&self, file_id: &str, as_attachment: bool, timestamp: i64) -> String {
        let nonce = hex::encode(random_bytes::<16>());
        let timestamp = timestamp.to_string();
        let sign = self.sign(file_id, &timestamp, &nonce, as_attachment);
        let mut url = format!(
            "{}/files/{file_id}/file-preview?timestamp={timestamp}&nonce={nonce}&sign={}",
            self.base_url,
            utf8_percent_encode(&sign, QUERY_VALUE)
        );
        if as_attachment {
            url.push_str("&as_attachment=true");
        }
        url
    }

    fn mac(&self, file_id: &str, timestamp: &str, nonce: &str, as_attachment: bool) -> HmacSha256 {
        let mut mac = HmacSha256::new_from_slice(&self.key).expect("HMAC takes keys of any length");
        mac.update(format!("file-preview|{file_id}|{timestamp}|{nonce}").as_bytes());
        if as_attachment {
            mac.update(b"|attachment");
        }
        mac
    }

    fn sign(&self, file_id: &str, timestamp: &str, nonce: &str, as_attachment: bool) -> String {
        URL_SAFE.encode(
            self.mac(file_id, timestamp, nonce, as_attachment)
                .finalize()
                .into_bytes(),
        )
    }

    /// Whether `query` is a valid, unexpired signature for the file at time `now`.
    pub fn verify(&self, file_id: &str, query: &SignedQuery, now: i64) -> bool {
        let Ok(signature) = URL_SAFE.decode(query.sign.as_bytes()) else {
            return false;
        };
        // verify_slice compares in constant time.
        if self
            .mac(
                file_id,
                &query.timestamp,
                &query.nonce,
                query.as_attachment.as_deref() == Some("true"),
            )
            .verify_slice(&signature)
            .is_err()
        {
            return false;
        }
        match query.timestamp.parse::<i64>() {
            Ok(timestamp) => now.saturating_sub(timestamp) <= self.ttl_secs,
            Err(_) => false,
        }
    }
}

/// The server's secret key: the configured one, or the data dir's generated one (created on
/// first use). File links, console tokens and sealed credentials all derive from it.
pub fn secret_key(config: &Config) -> std::io::Result<Vec<u8>> {
    Ok(match &config.secret_key {
        Some(secret) => secret.0.clone(),
        None => load_or_create_key(&config.data_dir.join(SECRET_KEY_FILE))?,
    }
    .into_bytes())
}

pub(crate) fn random_bytes<const N: usize>() -> [u8; N] {
    let mut bytes = [0u8; N];
    getrandom::fill(&mut bytes).expect("the operating system's random source");
    bytes
}

/// Reads the key file, or creates it (mode 0600) with a new random key. Two processes starting
/// together agree on one key: the file appears whole, through a hard link, or not at all.
fn load_or_create_key(path: &Path) -> std::io::Result<String> {
    if let Some(key) = read_key(path)? {
        return Ok(key);
    }
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let key = hex::encode(random_bytes::<32>());
    let temp = path.with_extension(format!("tmp-{}", uuid::Uuid::new_v4()));
    {
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        let mut file = options.open(&temp)?;
        file.write_all(key.as_bytes())?;
        file.sync_all()?;
    }
    let linked = std::fs::hard_link(&temp, path);
    let _ = std::fs::remove_file(&temp);
    match linked {
        Ok(()) => Ok(key),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
            read_key(path)?.ok_or_else(|| std::io::Error::other(format!("{} is empty", path.display())))
        }
        Err(e) => Err(e),
    }
}

fn read_key(path: &Path) -> std::io::Result<Option<String>> {
    match std::fs::read_to_string(path) {
        Ok(text) if !text.trim().is_empty() => Ok(Some(text.trim().to_string())),
        Ok(_) => Err(std::io::Error::other(format!(
            "{} is empty: remove it to have a new key made",
            path.display()
        ))),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn query_of(url: &str) -> SignedQuery {
        let query = url.split_once('?').unwrap().1;
        serde_urlencoded::from_str(query).unwrap()
    }

    #[test]
    fn signs_as_dify_does() {
        // Dify: base64.urlsafe_b64encode(hmac.new(b"k", b"file-preview|f|1700000000|n", sha256).digest())
        let signer = FileSigner::new(b"k".to_vec(), "http://x", 300);
        assert_eq!(
            signer.sign("f", "1700000000", "n", false),
            "e_BW1IxEQIJSc5r7WlWrw4bt_aURheyMTqnZOdCdCYk="
        );
    }

    #[test]
    fn links_verify_until_they_expire() {
        let signer = FileSigner::new(b"secret".to_vec(), "http://127.0.0.1:5001", 300);
        let url = signer.signed_url_at("file-1", true, 1_000);
        assert!(url.starts_with("http://127.0.0.1:5001/files/file-1/file-preview?timestamp=1000&nonce="));
        assert!(url.ends_with("&as_attachment=true"));
        let query = query_of(&url);
        assert_eq!(query.nonce.len(), 32);
        assert!(signer.verify("file-1", &query, 1_000));
        assert!(signer.verify("file-1", &query, 1_300));
        assert!(!signer.verify("file-1", &query, 1_301), "expired");
        assert!(!signer.verify("file-2", &query, 1_000), "another file");
        let other_key = FileSigner::new(b"other".to_vec(), "http://127.0.0.1:5001", 300);
        assert!(!other_key.verify("file-1", &query, 1_000));
        let mut moved = query.clone();
        moved.timestamp = "1200".into();
        assert!(!signer.verify("file-1", &moved, 1_000), "timestamp is signed");
        let mut inline = query.clone();
        inline.as_attachment = None;
        assert!(
            !signer.verify("file-1", &inline, 1_000),
            "a download link cannot become inline"
        );
        let mut garbled = query;
        garbled.sign = "not base64!".into();
        assert!(!signer.verify("file-1", &garbled, 1_000));
    }

    #[test]
    fn the_generated_key_is_kept_private_and_reused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub").join(SECRET_KEY_FILE);
        let first = load_or_create_key(&path).unwrap();
        assert_eq!(first.len(), 64);
        assert_eq!(load_or_create_key(&path).unwrap(), first);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        assert_eq!(
            std::fs::read_dir(path.parent().unwrap()).unwrap().count(),
            1,
            "no temporary file left"
        );
        std::fs::write(&path, "").unwrap();
        assert!(load_or_create_key(&path).is_err(), "an empty key is never used");
    }
}
