//! The drift issue of scheduled scans: one per stack, opened when it drifts, kept current,
//! closed when it is clean again and reopened (never duplicated) when the drift returns.

use std::collections::BTreeSet;

use serde::Deserialize;
use serde_json::{json, Value};

use super::author::{Author, User};
use super::client::Client;
use super::marker::{self, Kind, State};
use super::{GithubError, PublishOptions, RemediationPost, Target};
use crate::drift::{ScanReport, Status};
use crate::report::markdown::{render_framed, Budget, Frame};
use crate::report::{human_time, plural};

#[derive(Debug, Deserialize)]
struct Issue {
    number: u64,
    state: String,
    #[serde(default)]
    body: Option<String>,
    #[serde(default)]
    html_url: Option<String>,
    /// The issues list includes pull requests, marked by this key.
    #[serde(default)]
    pull_request: Option<Value>,
    #[serde(default)]
    user: Option<User>,
    #[serde(default)]
    assignees: Vec<User>,
}

/// What syncing a stack's issue did: a line for the run, and the issue's page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Synced {
    pub done: String,
    pub url: String,
}

impl Synced {
    fn new(done: String, url: Option<String>) -> Synced {
        let url = url.unwrap_or_default();
        Synced {
            done: format!("{done}: {url}"),
            url,
        }
    }
}

/// How many addresses a "what changed" comment names per side.
const NAMED_IN_CHANGE: usize = 20;

/// Brings the stack's issue in line with `report`. A failed scan says nothing about drift,
/// so it leaves the issue alone. Only an issue `author` opened is the stack's; a marked one
/// by anyone else is never edited or closed. An issue opened or reopened is assigned to the
/// stack's user owners; whom GitHub would not assign goes in `warnings`.
pub(super) fn sync(
    client: &Client,
    target: &Target,
    report: &ScanReport,
    id: &str,
    options: &PublishOptions,
    author: &Author,
    warnings: &mut Vec<String>,
) -> Result<Option<Synced>, GithubError> {
    if report.status == Status::Failed {
        return Ok(None);
    }
    let repo = &target.repo;
    let marker = marker::marker(Kind::Issue, id);
    let label = &options.issue_label;
    let existing = find(client, target, id, label, author)?;
    let previous = existing
        .as_ref()
        .and_then(|i| i.body.as_deref())
        .and_then(State::find);
    let run = run_phrase(target);

    if report.status == Status::Clean {
        let Some(issue) = existing.filter(|i| i.state == "open") else {
            return Ok(None);
        };
        let number = issue.number;
        client.post::<Value>(
            &format!("commenting on drift issue #{number}"),
            &format!("/repos/{repo}/issues/{number}/comments"),
            &json!({ "body": format!(
                "✅ {} is clean again: no drift since {}{run}. Closing.",
                code(id),
                human_time(&report.started_at)
            ) }),
        )?;
        client.patch::<Value>(
            &format!("closing drift issue #{number}"),
            &format!("/repos/{repo}/issues/{number}"),
            &json!({ "state": "closed", "state_reason": "completed" }),
        )?;
        return Ok(Some(Synced::new(
            format!("closed drift issue #{number}"),
            issue.html_url,
        )));
    }

    let drifted: BTreeSet<String> = report
        .resources
        .iter()
        .filter(|r| r.counts())
        .map(|r| r.address.clone())
        .collect();
    let since = match (&existing, &previous) {
        (Some(issue), Some(state)) if issue.state == "open" && state.status == "drifted" => {
            state.since.clone()
        }
        _ => report.started_at.clone(),
    };
    let state = State {
        status: "drifted".to_owned(),
        since: since.clone(),
        resources: Some(drifted.iter().cloned().collect()),
    };
    let body = render_framed(
        report,
        &Budget::GITHUB_COMMENT,
        &Frame {
            hidden: format!("{marker}\n{}\n", state.to_line()),
            clean_since: None,
            drifted_since: Some(since),
            run: target.run.clone(),
        },
    );

    let Some(issue) = existing else {
        ensure_label(client, target, label)?;
        let created: Issue = client.post(
            &format!("opening a drift issue for {}", id),
            &format!("/repos/{repo}/issues"),
            &json!({
                "title": format!("Drift in {}", code(id)),
                "body": body,
                "labels": [label],
            }),
        )?;
        warnings.extend(assign(client, target, created.number, &report.owners));
        return Ok(Some(Synced::new(
            format!("opened drift issue #{}", created.number),
            created.html_url,
        )));
    };

    let number = issue.number;
    let reopening = issue.state != "open";
    let mut update = json!({ "body": body });
    if reopening {
        update["state"] = json!("open");
    }
    client.patch::<Value>(
        &format!("updating drift issue #{number}"),
        &format!("/repos/{repo}/issues/{number}"),
        &update,
    )?;
    if reopening {
        warnings.extend(assign(client, target, number, &report.owners));
    }
    let before: BTreeSet<String> = previous
        .and_then(|s| s.resources)
        .unwrap_or_default()
        .into_iter()
        .collect();
    let change = if reopening {
        Some(format!(
            "⚠️ Drift is back{run}: {}. The description has the report.",
            plural(drifted.len(), "resource")
        ))
    } else if before != drifted {
        Some(change_note(&before, &drifted, &run))
    } else {
        None
    };
    if let Some(note) = &change {
        client.post::<Value>(
            &format!("commenting on drift issue #{number}"),
            &format!("/repos/{repo}/issues/{number}/comments"),
            &json!({ "body": note }),
        )?;
    }
    let verb = match (reopening, change.is_some()) {
        (true, _) => "reopened",
        (false, true) => "updated (the drifted resources changed)",
        (false, false) => "updated",
    };
    Ok(Some(Synced::new(
        format!("{verb} drift issue #{number}"),
        issue.html_url,
    )))
}

