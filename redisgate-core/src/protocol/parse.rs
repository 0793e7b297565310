//! JSON request bodies → command arguments.
//!
//! Arguments are read through [`serde_json::value::RawValue`] so that numbers keep their exact JSON text:
//! `1` becomes `"1"` and `1e-7` stays `"1e-7"` (never `"1.0"` or a re-rendered float). Strings, numbers and
//! booleans are accepted; `null`, objects and nested arrays are refused, as is an empty command.

use serde_json::value::RawValue;

use crate::{Error, Result};

/// One command's arguments, the command name first.
pub type Args = Vec<Vec<u8>>;

/// Parses `["SET","k","v",100]`.
///
/// # Errors
/// [`Error::InvalidRequest`] for malformed JSON, an empty array or an argument of the wrong type.
pub fn command(body: &[u8]) -> Result<Args> {
    let raw: Vec<&RawValue> = serde_json::from_slice(body)
        .map_err(|e| Error::invalid(format!("invalid JSON command, expected an array of strings: {e}")))?;
    args(&raw)
}

/// Parses `[["SET","k","v"],["GET","k"]]` for `/pipeline` and `/multi-exec`.
///
/// # Errors
/// [`Error::InvalidRequest`] for malformed JSON, an empty list, or any invalid command inside it.
pub fn commands(body: &[u8]) -> Result<Vec<Args>> {
    let raw: Vec<Vec<&RawValue>> = serde_json::from_slice(body).map_err(|e| {
        Error::invalid(format!("invalid JSON body, expected an array of commands such as [[\"GET\",\"k\"]]: {e}"))
    })?;
    if raw.is_empty() {
        return Err(Error::invalid("empty pipeline: send at least one command"));
    }
    raw.iter().map(|c| args(c)).collect()
}

fn args(raw: &[&RawValue]) -> Result<Args> {
    let Some(first) = raw.first() else {
        return Err(Error::invalid("empty command"));
    };
    if !first.get().starts_with('"') {
        return Err(Error::invalid("the command name must be a string"));
    }
    raw.iter().map(|v| arg(v)).collect()
}

/// One argument: a string's contents, a number's or boolean's literal text.
fn arg(raw: &RawValue) -> Result<Vec<u8>> {
    let text = raw.get();
    match text.as_bytes().first() {
        Some(b'"') => serde_json::from_str::<String>(text)
            .map(String::into_bytes)
            .map_err(|e| Error::invalid(format!("invalid string argument: {e}"))),
        Some(b'-' | b'0'..=b'9') | Some(b't' | b'f') => Ok(text.as_bytes().to_vec()),
        Some(b'n') => Err(Error::invalid("null is not a valid argument")),
        Some(b'{') => Err(Error::invalid("objects are not valid arguments; send them as JSON strings")),
        Some(b'[') => Err(Error::invalid("nested arrays are not valid arguments")),
        _ => Err(Error::invalid("invalid argument")),
    }
}
