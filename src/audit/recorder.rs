//! Recording a run: finds the repository that holds the stack, names the log and the stack
//! in it, and appends the record of a scan or an apply to the audit branch.
//!
//! A scan is located and recorded in one call ([`record_scan`]). An apply or a remediation
//! changes infrastructure, so everything its record needs is checked first
//! ([`RecordTarget::locate`] and [`RecordTarget::check`], before terraform runs), and
//! [`record_apply`] or [`record_remediation`] then only writes.

use std::fmt;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use super::record::{AdoptionRecord, ChainPosition, LogId, Record, RecordBase, StackRef};
pub use super::record::{AppliedRun, RemediationRun};
use super::sshsig::SigningKey;
use super::store::{AuditStore, Committer, StoreError};
use super::sync::{self, Auth, Outcome, RemoteChoice, SyncError, SyncOptions};
use crate::context::RunContext;
use crate::drift::{Failure, ScanReport};

/// How and where to record.
pub struct AuditOptions {
    /// The repository to write to, or any directory inside it (default: the stack's).
    pub repo: Option<PathBuf>,
    pub branch: String,
    pub key: SigningKey,
    /// Where to push the branch (default: `origin` when the repository has it).
    pub remote: RemoteChoice,
    /// Credentials for the push beyond git's own configuration.
    pub auth: Auth,
    /// How long to try for the branch before leaving the records on a pending ref
    /// (default: [`sync::deadline`]).
    pub deadline: Option<std::time::Duration>,
}

impl AuditOptions {
    /// The push settings for a run in `context`: its pending ref is labelled by the run
    /// (GitHub's run id, attempt and job; random hex tells a matrix's jobs apart) so a reader
    /// can tell whose it is.
    fn sync_options(&self, context: &RunContext) -> SyncOptions {
        let label = match context {
            RunContext::GithubActions(actions) => super::pending::label(&[
                &format!("run-{}", actions.run_id.as_deref().unwrap_or("unknown")),
                actions.run_attempt.as_deref().unwrap_or("1"),
                &crate::context::github_job().unwrap_or_default(),
            ]),
            RunContext::Local(local) => {
                super::pending::label(&["local", local.host.as_deref().unwrap_or("")])
            }
        };
        let mut options = SyncOptions {
            remote: self.remote.clone(),
            auth: self.auth.clone(),
            pending_label: label,
            ..SyncOptions::default()
        };
        if let Some(deadline) = self.deadline {
            options.policy.deadline = deadline;
        }
        options
    }
}

/// What is being recorded, for messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Subject {
    Scan,
    Apply,
    Remediation,
    Adoption,
}

impl fmt::Display for Subject {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Subject::Scan => "scan",
            Subject::Apply => "apply",
            Subject::Remediation => "remediation",
            Subject::Adoption => "adoption",
        })
    }
}

#[derive(Debug, thiserror::Error)]
pub enum RecordError {
    #[error(
        "{} is not inside a git repository, so the {subject} cannot be recorded; pass \
         --audit-repo PATH, or --no-audit to {subject} without recording",
        path.display()
    )]
    NotARepository { path: PathBuf, subject: Subject },
    #[error("{source}, so the {subject} cannot be recorded")]
    Open {
        source: super::OpenRepositoryError,
        subject: Subject,
    },
    #[error("the repository at {0} has no working tree to place the stack in")]
    Bare(PathBuf),
    #[error("{0:?} is not a valid branch name for the audit log")]
    InvalidBranch(String),
    #[error(
        "the audit branch {branch} holds the log of {log}, but this repository is {repository}: \
         it was copied from another log, and nothing is appended to it. Delete the local branch \
         (git branch -D {branch}) to start this repository's own log, or record to another with \
         --audit-branch"
    )]
    ForeignLog {
        branch: String,
        log: String,
        repository: String,
    },
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Sync(#[from] SyncError),
}

/// Where the record of a stack goes: the repository, the log, and the stack's place in it,
/// with who and where the run happened.
#[derive(Debug, Clone)]
pub struct RecordTarget {
    workdir: PathBuf,
    context: RunContext,
    log: LogId,
    stack: StackRef,
    committer: Committer,
}

