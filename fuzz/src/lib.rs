//! Shared pieces of the fuzz targets: arbitrary `redis::Value` trees, and the reference models the reply
//! encoders are checked against (written from docs/protocol.md §F/§G, independently of the encoders).

use arbitrary::{Result, Unstructured};
use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use redis::{PushKind, Value, VerbatimFormat};
use redisgate_core::protocol::encode::error_text;
use serde_json::{json, Value as Json};

/// How deep generated replies nest (Redis's own replies rarely go past 3 levels).
const MAX_DEPTH: u32 = 4;

/// An arbitrary reply, as redis-rs could hand one to the gateway over RESP2 or RESP3.
pub fn value(u: &mut Unstructured<'_>) -> Result<Value> {
    value_at(u, 0)
}

/// Up to `max` arbitrary replies (a pipeline's).
pub fn values(u: &mut Unstructured<'_>, max: usize) -> Result<Vec<Value>> {
    let n = u.int_in_range(0..=max)?;
    (0..n).map(|_| value(u)).collect()
}

fn value_at(u: &mut Unstructured<'_>, depth: u32) -> Result<Value> {
    let kinds = if depth >= MAX_DEPTH { 9 } else { 14 };
    let items = |u: &mut Unstructured<'_>| -> Result<Vec<Value>> {
        let n = u.int_in_range(0..=4)?;
        (0..n).map(|_| value_at(u, depth + 1)).collect()
    };
    Ok(match u.choose_index(kinds)? {
        0 => Value::Nil,
        1 => Value::Int(u.arbitrary()?),
        2 => Value::BulkString(u.arbitrary()?),
        3 => Value::Okay,
        4 => Value::SimpleString(status(u.arbitrary()?)),
        5 => Value::Double(u.arbitrary()?),
        6 => Value::Boolean(u.arbitrary()?),
        7 => {
            let format = if u.arbitrary()? { VerbatimFormat::Text } else { VerbatimFormat::Markdown };
            Value::VerbatimString { format, text: u.arbitrary()? }
        }
        8 => error(u.arbitrary()?),
        9 => Value::Array(items(u)?),
        10 => Value::Set(items(u)?),
        11 => Value::Push { kind: PushKind::Message, data: items(u)? },
        12 => {
            let flat = items(u)?;
            Value::Map(flat.chunks_exact(2).map(|kv| (kv[0].clone(), kv[1].clone())).collect())
        }
        _ => Value::Attribute { data: Box::new(value_at(u, depth + 1)?), attributes: vec![] },
    })
}

/// A status as redis-rs can produce one: its parser ends a status line at the first CRLF, so a status never
/// contains one (a lone CR or LF can occur).
fn status(text: String) -> String {
    text.replace("\r\n", " ")
}

/// An error reply carrying `message` (`"ERR something"` → code `ERR`, detail `something`).
pub fn server_error(message: &str) -> Value {
    let (code, detail) = match message.split_once(' ') {
        Some((code, detail)) => (code.to_owned(), Some(detail.to_owned())),
        None => (message.to_owned(), None),
    };
    let errors = redis::make_extension_error(code, detail).into_server_errors().expect("a server error");
    Value::ServerError(errors[0].1.clone())
}

/// An error reply; its text must come back unchanged.
fn error(message: String) -> Value {
    let value = server_error(&message);
    match &value {
        Value::ServerError(e) => assert_eq!(error_text(e), message, "server_error/error_text do not round-trip"),
        other => panic!("server_error({message:?}) gave {other:?}"),
    }
    value
}

/// What `json::result(value, base64)` must write: `{"error": text}` for an error reply, else `{"result": …}`.
pub fn expected_json(value: &Value, base64: bool) -> Json {
    match value {
        Value::ServerError(e) => json!({ "error": error_text(e) }),
        _ => json!({ "result": expected_item(value, base64, true) }),
    }
}

fn expected_item(value: &Value, base64: bool, top: bool) -> Json {
    let string = |bytes: &[u8]| match base64 {
        true => Json::String(STANDARD.encode(bytes)),
        false => Json::String(String::from_utf8_lossy(bytes).into_owned()),
    };
    let list = |items: &[Value]| Json::Array(items.iter().map(|v| expected_item(v, base64, false)).collect());
    match value {
        Value::Nil => Json::Null,
        Value::Int(i) => json!(i),
        Value::Boolean(b) => json!(u8::from(*b)),
        Value::BulkString(bytes) => string(bytes),
        // Only a top-level OK stays raw in base64 mode.
        Value::Okay if top => json!("OK"),
        Value::Okay => string(b"OK"),
        Value::SimpleString(s) if top && s == "OK" => json!("OK"),
        Value::SimpleString(s) => string(s.as_bytes()),
        Value::VerbatimString { text, .. } => string(text.as_bytes()),
        Value::Double(d) => string(d.to_string().as_bytes()),
        Value::Array(items) | Value::Set(items) | Value::Push { data: items, .. } => list(items),
        Value::Map(pairs) => list(&pairs.iter().flat_map(|(k, v)| [k.clone(), v.clone()]).collect::<Vec<_>>()),
        Value::Attribute { data, .. } => expected_item(data, base64, top),
        // A nested error is its text, never base64.
        Value::ServerError(e) => Json::String(error_text(e)),
        other => unreachable!("the generator makes no {other:?}"),
    }
}

/// What redis-rs parses the RESP2 bytes of `value` back to: RESP3 types in their RESP2 shapes.
pub fn expected_resp2(value: &Value) -> Value {
    let list = |items: &[Value]| Value::Array(items.iter().map(expected_resp2).collect());
    match value {
        Value::Boolean(b) => Value::Int(i64::from(*b)),
        Value::SimpleString(s) if s == "OK" => Value::Okay,
        Value::VerbatimString { text, .. } => Value::BulkString(text.clone().into_bytes()),
        Value::Double(d) => Value::BulkString(d.to_string().into_bytes()),
        Value::ServerError(e) => server_error(&error_text(e).replace(['\r', '\n'], " ")),
        Value::Array(items) | Value::Set(items) | Value::Push { data: items, .. } => list(items),
        Value::Map(pairs) => list(&pairs.iter().flat_map(|(k, v)| [k.clone(), v.clone()]).collect::<Vec<_>>()),
        Value::Attribute { data, .. } => expected_resp2(data),
        other => other.clone(),
    }
}

/// Equality of replies, comparing errors by their text (redis-rs parses `ERR` into a known error kind,
/// while `server_error` builds an extension error: same text, different representation).
pub fn same(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::ServerError(x), Value::ServerError(y)) => error_text(x) == error_text(y),
        (Value::Array(x), Value::Array(y)) => x.len() == y.len() && x.iter().zip(y).all(|(a, b)| same(a, b)),
        _ => a == b,
    }
}
