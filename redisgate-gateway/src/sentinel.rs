//! A master that Redis Sentinel manages:
//! `redis+sentinel://[user:pass@]host:port[,host:port…]/<master>[?sentinel_username=…&sentinel_password=…]`.
//! The user and password before `@` log in to the master; Sentinels that require a login of their own
//! (those RedisGate provisions do) get theirs from the query. `rediss+sentinel://` speaks TLS to the
//! Sentinels and to the data nodes, verified with the upstream's CA and presenting its client certificate
//! ([`RedisTls`]).
//!
//! redis-rs's Sentinel client finds the master (it asks each sentinel for its masters and checks the
//! candidate's `ROLE`), but does not follow a failover by itself (redis-rs #1438). The upstream asks again
//! whenever the master it uses fails under a request: a broken or refused connection, a timeout, or a
//! `READONLY` reply (the old master came back as a replica). Asking is single-flight and at most every
//! [`MIN_INTERVAL`], so a burst of failures during a failover costs one sentinel query per interval; the
//! failed requests get a 503 with `Retry-After` at once instead of waiting for the new master.

use std::time::Duration;

use redis::sentinel::{SentinelClient, SentinelClientBuilder, SentinelServerType};
use redis::{Client, ConnectionAddr, ErrorKind, RedisError, RedisResult, TlsMode, Value};

use crate::tls::RedisTls;

/// The least time between two sentinel queries.
pub const MIN_INTERVAL: Duration = Duration::from_millis(100);

/// The scheme of a Sentinel-managed upstream.
pub const SCHEME: &str = "redis+sentinel://";
/// The same over TLS (to the Sentinels and to the data nodes).
pub const TLS_SCHEME: &str = "rediss+sentinel://";

/// Whether `url` names a Sentinel-managed master.
#[must_use]
pub fn is_sentinel_url(url: &str) -> bool {
    url.starts_with(SCHEME) || url.starts_with(TLS_SCHEME)
}

/// A parsed `redis+sentinel://` URL.
#[derive(Clone, PartialEq, Eq)]
pub struct SentinelUrl {
    /// `host:port` of each sentinel.
    pub sentinels: Vec<String>,
    /// The master's name in the sentinels' configuration.
    pub master: String,
    /// Who to log in to the master as.
    pub username: Option<String>,
    /// The master's password.
    pub password: Option<String>,
    /// Who to log in to the Sentinels as (`?sentinel_username=`); without it, and without a password, they
    /// are asked without logging in.
    pub sentinel_username: Option<String>,
    /// The Sentinels' password (`?sentinel_password=`).
    pub sentinel_password: Option<String>,
    /// `rediss+sentinel://`: TLS to the Sentinels and to the data nodes.
    pub tls: bool,
}

impl std::fmt::Debug for SentinelUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SentinelUrl")
            .field("sentinels", &self.sentinels)
            .field("master", &self.master)
            .field("password", &self.password.as_ref().map(|_| "<redacted>"))
            .field("sentinel_username", &self.sentinel_username)
            .field("sentinel_password", &self.sentinel_password.as_ref().map(|_| "<redacted>"))
            .field("tls", &self.tls)
            .finish_non_exhaustive()
    }
}

fn invalid(message: &str) -> RedisError {
    RedisError::from((ErrorKind::InvalidClientConfig, "invalid redis+sentinel:// URL", message.to_owned()))
}

/// Percent-decodes a user name or password of a URL.
fn decode(text: &str) -> RedisResult<String> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = text.get(i + 1..i + 3).ok_or_else(|| invalid("a % is not followed by two hex digits"))?;
            out.push(u8::from_str_radix(hex, 16).map_err(|_| invalid("a % is not followed by two hex digits"))?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).map_err(|_| invalid("credentials are not UTF-8"))
}

