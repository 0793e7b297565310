//! Whole REST requests: `request::parse` over arbitrary method, path, query and body, then what the gateway
//! does next with a command (`Command::check` for both token kinds, `Command::emulate_upstash`, `to_cmd`),
//! plus `request::query_token` and `ResponseFormat::from_headers`.
//!
//! Besides never panicking: a command's name is non-empty and lower-case; what a read-only token may run a
//! full token may run too; emulation is idempotent and its script alias names the SHA-1s of the scripts
//! before and after; pipelines are non-empty; `resp2` is never chosen together with base64.
#![no_main]

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use redisgate_core::protocol::compat::sha1_hex;
use redisgate_core::protocol::request::{parse, query_token};
use redisgate_core::protocol::{Access, Command, Endpoint, Method, ResponseFormat, RestRequest};

#[derive(Arbitrary, Debug)]
struct Input<'a> {
    method: u8,
    path: &'a str,
    query: Option<&'a str>,
    body: &'a [u8],
    encoding: Option<&'a [u8]>,
    format: Option<&'a [u8]>,
}

fuzz_target!(|input: Input<'_>| {
    let method = [Method::Get, Method::Head, Method::Post, Method::Put][usize::from(input.method % 4)];
    let request = RestRequest { method, path: input.path, query: input.query, body: input.body };
    match parse(&request) {
        Ok(Endpoint::Command(cmd)) => command(cmd),
        Ok(Endpoint::Pipeline(list) | Endpoint::MultiExec(list)) => {
            assert!(!list.is_empty());
            list.into_iter().for_each(command);
        }
        Ok(_) | Err(_) => {}
    }

    if let Some(token) = query_token(input.query) {
        assert!(input.query.is_some_and(|q| q.contains("_token=")) && token.len() <= input.query.unwrap().len());
    }

    match ResponseFormat::from_headers(input.encoding, input.format) {
        Ok(ResponseFormat::Resp2) => assert!(input.encoding.is_none_or(|e| e.trim_ascii().is_empty())),
        Ok(format) if format.is_base64() => {
            assert!(input.encoding.is_some_and(|e| e.trim_ascii().eq_ignore_ascii_case(b"base64")))
        }
        _ => {}
    }
});

fn command(cmd: Command) {
    assert!(!cmd.name().is_empty() && !cmd.name().iter().any(u8::is_ascii_uppercase), "{cmd:?}");
    if cmd.check(Access::ReadOnly).is_ok() {
        assert!(cmd.check(Access::Full).is_ok(), "{cmd:?} is allowed read-only but not with full access");
    }
    let _ = cmd.to_cmd();

    let emulated = cmd.clone().emulate_upstash();
    let again = emulated.command.clone().emulate_upstash();
    assert_eq!(again.command, emulated.command, "emulating {cmd:?} twice changes it again");
    assert_eq!(again.script_alias, None);
    if let Some((from, to)) = &emulated.script_alias {
        let index = usize::from(cmd.name() == b"script");
        assert_eq!(from, &sha1_hex(&cmd.args()[index]));
        assert_eq!(to, &sha1_hex(&emulated.command.args()[index]));
        assert_ne!(from, to);
    } else if !matches!(cmd.name(), b"scan" | b"unlink") {
        assert_eq!(emulated.command, cmd, "only SCAN, UNLINK and scripts are rewritten");
    }
}
