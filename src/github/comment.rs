//! The one pull-request comment per stack: found again by its marker and edited in place, so
//! re-runs never add a second one.

use serde::Deserialize;
use serde_json::json;

use super::author::{Author, User};
use super::client::Client;
use super::marker::{self, Kind, State};
use super::Publication;
use super::{GithubError, PublishOptions, Target};
use crate::drift::Status;
use crate::report::markdown::{Budget, Frame};

#[derive(Debug, Deserialize)]
struct IssueComment {
    id: u64,
    #[serde(default)]
    body: Option<String>,
    #[serde(default)]
    html_url: Option<String>,
    #[serde(default)]
    user: Option<User>,
}

/// Creates or updates the stack's comment on pull request `number`. A clean scan with no
/// earlier comment posts nothing: a comment is news only when there is something to see.
/// Only a comment `author` wrote is continued; a marked one by anyone else is left alone.
pub(super) fn upsert(
    client: &Client,
    target: &Target,
    number: u64,
    publication: Publication<'_>,
    options: &PublishOptions,
    author: &Author,
) -> Result<Option<String>, GithubError> {
    let marker = marker::marker(Kind::Comment, &options.id);
    let repo = &target.repo;
    let existing = client.find_in_pages(
        &format!("looking for driftlog's comment on pull request #{number}"),
        &format!("/repos/{repo}/issues/{number}/comments"),
        |comment: IssueComment| {
            (author.wrote(comment.user.as_ref())
                && comment
                    .body
                    .as_deref()
                    .is_some_and(|body| marker::is_marked(body, &marker)))
            .then_some(comment)
        },
    )?;
    let previous = existing
        .as_ref()
        .and_then(|c| c.body.as_deref())
        .and_then(State::find);
    if existing.is_none() && publication.status() == Status::Clean {
        return Ok(None);
    }
    let body = body(publication, target, &marker, previous.as_ref());
    let posted: IssueComment = match &existing {
        Some(comment) => client.patch(
            &format!("updating driftlog's comment on pull request #{number}"),
            &format!("/repos/{repo}/issues/comments/{}", comment.id),
            &json!({ "body": body }),
        )?,
        None => client.post(
            &format!("commenting on pull request #{number}"),
            &format!("/repos/{repo}/issues/{number}/comments"),
            &json!({ "body": body }),
        )?,
    };
    let verb = if existing.is_some() {
        "updated"
    } else {
        "created"
    };
    Ok(Some(format!(
        "{verb} the comment on pull request #{number}: {}",
        posted.html_url.unwrap_or_else(|| posted.id.to_string())
    )))
}

/// The comment: marker, state, then the report fitted to GitHub's limit.
fn body(
    publication: Publication<'_>,
    target: &Target,
    marker: &str,
    previous: Option<&State>,
) -> String {
    let now = publication.started_at();
    let status = publication.status();
    let since = match previous {
        Some(state) if state.status == status.as_str() => state.since.clone(),
        _ => now,
    };
    let state = State {
        status: status.as_str().to_owned(),
        since: since.clone(),
        resources: None,
    };
    let frame = Frame {
        hidden: format!("{marker}\n{}\n", state.to_line()),
        // "Clean again" only where the thread showed something else before.
        clean_since: (status == Status::Clean && previous.is_some()).then(|| since.clone()),
        drifted_since: (status == Status::Drifted).then_some(since),
        run: target.run.clone(),
    };
    publication.render(&Budget::GITHUB_COMMENT, &frame)
}
