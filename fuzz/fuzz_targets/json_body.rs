//! JSON request bodies as raw bytes: `parse::command`, `parse::commands` and `request::parse` of `POST /`,
//! `/pipeline` and `/multi-exec`.
//!
//! Besides never panicking: an accepted command is non-empty and agrees element by element with serde_json's
//! own reading of the body (strings unescaped, numbers and booleans kept as their literal text); an accepted
//! pipeline is non-empty with no empty command; and `request::parse` accepts exactly the bodies the body
//! parsers accept (with a non-empty command name), giving the same arguments with the name lower-cased.
#![no_main]

use libfuzzer_sys::fuzz_target;
use redisgate_core::protocol::request::parse;
use redisgate_core::protocol::{parse as body, Command, Endpoint, Method, RestRequest};
use serde_json::Value as Json;

fuzz_target!(|data: &[u8]| {
    let request = |path| parse(&RestRequest { method: Method::Post, path, query: None, body: data });

    let command = body::command(data);
    if let Ok(args) = &command {
        assert!(!args.is_empty());
        // serde_json::Value refuses some bodies RawValue accepts (a number such as 1e999 out of f64 range).
        if let Ok(Json::Array(items)) = serde_json::from_slice::<Json>(data) {
            assert_eq!(items.len(), args.len());
            for (item, arg) in items.iter().zip(args) {
                match item {
                    Json::String(s) => assert_eq!(s.as_bytes(), &arg[..]),
                    other => assert_eq!(&serde_json::from_slice::<Json>(arg).expect("literal re-parses"), other),
                }
            }
        }
    }
    let expected = command.ok().and_then(|args| Command::from_args(args).ok());
    match (request("/"), expected) {
        (Ok(Endpoint::Command(got)), Some(want)) => assert_eq!(got, want),
        (Err(_), None) => {}
        (got, want) => panic!("request::parse gave {got:?}, parse::command {want:?}"),
    }

    let commands = body::commands(data);
    if let Ok(list) = &commands {
        assert!(!list.is_empty() && list.iter().all(|args| !args.is_empty()));
    }
    let expected =
        commands.ok().and_then(|list| list.into_iter().map(Command::from_args).collect::<Result<Vec<_>, _>>().ok());
    match (request("/pipeline"), request("/multi-exec"), expected) {
        (Ok(Endpoint::Pipeline(a)), Ok(Endpoint::MultiExec(b)), Some(want)) => assert!(a == want && b == want),
        (Err(_), Err(_), None) => {}
        (a, b, want) => panic!("request::parse gave {a:?} / {b:?}, parse::commands {want:?}"),
    }
});
