//! Users, sessions, organizations and their members.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// An email and a password: the body of register and of login.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct Login {
    /// Email address (case-insensitive).
    pub email: String,
    /// At least 10 characters mixing two of: lower case, upper case, digits, symbols.
    pub password: String,
}

/// A new password for the caller.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct PasswordChange {
    /// The password now.
    pub current_password: String,
    /// The new one (the same rules as at registration).
    pub new_password: String,
}

/// A user.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct User {
    /// Identifier.
    pub id: Uuid,
    /// Email.
    pub email: String,
    /// Registration time.
    pub created_at: DateTime<Utc>,
}

/// A session from login.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Session {
    /// The JWT to send as `Authorization: Bearer <token>`.
    pub token: String,
    /// When it expires.
    pub expires_at: DateTime<Utc>,
    /// The user.
    pub user: User,
}

/// The caller and its organizations.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Me {
    /// The user (absent for an API key).
    pub user: Option<User>,
    /// Organizations the caller can see, with its role.
    pub organizations: Vec<Organization>,
}

/// An organization.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Organization {
    /// Identifier.
    pub id: Uuid,
    /// Display name.
    pub name: String,
    /// Unique slug.
    pub slug: String,
    /// The caller's role (absent for an API key).
    pub role: Option<super::Role>,
    /// Its plan, which the platform's operator sets (`GET .../plan` shows what it allows).
    #[serde(default)]
    pub plan: String,
    /// Creation time.
    pub created_at: DateTime<Utc>,
}

/// A new organization.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct NewOrganization {
    /// Display name, 1–100 characters.
    pub name: String,
    /// Unique slug (a-z, 0-9, '-'; 3–63 characters).
    pub slug: String,
}

/// Changes to an organization.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct OrganizationPatch {
    /// New display name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// New slug.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub slug: Option<String>,
}

/// A member of an organization.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Member {
    /// The user.
    pub user_id: Uuid,
    /// Their email.
    pub email: String,
    /// `owner`, `admin` or `member`.
    pub role: super::Role,
    /// When they joined.
    pub joined_at: DateTime<Utc>,
}

/// Someone to invite.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct NewInvitation {
    /// The invitee's email: only the account with this email can accept.
    pub email: String,
    /// `owner`, `admin` or `member`.
    pub role: super::Role,
}

/// A pending invitation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Invitation {
    /// Identifier.
    pub id: Uuid,
    /// The organization to join.
    pub organization_id: Uuid,
    /// Who may accept it.
    pub email: String,
    /// The role the invitee gets.
    pub role: super::Role,
    /// The admin who made it.
    pub invited_by: Option<Uuid>,
    /// When it was made.
    pub created_at: DateTime<Utc>,
    /// When it lapses.
    pub expires_at: DateTime<Utc>,
}

/// A new invitation, with its code: shown this once. Pass the code to the invitee, who accepts with it.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CreatedInvitation {
    /// The invitation.
    #[serde(flatten)]
    pub invitation: Invitation,
    /// The code (`rgi_…`); only its hash is kept.
    pub code: String,
}

/// An invitation's code, to accept it.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct InvitationCode {
    /// The code the inviting admin passed on.
    pub code: String,
}

/// A role change.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct RoleChange {
    /// `owner`, `admin` or `member`.
    pub role: super::Role,
}
