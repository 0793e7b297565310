//! JSON command round trip: any `Vec<String>` rendered by serde_json (compact or pretty) and parsed back by
//! `parse::command` gives exactly the strings' bytes, only the name lower-cased; the same for `/pipeline`
//! bodies with `parse::commands`.
#![no_main]

use libfuzzer_sys::fuzz_target;
use redisgate_core::protocol::{parse as body, Command};
use serde_json::json;

fuzz_target!(|input: (bool, Vec<String>, Vec<Vec<String>>)| {
    let (pretty, command, pipeline) = input;
    // The command the strings make, or `None` when there are none or the name is empty.
    let expected = |args: &[String]| {
        let (name, args) = args.split_first()?;
        Command::new(name.as_bytes().to_vec(), args.iter().map(|a| a.as_bytes().to_vec()).collect()).ok()
    };
    let json = render(json!(command), pretty);
    match body::command(&json) {
        Ok(parsed) => assert_eq!(Some(parsed), expected(&command)),
        Err(e) => assert!(expected(&command).is_none(), "{command:?} refused: {e}"),
    }

    let json = render(json!(pipeline), pretty);
    let want = pipeline.iter().map(|c| expected(c)).collect::<Option<Vec<_>>>().filter(|list| !list.is_empty());
    match body::commands(&json) {
        Ok(list) => assert_eq!(Some(list), want),
        Err(e) => assert!(want.is_none(), "{pipeline:?} refused: {e}"),
    }
});

fn render(value: serde_json::Value, pretty: bool) -> Vec<u8> {
    if pretty { serde_json::to_vec_pretty(&value) } else { serde_json::to_vec(&value) }.expect("strings serialize")
}
