//! The password Secrets: the gateway user's (`<instance>-auth`) and the admin user's (`<instance>-admin`),
//! each created once with a CSPRNG password under key `password`, never re-applied, so a reconcile can never
//! rotate a password by accident (server-side apply of a freshly generated value would). A user may name an
//! existing Secret for the gateway's user instead; the operator then only reads it.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::Secret;
use k8s_openapi::ByteString;

use super::Desired;
use crate::{Error, Result};

/// The key of the password in the Secret (the Redis Enterprise convention).
pub const PASSWORD_KEY: &str = "password";

/// A new Secret `name` holding `password`, owned by the instance.
#[must_use]
pub fn build(desired: &Desired, name: &str, password: &str) -> Secret {
    Secret {
        metadata: desired.meta(name),
        type_: Some("Opaque".to_owned()),
        data: Some(BTreeMap::from([(PASSWORD_KEY.to_owned(), ByteString(password.as_bytes().to_vec()))])),
        ..Secret::default()
    }
}

/// A new random password: 256 bits from the OS's CSPRNG, hex (no quoting trouble anywhere).
#[must_use]
pub fn generate_password() -> String {
    redisgate_core::auth::token::redis_password()
}

/// The password stored in `secret`.
///
/// # Errors
/// [`Error::SecretInvalid`] when the key is missing, empty or not UTF-8.
pub fn password_of(secret: &Secret) -> Result<String> {
    let name = secret.metadata.name.clone().unwrap_or_default();
    let value = secret.data.as_ref().and_then(|d| d.get(PASSWORD_KEY)).map(|b| b.0.clone());
    match value.map(String::from_utf8) {
        Some(Ok(password)) if !password.is_empty() => Ok(password),
        _ => Err(Error::SecretInvalid(name)),
    }
}
