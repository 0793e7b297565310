//! Printing: tables for people, JSON for scripts, and Redis replies formatted like `redis-cli`'s.

use comfy_table::presets::UTF8_BORDERS_ONLY;
use comfy_table::Table;
use redis::Value;

/// Where results go.
#[derive(Debug, Clone, Copy)]
pub struct Output {
    /// `--json`.
    pub json: bool,
}

impl Output {
    /// A table (or, with `--json`, `json`).
    pub fn table(&self, headers: &[&str], rows: Vec<Vec<String>>, json: serde_json::Value) {
        if self.json {
            println!("{json}");
            return;
        }
        if rows.is_empty() {
            println!("(none)");
            return;
        }
        let mut table = Table::new();
        table.load_preset(UTF8_BORDERS_ONLY).set_header(headers.to_vec());
        for row in rows {
            table.add_row(row);
        }
        println!("{table}");
    }

    /// A single object: `key: value` lines, or JSON.
    pub fn object(&self, fields: &[(&str, String)], json: serde_json::Value) {
        if self.json {
            println!("{json}");
            return;
        }
        let width = fields.iter().map(|(k, _)| k.len()).max().unwrap_or(0);
        for (key, value) in fields {
            println!("{key:width$}  {value}");
        }
    }

    /// A line for people after a table or object; nothing with `--json` (the JSON already holds it).
    pub fn note(&self, message: &str) {
        if !self.json {
            println!("{message}");
        }
    }

    /// A confirmation for people, or JSON.
    pub fn done(&self, message: &str, json: serde_json::Value) {
        if self.json {
            println!("{json}");
        } else {
            println!("{message}");
        }
    }

    /// A Redis reply.
    pub fn reply(&self, value: &Value) {
        if self.json {
            println!("{}", to_json(value));
        } else {
            println!("{}", redis_cli(value, 0));
        }
    }

    /// A Redis error reply.
    pub fn error_reply(&self, message: &str) {
        if self.json {
            println!("{}", serde_json::json!({ "error": message }));
        } else {
            println!("(error) {message}");
        }
    }
}

/// The reply as JSON: strings as text (lossy), arrays as arrays.
pub fn to_json(value: &Value) -> serde_json::Value {
    match value {
        Value::Nil => serde_json::Value::Null,
        Value::Int(i) => (*i).into(),
        Value::BulkString(bytes) => String::from_utf8_lossy(bytes).into_owned().into(),
        Value::Okay => "OK".into(),
        Value::SimpleString(s) => s.clone().into(),
        Value::Array(items) => items.iter().map(to_json).collect::<Vec<_>>().into(),
        other => format!("{other:?}").into(),
    }
}

/// `redis-cli`'s formatting: `"text"`, `(integer) 1`, `(nil)`, numbered nested arrays.
pub fn redis_cli(value: &Value, indent: usize) -> String {
    match value {
        Value::Nil => "(nil)".to_owned(),
        Value::Int(i) => format!("(integer) {i}"),
        Value::Okay => "OK".to_owned(),
        Value::SimpleString(s) => s.clone(),
        Value::BulkString(bytes) => quote(bytes),
        Value::Array(items) if items.is_empty() => "(empty array)".to_owned(),
        Value::Array(items) => {
            let width = items.len().to_string().len();
            items
                .iter()
                .enumerate()
                .map(|(i, item)| {
                    let prefix = format!("{:>width$}) ", i + 1);
                    let pad = if i == 0 { String::new() } else { " ".repeat(indent) };
                    format!("{pad}{prefix}{}", redis_cli(item, indent + prefix.len()))
                })
                .collect::<Vec<_>>()
                .join("\n")
        }
        other => format!("{other:?}"),
    }
}

/// A bulk string as `redis-cli` shows it: quoted, with escapes for quotes, backslashes and non-printables.
fn quote(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len() + 2);
    out.push('"');
    for &b in bytes {
        match b {
            b'"' => out.push_str("\\\""),
            b'\\' => out.push_str("\\\\"),
            b'\n' => out.push_str("\\n"),
            b'\r' => out.push_str("\\r"),
            b'\t' => out.push_str("\\t"),
            0x20..=0x7e => out.push(b as char),
            _ => out.push_str(&format!("\\x{b:02x}")),
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_like_redis_cli() {
        assert_eq!(redis_cli(&Value::Nil, 0), "(nil)");
        assert_eq!(redis_cli(&Value::Int(3), 0), "(integer) 3");
        assert_eq!(redis_cli(&Value::BulkString(b"a\"b\x01".to_vec()), 0), "\"a\\\"b\\x01\"");
        let nested =
            Value::Array(vec![Value::BulkString(b"x".to_vec()), Value::Array(vec![Value::Int(1), Value::Nil])]);
        assert_eq!(redis_cli(&nested, 0), "1) \"x\"\n2) 1) (integer) 1\n   2) (nil)");
        assert_eq!(redis_cli(&Value::Array(vec![]), 0), "(empty array)");
    }
}
