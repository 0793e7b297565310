//! RedisGate's management API: users, organizations, instances and API keys, per-instance and per-key
//! [`Limits`], and daily [`Usage`].
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

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::json;
use uuid::Uuid;

use crate::{Error, Result};

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

/// A user.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct User {
    /// Identifier.
    pub id: Uuid,
    /// Email.
    pub email: String,
}

/// A session from [`Management::login`].
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Session {
    /// The JWT.
    pub token: String,
    /// When it expires (RFC 3339).
    pub expires_at: String,
    /// The user.
    pub user: User,
}

/// An organization.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Organization {
    /// Identifier.
    pub id: Uuid,
    /// Display name.
    pub name: String,
    /// Unique slug.
    pub slug: String,
    /// The caller's role.
    pub role: Option<String>,
}

/// An instance.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Instance {
    /// Identifier.
    pub id: Uuid,
    /// Owning organization.
    pub organization_id: Uuid,
    /// Globally unique name.
    pub name: String,
    /// Slug in the organization.
    pub slug: String,
    /// `maxmemory` in bytes.
    pub max_memory: i64,
    /// Requested Redis version.
    pub redis_version: String,
    /// `pending`, `provisioning`, `running`, `failed` or `deleting`.
    pub status: String,
    /// Why, when failed.
    pub status_message: Option<String>,
    /// REST URL.
    pub rest_url: String,
    /// Its limits (`{}`, the default, is unlimited; servers without limits send none).
    #[serde(default)]
    pub limits: Limits,
}

/// Limits of an instance or an API key; an absent (`None`) field is unlimited.
///
/// A request made with an API key is held to both the key's limits and its instance's. Every value must be
/// at least 1: the server answers [`Error::Validation`] naming the field (e.g. `limits.max_key_size`)
/// otherwise. The serialized form omits unset fields, so [`Limits::default()`] is `{}`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Limits {
    /// Redis commands per second (a pipeline of 10 commands counts 10).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_requests_per_second: Option<u32>,
    /// Redis commands per UTC day (instances only: keys refuse it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_daily_requests: Option<u64>,
    /// Concurrent connections (open requests and subscriptions).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_concurrent_connections: Option<u32>,
    /// Bytes in one request.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_request_size: Option<u64>,
    /// Bytes in the largest single argument of a command.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_record_size: Option<u64>,
    /// Bytes in a key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_key_size: Option<u64>,
}

impl Limits {
    /// No limit at all (`{}`).
    #[must_use]
    pub fn unlimited() -> Self {
        Self::default()
    }

    /// Whether no field is set.
    #[must_use]
    pub fn is_unlimited(&self) -> bool {
        *self == Self::default()
    }
}

/// Commands run on an instance per UTC day, from [`Management::usage`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Usage {
    /// The instance.
    pub instance_id: Uuid,
    /// One entry per day, oldest first, ending today; days without commands are included (as 0).
    pub days: Vec<DayUsage>,
    /// The sum over `days`.
    pub total: u64,
}

/// One day of [`Usage`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DayUsage {
    /// The UTC day, `YYYY-MM-DD`.
    pub day: String,
    /// Redis commands run that day (a pipeline of 10 counts 10).
    pub commands: u64,
}

/// An instance to create.
#[derive(Debug, Clone, Serialize)]
pub struct NewInstance {
    /// Globally unique name.
    pub name: String,
    /// Optional slug.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub slug: Option<String>,
    /// `maxmemory` in bytes.
    pub max_memory: i64,
    /// Redis version.
    pub redis_version: String,
    /// Its limits (`None`: unlimited, and nothing is sent, so servers without limits accept it).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub limits: Option<Limits>,
}

impl NewInstance {
    /// An instance named `name` with `max_memory` bytes and `redis_version`, without limits.
    pub fn new(name: impl Into<String>, max_memory: i64, redis_version: impl Into<String>) -> Self {
        Self { name: name.into(), slug: None, max_memory, redis_version: redis_version.into(), limits: None }
    }

    /// The same instance with `limits`.
    #[must_use]
    pub fn with_limits(mut self, limits: Limits) -> Self {
        self.limits = Some(limits);
        self
    }
}

/// An API key to create, for [`Management::create_api_key_with`].
#[derive(Debug, Clone, Serialize)]
pub struct NewApiKey {
    /// A name for people.
    pub name: String,
    /// `instances:manage`, `data:write`, `data:read`.
    pub scopes: Vec<String>,
    /// Limit it to this instance of the organization.
    pub instance_id: Option<Uuid>,
    /// Its limits (`None`: unlimited, and nothing is sent). `max_daily_requests` is refused for keys.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub limits: Option<Limits>,
}

