//! RedisGate's management API: users, organizations, instances and API keys, per-instance and per-key
//! [`Limits`], and daily [`Usage`]. The bodies are the server's own types (`redisgate_core::api`),
//! re-exported here.
//!
//! ```no_run
//! # async fn demo() -> redisgate_client::Result<()> {
//! use redisgate_client::management::{Management, NewInstance};
//!
//! let api = Management::new("http://127.0.0.1:8080")?;
//! api.register("ada@example.com", "correct horse 1").await?;
//! let api = api.login("ada@example.com", "correct horse 1").await?;
//! let org = api.create_organization("Acme", "acme").await?;
//! let created = api.create_instance(org.id, &NewInstance::new("cache", 64 << 20, "7.2")).await?;
//! api.wait_until_running(org.id, created.instance.id, std::time::Duration::from_secs(30)).await?;
//! let redis = redisgate_client::Client::new(&created.credentials.rest_url_path, &created.credentials.token)?;
//! redis.set::<()>("hello", "world").await?;
//! # Ok(())
//! # }
//! ```

use std::time::Duration;

pub use redisgate_core::api::{
    Access, ApiKey, AuditEntry, CreatedApiKey, CreatedInstance, CreatedInvitation, DayUsage, Instance,
    InstanceCredentials, Invitation, Me, NewApiKey, NewInstance, Node, NodeRole, Organization, Plan, Role, Scope,
    Secrets, Session, TokenInfo, Topology, Usage, User,
};
use redisgate_core::api::{InstancePatch, InvitationCode, Login, NewInvitation, NewOrganization, PasswordChange};
pub use redisgate_core::limits::Limits;
pub use redisgate_core::provisioning::InstanceStatus;
use serde::de::DeserializeOwned;
use serde::Deserialize;
use uuid::Uuid;

use crate::{Error, Result};

mod backups;

pub use backups::{Backup, BackupPolicy, RestoreRequest, Restored, TRANSFER_TIMEOUT};

/// The response, or its error when it is not a 2xx (a JSON `{"error"}` as [`Error::Http`] with its status).
async fn checked(response: reqwest::Response) -> Result<reqwest::Response> {
    let status = response.status().as_u16();
    if (200..300).contains(&status) {
        return Ok(response);
    }
    let bytes = response.bytes().await?;
    Err(match crate::response::error(status, &bytes) {
        Error::Redis(message) => Error::Http { status, message },
        other => other,
    })
}

/// A request body: the management API's own wire type, as JSON.
fn body(value: &impl serde::Serialize) -> Result<serde_json::Value> {
    serde_json::to_value(value).map_err(|e| Error::Decode(e.to_string()))
}

/// How long [`Management::set_replicas`] and [`Management::set_shards`] wait for their answer: the platform
/// answers once the new servers run and, for shards, once the slots have moved with their keys, which takes
/// as long as the data takes to copy.
pub const SCALE_TIMEOUT: Duration = Duration::from_secs(3600);

/// A client for the management API at a gateway's base URL.
#[derive(Clone)]
pub struct Management {
    http: reqwest::Client,
    base: String,
    token: Option<String>,
}

impl std::fmt::Debug for Management {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Management")
            .field("base", &self.base)
            .field("token", &self.token.as_ref().map(|_| "<set>"))
            .finish()
    }
}

#[derive(Deserialize)]
struct Items<T> {
    items: Vec<T>,
}

impl Management {
    /// A client for the gateway at `base` (e.g. `http://127.0.0.1:8080`), without credentials yet.
    ///
    /// # Errors
    /// [`Error::Config`] for an invalid URL.
    pub fn new(base: impl Into<String>) -> Result<Self> {
        Self::with_ca(base, None)
    }

    /// As [`Management::new`], also trusting the CA in `ca_cert` (PEM) for an `https://` URL.
    ///
    /// # Errors
    /// [`Error::Config`] for an invalid URL or CA certificate.
    pub fn with_ca(base: impl Into<String>, ca_cert: Option<&[u8]>) -> Result<Self> {
        let base = base.into().trim_end_matches('/').to_owned();
        if !(base.starts_with("http://") || base.starts_with("https://")) {
            return Err(Error::Config(format!("the URL must start with http:// or https://, got {base:?}")));
        }
        let mut http =
            reqwest::Client::builder().connect_timeout(Duration::from_secs(5)).timeout(Duration::from_secs(30));
        if let Some(pem) = ca_cert {
            http = crate::response::trust(http, pem)?;
        }
        let http = http.build().map_err(|e| Error::Config(e.to_string()))?;
        Ok(Self { http, base, token: None })
    }

