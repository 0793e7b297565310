//! The raw RESP2 wire format (`Upstash-Response-Format: resp2`), protocol.md §G.

use redis::Value;

use super::error_text;
use super::json::{self, variant_name};
use super::out::Out;
use crate::{Error, Result};

/// The RESP2 bytes of one reply, at most `limit` of them.
///
/// # Errors
/// [`Error::UnsupportedReply`] for a reply type RESP2 cannot express, [`Error::ResponseTooLarge`] past
/// `limit`.
pub fn reply(value: &Value, limit: usize) -> Result<Vec<u8>> {
    replies(std::slice::from_ref(value), limit)
}

/// The RESP2 bytes of several replies, concatenated (a pipeline's replies, as Redis itself sends them), at
/// most `limit` of them.
///
/// # Errors
/// [`Error::UnsupportedReply`] for a reply type RESP2 cannot express, [`Error::ResponseTooLarge`] past
/// `limit`.
pub fn replies(values: &[Value], limit: usize) -> Result<Vec<u8>> {
    let mut out = Out::new(values.iter().map(|v| json::size_hint(v, false)).sum(), limit)?;
    for value in values {
        write(&mut out, value)?;
    }
    out.finish()
}

fn write(out: &mut Out, value: &Value) -> Result<()> {
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

fn line(out: &mut Out, kind: u8, body: &[u8]) {
    out.push(kind);
    out.extend_from_slice(body);
    out.extend_from_slice(b"\r\n");
}

fn bulk(out: &mut Out, bytes: &[u8]) {
    line(out, b'$', itoa::Buffer::new().format(bytes.len()).as_bytes());
    out.extend_from_slice(bytes);
    out.extend_from_slice(b"\r\n");
}
