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

/// An owned [`Segment`], as [`parse`] returns them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SegmentBuf {
    Key(String),
    Index(usize),
}

impl SegmentBuf {
    pub fn as_segment(&self) -> Segment<'_> {
        match self {
            SegmentBuf::Key(key) => Segment::Key(key),
            SegmentBuf::Index(index) => Segment::Index(*index),
        }
    }
}

/// Reads a path [`render`] wrote back into its segments; `None` for any other text.
pub fn parse(path: &str) -> Option<Vec<SegmentBuf>> {
    let mut segments = Vec::new();
    let mut rest = path;
    while !rest.is_empty() {
        if let Some(bracketed) = rest.strip_prefix('[') {
            if bracketed.starts_with('"') {
                // A JSON string literal: read exactly one, then the closing bracket.
                let mut stream =
                    serde_json::Deserializer::from_str(bracketed).into_iter::<String>();
                let key = stream.next()?.ok()?;
                rest = bracketed[stream.byte_offset()..].strip_prefix(']')?;
                segments.push(SegmentBuf::Key(key));
            } else {
                let end = bracketed.find(']')?;
                segments.push(SegmentBuf::Index(bracketed[..end].parse().ok()?));
                rest = &bracketed[end + 1..];
            }
        } else {
            let key = if segments.is_empty() {
                rest
            } else {
                rest.strip_prefix('.')?
            };
            let end = key.find(['.', '[']).unwrap_or(key.len());
            if end == 0 {
                return None;
            }
            segments.push(SegmentBuf::Key(key[..end].to_owned()));
            rest = &key[end..];
        }
    }
    Some(segments)
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

    #[test]
    fn parse_reads_back_what_render_wrote() {
        use Segment::*;
        let paths: [&[Segment<'_>]; 6] = [
            &[Key("tags"), Key("env")],
            &[Key("ingress"), Index(0), Key("cidr_blocks"), Index(12)],
            &[Key("tags"), Key("a b")],
            &[Key("tags"), Key("q\"x]."), Key("next")],
            &[Key("tags"), Key("")],
            &[Key("m"), Key("1st"), Index(3)],
        ];
        for segments in paths {
            let text = render(segments);
            let parsed = parse(&text).unwrap_or_default();
            let back: Vec<Segment<'_>> = parsed.iter().map(SegmentBuf::as_segment).collect();
            assert_eq!(back, segments, "{text}");
        }
        for bad in ["", ".a", "a..b", "a[", "a[x]", r#"a["x"#, "a[1]b"] {
            assert!(parse(bad).is_none() || bad.is_empty(), "{bad}");
        }
    }
}
