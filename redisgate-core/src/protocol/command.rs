//! A parsed Redis command and its conversion into a `redis::Cmd`.

use crate::{Error, Result};

/// One Redis command as received over REST: a lower-cased name and its binary-safe arguments.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Command {
    pub(crate) name: Vec<u8>,
    pub(crate) args: Vec<Vec<u8>>,
}

impl Command {
    /// Builds a command from its name and arguments. The name is lower-cased (Redis names are
    /// case-insensitive), so policy checks need no further normalisation.
    ///
    /// # Errors
    /// [`Error::InvalidRequest`] when the name is empty.
    pub fn new(name: Vec<u8>, args: Vec<Vec<u8>>) -> Result<Self> {
        if name.is_empty() {
            return Err(Error::invalid("empty command name"));
        }
        let mut name = name;
        name.make_ascii_lowercase();
        Ok(Self { name, args })
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
