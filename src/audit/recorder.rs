//! Recording a scan: finds the repository that holds the stack, names the log and the
//! stack in it, and appends the scan's record to the audit branch.

use std::path::{Path, PathBuf};
use std::time::SystemTime;

use super::record::{LogId, Record, StackRef};
use super::sshsig::SigningKey;
use super::store::{AuditStore, Committer, StoreError};
use super::sync::{self, Auth, Outcome, RemoteChoice, SyncError, SyncOptions};
use crate::context::RunContext;
use crate::drift::ScanReport;

/// How and where to record.
pub struct AuditOptions {
    /// The repository to write to, or any directory inside it (default: the stack's).
    pub repo: Option<PathBuf>,
    pub branch: String,
    pub key: SigningKey,
    /// Where to push the branch (default: `origin` when the repository has it).
    pub remote: RemoteChoice,
}

#[derive(Debug, thiserror::Error)]
pub enum RecordError {
    #[error(
        "{0} is not inside a git repository, so the scan cannot be recorded; pass --audit-repo \
         PATH, or --no-audit to scan without recording"
    )]
    NotARepository(PathBuf),
    #[error("{0}, so the scan cannot be recorded")]
    Open(super::OpenRepositoryError),
    #[error("the repository at {0} has no working tree to place the stack in")]
    Bare(PathBuf),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Sync(#[from] SyncError),
}

/// Appends the record of `report` (a scan of `stack_dir`) to the audit branch and pushes
/// it, replaying records earlier runs could not push.
pub fn record_scan(
    report: &ScanReport,
    stack_dir: &Path,
    options: &AuditOptions,
) -> Result<Outcome, RecordError> {
    let start = options.repo.as_deref().unwrap_or(stack_dir);
    let repo = super::discover_repository(start).map_err(|err| match err {
        super::OpenRepositoryError::NotFound(path) => RecordError::NotARepository(path),
        other => RecordError::Open(other),
    })?;
    let workdir = repo
        .workdir()
        .ok_or_else(|| RecordError::Bare(repo.path().to_owned()))?
        .to_owned();
    let context = RunContext::detect(Some(&workdir));
    let log = LogId {
        repository: repository_id(&repo, &context),
        branch: options.branch.clone(),
    };
    let origin = checkpoint_origin(&log);
    let stack = StackRef {
        path: stack_path(&workdir, stack_dir),
        workspace: report.stack.workspace.clone(),
    };
    let committer = committer(&repo);
    drop(repo);

    let store = AuditStore::open(&workdir, &options.branch, &origin)?;
    let time = humantime::format_rfc3339_seconds(SystemTime::now()).to_string();
    let fingerprint = options.key.fingerprint();
    let build = |position| {
        Record::of_scan(
            report,
            stack.clone(),
            context.clone(),
            log.clone(),
            position,
            fingerprint.clone(),
            time.clone(),
        )
    };
    let sync_options = SyncOptions {
        remote: options.remote.clone(),
        auth: Auth::from_env(),
        ..SyncOptions::default()
    };
    Ok(sync::record(
        &store,
        &build,
        &options.key,
        &committer,
        &sync_options,
    )?)
}

/// The repository's stable name: `host/owner/name` on GitHub, else its `origin` remote's
/// URL without scheme or credentials, else its local path.
fn repository_id(repo: &git2::Repository, context: &RunContext) -> String {
    if let RunContext::GithubActions(actions) = context {
        if let Some(repository) = &actions.repository {
            let server = actions
                .server_url
                .as_deref()
                .unwrap_or("https://github.com");
            return format!(
                "{}/{repository}",
                strip_scheme(server).trim_end_matches('/')
            );
        }
    }
    if let Some(url) = repo
        .find_remote("origin")
        .ok()
        .and_then(|remote| remote.url().map(str::to_owned))
    {
        return strip_scheme(&url).trim_end_matches(".git").to_owned();
    }
    repo.workdir()
        .unwrap_or_else(|| repo.path())
        .display()
        .to_string()
        .trim_end_matches('/')
        .to_owned()
}

/// `https://user:token@host/x` -> `host/x`; `git@host:x` -> `host/x`.
fn strip_scheme(url: &str) -> String {
    let rest = url.split_once("://").map_or(url, |(_, rest)| rest);
    let rest = rest.rsplit_once('@').map_or(rest, |(_, host)| host);
    if url.contains("://") {
        rest.to_owned()
    } else {
        rest.replacen(':', "/", 1)
    }
}

/// The checkpoint origin (and note key name): one token, no spaces or `+`.
pub fn checkpoint_origin(log: &LogId) -> String {
    format!("{}/{}", log.repository, log.branch)
        .chars()
        .map(|c| {
            if c.is_whitespace() || c == '+' {
                '_'
            } else {
                c
            }
        })
        .collect()
}

/// The stack's path inside the repository (`.` for its root).
fn stack_path(workdir: &Path, stack_dir: &Path) -> String {
    let canonical = |p: &Path| std::fs::canonicalize(p).unwrap_or_else(|_| p.to_owned());
    let (workdir, stack_dir) = (canonical(workdir), canonical(stack_dir));
    match stack_dir.strip_prefix(&workdir) {
        Ok(relative) if relative.as_os_str().is_empty() => ".".to_owned(),
        Ok(relative) => relative.display().to_string(),
        Err(_) => stack_dir.display().to_string(),
    }
}

/// git's configured identity, else a recognisable default.
fn committer(repo: &git2::Repository) -> Committer {
    let config = repo.config().ok();
    let get = |key: &str| config.as_ref().and_then(|c| c.get_string(key).ok());
    Committer {
        name: get("user.name").unwrap_or_else(|| "driftlog".to_owned()),
        email: get("user.email").unwrap_or_else(|| "driftlog@localhost".to_owned()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_lose_scheme_and_credentials() {
        assert_eq!(
            strip_scheme("https://x-access-token:s3cret@github.com/acme/infra.git"),
            "github.com/acme/infra.git"
        );
        assert_eq!(
            strip_scheme("git@github.com:acme/infra.git"),
            "github.com/acme/infra.git"
        );
        assert_eq!(strip_scheme("file:///srv/git/infra"), "/srv/git/infra");
    }

    #[test]
    fn origins_are_one_token() {
        let log = LogId {
            repository: "host/a b+c".into(),
            branch: "driftlog/audit".into(),
        };
        assert_eq!(checkpoint_origin(&log), "host/a_b_c/driftlog/audit");
    }
}
