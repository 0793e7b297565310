//! Refusals that depend on a command's arguments: the command runs, but not in every form.

use crate::protocol::Command;

use super::rows::BLOCKING;

/// What refuses a command for some of its arguments only.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Guard {
    /// A BLOCK option (XREAD, XREADGROUP) would block the shared connection.
    Block,
    /// A negative count beyond -10,000 (SRANDMEMBER, ZRANDMEMBER, HRANDFIELD) would build a reply too large.
    NegativeCount,
}

/// Most elements SRANDMEMBER, ZRANDMEMBER and HRANDFIELD may repeat (a negative count): `SRANDMEMBER s
/// -20000000` on a one-member set builds a reply of twenty million elements, gigabytes in the gateway,
/// whatever the set's size. A positive count is bounded by the collection itself.
const MAX_REPEATED: i64 = 10_000;

impl Guard {
    /// Why it refuses `command`, or `None` when these arguments may run.
    #[must_use]
    pub fn refusal(self, command: &Command) -> Option<&'static str> {
        match self {
            Self::Block => has_block_option(command).then_some(BLOCKING),
            Self::NegativeCount => repeats_beyond(command, MAX_REPEATED)
                .then_some("a negative count beyond -10000 would build a reply too large to hold"),
        }
    }
}

/// Whether the command's count (the argument after the key) is a negative number below `-max`.
fn repeats_beyond(cmd: &Command, max: i64) -> bool {
    let count = cmd.args().get(1).and_then(|c| std::str::from_utf8(c).ok()?.parse::<i64>().ok());
    count.is_some_and(|count| count < -max)
}

/// `XREAD [COUNT n] [BLOCK ms] STREAMS ...` and `XREADGROUP GROUP g c [COUNT n] [BLOCK ms] [NOACK] STREAMS
/// ...`: walks the options (skipping their values, so a group, consumer or count named `block` or `streams`
/// is not taken for the keyword) up to STREAMS.
fn has_block_option(cmd: &Command) -> bool {
    let args = cmd.args();
    let mut i = 0;
    while let Some(arg) = args.get(i) {
        let word = |w: &[u8]| arg.eq_ignore_ascii_case(w);
        if word(b"streams") {
            return false;
        }
        if word(b"block") {
            return true;
        }
        i += if word(b"group") && cmd.name() == b"xreadgroup" {
            3
        } else if word(b"count") {
            2
        } else {
            1
        };
    }
    false
}