impl NewApiKey {
    /// A key called `name` with `scopes`, for every instance of the organization, without limits.
    pub fn new<S: Into<String>>(name: impl Into<String>, scopes: impl IntoIterator<Item = S>) -> Self {
        Self {
            name: name.into(),
            scopes: scopes.into_iter().map(Into::into).collect(),
            instance_id: None,
            limits: None,
        }
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

/// An instance's secrets (shown at creation and rotation only).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Secrets {
    /// REST URL.
    pub rest_url: String,
    /// REST URL by path prefix.
    pub rest_url_path: String,
    /// Standard token.
    pub token: String,
    /// Read-only token.
    pub readonly_token: String,
}

/// A created instance and its secrets.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CreatedInstance {
    /// The instance.
    pub instance: Instance,
    /// Its tokens.
    pub credentials: Secrets,
}

/// Where an instance is reached and which tokens exist.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Credentials {
    /// REST URL.
    pub rest_url: String,
    /// REST URL by path prefix.
    pub rest_url_path: String,
    /// Active tokens (access, creation time).
    pub tokens: Vec<serde_json::Value>,
}

/// An API key as listed.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ApiKey {
    /// Identifier.
    pub id: Uuid,
    /// Name.
    pub name: String,
    /// The key's first characters.
    pub prefix: String,
    /// Scopes.
    pub scopes: Vec<String>,
    /// Limited to this instance, if any.
    pub instance_id: Option<Uuid>,
    /// Its limits (`{}`, the default, is unlimited); requests are also held to the instance's.
    #[serde(default)]
    pub limits: Limits,
    /// The secret: only in the answer to [`Management::create_api_key`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret: Option<String>,
}

#[derive(Deserialize)]
struct Page<T> {
    items: Vec<T>,
}

