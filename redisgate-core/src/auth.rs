//! Authentication primitives.
//!
//! Tokens and API keys are kept only as SHA-256 digests ([`TokenHash`]) and compared in constant time: the
//! gateway never holds a plaintext token after start-up, and each presented token is hashed before it is
//! compared, so neither timing nor a memory dump reveals one. Passwords are argon2id ([`password`]); the
//! management API's sessions are HS256 JWTs with issuer and expiry ([`jwt`]); new tokens and keys come from
//! [`token`].

#[cfg(feature = "accounts")]
pub mod jwt;
#[cfg(feature = "accounts")]
pub mod password;
pub mod token;

use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// The SHA-256 digest of a token. Its `Debug` never shows the digest.
#[derive(Clone, PartialEq, Eq)]
pub struct TokenHash([u8; 32]);

impl TokenHash {
    /// Hashes a plaintext token.
    #[must_use]
    pub fn of(token: &[u8]) -> Self {
        Self(Sha256::digest(token).into())
    }

    /// Compares the digest of `presented` with this one in constant time.
    #[must_use]
    pub fn matches(&self, presented: &[u8]) -> bool {
        self.equals(&Self::of(presented))
    }

    /// Compares two digests in constant time (hash a presented token once, then compare it with many).
    /// Word by word: the differences of the four 64-bit words are folded together, then compared with zero
    /// once (`subtle` compares a byte slice byte by byte behind an optimisation barrier each: ten times the
    /// instructions, and this runs for every request).
    #[must_use]
    pub fn equals(&self, other: &Self) -> bool {
        // 32 bytes are four words exactly: nothing remains.
        let (words, others) = (self.0.as_chunks::<8>().0, other.0.as_chunks::<8>().0);
        let difference =
            words.iter().zip(others).fold(0, |acc, (a, b)| acc | (u64::from_ne_bytes(*a) ^ u64::from_ne_bytes(*b)));
        difference.ct_eq(&0).into()
    }

    /// A digest read back from storage; `None` unless it is 32 bytes.
    #[must_use]
    pub fn from_bytes(bytes: &[u8]) -> Option<Self> {
        bytes.try_into().ok().map(Self)
    }

    /// The raw digest bytes, for storage.
    #[must_use]
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }
}

/// The credentials of an `Authorization` header value of the `Bearer` scheme (case-insensitive), blanks
/// trimmed; `None` for any other scheme. The data plane and the management API both read the header here.
#[must_use]
pub fn bearer(header: &[u8]) -> Option<&[u8]> {
    match header.get(..7) {
        Some(scheme) if scheme.eq_ignore_ascii_case(b"bearer ") => Some(header[7..].trim_ascii()),
        _ => None,
    }
}

impl std::fmt::Debug for TokenHash {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TokenHash(<redacted>)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_only_the_same_token() {
        let hash = TokenHash::of(b"secret");
        assert!(hash.matches(b"secret"));
        assert!(!hash.matches(b"secreT"));
        assert!(!hash.matches(b""));
        assert_eq!(format!("{hash:?}"), "TokenHash(<redacted>)");
    }

    #[test]
    fn digests_differing_in_any_one_bit_are_not_equal() {
        let hash = TokenHash::of(b"secret");
        assert!(hash.equals(&hash.clone()));
        for byte in 0..32 {
            for bit in 0..8 {
                let mut other = hash.clone();
                other.0[byte] ^= 1 << bit;
                assert!(!hash.equals(&other), "byte {byte}, bit {bit}");
            }
        }
    }

    #[test]
    fn bearer_takes_the_credentials_of_that_scheme_only() {
        assert_eq!(bearer(b"Bearer abc"), Some(&b"abc"[..]));
        assert_eq!(bearer(b"bEaReR  abc \t"), Some(&b"abc"[..]));
        assert_eq!(bearer(b"Bearer "), Some(&b""[..]));
        assert_eq!(bearer(b"Basic abc"), None);
        assert_eq!(bearer(b"Bearer"), None);
    }
}