    /// The same client authenticating with `token` (a session JWT or an `rgk_` API key).
    #[must_use]
    pub fn with_token(mut self, token: impl Into<String>) -> Self {
        self.token = Some(token.into());
        self
    }

    /// The base URL.
    #[must_use]
    pub fn base(&self) -> &str {
        &self.base
    }

    async fn call<T: DeserializeOwned>(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<serde_json::Value>,
    ) -> Result<T> {
        self.call_within(method, path, body, None).await
    }

    /// As [`Management::call`], waiting up to `timeout` for the answer instead of the client's 30 s.
    async fn call_within<T: DeserializeOwned>(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<serde_json::Value>,
        timeout: Option<Duration>,
    ) -> Result<T> {
        let mut request = self.authorized(self.http.request(method, format!("{}/api{path}", self.base)));
        if let Some(timeout) = timeout {
            request = request.timeout(timeout);
        }
        if let Some(body) = body {
            request = request.header("content-type", "application/json").body(body.to_string());
        }
        let bytes = checked(request.send().await?).await?.bytes().await?;
        let bytes = if bytes.is_empty() { &b"null"[..] } else { &bytes[..] };
        serde_json::from_slice(bytes).map_err(|e| Error::Decode(e.to_string()))
    }

    /// `request` with the client's token, if it has one.
    fn authorized(&self, request: reqwest::RequestBuilder) -> reqwest::RequestBuilder {
        match &self.token {
            Some(token) => request.bearer_auth(token),
            None => request,
        }
    }

    /// Registers a user.
    ///
    /// # Errors
    /// [`Error::Validation`] (email, password), [`Error::Http`] 409 for a taken email, transport errors.
    pub async fn register(&self, email: &str, password: &str) -> Result<User> {
        self.call(
            reqwest::Method::POST,
            "/auth/register",
            Some(body(&Login { email: email.to_owned(), password: password.to_owned() })?),
        )
        .await
    }

    /// Logs in; returns a client carrying the session.
    ///
    /// # Errors
    /// [`Error::Auth`] for wrong credentials.
    pub async fn login(&self, email: &str, password: &str) -> Result<Self> {
        let session = self.session(email, password).await?;
        Ok(self.clone().with_token(session.token))
    }

    /// Logs in and returns the session itself.
    ///
    /// # Errors
    /// [`Error::Auth`] for wrong credentials.
    pub async fn session(&self, email: &str, password: &str) -> Result<Session> {
        let login = Login { email: email.to_owned(), password: password.to_owned() };
        self.call(reqwest::Method::POST, "/auth/login", Some(body(&login)?)).await
    }

    /// The caller and its organizations.
    ///
    /// # Errors
    /// [`Error::Auth`] without a valid token.
    pub async fn me(&self) -> Result<Me> {
        self.call(reqwest::Method::GET, "/me", None).await
    }

    /// The caller's organizations (first 100).
    ///
    /// # Errors
    /// As [`Management::me`].
    pub async fn organizations(&self) -> Result<Vec<Organization>> {
        Ok(self.call::<Items<_>>(reqwest::Method::GET, "/organizations?limit=100", None).await?.items)
    }

    /// Creates an organization (the caller becomes owner).
    ///
    /// # Errors
    /// [`Error::Validation`], 409 for a taken slug.
    pub async fn create_organization(&self, name: &str, slug: &str) -> Result<Organization> {
        let new = NewOrganization { name: name.to_owned(), slug: slug.to_owned() };
        self.call(reqwest::Method::POST, "/organizations", Some(body(&new)?)).await
    }

    /// Deletes an organization (it must have no instances).
    ///
    /// # Errors
    /// 403/404/409 as [`Error::Http`].
    pub async fn delete_organization(&self, org: Uuid) -> Result<()> {
        self.call::<serde_json::Value>(reqwest::Method::DELETE, &format!("/organizations/{org}"), None)
            .await
            .map(|_| ())
    }

    /// An organization's instances (first 100).
    ///
    /// # Errors
    /// 404 for an organization the caller cannot see.
    pub async fn instances(&self, org: Uuid) -> Result<Vec<Instance>> {
        let path = format!("/organizations/{org}/redis-instances?limit=100");
        Ok(self.call::<Items<_>>(reqwest::Method::GET, &path, None).await?.items)
    }