/// Most assignees GitHub takes on one issue.
const MAX_ASSIGNEES: usize = 10;

/// Assigns issue `number` to the user owners among `owners` (teams cannot be assigned: the
/// report mentions them). GitHub silently leaves out whom it cannot assign (no access to the
/// repository): each is a warning, as is a request that fails. Never an error: the issue is
/// there either way.
fn assign(client: &Client, target: &Target, number: u64, owners: &[String]) -> Vec<String> {
    let users: Vec<String> = owners
        .iter()
        .filter_map(|owner| match crate::owners::Owner::parse(owner) {
            Some(crate::owners::Owner::User(login)) => Some(login),
            _ => None,
        })
        .collect();
    let mut warnings = Vec::new();
    if users.is_empty() {
        return warnings;
    }
    let (asked, left) = users.split_at(users.len().min(MAX_ASSIGNEES));
    if !left.is_empty() {
        warnings.push(format!(
            "drift issue #{number}: GitHub assigns at most {MAX_ASSIGNEES} people; not \
             assigned: @{}",
            left.join(", @")
        ));
    }
    let answered: Result<Issue, GithubError> = client.post(
        &format!("assigning drift issue #{number} to its owners"),
        &format!("/repos/{}/issues/{number}/assignees", target.repo),
        &json!({ "assignees": asked }),
    );
    match answered {
        Ok(issue) => {
            let refused: Vec<&str> = asked
                .iter()
                .filter(|login| {
                    !issue
                        .assignees
                        .iter()
                        .any(|user| user.login.eq_ignore_ascii_case(login))
                })
                .map(String::as_str)
                .collect();
            if !refused.is_empty() {
                warnings.push(format!(
                    "drift issue #{number}: GitHub did not assign @{} (an owner must have \
                     access to the repository to be assigned); the issue names them",
                    refused.join(", @")
                ));
            }
        }
        Err(err) => warnings.push(format!(
            "drift issue #{number} was not assigned to its owners: {err}"
        )),
    }
    warnings
}

/// The stack's issue, open or closed: the newest labelled one `author` opened that carries
/// the stack's marker.
fn find(
    client: &Client,
    target: &Target,
    id: &str,
    label: &str,
    author: &Author,
) -> Result<Option<Issue>, GithubError> {
    let marker = marker::marker(Kind::Issue, id);
    client.find_in_pages(
        &format!("looking for the drift issue of {}", id),
        &format!(
            "/repos/{}/issues?state=all&labels={}&sort=created&direction=desc",
            target.repo,
            encode_query(label)
        ),
        |issue: Issue| {
            (issue.pull_request.is_none()
                && author.wrote(issue.user.as_ref())
                && issue
                    .body
                    .as_deref()
                    .is_some_and(|b| marker::is_marked(b, &marker)))
            .then_some(issue)
        },
    )
}

