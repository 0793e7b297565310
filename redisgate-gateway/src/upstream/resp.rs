//! RESP2 on the shared connection: commands written as arrays of bulk strings, as redis-rs writes them, and
//! Redis's replies read from the bytes a connection has received so far into redis-rs's `Value`s,
//! exactly as redis-rs reads them (`+OK` is `Value::Okay`, `$-1` and `*-1` are `Value::Nil`, an error line
//! is a `Value::ServerError`).
//!
//! The reader resumes where it stopped: an array whose elements arrive over many reads is read once, element
//! by element, not again from its start on every read (a reply of millions of keys stays linear). redis-rs's
//! own reader is built from parser combinators and costs several times as much per reply.

use bytes::{Buf as _, BytesMut};
use redis::Value;
use redisgate_core::protocol::Command;

/// Appends `command`, name first.
pub fn write_command(out: &mut Vec<u8>, command: &Command) {
    // Room for it all at once: its bytes, and 16 of header and CRLF for each part (enough for any length under
    // 10^12; a longer one grows the buffer as usual).
    let parts = 1 + command.args().len();
    out.reserve(16 * (1 + parts) + command.name().len() + command.args().iter().map(Vec::len).sum::<usize>());
    header(out, b'*', parts);
    bulk(out, command.name());
    command.args().iter().for_each(|arg| bulk(out, arg));
}

/// Appends the command `args`, name first.
pub fn write_args(out: &mut Vec<u8>, args: &[&[u8]]) {
    header(out, b'*', args.len());
    args.iter().for_each(|arg| bulk(out, arg));
}

fn bulk(out: &mut Vec<u8>, arg: &[u8]) {
    header(out, b'$', arg.len());
    out.extend_from_slice(arg);
    out.extend_from_slice(b"\r\n");
}

fn header(out: &mut Vec<u8>, kind: u8, len: usize) {
    // One digit (a command's parts, its name, most keys) is written as one small constant-sized copy; longer
    // lengths are formatted.
    if let Some(&digit) = b"0123456789".get(len) {
        out.extend_from_slice(&[kind, digit, b'\r', b'\n']);
        return;
    }
    out.push(kind);
    out.extend_from_slice(itoa::Buffer::new().format(len).as_bytes());
    out.extend_from_slice(b"\r\n");
}

/// How deeply arrays may nest (redis-rs allows 100 too).
const MAX_DEPTH: usize = 100;

