//! Console tokens as Dify makes them: HS256 JWTs signed with the server's secret key. The access
//! token carries `{user_id, exp, iat, iss, sub: "Console API Passport"}`; the CSRF token is a JWT
//! whose `sub` is the user id. Refresh tokens are opaque random strings kept hashed in SQL. The
//! key is the server's session key (derived from the secret key, `crate::api::keys`).

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;

type HmacSha256 = Hmac<Sha256>;

pub const ACCESS_SUBJECT: &str = "Console API Passport";
/// Dify's `EDITION` for self-hosted installs.
pub const ISSUER: &str = "SELF_HOSTED";

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AccessClaims {
    pub user_id: String,
    pub exp: i64,
    #[serde(default)]
    pub iat: i64,
    pub iss: String,
    pub sub: String,
    /// The account's session version when issued (a ragd claim: a password change bumps it).
    #[serde(default)]
    pub sv: i64,
    /// The server-side session the token belongs to (a ragd claim): signing out ends it, and
    /// the token with it.
    #[serde(default)]
    pub sid: String,
}

/// Proof that the setup password (`RAGD_INIT_PASSWORD`) was given, kept in a cookie until
/// setup (Dify keeps `is_init_validated` in its session).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InitClaims {
    pub init_validated: bool,
    pub exp: i64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CsrfClaims {
    pub sub: String,
    pub exp: i64,
}

/// Signs and checks console tokens.
pub struct Passport {
    key: Vec<u8>,
}

impl Passport {
    pub fn new(secret_key: &[u8]) -> Self {
        Self {
            key: secret_key.to_vec(),
        }
    }

    pub fn issue_access(
        &self,
        user_id: &str,
        session_version: i64,
        session_id: &str,
        now: i64,
        ttl_secs: i64,
    ) -> String {
        self.encode(&AccessClaims {
            user_id: user_id.into(),
            exp: now + ttl_secs,
            iat: now,
            iss: ISSUER.into(),
            sub: ACCESS_SUBJECT.into(),
            sv: session_version,
            sid: session_id.into(),
        })
    }

    /// The claims of a valid, unexpired access token.
    pub fn verify_access(&self, token: &str, now: i64) -> Option<AccessClaims> {
        let claims: AccessClaims = self.decode(token)?;
        (claims.sub == ACCESS_SUBJECT && claims.exp > now).then_some(claims)
    }

    /// The session of an access token signed by this server, expired or not (signing out
    /// with an expired token still ends its session).
    pub fn session_of(&self, token: &str) -> Option<String> {
        let claims: AccessClaims = self.decode(token)?;
        (claims.sub == ACCESS_SUBJECT && !claims.sid.is_empty()).then_some(claims.sid)
    }

    pub fn issue_init(&self, now: i64, ttl_secs: i64) -> String {
        self.encode(&InitClaims {
            init_validated: true,
            exp: now + ttl_secs,
        })
    }

    /// Whether `token` is an unexpired proof of the setup password.
    pub fn verify_init(&self, token: &str, now: i64) -> bool {
        self.decode::<InitClaims>(token)
            .is_some_and(|c| c.init_validated && c.exp > now)
    }

    pub fn issue_csrf(&self, user_id: &str, now: i64, ttl_secs: i64) -> String {
        self.encode(&CsrfClaims {
            sub: user_id.into(),
            exp: now + ttl_secs,
        })
    }

    /// Whether `token` is an unexpired CSRF token of `user_id`.
    pub fn verify_csrf(&self, token: &str, user_id: &str, now: i64) -> bool {
        self.decode::<CsrfClaims>(token)
            .is_some_and(|c| c.sub == user_id && c.exp > now)
    }

    fn mac(&self) -> HmacSha256 {
        HmacSha256::new_from_slice(&self.key).expect("HMAC takes keys of any length")
    }

    fn encode<T: Serialize>(&self, claims: &T) -> String {
        let header = URL_SAFE_NO_PAD.encode(br#"{"alg":"HS256","typ":"JWT"}"#);
        let payload = URL_SAFE_NO_PAD.encode(serde_json::to_vec(claims).expect("claims serialize"));
        let signing_input = format!("{header}.{payload}");
        let mut mac = self.mac();
        mac.update(signing_input.as_bytes());
        let signature = URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes());
        format!("{signing_input}.{signature}")
    }