impl RecordTarget {
    /// Finds the repository holding `stack_dir` (or `options.repo`) and names the log and
    /// the stack (`workspace` of it) in it.
    pub fn locate(
        stack_dir: &Path,
        workspace: &str,
        options: &AuditOptions,
        subject: Subject,
    ) -> Result<RecordTarget, RecordError> {
        let start = options.repo.as_deref().unwrap_or(stack_dir);
        let repo = super::discover_repository(start).map_err(|err| match err {
            super::OpenRepositoryError::NotFound(path) => {
                RecordError::NotARepository { path, subject }
            }
            source => RecordError::Open { source, subject },
        })?;
        let workdir = repo
            .workdir()
            .ok_or_else(|| RecordError::Bare(repo.path().to_owned()))?
            .to_owned();
        let context = RunContext::detect(Some(&workdir));
        let identity = repository_identity(&repo, &context);
        let existing = AuditStore::open(&workdir, &options.branch, "")
            .and_then(|store| store.log_id())
            .unwrap_or(None);
        let repository = match (existing, identity) {
            (Some(log), Some(identity)) if !same_repository(&log.repository, &identity) => {
                return Err(RecordError::ForeignLog {
                    branch: options.branch.clone(),
                    log: log.repository,
                    repository: identity,
                })
            }
            // The id the first record fixed, wherever this clone lives.
            (Some(log), _) => log.repository,
            (None, Some(identity)) => identity,
            (None, None) => local_log_id(),
        };
        let log = LogId {
            repository,
            branch: options.branch.clone(),
        };
        let stack = StackRef {
            path: stack_path(&workdir, stack_dir),
            workspace: workspace.to_owned(),
            cloudformation: None,
        };
        Ok(RecordTarget {
            committer: committer(&repo),
            workdir,
            context,
            log,
            stack,
        })
    }

    /// Checks, without writing anything, what appending will need: a valid branch name,
    /// the branch not checked out, the remote to push to, a readable tip.
    /// Who commits the records (git's configured identity, else driftlog's).
    pub fn committer(&self) -> &Committer {
        &self.committer
    }

    pub fn check(&self, options: &AuditOptions) -> Result<(), RecordError> {
        let refname = format!("refs/heads/{}", options.branch);
        if !git2::Reference::is_valid_name(&refname) {
            return Err(RecordError::InvalidBranch(options.branch.clone()));
        }
        let store = self.store()?;
        let repo = store.repository();
        // In any worktree: an apply must not start if its record cannot be appended.
        if let Some(worktree) = store.checked_out_in()? {
            return Err(SyncError::CheckedOut {
                branch: options.branch.clone(),
                worktree,
            }
            .into());
        }
        if let RemoteChoice::Named(name) = &options.remote {
            if repo.find_remote(name).is_err() {
                return Err(SyncError::NoSuchRemote { name: name.clone() }.into());
            }
        }
        store.head()?;
        Ok(())
    }

    /// The stack as records name it.
    pub fn stack(&self) -> &StackRef {
        &self.stack
    }

    /// The log records go to.
    pub fn log(&self) -> &LogId {
        &self.log
    }

    fn store(&self) -> Result<AuditStore, RecordError> {
        Ok(AuditStore::open(
            &self.workdir,
            &self.log.branch,
            &checkpoint_origin(&self.log),
        )?)
    }

    /// Appends the record `build` makes from the common parts (stack, context, log,
    /// position, key fingerprint, time) and pushes it, replaying records earlier runs could
    /// not push.
    fn append(
        &self,
        options: &AuditOptions,
        build: &dyn Fn(Common, ChainPosition) -> Record,
    ) -> Result<Outcome, RecordError> {
        let store = self.store()?;
        let common = self.common(options);
        let build = |position| build(common.clone(), position);
        Ok(sync::record(
            &store,
            &build,
            &options.key,
            &self.committer,
            &options.sync_options(&self.context),
        )?)
    }

    fn common(&self, options: &AuditOptions) -> Common {
        Common {
            stack: self.stack.clone(),
            context: self.context.clone(),
            log: self.log.clone(),
            signing_key: options.key.fingerprint(),
            time: humantime::format_rfc3339_seconds(SystemTime::now()).to_string(),
        }
    }

