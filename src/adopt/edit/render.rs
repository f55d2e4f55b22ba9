//! JSON values written as `terraform fmt` writes HCL literals, on one line.

use serde_json::Value;

/// The value as HCL; `None` when nested deeper than `depth`.
pub(super) fn value(value: &Value, depth: usize) -> Option<String> {
    if depth == 0 {
        return None;
    }
    Some(match value {
        Value::Null => "null".to_owned(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.to_string(),
        Value::String(s) => string(s),
        Value::Array(items) => {
            let items: Option<Vec<String>> =
                items.iter().map(|v| self::value(v, depth - 1)).collect();
            format!("[{}]", items?.join(", "))
        }
        Value::Object(map) if map.is_empty() => "{}".to_owned(),
        Value::Object(map) => {
            let entries: Option<Vec<String>> = map
                .iter()
                .map(|(k, v)| Some(format!("{} = {}", key(k), self::value(v, depth - 1)?)))
                .collect();
            format!("{{ {} }}", entries?.join(", "))
        }
    })
}

/// A quoted HCL string: escapes, and template sequences doubled so they stay literal.
pub(super) fn string(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '$' | '%' if chars.peek() == Some(&'{') => {
                out.push(c);
                out.push(c);
            }
            c if c.is_control() => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// An object key: bare when an identifier, else quoted.
pub(super) fn key(k: &str) -> String {
    let mut chars = k.chars();
    let ident = matches!(chars.next(), Some(c) if c.is_alphabetic() || c == '_')
        && chars.all(|c| c.is_alphanumeric() || c == '_' || c == '-');
    if ident {
        k.to_owned()
    } else {
        string(k)
    }
}

/// An attribute name is always an identifier in HCL.
pub(super) fn key_for_attribute(name: &str) -> String {
    name.to_owned()
}
