//! The JSON encoders: `json::result`, `json::results` and `json::error`, plain and base64.
//!
//! For arbitrary `redis::Value` trees (RESP2 and RESP3 types, errors nested anywhere) the output must parse as
//! JSON and equal the reference model in `src/lib.rs`: RESP2 shapes, errors in place and never encoded, and in
//! base64 mode every string but a top-level `OK` (and an error's text) the standard base64 of the original
//! bytes, so it is valid base64 and decodes back to them.
#![no_main]

use arbitrary::Unstructured;
use libfuzzer_sys::fuzz_target;
use redisgate_core::protocol::encode::{json, Reply};
use redisgate_fuzz::{expected_json, values};
use serde_json::Value as Json;

fuzz_target!(|data: &[u8]| {
    let mut u = Unstructured::new(data);
    let (Ok(base64), Ok(message), Ok(replies)) = (u.arbitrary::<bool>(), u.arbitrary::<String>(), values(&mut u, 4))
    else {
        return;
    };

    for reply in &replies {
        let out = json::result(reply, base64, usize::MAX).expect("every generated reply is encodable");
        let parsed: Json = serde_json::from_slice(&out).expect("json::result wrote invalid JSON");
        assert_eq!(parsed, expected_json(reply, base64), "for {reply:?}");
    }

    let all: Vec<Reply> = replies.iter().cloned().map(Reply::Value).collect();
    let out = json::results(&all, base64, usize::MAX).expect("every generated reply is encodable");
    let parsed: Json = serde_json::from_slice(&out).expect("json::results wrote invalid JSON");
    let expected: Vec<Json> = replies.iter().map(|r| expected_json(r, base64)).collect();
    assert_eq!(parsed, Json::Array(expected));

    let parsed: Json = serde_json::from_slice(&json::error(&message)).expect("json::error wrote invalid JSON");
    assert_eq!(parsed, serde_json::json!({ "error": message }));
});
