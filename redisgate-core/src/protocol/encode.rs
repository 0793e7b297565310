//! Reply encoders: pure functions over `redis::Value`.
//!
//! Replies are given the RESP2 shapes Upstash clients expect whatever protocol the gateway speaks to Redis:
//! RESP3 maps become flat `[k, v, ...]` arrays, sets become arrays, booleans become `1`/`0`, doubles and big
//! numbers become strings. A `ServerError` at the top level is the caller's to turn into `{"error"}`; one
//! nested inside an array (a script's table, say) is written as its error text.
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

/// A `Value::ServerError` carrying `message` (`"ERR something"` → code `ERR`, detail `something`), so that a
/// refusal decided by the gateway sits in a pipeline's replies exactly like an error reply from Redis.
#[must_use]
pub fn server_error(message: &str) -> redis::Value {
    let (code, detail) = match message.split_once(' ') {
        Some((code, detail)) => (code.to_owned(), Some(detail.to_owned())),
        None => (message.to_owned(), None),
    };
    redis::make_extension_error(code, detail)
        .into_server_errors()
        .and_then(|errors| errors.first().map(|(_, e)| redis::Value::ServerError(e.clone())))
        .unwrap_or(redis::Value::Nil)
}
