//! Who ran driftlog, and where: the facts an audit record and a report attribute a scan to.
//!
//! Inside GitHub Actions they come from the standard `GITHUB_*` variables and the event
//! payload; elsewhere from git's configured identity and the host name. Reading them is pure
//! given an environment, so tests pass a map instead of mutating the process environment.

use std::collections::HashMap;
use std::path::Path;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Where and by whom a run happened.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum RunContext {
    GithubActions(GithubActions),
    Local(Local),
}

/// The GitHub Actions run, as its environment describes it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct GithubActions {
    pub actor: Option<String>,
    pub repository: Option<String>,
    pub workflow: Option<String>,
    pub run_id: Option<String>,
    pub run_attempt: Option<String>,
    pub event: Option<String>,
    #[serde(rename = "ref")]
    pub git_ref: Option<String>,
    pub sha: Option<String>,
    pub pull_request: Option<u64>,
    pub server_url: Option<String>,
}

impl GithubActions {
    /// The run's page, when the environment names it.
    pub fn run_url(&self) -> Option<String> {
        let server = self.server_url.as_deref().unwrap_or("https://github.com");
        Some(format!(
            "{}/{}/actions/runs/{}",
            server.trim_end_matches('/'),
            self.repository.as_ref()?,
            self.run_id.as_ref()?
        ))
    }
}

/// A run by hand or in another CI system.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Local {
    pub user_name: Option<String>,
    pub user_email: Option<String>,
    pub host: Option<String>,
}

impl RunContext {
    /// The pull request the run checked, if any: its code is not the default branch's.
    pub fn pull_request(&self) -> Option<u64> {
        match self {
            RunContext::GithubActions(run) => run.pull_request,
            RunContext::Local(_) => None,
        }
    }

    /// The git ref the run was on, as GitHub Actions names it; `None` by hand.
    pub fn git_ref(&self) -> Option<&str> {
        match self {
            RunContext::GithubActions(run) => run.git_ref.as_deref(),
            RunContext::Local(_) => None,
        }
    }

    /// Who ran it, for a person: `alice via GitHub Actions (drift nightly) for PR #7`, or
    /// `Alice <alice@example.com> on build-3`.
    pub fn who(&self) -> String {
        match self {
            RunContext::GithubActions(actions) => {
                let actor = actions.actor.as_deref().unwrap_or("unknown actor");
                let mut text = format!("{actor} via GitHub Actions");
                if let Some(workflow) = &actions.workflow {
                    text.push_str(&format!(" ({workflow})"));
                }
                if let Some(number) = actions.pull_request {
                    text.push_str(&format!(" for PR #{number}"));
                }
                text
            }
            RunContext::Local(local) => {
                let mut text = local
                    .user_name
                    .clone()
                    .unwrap_or_else(|| "unknown user".to_owned());
                if let Some(email) = &local.user_email {
                    text.push_str(&format!(" <{email}>"));
                }
                if let Some(host) = &local.host {
                    text.push_str(&format!(" on {host}"));
                }
                text
            }
        }
    }

    /// The CI run: its URL when the environment names one, else its id.
    pub fn run(&self) -> Option<String> {
        match self {
            RunContext::GithubActions(actions) => {
                actions.run_url().or_else(|| actions.run_id.clone())
            }
            RunContext::Local(_) => None,
        }
    }

    /// Reads the context of this process.
    pub fn detect(repo: Option<&Path>) -> RunContext {
        let env: HashMap<String, String> = std::env::vars().collect();
        Self::from_env(&env, || local_identity(repo))
    }

    /// Reads the context from `env`; `local` is asked only outside GitHub Actions.
    pub fn from_env(env: &HashMap<String, String>, local: impl FnOnce() -> Local) -> RunContext {
        if env.get("GITHUB_ACTIONS").map(String::as_str) != Some("true") {
            return RunContext::Local(local());
        }
        let var = |name: &str| env.get(name).filter(|v| !v.is_empty()).cloned();
        let event_payload = var("GITHUB_EVENT_PATH").and_then(|path| read_event_payload(&path));
        RunContext::GithubActions(GithubActions {
            actor: var("GITHUB_ACTOR"),
            repository: var("GITHUB_REPOSITORY"),
            workflow: var("GITHUB_WORKFLOW"),
            run_id: var("GITHUB_RUN_ID"),
            run_attempt: var("GITHUB_RUN_ATTEMPT"),
            event: var("GITHUB_EVENT_NAME"),
            git_ref: var("GITHUB_REF"),
            sha: var("GITHUB_SHA"),
            pull_request: event_payload.as_deref().and_then(pull_request_number),
            server_url: var("GITHUB_SERVER_URL"),
        })
    }
}

/// The job of this GitHub Actions run (`GITHUB_JOB`, its id in the workflow), to name what it
/// leaves on the remote; `None` outside Actions. Not part of records, whose context is fixed.
pub fn github_job() -> Option<String> {
    (std::env::var("GITHUB_ACTIONS").ok().as_deref() == Some("true"))
        .then(|| std::env::var("GITHUB_JOB").ok())
        .flatten()
        .filter(|job| !job.is_empty())
}

/// GitHub caps webhook payloads at 25 MB; a larger event file is not GitHub's.
pub const MAX_EVENT_PAYLOAD_BYTES: u64 = 32 << 20;

/// The event payload the runner wrote to `GITHUB_EVENT_PATH`, if it is readable and no larger
/// than [`MAX_EVENT_PAYLOAD_BYTES`]; without one, a run has no pull request.
pub fn read_event_payload(path: impl AsRef<Path>) -> Option<Vec<u8>> {
    crate::bounded::read(path.as_ref(), MAX_EVENT_PAYLOAD_BYTES)
        .ok()
        .flatten()
}

