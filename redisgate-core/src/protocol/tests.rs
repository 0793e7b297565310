//! Unit and property tests for request parsing, the command policy and the encoders.

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use proptest::prelude::*;
use redis::Value;

use super::encode::{json, resp2, Reply};
use super::request::{parse, query_token};
use super::*;
use crate::Error;

fn req<'a>(method: Method, path: &'a str, query: Option<&'a str>, body: &'a [u8]) -> RestRequest<'a> {
    RestRequest { method, path, query, body }
}

fn command(endpoint: Endpoint) -> Vec<Vec<u8>> {
    match endpoint {
        Endpoint::Command(c) => words(&c),
        other => panic!("expected a command, got {other:?}"),
    }
}

/// The command's name, then its arguments.
fn words(command: &Command) -> Vec<Vec<u8>> {
    std::iter::once(command.name().to_vec()).chain(command.args().iter().cloned()).collect()
}

/// The command `args` spell, name first.
fn cmd(args: &[&str]) -> Command {
    let (name, args) = args.split_first().expect("a name");
    Command::new(name.as_bytes().to_vec(), strs(args)).unwrap()
}

fn strs(args: &[&str]) -> Vec<Vec<u8>> {
    args.iter().map(|a| a.as_bytes().to_vec()).collect()
}

#[test]
fn path_command_segments_are_decoded_one_by_one() {
    let e = parse(&req(Method::Get, "/SET/a%2Fb/hello%20world", None, b"")).unwrap();
    assert_eq!(command(e), strs(&["set", "a/b", "hello world"]));
}

#[test]
fn body_goes_last_before_query_args_and_token_is_dropped() {
    let e = parse(&req(Method::Post, "/set/foo", Some("EX=100&_token=secret&NX"), b"\x00\xffbin")).unwrap();
    let mut expected = strs(&["set", "foo"]);
    expected.push(b"\x00\xffbin".to_vec());
    expected.extend(strs(&["EX", "100", "NX"]));
    assert_eq!(command(e), expected);
}

