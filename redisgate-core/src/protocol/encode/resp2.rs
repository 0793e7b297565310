//! The raw RESP2 wire format (`Upstash-Response-Format: resp2`), protocol.md §G.

use redis::Value;

use super::json::{self, variant_name};
use super::out::Out;
use super::{error_text, Reply};
use crate::{Error, Result};

/// The RESP2 bytes of one reply, at most `limit` of them.
///
/// # Errors
/// [`Error::UnsupportedReply`] for a reply type RESP2 cannot express, [`Error::ResponseTooLarge`] past
/// `limit`.
pub fn reply(value: &Value, limit: usize) -> Result<Vec<u8>> {
    let mut out = Out::new(json::size_hint(value, false), limit)?;
    write(&mut out, value)?;
    out.finish()
}

/// The RESP2 error reply carrying `message` (`-ERR …\r\n`), as a TCP client reads a refused command.
#[must_use]
pub fn error(message: &str) -> Vec<u8> {
    let mut out = Vec::with_capacity(message.len() + 3);
    out.push(b'-');
    out.extend_from_slice(message.replace(['\r', '\n'], " ").as_bytes());
    out.extend_from_slice(b"\r\n");
    out
}

/// The RESP2 bytes of several replies, concatenated (a pipeline's replies, as Redis itself sends them), at
/// most `limit` of them.
///
/// # Errors
/// [`Error::UnsupportedReply`] for a reply type RESP2 cannot express, [`Error::ResponseTooLarge`] past
/// `limit`.
pub fn replies(replies: &[Reply], limit: usize) -> Result<Vec<u8>> {
    let mut out = Out::new(replies_hint(replies), limit)?;
    for reply in replies {
        match reply {
            Reply::Value(value) => write(&mut out, value)?,
            Reply::Refused(refusal) => line(&mut out, b'-', refusal.to_string().replace(['\r', '\n'], " ").as_bytes()),
        }
    }
    out.finish()
}

/// About how many bytes `replies` take in RESP2 (never more than they do).
#[must_use]
pub fn replies_hint(replies: &[Reply]) -> usize {
    let hint = |reply: &Reply| match reply {
        Reply::Value(value) => json::size_hint(value, false),
        Reply::Refused(_) => 0,
    };
    replies.iter().map(hint).sum()
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
