//! JSON command round trip: any `Vec<String>` rendered by serde_json (compact or pretty) and parsed back by
//! `parse::command` gives exactly the strings' bytes; the same for `/pipeline` bodies with `parse::commands`;
//! and `request::parse` of `POST /` with that body gives the command with only its name lower-cased.
#![no_main]

use libfuzzer_sys::fuzz_target;
use redisgate_core::protocol::request::parse;
use redisgate_core::protocol::{parse as body, Endpoint, Method, RestRequest};
use serde_json::json;

fuzz_target!(|input: (bool, Vec<String>, Vec<Vec<String>>)| {
    let (pretty, command, pipeline) = input;
    let bytes = |args: &[String]| args.iter().map(|a| a.as_bytes().to_vec()).collect::<Vec<_>>();
    let json = render(json!(command), pretty);
    match body::command(&json) {
        Ok(args) => assert_eq!(args, bytes(&command)),
        Err(e) => assert!(command.is_empty(), "{command:?} refused: {e}"),
    }
    let request = RestRequest { method: Method::Post, path: "/", query: None, body: &json };
    if let Some(name) = command.first().filter(|n| !n.is_empty()) {
        let Ok(Endpoint::Command(cmd)) = parse(&request) else { panic!("{command:?} is not a command") };
        assert_eq!(cmd.name(), name.to_ascii_lowercase().as_bytes());
        assert_eq!(cmd.args(), &bytes(&command)[1..]);
    }

    let json = render(json!(pipeline), pretty);
    match body::commands(&json) {
        Ok(list) => assert_eq!(list, pipeline.iter().map(|c| bytes(c)).collect::<Vec<_>>()),
        Err(e) => assert!(pipeline.is_empty() || pipeline.iter().any(Vec::is_empty), "{pipeline:?} refused: {e}"),
    }
});

fn render(value: serde_json::Value, pretty: bool) -> Vec<u8> {
    if pretty { serde_json::to_vec_pretty(&value) } else { serde_json::to_vec(&value) }.expect("strings serialize")
}
