//! The data-plane client: one command, the request forms, retries and configuration.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use percent_encoding::{percent_encode, NON_ALPHANUMERIC};
use redis::{FromRedisValue, ToRedisArgs, Value};
use reqwest::header::{HeaderMap, HeaderName, HeaderValue, AUTHORIZATION};

use crate::response::{self, Answer};
use crate::{Error, Result};

/// The future of a command: boxed, so it borrows only the client (never the arguments, which are encoded
/// before it is created) and is `Send`.
pub type CmdFuture<'a, T> = std::pin::Pin<Box<dyn Future<Output = Result<T>> + Send + 'a>>;

/// A client for one database's REST URL. Cheap to clone (connections are pooled and shared).
#[derive(Clone)]
pub struct Client {
    inner: Arc<Inner>,
}

struct Inner {
    http: reqwest::Client,
    url: String,
    retries: u32,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client").field("url", &self.inner.url).field("token", &"<redacted>").finish()
    }
}

/// Configures a [`Client`].
#[derive(Debug)]
pub struct ClientBuilder {
    url: String,
    token: String,
    timeout: Option<Duration>,
    connect_timeout: Duration,
    retries: u32,
    headers: Vec<(String, String)>,
    ca_cert: Option<Vec<u8>>,
}

impl ClientBuilder {
    /// Trusts the CA in `pem` for `https://` URLs, besides the system's roots (a private CA, a test CA).
    #[must_use]
    pub fn ca_cert(mut self, pem: impl Into<Vec<u8>>) -> Self {
        self.ca_cert = Some(pem.into());
        self
    }

    /// Gives up on a request after `timeout` ([`Error::Timeout`]). Default: none (SSE streams are long).
    #[must_use]
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }

    /// Gives up connecting after `timeout`. Default: 5 s.
    #[must_use]
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// Retries a request whose connection could not be established (so it never reached the server, and
    /// retrying cannot apply a command twice) up to `retries` times. Default: 3. Nothing else is retried.
    #[must_use]
    pub fn retries(mut self, retries: u32) -> Self {
        self.retries = retries;
        self
    }

    /// Sends an extra header with every request.
    #[must_use]
    pub fn header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.headers.push((name.into(), value.into()));
        self
    }

    /// Builds the client.
    ///
    /// # Errors
    /// [`Error::Config`] for an invalid URL, token or header.
    pub fn build(self) -> Result<Client> {
        if !(self.url.starts_with("http://") || self.url.starts_with("https://")) {
            return Err(Error::Config(format!("the URL must start with http:// or https://, got {:?}", self.url)));
        }
        let mut headers = HeaderMap::new();
        let mut auth = HeaderValue::from_str(&format!("Bearer {}", self.token.trim()))
            .map_err(|_| Error::Config("the token contains characters not allowed in a header".into()))?;
        auth.set_sensitive(true);
        headers.insert(AUTHORIZATION, auth);
        headers.insert("upstash-encoding", HeaderValue::from_static("base64"));
        for (name, value) in self.headers {
            let name =
                HeaderName::from_bytes(name.as_bytes()).map_err(|e| Error::Config(format!("header {name}: {e}")))?;
            let value = HeaderValue::from_str(&value).map_err(|e| Error::Config(format!("header {name}: {e}")))?;
            headers.insert(name, value);
        }
        let mut http = reqwest::Client::builder().default_headers(headers).connect_timeout(self.connect_timeout);
        if let Some(timeout) = self.timeout {
            http = http.timeout(timeout);
        }
        if let Some(pem) = &self.ca_cert {
            http = crate::response::trust(http, pem)?;
        }
        let http = http.build().map_err(|e| Error::Config(e.to_string()))?;
        let url = self.url.trim_end_matches('/').to_owned();
        Ok(Client { inner: Arc::new(Inner { http, url, retries: self.retries }) })
    }
}

impl Client {
    /// A client for `url` (e.g. `http://127.0.0.1:8080/db/my-redis`) with `token`.
    ///
    /// # Errors
    /// [`Error::Config`] for an invalid URL or token.
    pub fn new(url: impl Into<String>, token: impl Into<String>) -> Result<Self> {
        Self::builder(url, token).build()
    }

