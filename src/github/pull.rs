//! The one pull request per branch that driftlog proposes changes through: opened from
//! `head` into `base`, found again by that pair and edited in place, so re-runs never open a
//! second one; closed with a note when it is no longer wanted. Only a pull request the
//! token's own account opened is edited or closed.

use serde::Deserialize;
use serde_json::{json, Value};

use super::author::{Author, User};
use super::client::Client;
use super::issue::encode_query;
use super::{GithubError, RetryPolicy, Target};

/// GitHub's limit on a pull request's body, in characters; a longer body is cut to fit,
/// saying so. Counted in UTF-16 code units, never fewer than the characters GitHub counts.
pub const MAX_PULL_BODY_CHARS: usize = 65_536;
/// GitHub also refuses bodies over 256 KiB of UTF-8.
const MAX_PULL_BODY_BYTES: usize = 262_144;
/// Ends a body cut to fit.
const TRUNCATION_NOTE: &str = "\n\n… (shortened to fit GitHub's limit on a pull request's body)";

/// The pull request driftlog wants.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PullRequestDraft {
    /// The branch with the changes, in the target repository (`driftlog/adopt/infra-prod`).
    pub head: String,
    /// The branch they are to be merged into.
    pub base: String,
    pub title: String,
    pub body: String,
}

/// A pull request driftlog opened, updated or closed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PullRequestRef {
    pub number: u64,
    /// Its page (`html_url`).
    pub url: String,
    /// Opened now, rather than an existing one updated (or closed).
    pub created: bool,
}

#[derive(Debug, Deserialize)]
struct Pull {
    number: u64,
    #[serde(default)]
    html_url: Option<String>,
    #[serde(default)]
    user: Option<User>,
    #[serde(default)]
    head: Option<Branch>,
    #[serde(default)]
    base: Option<Branch>,
}

#[derive(Debug, Deserialize)]
struct Branch {
    #[serde(rename = "ref", default)]
    name: String,
    /// `owner:branch`: a fork's branch of the same name has another owner.
    #[serde(default)]
    label: Option<String>,
}

#[derive(Debug, Deserialize)]
struct Repository {
    #[serde(default)]
    default_branch: Option<String>,
}

/// Opens the pull request from `draft.head` into `draft.base`, or updates the title and body
/// of the open one the token's account opened earlier. An open one from the same branch by
/// anyone else is never edited: that is an error.
pub fn open_or_update_pull(
    target: &Target,
    token: &str,
    draft: &PullRequestDraft,
) -> Result<PullRequestRef, GithubError> {
    let client = Client::new(&target.api_url, token, RetryPolicy::default())?;
    let author = Author::of_token(&client)?;
    let body = fit_body(&draft.body);
    if let Some(pull) = find_open(&client, target, &draft.head, Some(&draft.base))? {
        return update(&client, target, &author, pull, draft, &body);
    }
    let repo = &target.repo;
    let created = client.post::<Pull>(
        &format!(
            "opening a pull request from {} into {}",
            draft.head, draft.base
        ),
        &format!("/repos/{repo}/pulls"),
        &json!({
            "title": draft.title,
            "head": draft.head,
            "base": draft.base,
            "body": body,
        }),
    );
    match created {
        Ok(pull) => Ok(reference(&client, pull, true)),
        // Another run opened it since the list was read ("A pull request already exists").
        Err(err @ GithubError::Rejected { status: 422, .. }) => {
            match find_open(&client, target, &draft.head, Some(&draft.base))? {
                Some(pull) => update(&client, target, &author, pull, draft, &body),
                None => Err(err),
            }
        }
        Err(err) => Err(err),
    }
}

/// Comments `note` on the open pull request from `head` (into any base), then closes it.
/// `None` when there is none. One the token's account did not open is left alone: an error.
pub fn close_pull(
    target: &Target,
    token: &str,
    head: &str,
    note: &str,
) -> Result<Option<PullRequestRef>, GithubError> {
    let client = Client::new(&target.api_url, token, RetryPolicy::default())?;
    let author = Author::of_token(&client)?;
    let Some(pull) = find_open(&client, target, head, None)? else {
        return Ok(None);
    };
    let number = pull.number;
    if !author.wrote(pull.user.as_ref()) {
        return Err(foreign(&format!("closing pull request #{number}"), &pull));
    }
    let repo = &target.repo;
    if !note.is_empty() {
        client.post::<Value>(
            &format!("commenting on pull request #{number}"),
            &format!("/repos/{repo}/issues/{number}/comments"),
            &json!({ "body": fit_body(note) }),
        )?;
    }
    let closed: Pull = client.patch(
        &format!("closing pull request #{number}"),
        &format!("/repos/{repo}/pulls/{number}"),
        &json!({ "state": "closed" }),
    )?;
    Ok(Some(reference(&client, closed, false)))
}

