//! `driftlog verify --since-witnessed`: the newest checkpoint of this log that GitHub shows in
//! driftlog's pull-request comments and drift issues, checked against the trust root.

use std::collections::HashMap;

use driftlog::audit::note::{checkpoint_from_line, open_checkpoint, NoteVerifier};
use driftlog::audit::record::LogId;
use driftlog::audit::recorder::checkpoint_origin;
use driftlog::audit::sshsig::{AllowedSigners, DRIFTLOG_NAMESPACE};
use driftlog::context::pull_request_number;
use driftlog::github::{self, Repo, RetryPolicy, WitnessQuery};

/// Where `--since-witnessed` looks.
#[derive(Debug, Clone, clap::Args)]
#[command(next_help_heading = "Witnessed checkpoints (--since-witnessed)")]
pub struct WitnessArgs {
    /// The GitHub repository whose comments and issues are read (default: GITHUB_REPOSITORY,
    /// else the repository identity when it is on github.com). The token is
    /// DRIFTLOG_GITHUB_TOKEN, else GITHUB_TOKEN.
    #[arg(long, value_name = "OWNER/NAME")]
    pub github_repo: Option<Repo>,

    /// The pull request whose driftlog comments are read (default in Actions: the event's).
    #[arg(long, value_name = "N")]
    pub pr: Option<u64>,

    /// The GitHub API root (`https://HOST/api/v3` on GitHub Enterprise Server).
    #[arg(
        long,
        env = "GITHUB_API_URL",
        default_value = "https://api.github.com",
        value_name = "URL"
    )]
    pub github_api_url: String,

    /// Label of the drift issues.
    #[arg(long, default_value = "drift", value_name = "NAME")]
    pub issue_label: String,
}

/// A witnessed checkpoint that verified.
pub struct Found {
    pub line: String,
    pub size: u64,
    pub place: String,
}

/// The largest checkpoint of the log `branch` of `repository` that GitHub witnessed and a key
/// in `allowed` signed. `Ok(None)` after saying on stderr why there is none; `Err` says why
/// GitHub could not be asked.
pub fn newest(
    args: &WitnessArgs,
    repository: Option<&str>,
    branch: &str,
    allowed: &AllowedSigners,
) -> Result<Option<Found>, String> {
    let env: HashMap<String, String> = std::env::vars().collect();
    let var = |name: &str| env.get(name).filter(|v| !v.trim().is_empty()).cloned();
    let token = crate::secrets::github_token().ok_or(
        "no GitHub token (DRIFTLOG_GITHUB_TOKEN or GITHUB_TOKEN) to read witnessed checkpoints",
    )?;
    let repo = match &args.github_repo {
        Some(repo) => repo.clone(),
        None => var("GITHUB_REPOSITORY")
            .and_then(|name| name.parse().ok())
            .or_else(|| {
                repository
                    .and_then(|id| id.strip_prefix("github.com/"))
                    .and_then(|name| name.parse().ok())
            })
            .ok_or("no GitHub repository to read witnessed checkpoints from (--github-repo)")?,
    };
    let pull_request = args.pr.or_else(|| {
        var("GITHUB_EVENT_PATH")
            .and_then(driftlog::context::read_event_payload)
            .and_then(|event| pull_request_number(&event))
    });
    if pull_request.is_none() {
        eprintln!(
            "driftlog: no pull request (--pr), so only the drift issues of {repo} are read for \
             witnessed checkpoints"
        );
    }
    let api_url = match args.github_api_url.trim() {
        "" => "https://api.github.com",
        url => url,
    };
    let query = WitnessQuery {
        api_url,
        repo: &repo,
        pull_request,
        issue_label: &args.issue_label,
        retry: RetryPolicy::default(),
    };
    let seen = github::witnessed_checkpoints(&query, &token)
        .map_err(|err| format!("reading witnessed checkpoints failed: {err}"))?;
    let expected = repository.map(|repository| {
        checkpoint_origin(&LogId {
            repository: repository.to_owned(),
            branch: branch.to_owned(),
        })
    });
    let keys: Vec<[u8; 32]> = allowed
        .entries()
        .iter()
        .filter(|entry| !entry.is_cert_authority() && entry.permits_namespace(DRIFTLOG_NAMESPACE))
        .filter_map(|entry| entry.ed25519_key())
        .collect();
    let mut best: Option<Found> = None;
    let mut refused = 0;
    for witnessed in &seen {
        match check(&witnessed.line, expected.as_deref(), branch, &keys) {
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
                eprintln!(
                    "driftlog: the checkpoint in {} is not used: {reason}",
                    witnessed.place
                );
            }
        }
    }
    if best.is_none() {
        eprintln!(
            "driftlog: GitHub shows no checkpoint of this log signed by an allowed key ({} \
             found, {refused} refused in {repo})",
            seen.len()
        );
    }
    Ok(best)
}

/// The size of the checkpoint `line` when it is this log's and signed by one of `keys`.
fn check(
    line: &str,
    expected_origin: Option<&str>,
    branch: &str,
    keys: &[[u8; 32]],
) -> Result<u64, String> {
    let note = checkpoint_from_line(line).map_err(|err| err.to_string())?;
    let origin = note.split('\n').next().unwrap_or_default();
    let ours = match expected_origin {
        Some(expected) => origin.eq_ignore_ascii_case(expected),
        // Without this repository's identity, a log of the same branch name.
        None => origin.ends_with(&format!("/{branch}")),
    };
    if !ours {
        return Err(match expected_origin {
            Some(expected) => format!("it is the log {origin}, not {expected}"),
            None => format!("it is the log {origin}, not one of the branch {branch}"),
        });
    }
    let verifiers: Vec<NoteVerifier> = keys
        .iter()
        .filter_map(|key| NoteVerifier::new(origin, *key).ok())
        .collect();
    let opened = open_checkpoint(&note, &verifiers)
        .map_err(|_| "it is not signed by an allowed key".to_owned())?;
    Ok(opened.checkpoint.size)
}
