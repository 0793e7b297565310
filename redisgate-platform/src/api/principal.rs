//! Who is calling, and what they may do in an organization.
//!
//! A caller is a user (a JWT from `/api/auth/login`) or an organization API key (`rgk_…`). Authorization
//! answers 404 for anything outside the caller's organizations, so existence never leaks; 403 only when the
//! caller can see the thing but its role or scopes do not allow the action.

use crate::Error;
use axum::extract::FromRequestParts;
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use diesel_async::AsyncPgConnection;
pub use redisgate_core::api::Need;
use redisgate_core::api::{Role, Scope};
use redisgate_core::auth::token::API_KEY_PREFIX;
use redisgate_core::auth::{bearer, TokenHash};
use redisgate_core::store::{ApiKey, AuditEntry, Organization, User};
use uuid::Uuid;

use super::Platform;

/// The authenticated caller.
#[derive(Debug, Clone)]
pub enum Principal {
    /// A user with a valid session.
    User(User),
    /// An organization API key.
    Key(ApiKey),
}

/// The caller's standing in one organization.
#[derive(Debug, Clone)]
pub struct OrgAccess {
    /// The organization.
    pub org: Organization,
    /// The user's role (`None` for an API key).
    pub role: Option<Role>,
    /// The key's single instance, if it is limited to one.
    pub only_instance: Option<Uuid>,
}

/// The 401 of a management route, saying what to send.
fn no_session() -> Error {
    Error::BadCredentials(
        "missing, invalid or expired credentials: send Authorization: Bearer <token from POST /api/auth/login, or an rgk_ API key>",
    )
}

impl FromRequestParts<Platform> for Principal {
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, platform: &Platform) -> Result<Self, Self::Rejection> {
        let header = parts.headers.get(AUTHORIZATION).ok_or(no_session())?.as_bytes();
        let token = bearer(header).and_then(|t| std::str::from_utf8(t).ok()).ok_or(no_session())?;
        Self::from_token(platform, token).await
    }
}

impl Principal {
    /// The caller a session token or an `rgk_` API key names (the dashboard's session cookie holds a session
    /// token).
    ///
    /// # Errors
    /// [`Error::BadCredentials`] when it names nobody (or a session that ended), database errors.
    pub async fn from_token(platform: &Platform, token: &str) -> Result<Self, Error> {
        let mut conn = platform.pool.get().await?;
        if token.starts_with(API_KEY_PREFIX) {
            let hash = TokenHash::of(token.as_bytes());
            return ApiKey::find_active_by_hash(&mut conn, hash.as_bytes()).await?.map(Self::Key).ok_or(no_session());
        }
        let claims = platform.jwt.verify(token).map_err(|_| no_session())?;
        let id = Uuid::parse_str(&claims.subject).map_err(|_| no_session())?;
        // A session from before the user logged out or changed the password has ended.
        let user = User::find(&mut conn, id).await?.filter(|u| i64::from(u.session_version) == claims.version);
        user.map(Self::User).ok_or(no_session())
    }

    /// The user, for routes only a user may call (a key gets 403).
    ///
    /// # Errors
    /// [`Error::Forbidden`] for an API key.
    pub fn user(&self) -> Result<&User, Error> {
        match self {
            Self::User(user) => Ok(user),
            Self::Key(_) => Err(Error::Forbidden("this route needs a user's session, not an API key")),
        }
    }

    /// Checks that the caller may do `need` in organization `org`.
    ///
    /// # Errors
    /// 404 when the caller is not in the organization, 403 when it is but may not do this.
    pub async fn authorize(&self, conn: &mut AsyncPgConnection, org: Uuid, need: Need) -> Result<OrgAccess, Error> {
        match self {
            Self::User(user) => {
                let (org, role) =
                    Organization::find_for_user(conn, org, user.id).await?.ok_or(Error::NotFound("organization"))?;
                if !role.allows(need) {
                    return Err(Error::Forbidden("your role in this organization does not allow this"));
                }
                Ok(OrgAccess { org, role: Some(role), only_instance: None })
            }
            Self::Key(key) => {
                if key.organization_id != org {
                    return Err(Error::NotFound("organization"));
                }
                let org = Organization::find(conn, org).await?.ok_or(Error::NotFound("organization"))?;
                if !Scope::allow(&key.scopes, need) {
                    return Err(Error::Forbidden("this API key's scopes do not allow this"));
                }
                Ok(OrgAccess { org, role: None, only_instance: key.instance_id })
            }
        }
    }

    /// Appends an audit entry for an action of this caller.
    ///
    /// # Errors
    /// Database errors.
    pub async fn audit(
        &self,
        conn: &mut AsyncPgConnection,
        org: Option<Uuid>,
        action: &str,
        target_type: &str,
        target_id: Option<Uuid>,
        details: serde_json::Value,
    ) -> Result<(), Error> {
        let (user, key) = match self {
            Self::User(user) => (Some(user.id), None),
            Self::Key(key) => (None, Some(key.id)),
        };
        AuditEntry {
            organization_id: org,
            actor_user_id: user,
            actor_api_key_id: key,
            action,
            target_type,
            target_id,
            details,
        }
        .insert(conn)
        .await?;
        Ok(())
    }
}
