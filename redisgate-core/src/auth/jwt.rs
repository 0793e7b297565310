//! Management API sessions: HS256 JWTs with subject, issuer, issue and expiry times.
//!
//! The algorithm is pinned (a token claiming any other algorithm, `none` included, is refused), the issuer
//! must match and expiry is required. The secret is loaded once into [`JwtKeys`].

use jsonwebtoken::{decode, encode, Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde_json::json;

use crate::{Error, Result};

/// The `iss` of every token RedisGate issues.
pub const ISSUER: &str = "redisgate";

/// The shortest secret accepted (bytes).
pub const MIN_SECRET_LEN: usize = 32;

/// Keys and validation rules, built once from the configured secret.
pub struct JwtKeys {
    encoding: EncodingKey,
    decoding: DecodingKey,
    validation: Validation,
}

impl std::fmt::Debug for JwtKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("JwtKeys(<redacted>)")
    }
}

impl JwtKeys {
    /// Keys from a secret of at least [`MIN_SECRET_LEN`] bytes.
    ///
    /// # Errors
    /// [`Error::InvalidRequest`] for a short secret.
    pub fn new(secret: &[u8]) -> Result<Self> {
        if secret.len() < MIN_SECRET_LEN {
            return Err(Error::invalid(format!("the JWT secret must be at least {MIN_SECRET_LEN} bytes")));
        }
        let mut validation = Validation::new(Algorithm::HS256);
        validation.set_issuer(&[ISSUER]);
        validation.set_required_spec_claims(&["exp", "iss", "sub"]);
        validation.leeway = 5;
        Ok(Self { encoding: EncodingKey::from_secret(secret), decoding: DecodingKey::from_secret(secret), validation })
    }

    /// A token for `subject` at session version `version` (claim `ver`), valid for `ttl_secs` from `now`
    /// (seconds since the epoch).
    ///
    /// # Errors
    /// [`Error::Internal`] if signing fails.
    pub fn issue(&self, subject: &str, version: i64, now: i64, ttl_secs: i64) -> Result<String> {
        let claims = json!({ "sub": subject, "ver": version, "iss": ISSUER, "iat": now, "exp": now + ttl_secs });
        encode(&Header::new(Algorithm::HS256), &claims, &self.encoding)
            .map_err(|e| Error::Internal(format!("JWT signing failed: {e}")))
    }

    /// The subject and session version of a valid token (a token without `ver` is at version 0).
    ///
    /// # Errors
    /// [`Error::Unauthenticated`] for a bad signature, algorithm, issuer, or an expired token.
    pub fn verify(&self, token: &str) -> Result<Claims> {
        let data =
            decode::<serde_json::Value>(token, &self.decoding, &self.validation).map_err(|_| Error::Unauthenticated)?;
        let subject = data.claims["sub"].as_str().map(str::to_owned).ok_or(Error::Unauthenticated)?;
        let version =
            data.claims.get("ver").map_or(Some(0), serde_json::Value::as_i64).ok_or(Error::Unauthenticated)?;
        Ok(Claims { subject, version })
    }
}

/// What a valid session token says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Claims {
    /// Who it is for (a user id).
    pub subject: String,
    /// The user's session version when it was issued: a token of an older version is ended.
    pub version: i64,
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &[u8] = b"0123456789abcdef0123456789abcdef";

    fn now() -> i64 {
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() as i64
    }

    #[test]
    fn round_trip_and_refusals() {
        let keys = JwtKeys::new(SECRET).unwrap();
        let token = keys.issue("user-1", 3, now(), 60).unwrap();
        assert_eq!(keys.verify(&token).unwrap(), Claims { subject: "user-1".into(), version: 3 });
        let expired = keys.issue("user-1", 3, now() - 3600, 60).unwrap();
        assert!(keys.verify(&expired).is_err());
        let other = JwtKeys::new(b"another-secret-another-secret-xx").unwrap();
        assert!(other.verify(&token).is_err(), "wrong secret");
        // alg=none with the same claims.
        let parts: Vec<&str> = token.split('.').collect();
        let none_header =
            base64::Engine::encode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, br#"{"alg":"none","typ":"JWT"}"#);
        assert!(keys.verify(&format!("{none_header}.{}.", parts[1])).is_err());
        assert!(JwtKeys::new(b"short").is_err());
        assert_eq!(format!("{keys:?}"), "JwtKeys(<redacted>)");
    }
}