impl SentinelUrl {
    /// Parses `redis+sentinel://[user:pass@]host:port[,host:port…]/<master>[?sentinel_username=…&…]`.
    ///
    /// # Errors
    /// An `InvalidClientConfig` error saying what is wrong.
    pub fn parse(url: &str) -> RedisResult<Self> {
        let (tls, rest) = match url.strip_prefix(TLS_SCHEME) {
            Some(rest) => (true, rest),
            None => (false, url.strip_prefix(SCHEME).ok_or_else(|| invalid("it must start with redis+sentinel://"))?),
        };
        let (rest, query) = rest.split_once('?').unwrap_or((rest, ""));
        let (mut sentinel_username, mut sentinel_password) = (None, None);
        for pair in query.split('&').filter(|p| !p.is_empty()) {
            match pair.split_once('=') {
                Some(("sentinel_username", value)) => sentinel_username = Some(decode(value)?),
                Some(("sentinel_password", value)) => sentinel_password = Some(decode(value)?),
                _ => return Err(invalid("the query may hold only sentinel_username and sentinel_password")),
            }
        }
        let (authority, master) = rest.split_once('/').ok_or_else(|| invalid("name the master: .../<master>"))?;
        let master = master.trim_end_matches('/');
        if master.is_empty() || master.contains(['/', '?', '#']) {
            return Err(invalid("name the master: .../<master>"));
        }
        let (credentials, hosts) = match authority.rsplit_once('@') {
            Some((credentials, hosts)) => (Some(credentials), hosts),
            None => (None, authority),
        };
        let (username, password) = match credentials.map(|c| c.split_once(':').unwrap_or(("", c))) {
            Some((user, pass)) => {
                let user = decode(user)?;
                (Some(user).filter(|u| !u.is_empty()), Some(decode(pass)?))
            }
            None => (None, None),
        };
        let sentinels: Vec<String> = hosts.split(',').map(str::trim).map(str::to_owned).collect();
        if sentinels.iter().any(|s| s.rsplit_once(':').is_none_or(|(h, p)| h.is_empty() || p.parse::<u16>().is_err())) {
            return Err(invalid("each sentinel is host:port"));
        }
        Ok(Self { sentinels, master: master.to_owned(), username, password, sentinel_username, sentinel_password, tls })
    }

    /// Sentinels to ask, and how to log in (and, over TLS, with which certificates) to them and to the
    /// master they name.
    ///
    /// # Errors
    /// A sentinel address redis-rs does not accept.
    pub fn resolver(&self, certificates: &RedisTls) -> RedisResult<Resolver> {
        let addresses = self.sentinels.iter().map(|sentinel| {
            let (host, port) = sentinel.rsplit_once(':').unwrap_or((sentinel, "26379"));
            let (host, port) = (host.to_owned(), port.parse().unwrap_or(26379));
            if self.tls {
                ConnectionAddr::TcpTls { host, port, insecure: false, tls_params: None }
            } else {
                ConnectionAddr::Tcp(host, port)
            }
        });
        let mut builder = SentinelClientBuilder::new(addresses, &self.master, SentinelServerType::Master)?;
        if let Some(username) = &self.username {
            builder = builder.set_client_to_redis_username(username);
        }
        if let Some(password) = &self.password {
            builder = builder.set_client_to_redis_password(password);
        }
        if let Some(username) = &self.sentinel_username {
            builder = builder.set_client_to_sentinel_username(username);
        }
        if let Some(password) = &self.sentinel_password {
            builder = builder.set_client_to_sentinel_password(password);
        }
        if self.tls {
            builder =
                builder.set_client_to_sentinel_tls_mode(TlsMode::Secure).set_client_to_redis_tls_mode(TlsMode::Secure);
            if !certificates.is_default() {
                builder = builder
                    .set_client_to_sentinel_certificates(certificates.certificates())
                    .set_client_to_redis_certificates(certificates.certificates());
            }
        }
        Ok(Resolver {
            client: tokio::sync::Mutex::new(builder.build()?),
            master: self.master.clone(),
            looking: std::sync::atomic::AtomicBool::new(false),
        })
    }
}

