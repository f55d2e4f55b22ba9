//! Reporting a scan on GitHub through its REST API: the sticky pull-request comment, the
//! commit status or check run, and the drift issue of scheduled scans; and reading back the
//! checkpoints those carry ([`witnessed_checkpoints`]).
//!
//! Only this module knows octocrab. Each part is independent: a token that may not comment
//! (pull requests from forks get a read-only one) still lets the others run, and a
//! permission failure is a warning, never a failed job, so the exit code keeps saying
//! whether there was drift.

mod author;
mod client;
mod comment;
mod issue;
mod marker;
pub mod pull;
pub mod retry;
mod status;
mod witness;

use std::fmt;
use std::str::FromStr;

pub use client::{
    Client, Timeouts, CONNECT_TIMEOUT, DEFAULT_REQUEST_DEADLINE, DEFAULT_REQUEST_TIMEOUT,
    REQUEST_DEADLINE_ENV, REQUEST_TIMEOUT_ENV,
};
pub use pull::{
    close_pull, default_branch, open_or_update_pull, PullRequestDraft, PullRequestRef,
    MAX_PULL_BODY_CHARS,
};
pub use retry::RetryPolicy;
#[cfg(test)]
pub(crate) use status::MAX_CHECK_SUMMARY;
pub use witness::{witnessed_checkpoints, WitnessQuery, Witnessed};

use crate::drift::combined::CombinedReport;
use crate::drift::{ScanReport, Status};
use crate::report::markdown::{self, Budget, Frame, RunLink};
use author::Author;

/// What is posted: one stack's report, or several stacks' as one.
#[derive(Debug, Clone, Copy)]
pub enum Publication<'a> {
    Single(&'a ScanReport),
    Combined(&'a CombinedReport),
}

impl Publication<'_> {
    pub fn status(&self) -> Status {
        match self {
            Publication::Single(report) => report.status,
            Publication::Combined(report) => report.status,
        }
    }

    /// When the (first) scan started.
    pub fn started_at(&self) -> String {
        match self {
            Publication::Single(report) => report.started_at.clone(),
            Publication::Combined(report) => report
                .stacks
                .iter()
                .map(|s| s.started_at.clone())
                .min()
                .unwrap_or_default(),
        }
    }

    /// The markdown body inside `frame`, fitted to `budget`.
    pub fn render(&self, budget: &Budget, frame: &Frame) -> String {
        match self {
            Publication::Single(report) => markdown::render_framed(report, budget, frame),
            Publication::Combined(report) => markdown::render_combined(report, budget, frame),
        }
    }

    /// The stacks in it.
    pub fn stacks(&self) -> Vec<&ScanReport> {
        match self {
            Publication::Single(report) => vec![report],
            Publication::Combined(report) => report.stacks.iter().collect(),
        }
    }
}

/// `owner/name`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Repo {
    pub owner: String,
    pub name: String,
}

impl FromStr for Repo {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let valid = |part: &str| {
            !part.is_empty()
                && part
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
        };
        match text.split_once('/') {
            Some((owner, name)) if valid(owner) && valid(name) => Ok(Repo {
                owner: owner.to_owned(),
                name: name.to_owned(),
            }),
            _ => Err(format!("{text:?} is not a repository name like OWNER/NAME")),
        }
    }
}

impl fmt::Display for Repo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.owner, self.name)
    }
}

/// Where the report goes.
#[derive(Debug, Clone)]
pub struct Target {
    /// `https://api.github.com`, or `https://HOST/api/v3` on GitHub Enterprise Server.
    pub api_url: String,
    pub repo: Repo,
    /// The pull request to comment on; without one, scheduled-scan issues are kept instead.
    pub pull_request: Option<u64>,
    /// The commit the status belongs to: a pull request's head, not its merge commit.
    pub sha: Option<String>,
    pub run: Option<RunLink>,
}

/// Which parts to do, and how they are named.
#[derive(Debug, Clone)]
pub struct PublishOptions {
    pub comment: bool,
    pub status: bool,
    pub issue: bool,
    /// A drifted stack fails the status (otherwise it is neutral).
    pub fail_on_drift: bool,
    /// Tells this comment apart from other stacks' or configurations' (`infra/prod`).
    pub id: String,
    /// Each stack's id, in the publication's order: names its drift issue.
    pub stack_ids: Vec<String>,
    pub issue_label: String,
    /// The status context or check-run name.
    pub status_name: String,
    pub retry: RetryPolicy,
}

