//! Password hashing with argon2id (the crate's defaults: OWASP's m=19 MiB, t=2, p=1).

use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;

use crate::{Error, Result};

/// The shortest password accepted.
pub const MIN_LENGTH: usize = 10;

/// Hashes `password` into a PHC string (`$argon2id$v=19$...`) with a fresh random salt.
///
/// # Errors
/// [`Error::Internal`] if hashing fails (it does not with valid parameters).
pub fn hash(password: &str) -> Result<String> {
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| Error::Internal(format!("password hashing failed: {e}")))
}

/// Whether `password` matches the PHC string `hash` (argon2's comparison is constant-time).
#[must_use]
pub fn verify(password: &str, hash: &str) -> bool {
    PasswordHash::new(hash).is_ok_and(|parsed| Argon2::default().verify_password(password.as_bytes(), &parsed).is_ok())
}

/// Why a password is too weak, or `None`.
#[must_use]
pub fn weakness(password: &str) -> Option<String> {
    if password.chars().count() < MIN_LENGTH {
        return Some(format!("must be at least {MIN_LENGTH} characters"));
    }
    if password.len() > 1024 {
        return Some("must be at most 1024 bytes".into());
    }
    let classes = [
        password.chars().any(|c| c.is_ascii_lowercase()),
        password.chars().any(|c| c.is_ascii_uppercase()),
        password.chars().any(|c| c.is_ascii_digit()),
        password.chars().any(|c| !c.is_ascii_alphanumeric()),
    ];
    (classes.iter().filter(|c| **c).count() < 2)
        .then(|| "must mix at least two of: lower case, upper case, digits, symbols".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_verify_and_differ_by_salt() {
        let a = hash("correct horse 1").unwrap();
        let b = hash("correct horse 1").unwrap();
        assert!(a.starts_with("$argon2id$"));
        assert_ne!(a, b);
        assert!(verify("correct horse 1", &a));
        assert!(!verify("correct horse 2", &a));
        assert!(!verify("x", "not a hash"));
    }

    #[test]
    fn weak_passwords_are_named() {
        assert!(weakness("short1").is_some());
        assert!(weakness("alllowercaseletters").is_some());
        assert!(weakness("lowercase and 1 digit").is_none());
    }
}
