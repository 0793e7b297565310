//! An HTTP request of the REST protocol → an [`Endpoint`].
//!
//! Forms (protocol.md §C):
//! - `POST /` with a JSON array body: one command.
//! - `/<cmd>/<arg>/...` over GET/HEAD/POST/PUT: a path command. Each segment is percent-decoded on its own
//!   (`%2F` is a `/` inside one argument). A POST/PUT body, when not empty, is appended raw as the last argument;
//!   query parameters follow it (`?EX=100` → `EX 100`, a bare `?NX` → `NX`), except `_token`.
//! - `/pipeline` and `/multi-exec` with a 2-D JSON array body.
//! - `/subscribe/<channel>`, `/psubscribe/<pattern>` and `/monitor`: Server-Sent Events streams.
//!
//! Leading slashes are collapsed (`//pipeline`, as Python's client sends for a base URL that ends in `/`)
//! and one trailing slash is ignored.

use percent_encoding::percent_decode_str;

use crate::protocol::command::{Args, Name};
use crate::protocol::{parse, Command};
use crate::{Error, Result};

/// The HTTP methods the data plane serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    /// `GET`
    Get,
    /// `HEAD`: as GET, without a response body.
    Head,
    /// `POST`: the JS client's only method.
    Post,
    /// `PUT`: as POST.
    Put,
}

/// The parts of an HTTP request the protocol looks at.
#[derive(Debug, Clone, Copy)]
pub struct RestRequest<'a> {
    /// The method.
    pub method: Method,
    /// The path after any instance prefix (`/db/<name>`), still percent-encoded.
    pub path: &'a str,
    /// The raw query string without `?`.
    pub query: Option<&'a str>,
    /// The request body.
    pub body: &'a [u8],
}

/// What a request asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Endpoint {
    /// One command (`/` with a JSON body, or a path command).
    Command(Command),
    /// `/pipeline`: commands run in order, not atomically.
    Pipeline(Vec<Command>),
    /// `/multi-exec`: commands run as one MULTI/EXEC transaction.
    MultiExec(Vec<Command>),
    /// `/subscribe/<channel>`: an SSE stream of messages.
    Subscribe(Vec<u8>),
    /// `/psubscribe/<pattern>`: an SSE stream of pattern messages.
    PSubscribe(Vec<u8>),
    /// `/monitor`: an SSE stream of every command Redis runs.
    Monitor,
}

impl Endpoint {
    /// Whether it runs a script or a function (whose work the gateway measures in time).
    #[must_use]
    pub fn runs_scripts(&self) -> bool {
        match self {
            Self::Command(command) => command.is_script(),
            Self::Pipeline(commands) | Self::MultiExec(commands) => commands.iter().any(Command::is_script),
            _ => false,
        }
    }

    /// How many commands it runs: what the daily quota and the rate count (a stream counts one).
    #[must_use]
    pub fn commands(&self) -> usize {
        match self {
            Self::Pipeline(commands) | Self::MultiExec(commands) => commands.len(),
            _ => 1,
        }
    }
}

/// Parses a REST request.
///
/// # Errors
/// [`Error::InvalidRequest`] when the body or path does not form a valid command.
pub fn parse(req: &RestRequest<'_>) -> Result<Endpoint> {
    let path = req.path.trim_start_matches('/');
    let path = path.strip_suffix('/').unwrap_or(path);
    if path.is_empty() {
        if req.body.is_empty() {
            return Err(Error::invalid("empty request: POST a JSON array such as [\"PING\"] or use /<command>/<args>"));
        }
        return parse::command(req.body).map(Endpoint::Command);
    }
    let (first, rest) = match path.split_once('/') {
        Some((first, rest)) => (first, Some(rest)),
        None => (path, None),
    };
    match (first, rest) {
        ("pipeline", None) => parse::commands(req.body).map(Endpoint::Pipeline),
        ("multi-exec", None) => parse::commands(req.body).map(Endpoint::MultiExec),
        ("monitor", None) => Ok(Endpoint::Monitor),
        ("subscribe", Some(channel)) if !channel.is_empty() => Ok(Endpoint::Subscribe(decode(channel))),
        ("psubscribe", Some(pattern)) if !pattern.is_empty() => Ok(Endpoint::PSubscribe(decode(pattern))),
        _ => path_command(req, path).map(Endpoint::Command),
    }
}

/// The value of the `_token` query parameter, if any.
#[must_use]
pub fn query_token(query: Option<&str>) -> Option<Vec<u8>> {
    query?.split('&').find_map(|pair| pair.strip_prefix("_token=").map(decode))
}

pub use super::parse::{MAX_ARGS, MAX_BATCH};

fn path_command(req: &RestRequest<'_>, path: &str) -> Result<Command> {
    let mut segments = path.split('/');
    let name: Name = percent_decode_str(segments.next().unwrap_or_default()).collect();
    let mut cmd = Command::parsed(name, segments.map(decode).collect::<Args>())?;
    if matches!(req.method, Method::Post | Method::Put) && !req.body.is_empty() {
        cmd.push_arg(req.body.to_vec());
    }
    for pair in req.query.into_iter().flat_map(|q| q.split('&')) {
        let (key, value) = match pair.split_once('=') {
            Some((key, value)) => (key, Some(value)),
            None => (pair, None),
        };
        if key == "_token" || key.is_empty() {
            continue;
        }
        cmd.push_arg(decode(key));
        if let Some(value) = value {
            cmd.push_arg(decode(value));
        }
    }
    Ok(cmd)
}

fn decode(segment: &str) -> Vec<u8> {
    percent_decode_str(segment).collect()
}
