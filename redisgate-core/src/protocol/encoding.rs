//! The response format a request asks for, from its `Upstash-Encoding` and `Upstash-Response-Format` headers.

use crate::{Error, Result};

/// How replies are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResponseFormat {
    /// `{"result": ...}` with strings as UTF-8 text (invalid bytes become U+FFFD).
    Json,
    /// `{"result": ...}` with strings base64-encoded (`Upstash-Encoding: base64`), protocol.md §F.
    Base64Json,
    /// Raw RESP2 bytes (`Upstash-Response-Format: resp2`), protocol.md §G.
    Resp2,
}

impl ResponseFormat {
    /// Decides the format from the two header values (absent headers are `None`).
    ///
    /// # Errors
    /// [`Error::InvalidFormat`] for an unknown encoding or format, or for `resp2` combined with base64.
    pub fn from_headers(encoding: Option<&[u8]>, format: Option<&[u8]>) -> Result<Self> {
        let base64 = match encoding.map(<[u8]>::trim_ascii) {
            None | Some(b"") => false,
            Some(e) if e.eq_ignore_ascii_case(b"base64") => true,
            Some(e) => {
                return Err(Error::InvalidFormat(format!(
                    "unsupported Upstash-Encoding '{}', the only encoding is base64",
                    String::from_utf8_lossy(e)
                )))
            }
        };
        match format.map(<[u8]>::trim_ascii) {
            None | Some(b"") => Ok(if base64 { Self::Base64Json } else { Self::Json }),
            Some(f) if f.eq_ignore_ascii_case(b"json") => Ok(if base64 { Self::Base64Json } else { Self::Json }),
            Some(f) if f.eq_ignore_ascii_case(b"resp2") && base64 => Err(Error::InvalidFormat(
                "Upstash-Response-Format: resp2 cannot be combined with Upstash-Encoding: base64".into(),
            )),
            Some(f) if f.eq_ignore_ascii_case(b"resp2") => Ok(Self::Resp2),
            Some(f) => Err(Error::InvalidFormat(format!(
                "unsupported Upstash-Response-Format '{}', expected json or resp2",
                String::from_utf8_lossy(f)
            ))),
        }
    }

    /// Whether strings are base64-encoded.
    #[must_use]
    pub fn is_base64(self) -> bool {
        self == Self::Base64Json
    }
}
