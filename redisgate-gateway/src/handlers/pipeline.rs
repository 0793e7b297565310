//! `/pipeline`: commands run in order, not atomically; each gets its own `{result}` or `{error}`.
//!
//! A command the policy or a size limit refuses gets its error in place and the others still run, as a command that fails
//! inside Redis would. Only a malformed body fails the whole request (a 400), because the JS client expects a
//! 200 to carry an array.

use axum::response::Response;
use redisgate_core::protocol::encode::Reply;
use redisgate_core::protocol::{redact, Command, ResponseFormat};

use super::Gate;
use crate::directory::Instance;
use crate::ApiError;

/// Runs the allowed commands as one pipeline and answers with every reply in request order.
pub async fn run(
    instance: &Instance,
    commands: Vec<Command>,
    gate: &Gate<'_>,
    format: ResponseFormat,
) -> Result<Response, ApiError> {
    // The refusal of each command, in request order (`None`: it runs, and is in `allowed`).
    let mut allowed = Vec::with_capacity(commands.len());
    let refusals: Vec<_> =
        commands.into_iter().map(|command| gate.ready(command).map(|command| allowed.push(command)).err()).collect();
    let replies =
        if allowed.is_empty() { Vec::new() } else { instance.upstream().pipeline(&allowed, gate.max_response).await? };
    let mut replies = allowed.iter().zip(replies).map(|(command, reply)| Reply::Value(redact::reply(command, reply)));
    // Redis answers every command of a pipeline it ran, so `replies` has one for each `None`.
    let answers: Vec<Reply> = refusals
        .into_iter()
        .map(|refusal| refusal.map(Reply::Refused).or_else(|| replies.next()))
        .collect::<Option<_>>()
        .ok_or_else(|| ApiError::Internal("redis answered fewer commands than the pipeline held".to_owned()))?;
    super::replies(format, &answers, gate)
}