/// The pull request an event is about: `pull_request.number` for pull_request events,
/// `issue.number` for comments on a pull request.
pub fn pull_request_number(event_payload: &[u8]) -> Option<u64> {
    let event: serde_json::Value = serde_json::from_slice(event_payload).ok()?;
    event["pull_request"]["number"].as_u64().or_else(|| {
        event["issue"]["pull_request"]
            .is_object()
            .then(|| event["issue"]["number"].as_u64())
            .flatten()
    })
}

/// The head commit of the pull request an event is about: the commit a status belongs to.
/// (`GITHUB_SHA` of a pull_request event is the temporary merge commit instead.)
pub fn pull_request_head_sha(event_payload: &[u8]) -> Option<String> {
    let event: serde_json::Value = serde_json::from_slice(event_payload).ok()?;
    event["pull_request"]["head"]["sha"]
        .as_str()
        .map(str::to_owned)
}

/// git's configured identity (the repository's config first) and this host's name.
fn local_identity(repo: Option<&Path>) -> Local {
    let config = repo
        .and_then(|path| git2::Repository::discover(path).ok())
        .and_then(|repo| repo.config().ok())
        .or_else(|| git2::Config::open_default().ok());
    let get = |key: &str| config.as_ref().and_then(|c| c.get_string(key).ok());
    Local {
        user_name: get("user.name"),
        user_email: get("user.email"),
        host: host_name(),
    }
}

fn host_name() -> Option<String> {
    let mut buffer = [0u8; 256];
    // SAFETY: the buffer is valid for its whole length; gethostname NUL-terminates within it
    // or reports an error.
    let status = unsafe { libc::gethostname(buffer.as_mut_ptr().cast(), buffer.len()) };
    if status != 0 {
        return None;
    }
    let end = buffer.iter().position(|b| *b == 0).unwrap_or(buffer.len());
    String::from_utf8(buffer[..end].to_vec())
        .ok()
        .filter(|h| !h.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn github_actions_context_comes_from_the_environment_and_event() {
        let dir = tempfile::tempdir().expect("temp dir");
        let event = dir.path().join("event.json");
        std::fs::write(
            &event,
            r#"{"action":"synchronize","pull_request":{"number":42}}"#,
        )
        .expect("write");
        let context = RunContext::from_env(
            &env(&[
                ("GITHUB_ACTIONS", "true"),
                ("GITHUB_ACTOR", "octocat"),
                ("GITHUB_REPOSITORY", "acme/infra"),
                ("GITHUB_WORKFLOW", "drift"),
                ("GITHUB_RUN_ID", "8813"),
                ("GITHUB_RUN_ATTEMPT", "2"),
                ("GITHUB_EVENT_NAME", "pull_request"),
                ("GITHUB_REF", "refs/pull/42/merge"),
                ("GITHUB_SHA", "abc123"),
                ("GITHUB_EVENT_PATH", event.to_str().expect("utf-8")),
                ("GITHUB_SERVER_URL", "https://ghe.example.com/"),
            ]),
            || panic!("not asked inside Actions"),
        );
        let RunContext::GithubActions(actions) = context else {
            panic!("expected an Actions context")
        };
        assert_eq!(actions.actor.as_deref(), Some("octocat"));
        assert_eq!(actions.pull_request, Some(42));
        assert_eq!(actions.run_attempt.as_deref(), Some("2"));
        assert_eq!(
            actions.run_url().as_deref(),
            Some("https://ghe.example.com/acme/infra/actions/runs/8813")
        );
    }

    #[test]
    fn an_event_file_larger_than_githubs_cap_is_not_read() {
        let dir = tempfile::tempdir().expect("temp dir");
        let event = dir.path().join("event.json");
        let mut payload = br#"{"pull_request":{"number":42}}"#.to_vec();
        assert!(read_event_payload(&event).is_none(), "missing");
        std::fs::write(&event, &payload).expect("write");
        assert_eq!(read_event_payload(&event), Some(payload.clone()));
        payload.resize(MAX_EVENT_PAYLOAD_BYTES as usize + 1, b' ');
        std::fs::write(&event, &payload).expect("write");
        assert!(read_event_payload(&event).is_none(), "oversized");
    }

    #[test]
    fn outside_actions_the_local_identity_is_used() {
        let local = Local {
            user_name: Some("Ada".into()),
            user_email: Some("ada@example.com".into()),
            host: Some("laptop".into()),
        };
        let context = RunContext::from_env(&env(&[("GITHUB_ACTIONS", "false")]), || local.clone());
        assert_eq!(context, RunContext::Local(local));
    }

    #[test]
    fn pull_request_numbers_come_from_pr_and_comment_events_only() {
        assert_eq!(
            pull_request_number(br#"{"pull_request":{"number":7}}"#),
            Some(7)
        );
        assert_eq!(
            pull_request_number(br#"{"issue":{"number":9,"pull_request":{"url":"x"}}}"#),
            Some(9)
        );
        assert_eq!(pull_request_number(br#"{"issue":{"number":9}}"#), None);
        assert_eq!(pull_request_number(b"not json"), None);
        assert_eq!(
            pull_request_head_sha(br#"{"pull_request":{"number":7,"head":{"sha":"abc"}}}"#)
                .as_deref(),
            Some("abc")
        );
        assert_eq!(pull_request_head_sha(br#"{"schedule":"0 3 * * *"}"#), None);
    }

    #[test]
    fn the_host_name_is_read() {
        assert!(host_name().is_some_and(|h| !h.is_empty()));
    }
}