/// Bytes that are not a RESP2 reply: the connection cannot be read further.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("malformed reply from redis: {0}")]
pub struct Malformed(pub(super) &'static str);

/// Reads replies one after the other; keeps the arrays it is in the middle of. A reply that would weigh more
/// than the reader's limit is read to its end and dropped as it comes ([`Read::TooLarge`]): the gateway never
/// holds a reply heavier than the limit, whatever Redis sends. (In memory, a reply of many tiny elements
/// takes more than its weight: each element is a `Value` of 56 bytes.)
pub struct Reader {
    /// The arrays being read, innermost last: how many elements each still needs, and those it has.
    open: Vec<(usize, Vec<Value>)>,
    /// The most a reply may weigh ([`Read::Value`]).
    limit: usize,
    /// The weight of the reply being read, so far.
    weight: usize,
    /// Whether the reply being read is over the limit: the rest of it is read and dropped.
    over: bool,
    /// Bytes still to drop of an oversized bulk string (its CRLF included).
    skipping: usize,
}

/// What the reader read.
#[derive(Debug, PartialEq)]
pub enum Read {
    /// A whole reply, and its weight: a lower bound of the bytes any encoding of it takes (JSON or RESP2,
    /// base64 or not), so a reply over a response limit by weight is over it once encoded.
    Value(Value, usize),
    /// A reply heavier than the reader's limit, read to its end and dropped.
    TooLarge,
}

/// One element read whole: a value, the header of a non-empty array, or the header of a bulk string too
/// large to keep (its bytes and CRLF follow).
enum Item {
    Value(Value),
    Array(usize),
    Skip(usize),
}

impl Reader {
    /// A reader that drops any reply weighing more than `limit`.
    pub fn new(limit: usize) -> Self {
        Self { open: Vec::new(), limit, weight: 0, over: false, skipping: 0 }
    }

    /// Lets replies weigh up to `limit` from now on, if that is more than they may already.
    pub fn raise_limit(&mut self, limit: usize) {
        self.limit = self.limit.max(limit);
    }

    /// The next complete reply in `buf`, consuming the bytes it used (and those of an array's elements read
    /// so far); `None` when more bytes are needed.
    ///
    /// # Errors
    /// When `buf` holds something that is not RESP2.
    pub fn next(&mut self, buf: &mut BytesMut) -> Result<Option<Read>, Malformed> {
        loop {
            let value = if self.skipping > 0 {
                let dropped = self.skipping.min(buf.len());
                buf.advance(dropped);
                self.skipping -= dropped;
                if self.skipping > 0 {
                    return Ok(None);
                }
                None
            } else {
                let room = if self.over { 0 } else { self.limit - self.weight };
                let Some((item, used)) = item(buf, room)? else { return Ok(None) };
                buf.advance(used);
                match item {
                    Item::Array(len) => {
                        if self.open.len() >= MAX_DEPTH {
                            return Err(Malformed("arrays nested too deeply"));
                        }
                        self.add(1);
                        let elements = if self.over { Vec::new() } else { Vec::with_capacity(len.min(1024)) };
                        self.open.push((len, elements));
                        continue;
                    }
                    Item::Skip(bytes) => {
                        // Too large to keep: the reply is over.
                        self.add(usize::MAX);
                        self.skipping = bytes;
                        continue;
                    }
                    Item::Value(value) => {
                        self.add(weight(&value));
                        Some(value).filter(|_| !self.over)
                    }
                }
            };
            if let Some(read) = self.close(value) {
                return Ok(Some(read));
            }
        }
    }

    /// Adds `weight` to the reply's; past the limit, drops what the reply holds so far.
    fn add(&mut self, weight: usize) {
        self.weight = self.weight.saturating_add(weight);
        if self.weight > self.limit && !self.over {
            self.over = true;
            self.open.iter_mut().for_each(|(_, elements)| *elements = Vec::new());
        }
    }

    /// Puts an element just read (`None` when dropped) into its array, closing every array it completes; the
    /// reply, once it is whole.
    fn close(&mut self, mut value: Option<Value>) -> Option<Read> {
        while let Some((missing, elements)) = self.open.last_mut() {
            elements.extend(value.take());
            *missing -= 1;
            if *missing > 0 {
                return None;
            }
            let (_, elements) = self.open.pop().unwrap_or_default();
            value = (!self.over).then_some(Value::Array(elements));
        }
        let read = match value {
            Some(value) if !self.over => Read::Value(value, self.weight),
            _ => Read::TooLarge,
        };
        (self.weight, self.over) = (0, false);
        Some(read)
    }
}

/// A value's own weight (an array's elements count on their own): its text's length for a string or an
/// error, plus one byte (a quote, or a separator, is always written).
fn weight(value: &Value) -> usize {
    1 + match value {
        Value::BulkString(bytes) => bytes.len(),
        Value::SimpleString(text) => text.len(),
        Value::ServerError(e) => e.code().len() + e.details().map_or(0, str::len),
        _ => 0,
    }
}

/// The element at the start of `buf` and the bytes it takes, if they are all there. A bulk string that
/// would weigh more than `room` is not waited for: its header is read, and its bytes are left to skip.
fn item(buf: &[u8], room: usize) -> Result<Option<(Item, usize)>, Malformed> {
    let Some(&kind) = buf.first() else { return Ok(None) };
    let Some(end) = memchr::memchr(b'\n', buf) else { return Ok(None) };
    if end < 2 || buf[end - 1] != b'\r' {
        return Err(Malformed("a line without CRLF"));
    }
    let line = &buf[1..end - 1];
    let after = end + 1;
    let item = match kind {
        b'+' if line == b"OK" => Item::Value(Value::Okay),
        b'+' => Item::Value(Value::SimpleString(text(line)?.to_owned())),
        b'-' => Item::Value(server_error(line)?),
        b':' => Item::Value(Value::Int(int(line)?)),
        b'$' => {
            let Ok(len) = usize::try_from(int(line)?) else { return Ok(Some((Item::Value(Value::Nil), after))) };
            let Some(total) = after.checked_add(len).and_then(|n| n.checked_add(2)) else {
                return Err(Malformed("a bulk string longer than memory"));
            };
            if len >= room {
                return Ok(Some((Item::Skip(len + 2), after)));
            }
            if buf.len() < total {
                return Ok(None);
            }
            if &buf[total - 2..total] != b"\r\n" {
                return Err(Malformed("a bulk string without its CRLF"));
            }
            return Ok(Some((Item::Value(Value::BulkString(buf[after..total - 2].to_vec())), total)));
        }
        b'*' => match usize::try_from(int(line)?) {
            Ok(0) => Item::Value(Value::Array(Vec::new())),
            Ok(len) => Item::Array(len),
            Err(_) => Item::Value(Value::Nil),
        },
        _ => return Err(Malformed("an unknown type (only RESP2 is spoken)")),
    };
    Ok(Some((item, after)))
}

fn text(line: &[u8]) -> Result<&str, Malformed> {
    std::str::from_utf8(line).map_err(|_| Malformed("a line that is not UTF-8"))
}

/// A reply's number: digits with an optional minus sign (what Redis writes), read byte by byte.
fn int(line: &[u8]) -> Result<i64, Malformed> {
    const NOT_ONE: Malformed = Malformed("a number that is not one");
    let (negative, digits) = match line {
        [b'-', rest @ ..] => (true, rest),
        _ => (false, line),
    };
    if digits.is_empty() || digits.len() > 19 {
        return Err(NOT_ONE);
    }
    let mut magnitude: i128 = 0;
    for &digit in digits {
        if !digit.is_ascii_digit() {
            return Err(NOT_ONE);
        }
        magnitude = magnitude * 10 + i128::from(digit - b'0');
    }
    i64::try_from(if negative { -magnitude } else { magnitude }).map_err(|_| NOT_ONE)
}

/// An error reply, as redis-rs classifies it (its `ServerError` has no public constructor, and error replies
/// are rare enough to let redis-rs read the line itself).
fn server_error(line: &[u8]) -> Result<Value, Malformed> {
    let mut whole = Vec::with_capacity(line.len() + 3);
    whole.push(b'-');
    whole.extend_from_slice(line);
    whole.extend_from_slice(b"\r\n");
    redis::parse_redis_value(&whole).map_err(|_| Malformed("an error line redis-rs cannot read"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Every reply in `bytes`, read `chunk` bytes at a time by a reader of `limit`.
    fn reads(bytes: &[u8], chunk: usize, limit: usize) -> Result<Vec<Read>, Malformed> {
        let (mut reader, mut buf, mut out) = (Reader::new(limit), BytesMut::new(), Vec::new());
        for piece in bytes.chunks(chunk.max(1)) {
            buf.extend_from_slice(piece);
            while let Some(read) = reader.next(&mut buf)? {
                out.push(read);
            }
        }
        assert!(buf.is_empty(), "bytes left over: {buf:?}");
        Ok(out)
    }

    fn all(bytes: &[u8], chunk: usize) -> Result<Vec<Value>, Malformed> {
        let values = reads(bytes, chunk, usize::MAX)?.into_iter().map(|read| match read {
            Read::Value(value, _) => value,
            Read::TooLarge => panic!("nothing is too large for usize::MAX"),
        });
        Ok(values.collect())
    }

    #[test]
    fn reads_every_resp2_type_as_redis_rs_does() {
        let wire = b"+OK\r\n+PONG\r\n-ERR wrong\r\n-WRONGTYPE Operation\r\n:-42\r\n$3\r\nabc\r\n$0\r\n\r\n$-1\r\n*-1\r\n*0\r\n\
                     *2\r\n*1\r\n$1\r\nx\r\n:1\r\n";
        let mine = all(wire, 1000).unwrap();
        assert_eq!(mine, theirs(wire, mine.len()));
        assert_eq!(mine[0], Value::Okay);
        assert!(matches!(&mine[2], Value::ServerError(e) if e.code() == "ERR"));
    }

    #[test]
    fn writes_commands_as_redis_rs_does() {
        let command = Command::new(b"SET".to_vec(), vec![b"k".to_vec(), vec![0, 255, b'\r'], Vec::new()]).unwrap();
        let mut mine = Vec::new();
        write_command(&mut mine, &command);
        write_args(&mut mine, &[b"EXEC"]);
        let mut theirs = command.to_cmd().get_packed_command();
        theirs.extend(redis::cmd("EXEC").get_packed_command());
        assert_eq!(mine, theirs);
    }

    #[test]
    fn refuses_what_is_not_resp2() {
        assert!(all(b"%1\r\n", 100).is_err());
        assert!(all(b"$3\r\nabcd\r\n", 100).is_err());
        assert!(all(b":x\r\n", 100).is_err());
        assert!(all(b":\r\n", 100).is_err());
        assert!(all(b":9223372036854775808\r\n", 100).is_err());
        assert_eq!(all(b":-9223372036854775808\r\n", 100).unwrap(), [Value::Int(i64::MIN)]);
        assert!(all(b"+OK\n", 100).is_err());
        let deep = "*1\r\n".repeat(MAX_DEPTH + 1);
        assert!(all(deep.as_bytes(), 100).is_err());
    }

    fn value() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Nil),
            Just(Value::Okay),
            any::<i64>().prop_map(Value::Int),
            proptest::collection::vec(any::<u8>(), 0..40).prop_map(Value::BulkString),
            "[a-zA-Z ]{0,10}".prop_map(Value::SimpleString),
            "(ERR|MOVED|BUSY|X) [a-z ]{0,10}"
                .prop_map(|e| redis::parse_redis_value(format!("-{e}\r\n").as_bytes()).unwrap()),
        ];
        leaf.prop_recursive(4, 64, 8, |inner| proptest::collection::vec(inner, 0..8).prop_map(Value::Array))
    }

    fn encode(value: &Value, out: &mut Vec<u8>) {
        match value {
            Value::Nil => out.extend_from_slice(b"$-1\r\n"),
            Value::Okay => out.extend_from_slice(b"+OK\r\n"),
            Value::Int(n) => out.extend_from_slice(format!(":{n}\r\n").as_bytes()),
            Value::SimpleString(s) if s != "OK" => out.extend_from_slice(format!("+{s}\r\n").as_bytes()),
            Value::SimpleString(_) => out.extend_from_slice(b"+OK\r\n"),
            Value::BulkString(b) => {
                out.extend_from_slice(format!("${}\r\n", b.len()).as_bytes());
                out.extend_from_slice(b);
                out.extend_from_slice(b"\r\n");
            }
            Value::ServerError(e) => {
                out.extend_from_slice(format!("-{}", e.code()).as_bytes());
                if let Some(detail) = e.details() {
                    out.extend_from_slice(format!(" {detail}").as_bytes());
                }
                out.extend_from_slice(b"\r\n");
            }
            Value::Array(items) => {
                out.extend_from_slice(format!("*{}\r\n", items.len()).as_bytes());
                items.iter().for_each(|item| encode(item, out));
            }
            other => unreachable!("not generated: {other:?}"),
        }
    }

    /// redis-rs's own reading of `wire`, which holds `count` replies (read as the elements of one array: its
    /// reader buffers past the first reply).
    fn theirs(wire: &[u8], count: usize) -> Vec<Value> {
        let whole = [format!("*{count}\r\n").as_bytes(), wire].concat();
        match redis::parse_redis_value(&whole).unwrap() {
            Value::Array(values) => values,
            other => panic!("not an array: {other:?}"),
        }
    }

    /// What `value` weighs, element by element.
    fn weight_of(value: &Value) -> usize {
        match value {
            Value::Array(items) => 1 + items.iter().map(weight_of).sum::<usize>(),
            other => weight(other),
        }
    }

    #[test]
    fn a_bulk_string_too_large_is_dropped_as_it_comes() {
        let (mut reader, mut buf) = (Reader::new(1000), BytesMut::new());
        buf.extend_from_slice(b"*2\r\n$5\r\nsmall\r\n$100000000\r\n");
        let mut left = 100_000_000 + 2;
        while left > 0 {
            assert_eq!(reader.next(&mut buf), Ok(None));
            assert!(buf.is_empty(), "the bytes read so far are dropped, not kept");
            let piece = left.min(1 << 20);
            buf.extend_from_slice(&vec![b'x'; piece]);
            left -= piece;
        }
        buf.extend_from_slice(b"+OK\r\n");
        assert_eq!(reader.next(&mut buf), Ok(Some(Read::TooLarge)));
        assert_eq!(reader.next(&mut buf), Ok(Some(Read::Value(Value::Okay, 1))), "the next reply is read as ever");
    }

    proptest! {
        /// A reply's weight is never more than what it takes as JSON (base64 or not) or RESP2, so a reply
        /// over a response limit by weight is over it once encoded.
        #[test]
        fn a_weight_is_less_than_any_encoding(value in value()) {
            use redisgate_core::protocol::encode::{json, resp2};
            let mut wire = Vec::new();
            encode(&value, &mut wire);
            let [Read::Value(read, weight)] = &reads(&wire, wire.len(), usize::MAX).unwrap()[..] else {
                panic!("one reply")
            };
            prop_assert_eq!(*weight, weight_of(read));
            for base64 in [false, true] {
                prop_assert!(*weight <= json::result(read, base64, usize::MAX).unwrap().len());
            }
            prop_assert!(*weight <= resp2::reply(read, usize::MAX).unwrap().len());
        }

        /// With a limit, a reply weighing more is dropped and every other one read as redis-rs reads it,
        /// whatever the reads' sizes.
        #[test]
        fn replies_over_the_limit_are_dropped_and_the_rest_kept(
            values in proptest::collection::vec(value(), 1..6),
            chunk in 1usize..64,
            limit in 0usize..120,
        ) {
            let mut wire = Vec::new();
            values.iter().for_each(|v| encode(v, &mut wire));
            let expected: Vec<Read> = theirs(&wire, values.len())
                .into_iter()
                .map(|value| match weight_of(&value) {
                    weight if weight <= limit => Read::Value(value, weight),
                    _ => Read::TooLarge,
                })
                .collect();
            prop_assert_eq!(reads(&wire, chunk, limit).unwrap(), expected);
        }

        /// Whatever the reads' sizes, the replies are redis-rs's own reading of the same bytes.
        #[test]
        fn agrees_with_redis_rs_in_any_chunks(values in proptest::collection::vec(value(), 1..6), chunk in 1usize..64) {
            let mut wire = Vec::new();
            values.iter().for_each(|v| encode(v, &mut wire));
            prop_assert_eq!(all(&wire, chunk).unwrap(), theirs(&wire, values.len()));
        }
    }
}