    /// Whether `other` records to the same branch in the same repository (and so to the same
    /// log: a log not begun yet gets a random id per target, and the first one's is used).
    fn same_log(&self, other: &RecordTarget) -> bool {
        self.workdir == other.workdir && self.log.branch == other.log.branch
    }
}

/// What every record of one run shares.
type Common = RecordBase;

/// Appends the record of `report` (a scan of `stack_dir`) to the audit branch and pushes
/// it, replaying records earlier runs could not push.
pub fn record_scan(
    report: &ScanReport,
    stack_dir: &Path,
    options: &AuditOptions,
) -> Result<Outcome, RecordError> {
    let target = locate_scan(report, stack_dir, options)?;
    target.append(options, &|common, position| {
        scan_record(report, common, position)
    })
}

/// Where the record of `report`, a scan of `dir`, goes. A CloudFormation stack lives in no
/// directory: `dir` is where the run started (its repository keeps the log), and the stack's
/// key (`cloudformation/REGION/NAME`) is its path in the log.
fn locate_scan(
    report: &ScanReport,
    dir: &Path,
    options: &AuditOptions,
) -> Result<RecordTarget, RecordError> {
    let mut target = RecordTarget::locate(dir, &report.stack.workspace, options, Subject::Scan)?;
    if report.stack.cloudformation.is_some() {
        target.stack.path = report.stack.dir.clone();
    }
    Ok(target)
}

fn scan_record(report: &ScanReport, common: Common, position: ChainPosition) -> Record {
    Record::of_scan(
        report,
        common.stack,
        common.context,
        common.log,
        position,
        common.signing_key,
        common.time,
    )
}

/// The records of several scans, one push per log (stacks of one repository share it):
/// each group's indices into `scans` and what recording them did. A stack whose record
/// cannot even be located is a group of its own with the error.
pub fn record_scans(
    scans: &[(&ScanReport, &Path)],
    options: &AuditOptions,
) -> Vec<(Vec<usize>, Result<Outcome, RecordError>)> {
    let mut groups: Vec<(RecordTarget, Vec<(usize, RecordTarget)>)> = Vec::new();
    let mut results = Vec::new();
    for (index, (report, dir)) in scans.iter().enumerate() {
        match locate_scan(report, dir, options) {
            Ok(target) => match groups.iter_mut().find(|(first, _)| first.same_log(&target)) {
                Some((_, members)) => members.push((index, target)),
                None => groups.push((target.clone(), vec![(index, target)])),
            },
            Err(err) => results.push((vec![index], Err(err))),
        }
    }
    for (first, members) in groups {
        let indices: Vec<usize> = members.iter().map(|(index, _)| *index).collect();
        let builds: Vec<Box<dyn Fn(ChainPosition) -> Record + '_>> = members
            .iter()
            .map(|(index, target)| {
                let report = scans[*index].0;
                let common = Common {
                    log: first.log.clone(),
                    ..target.common(options)
                };
                Box::new(move |position| scan_record(report, common.clone(), position))
                    as Box<dyn Fn(ChainPosition) -> Record>
            })
            .collect();
        let builds: Vec<&dyn Fn(ChainPosition) -> Record> =
            builds.iter().map(|build| build.as_ref()).collect();
        let outcome = first.store().and_then(|store| {
            Ok(sync::record_all(
                &store,
                &builds,
                &options.key,
                &first.committer,
                &options.sync_options(&first.context),
            )?)
        });
        results.push((indices, outcome));
    }
    results
}

/// Where the audit branch of the repository holding `dir` (or `options.repo`) holds the
/// folded copies of these pending entries (git blob ids), as [`sync::find_folded`] says.
pub fn find_folded(
    dir: &Path,
    options: &AuditOptions,
    entries: &[&str],
) -> Result<Vec<Option<super::store::Appended>>, RecordError> {
    let target = RecordTarget::locate(dir, "default", options, Subject::Scan)?;
    Ok(sync::find_folded(&target.store()?, entries))
}

/// Folds what waits for the audit branch of the repository holding `dir` (or
/// `options.repo`): the spool, and other runs' pending refs on the remote. The final job of a
/// matrix runs it (`report merge`), so no shard's record waits for the next night.
pub fn fold(dir: &Path, options: &AuditOptions) -> Result<Outcome, RecordError> {
    let target = RecordTarget::locate(dir, "default", options, Subject::Scan)?;
    let store = target.store()?;
    Ok(sync::fold(
        &store,
        &options.key,
        &target.committer,
        &options.sync_options(&target.context),
    )?)
}

