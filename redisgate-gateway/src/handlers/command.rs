//! One command: `POST /` with a JSON array, or a path command.

use axum::response::Response;
use redisgate_core::protocol::{redact, Command, ResponseFormat};

use super::Gate;
use crate::directory::Instance;
use crate::upstream::UpstreamError;
use crate::ApiError;

/// Checks the command against the policy and the size limits, runs it and encodes the reply. In resp2
/// format, a refused or failed command answers its raw error reply, as a TCP client would read it.
pub async fn run(
    instance: &Instance,
    command: Command,
    gate: &Gate<'_>,
    format: ResponseFormat,
) -> Result<Response, ApiError> {
    let ran = async {
        let command = gate.ready(command)?;
        let value = redact::reply(&command, instance.upstream().run(&command, gate.max_response).await?);
        super::reply(format, &value, gate)
    };
    match ran.await {
        Err(failure @ (ApiError::Protocol(_) | ApiError::Redis(_) | ApiError::Upstream(UpstreamError::Refused(_))))
            if format == ResponseFormat::Resp2 =>
        {
            Err(ApiError::Resp2(Box::new(failure)))
        }
        answer => answer,
    }
}
