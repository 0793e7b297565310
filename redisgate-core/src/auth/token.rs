//! New secrets: instance tokens, API keys and Redis passwords.
//!
//! Each kind has a fixed, recognisable prefix so a leaked secret can be identified (and found by secret
//! scanners). NEVER CHANGE A PREFIX: existing secrets keep theirs.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use rand::RngCore as _;

use super::TokenHash;

/// Prefix of an instance's standard token.
pub const INSTANCE_TOKEN_PREFIX: &str = "rgt_";
/// Prefix of an instance's read-only token.
pub const READONLY_TOKEN_PREFIX: &str = "rgr_";
/// Prefix of an organization API key.
pub const API_KEY_PREFIX: &str = "rgk_";
/// Prefix of invitation codes.
pub const INVITATION_PREFIX: &str = "rgi_";

/// A new secret `<prefix><43 base64url characters>` (256 random bits) and its digest.
#[must_use]
pub fn generate(prefix: &str) -> (String, TokenHash) {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    let secret = format!("{prefix}{}", URL_SAFE_NO_PAD.encode(bytes));
    let hash = TokenHash::of(secret.as_bytes());
    (secret, hash)
}

/// A random password for a Redis server (256 bits, hex: safe in redis.conf and URLs).
#[must_use]
pub fn redis_password() -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_prefixed_random_and_hashed() {
        let (a, hash) = generate(API_KEY_PREFIX);
        let (b, _) = generate(API_KEY_PREFIX);
        assert!(a.starts_with("rgk_") && a.len() == 4 + 43);
        assert_ne!(a, b);
        assert!(hash.matches(a.as_bytes()));
        assert_eq!(redis_password().len(), 64);
    }
}
