//! Hidden lines that let later runs find and continue driftlog's own comment or issue:
//! a marker naming the stack, and the state of the last report posted there.
//!
//! They are HTML comments, invisible on GitHub. Nothing inside may read as `-->`, so ids
//! and the state's JSON carry `-` escaped.

use serde::{Deserialize, Serialize};

/// What a marker belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Comment,
    Issue,
}

/// The line that identifies the comment or issue of one stack.
pub fn marker(kind: Kind, id: &str) -> String {
    let kind = match kind {
        Kind::Comment => "comment",
        Kind::Issue => "issue",
    };
    format!("<!-- driftlog:{kind} id={} -->", escape_id(id))
}

/// Whether `body` carries a marker of `kind`, for any stack.
pub fn has_marker(body: &str, kind: Kind) -> bool {
    let prefix = marker(kind, "");
    let prefix = prefix.trim_end_matches(" -->");
    body.lines().any(|line| {
        let line = line.trim_end();
        line.starts_with(prefix) && line.ends_with(" -->")
    })
}

/// Whether `body` is the one `marker` names.
pub fn is_marked(body: &str, marker: &str) -> bool {
    body.lines().any(|line| line.trim_end() == marker)
}

/// The last report posted in a thread, as far as later runs need it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct State {
    /// `clean`, `drifted` or `failed`.
    pub status: String,
    /// When the thread first saw this status (RFC 3339).
    pub since: String,
    /// The drifted addresses, sorted (issues only: they tell what changed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resources: Option<Vec<String>>,
}

const STATE_PREFIX: &str = "<!-- driftlog:state ";
const STATE_SUFFIX: &str = " -->";

impl State {
    pub fn to_line(&self) -> String {
        // Plain data always serializes; JSON strings may spell `-` as \u002d.
        let json = serde_json::to_string(self)
            .unwrap_or_default()
            .replace('-', "\\u002d");
        format!("{STATE_PREFIX}{json}{STATE_SUFFIX}")
    }

    /// The state line of `body`; `None` when absent or unreadable (an older or hand-edited
    /// body is treated as new).
    pub fn find(body: &str) -> Option<State> {
        body.lines().find_map(|line| {
            let json = line
                .trim_end()
                .strip_prefix(STATE_PREFIX)?
                .strip_suffix(STATE_SUFFIX)?;
            serde_json::from_str(json).ok()
        })
    }
}

/// Keeps ids readable (`infra/prod`) and makes anything else safe inside an HTML comment.
fn escape_id(id: &str) -> String {
    let mut out = String::with_capacity(id.len());
    for c in id.chars() {
        let plain = c.is_ascii_alphanumeric()
            || matches!(c, '.' | '_' | '/' | ':' | '@' | '+' | '=' | ',')
            || (c == '-' && !out.ends_with('-'));
        if plain {
            out.push(c);
        } else {
            let mut buffer = [0u8; 4];
            for byte in c.encode_utf8(&mut buffer).bytes() {
                out.push_str(&format!("%{byte:02X}"));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markers_are_safe_html_comments() {
        assert_eq!(
            marker(Kind::Comment, "infra/prod"),
            "<!-- driftlog:comment id=infra/prod -->"
        );
        let odd = marker(Kind::Issue, "a-->b c");
        assert_eq!(odd, "<!-- driftlog:issue id=a-%2D%3Eb%20c -->");
        assert!(!odd["<!--".len()..odd.len() - 3].contains("--"));
    }

    #[test]
    fn markers_match_whole_lines_only() {
        let m = marker(Kind::Comment, "infra/prod");
        assert!(is_marked(&format!("{m}\n### Drift"), &m));
        assert!(!is_marked(
            "<!-- driftlog:comment id=infra/prod-eu -->\n",
            &m
        ));
    }

    #[test]
    fn any_stacks_marker_is_found_by_kind() {
        let body = format!("{}\nbody", marker(Kind::Comment, "infra/prod"));
        assert!(has_marker(&body, Kind::Comment));
        assert!(!has_marker(&body, Kind::Issue));
        assert!(!has_marker("<!-- driftlog:comment id=x", Kind::Comment));
    }

    #[test]
    fn state_round_trips_without_closing_the_comment() {
        let state = State {
            status: "drifted".into(),
            since: "2026-11-24T10:00:00Z".into(),
            resources: Some(vec!["aws_x.a-->b".into(), "module.m-1.y".into()]),
        };
        let line = state.to_line();
        assert!(!line[4..line.len() - 3].contains("--"));
        assert_eq!(State::find(&format!("head\n{line}\nbody")), Some(state));
        assert_eq!(State::find("<!-- driftlog:state {broken -->"), None);
    }
}
