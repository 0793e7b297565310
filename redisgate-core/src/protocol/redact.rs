//! What Redis tells about its host that a tenant has no business knowing: `INFO`'s paths, process id,
//! kernel and listening addresses. The gateway passes every reply through [`reply`].

use redis::Value;

use crate::protocol::Command;

/// `INFO` fields left out of its reply (`listener` covers Redis 8's `listener0`, `listener1`…).
const HIDDEN: &[&str] = &["executable", "config_file", "process_id", "os", "tcp_port", "listener"];

/// `value`, the reply to `command`, without what [`HIDDEN`] lists when the command is `INFO`.
#[must_use]
pub fn reply(command: &Command, value: Value) -> Value {
    if command.name() != b"info" {
        return value;
    }
    match value {
        Value::BulkString(text) => Value::BulkString(without_hidden(&text)),
        Value::VerbatimString { format, text } => Value::VerbatimString {
            format,
            text: String::from_utf8_lossy(&without_hidden(text.as_bytes())).into_owned(),
        },
        other => other,
    }
}

fn without_hidden(text: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(text.len());
    for line in text.split_inclusive(|&b| b == b'\n') {
        let field = line.split(|&b| b == b':').next().unwrap_or_default();
        if !HIDDEN.iter().any(|hidden| field.starts_with(hidden.as_bytes())) {
            out.extend_from_slice(line);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn info_loses_the_hosts_details_and_nothing_else() {
        let info = b"# Server\r\nredis_version:7.0.15\r\nos:Linux 6.1 x86_64\r\nprocess_id:4242\r\ntcp_port:6380\r\n\
executable:/usr/bin/redis-server\r\nconfig_file:/var/lib/x/redis.conf\r\nlistener0:name=tcp,bind=127.0.0.1,port=6380\r\n\
uptime_in_seconds:5\r\n# Keyspace\r\ndb0:keys=1,expires=0\r\n";
        let info_command = Command::new(b"INFO".to_vec(), vec![]).unwrap();
        let Value::BulkString(redacted) = reply(&info_command, Value::BulkString(info.to_vec())) else { panic!() };
        assert_eq!(
            String::from_utf8(redacted).unwrap(),
            "# Server\r\nredis_version:7.0.15\r\nuptime_in_seconds:5\r\n# Keyspace\r\ndb0:keys=1,expires=0\r\n"
        );
        // Other commands' replies are left alone, a key named like a field included.
        let get = Command::new(b"get".to_vec(), vec![b"os".to_vec()]).unwrap();
        assert_eq!(reply(&get, Value::BulkString(b"os:x".to_vec())), Value::BulkString(b"os:x".to_vec()));
    }
}