    /// Creates an instance; its tokens are in the answer, and only there.
    ///
    /// # Errors
    /// [`Error::Validation`], 409 for a taken name.
    pub async fn create_instance(&self, org: Uuid, instance: &NewInstance) -> Result<CreatedInstance> {
        self.call(reqwest::Method::POST, &format!("/organizations/{org}/redis-instances"), Some(body(instance)?)).await
    }

    /// One instance.
    ///
    /// # Errors
    /// 404 when it does not exist (or is not the caller's).
    pub async fn instance(&self, org: Uuid, id: Uuid) -> Result<Instance> {
        self.call(reqwest::Method::GET, &format!("/organizations/{org}/redis-instances/{id}"), None).await
    }

    /// Asks the platform to bring the instance's server back if it is recorded `running` without one, or
    /// to provision a `failed` instance again (`PUT …/status`). Wait with [`Management::wait_until_running`].
    ///
    /// # Errors
    /// 403/404 as [`Error::Http`].
    pub async fn resync(&self, org: Uuid, id: Uuid) -> Result<()> {
        let path = format!("/organizations/{org}/redis-instances/{id}/status");
        self.call::<serde_json::Value>(reqwest::Method::PUT, &path, None).await.map(drop)
    }

    /// Replaces an instance's limits entirely: fields unset in `limits` become unlimited, and
    /// [`Limits::unlimited()`] clears them all. Returns the instance as changed.
    ///
    /// # Errors
    /// [`Error::Validation`] for a 0 (fields named `limits.<field>`), 403/404 as [`Error::Http`].
    pub async fn set_instance_limits(&self, org: Uuid, id: Uuid, limits: &Limits) -> Result<Instance> {
        let path = format!("/organizations/{org}/redis-instances/{id}");
        let patch = InstancePatch { limits: Some(*limits), ..InstancePatch::default() };
        self.call(reqwest::Method::PATCH, &path, Some(body(&patch)?)).await
    }

    /// Gives a replicated instance `replicas` replicas (1 to 5), added or removed while it serves. Returns
    /// the instance as changed.
    ///
    /// # Errors
    /// [`Error::Validation`] (field `replicas`) for a count out of range or a standalone instance, 403 (the
    /// plan's memory, which counts every replica) and 404 as [`Error::Http`].
    pub async fn set_replicas(&self, org: Uuid, id: Uuid, replicas: u8) -> Result<Instance> {
        let path = format!("/organizations/{org}/redis-instances/{id}");
        let patch = InstancePatch { replicas: Some(replicas), ..InstancePatch::default() };
        self.call_within(reqwest::Method::PATCH, &path, Some(body(&patch)?), Some(SCALE_TIMEOUT)).await
    }

    /// Grows a cluster instance to `shards` shards: the new shards' servers start, and slots move to them,
    /// keys and all, while the instance serves (the call returns once they have moved).
    ///
    /// # Errors
    /// [`Error::Validation`] (field `shards`) for fewer shards than now, more than 16, or an instance that is
    /// not a cluster; 403 (the plan's memory, which counts every server) and 404 as [`Error::Http`].
    pub async fn set_shards(&self, org: Uuid, id: Uuid, shards: u8) -> Result<Instance> {
        let path = format!("/organizations/{org}/redis-instances/{id}");
        let patch = InstancePatch { shards: Some(shards), ..InstancePatch::default() };
        self.call_within(reqwest::Method::PATCH, &path, Some(body(&patch)?), Some(SCALE_TIMEOUT)).await
    }

    /// Commands run on an instance per UTC day over the last `days` days (1 to 90), today included.
    ///
    /// Gateways report their counts every few seconds, so the last seconds may be missing.
    ///
    /// # Errors
    /// [`Error::Validation`] (or a 4xx [`Error::Http`]) for `days` out of range, 404 as [`Error::Http`].
    pub async fn usage(&self, org: Uuid, id: Uuid, days: u32) -> Result<Usage> {
        let path = format!("/organizations/{org}/redis-instances/{id}/usage?days={days}");
        self.call(reqwest::Method::GET, &path, None).await
    }

    /// Starts deleting an instance.
    ///
    /// # Errors
    /// 404 when it does not exist.
    pub async fn delete_instance(&self, org: Uuid, id: Uuid) -> Result<Instance> {
        self.call(reqwest::Method::DELETE, &format!("/organizations/{org}/redis-instances/{id}"), None).await
    }

