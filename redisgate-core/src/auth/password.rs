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

/// The least zxcvbn score accepted (0–4): 3 is "safely unguessable", beyond what a throttled online guesser
/// tries.
const MIN_SCORE: zxcvbn::Score = zxcvbn::Score::Three;

/// Why a password is too weak for the account `email`, or `None`: too short, one kind of character, or
/// easy to guess (common passwords, words with digits, keyboard patterns, the email itself: zxcvbn's
/// estimate).
#[must_use]
pub fn weakness(password: &str, email: &str) -> Option<String> {
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
    if classes.iter().filter(|c| **c).count() < 2 {
        return Some("must mix at least two of: lower case, upper case, digits, symbols".into());
    }
    let local = email.split('@').next().unwrap_or_default();
    let estimate = zxcvbn::zxcvbn(password, &[email, local]);
    (estimate.score() < MIN_SCORE).then(|| {
        let hint = estimate.feedback().and_then(|f| f.warning()).map(|w| format!(" ({w})")).unwrap_or_default();
        format!("is too easy to guess{hint}: try a few unrelated words")
    })
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
        assert!(weakness("short1", "a@b.c").is_some());
        assert!(weakness("alllowercaseletters", "a@b.c").is_some());
        assert!(weakness("lowercase and 1 digit", "a@b.c").is_none());
        for guessable in ["password12", "Password123", "qwertyuiop1", "abc12345678"] {
            let problem = weakness(guessable, "a@b.c").unwrap_or_default();
            assert!(problem.contains("too easy to guess"), "{guessable}: {problem:?}");
        }
        assert!(weakness("alice.smith2024", "alice.smith@example.com").is_some(), "the email's own name");
    }
}