/// Appends the record of an apply to the audit branch of `target` (located and checked
/// before the apply ran) and pushes it, replaying records earlier runs could not push.
pub fn record_apply(
    target: &RecordTarget,
    applied: &AppliedRun,
    options: &AuditOptions,
) -> Result<Outcome, RecordError> {
    target.append(options, &|common, position| {
        Record::of_apply(
            applied,
            common.stack,
            common.context,
            common.log,
            position,
            common.signing_key,
            common.time,
        )
    })
}

/// Appends the record of a remediation to the audit branch of `target` (located and checked
/// before anything was applied) and pushes it, replaying records earlier runs could not push.
pub fn record_remediation(
    target: &RecordTarget,
    remediation: &RemediationRun,
    options: &AuditOptions,
) -> Result<Outcome, RecordError> {
    target.append(options, &|base, position| {
        Record::of_remediation(remediation, base, position)
    })
}

/// Appends the record of an adoption to the audit branch of `target` (located and checked
/// before anything was edited) and pushes it, replaying records earlier runs could not push.
pub fn record_adoption(
    target: &RecordTarget,
    adoption: &AdoptionRecord,
    failure: Option<Failure>,
    options: &AuditOptions,
) -> Result<Outcome, RecordError> {
    target.append(options, &|base, position| {
        Record::of_adoption(adoption, failure.clone(), base, position)
    })
}

/// This repository's identity, as a log names it: `host/owner/name` on GitHub, else its
/// `origin` remote's URL without scheme, credentials or `.git`; `None` for a repository with
/// neither (its log then keeps the random id its first record fixed).
pub fn repository_identity(repo: &git2::Repository, context: &RunContext) -> Option<String> {
    if let RunContext::GithubActions(actions) = context {
        if let Some(repository) = &actions.repository {
            let server = actions
                .server_url
                .as_deref()
                .unwrap_or("https://github.com");
            return Some(format!(
                "{}/{repository}",
                strip_scheme(server).trim_end_matches('/')
            ));
        }
    }
    repo.find_remote("origin")
        .ok()
        .and_then(|remote| remote.url().map(str::to_owned))
        .map(|url| strip_scheme(&url).trim_end_matches(".git").to_owned())
}

/// Whether two repository ids name one repository: without case (GitHub's owner and name
/// are case-insensitive), a trailing slash or `.git`.
pub fn same_repository(a: &str, b: &str) -> bool {
    let normal = |s: &str| {
        s.trim_end_matches('/')
            .trim_end_matches(".git")
            .to_ascii_lowercase()
    };
    normal(a) == normal(b)
}

/// The id of a log in a repository with no remote: random, so it names this log and no
/// other, and fixed by the first record so a moved clone keeps it.
fn local_log_id() -> String {
    use ring::rand::SecureRandom;
    let mut bytes = [0u8; 16];
    // An all-zero id on the (never seen) failure of the system RNG is still one log's id.
    let _ = ring::rand::SystemRandom::new().fill(&mut bytes);
    format!("local/{}", super::store::hex(&bytes))
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
/// The path of the stack at `stack_dir` as records name it: relative to the work tree.
pub fn stack_path(workdir: &Path, stack_dir: &Path) -> String {
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
    fn a_pending_ref_is_named_after_the_run_and_told_apart_from_its_siblings() {
        let options = AuditOptions {
            repo: None,
            branch: "driftlog/audit".into(),
            key: SigningKey::generate().expect("key"),
            remote: RemoteChoice::Default,
            auth: Auth::none(),
            deadline: Some(std::time::Duration::from_secs(7)),
        };
        let context = RunContext::GithubActions(crate::context::GithubActions {
            run_id: Some("123".into()),
            run_attempt: Some("2".into()),
            ..Default::default()
        });
        let first = options.sync_options(&context);
        let second = options.sync_options(&context);
        assert!(
            first.pending_label.starts_with("run-123.2."),
            "{}",
            first.pending_label
        );
        assert_ne!(
            first.pending_label, second.pending_label,
            "two jobs of a matrix"
        );
        assert_eq!(first.policy.deadline, std::time::Duration::from_secs(7));
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
