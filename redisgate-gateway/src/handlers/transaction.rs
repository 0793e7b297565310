//! `/multi-exec`: the commands run as one MULTI/EXEC transaction.
//!
//! A refused command (policy or size limit), or one Redis rejects while queueing (EXECABORT), discards the whole transaction with a
//! 400 `{"error"}`; runtime errors of single commands are in place in the 200 array, as with EXEC.
//! `Upstash-Response-Format: resp2` does not apply here (protocol.md §G1): the answer is always JSON.

use axum::response::Response;
use redisgate_core::protocol::encode::Reply;
use redisgate_core::protocol::{redact, Command, ResponseFormat};

use super::Gate;
use crate::directory::Instance;
use crate::ApiError;

/// Checks every command, then runs them atomically.
pub async fn run(
    instance: &Instance,
    commands: Vec<Command>,
    gate: &Gate<'_>,
    format: ResponseFormat,
) -> Result<Response, ApiError> {
    let format = if format == ResponseFormat::Resp2 { ResponseFormat::Json } else { format };
    let commands = commands.into_iter().map(|c| gate.ready(c)).collect::<Result<Vec<Command>, _>>()?;
    let values = instance.upstream().transaction(&commands, gate.max_response).await?;
    let replies: Vec<_> =
        commands.iter().zip(values).map(|(command, value)| Reply::Value(redact::reply(command, value))).collect();
    super::replies(format, &replies, gate)
}
