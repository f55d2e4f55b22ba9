//! The result on the commit: a check run when the token may create one (GitHub Actions'
//! token can), else a commit status, which any token with `statuses: write` can set.

use serde_json::{json, Value};

use super::client::Client;
use super::Publication;
use super::{one_line_summary, GithubError, PublishOptions, Target};
use crate::drift::Status;
use crate::report::markdown::{Budget, Frame};
use crate::report::shorten;

/// GitHub cuts status descriptions at 140 characters.
const MAX_DESCRIPTION: usize = 140;
/// A check run's summary is limited to 65,535 characters.
pub(crate) const MAX_CHECK_SUMMARY: usize = 60_000;

pub(super) fn post(
    client: &Client,
    target: &Target,
    sha: &str,
    publication: Publication<'_>,
    options: &PublishOptions,
) -> Result<Option<String>, GithubError> {
    let repo = &target.repo;
    let summary = one_line_summary(publication);
    let status = publication.status();
    let description = match (status, options.fail_on_drift) {
        (Status::Drifted, false) => format!("{summary}; not failing (fail-on-drift is off)"),
        _ => summary.clone(),
    };
    let details_url = target.run.as_ref().map(|r| r.url.clone());
    let conclusion = match (status, options.fail_on_drift) {
        (Status::Clean, _) => "success",
        (Status::Drifted, true) | (Status::Failed, _) => "failure",
        (Status::Drifted, false) => "neutral",
    };
    let check = client.post::<Value>(
        &format!("creating the {} check run", options.status_name),
        &format!("/repos/{repo}/check-runs"),
        &json!({
            "name": options.status_name,
            "head_sha": sha,
            "status": "completed",
            "conclusion": conclusion,
            "details_url": details_url,
            "output": {
                "title": shorten(&description, 200),
                "summary": shorten(
                    &publication.render(
                        &Budget {
                            chars: MAX_CHECK_SUMMARY,
                            bytes: MAX_CHECK_SUMMARY,
                        },
                        &Frame::default(),
                    ),
                    MAX_CHECK_SUMMARY
                ),
            },
        }),
    );
    match check {
        Ok(_) => {
            return Ok(Some(format!(
                "check run {:?} on {}: {conclusion}",
                options.status_name,
                short(sha)
            )))
        }
        // Personal and fine-grained tokens cannot create check runs: a status still can.
        Err(GithubError::Forbidden { .. } | GithubError::NotFound { .. }) => {}
        Err(err) => return Err(err),
    }
    let state = match (status, options.fail_on_drift) {
        (Status::Clean, _) | (Status::Drifted, false) => "success",
        (Status::Drifted, true) => "failure",
        (Status::Failed, _) => "error",
    };
    client.post::<Value>(
        &format!("setting the {} commit status", options.status_name),
        &format!("/repos/{repo}/statuses/{sha}"),
        &json!({
            "state": state,
            "context": options.status_name,
            "description": shorten_to(&description, MAX_DESCRIPTION),
            "target_url": details_url,
        }),
    )?;
    Ok(Some(format!(
        "commit status {:?} on {}: {state}",
        options.status_name,
        short(sha)
    )))
}

fn short(sha: &str) -> &str {
    crate::report::first_chars(sha, 12)
}

/// At most `max` characters, ellipsis included.
fn shorten_to(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_owned();
    }
    let kept: String = text.chars().take(max - 1).collect();
    format!("{kept}…")
}
