//! The JSON wire format: `{"result": ...}`, `{"error": "..."}` and pipeline arrays of those.

use redis::Value;

use super::base64::{self as b64, Depth};
use super::out::Out;
use super::{error_text, Reply};
use crate::{Error, Result};

/// `{"result": <value>}`, at most `limit` bytes of it.
///
/// # Errors
/// [`Error::UnsupportedReply`] for a reply type the protocol cannot express, [`Error::ResponseTooLarge`]
/// past `limit`.
pub fn result(value: &Value, base64: bool, limit: usize) -> Result<Vec<u8>> {
    let mut out = Out::new(12 + size_hint(value, base64), limit)?;
    write_result(&mut out, value, base64)?;
    out.finish()
}

/// `[{"result": ...}, {"error": "..."}, ...]`: one element per command, errors in place, at most `limit`
/// bytes in all.
///
/// # Errors
/// [`Error::UnsupportedReply`] for a reply type the protocol cannot express, [`Error::ResponseTooLarge`]
/// past `limit`.
pub fn results(replies: &[Reply], base64: bool, limit: usize) -> Result<Vec<u8>> {
    let mut out = Out::new(results_hint(replies, base64), limit)?;
    out.push(b'[');
    for (i, reply) in replies.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        match reply {
            Reply::Value(value) => write_result(&mut out, value, base64)?,
            Reply::Refused(refusal) => write_error(&mut out, &refusal.to_string()),
        }
    }
    out.push(b']');
    out.finish()
}

/// About how many bytes `replies` take as a pipeline's JSON answer (never more than they do).
#[must_use]
pub fn results_hint(replies: &[Reply], base64: bool) -> usize {
    let hint = |reply: &Reply| match reply {
        Reply::Value(value) => size_hint(value, base64),
        Reply::Refused(_) => 0,
    };
    2 + replies.iter().map(|reply| 13 + hint(reply)).sum::<usize>()
}

/// About how many bytes `value` takes in JSON, so the output is allocated once in the common cases (strings
/// without escapes, flat arrays), and a reply sure to be too large is refused before it is written. Never
/// more than the value takes.
#[must_use]
pub fn size_hint(value: &Value, base64: bool) -> usize {
    let text = |len: usize| if base64 { len.div_ceil(3) * 4 + 2 } else { len + 2 };
    match value {
        Value::BulkString(bytes) => text(bytes.len()),
        Value::SimpleString(s) | Value::VerbatimString { text: s, .. } => text(s.len()),
        Value::Array(items) | Value::Set(items) => 2 + items.iter().map(|v| 1 + size_hint(v, base64)).sum::<usize>(),
        _ => 1,
    }
}

/// `{"error": "<message>"}`.
#[must_use]
pub fn error(message: &str) -> Vec<u8> {
    let mut out = Vec::with_capacity(message.len() + 12);
    out.extend_from_slice(b"{\"error\":");
    // Writing a &str into a Vec cannot fail.
    let _ = serde_json::to_writer(&mut out, message);
    out.push(b'}');
    out
}

fn write_result(out: &mut Out, value: &Value, base64: bool) -> Result<()> {
    if let Value::ServerError(e) = value {
        write_error(out, &error_text(e));
        return Ok(());
    }
    out.extend_from_slice(b"{\"result\":");
    write_value(out, value, base64.then_some(Depth::Top))?;
    out.push(b'}');
    Ok(())
}

fn write_error(out: &mut Out, message: &str) {
    out.extend_from_slice(b"{\"error\":");
    write_text(out, message);
    out.push(b'}');
}

/// Writes one value; `base64` is `None` for plain text, or the depth for base64 mode.
fn write_value(out: &mut Out, value: &Value, base64: Option<Depth>) -> Result<()> {
    let nested = base64.map(|_| Depth::Nested);
    match value {
        Value::Nil => out.extend_from_slice(b"null"),
        Value::Int(i) => out.extend_from_slice(itoa::Buffer::new().format(*i).as_bytes()),
        Value::Boolean(b) => out.push(if *b { b'1' } else { b'0' }),
        Value::BulkString(bytes) => write_bytes(out, bytes, base64),
        Value::Okay => write_status(out, "OK", base64),
        Value::SimpleString(s) => write_status(out, s, base64),
        Value::VerbatimString { text, .. } => write_bytes(out, text.as_bytes(), base64),
        Value::Double(d) => write_bytes(out, d.to_string().as_bytes(), base64),
        Value::Array(items) | Value::Set(items) | Value::Push { data: items, .. } => {
            out.push(b'[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_value(out, item, nested)?;
            }
            out.push(b']');
        }
        Value::Map(pairs) => {
            out.push(b'[');
            for (i, (k, v)) in pairs.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_value(out, k, nested)?;
                out.push(b',');
                write_value(out, v, nested)?;
            }
            out.push(b']');
        }
        Value::Attribute { data, .. } => write_value(out, data, base64)?,
        Value::ServerError(e) => write_text(out, &error_text(e)),
        // BigNumber's payload type depends on a redis feature; RESP2 never produces it, nor future variants.
        _ => return Err(Error::UnsupportedReply(variant_name(value))),
    }
    Ok(())
}

fn write_status(out: &mut Out, status: &str, base64: Option<Depth>) {
    match base64 {
        Some(depth) if !b64::keeps_status_raw(status, depth) => b64::write_quoted(out, status.as_bytes()),
        _ => write_text(out, status),
    }
}

fn write_bytes(out: &mut Out, bytes: &[u8], base64: Option<Depth>) {
    match base64 {
        Some(_) => b64::write_quoted(out, bytes),
        // Most values are ASCII with nothing to escape: copied between quotes. The others are validated
        // (simdutf8: about 10 times fewer instructions per byte than the standard library's), then written
        // as text.
        None if !special::<true>(bytes) => write_quoted(out, bytes),
        None => match simdutf8::basic::from_utf8(bytes) {
            Ok(text) => write_text(out, text),
            Err(_) => write_text(out, &String::from_utf8_lossy(bytes)),
        },
    }
}

fn write_text(out: &mut Out, text: &str) {
    // Most text needs no escape: it is copied between quotes as it is. Otherwise serde_json's escaping
    // writer, about 7 instructions per byte.
    if !special::<false>(text.as_bytes()) {
        write_quoted(out, text.as_bytes());
        return;
    }
    // Fails only past the limit, which `out` remembers.
    let _ = serde_json::to_writer(&mut *out, text);
}

/// Whether `bytes` holds a byte JSON escapes (a control character, a quote, a backslash), or with
/// `NON_ASCII` a byte that is not ASCII. Every byte is looked at without stopping early, in one pass the
/// compiler turns into a vector loop: a 4 KiB value costs a few hundred instructions. (`is_ascii` as a
/// second pass cost 176 more instructions per 100-byte value.)
fn special<const NON_ASCII: bool>(bytes: &[u8]) -> bool {
    bytes.iter().fold(false, |any, &b| any | (b < 0x20) | (b == b'"') | (b == b'\\') | (NON_ASCII & (b >= 0x80)))
}

fn write_quoted(out: &mut Out, bytes: &[u8]) {
    out.push(b'"');
    out.extend_from_slice(bytes);
    out.push(b'"');
}

pub(super) fn variant_name(value: &Value) -> &'static str {
    match value {
        Value::BigNumber(_) => "big number",
        _ => "unknown",
    }
}
