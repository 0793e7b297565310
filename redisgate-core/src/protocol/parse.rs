//! JSON request bodies → commands.
//!
//! Bodies are read with [`jiter`], a JSON iterator: the reader walks the arrays element by element and takes
//! each argument as it is, with no intermediate value. Numbers keep their exact JSON text: `1` becomes `"1"`
//! and `1e-7` stays `"1e-7"` (never `"1.0"` or a re-rendered float). A string is unescaped, and checked as
//! JSON requires (valid UTF-8, no raw control character, no lone surrogate). Strings, numbers and booleans
//! are accepted; `null`, objects and nested arrays are refused, as is an empty command.
//!
//! Parsing counts as it goes, and stops at the first command past [`MAX_BATCH`] or argument past
//! [`MAX_ARGS`]: a 10 MiB body of `[[0],[0],…]` is two million commands, and building them all before
//! counting them held over 200 MB. What one request can make the gateway hold is thus a small multiple of
//! its body, whatever its shape.

use jiter::{Jiter, JiterError, Peek};

use crate::protocol::command::{Args, Name};
use crate::protocol::Command;
use crate::{Error, Result};

/// Most commands in one `/pipeline` or `/multi-exec`: a 10 MiB body of `["PING"]`s is over a million
/// commands, and their replies hundreds of megabytes.
pub const MAX_BATCH: usize = 10_000;

/// Most arguments (command names included) in one request: an `MSET` of 100,000 pairs fits; four million
/// one-byte arguments (300 MB once parsed) do not.
pub const MAX_ARGS: usize = 250_000;

/// What `/` expects, for its syntax errors.
const COMMAND: &str = "invalid JSON command, expected an array of strings";
/// What `/pipeline` and `/multi-exec` expect, for their syntax errors.
const BATCH: &str = "invalid JSON body, expected an array of commands such as [[\"GET\",\"k\"]]";

/// Parses `["SET","k","v",100]`.
///
/// # Errors
/// [`Error::InvalidRequest`] for malformed JSON, an empty array or command name, an argument of the wrong
/// type, or more than [`MAX_ARGS`] arguments.
pub fn command(body: &[u8]) -> Result<Command> {
    let mut reader = Reader::new(body, COMMAND);
    let first = reader.step(Jiter::peek)?;
    let args = reader.command(first)?;
    reader.finish()?;
    Ok(args)
}

/// Parses `[["SET","k","v"],["GET","k"]]` for `/pipeline` and `/multi-exec`.
///
/// # Errors
/// [`Error::InvalidRequest`] for malformed JSON, an empty list, any invalid command inside it, more than
/// [`MAX_BATCH`] commands or more than [`MAX_ARGS`] arguments in all.
pub fn commands(body: &[u8]) -> Result<Vec<Command>> {
    let mut reader = Reader::new(body, BATCH);
    // Room for as many commands as the body may hold, up to 16 (the shortest, `["a"],`, is 6 bytes): a
    // vector grown from empty was reallocated twice for 10 commands.
    let mut commands = Vec::with_capacity((body.len() / 6).clamp(1, 16));
    let mut next = reader.step(Jiter::next_array)?;
    while let Some(peek) = next {
        if commands.len() == MAX_BATCH {
            return Err(Error::invalid(format!("a /pipeline or /multi-exec holds at most {MAX_BATCH} commands")));
        }
        commands.push(reader.command(peek)?);
        next = reader.step(Jiter::array_step)?;
    }
    reader.finish()?;
    if commands.is_empty() {
        return Err(Error::invalid("empty pipeline: send at least one command"));
    }
    Ok(commands)
}

/// One body being read, and how many arguments it may still hold.
struct Reader<'j> {
    json: Jiter<'j>,
    args_left: usize,
    /// What the body should be, for syntax errors.
    expected: &'static str,
}

impl<'j> Reader<'j> {
    fn new(body: &'j [u8], expected: &'static str) -> Self {
        Self { json: Jiter::new(body), args_left: MAX_ARGS, expected }
    }

    /// Runs one step of the JSON reader, turning its error into a refusal that says what was expected.
    fn step<T>(&mut self, step: impl FnOnce(&mut Jiter<'j>) -> std::result::Result<T, JiterError>) -> Result<T> {
        step(&mut self.json).map_err(|e| Error::invalid(format!("{}: {e}", self.expected)))
    }

    /// `["SET", "k", "v"]`, whose first token is `peek`.
    fn command(&mut self, peek: Peek) -> Result<Command> {
        if peek != Peek::Array {
            return Err(Error::invalid(format!("{}: a command is an array of strings", self.expected)));
        }
        let name = match self.step(Jiter::known_array)? {
            Some(Peek::String) => self.step(|json| json.known_str().map(|s| Name::from_slice(s.as_bytes())))?,
            Some(_) => return Err(Error::invalid("the command name must be a string")),
            None => return Err(Error::invalid("empty command")),
        };
        self.take_arg()?;
        let mut args = Args::new();
        while let Some(peek) = self.step(Jiter::array_step)? {
            self.take_arg()?;
            args.push(self.arg(peek)?);
        }
        Command::parsed(name, args)
    }

    /// Takes one argument's place in the request's budget.
    fn take_arg(&mut self) -> Result<()> {
        self.args_left = self
            .args_left
            .checked_sub(1)
            .ok_or_else(|| Error::invalid(format!("a request holds at most {MAX_ARGS} arguments")))?;
        Ok(())
    }

    /// One argument: a string's contents, a number's or boolean's literal text.
    fn arg(&mut self, peek: Peek) -> Result<Vec<u8>> {
        match peek {
            Peek::String => self.step(|json| json.known_str().map(|s| s.as_bytes().to_vec())),
            Peek::True | Peek::False => {
                self.step(|json| json.known_bool(peek))?;
                Ok(if peek == Peek::True { b"true".to_vec() } else { b"false".to_vec() })
            }
            Peek::Null => Err(Error::invalid("null is not a valid argument")),
            Peek::Object => Err(Error::invalid("objects are not valid arguments; send them as JSON strings")),
            Peek::Array => Err(Error::invalid("nested arrays are not valid arguments")),
            _ => self.step(|json| json.known_number_bytes(peek).map(<[u8]>::to_vec)),
        }
    }

    /// Refuses anything but whitespace after the body's value.
    fn finish(&mut self) -> Result<()> {
        self.step(Jiter::finish)
    }
}
