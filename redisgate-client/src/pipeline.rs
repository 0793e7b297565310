//! Pipelines (`/pipeline`) and transactions (`/multi-exec`).

use redis::{FromRedisValue, ToRedisArgs, Value};

use crate::{Client, Error, Result};

/// Commands sent together. Build with [`Client::pipeline`] or [`Client::transaction`], chain commands,
/// then [`Pipeline::query`] (typed, failing on the first error) or [`Pipeline::results`] (every reply).
///
/// Pipelines travel as JSON, so their arguments must be UTF-8; send binary values as single commands.
#[derive(Debug, Clone)]
#[must_use = "a pipeline does nothing until queried"]
pub struct Pipeline {
    client: Client,
    commands: Vec<Vec<Vec<u8>>>,
    atomic: bool,
}

impl Client {
    /// A pipeline: commands run in order, not atomically (`/pipeline`).
    pub fn pipeline(&self) -> Pipeline {
        Pipeline { client: self.clone(), commands: Vec::new(), atomic: false }
    }

    /// A transaction: commands run atomically as MULTI/EXEC (`/multi-exec`).
    pub fn transaction(&self) -> Pipeline {
        Pipeline { client: self.clone(), commands: Vec::new(), atomic: true }
    }
}

impl Pipeline {
    /// Adds any command.
    pub fn cmd(mut self, args: impl ToRedisArgs) -> Self {
        self.commands.push(args.to_redis_args());
        self
    }

    /// Adds `SET key value`.
    pub fn set(self, key: impl ToRedisArgs, value: impl ToRedisArgs) -> Self {
        self.cmd(("SET", key, value))
    }

    /// Adds `GET key`.
    pub fn get(self, key: impl ToRedisArgs) -> Self {
        self.cmd(("GET", key))
    }

    /// Adds `INCRBY key by`.
    pub fn incr(self, key: impl ToRedisArgs, by: i64) -> Self {
        self.cmd(("INCRBY", key, by))
    }

    /// Adds `DEL key`.
    pub fn del(self, key: impl ToRedisArgs) -> Self {
        self.cmd(("DEL", key))
    }

    /// Adds `EXPIRE key seconds`.
    pub fn expire(self, key: impl ToRedisArgs, seconds: i64) -> Self {
        self.cmd(("EXPIRE", key, seconds))
    }

    /// Adds `HSET key field value`.
    pub fn hset(self, key: impl ToRedisArgs, field: impl ToRedisArgs, value: impl ToRedisArgs) -> Self {
        self.cmd(("HSET", key, field, value))
    }

    /// How many commands are queued.
    #[must_use]
    pub fn len(&self) -> usize {
        self.commands.len()
    }

    /// Whether nothing is queued.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.commands.is_empty()
    }

    /// Every reply in order, each its own `Result` (a failing command does not hide the others).
    ///
    /// # Errors
    /// When the whole request fails: transport, authentication, a transaction Redis discarded
    /// ([`Error::Redis`]), binary arguments.
    pub async fn results(&self) -> Result<Vec<Result<Value>>> {
        let mut body = Vec::with_capacity(self.commands.len());
        for command in &self.commands {
            let strings = command
                .iter()
                .map(|a| std::str::from_utf8(a).map_err(|_| Error::Config("pipeline arguments must be UTF-8".into())))
                .collect::<Result<Vec<_>>>()?;
            body.push(strings);
        }
        let body = serde_json::to_vec(&body).map_err(|e| Error::Decode(e.to_string()))?;
        let path = if self.atomic { "/multi-exec" } else { "/pipeline" };
        self.client.post(path, body).await?.many()
    }

    /// The replies converted into `T` (a tuple or a `Vec`); the first failing command is the error.
    ///
    /// # Errors
    /// As [`Pipeline::results`], plus the first command's [`Error::Redis`] and [`Error::Decode`].
    pub async fn query<T: FromRedisValue>(&self) -> Result<T> {
        let values = self
            .results()
            .await?
            .into_iter()
            .enumerate()
            .map(|(i, r)| r.map_err(|e| Error::Redis(format!("command {} failed: {e}", i + 1))))
            .collect::<Result<Vec<_>>>()?;
        Ok(redis::from_redis_value(Value::Array(values))?)
    }
}
