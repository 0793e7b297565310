//! One command: `POST /` with a JSON array, or a path command.

use axum::response::Response;
use redisgate_core::protocol::{Command, ResponseFormat};

use crate::directory::Instance;
use crate::quota::Allowance;
use crate::ApiError;

/// Checks the command against the policy and the size limits, runs it and encodes the reply.
pub async fn run(
    instance: &Instance,
    command: Command,
    allowance: &Allowance,
    format: ResponseFormat,
) -> Result<Response, ApiError> {
    let command = super::ready(allowance, command)?;
    let value = instance.upstream().run(&command).await?;
    super::reply(format, &value)
}
