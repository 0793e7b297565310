//! Checking an RDB file before anything trusts it, with `redis-check-rdb`: the instances' own `redis-server`
//! binary run under that name (Redis picks the tool by its `argv[0]`), so a file is judged by the very
//! version that would load it: a truncated or corrupt file, a foreign one (wrong magic) and a format newer
//! than the server are each refused with the checker's reason. It reads one key at a time, so a file of any
//! size is checked in little memory.

use std::os::unix::process::CommandExt as _;
use std::path::Path;
use std::process::Stdio;

/// What a sound RDB file holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RdbSummary {
    /// Keys in every database.
    pub keys: u64,
    /// Those with a time to live.
    pub expires: u64,
}

/// Checks `file` with `redis_server` acting as `redis-check-rdb`.
///
/// # Errors
/// The checker's reason (`Unexpected EOF reading RDB file`, `RDB CRC error`, `Wrong signature…`, `Can't
/// handle RDB format version 12`), or why it could not run.
pub async fn check(redis_server: &Path, file: &Path) -> Result<RdbSummary, String> {
    let mut command = std::process::Command::new(redis_server);
    command.arg0("redis-check-rdb").arg(file).stdin(Stdio::null()).stderr(Stdio::null());
    let output = tokio::process::Command::from(command)
        .kill_on_drop(true)
        .output()
        .await
        .map_err(|e| format!("cannot run the RDB checker: {e}"))?;
    let text = String::from_utf8_lossy(&output.stdout);
    if let Some(reason) = reason(&text) {
        return Err(reason);
    }
    if !output.status.success() || !text.contains("RDB looks OK") {
        return Err("the RDB checker did not accept the file".to_owned());
    }
    let count = |what: &str| {
        text.lines().find_map(|line| line.strip_prefix("[info] ")?.strip_suffix(what)?.trim().parse().ok()).unwrap_or(0)
    };
    Ok(RdbSummary { keys: count(" keys read"), expires: count(" expires") })
}

/// The line after `--- RDB ERROR DETECTED ---`, without its `[offset N]`.
fn reason(text: &str) -> Option<String> {
    let mut lines = text.lines().skip_while(|line| !line.contains("RDB ERROR DETECTED"));
    lines.next()?;
    let line = lines.next().unwrap_or("the file is not a valid RDB");
    let line = line.strip_prefix("[offset ").and_then(|rest| rest.split_once("] ")).map_or(line, |(_, r)| r);
    Some(line.trim().to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_reason_is_the_line_after_the_marker() {
        let text =
            "[offset 0] Checking RDB file t.rdb\n--- RDB ERROR DETECTED ---\n[offset 9] Can't handle RDB format \
                    version 99\n[additional info] While doing: start\n[info] 0 keys read\n";
        assert_eq!(reason(text).as_deref(), Some("Can't handle RDB format version 99"));
        assert_eq!(reason("[offset 89] \\o/ RDB looks OK! \\o/\n[info] 3 keys read\n"), None);
    }
}
