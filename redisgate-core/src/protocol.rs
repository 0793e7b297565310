//! The Upstash-compatible REST protocol, as pure functions.
//!
//! The pipeline mirrors mini-redis's (bytes → frame → command → apply), with HTTP in front:
//! [`request::parse`] turns method, path, query and body into an [`Endpoint`]; [`Command::check`] applies the
//! command policy; the gateway runs the resulting `redis::Cmd`; [`encode`] turns the `redis::Value` reply into
//! the wire format chosen by [`ResponseFormat::from_headers`]. The contract itself is written up in
//! `docs/protocol.md`.

pub mod command;
pub mod compat;
pub mod encode;
pub mod encoding;
pub mod parse;
pub mod policy;
pub mod redact;
pub mod request;
pub mod table;

pub use command::Command;
pub use encoding::ResponseFormat;
pub use policy::Access;
pub use request::{Endpoint, Method, RestRequest};

#[cfg(test)]
mod tests;