    /// Polls (every 250 ms) until the instance is `running`, at most `timeout`.
    ///
    /// # Errors
    /// [`Error::ProvisioningFailed`] with the provisioner's reason, [`Error::NotRunning`] when `timeout`
    /// passes first.
    pub async fn wait_until_running(&self, org: Uuid, id: Uuid, timeout: Duration) -> Result<Instance> {
        let started = tokio::time::Instant::now();
        loop {
            let instance = self.instance(org, id).await?;
            match instance.status {
                InstanceStatus::Running => return Ok(instance),
                InstanceStatus::Failed => {
                    let message = instance.status_message.unwrap_or_else(|| "no reason given".into());
                    return Err(Error::ProvisioningFailed { instance: instance.name, message });
                }
                _ if started.elapsed() > timeout => {
                    return Err(Error::NotRunning {
                        instance: instance.name,
                        status: instance.status,
                        waited: timeout,
                    });
                }
                _ => tokio::time::sleep(Duration::from_millis(250)).await,
            }
        }
    }

    /// Where an instance is reached, and which tokens exist.
    ///
    /// # Errors
    /// 403/404 as [`Error::Http`].
    pub async fn credentials(&self, org: Uuid, id: Uuid) -> Result<InstanceCredentials> {
        self.call(reqwest::Method::GET, &format!("/organizations/{org}/redis-instances/{id}/credentials"), None).await
    }

    /// Replaces an instance's tokens; the old ones stop working.
    ///
    /// # Errors
    /// 403/404 as [`Error::Http`].
    pub async fn rotate(&self, org: Uuid, id: Uuid) -> Result<Secrets> {
        let path = format!("/organizations/{org}/redis-instances/{id}/credentials/rotate");
        self.call(reqwest::Method::POST, &path, None).await
    }

    /// Creates an API key; its secret is in the answer, and only there.
    ///
    /// # Errors
    /// [`Error::Validation`] for unknown scopes.
    pub async fn create_api_key(
        &self,
        org: Uuid,
        name: &str,
        scopes: &[Scope],
        instance: Option<Uuid>,
    ) -> Result<CreatedApiKey> {
        let mut key = NewApiKey::new(name, scopes.iter().copied());
        key.instance_id = instance;
        self.create_api_key_with(org, &key).await
    }

    /// Creates an API key described by `key` (scopes, instance, limits); its secret is in the answer, and
    /// only there.
    ///
    /// # Errors
    /// [`Error::Validation`] for unknown scopes or invalid limits (`max_daily_requests` among them).
    pub async fn create_api_key_with(&self, org: Uuid, key: &NewApiKey) -> Result<CreatedApiKey> {
        self.call(reqwest::Method::POST, &format!("/organizations/{org}/api-keys"), Some(body(key)?)).await
    }

    /// An organization's active keys.
    ///
    /// # Errors
    /// 403/404 as [`Error::Http`].
    pub async fn api_keys(&self, org: Uuid) -> Result<Vec<ApiKey>> {
        Ok(self
            .call::<Items<_>>(reqwest::Method::GET, &format!("/organizations/{org}/api-keys?limit=100"), None)
            .await?
            .items)
    }

    /// Revokes a key.
    ///
    /// # Errors
    /// 404 when there is no such active key.
    pub async fn revoke_api_key(&self, org: Uuid, key: Uuid) -> Result<()> {
        let path = format!("/organizations/{org}/api-keys/{key}");
        self.call::<serde_json::Value>(reqwest::Method::DELETE, &path, None).await.map(|_| ())
    }

    /// Ends every session of the user (this client's included).
    ///
    /// # Errors
    /// 401 without a session, 403 for an API key.
    pub async fn logout(&self) -> Result<()> {
        self.call::<serde_json::Value>(reqwest::Method::POST, "/auth/logout", None).await.map(|_| ())
    }

    /// Changes the user's password; every other session ends. Returns the new session (use it with
    /// [`Management::with_token`]).
    ///
    /// # Errors
    /// 401 for a wrong current password, [`Error::Validation`] for a weak new one.
    pub async fn change_password(&self, current: &str, new: &str) -> Result<Session> {
        let change = PasswordChange { current_password: current.to_owned(), new_password: new.to_owned() };
        self.call(reqwest::Method::POST, "/auth/password", Some(body(&change)?)).await
    }

