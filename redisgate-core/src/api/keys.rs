//! Organization API keys.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::limits::Limits;

/// An API key as listed: never the key itself.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ApiKey {
    /// Identifier.
    pub id: Uuid,
    /// A name for people.
    pub name: String,
    /// The key's first characters, to recognise it.
    pub prefix: String,
    /// Granted scopes.
    pub scopes: Vec<super::Scope>,
    /// The one instance it is limited to, if any.
    pub instance_id: Option<Uuid>,
    /// The member who made it (its keys are revoked when they leave the organization).
    #[serde(default)]
    pub created_by: Option<Uuid>,
    /// Creation time.
    pub created_at: DateTime<Utc>,
    /// When it stops working; never if absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<DateTime<Utc>>,
    /// Limits of the requests made with this key, on top of the instance's (`{}`: none; servers from before
    /// limits send none).
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub limits: Limits,
}

/// A new key, with the secret: shown this once.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CreatedApiKey {
    /// The key.
    #[serde(flatten)]
    pub key: ApiKey,
    /// The secret (`rgk_…`). Store it now: only its hash is kept.
    pub secret: String,
}

/// A key to create.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct NewApiKey {
    /// A name for people (1–100 characters).
    pub name: String,
    /// Any of `instances:manage`, `data:write`, `data:read`.
    pub scopes: Vec<super::Scope>,
    /// Limit the key to one instance of the organization.
    #[serde(default)]
    pub instance_id: Option<Uuid>,
    /// Limits of the requests made with this key, on top of the instance's (all but `max_daily_requests`,
    /// which only instances have). Absent: none, and nothing is sent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<Object>))]
    pub limits: Option<Limits>,
    /// When the key stops working (in the future); absent: never.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<DateTime<Utc>>,
}

impl NewApiKey {
    /// A key called `name` with `scopes`, for every instance of the organization, without limits.
    pub fn new(name: impl Into<String>, scopes: impl IntoIterator<Item = super::Scope>) -> Self {
        Self {
            name: name.into(),
            scopes: scopes.into_iter().collect(),
            instance_id: None,
            limits: None,
            expires_at: None,
        }
    }

    /// The same key, expiring at `at`.
    #[must_use]
    pub fn expiring_at(mut self, at: DateTime<Utc>) -> Self {
        self.expires_at = Some(at);
        self
    }

    /// The same key, limited to one instance.
    #[must_use]
    pub fn for_instance(mut self, instance: Uuid) -> Self {
        self.instance_id = Some(instance);
        self
    }

    /// The same key with `limits`.
    #[must_use]
    pub fn with_limits(mut self, limits: Limits) -> Self {
        self.limits = Some(limits);
        self
    }
}
