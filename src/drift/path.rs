//! Attribute paths as people write them: `tags.env`, `rule[0].cidr_blocks[1]`, `tags["a b"]`.

use std::fmt::Write as _;

/// One step from a value into one of its children.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Segment<'a> {
    /// An object attribute or map key.
    Key(&'a str),
    /// A list, set or tuple element.
    Index(usize),
}

/// Renders segments into the path syntax used in every report.
pub fn render(segments: &[Segment<'_>]) -> String {
    let mut out = String::new();
    for segment in segments {
        match segment {
            Segment::Key(key) if is_identifier(key) => {
                if !out.is_empty() {
                    out.push('.');
                }
                out.push_str(key);
            }
            Segment::Key(key) => {
                // A JSON string literal is exactly HCL's quoting for such keys.
                let quoted = serde_json::Value::String((*key).to_owned()).to_string();
                let _ = write!(out, "[{quoted}]");
            }
            Segment::Index(index) => {
                let _ = write!(out, "[{index}]");
            }
        }
    }
    out
}

fn is_identifier(key: &str) -> bool {
    let mut chars = key.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_dotted_indexed_and_quoted_segments() {
        use Segment::*;
        assert_eq!(render(&[Key("tags"), Key("env")]), "tags.env");
        assert_eq!(
            render(&[Key("ingress"), Index(0), Key("cidr_blocks"), Index(1)]),
            "ingress[0].cidr_blocks[1]"
        );
        assert_eq!(render(&[Key("tags"), Key("a b")]), r#"tags["a b"]"#);
        assert_eq!(render(&[Key("tags"), Key("q\"x")]), r#"tags["q\"x"]"#);
        assert_eq!(render(&[Key("tags"), Key("1st")]), r#"tags["1st"]"#);
        assert_eq!(render(&[Key("tags"), Key("")]), r#"tags[""]"#);
    }
}