impl Management {
    /// A client for the gateway at `base` (e.g. `http://127.0.0.1:8080`), without credentials yet.
    ///
    /// # Errors
    /// [`Error::Config`] for an invalid URL.
    pub fn new(base: impl Into<String>) -> Result<Self> {
        let base = base.into().trim_end_matches('/').to_owned();
        if !(base.starts_with("http://") || base.starts_with("https://")) {
            return Err(Error::Config(format!("the URL must start with http:// or https://, got {base:?}")));
        }
        let http = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(5))
            .timeout(Duration::from_secs(30))
            .build()
            .map_err(|e| Error::Config(e.to_string()))?;
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
        let mut request = self.http.request(method, format!("{}/api{path}", self.base));
        if let Some(token) = &self.token {
            request = request.bearer_auth(token);
        }
        if let Some(body) = body {
            request = request.header("content-type", "application/json").body(body.to_string());
        }
        let response = request.send().await?;
        let status = response.status().as_u16();
        let bytes = response.bytes().await?;
        if !(200..300).contains(&status) {
            return Err(match crate::response::error(status, &bytes) {
                Error::Redis(message) => Error::Http { status, message },
                other => other,
            });
        }
        let bytes = if bytes.is_empty() { &b"null"[..] } else { &bytes[..] };
        serde_json::from_slice(bytes).map_err(|e| Error::Decode(e.to_string()))
    }

    /// Registers a user.
    ///
    /// # Errors
    /// [`Error::Validation`] (email, password), [`Error::Http`] 409 for a taken email, transport errors.
    pub async fn register(&self, email: &str, password: &str) -> Result<User> {
        self.call(reqwest::Method::POST, "/auth/register", Some(json!({"email": email, "password": password}))).await
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
        self.call(reqwest::Method::POST, "/auth/login", Some(json!({"email": email, "password": password}))).await
    }

    /// The caller and its organizations.
    ///
    /// # Errors
    /// [`Error::Auth`] without a valid token.
    pub async fn me(&self) -> Result<serde_json::Value> {
        self.call(reqwest::Method::GET, "/me", None).await
    }

    /// The caller's organizations (first 100).
    ///
    /// # Errors
    /// As [`Management::me`].
    pub async fn organizations(&self) -> Result<Vec<Organization>> {
        Ok(self.call::<Page<_>>(reqwest::Method::GET, "/organizations?limit=100", None).await?.items)
    }

    /// Creates an organization (the caller becomes owner).
    ///
    /// # Errors
    /// [`Error::Validation`], 409 for a taken slug.
    pub async fn create_organization(&self, name: &str, slug: &str) -> Result<Organization> {
        self.call(reqwest::Method::POST, "/organizations", Some(json!({"name": name, "slug": slug}))).await
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
        Ok(self.call::<Page<_>>(reqwest::Method::GET, &path, None).await?.items)
    }

    /// Creates an instance; its tokens are in the answer, and only there.
    ///
    /// # Errors
    /// [`Error::Validation`], 409 for a taken name.
    pub async fn create_instance(&self, org: Uuid, instance: &NewInstance) -> Result<CreatedInstance> {
        let body = serde_json::to_value(instance).map_err(|e| Error::Decode(e.to_string()))?;
        self.call(reqwest::Method::POST, &format!("/organizations/{org}/redis-instances"), Some(body)).await
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
        self.call(reqwest::Method::PATCH, &path, Some(json!({ "limits": limits }))).await
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
            match instance.status.as_str() {
                "running" => return Ok(instance),
                "failed" => {
                    let message = instance.status_message.unwrap_or_else(|| "no reason given".into());
                    return Err(Error::ProvisioningFailed { instance: instance.name, message });
                }
                _ if started.elapsed() > timeout => {
                    return Err(Error::NotRunning { instance: instance.name, status: instance.status, waited: timeout })
                }
                _ => tokio::time::sleep(Duration::from_millis(250)).await,
            }
        }
    }

    /// Where an instance is reached, and which tokens exist.
    ///
    /// # Errors
    /// 403/404 as [`Error::Http`].
    pub async fn credentials(&self, org: Uuid, id: Uuid) -> Result<Credentials> {
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
        scopes: &[&str],
        instance: Option<Uuid>,
    ) -> Result<ApiKey> {
        let mut key = NewApiKey::new(name, scopes.iter().copied());
        key.instance_id = instance;
        self.create_api_key_with(org, &key).await
    }

    /// Creates an API key described by `key` (scopes, instance, limits); its secret is in the answer, and
    /// only there.
    ///
    /// # Errors
    /// [`Error::Validation`] for unknown scopes or invalid limits (`max_daily_requests` among them).
    pub async fn create_api_key_with(&self, org: Uuid, key: &NewApiKey) -> Result<ApiKey> {
        let body = serde_json::to_value(key).map_err(|e| Error::Decode(e.to_string()))?;
        self.call(reqwest::Method::POST, &format!("/organizations/{org}/api-keys"), Some(body)).await
    }

    /// An organization's active keys.
    ///
    /// # Errors
    /// 403/404 as [`Error::Http`].
    pub async fn api_keys(&self, org: Uuid) -> Result<Vec<ApiKey>> {
        Ok(self
            .call::<Page<_>>(reqwest::Method::GET, &format!("/organizations/{org}/api-keys?limit=100"), None)
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
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_omit_unset_fields() {
        assert_eq!(serde_json::to_value(Limits::unlimited()).unwrap(), json!({}));
        let limits = Limits { max_requests_per_second: Some(100), max_key_size: Some(1024), ..Limits::default() };
        assert_eq!(
            serde_json::to_value(limits).unwrap(),
            json!({"max_requests_per_second": 100, "max_key_size": 1024})
        );
        assert_eq!(serde_json::from_value::<Limits>(json!({"max_key_size": 1024})).unwrap().max_key_size, Some(1024));
        assert!(serde_json::from_value::<Limits>(json!({})).unwrap().is_unlimited());
        assert!(!limits.is_unlimited());
    }

    #[test]
    fn instances_and_keys_from_servers_without_limits_still_parse() {
        let id = Uuid::new_v4();
        let instance: Instance = serde_json::from_value(json!({
            "id": id, "organization_id": id, "name": "a", "slug": "a", "max_memory": 1, "redis_version": "7.2",
            "status": "running", "status_message": null, "rest_url": "http://x/db/a"
        }))
        .unwrap();
        assert!(instance.limits.is_unlimited());
        let key: ApiKey = serde_json::from_value(json!({
            "id": id, "name": "k", "prefix": "rgk_abc", "scopes": ["data:read"], "instance_id": null
        }))
        .unwrap();
        assert!(key.limits.is_unlimited());
    }

    #[test]
    fn creation_bodies_carry_limits_only_when_given() {
        let plain = serde_json::to_value(NewInstance::new("a", 1 << 20, "7.2")).unwrap();
        assert!(plain.get("limits").is_none(), "{plain}");
        let limited = NewInstance::new("a", 1 << 20, "7.2")
            .with_limits(Limits { max_daily_requests: Some(10), ..Limits::default() });
        assert_eq!(serde_json::to_value(limited).unwrap()["limits"], json!({"max_daily_requests": 10}));
        let key = serde_json::to_value(NewApiKey::new("k", ["data:read"])).unwrap();
        assert_eq!(key, json!({"name": "k", "scopes": ["data:read"], "instance_id": null}));
        let key = NewApiKey::new("k", ["data:read"])
            .for_instance(Uuid::nil())
            .with_limits(Limits { max_request_size: Some(1 << 20), ..Limits::default() });
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
        assert_eq!(usage.days[1], DayUsage { day: "2026-11-26".into(), commands: 1234 });
        assert_eq!(usage.total, 1234);
    }
}