/// The repository's default branch (`GET /repos/{owner}/{repo}`).
pub fn default_branch(target: &Target, token: &str) -> Result<String, GithubError> {
    let client = Client::new(&target.api_url, token, RetryPolicy::default())?;
    let what = format!("looking up the default branch of {}", target.repo);
    let repository: Repository = client.get(&what, &format!("/repos/{}", target.repo))?;
    match repository.default_branch.filter(|b| !b.is_empty()) {
        Some(branch) => Ok(branch),
        None => Err(GithubError::Decode {
            what,
            message: "the repository names no default branch".to_owned(),
        }),
    }
}

/// The open pull request from `head` in the target repository (into `base`, when given).
/// The list is filtered by GitHub, and again here: GitHub ignores a `head` filter it cannot
/// read rather than refusing it.
fn find_open(
    client: &Client,
    target: &Target,
    head: &str,
    base: Option<&str>,
) -> Result<Option<Pull>, GithubError> {
    let repo = &target.repo;
    let mut route = format!(
        "/repos/{repo}/pulls?state=open&head={}",
        encode_query(&format!("{}:{head}", repo.owner))
    );
    if let Some(base) = base {
        route.push_str(&format!("&base={}", encode_query(base)));
    }
    client.find_in_pages(
        &format!("looking for the open pull request from {head}"),
        &route,
        |pull: Pull| {
            let named = |branch: &Option<Branch>, name: &str| {
                branch.as_ref().is_some_and(|b| b.name == name)
            };
            let own_head = pull.head.as_ref().is_some_and(|b| {
                b.label.as_ref().is_none_or(|label| {
                    label.split_once(':').is_some_and(|(owner, name)| {
                        owner.eq_ignore_ascii_case(&repo.owner) && name == head
                    })
                })
            });
            (named(&pull.head, head) && own_head && base.is_none_or(|base| named(&pull.base, base)))
                .then_some(pull)
        },
    )
}

fn update(
    client: &Client,
    target: &Target,
    author: &Author,
    pull: Pull,
    draft: &PullRequestDraft,
    body: &str,
) -> Result<PullRequestRef, GithubError> {
    let number = pull.number;
    let what = format!("updating pull request #{number}");
    if !author.wrote(pull.user.as_ref()) {
        return Err(foreign(&what, &pull));
    }
    let updated: Pull = client.patch(
        &what,
        &format!("/repos/{}/pulls/{number}", target.repo),
        &json!({ "title": draft.title, "body": body }),
    )?;
    Ok(reference(client, updated, false))
}

fn foreign(what: &str, pull: &Pull) -> GithubError {
    GithubError::NotOurs {
        what: what.to_owned(),
        number: pull.number,
        login: pull
            .user
            .as_ref()
            .map(|u| u.login.clone())
            .unwrap_or_default(),
    }
}

/// What GitHub answered names the URL: masked like its errors.
fn reference(client: &Client, pull: Pull, created: bool) -> PullRequestRef {
    PullRequestRef {
        number: pull.number,
        url: client.scrub(&pull.html_url.unwrap_or_default()),
        created,
    }
}

/// `body` within GitHub's limit: cut on a character boundary, ending with a note saying so.
fn fit_body(body: &str) -> String {
    let units = |text: &str| text.encode_utf16().count();
    if units(body) <= MAX_PULL_BODY_CHARS && body.len() <= MAX_PULL_BODY_BYTES {
        return body.to_owned();
    }
    let unit_room = MAX_PULL_BODY_CHARS - units(TRUNCATION_NOTE);
    let byte_room = MAX_PULL_BODY_BYTES - TRUNCATION_NOTE.len();
    let (mut used_units, mut end) = (0, 0);
    for (at, c) in body.char_indices() {
        used_units += c.len_utf16();
        if used_units > unit_room || at + c.len_utf8() > byte_room {
            break;
        }
        end = at + c.len_utf8();
    }
    format!("{}{TRUNCATION_NOTE}", &body[..end])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_bodies_are_kept_whole() {
        assert_eq!(fit_body("hello"), "hello");
        let exact = "x".repeat(MAX_PULL_BODY_CHARS);
        assert_eq!(fit_body(&exact), exact);
    }

    #[test]
    fn long_bodies_are_cut_to_fit_saying_so() {
        for body in [
            "x".repeat(MAX_PULL_BODY_CHARS + 1),
            // Astral characters count twice in UTF-16, and are four bytes in UTF-8.
            "🦀".repeat(MAX_PULL_BODY_CHARS),
            "é".repeat(MAX_PULL_BODY_BYTES),
        ] {
            let fitted = fit_body(&body);
            assert!(fitted.encode_utf16().count() <= MAX_PULL_BODY_CHARS);
            assert!(fitted.len() <= MAX_PULL_BODY_BYTES);
            assert!(fitted.ends_with(TRUNCATION_NOTE));
            assert!(body.starts_with(fitted.trim_end_matches(TRUNCATION_NOTE)));
        }
    }

    #[test]
    fn a_pull_request_by_someone_else_is_named_in_the_error() {
        let pull = Pull {
            number: 7,
            html_url: None,
            user: Some(User {
                login: "mallory".to_owned(),
            }),
            head: None,
            base: None,
        };
        let shown = foreign("updating pull request #7", &pull).to_string();
        assert!(shown.contains("#7") && shown.contains("mallory"), "{shown}");
    }
}
