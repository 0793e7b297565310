//! A parsed Redis command and its conversion into a `redis::Cmd`.

use smallvec::SmallVec;

use crate::protocol::table::{self, Row};
use crate::{Error, Result};

/// A command's name: held inline up to 16 bytes, which every Redis command name but a few of the
/// longest (`GEORADIUSBYMEMBER_RO`) fits.
pub(crate) type Name = SmallVec<[u8; 16]>;

/// A command's arguments: the first three held inline (`GET k`, `SET k v`, `HSET h f v`), so a typical
/// command costs one allocation per argument and none for the list.
pub(crate) type Args = SmallVec<[Vec<u8>; 3]>;

/// One Redis command as received over REST: a lower-cased name and its binary-safe arguments.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Command {
    name: Name,
    args: Args,
    /// Its row in the command table, looked up once: the policy, the size limits and a cluster's routing
    /// each ask for it. A row depends on the name and the first argument, so the fields are private: every
    /// change goes through [`Command::push_arg`] or [`Command::set_arg`], which look again when the first
    /// argument changes.
    row: Option<&'static Row>,
}

impl Command {
    /// Builds a command from its name and arguments. The name is lower-cased (Redis names are
    /// case-insensitive), so policy checks need no further normalisation.
    ///
    /// # Errors
    /// [`Error::InvalidRequest`] when the name is empty.
    pub fn new(name: Vec<u8>, args: Vec<Vec<u8>>) -> Result<Self> {
        Self::parsed(Name::from_vec(name), Args::from_vec(args))
    }

    /// As [`Command::new`], from the parser's inline buffers.
    pub(crate) fn parsed(mut name: Name, args: Args) -> Result<Self> {
        if name.is_empty() {
            return Err(Error::invalid("empty command name"));
        }
        name.make_ascii_lowercase();
        Ok(Self::known(name, args))
    }

    /// A command whose name is lower case already.
    pub(crate) fn known(name: Name, args: Args) -> Self {
        let row = table::lookup(&name, args.first().map(Vec::as_slice));
        Self { name, args, row }
    }

    /// This command's row in [`table::ROWS`], or `None` when nobody classified it.
    #[must_use]
    pub fn row(&self) -> Option<&'static Row> {
        debug_assert_eq!(self.row, table::lookup(&self.name, self.args.first().map(Vec::as_slice)));
        self.row
    }

    /// Whether it runs a script or a function (EVAL, EVALSHA, FCALL and their read-only forms).
    #[must_use]
    pub fn is_script(&self) -> bool {
        matches!(&self.name[..], b"eval" | b"evalsha" | b"eval_ro" | b"evalsha_ro" | b"fcall" | b"fcall_ro")
    }

    /// The lower-cased command name.
    #[must_use]
    pub fn name(&self) -> &[u8] {
        &self.name
    }

    /// The command name for messages (lossy if it is not UTF-8).
    #[must_use]
    pub fn name_str(&self) -> String {
        String::from_utf8_lossy(&self.name).into_owned()
    }

    /// The arguments after the name.
    #[must_use]
    pub fn args(&self) -> &[Vec<u8>] {
        &self.args
    }

    /// Appends an argument.
    pub fn push_arg(&mut self, arg: Vec<u8>) {
        self.args.push(arg);
        if self.args.len() == 1 {
            self.row = table::lookup(&self.name, Some(&self.args[0]));
        }
    }

    /// Replaces the argument at `index` (there must be one).
    pub(crate) fn set_arg(&mut self, index: usize, arg: Vec<u8>) {
        self.args[index] = arg;
        if index == 0 {
            self.row = table::lookup(&self.name, Some(&self.args[0]));
        }
    }

    /// The `redis::Cmd` that runs this command.
    #[must_use]
    pub fn to_cmd(&self) -> redis::Cmd {
        let bytes = self.name.len() + self.args.iter().map(Vec::len).sum::<usize>();
        let mut cmd = redis::Cmd::with_capacity(1 + self.args.len(), bytes);
        cmd.arg(&self.name[..]);
        for arg in &self.args {
            cmd.arg(&arg[..]);
        }
        cmd
    }
}
