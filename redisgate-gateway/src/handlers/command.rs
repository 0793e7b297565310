//! One command: `POST /` with a JSON array, or a path command.

use axum::response::Response;
use redisgate_core::protocol::{Access, Command, ResponseFormat};

use crate::directory::Instance;
use crate::{scripts, ApiError};

/// Checks the command against the policy, runs it and encodes the reply.
pub async fn run(
    instance: &Instance,
    command: Command,
    access: Access,
    format: ResponseFormat,
) -> Result<Response, ApiError> {
    command.check(access)?;
    let command = scripts::ALIASES.prepare(command);
    let value = instance.upstream().run(&command).await?;
    super::reply(format, &value)
}