/// What publishing did.
#[derive(Debug, Default)]
pub struct Published {
    /// One line per thing done ("updated the comment on pull request #7: URL").
    pub done: Vec<String>,
    /// Things left undone that must not fail the job (missing permissions).
    pub warnings: Vec<String>,
    /// Things that failed for other reasons.
    pub errors: Vec<GithubError>,
    /// The drift issue of each stack that has one: its index in `publication.stacks()`, and
    /// its page.
    pub issues: Vec<(usize, String)>,
}

/// Posts `publication` to GitHub as `options` asks. Never fails as a whole: each part's
/// outcome lands in [`Published`].
pub fn publish(
    publication: Publication<'_>,
    target: &Target,
    token: &str,
    options: &PublishOptions,
) -> Published {
    let mut published = Published::default();
    let client = match Client::new(&target.api_url, token, options.retry) {
        Ok(client) => client,
        Err(err) => {
            published.errors.push(err);
            return published;
        }
    };
    // Owners GitHub would not assign: said after what the closure below notes.
    let mut owner_warnings = Vec::new();
    let mut issues = Vec::new();
    let mut note = |result: Result<Option<String>, GithubError>| match result {
        Ok(Some(done)) => published.done.push(done),
        Ok(None) => {}
        Err(err) if err.is_permission() => published.warnings.push(format!(
            "{err}. A pull request from a fork gets a read-only token; otherwise grant the \
             workflow's `permissions:` (pull-requests, issues, statuses or checks: write). \
             The job summary still has the report."
        )),
        Err(err) => published.errors.push(err),
    };
    let comment_on = target.pull_request.filter(|_| options.comment);
    let keep_issues = options.issue && target.pull_request.is_none();
    // Only what this token wrote is driftlog's to edit: asked once, when needed.
    let author = match (comment_on.is_some() || keep_issues).then(|| Author::of_token(&client)) {
        Some(Ok(author)) => Some(author),
        Some(Err(err)) => {
            note(Err(err));
            None
        }
        None => None,
    };
    if let Some(author) = &author {
        if let Some(number) = comment_on {
            note(comment::upsert(
                &client,
                target,
                number,
                publication,
                options,
                author,
            ));
        }
        if keep_issues {
            for (index, stack) in publication.stacks().into_iter().enumerate() {
                let id = options.stack_ids.get(index).unwrap_or(&options.id);
                let synced = issue::sync(
                    &client,
                    target,
                    stack,
                    id,
                    options,
                    author,
                    &mut owner_warnings,
                );
                if let Ok(Some(synced)) = &synced {
                    issues.push((index, client.scrub(&synced.url)));
                }
                note(synced.map(|synced| synced.map(|s| s.done)));
            }
        }
    }
    if options.status {
        match &target.sha {
            Some(sha) => note(status::post(&client, target, sha, publication, options)),
            None => published
                .warnings
                .push("no commit to set a status on: pass --sha or set GITHUB_SHA".to_owned()),
        }
    }
    published.warnings.extend(owner_warnings);
    published.issues = issues;
    // What was done names URLs GitHub answered with: masked like its errors.
    published.done = published.done.iter().map(|d| client.scrub(d)).collect();
    published.warnings = published.warnings.iter().map(|w| client.scrub(w)).collect();
    published
}

/// A remediation's report for one stack's drift issue.
#[derive(Debug, Clone, Copy)]
pub struct RemediationPost<'a> {
    /// The stack's id, as its drift issue's marker names it (see `PublishOptions::stack_ids`).
    pub stack_id: &'a str,
    /// The comment, already within GitHub's limit.
    pub body: &'a str,
    /// Close the issue (as completed) after the comment: the stack is clean again.
    pub close: bool,
    pub issue_label: &'a str,
    pub retry: RetryPolicy,
}