    /// The payload of a token signed with this key using HS256; any other algorithm is refused
    /// (no `none`, no key confusion).
    fn decode<T: for<'de> Deserialize<'de>>(&self, token: &str) -> Option<T> {
        let mut parts = token.trim().split('.');
        let (header, payload, signature) = (parts.next()?, parts.next()?, parts.next()?);
        if parts.next().is_some() {
            return None;
        }
        let header: serde_json::Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(header).ok()?).ok()?;
        if header.get("alg").and_then(|a| a.as_str()) != Some("HS256") {
            return None;
        }
        let mut mac = self.mac();
        mac.update(format!("{}.{payload}", token.trim().split('.').next()?).as_bytes());
        mac.verify_slice(&URL_SAFE_NO_PAD.decode(signature).ok()?).ok()?;
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).ok()?).ok()
    }
}

/// A new opaque refresh token (128 random bits twice, hex).
pub fn new_refresh_token() -> String {
    hex::encode(super::super::signing::random_bytes::<32>())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn access_tokens_verify_until_expiry_and_only_under_their_key() {
        let passport = Passport::new(b"secret");
        let token = passport.issue_access("u1", 0, "s1", 1000, 3600);
        let claims = passport.verify_access(&token, 1001).unwrap();
        assert_eq!(
            (claims.user_id.as_str(), claims.iat, claims.exp),
            ("u1", 1000, 4600)
        );
        assert!(passport.verify_access(&token, 4600).is_none(), "expired");
        assert!(Passport::new(b"other").verify_access(&token, 1001).is_none());
        assert_eq!(passport.session_of(&token).as_deref(), Some("s1"));
        assert_eq!(
            passport.session_of(&token).as_deref(),
            passport.verify_access(&token, 1001).map(|c| c.sid).as_deref()
        );
        // A CSRF token is not an access token, and a forged payload breaks the signature.
        let csrf = passport.issue_csrf("u1", 1000, 3600);
        assert!(passport.verify_access(&csrf, 1001).is_none());
        let mut parts: Vec<&str> = token.split('.').collect();
        let forged = URL_SAFE_NO_PAD
            .encode(br#"{"user_id":"admin","exp":99999,"iss":"SELF_HOSTED","sub":"Console API Passport"}"#);
        parts[1] = &forged;
        assert!(passport.verify_access(&parts.join("."), 1001).is_none());
    }

    #[test]
    fn unsigned_tokens_are_refused() {
        let passport = Passport::new(b"secret");
        let header = URL_SAFE_NO_PAD.encode(br#"{"alg":"none","typ":"JWT"}"#);
        let payload = URL_SAFE_NO_PAD
            .encode(br#"{"user_id":"u1","exp":99999,"iss":"SELF_HOSTED","sub":"Console API Passport"}"#);
        assert!(
            passport
                .verify_access(&format!("{header}.{payload}."), 1)
                .is_none()
        );
    }

    #[test]
    fn init_proofs_are_not_other_tokens() {
        let passport = Passport::new(b"secret");
        let init = passport.issue_init(1000, 60);
        assert!(passport.verify_init(&init, 1001));
        assert!(!passport.verify_init(&init, 1060), "expired");
        assert!(passport.verify_access(&init, 1001).is_none());
        let access = passport.issue_access("u1", 0, "s1", 1000, 60);
        assert!(!passport.verify_init(&access, 1001));
        assert!(!passport.verify_init(&passport.issue_csrf("u1", 1000, 60), 1001));
    }

    #[test]
    fn csrf_tokens_belong_to_one_user() {
        let passport = Passport::new(b"secret");
        let csrf = passport.issue_csrf("u1", 1000, 60);
        assert!(passport.verify_csrf(&csrf, "u1", 1001));
        assert!(!passport.verify_csrf(&csrf, "u2", 1001));
        assert!(!passport.verify_csrf(&csrf, "u1", 1060));
    }
}
