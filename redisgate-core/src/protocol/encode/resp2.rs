//! The raw RESP2 wire format (`Upstash-Response-Format: resp2`), protocol.md §G.

use redis::Value;

use super::error_text;
use super::json::variant_name;
use crate::{Error, Result};

/// The RESP2 bytes of one reply.
///
/// # Errors
/// [`Error::UnsupportedReply`] for a reply type RESP2 cannot express.
pub fn reply(value: &Value) -> Result<Vec<u8>> {
    let mut out = Vec::with_capacity(32);
    write(&mut out, value)?;
    Ok(out)
}

/// The RESP2 bytes of several replies, concatenated (a pipeline's replies, as Redis itself sends them).
///
/// # Errors
/// [`Error::UnsupportedReply`] for a reply type RESP2 cannot express.
pub fn replies(values: &[Value]) -> Result<Vec<u8>> {
    let mut out = Vec::with_capacity(32 * values.len());
    for value in values {
        write(&mut out, value)?;
    }
    Ok(out)
}

fn write(out: &mut Vec<u8>, value: &Value) -> Result<()> {
    match value {
        Value::Nil => out.extend_from_slice(b"$-1\r\n"),
        Value::Int(i) => line(out, b':', itoa::Buffer::new().format(*i).as_bytes()),
        Value::Boolean(b) => line(out, b':', if *b { b"1" } else { b"0" }),
        Value::Okay => out.extend_from_slice(b"+OK\r\n"),
        Value::SimpleString(s) => line(out, b'+', s.replace(['\r', '\n'], " ").as_bytes()),
        Value::BulkString(bytes) => bulk(out, bytes),
        Value::VerbatimString { text, .. } => bulk(out, text.as_bytes()),
        Value::Double(d) => bulk(out, d.to_string().as_bytes()),
        Value::ServerError(e) => line(out, b'-', error_text(e).replace(['\r', '\n'], " ").as_bytes()),
        Value::Array(items) | Value::Set(items) | Value::Push { data: items, .. } => {
            line(out, b'*', itoa::Buffer::new().format(items.len()).as_bytes());
            for item in items {
                write(out, item)?;
            }
        }
        Value::Map(pairs) => {
            line(out, b'*', itoa::Buffer::new().format(pairs.len() * 2).as_bytes());
            for (k, v) in pairs {
                write(out, k)?;
                write(out, v)?;
            }
        }
        Value::Attribute { data, .. } => write(out, data)?,
        _ => return Err(Error::UnsupportedReply(variant_name(value))),
    }
    Ok(())
}

fn line(out: &mut Vec<u8>, kind: u8, body: &[u8]) {
    out.push(kind);
    out.extend_from_slice(body);
    out.extend_from_slice(b"\r\n");
}

fn bulk(out: &mut Vec<u8>, bytes: &[u8]) {
    line(out, b'$', itoa::Buffer::new().format(bytes.len()).as_bytes());
    out.extend_from_slice(bytes);
    out.extend_from_slice(b"\r\n");
}