/// Posts a remediation's report on the stack's open drift issue (and closes it when
/// `post.close`). Never fails as a whole; a missing permission is a warning.
pub fn publish_remediation(target: &Target, token: &str, post: &RemediationPost<'_>) -> Published {
    let mut published = Published::default();
    let client = match Client::new(&target.api_url, token, post.retry) {
        Ok(client) => client,
        Err(err) => {
            published.errors.push(err);
            return published;
        }
    };
    let result = Author::of_token(&client)
        .and_then(|author| issue::remediation(&client, target, post, &author));
    match result {
        Ok(done) => published.done.push(client.scrub(&done)),
        Err(err) if err.is_permission() => published.warnings.push(client.scrub(&format!(
            "{err}. Grant the workflow `permissions: issues: write`; the job summary still has \
             the remediation report."
        ))),
        Err(err) => published.errors.push(err),
    }
    published
}

/// "3 resources drifted", "no drift (12 checked)", "the drift scan failed".
pub(crate) fn one_line_summary(publication: Publication<'_>) -> String {
    use crate::report::plural;
    match publication {
        Publication::Single(report) => match report.status {
            Status::Clean => format!(
                "no drift ({} checked)",
                plural(report.summary.checked, "resource")
            ),
            Status::Drifted => format!(
                "{} drifted ({} updated, {} deleted)",
                plural(report.summary.drifted, "resource"),
                report.summary.updated,
                report.summary.deleted
            ),
            Status::Failed => "the drift scan failed".to_owned(),
        },
        Publication::Combined(report) => {
            let summary = &report.summary;
            match report.status {
                Status::Clean => format!("no drift in {}", plural(summary.stacks, "stack")),
                Status::Drifted => format!(
                    "{} drifted in {} of {}",
                    plural(summary.drifted_resources, "resource"),
                    summary.drifted,
                    plural(summary.stacks, "stack")
                ),
                Status::Failed => format!(
                    "{} of {} failed to scan; {} drifted",
                    summary.failed,
                    plural(summary.stacks, "stack"),
                    plural(summary.drifted_resources, "resource")
                ),
            }
        }
    }
}

/// Why a GitHub request did not succeed. `what` says what driftlog was doing.
#[derive(Debug, thiserror::Error)]
pub enum GithubError {
    #[error("{what}: GitHub refused (HTTP {status}: {message})")]
    Forbidden {
        what: String,
        status: u16,
        message: String,
    },
    #[error(
        "{what}: GitHub rejected the token (HTTP 401: {message}); check GITHUB_TOKEN or \
         --github-token"
    )]
    Unauthorized { what: String, message: String },
    #[error(
        "{what}: not found (HTTP 404: {message}); check the repository name and that the token \
         can see it"
    )]
    NotFound { what: String, message: String },
    #[error("{what}: GitHub answered HTTP {status}: {message}")]
    Rejected {
        what: String,
        status: u16,
        message: String,
    },
    #[error("{what}: still failing after {attempts} attempts, last with HTTP {status}: {message}")]
    GaveUp {
        what: String,
        status: u16,
        message: String,
        attempts: u32,
    },
    #[error("{what}: rate limited until {until}, later than driftlog waits; run it again then")]
    RateLimited { what: String, until: String },
    #[error("{what}: cannot reach GitHub at {api_url} after {attempts} attempts: {message}")]
    Unreachable {
        what: String,
        api_url: String,
        message: String,
        attempts: u32,
    },
    #[error("{what}: unexpected response from GitHub: {message}")]
    Decode { what: String, message: String },
    #[error("the GitHub API URL {url:?} cannot be used: {message} (set GITHUB_API_URL)")]
    BadApiUrl { url: String, message: String },
    #[error("cannot set up the GitHub client: {0}")]
    Setup(String),
    #[error("{what}: abandoned, driftlog was stopped")]
    Interrupted { what: String },
    #[error(
        "{what}: pull request #{number} was opened by {login:?}, not by the token's account; \
         driftlog edits or closes only its own"
    )]
    NotOurs {
        what: String,
        number: u64,
        login: String,
    },
}

impl GithubError {
    pub(crate) fn from_status(what: &str, status: http::StatusCode, message: String) -> Self {
        let what = what.to_owned();
        match status.as_u16() {
            401 => GithubError::Unauthorized { what, message },
            403 => GithubError::Forbidden {
                what,
                status: 403,
                message,
            },
            404 => GithubError::NotFound { what, message },
            status => GithubError::Rejected {
                what,
                status,
                message,
            },
        }
    }

