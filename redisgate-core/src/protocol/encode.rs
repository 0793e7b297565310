//! Reply encoders: pure functions over `redis::Value`.
//!
//! Replies are given the RESP2 shapes Upstash clients expect whatever protocol the gateway speaks to Redis:
//! RESP3 maps become flat `[k, v, ...]` arrays, sets become arrays, booleans become `1`/`0`, doubles and big
//! numbers become strings. A `ServerError` at the top level is the caller's to turn into `{"error"}`; one
//! nested inside an array (a script's table, say) is written as its error text.

pub mod base64;
pub mod json;
pub mod resp2;

/// The text of a Redis error reply as Redis sent it: `ERR wrong number of arguments for 'get' command`.
#[must_use]
pub fn error_text(error: &redis::ServerError) -> String {
    match error.details() {
        Some(details) => format!("{} {details}", error.code()),
        None => error.code().to_owned(),
    }
}
