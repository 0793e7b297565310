//! One command: `POST /` with a JSON array, or a path command.

use axum::response::Response;
use redisgate_core::protocol::{Command, ResponseFormat};

use super::Gate;
use crate::directory::Instance;
use crate::ApiError;

/// Checks the command against the policy and the size limits, runs it and encodes the reply.
pub async fn run(
    instance: &Instance,
    command: Command,
    gate: &Gate<'_>,
    format: ResponseFormat,
) -> Result<Response, ApiError> {
    let command = gate.ready(command)?;
    let value = instance.upstream().run(&command).await?;
    super::reply(format, &value)
}
