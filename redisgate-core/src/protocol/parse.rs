//! JSON request bodies → command arguments.
//!
//! Arguments are read through [`serde_json::value::RawValue`] so that numbers keep their exact JSON text:
//! `1` becomes `"1"` and `1e-7` stays `"1e-7"` (never `"1.0"` or a re-rendered float). Strings, numbers and
//! booleans are accepted; `null`, objects and nested arrays are refused, as is an empty command.
//!
//! Parsing counts as it goes, and stops at the first command past [`MAX_BATCH`] or argument past
//! [`MAX_ARGS`]: a 10 MiB body of `[[0],[0],…]` is two million commands, and building them all before
//! counting them held over 200 MB. What one request can make the gateway hold is thus a small multiple of
//! its body, whatever its shape.

use std::cell::Cell;
use std::fmt;

use serde::de::{self, DeserializeSeed, SeqAccess, Visitor};
use serde_json::value::RawValue;

use crate::{Error, Result};

/// One command's arguments, the command name first.
pub type Args = Vec<Vec<u8>>;

/// Most commands in one `/pipeline` or `/multi-exec`: a 10 MiB body of `["PING"]`s is over a million
/// commands, and their replies hundreds of megabytes.
pub const MAX_BATCH: usize = 10_000;

/// Most arguments (command names included) in one request: an `MSET` of 100,000 pairs fits; four million
/// one-byte arguments (300 MB once parsed) do not.
pub const MAX_ARGS: usize = 250_000;

/// Parses `["SET","k","v",100]`.
///
/// # Errors
/// [`Error::InvalidRequest`] for malformed JSON, an empty array, an argument of the wrong type, or more than
/// [`MAX_ARGS`] arguments.
pub fn command(body: &[u8]) -> Result<Args> {
    let budget = Budget::default();
    deserialize(body, CommandSeed(&budget), &budget, "invalid JSON command, expected an array of strings")
}

/// Parses `[["SET","k","v"],["GET","k"]]` for `/pipeline` and `/multi-exec`.
///
/// # Errors
/// [`Error::InvalidRequest`] for malformed JSON, an empty list, any invalid command inside it, more than
/// [`MAX_BATCH`] commands or more than [`MAX_ARGS`] arguments in all.
pub fn commands(body: &[u8]) -> Result<Vec<Args>> {
    let budget = Budget::default();
    let commands = deserialize(
        body,
        BatchSeed(&budget),
        &budget,
        "invalid JSON body, expected an array of commands such as [[\"GET\",\"k\"]]",
    )?;
    if commands.is_empty() {
        return Err(Error::invalid("empty pipeline: send at least one command"));
    }
    Ok(commands)
}

/// Runs `seed` over the whole body. A refusal the visitors recorded (a wrong argument, a cap) is returned
/// as it is; a JSON syntax error gets `context`.
fn deserialize<'de, S: DeserializeSeed<'de>>(
    body: &'de [u8],
    seed: S,
    budget: &Budget,
    context: &str,
) -> Result<S::Value> {
    let mut deserializer = serde_json::Deserializer::from_slice(body);
    let parsed = seed.deserialize(&mut deserializer).and_then(|value| deserializer.end().map(|()| value));
    parsed.map_err(|e| budget.refusal.take().unwrap_or_else(|| Error::invalid(format!("{context}: {e}"))))
}

/// What one request may still hold, and the refusal that stopped it.
struct Budget {
    /// Arguments still allowed.
    args: Cell<usize>,
    refusal: Cell<Option<Error>>,
}

impl Default for Budget {
    fn default() -> Self {
        Self { args: Cell::new(MAX_ARGS), refusal: Cell::new(None) }
    }
}

impl Budget {
    /// Records `refusal` and returns the error that stops the deserializer.
    fn refuse<E: de::Error>(&self, refusal: Error) -> E {
        let message = refusal.to_string();
        self.refusal.set(Some(refusal));
        E::custom(message)
    }

    /// Takes one argument's place; `false` when none is left.
    fn take_arg(&self) -> bool {
        let left = self.args.get();
        self.args.set(left.saturating_sub(1));
        left > 0
    }
}

/// `[[...], [...]]`: a list of commands.
struct BatchSeed<'b>(&'b Budget);

impl<'de> DeserializeSeed<'de> for BatchSeed<'_> {
    type Value = Vec<Args>;

    fn deserialize<D: de::Deserializer<'de>>(self, deserializer: D) -> std::result::Result<Self::Value, D::Error> {
        deserializer.deserialize_seq(self)
    }
}

impl<'de> Visitor<'de> for BatchSeed<'_> {
    type Value = Vec<Args>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an array of commands")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> std::result::Result<Self::Value, A::Error> {
        let mut commands = Vec::new();
        while let Some(command) = seq.next_element_seed(CommandSeed(self.0))? {
            if commands.len() == MAX_BATCH {
                let refusal = format!("a /pipeline or /multi-exec holds at most {MAX_BATCH} commands");
                return Err(self.0.refuse(Error::invalid(refusal)));
            }
            commands.push(command);
        }
        Ok(commands)
    }
}

/// `["SET", "k", "v"]`: one command.
struct CommandSeed<'b>(&'b Budget);

impl<'de> DeserializeSeed<'de> for CommandSeed<'_> {
    type Value = Args;

    fn deserialize<D: de::Deserializer<'de>>(self, deserializer: D) -> std::result::Result<Self::Value, D::Error> {
        deserializer.deserialize_seq(self)
    }
}

impl<'de> Visitor<'de> for CommandSeed<'_> {
    type Value = Args;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a command: an array of strings")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> std::result::Result<Self::Value, A::Error> {
        let mut args = Vec::new();
        while let Some(raw) = seq.next_element::<&'de RawValue>()? {
            if !self.0.take_arg() {
                return Err(self.0.refuse(Error::invalid(format!("a request holds at most {MAX_ARGS} arguments"))));
            }
            if args.is_empty() && !raw.get().starts_with('"') {
                return Err(self.0.refuse(Error::invalid("the command name must be a string")));
            }
            args.push(arg(raw).map_err(|refusal| self.0.refuse(refusal))?);
        }
        if args.is_empty() {
            return Err(self.0.refuse(Error::invalid("empty command")));
        }
        Ok(args)
    }
}

/// One argument: a string's contents, a number's or boolean's literal text.
fn arg(raw: &RawValue) -> Result<Vec<u8>> {
    let text = raw.get();
    match text.as_bytes().first() {
        // A string without an escape is its text between the quotes (`RawValue` has checked it is a valid
        // JSON string); only one with escapes is read again to unescape it.
        Some(b'"') if !text.as_bytes().contains(&b'\\') => Ok(text.as_bytes()[1..text.len() - 1].to_vec()),
        Some(b'"') => serde_json::from_str::<String>(text)
            .map(String::into_bytes)
            .map_err(|e| Error::invalid(format!("invalid string argument: {e}"))),
        Some(b'-' | b'0'..=b'9') | Some(b't' | b'f') => Ok(text.as_bytes().to_vec()),
        Some(b'n') => Err(Error::invalid("null is not a valid argument")),
        Some(b'{') => Err(Error::invalid("objects are not valid arguments; send them as JSON strings")),
        Some(b'[') => Err(Error::invalid("nested arrays are not valid arguments")),
        _ => Err(Error::invalid("invalid argument")),
    }
}
