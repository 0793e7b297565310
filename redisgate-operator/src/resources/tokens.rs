//! An instance's REST tokens, for a gateway that reads its instances from Kubernetes
//! (`--directory kubernetes`): the operator mints a full and a read-only token into `<instance>-tokens`,
//! for the instance's users, and writes only their SHA-256 digests into the instance's status
//! (`status.tokenDigests`), where such a gateway reads them. That gateway reads no Secret but the password
//! Secret the status names (by name, never listing Secrets), so it never sees a token.
//!
//! The tokens are minted once. Setting the instance's [`ROTATE_ANNOTATION`] to a new value (say a
//! timestamp) mints new ones; the tokens Secret remembers the value it was minted for
//! ([`ROTATED_FOR_ANNOTATION`]), so each value rotates exactly once. Instances the control plane creates have
//! their tokens in PostgreSQL and get none here.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::Secret;
use k8s_openapi::ByteString;
use kube::ResourceExt as _;
use redisgate_core::auth::token::{generate, INSTANCE_TOKEN_PREFIX, READONLY_TOKEN_PREFIX};
use redisgate_core::auth::TokenHash;

use super::Desired;
use crate::crd::{RedisHttpInstance, TokenDigests};
use crate::naming::{LABEL_MANAGED_BY, PROVISIONER_MANAGER};

/// The instance's annotation whose new value asks for new tokens.
pub const ROTATE_ANNOTATION: &str = "redisgate.io/rotate-tokens";
/// The tokens Secret's annotation: the [`ROTATE_ANNOTATION`] value its tokens were minted for.
pub const ROTATED_FOR_ANNOTATION: &str = "redisgate.io/rotated-for";
/// Key of the full token in the tokens Secret.
pub const TOKEN_KEY: &str = "token";
/// Key of the read-only token.
pub const READONLY_TOKEN_KEY: &str = "readonly-token";

/// The two tokens of an instance.
#[derive(Clone, PartialEq, Eq)]
pub struct Tokens {
    /// May run every command the gateway offers.
    pub full: String,
    /// May run only reading commands.
    pub readonly: String,
}

impl std::fmt::Debug for Tokens {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Tokens(<redacted>)")
    }
}

impl Tokens {
    /// Two new tokens (`rgt_…`, `rgr_…`, 256 random bits each).
    #[must_use]
    pub fn generate() -> Self {
        Self { full: generate(INSTANCE_TOKEN_PREFIX).0, readonly: generate(READONLY_TOKEN_PREFIX).0 }
    }

    /// The tokens in a tokens Secret, if both are there.
    #[must_use]
    pub fn of(secret: &Secret) -> Option<Self> {
        let data = secret.data.as_ref()?;
        let text =
            |key: &str| data.get(key).and_then(|b| String::from_utf8(b.0.clone()).ok()).filter(|t| !t.is_empty());
        Some(Self { full: text(TOKEN_KEY)?, readonly: text(READONLY_TOKEN_KEY)? })
    }
}

/// Whether the operator mints tokens for `instance` (not for the control plane's own instances).
#[must_use]
pub fn wanted(instance: &RedisHttpInstance) -> bool {
    instance.labels().get(LABEL_MANAGED_BY).map(String::as_str) != Some(PROVISIONER_MANAGER)
}

/// The rotation `instance` asks for: its [`ROTATE_ANNOTATION`], or empty.
#[must_use]
pub fn rotation(instance: &RedisHttpInstance) -> String {
    instance.annotations().get(ROTATE_ANNOTATION).cloned().unwrap_or_default()
}

/// Whether `secret` holds tokens minted for `rotation`.
#[must_use]
pub fn current(secret: &Secret, rotation: &str) -> bool {
    secret.annotations().get(ROTATED_FOR_ANNOTATION).map_or("", String::as_str) == rotation
}

/// The tokens Secret for the users: both tokens, minted for `rotation`.
#[must_use]
pub fn secret(desired: &Desired, tokens: &Tokens, rotation: &str) -> Secret {
    let mut metadata = desired.meta(&desired.names.tokens);
    metadata.annotations = Some(BTreeMap::from([(ROTATED_FOR_ANNOTATION.to_owned(), rotation.to_owned())]));
    Secret {
        metadata,
        type_: Some("Opaque".to_owned()),
        data: Some(BTreeMap::from([
            (TOKEN_KEY.to_owned(), ByteString(tokens.full.clone().into_bytes())),
            (READONLY_TOKEN_KEY.to_owned(), ByteString(tokens.readonly.clone().into_bytes())),
        ])),
        ..Secret::default()
    }
}

/// The digests a gateway checks presented tokens against (for the instance's status).
#[must_use]
pub fn digests(tokens: &Tokens) -> TokenDigests {
    let digest = |token: &str| hex(TokenHash::of(token.as_bytes()).as_bytes());
    TokenDigests { full: digest(&tokens.full), readonly: digest(&tokens.readonly) }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
