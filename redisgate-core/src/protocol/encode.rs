//! Reply encoders: pure functions over `redis::Value`.
//!
//! Replies are given the RESP2 shapes Upstash clients expect whatever protocol the gateway speaks to Redis:
//! RESP3 maps become flat `[k, v, ...]` arrays, sets become arrays, booleans become `1`/`0`, doubles and big
//! numbers become strings. A `ServerError` at the top level is the caller's to turn into `{"error"}`; one
//! nested inside an array (a script's table, say) is written as its error text. A pipeline's answer holds
//! [`Reply`]s: a refusal by the gateway is written in place exactly like an error reply from Redis.
//!
//! Every encoder takes the most bytes the reply may take, and stops there (`out`): a reply is bounded
//! while it is written, whatever its escapes.

pub mod base64;
pub mod json;
mod out;
pub mod resp2;

/// The text of a Redis error reply as Redis sent it: `ERR wrong number of arguments for 'get' command`.
#[must_use]
pub fn error_text(error: &redis::ServerError) -> String {
    match error.details() {
        Some(details) => format!("{} {details}", error.code()),
        None => error.code().to_owned(),
    }
}

/// One command's outcome in a pipeline or a transaction: what Redis answered (an error reply included), or
/// the gateway's refusal of the command before it ran (the policy, a size limit).
#[derive(Debug, PartialEq)]
pub enum Reply {
    /// Redis's reply.
    Value(redis::Value),
    /// Why the gateway did not run the command; written in place as an error reply.
    Refused(crate::Error),
}