    /// The same error with every secret (and URL credentials) masked in its text: servers
    /// may echo the request, `Authorization` header included, in what they answer.
    pub(crate) fn scrubbed(self, secrets: &[String]) -> Self {
        let clean = |text: String| crate::secrets::scrub(&text, secrets);
        match self {
            GithubError::Forbidden {
                what,
                status,
                message,
            } => GithubError::Forbidden {
                what: clean(what),
                status,
                message: clean(message),
            },
            GithubError::Unauthorized { what, message } => GithubError::Unauthorized {
                what: clean(what),
                message: clean(message),
            },
            GithubError::NotFound { what, message } => GithubError::NotFound {
                what: clean(what),
                message: clean(message),
            },
            GithubError::Rejected {
                what,
                status,
                message,
            } => GithubError::Rejected {
                what: clean(what),
                status,
                message: clean(message),
            },
            GithubError::GaveUp {
                what,
                status,
                message,
                attempts,
            } => GithubError::GaveUp {
                what: clean(what),
                status,
                message: clean(message),
                attempts,
            },
            GithubError::RateLimited { what, until } => GithubError::RateLimited {
                what: clean(what),
                until: clean(until),
            },
            GithubError::Unreachable {
                what,
                api_url,
                message,
                attempts,
            } => GithubError::Unreachable {
                what: clean(what),
                api_url: clean(api_url),
                message: clean(message),
                attempts,
            },
            GithubError::Decode { what, message } => GithubError::Decode {
                what: clean(what),
                message: clean(message),
            },
            GithubError::BadApiUrl { url, message } => GithubError::BadApiUrl {
                url: clean(url),
                message: clean(message),
            },
            GithubError::Setup(message) => GithubError::Setup(clean(message)),
            GithubError::Interrupted { what } => GithubError::Interrupted { what: clean(what) },
            GithubError::NotOurs {
                what,
                number,
                login,
            } => GithubError::NotOurs {
                what: clean(what),
                number,
                login: clean(login),
            },
        }
    }

    /// The token lacks a permission: worth a warning, not a failed job.
    pub fn is_permission(&self) -> bool {
        matches!(self, GithubError::Forbidden { .. })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_error_loses_the_token_in_its_display_and_debug() {
        let token = "ghs_s3cr3t_TOKEN_1234";
        let echo = format!("you sent Authorization: Bearer {token}");
        let url = format!("https://x-access-token:{token}@ghe.example/api/v3");
        let errors = [
            GithubError::from_status("a", http::StatusCode::FORBIDDEN, echo.clone()),
            GithubError::from_status("a", http::StatusCode::UNAUTHORIZED, echo.clone()),
            GithubError::from_status("a", http::StatusCode::NOT_FOUND, echo.clone()),
            GithubError::from_status("a", http::StatusCode::BAD_REQUEST, echo.clone()),
            GithubError::GaveUp {
                what: "a".into(),
                status: 502,
                message: echo.clone(),
                attempts: 5,
            },
            GithubError::RateLimited {
                what: echo.clone(),
                until: echo.clone(),
            },
            GithubError::Unreachable {
                what: "a".into(),
                api_url: url.clone(),
                message: echo.clone(),
                attempts: 5,
            },
            GithubError::Decode {
                what: "a".into(),
                message: echo.clone(),
            },
            GithubError::BadApiUrl {
                url: url.clone(),
                message: echo.clone(),
            },
            GithubError::Setup(echo.clone()),
            GithubError::NotOurs {
                what: echo.clone(),
                number: 7,
                login: echo.clone(),
            },
        ];
        for err in errors {
            let clean = err.scrubbed(&[token.to_owned()]);
            let shown = format!("{clean} {clean:?}");
            assert!(!shown.contains(token), "{shown}");
            assert!(!shown.contains("s3cr3t"), "{shown}");
        }
    }

    #[test]
    fn repository_names_parse() {
        assert_eq!(
            "acme/infra.live".parse::<Repo>(),
            Ok(Repo {
                owner: "acme".into(),
                name: "infra.live".into()
            })
        );
        for bad in ["acme", "/infra", "acme/", "a/b/c", "a b/c"] {
            assert!(bad.parse::<Repo>().is_err(), "{bad}");
        }
    }
}
