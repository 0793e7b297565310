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
    // The refusal of each command, in request order (`None`: it runs, and is in `allowed`). The vectors are
    // sized up front: collected from these iterators they grew, or shrank, by reallocation.
    let mut allowed = Vec::with_capacity(commands.len());
    let mut refusals = Vec::with_capacity(commands.len());
    for command in commands {
        refusals.push(gate.ready(command).map(|command| allowed.push(command)).err());
    }
    let replies =
        if allowed.is_empty() { Vec::new() } else { instance.upstream().pipeline(&allowed, gate.max_response).await? };
    let mut replies = allowed.iter().zip(replies).map(|(command, reply)| redact::reply(command, reply));
    // Redis answers every command of a pipeline it ran, so `replies` has one for each `None`.
    let mut answers = Vec::with_capacity(refusals.len());
    for refusal in refusals {
        answers.push(match refusal {
            Some(refusal) => Reply::Refused(refusal),
            None => Reply::Value(replies.next().ok_or_else(|| {
                ApiError::Internal("redis answered fewer commands than the pipeline held".to_owned())
            })?),
        });
    }
    super::replies(format, &answers, gate)
}