/// Posts a remediation's report on the stack's open drift issue, then closes it as
/// completed when `close` (the verifying scan found the stack clean). No open issue: nothing
/// is posted, since a remediation report alone is no reason to open one.
pub(super) fn remediation(
    client: &Client,
    target: &Target,
    post: &RemediationPost<'_>,
    author: &Author,
) -> Result<String, GithubError> {
    let repo = &target.repo;
    let id = post.stack_id;
    let Some(issue) =
        find(client, target, id, post.issue_label, author)?.filter(|issue| issue.state == "open")
    else {
        return Ok(format!(
            "no open drift issue for {}, so the remediation report was not posted on one",
            code(id)
        ));
    };
    let number = issue.number;
    client.post::<Value>(
        &format!("commenting on drift issue #{number}"),
        &format!("/repos/{repo}/issues/{number}/comments"),
        &json!({ "body": post.body }),
    )?;
    let url = issue.html_url.unwrap_or_default();
    if !post.close {
        return Ok(format!(
            "posted the remediation report on drift issue #{number}: {url}"
        ));
    }
    client.patch::<Value>(
        &format!("closing drift issue #{number}"),
        &format!("/repos/{repo}/issues/{number}"),
        &json!({ "state": "closed", "state_reason": "completed" }),
    )?;
    Ok(format!(
        "posted the remediation report on drift issue #{number} and closed it: {url}"
    ))
}

/// Creates the label unless it exists; a concurrent creation is fine.
fn ensure_label(client: &Client, target: &Target, label: &str) -> Result<(), GithubError> {
    let repo = &target.repo;
    match client.get::<Value>(
        &format!("looking up the {label:?} label"),
        &format!("/repos/{repo}/labels/{}", encode_path(label)),
    ) {
        Ok(_) => return Ok(()),
        Err(GithubError::NotFound { .. }) => {}
        Err(err) => return Err(err),
    }
    match client.post::<Value>(
        &format!("creating the {label:?} label"),
        &format!("/repos/{repo}/labels"),
        &json!({
            "name": label,
            "color": "d93f0b",
            "description": "Infrastructure changed outside Terraform (found by driftlog)",
        }),
    ) {
        Err(GithubError::Rejected { status: 422, .. }) | Ok(_) => Ok(()),
        Err(err) => Err(err),
    }
}

fn change_note(before: &BTreeSet<String>, now: &BTreeSet<String>, run: &str) -> String {
    let mut note = format!(
        "The drifted resources changed{run}: now {}.",
        plural(now.len(), "resource")
    );
    let named = |set: Vec<&String>| {
        let mut text: Vec<String> = set.iter().take(NAMED_IN_CHANGE).map(|a| code(a)).collect();
        if set.len() > NAMED_IN_CHANGE {
            text.push(format!("and {} more", set.len() - NAMED_IN_CHANGE));
        }
        text.join(", ")
    };
    let added: Vec<&String> = now.difference(before).collect();
    let gone: Vec<&String> = before.difference(now).collect();
    if !added.is_empty() {
        note.push_str(&format!("\n\nNewly drifted: {}", named(added)));
    }
    if !gone.is_empty() {
        note.push_str(&format!("\n\nNo longer drifted: {}", named(gone)));
    }
    note
}

fn run_phrase(target: &Target) -> String {
    match &target.run {
        Some(run) => format!(" in [{}]({})", run.label, run.url),
        None => String::new(),
    }
}

fn code(text: &str) -> String {
    format!("`{}`", text.replace('`', "'"))
}

/// Label names may hold spaces or other reserved characters.
fn encode_path(text: &str) -> String {
    let mut out = String::new();
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'_' | b'.' | b'~') {
            out.push(byte as char);
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

pub(super) fn encode_query(text: &str) -> String {
    encode_path(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn change_notes_name_what_came_and_went() {
        let before: BTreeSet<String> = ["a", "b"].map(String::from).into();
        let now: BTreeSet<String> = ["b", "c"].map(String::from).into();
        let note = change_note(&before, &now, " in [run 9](u)");
        assert!(note.starts_with("The drifted resources changed in [run 9](u): now 2 resources."));
        assert!(note.contains("Newly drifted: `c`"));
        assert!(note.contains("No longer drifted: `a`"));
    }

    #[test]
    fn label_names_are_encoded() {
        assert_eq!(encode_path("infra drift"), "infra%20drift");
        assert_eq!(encode_path("drift"), "drift");
    }
}
