//! `/pipeline`: commands run in order, not atomically; each gets its own `{result}` or `{error}`.
//!
//! A command the policy or a size limit refuses gets its error in place and the others still run, as a command that fails
//! inside Redis would. Only a malformed body fails the whole request (a 400), because the JS client expects a
//! 200 to carry an array.

use axum::response::Response;
use redis::Value;
use redisgate_core::protocol::encode::server_error;
use redisgate_core::protocol::{Command, ResponseFormat};

use crate::directory::Instance;
use crate::quota::Allowance;
use crate::{scripts, ApiError};

/// Runs the allowed commands as one pipeline and answers with every reply in request order.
pub async fn run(
    instance: &Instance,
    commands: Vec<Command>,
    allowance: &Allowance,
    format: ResponseFormat,
) -> Result<Response, ApiError> {
    let checks: Vec<_> = commands.iter().map(|c| allowance.check(c)).collect();
    let allowed: Vec<Command> = commands
        .into_iter()
        .zip(&checks)
        .filter(|(_, ok)| ok.is_ok())
        .map(|(c, _)| scripts::ALIASES.prepare(c))
        .collect();
    let mut replies = if allowed.is_empty() {
        Vec::new().into_iter()
    } else {
        instance.upstream().pipeline(&allowed).await?.into_iter()
    };
    let values: Vec<Value> = checks
        .into_iter()
        .map(|check| match check {
            Ok(()) => replies.next().unwrap_or(Value::Nil),
            Err(refusal) => server_error(&refusal.to_string()),
        })
        .collect();
    super::replies(format, &values)
}