/// Asks the sentinels where the master is now.
pub struct Resolver {
    /// Locked while a query runs, which makes queries single-flight.
    client: tokio::sync::Mutex<SentinelClient>,
    master: String,
    /// Set while a look-up after a failure runs and for [`MIN_INTERVAL`] after it started: failures
    /// meanwhile start none of their own.
    looking: std::sync::atomic::AtomicBool,
}

impl Resolver {
    /// Claims the next look-up after a failure; `false` while one runs or ran less than [`MIN_INTERVAL`]
    /// ago (release it with [`Resolver::done_looking`]).
    pub fn start_looking(&self) -> bool {
        use std::sync::atomic::Ordering::{AcqRel, Acquire};
        self.looking.compare_exchange(false, true, AcqRel, Acquire).is_ok()
    }

    /// Ends the look-up [`Resolver::start_looking`] claimed.
    pub fn done_looking(&self) {
        self.looking.store(false, std::sync::atomic::Ordering::Release);
    }

    /// The current master, within `timeout`.
    ///
    /// # Errors
    /// [`NoMaster`]: no sentinel answered, none knows the master, or the one named is not a master.
    pub async fn master(&self, timeout: Duration) -> Result<Client, NoMaster> {
        let mut client = self.client.lock().await;
        match tokio::time::timeout(timeout, client.async_get_client()).await {
            Ok(Ok(client)) => Ok(client),
            Ok(Err(e)) => Err(NoMaster(format!("no master '{}' found: {e}", self.master))),
            Err(_) => Err(NoMaster(format!("the sentinels did not name master '{}' in time", self.master))),
        }
    }
}

/// The sentinels name no master now (a failover in progress, or none configured): what was seen.
#[derive(Debug)]
pub struct NoMaster(pub String);

/// A `READONLY` error reply (a write reached a replica).
pub fn is_readonly(value: &Value) -> bool {
    matches!(value, Value::ServerError(e) if e.code() == "READONLY")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_parse_and_bad_ones_say_why() {
        let url = SentinelUrl::parse("redis+sentinel://gw:p%40ss@10.0.0.1:26379,10.0.0.2:26379/cache").unwrap();
        assert_eq!(url.sentinels, ["10.0.0.1:26379", "10.0.0.2:26379"]);
        assert_eq!(
            (url.master.as_str(), url.username.as_deref(), url.password.as_deref()),
            ("cache", Some("gw"), Some("p@ss"))
        );
        assert!(!format!("{url:?}").contains("p@ss"));
        let plain = SentinelUrl::parse("redis+sentinel://127.0.0.1:26379/mymaster").unwrap();
        assert_eq!((plain.username, plain.password), (None, None));
        let logged_in =
            SentinelUrl::parse("redis+sentinel://gw:x@h:1/m?sentinel_username=s&sentinel_password=p%26q").unwrap();
        assert_eq!(logged_in.master, "m");
        assert_eq!(
            (logged_in.sentinel_username.as_deref(), logged_in.sentinel_password.as_deref()),
            (Some("s"), Some("p&q"))
        );
        assert!(!format!("{logged_in:?}").contains("p&q"));
        assert!(!logged_in.tls);
        assert!(SentinelUrl::parse("rediss+sentinel://h:1/m").unwrap().tls);
        let only_password = SentinelUrl::parse("redis+sentinel://:secret@h:1/m").unwrap();
        assert_eq!((only_password.username, only_password.password.as_deref()), (None, Some("secret")));
        for bad in [
            "redis://h:1/m",
            "redis+sentinel://h:1",
            "redis+sentinel://h:1/",
            "redis+sentinel://h/m",
            "redis+sentinel://h:x/m",
            "redis+sentinel://h:1/m?db=2",
            "rediss://h:1/m",
        ] {
            assert!(SentinelUrl::parse(bad).is_err(), "{bad}");
        }
    }
}
