//! JSON request bodies as raw bytes: `parse::command`, `parse::commands` and `request::parse` of `POST /`,
//! `/pipeline` and `/multi-exec`.
//!
//! Besides never panicking: an accepted command agrees element by element with serde_json's own reading of
//! the body (strings unescaped, numbers and booleans kept as their literal text, the name lower-cased); an
//! accepted pipeline is non-empty; and `request::parse` gives exactly what the body parsers give.
#![no_main]

use libfuzzer_sys::fuzz_target;
use redisgate_core::protocol::request::parse;
use redisgate_core::protocol::{parse as body, Endpoint, Method, RestRequest};
use serde_json::Value as Json;

fuzz_target!(|data: &[u8]| {
    let request = |path| parse(&RestRequest { method: Method::Post, path, query: None, body: data });

    let command = body::command(data);
    if let Ok(command) = &command {
        let mut args = command.args().to_vec();
        args.insert(0, command.name().to_vec());
        // serde_json::Value refuses some bodies RawValue accepts (a number such as 1e999 out of f64 range).
        if let Ok(Json::Array(items)) = serde_json::from_slice::<Json>(data) {
            assert_eq!(items.len(), args.len());
            for (i, (item, arg)) in items.iter().zip(&args).enumerate() {
                match item {
                    Json::String(s) if i == 0 => assert_eq!(s.to_ascii_lowercase().as_bytes(), &arg[..]),
                    Json::String(s) => assert_eq!(s.as_bytes(), &arg[..]),
                    other => assert_eq!(&serde_json::from_slice::<Json>(arg).expect("literal re-parses"), other),
                }
            }
        }
    }
    match (request("/"), command.ok()) {
        (Ok(Endpoint::Command(got)), Some(want)) => assert_eq!(got, want),
        (Err(_), None) => {}
        (got, want) => panic!("request::parse gave {got:?}, parse::command {want:?}"),
    }

    let commands = body::commands(data);
    if let Ok(list) = &commands {
        assert!(!list.is_empty());
    }
    match (request("/pipeline"), request("/multi-exec"), commands.ok()) {
        (Ok(Endpoint::Pipeline(a)), Ok(Endpoint::MultiExec(b)), Some(want)) => assert!(a == want && b == want),
        (Err(_), Err(_), None) => {}
        (a, b, want) => panic!("request::parse gave {a:?} / {b:?}, parse::commands {want:?}"),
    }
});