    /// A builder for `url` and `token`.
    pub fn builder(url: impl Into<String>, token: impl Into<String>) -> ClientBuilder {
        ClientBuilder {
            url: url.into(),
            token: token.into(),
            timeout: None,
            connect_timeout: Duration::from_secs(5),
            retries: 3,
            headers: Vec::new(),
            ca_cert: None,
        }
    }

    /// A client from `REDISGATE_REST_URL`/`REDISGATE_REST_TOKEN`, or else Upstash's
    /// `UPSTASH_REDIS_REST_URL`/`UPSTASH_REDIS_REST_TOKEN`.
    ///
    /// # Errors
    /// [`Error::Config`] when neither pair is set.
    pub fn from_env() -> Result<Self> {
        let pair = |url: &str, token: &str| Some((std::env::var(url).ok()?, std::env::var(token).ok()?));
        let (url, token) = pair("REDISGATE_REST_URL", "REDISGATE_REST_TOKEN")
            .or_else(|| pair("UPSTASH_REDIS_REST_URL", "UPSTASH_REDIS_REST_TOKEN"))
            .ok_or_else(|| {
                Error::Config(
                    "set REDISGATE_REST_URL and REDISGATE_REST_TOKEN (or the UPSTASH_REDIS_REST_* pair)".into(),
                )
            })?;
        Self::new(url, token)
    }

    /// The REST URL.
    #[must_use]
    pub fn url(&self) -> &str {
        &self.inner.url
    }

    /// Runs any command and converts its reply: `client.cmd::<i64>(("INCRBY", "k", 5))`.
    ///
    /// # Errors
    /// [`Error::Redis`] for an error reply, [`Error::Decode`] when the reply does not fit `T`, and transport,
    /// authentication and HTTP errors.
    pub fn cmd<T: FromRedisValue>(&self, args: impl ToRedisArgs) -> CmdFuture<'_, T> {
        let args = args.to_redis_args();
        Box::pin(async move { Ok(redis::from_redis_value(self.raw(args).await?)?) })
    }

    /// Runs a command given as its arguments (name first) and returns the raw reply.
    ///
    /// UTF-8 arguments travel as a JSON array; a command with binary arguments uses the path form, each
    /// argument percent-encoded and the last one as the raw body, so any bytes arrive intact.
    ///
    /// # Errors
    /// As [`Client::cmd`].
    pub async fn raw(&self, args: Vec<Vec<u8>>) -> Result<Value> {
        if args.is_empty() {
            return Err(Error::Config("a command needs at least its name".into()));
        }
        let answer = if args.iter().all(|a| std::str::from_utf8(a).is_ok()) {
            let strings: Vec<&str> = args.iter().map(|a| std::str::from_utf8(a).unwrap_or_default()).collect();
            let body = serde_json::to_vec(&strings).map_err(|e| Error::Decode(e.to_string()))?;
            self.post("", body).await?
        } else {
            let (last, init) = args.split_last().unwrap_or((&args[0], &[]));
            let path: String = init.iter().map(|a| format!("/{}", encode(a))).collect();
            self.post(&path, last.clone()).await?
        };
        answer.single()
    }

    /// POSTs `body` to `<url><path>`, retrying connection failures only.
    pub(crate) async fn post(&self, path: &str, body: Vec<u8>) -> Result<Answer> {
        let response = self.send(path, body, false).await?;
        response::read(response).await
    }

    /// Sends a request and returns the response unread (SSE streams read it incrementally).
    pub(crate) async fn send(&self, path: &str, body: Vec<u8>, stream: bool) -> Result<reqwest::Response> {
        let url = format!("{}{path}", self.inner.url);
        let mut attempt = 0;
        loop {
            let mut request = self.inner.http.post(&url).body(body.clone());
            if stream {
                request = request.header("accept", "text/event-stream");
            }
            match request.send().await {
                Ok(response) => return Ok(response),
                Err(e) if e.is_connect() && attempt < self.inner.retries => {
                    attempt += 1;
                    tokio::time::sleep(Duration::from_millis(50 * 2u64.pow(attempt))).await;
                }
                Err(e) => return Err(e.into()),
            }
        }
    }
}

/// Percent-encodes one path segment (every byte that is not alphanumeric).
pub(crate) fn encode(bytes: &[u8]) -> String {
    percent_encode(bytes, NON_ALPHANUMERIC).to_string()
}
