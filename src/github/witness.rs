//! Checkpoints GitHub witnessed: the `driftlog-checkpoint v1 ...` lines in driftlog's own
//! pull-request comments and drift issues. A later `driftlog verify` starts from the newest
//! of them instead of walking the whole log again.
//!
//! Only what driftlog's token posted counts: a body with driftlog's marker, authored by a bot
//! account (`github-actions[bot]` or an app). Anyone may write a marker into a comment of
//! their own; nobody without an app or the workflow's token writes as a bot. The lines found
//! are unverified text: the caller checks their signatures against its trust root.

use serde::Deserialize;
use serde_json::Value;

use super::client::Client;
use super::marker::{self, Kind};
use super::{GithubError, Repo, RetryPolicy};

/// One checkpoint line, and where it was seen ("pull request #7 comment 123", "issue #3").
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Witnessed {
    pub line: String,
    pub place: String,
}

/// Where to look.
#[derive(Debug, Clone)]
pub struct WitnessQuery<'a> {
    /// `https://api.github.com`, or `https://HOST/api/v3`.
    pub api_url: &'a str,
    pub repo: &'a Repo,
    /// Its comments are read when given.
    pub pull_request: Option<u64>,
    /// Drift issues carry this label.
    pub issue_label: &'a str,
    pub retry: RetryPolicy,
}

#[derive(Debug, Deserialize)]
struct User {
    #[serde(rename = "type", default)]
    kind: String,
}

#[derive(Debug, Deserialize)]
struct Posted {
    #[serde(default)]
    id: u64,
    #[serde(default)]
    number: u64,
    #[serde(default)]
    body: Option<String>,
    #[serde(default)]
    user: Option<User>,
    /// The issues list includes pull requests, marked by this key.
    #[serde(default)]
    pull_request: Option<Value>,
}

impl Posted {
    /// The body, when driftlog posted it with a marker of `kind`.
    fn driftlog_body(&self, kind: Kind) -> Option<&str> {
        let by_bot = self.user.as_ref().is_some_and(|user| user.kind == "Bot");
        let body = self.body.as_deref()?;
        (by_bot && marker::has_marker(body, kind)).then_some(body)
    }
}

/// Every checkpoint line in driftlog's comments on the pull request and in its drift issues
/// (open or closed), in the order found.
pub fn witnessed_checkpoints(
    query: &WitnessQuery<'_>,
    token: &str,
) -> Result<Vec<Witnessed>, GithubError> {
    let client = Client::new(query.api_url, token, query.retry)?;
    let repo = query.repo;
    let mut found = Vec::new();
    if let Some(number) = query.pull_request {
        client.find_in_pages(
            &format!("reading the comments on pull request #{number}"),
            &format!("/repos/{repo}/issues/{number}/comments"),
            |comment: Posted| {
                if let Some(body) = comment.driftlog_body(Kind::Comment) {
                    let place = format!("pull request #{number} comment {}", comment.id);
                    found.extend(lines(body, &place));
                }
                None::<()>
            },
        )?;
    }
    client.find_in_pages(
        "reading the drift issues",
        &format!(
            "/repos/{repo}/issues?state=all&labels={}&sort=updated&direction=desc",
            super::issue::encode_query(query.issue_label)
        ),
        |issue: Posted| {
            if issue.pull_request.is_none() {
                if let Some(body) = issue.driftlog_body(Kind::Issue) {
                    found.extend(lines(body, &format!("issue #{}", issue.number)));
                }
            }
            None::<()>
        },
    )?;
    // Bodies are the server's text: a hostile one could echo the token into them.
    Ok(found
        .into_iter()
        .map(|w| Witnessed {
            line: client.scrub(&w.line),
            place: client.scrub(&w.place),
        })
        .collect())
}

/// The checkpoint lines of `body` (inside code blocks or not), each once.
fn lines(body: &str, place: &str) -> Vec<Witnessed> {
    let mut out: Vec<Witnessed> = Vec::new();
    for line in body.lines() {
        let line = line.trim().trim_matches('`').trim();
        if line.starts_with("driftlog-checkpoint v1 ") && !out.iter().any(|w| w.line == line) {
            out.push(Witnessed {
                line: line.to_owned(),
                place: place.to_owned(),
            });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn lines_are_found_in_code_blocks_once() {
        let body =
            "<!-- driftlog:comment id=. -->\n```text\ndriftlog-checkpoint v1 o 3 r k s\n```\n\
                    `driftlog-checkpoint v1 o 3 r k s`\ndriftlog-checkpoint v2 o 4 r k s\n";
        let found = super::lines(body, "here");
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].line, "driftlog-checkpoint v1 o 3 r k s");
        assert_eq!(found[0].place, "here");
    }
}
