//! The RESP2 encoders: `resp2::reply` and `resp2::replies`.
//!
//! For arbitrary `redis::Value` trees (RESP2 and RESP3 types, errors nested anywhere) the bytes must parse back
//! with redis-rs's own parser, whole and with nothing left over, to the RESP2 shape of the reply (maps and sets
//! as arrays, booleans as 0/1, doubles and verbatim strings as bulk strings, CR/LF in error text as spaces);
//! `replies` must be the concatenation of each `reply`.
#![no_main]

use arbitrary::Unstructured;
use libfuzzer_sys::fuzz_target;
use redisgate_core::protocol::encode::{resp2, Reply};
use redisgate_fuzz::{expected_resp2, same, values};

fuzz_target!(|data: &[u8]| {
    let Ok(replies) = values(&mut Unstructured::new(data), 4) else {
        return;
    };
    let mut all = Vec::new();
    for reply in &replies {
        let out = resp2::reply(reply, usize::MAX).expect("every generated reply is encodable");
        // A sentinel reply after it must come out next: the reply ends exactly where it should.
        let framed = [&out[..], b"+END\r\n"].concat();
        let mut parser = redis::Parser::new();
        let mut reader = &framed[..];
        let parsed =
            parser.parse_value(&mut reader).unwrap_or_else(|e| panic!("{reply:?} → {out:?} does not parse: {e}"));
        let expected = expected_resp2(reply);
        assert!(same(&parsed, &expected), "{reply:?} → {out:?} parses as {parsed:?}, expected {expected:?}");
        let next = parser.parse_value(&mut reader).ok();
        assert_eq!(next, Some(redis::Value::SimpleString("END".into())), "{reply:?} → {out:?} runs on");
        all.extend_from_slice(&out);
    }
    let replies: Vec<Reply> = replies.into_iter().map(Reply::Value).collect();
    assert_eq!(resp2::replies(&replies, usize::MAX).expect("every generated reply is encodable"), all);
});