#[test]
fn get_ignores_body_and_trailing_slash_and_leading_double_slash() {
    let e = parse(&req(Method::Get, "//get/foo/", None, b"ignored")).unwrap();
    assert_eq!(command(e), strs(&["get", "foo"]));
    let e = parse(&req(Method::Post, "//pipeline", None, br#"[["ping"]]"#)).unwrap();
    assert!(matches!(e, Endpoint::Pipeline(c) if c.len() == 1));
}

#[test]
fn json_numbers_keep_their_text_and_booleans_become_words() {
    let e = parse(&req(Method::Post, "/", None, br#"["SET","k",1,1.5,1e-7,-0,true,false]"#)).unwrap();
    assert_eq!(command(e), strs(&["set", "k", "1", "1.5", "1e-7", "-0", "true", "false"]));
}

#[test]
fn json_strings_are_unescaped() {
    let e = parse(&req(Method::Post, "/", None, br#"["echo","a\"b\u00e9\n"]"#)).unwrap();
    assert_eq!(command(e), vec![b"echo".to_vec(), "a\"b\u{e9}\n".as_bytes().to_vec()]);
}

#[test]
fn invalid_json_bodies_are_refused() {
    for body in [
        &b"[]"[..],
        b"",
        b"{}",
        b"[\"set\",null]",
        b"[\"set\",{\"a\":1}]",
        b"[\"set\",[1]]",
        b"[1,2]",
        b"[true]",
        b"[\"get\",\"k\"] trailing",
        b"[\"",
        b"[\"\"]",
    ] {
        let result = parse(&req(Method::Post, "/", None, body));
        assert!(matches!(result, Err(Error::InvalidRequest(_))), "{:?} gave {result:?}", String::from_utf8_lossy(body));
    }
    for body in [&b"[]"[..], b"[[]]", b"[\"get\"]", b"[[\"get\",null]]", b"not json"] {
        let result = parse(&req(Method::Post, "/pipeline", None, body));
        assert!(matches!(result, Err(Error::InvalidRequest(_))), "{body:?} gave {result:?}");
    }
}

#[test]
fn sse_endpoints_take_the_rest_of_the_path() {
    let e = parse(&req(Method::Post, "/subscribe/news/sport%20x", None, b"[]")).unwrap();
    assert_eq!(e, Endpoint::Subscribe(b"news/sport x".to_vec()));
    let e = parse(&req(Method::Post, "/psubscribe/news.*", None, b"")).unwrap();
    assert_eq!(e, Endpoint::PSubscribe(b"news.*".to_vec()));
    assert_eq!(parse(&req(Method::Get, "/monitor", None, b"")).unwrap(), Endpoint::Monitor);
    // A bare /subscribe is an ordinary (refused) command, not a stream.
    let e = parse(&req(Method::Get, "/subscribe", None, b"")).unwrap();
    assert!(matches!(e, Endpoint::Command(c) if c.check(Access::Full).is_err()));
}

#[test]
fn token_comes_from_the_query() {
    assert_eq!(query_token(Some("a=1&_token=t%20k")), Some(b"t k".to_vec()));
    assert_eq!(query_token(Some("a=1")), None);
    assert_eq!(query_token(None), None);
}

fn check(args: &[&str], access: Access) -> crate::Result<()> {
    cmd(args).check(access)
}

#[test]
fn policy_refuses_what_could_block_or_poison_a_shared_connection() {
    for args in [
        &["BLPOP", "q", "0"][..],
        &["brpop", "q", "0"],
        &["bzmpop", "0", "1", "z", "MIN"],
        &["xread", "COUNT", "1", "BLOCK", "0", "STREAMS", "s", "$"],
        &["xreadgroup", "GROUP", "g", "c", "block", "10", "STREAMS", "s", ">"],
        &["multi"],
        &["exec"],
        &["watch", "k"],
        &["select", "1"],
        &["hello", "3"],
        &["auth", "x"],
        &["client", "kill"],
        &["subscribe", "c"],
        &["monitor"],
        &["wait", "1", "0"],
        &["debug", "sleep", "10"],
        &["config", "set", "maxmemory", "0"],
        &["CONFIG", "GET", "requirepass"],
        &["acl", "setuser", "evil", "on", ">pw", "+@all"],
        &["acl", "list"],
        &["migrate", "10.0.0.1", "6379", "k", "0", "1000"],
        &["save"],
        &["bgrewriteaof"],
        &["module", "load", "/tmp/x.so"],
        &["replicaof", "127.0.0.1", "6379"],
        &["swapdb", "0", "1"],
        &["move", "k", "1"],
        &["cluster", "reset"],
        &["script", "debug", "yes"],
        // A group or consumer named `streams` does not hide a BLOCK (it froze the instance for everyone).
        &["xreadgroup", "GROUP", "streams", "c", "BLOCK", "0", "STREAMS", "s", ">"],
        &["xreadgroup", "GROUP", "g", "streams", "COUNT", "1", "BLOCK", "0", "STREAMS", "s", ">"],
    ] {
        let err = check(args, Access::Full).unwrap_err();
        assert!(matches!(err, Error::CommandRefused { .. }), "{args:?}");
        assert!(err.to_string().starts_with("ERR command '"), "{err}");
    }
    check(&["xread", "STREAMS", "block", "0"], Access::Full).unwrap();
    check(&["xreadgroup", "GROUP", "block", "c", "STREAMS", "s", ">"], Access::Full).unwrap();
    check(&["acl", "whoami"], Access::Full).unwrap();
    check(&["cluster", "keyslot", "k"], Access::Full).unwrap();
    check(&["script", "load", "return 1"], Access::Full).unwrap();
    check(&["object", "encoding", "k"], Access::Full).unwrap();
    check(&["PING"], Access::Full).unwrap();
    check(&["echo", "x"], Access::Full).unwrap();
    check(&["set", "k", "v"], Access::Full).unwrap();
}

#[test]
fn read_only_access_runs_reads_only() {
    check(&["GET", "k"], Access::ReadOnly).unwrap();
    check(&["hgetall", "k"], Access::ReadOnly).unwrap();
    check(&["xread", "STREAMS", "s", "0"], Access::ReadOnly).unwrap();
    // Every command Redis flags read-only, the modules' included.
    for read in [&["vcard", "v"][..], &["vsim", "v", "ELE", "a"], &["sort_ro", "l"], &["json.debug", "memory", "j"]] {
        check(read, Access::ReadOnly).unwrap();
    }
    for args in [&["set", "k", "v"][..], &["del", "k"], &["keys", "*"], &["scan", "0"], &["eval", "return 1", "0"]] {
        let err = check(args, Access::ReadOnly).unwrap_err();
        assert_eq!(err.to_string(), format!("NOPERM this user has no permissions to run the '{}' command", args[0]));
    }
}

#[test]
fn response_format_from_headers() {
    use ResponseFormat as F;
    assert_eq!(F::from_headers(None, None).unwrap(), F::Json);
    assert_eq!(F::from_headers(Some(b"base64"), None).unwrap(), F::Base64Json);
    assert_eq!(F::from_headers(Some(b"Base64"), Some(b"json")).unwrap(), F::Base64Json);
    assert_eq!(F::from_headers(None, Some(b"resp2")).unwrap(), F::Resp2);
    assert!(F::from_headers(Some(b"base64"), Some(b"resp2")).is_err());
    assert!(F::from_headers(None, Some(b"resp3")).is_err());
    assert!(F::from_headers(Some(b"hex"), None).is_err());
}

fn bulk(s: &str) -> Value {
    Value::BulkString(s.as_bytes().to_vec())
}

fn text(bytes: Vec<u8>) -> String {
    String::from_utf8(bytes).unwrap()
}

#[test]
fn json_encoding_uses_resp2_shapes() {
    assert_eq!(text(json::result(&Value::Nil, false, usize::MAX).unwrap()), r#"{"result":null}"#);
    assert_eq!(text(json::result(&Value::Okay, false, usize::MAX).unwrap()), r#"{"result":"OK"}"#);
    assert_eq!(text(json::result(&Value::Int(-3), false, usize::MAX).unwrap()), r#"{"result":-3}"#);
    let map = Value::Map(vec![(bulk("f"), bulk("v"))]);
    assert_eq!(text(json::result(&map, false, usize::MAX).unwrap()), r#"{"result":["f","v"]}"#);
    assert_eq!(text(json::result(&Value::Boolean(true), false, usize::MAX).unwrap()), r#"{"result":1}"#);
    assert_eq!(text(json::result(&Value::Double(1.5), false, usize::MAX).unwrap()), r#"{"result":"1.5"}"#);
    assert_eq!(text(json::result(&Value::Array(vec![]), false, usize::MAX).unwrap()), r#"{"result":[]}"#);
}

#[test]
fn json_encoding_replaces_invalid_utf8() {
    let value = Value::BulkString(b"a\xffb\"".to_vec());
    assert_eq!(text(json::result(&value, false, usize::MAX).unwrap()), "{\"result\":\"a\u{fffd}b\\\"\"}");
}

#[test]
fn base64_encodes_every_string_but_a_top_level_ok() {
    assert_eq!(text(json::result(&Value::Okay, true, usize::MAX).unwrap()), r#"{"result":"OK"}"#);
    assert_eq!(
        text(json::result(&Value::SimpleString("PONG".into()), true, usize::MAX).unwrap()),
        r#"{"result":"UE9ORw=="}"#
    );
    assert_eq!(text(json::result(&bulk("test"), true, usize::MAX).unwrap()), r#"{"result":"dGVzdA=="}"#);
    let arr = Value::Array(vec![Value::Okay, Value::Int(1), Value::Nil, bulk("a"), Value::Array(vec![bulk("")])]);
    assert_eq!(text(json::result(&arr, true, usize::MAX).unwrap()), r#"{"result":["T0s=",1,null,"YQ==",[""]]}"#);
}

#[test]
fn pipeline_results_keep_errors_in_place_and_never_encode_them() {
    let err = redis::make_extension_error("ERR".into(), Some("boom".into()));
    let server_error = err.into_server_errors().unwrap()[0].1.clone();
    let replies = [
        Reply::Value(Value::Okay),
        Reply::Value(Value::ServerError(server_error)),
        Reply::Refused(Error::RequestTooLarge),
        Reply::Value(bulk("v")),
    ];
    assert_eq!(
        text(json::results(&replies, true, usize::MAX).unwrap()),
        format!(
            r#"[{{"result":"OK"}},{{"error":"ERR boom"}},{{"error":"{}"}},{{"result":"dg=="}}]"#,
            Error::RequestTooLarge
        )
    );
    assert_eq!(
        resp2::replies(&replies, usize::MAX).unwrap(),
        format!("+OK\r\n-ERR boom\r\n-{}\r\n$1\r\nv\r\n", Error::RequestTooLarge).into_bytes()
    );
    assert_eq!(resp2::error("ERR a\r\nb"), b"-ERR a  b\r\n");
    assert_eq!(text(json::error("ERR x\n\"y\"")), r#"{"error":"ERR x\n\"y\""}"#);
}

#[test]
fn resp2_encoding() {
    assert_eq!(resp2::reply(&Value::Okay, usize::MAX).unwrap(), b"+OK\r\n");
    assert_eq!(resp2::reply(&bulk("bar"), usize::MAX).unwrap(), b"$3\r\nbar\r\n");
    assert_eq!(resp2::reply(&Value::Nil, usize::MAX).unwrap(), b"$-1\r\n");
    let arr = Value::Array(vec![Value::Int(7), bulk("")]);
    assert_eq!(resp2::reply(&arr, usize::MAX).unwrap(), b"*2\r\n:7\r\n$0\r\n\r\n");
    assert_eq!(
        resp2::replies(&[Reply::Value(Value::Okay), Reply::Value(Value::Int(1))], usize::MAX).unwrap(),
        b"+OK\r\n:1\r\n"
    );
}

fn arg_strategy() -> impl Strategy<Value = String> {
    proptest::string::string_regex(".{0,12}").unwrap()
}

proptest! {
    /// Rendering a command as a JSON array and parsing it back gives the same arguments.
    #[test]
    fn json_command_round_trips(name in "[a-z]{1,8}", args in proptest::collection::vec(arg_strategy(), 0..6)) {
        let mut all = vec![name];
        all.extend(args.iter().cloned());
        let body = serde_json::to_vec(&all).unwrap();
        let parsed = command(parse(&req(Method::Post, "/", None, &body)).unwrap());
        let expected: Vec<Vec<u8>> = all.iter().map(|a| a.as_bytes().to_vec()).collect();
        prop_assert_eq!(parsed, expected);
    }

    /// Percent-encoding every byte of every path segment and parsing gives the same (binary) arguments.
    #[test]
    fn path_command_round_trips(name in "[a-z]{1,8}", args in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 1..10), 0..5)) {
        let mut path = format!("/{name}");
        for arg in &args {
            path.push('/');
            path.push_str(&percent_encoding::percent_encode(arg, percent_encoding::NON_ALPHANUMERIC).to_string());
        }
        let parsed = command(parse(&req(Method::Get, &path, None, b"")).unwrap());
        let mut expected = vec![name.into_bytes()];
        expected.extend(args);
        prop_assert_eq!(parsed, expected);
    }

    /// Every byte string survives base64 encoding inside and outside arrays.
    #[test]
    fn base64_round_trips(bytes in proptest::collection::vec(any::<u8>(), 0..64)) {
        let body = json::result(&Value::Array(vec![Value::BulkString(bytes.clone())]), true, usize::MAX).unwrap();
        let parsed: serde_json::Value = serde_json::from_slice(&body).unwrap();
        let encoded = parsed["result"][0].as_str().unwrap();
        prop_assert_eq!(STANDARD.decode(encoded).unwrap(), bytes);
    }

    /// A value's text is written exactly as serde_json writes it (the unescaped fast path included), and
    /// invalid UTF-8 as its lossy decoding.
    #[test]
    fn text_replies_are_serde_json_strings(bytes in proptest::collection::vec(prop_oneof![Just(b'"'), Just(b'\\'), Just(b'a'), Just(0x1f_u8), any::<u8>()], 0..80)) {
        let body = json::result(&Value::BulkString(bytes.clone()), false, usize::MAX).unwrap();
        let expected = format!("{{\"result\":{}}}", serde_json::to_string(&String::from_utf8_lossy(&bytes)).unwrap());
        prop_assert_eq!(String::from_utf8(body).unwrap(), expected);
    }

    /// Any bytes as a JSON body never panic the parser.
    #[test]
    fn parser_never_panics(body in proptest::collection::vec(any::<u8>(), 0..64)) {
        let _ = parse(&req(Method::Post, "/", None, &body));
        let _ = parse(&req(Method::Post, "/pipeline", None, &body));
    }
}

#[test]
fn scan_withtype_becomes_a_script() {
    let mut cmd = cmd(&["SCAN", "0", "MATCH", "k*", "WITHTYPE", "COUNT", "5"]);
    let alias = cmd.emulate_upstash();
    let args = words(&cmd);
    assert_eq!(args[0], b"eval");
    assert!(String::from_utf8_lossy(&args[1]).contains("redis.call('TYPE', k)"));
    assert_eq!(args[2..], strs(&["0", "0", "MATCH", "k*", "COUNT", "5"])[..]);
    assert_eq!(alias, None);
}

#[test]
fn key_locking_flag_is_stripped_and_the_sha_aliased() {
    let original = "#!lua flags=allow-key-locking\nreturn 1";
    let mut eval = cmd(&["eval", original, "0"]);
    let alias = eval.emulate_upstash();
    assert_eq!(words(&eval), strs(&["eval", "\nreturn 1", "0"]));
    let (from, to) = alias.unwrap();
    assert_eq!(from, compat::sha1_hex(original.as_bytes()));
    assert_eq!(to, compat::sha1_hex(b"\nreturn 1"));
    let mut evalsha = cmd(&["EVALSHA", &from.to_uppercase(), "0"]);
    evalsha.resolve_script_shas(|sha| (sha == from).then(|| to.clone()));
    assert_eq!(words(&evalsha), strs(&["evalsha", &to, "0"]));

    let other = "#!lua flags=no-writes,allow-key-locking\nreturn 2";
    let mut eval_ro = cmd(&["eval_ro", other, "0"]);
    eval_ro.emulate_upstash();
    assert_eq!(eval_ro.args()[0], b"#!lua flags=no-writes\nreturn 2");
    let plain = cmd(&["eval", "#!lua flags=no-writes\nreturn 2", "0"]);
    let mut emulated = plain.clone();
    emulated.emulate_upstash();
    assert_eq!(emulated, plain);
}

#[test]
fn unlink_without_keys_is_zero() {
    let mut unlink = cmd(&["unlink"]);
    unlink.emulate_upstash();
    assert_eq!(words(&unlink), strs(&["eval", "return 0", "0"]));
    let with_keys = cmd(&["unlink", "a"]);
    let mut emulated = with_keys.clone();
    emulated.emulate_upstash();
    assert_eq!(emulated, with_keys);
}

#[test]
fn script_aliases_resolve_the_original_sha_after_the_script_was_seen() {
    let aliases = compat::ScriptAliases::default();
    let original = "#!lua flags=allow-key-locking\nreturn 1";
    let sha = compat::sha1_hex(original.as_bytes());
    let evalsha = || cmd(&["evalsha", &sha, "0"]);
    assert_eq!(words(&aliases.prepare(evalsha())), strs(&["evalsha", &sha, "0"]), "unknown before");
    aliases.prepare(cmd(&["script", "load", original]));
    let resolved = compat::sha1_hex(b"\nreturn 1");
    assert_eq!(words(&aliases.prepare(evalsha())), strs(&["evalsha", &resolved, "0"]));
}

#[test]
fn replies_that_could_not_be_held_are_refused_before_they_are_built() {
    for args in [
        &["SRANDMEMBER", "s", "-20000000"][..],
        &["zrandmember", "z", "-10001"],
        &["HRANDFIELD", "h", "-99999", "WITHVALUES"],
    ] {
        assert!(matches!(check(args, Access::ReadOnly), Err(Error::CommandRefused { .. })), "{args:?}");
    }
    for args in [&["srandmember", "s", "-10000"][..], &["srandmember", "s", "20000000"], &["zrandmember", "z"]] {
        assert_eq!(check(args, Access::ReadOnly), Ok(()), "{args:?}");
    }
    let batch = format!("[{}]", vec![r#"["ping"]"#; request::MAX_BATCH + 1].join(","));
    let refused = parse(&req(Method::Post, "/pipeline", None, batch.as_bytes())).unwrap_err();
    assert!(refused.to_string().contains("at most 10000 commands"), "{refused}");
    let batch = format!("[{}]", vec![r#"["ping"]"#; request::MAX_BATCH].join(","));
    assert!(parse(&req(Method::Post, "/multi-exec", None, batch.as_bytes())).is_ok());
}

#[test]
fn parsing_stops_at_the_first_command_or_argument_over_the_caps() {
    // Two million one-argument commands: refused at the 10,001st, whatever follows (even malformed JSON).
    let flood = format!("[{}[", "[\"ping\"],".repeat(request::MAX_BATCH + 1));
    let refused = parse(&req(Method::Post, "/pipeline", None, flood.as_bytes())).unwrap_err();
    assert_eq!(refused.to_string(), "ERR a /pipeline or /multi-exec holds at most 10000 commands");
    // One command with more arguments than the cap, and a pipeline whose commands add up past it.
    let wide = format!("[\"mset\"{}]", ",0".repeat(request::MAX_ARGS));
    let refused = parse(&req(Method::Post, "/", None, wide.as_bytes())).unwrap_err();
    assert_eq!(refused.to_string(), "ERR a request holds at most 250000 arguments");
    let half = format!("[\"del\"{}]", ",0".repeat(request::MAX_ARGS / 2));
    let pipeline = format!("[{half},{half}]");
    assert!(parse(&req(Method::Post, "/pipeline", None, pipeline.as_bytes())).is_err());
    let fits = format!("[\"mset\"{}]", ",0".repeat(request::MAX_ARGS - 1));
    assert!(parse(&req(Method::Post, "/", None, fits.as_bytes())).is_ok());
    // The refusals of single arguments keep their own words.
    let refused = parse(&req(Method::Post, "/pipeline", None, br#"[["get",null]]"#)).unwrap_err();
    assert_eq!(refused.to_string(), "ERR null is not a valid argument");
    let refused = parse(&req(Method::Post, "/pipeline", None, br#"[["get","k"],[]]"#)).unwrap_err();
    assert_eq!(refused.to_string(), "ERR empty command");
}

#[test]
fn replies_stop_at_their_limit_whatever_their_escapes() {
    let nuls = Value::BulkString(vec![0; 1000]);
    // 1,000 NULs are 6,000 bytes of JSON (`\u0000` each): the limit holds on what is written, not on the
    // value's size.
    assert_eq!(json::result(&nuls, false, 4000), Err(Error::ResponseTooLarge(4000)));
    assert_eq!(json::result(&nuls, false, 7000).map(|out| out.len()), Ok(6013));
    // In base64 they are 1,336 bytes.
    assert_eq!(json::result(&nuls, true, 1400).map(|out| out.len()), Ok(1349));
    assert_eq!(json::result(&nuls, true, 1000), Err(Error::ResponseTooLarge(1000)));
    // A pipeline's answer counts in all.
    let values = vec![Reply::Value(bulk(&"x".repeat(600))), Reply::Value(bulk(&"y".repeat(600)))];
    assert_eq!(json::results(&values, false, 1000), Err(Error::ResponseTooLarge(1000)));
    assert!(json::results(&values, false, 1300).is_ok());
    assert_eq!(resp2::replies(&values, 1000), Err(Error::ResponseTooLarge(1000)));
    let x = bulk(&"x".repeat(600));
    assert_eq!(resp2::reply(&x, 608).map(|out| out.len()), Ok(608));
    assert_eq!(resp2::reply(&x, 607), Err(Error::ResponseTooLarge(607)));
    assert_eq!(Error::ResponseTooLarge(607).to_string(), "ERR max response size exceeded. Limit: 607 bytes");
}

#[test]
fn one_byte_to_escape_is_found_wherever_it_is() {
    // The scan for bytes to escape is a vector loop with a tail: each byte JSON escapes (or that must be
    // checked as UTF-8), at every place of values of every length up to three vectors.
    for len in 1..=48 {
        for at in 0..len {
            for special in [b'"', b'\\', 0x00, 0x1f, 0x80, 0xff] {
                let mut bytes = vec![b'v'; len];
                bytes[at] = special;
                let body = json::result(&Value::BulkString(bytes.clone()), false, usize::MAX).unwrap();
                let text = serde_json::to_string(&String::from_utf8_lossy(&bytes)).unwrap();
                assert_eq!(String::from_utf8(body).unwrap(), format!("{{\"result\":{text}}}"), "{len} {at} {special}");
            }
        }
    }
}

#[test]
fn unescaped_strings_are_still_checked() {
    // The fast path for strings without escapes relies on the JSON reader's own checks.
    for body in [&b"[\"SET\",\"k\",\"a\x01b\"]"[..], b"[\"SET\",\"k\",\"\xff\"]", b"[\"SET\",\"k\",\"open]"] {
        assert!(parse(&req(Method::Post, "/", None, body)).is_err(), "{}", String::from_utf8_lossy(body));
    }
    let parsed = command(parse(&req(Method::Post, "/", None, br#"["SET","k","caf\u00e9 \"x\""]"#)).unwrap());
    assert_eq!(parsed[2], "café \"x\"".as_bytes());
    assert_eq!(
        command(parse(&req(Method::Post, "/", None, "[\"SET\",\"k\",\"café\"]".as_bytes())).unwrap())[2],
        "café".as_bytes()
    );
}

/// What serde_json reads from a body of commands, argument by argument: a string unescaped, a number or a
/// boolean as its literal text (through `RawValue`), `None` for any body the parser must refuse.
fn serde_reading(body: &[u8]) -> Option<Vec<Command>> {
    use serde_json::value::RawValue;
    let arg = |raw: &RawValue| match raw.get().as_bytes()[0] {
        b'"' => serde_json::from_str::<String>(raw.get()).ok().map(String::into_bytes),
        b'-' | b'0'..=b'9' | b't' | b'f' => Some(raw.get().as_bytes().to_vec()),
        _ => None,
    };
    // A command is a non-empty array whose first element is a non-empty string.
    let command = |raw: Vec<&RawValue>| match raw.first() {
        Some(name) if name.get().starts_with('"') => {
            let mut all = raw.into_iter().map(arg).collect::<Option<Vec<_>>>()?;
            let name = all.remove(0);
            Command::new(name, all).ok()
        }
        _ => None,
    };
    let commands: Vec<Vec<&RawValue>> = serde_json::from_slice(body).ok()?;
    let commands = commands.into_iter().map(command).collect::<Option<Vec<_>>>()?;
    (!commands.is_empty()).then_some(commands)
}

/// Bodies of commands: a list of lists of JSON values (valid arguments or not), often damaged by one byte
/// put in, taken out or replaced.
fn json_body() -> impl Strategy<Value = Vec<u8>> {
    let value = prop::sample::select(vec![
        "\"get\"",
        "\"GeT\"",
        "\"k\"",
        "\"\"",
        "\"a\\\"b\"",
        "\"\\u00e9\"",
        "\"\\ud83d\\ude00\"",
        "\"\\ud800\"",
        "\"\\x\"",
        "\"caf\u{e9}\"",
        "\"a\u{1}b\"",
        "\"\\/\\n\"",
        "1",
        "-0",
        "01",
        "1.5",
        "1e-7",
        "1E+2",
        "1e999",
        "-",
        "1.",
        "true",
        "false",
        "null",
        "{}",
        "{\"a\":1}",
        "[]",
        "[1]",
        "NaN",
        "Infinity",
        " \"ws\" ",
    ]);
    let commands = proptest::collection::vec(proptest::collection::vec(value, 0..4), 0..4);
    let damage = proptest::option::of((any::<prop::sample::Index>(), 0..3_u8, any::<u8>()));
    (commands, damage).prop_map(|(commands, damage)| {
        let commands: Vec<String> = commands.iter().map(|args| format!("[{}]", args.join(","))).collect();
        let mut body = format!("[{}]", commands.join(",")).into_bytes();
        if let Some((at, how, byte)) = damage {
            let at = at.index(body.len());
            match how {
                0 => body.insert(at, byte),
                1 => drop(body.remove(at)),
                _ => body[at] = byte,
            }
        }
        body
    })
}

proptest! {
    /// The body parser accepts exactly what serde_json reads as a list of commands, with the same arguments;
    /// the single-command parser likewise for each element.
    #[test]
    fn bodies_are_read_as_serde_json_reads_them(body in json_body()) {
        prop_assert_eq!(parse::commands(&body).ok(), serde_reading(&body), "{}", String::from_utf8_lossy(&body));
        let inner = body.get(1..body.len().saturating_sub(1)).unwrap_or_default();
        let single = [b"[".as_slice(), inner, b"]"].concat();
        let one = parse::command(inner).ok().map(|args| vec![args]);
        let serde_one = serde_reading(&single).filter(|c| c.len() == 1);
        prop_assert_eq!(one, serde_one, "{}", String::from_utf8_lossy(inner));
    }
}
