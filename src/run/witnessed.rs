//! `driftlog verify --since-witnessed`: the newest checkpoint of this log that GitHub shows in
//! driftlog's pull-request comments and drift issues (read by [`crate::github`]), checked
//! against the trust root ([`crate::audit::trust::checkpoint_size`]).

use std::collections::HashMap;

use super::pipeline::Line;
use crate::audit::record::LogId;
use crate::audit::recorder::checkpoint_origin;
use crate::audit::trust::{checkpoint_size, Trusted};
use crate::context::pull_request_number;
use crate::github::{self, GithubError, Repo, RetryPolicy, WitnessQuery};

/// Where to look, as the command line and the environment say.
pub struct WitnessSettings {
    /// The token to read GitHub with.
    pub token: Option<String>,
    /// The repository whose comments and issues are read (default: `GITHUB_REPOSITORY`, else
    /// the repository identity when it is on github.com).
    pub github_repo: Option<Repo>,
    /// The pull request whose comments are read (default: the Actions event's).
    pub pull_request: Option<u64>,
    /// The API root; blank is `https://api.github.com`.
    pub api_url: String,
    pub issue_label: String,
    /// The process environment (`GITHUB_REPOSITORY`, `GITHUB_EVENT_PATH`).
    pub env: HashMap<String, String>,
}

impl WitnessSettings {
    /// The settings for these flags, with the token and environment of this process.
    pub fn from_process(
        github_repo: Option<Repo>,
        pull_request: Option<u64>,
        api_url: String,
        issue_label: String,
    ) -> WitnessSettings {
        WitnessSettings {
            token: crate::secrets::github_token(),
            github_repo,
            pull_request,
            api_url,
            issue_label,
            env: std::env::vars().collect(),
        }
    }
}

/// A witnessed checkpoint that verified.
#[derive(Debug, Clone)]
pub struct Found {
    pub line: String,
    pub size: u64,
    /// Where GitHub showed it ("pull request #7 comment 123").
    pub place: String,
}

/// Why GitHub could not be asked.
#[derive(Debug, thiserror::Error)]
pub enum WitnessError {
    #[error(
        "no GitHub token (DRIFTLOG_GITHUB_TOKEN or GITHUB_TOKEN) to read witnessed checkpoints"
    )]
    NoToken,
    #[error("no GitHub repository to read witnessed checkpoints from (--github-repo)")]
    NoRepository,
    #[error("reading witnessed checkpoints failed: {0}")]
    Github(GithubError),
}

/// The largest checkpoint of the log `branch` of `repository` that GitHub witnessed and a key
/// of `trusted` signed. `Ok(None)` after a [`Line::Note`] saying why there is none.
pub fn newest(
    settings: &WitnessSettings,
    repository: Option<&str>,
    branch: &str,
    trusted: &Trusted,
    notes: &mut dyn FnMut(Line<'_>),
) -> Result<Option<Found>, WitnessError> {
    let var = |name: &str| {
        settings
            .env
            .get(name)
            .filter(|v| !v.trim().is_empty())
            .cloned()
    };
    let token = settings.token.as_deref().ok_or(WitnessError::NoToken)?;
    let repo = match &settings.github_repo {
        Some(repo) => repo.clone(),
        None => var("GITHUB_REPOSITORY")
            .and_then(|name| name.parse().ok())
            .or_else(|| {
                repository
                    .and_then(|id| id.strip_prefix("github.com/"))
                    .and_then(|name| name.parse().ok())
            })
            .ok_or(WitnessError::NoRepository)?,
    };
    let pull_request = settings.pull_request.or_else(|| {
        var("GITHUB_EVENT_PATH")
            .and_then(crate::context::read_event_payload)
            .and_then(|event| pull_request_number(&event))
    });
    if pull_request.is_none() {
        notes(Line::Note(&format!(
            "no pull request (--pr), so only the drift issues of {repo} are read for \
             witnessed checkpoints"
        )));
    }
    let api_url = match settings.api_url.trim() {
        "" => "https://api.github.com",
        url => url,
    };
    let query = WitnessQuery {
        api_url,
        repo: &repo,
        pull_request,
        issue_label: &settings.issue_label,
        retry: RetryPolicy::default(),
    };
    let seen = github::witnessed_checkpoints(&query, token).map_err(WitnessError::Github)?;
    let expected = repository.map(|repository| {
        checkpoint_origin(&LogId {
            repository: repository.to_owned(),
            branch: branch.to_owned(),
        })
    });
    let keys = trusted.checkpoint_keys();
    let mut best: Option<Found> = None;
    let mut refused = 0;
    for witnessed in &seen {
        match checkpoint_size(&witnessed.line, expected.as_deref(), branch, &keys) {
            Ok(size) if best.as_ref().is_none_or(|b| size > b.size) => {
                best = Some(Found {
                    line: witnessed.line.clone(),
                    size,
                    place: witnessed.place.clone(),
                });
            }
            Ok(_) => {}
            Err(reason) => {
                refused += 1;
                notes(Line::Note(&format!(
                    "the checkpoint in {} is not used: {reason}",
                    witnessed.place
                )));
            }
        }
    }
    if best.is_none() {
        notes(Line::Note(&format!(
            "GitHub shows no checkpoint of this log signed by an allowed key ({} found, \
             {refused} refused in {repo})",
            seen.len()
        )));
    }
    Ok(best)
}
