//! Sizes on the command line: `64mb`, `32kb`, `1gb` or plain bytes, read and written.

/// `64mb`, `32kb`, `1gb`, `1048576` → bytes (suffixes are powers of 1024, in any case); `None` when it is
/// not a size or does not fit.
pub fn parse_size(text: &str) -> Option<u64> {
    let lower = text.trim().to_ascii_lowercase();
    let (digits, factor) = [("gb", 1 << 30), ("mb", 1 << 20), ("kb", 1 << 10), ("b", 1)]
        .iter()
        .find_map(|(suffix, factor)| lower.strip_suffix(suffix).map(|d| (d.trim().to_owned(), *factor)))
        .unwrap_or((lower.clone(), 1));
    digits.parse::<u64>().ok()?.checked_mul(factor)
}

/// Bytes in the largest unit that divides them exactly: `64mb`, `32kb`, `1000b`.
pub fn format_size(bytes: u64) -> String {
    match bytes {
        b if b >= 1 << 30 && b % (1 << 30) == 0 => format!("{}gb", b >> 30),
        b if b >= 1 << 20 && b % (1 << 20) == 0 => format!("{}mb", b >> 20),
        b if b >= 1 << 10 && b % (1 << 10) == 0 => format!("{}kb", b >> 10),
        b => format!("{b}b"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_read_and_write_back() {
        assert_eq!(parse_size("32KB"), Some(32 << 10));
        assert_eq!(parse_size(" 1 gb"), Some(1 << 30));
        assert_eq!(parse_size("lots"), None);
        assert_eq!(format_size(64 << 20), "64mb");
        assert_eq!(format_size(1000), "1000b");
    }
}
