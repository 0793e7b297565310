//! Decoding answers: `{"result"}` / `{"error"}` envelopes, base64 strings, and error statuses.

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use redis::Value;

use crate::{Error, Result};

/// A 2xx body, parsed.
pub(crate) struct Answer(serde_json::Value);

/// Reads a response: a 2xx JSON body, or the error it carries.
pub(crate) async fn read(response: reqwest::Response) -> Result<Answer> {
    let status = response.status().as_u16();
    let bytes = response.bytes().await?;
    if !(200..300).contains(&status) {
        return Err(error(status, &bytes));
    }
    serde_json::from_slice(&bytes).map(Answer).map_err(|e| Error::Decode(format!("not JSON ({e})")))
}

/// The error a non-2xx answer stands for.
pub(crate) fn error(status: u16, bytes: &[u8]) -> Error {
    let body: serde_json::Value = serde_json::from_slice(bytes).unwrap_or_default();
    let message = body["error"].as_str().map_or_else(|| String::from_utf8_lossy(bytes).into_owned(), str::to_owned);
    match status {
        401 => Error::Auth(message),
        422 if body["fields"].is_object() => Error::Validation {
            fields: body["fields"]
                .as_object()
                .into_iter()
                .flatten()
                .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_owned()))
                .collect(),
        },
        400 => Error::Redis(message),
        _ => Error::Http { status, message },
    }
}

impl Answer {
    /// `{"result": ...}` of one command.
    pub(crate) fn single(self) -> Result<Value> {
        element(self.0)
    }

    /// `[{"result"}|{"error"}, ...]` of a pipeline or transaction: one entry per command.
    pub(crate) fn many(self) -> Result<Vec<Result<Value>>> {
        match self.0 {
            serde_json::Value::Array(items) => Ok(items.into_iter().map(element).collect()),
            other => Err(Error::Decode(format!("expected an array of results, got {other}"))),
        }
    }
}

fn element(envelope: serde_json::Value) -> Result<Value> {
    if let Some(error) = envelope.get("error").and_then(serde_json::Value::as_str) {
        return Err(Error::Redis(error.to_owned()));
    }
    match envelope.get("result") {
        Some(result) => decode(result, true),
        None => Err(Error::Decode(format!("no result in {envelope}"))),
    }
}

/// A base64-mode JSON value → `redis::Value`. Only a top-level `OK` is sent unencoded.
fn decode(value: &serde_json::Value, top: bool) -> Result<Value> {
    Ok(match value {
        serde_json::Value::Null => Value::Nil,
        serde_json::Value::Number(n) => {
            Value::Int(n.as_i64().ok_or_else(|| Error::Decode(format!("not an integer: {n}")))?)
        }
        serde_json::Value::String(s) if top && s == "OK" => Value::Okay,
        serde_json::Value::String(s) => {
            Value::BulkString(STANDARD.decode(s).map_err(|e| Error::Decode(format!("invalid base64 {s:?}: {e}")))?)
        }
        serde_json::Value::Array(items) => Value::Array(items.iter().map(|i| decode(i, false)).collect::<Result<_>>()?),
        other => return Err(Error::Decode(format!("unexpected {other}"))),
    })
}

/// Trusts the CA certificates in `pem` (one or a bundle).
///
/// # Errors
/// [`Error::Config`] when `pem` holds no certificate.
pub(crate) fn trust(http: reqwest::ClientBuilder, pem: &[u8]) -> Result<reqwest::ClientBuilder, Error> {
    let certificates = reqwest::Certificate::from_pem_bundle(pem)
        .map_err(|e| Error::Config(format!("invalid CA certificate: {e}")))?;
    if certificates.is_empty() {
        return Err(Error::Config("the CA file holds no PEM certificate".into()));
    }
    Ok(certificates.into_iter().fold(http, reqwest::ClientBuilder::add_root_certificate))
}
