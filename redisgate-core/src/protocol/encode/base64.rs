//! The `Upstash-Encoding: base64` rules (protocol.md §F).
//!
//! Every string in a reply is base64-encoded, except a top-level `OK` status: the JS client keeps a
//! top-level `"OK"` as it is but decodes every string inside an array (so an unencoded `OK` inside an array
//! would come out as `atob("OK") == "8"`). Integers and nulls are left alone; error messages are never encoded.

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;

use super::out::Out;

/// Where a string sits in the reply.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Depth {
    /// The reply itself, or one element's `result` in a pipeline.
    Top,
    /// Inside an array.
    Nested,
}

/// Whether a status reply stays raw: only a top-level `OK`.
#[must_use]
pub fn keeps_status_raw(status: &str, depth: Depth) -> bool {
    depth == Depth::Top && status == "OK"
}

/// Appends `"<base64 of bytes>"`.
pub(super) fn write_quoted(out: &mut Out, bytes: &[u8]) {
    out.push(b'"');
    out.append_with(bytes.len().div_ceil(3) * 4, |slice| STANDARD.encode_slice(bytes, slice).unwrap_or_default());
    out.push(b'"');
}
