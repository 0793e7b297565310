//! Reading what Redis's `INFO` and `CLUSTER INFO` answer: `# Section` titles, blank lines, and `name:value`
//! lines (CRLF-terminated). One reader for the provisioners, the cluster's formation and the backups.

/// The value of the `name:value` line of `info`, trimmed.
#[must_use]
pub fn field<'a>(info: &'a str, name: &str) -> Option<&'a str> {
    info.lines().find_map(|line| line.strip_prefix(name)?.strip_prefix(':')).map(str::trim)
}

/// Every `name:value` line of `info`, the values trimmed.
pub fn fields(info: &str) -> impl Iterator<Item = (&str, &str)> {
    info.lines().filter_map(|line| line.split_once(':')).map(|(name, value)| (name, value.trim()))
}

/// The server's process id, from `INFO server`.
#[must_use]
pub fn process_id(info: &str) -> Option<u32> {
    field(info, "process_id")?.parse().ok()
}

/// The keys of every database, from `INFO keyspace` (`db0:keys=3,expires=1,avg_ttl=0`).
#[must_use]
pub fn keys(info: &str) -> u64 {
    fields(info)
        .filter_map(|(_, value)| value.split(',').find_map(|f| f.strip_prefix("keys=")?.parse::<u64>().ok()))
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_are_read_whole_by_name() {
        let info = "# Server\r\nredis_version:7.2.4\r\nprocess_id:4242\r\nprocess_supervised:no\r\n\r\n# Keyspace\r\n\
                    db0:keys=3,expires=1,avg_ttl=0\r\ndb5:keys=12,expires=0,avg_ttl=0\r\n";
        assert_eq!(process_id(info), Some(4242));
        assert_eq!(field(info, "process"), None, "a name is matched whole, not as a prefix");
        assert_eq!(field(info, "process_supervised"), Some("no"));
        assert_eq!(field(info, "missing"), None);
        assert_eq!(keys(info), 15);
        assert_eq!(keys("# Keyspace\r\n"), 0);
        assert_eq!(fields(info).count(), 5);
    }
}