    /// The organization's plan and what it uses of it.
    ///
    /// # Errors
    /// 404 when the caller is not in the organization.
    pub async fn plan(&self, org: Uuid) -> Result<Plan> {
        self.call(reqwest::Method::GET, &format!("/organizations/{org}/plan"), None).await
    }

    /// The organization's newest audit entries (at most 100), newest first.
    ///
    /// # Errors
    /// 403 unless the caller administers the organization.
    pub async fn audit_log(&self, org: Uuid) -> Result<Vec<AuditEntry>> {
        let path = format!("/organizations/{org}/audit-log?limit=100");
        Ok(self.call::<Items<_>>(reqwest::Method::GET, &path, None).await?.items)
    }

    /// Invites `email` to the organization with `role`; pass the returned code to the invitee.
    ///
    /// # Errors
    /// 403 unless the caller administers the organization; [`Error::Validation`] for a bad email or role.
    pub async fn invite(&self, org: Uuid, email: &str, role: Role) -> Result<CreatedInvitation> {
        let invitation = NewInvitation { email: email.to_owned(), role };
        self.call(reqwest::Method::POST, &format!("/organizations/{org}/invitations"), Some(body(&invitation)?)).await
    }

    /// Accepts an invitation to the caller's email with its code; the caller joins the organization.
    ///
    /// # Errors
    /// 404 for an unknown or lapsed code (or one made for another email), 409 when already a member.
    pub async fn accept_invitation(&self, code: &str) -> Result<Organization> {
        let code = InvitationCode { code: code.to_owned() };
        self.call(reqwest::Method::POST, "/invitations/accept", Some(body(&code)?)).await
    }
}

#[cfg(test)]
mod tests {
    use std::num::NonZeroU64;

    use serde_json::json;

    use super::*;

    #[test]
    fn instances_and_keys_from_servers_without_limits_still_parse() {
        let id = Uuid::new_v4();
        let now = "2026-12-04T10:00:00Z";
        let instance: Instance = serde_json::from_value(json!({
            "id": id, "organization_id": id, "name": "a", "slug": "a", "max_memory": 1, "redis_version": "7.2",
            "status": "running", "status_message": null, "rest_url": "http://x/db/a",
            "created_at": now, "updated_at": now
        }))
        .unwrap();
        assert!(instance.limits.is_unlimited());
        assert_eq!(instance.status, InstanceStatus::Running);
        let key: ApiKey = serde_json::from_value(json!({
            "id": id, "name": "k", "prefix": "rgk_abc", "scopes": ["data:read"], "instance_id": null, "created_at": now
        }))
        .unwrap();
        assert!(key.limits.is_unlimited());
    }

    #[test]
    fn creation_bodies_carry_limits_only_when_given() {
        let plain = serde_json::to_value(NewInstance::new("a", 1 << 20, "7.2")).unwrap();
        assert_eq!(plain, json!({"name": "a", "max_memory": 1 << 20, "redis_version": "7.2"}));
        let limited = NewInstance::new("a", 1 << 20, "7.2")
            .with_limits(Limits { max_daily_requests: NonZeroU64::new(10), ..Limits::default() });
        assert_eq!(serde_json::to_value(limited).unwrap()["limits"], json!({"max_daily_requests": 10}));
        let key = serde_json::to_value(NewApiKey::new("k", [Scope::DataRead])).unwrap();
        assert_eq!(key, json!({"name": "k", "scopes": ["data:read"], "instance_id": null}));
        let key = NewApiKey::new("k", [Scope::DataRead])
            .for_instance(Uuid::nil())
            .with_limits(Limits { max_request_size: NonZeroU64::new(1 << 20), ..Limits::default() });
        let key = serde_json::to_value(key).unwrap();
        assert_eq!(key["limits"], json!({"max_request_size": 1 << 20}));
        assert_eq!(key["instance_id"], json!(Uuid::nil()));
    }

    #[test]
    fn usage_parses() {
        let usage: Usage = serde_json::from_value(json!({
            "instance_id": Uuid::nil(),
            "days": [{"day": "2026-11-25", "commands": 0}, {"day": "2026-11-26", "commands": 1234}],
            "total": 1234
        }))
        .unwrap();
        assert_eq!(usage.days.len(), 2);
        assert_eq!(usage.days[1].day.to_string(), "2026-11-26");
        assert_eq!(usage.days[1].commands, 1234);
        assert_eq!(usage.total, 1234);
    }
}
