//! Recording on the audit branch and pushing it to the remote: one call, [`record_all`],
//! however many other jobs append at the same time, and without ever leaving a record only on
//! the runner.
//!
//! The sequence, under an exclusive lock on this repository's spool (so two runs in one clone
//! take turns):
//!
//! 1. The spool (`<git common dir>/driftlog/spool/<branch>/`, see [`super::spool`]) is read:
//!    only records this key signed there when they were made, and that its signed index
//!    lists, are pushed; anything else is set aside and reported. Then this call's records
//!    are written to it, signed, atomically. From then on every failure leaves them there or
//!    on the remote, and says which. The run keeps its records (and what it read) in memory:
//!    nothing written to the spool while it runs is ever signed by it.
//! 2. Without a remote, the spooled records are appended to the local branch and removed.
//! 3. With one, each attempt fetches the remote branch and its pending refs
//!    ([`super::pending`]), brings the local branch to the remote tip (fast-forward only),
//!    appends every other run's pending record not on the branch yet (checked, in the order
//!    they were made, each with its maker's signed entry beside it), then this run's, and
//!    pushes without force: one push for all of them. A push that lost a race (the server's
//!    status for the ref, the remote tip moved, or libgit2's own fast-forward check) is
//!    retried after a fully jittered exponential backoff until the deadline
//!    ([`RetryPolicy::deadline`]); the unpushed local commits are dropped and their records
//!    rebuilt on the new tip. The first lost race also pushes this run's records to a pending
//!    ref of their own, which never conflicts: from then on they are on the remote, and
//!    whichever writer pushes the branch next takes them along. When the deadline passes they
//!    stay there and the call succeeds, saying so. The pending refs a push folded are deleted
//!    after it.
//! 4. Only a remote that cannot be reached at all (or a stop request before the records
//!    reached it) leaves them in the spool, and the call fails; the next run writes the spool
//!    first. A refusal that is not a race (a hook, branch protection) fails the call too,
//!    with the records on a pending ref when the remote took that.
//! 5. Before each branch push the spool notes which commit carries which spooled record
//!    (`inflight.json`), so a push whose answer was lost (the connection dropped after the
//!    server took it) is recognised by the next fetch, in this run or the next, instead of
//!    being appended twice. A pending entry is recognised on the branch by its own bytes.
//!
//! Local commits of the branch that the remote lacks and that are not records of this call
//! (a log kept before the remote existed, say) are pushed along when this run's key signed
//! them and they fast-forward the remote, and otherwise stop the call: they are never
//! discarded, and nothing the key did not sign (a provider can write the repository) reaches
//! the remote branch, which is never rewritten.
//!
//! Remotes given as a path or `file://` URL are pushed by libgit2 in-process: that transport
//! runs no hooks and replaces the ref without checking its old value, so concurrent writers
//! through a local path can overwrite each other. Real servers (`git-receive-pack` over SSH,
//! HTTPS or `git://`) update the ref atomically.

use std::fmt;
use std::io;
use std::path::PathBuf;
use std::sync::OnceLock;
use std::time::{Duration, SystemTime};

use git2::{ErrorCode, Repository};
use ring::rand::{SecureRandom, SystemRandom};

use super::record::{ChainPosition, Record};
use super::spool::{Entry, Spool};
use super::sshsig::SigningKey;
use super::store::{Appended, AuditStore, Committer, StoreError};

mod fold;
mod session;
pub(crate) mod transport;

pub use fold::{FOLD_CLOCK_SLACK_SECONDS, MAX_FOLD_BYTES, MAX_FOLD_LOOKBACK};
pub use session::FOLD_PATIENCE;

/// The remote used when none is named, if the repository has it.
pub const DEFAULT_REMOTE: &str = "origin";
pub use super::spool::SPOOL_DIR;
/// How long a fetch or push may go without a sign of life from the remote (any data, any
/// progress) before it is abandoned, the records left in the spool.
pub const DEFAULT_TRANSPORT_TIMEOUT: Duration = Duration::from_secs(60);
/// The environment variable that overrides [`DEFAULT_TRANSPORT_TIMEOUT`] (`90s`, `2m`, or
/// seconds).
pub const TRANSPORT_TIMEOUT_ENV: &str = "DRIFTLOG_GIT_TIMEOUT";
/// How much longer than the silence limit libgit2's own socket timeouts are.
pub const LIBGIT2_TIMEOUT_MARGIN: Duration = Duration::from_secs(5);
/// How long a call keeps trying to put its records on the branch before it leaves them on a
/// pending ref of their own.
pub const DEFAULT_DEADLINE: Duration = Duration::from_secs(180);
/// The environment variable that overrides [`DEFAULT_DEADLINE`] (`90s`, `5m`, or seconds).
pub const DEADLINE_ENV: &str = "DRIFTLOG_AUDIT_DEADLINE";

/// The silence limit of fetches and pushes: [`TRANSPORT_TIMEOUT_ENV`], else
/// [`DEFAULT_TRANSPORT_TIMEOUT`]. Read once per process.
pub fn transport_timeout() -> Duration {
    static TIMEOUT: OnceLock<Duration> = OnceLock::new();
    *TIMEOUT.get_or_init(|| {
        std::env::var(TRANSPORT_TIMEOUT_ENV)
            .ok()
            .and_then(|text| parse_duration(&text))
            .unwrap_or(DEFAULT_TRANSPORT_TIMEOUT)
    })
}

/// `--audit-deadline`: [`parse_duration`], or what to write instead.
pub fn parse_deadline(text: &str) -> Result<Duration, String> {
    parse_duration(text)
        .ok_or_else(|| format!("{text:?} is not a duration (`90s`, `5m`, or seconds)"))
}

/// `90s`, `2m`, `500ms` (humantime), or a number of seconds; `None` for anything else or zero.
pub fn parse_duration(text: &str) -> Option<Duration> {
    let text = text.trim();
    text.parse::<u64>()
        .map(Duration::from_secs)
        .ok()
        .or_else(|| humantime::parse_duration(text).ok())
        .filter(|d| !d.is_zero())
}

/// How long to try for the branch: [`DEADLINE_ENV`], else [`DEFAULT_DEADLINE`]. Read once per
/// process.
pub fn deadline() -> Duration {
    static DEADLINE: OnceLock<Duration> = OnceLock::new();
    *DEADLINE.get_or_init(|| {
        std::env::var(DEADLINE_ENV)
            .ok()
            .and_then(|text| parse_duration(&text))
            .unwrap_or(DEFAULT_DEADLINE)
    })
}

/// Gives libgit2's own sockets (`git://`, HTTP) a little more than the [`transport_timeout`]
/// to connect and to wait for each read, so a transport thread abandoned on silence ends too
/// (and the silence limit, with its clearer message, usually comes first). Call it once,
/// before any thread uses git.
pub fn configure_transport_timeouts() {
    let limit = transport_timeout().saturating_add(LIBGIT2_TIMEOUT_MARGIN);
    let millis = libc::c_int::try_from(limit.as_millis()).unwrap_or(libc::c_int::MAX);
    // SAFETY: these set two integers in libgit2's global options; called before other threads
    // use libgit2, as the functions require. Failing only leaves libgit2's defaults.
    unsafe {
        let _ = git2::opts::set_server_connect_timeout_in_milliseconds(millis);
        let _ = git2::opts::set_server_timeout_in_milliseconds(millis);
    }
}

/// Which remote to push to.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum RemoteChoice {
    /// [`DEFAULT_REMOTE`] if the repository has it, else local only.
    #[default]
    Default,
    /// This remote; an error if the repository lacks it.
    Named(String),
    /// Never push.
    LocalOnly,
}

/// How patiently a push that lost a race (or met a network error) is retried.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// How long to keep trying for the branch (at least one attempt is made); then this run's
    /// records stay on a pending ref.
    pub deadline: Duration,
    /// The backoff ceiling before the first retry; it doubles with each retry.
    pub base: Duration,
    /// The largest backoff ceiling.
    pub cap: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            deadline: deadline(),
            base: Duration::from_millis(200),
            cap: Duration::from_secs(5),
        }
    }
}

impl RetryPolicy {
    /// "Full jitter": uniform in `[0, min(cap, base * 2^(retry-1))]`, so writers that collided
    /// spread out instead of colliding again in lockstep.
    fn delay(&self, retry: u32, random: &SystemRandom) -> Duration {
        let factor = 2u32.saturating_pow(retry.saturating_sub(1));
        let ceiling = self.base.saturating_mul(factor).min(self.cap);
        let ceiling_nanos = u64::try_from(ceiling.as_nanos()).unwrap_or(u64::MAX);
        let mut bytes = [0u8; 8];
        if ceiling_nanos == 0 || random.fill(&mut bytes).is_err() {
            return ceiling;
        }
        Duration::from_nanos(u64::from_le_bytes(bytes) % ceiling_nanos.saturating_add(1))
    }
}

/// Credentials for the remote beyond what git's configuration provides.
#[derive(Clone, Default)]
pub struct Auth {
    github_token: Option<String>,
    /// The token is offered only to URLs under this one, so it cannot leak to another host.
    token_scope: String,
}

impl fmt::Debug for Auth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Auth")
            .field(
                "github_token",
                &self.github_token.as_ref().map(|_| "<redacted>"),
            )
            .field("token_scope", &self.token_scope)
            .finish()
    }
}

impl Auth {
    /// Only what git's configuration provides: credential helpers, `http.<url>.extraheader`,
    /// the SSH agent.
    pub fn none() -> Auth {
        Auth::default()
    }

    /// A GitHub token, sent as HTTP basic auth (`x-access-token`) to URLs under `server_url`.
    pub fn github_token(token: impl Into<String>, server_url: &str) -> Auth {
        Auth {
            github_token: Some(token.into()),
            token_scope: format!("{}/", server_url.trim_end_matches('/')),
        }
    }

    fn token_for(&self, url: &str) -> Option<&str> {
        let token = self.github_token.as_deref()?;
        transport::url_matches(&self.token_scope, url).then_some(token)
    }
}

/// Where and how to record.
#[derive(Debug, Clone)]
pub struct SyncOptions {
    pub remote: RemoteChoice,
    pub policy: RetryPolicy,
    pub auth: Auth,
    /// How long a fetch or push may hear nothing from the remote (default:
    /// [`transport_timeout`]).
    pub transport_timeout: Duration,
    /// This run's pending ref's last component, unique per run, job and attempt
    /// ([`super::pending::label`]).
    pub pending_label: String,
}

impl Default for SyncOptions {
    fn default() -> Self {
        SyncOptions {
            remote: RemoteChoice::default(),
            policy: RetryPolicy::default(),
            auth: Auth::default(),
            transport_timeout: transport_timeout(),
            pending_label: super::pending::label(&["local"]),
        }
    }
}

/// Where a record that reached the branch came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// The record of this scan.
    ThisScan,
    /// A record an earlier run could not push.
    Spool,
    /// A commit that was on the local branch only (pushed along, fast-forward).
    LocalBranch,
    /// Another run's record, folded from its pending ref.
    Pending,
}

/// One record that reached the remote (or the local branch, when there is no remote).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Landed {
    pub seq: u64,
    pub record_sha256: String,
    pub commit: String,
    pub source: Source,
}

/// Where one of this call's records ended up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Placement {
    /// On the branch (the remote's, or the local one when there is no remote).
    Branch(Appended),
    /// On the remote, in this pending ref; the next writer folds it into the branch, beside
    /// the entry whose git blob id is `entry` ([`find_folded`] finds it there).
    Pending { remote_ref: String, entry: String },
}

/// What [`record_all`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    /// The remote pushed to, as `name (url)` without credentials; `None` when local only.
    pub remote: Option<String>,
    /// Every record this call put on the branch, oldest first: spooled ones, other runs'
    /// pending ones it folded, its own.
    pub records: Vec<Landed>,
    /// Where each of this call's records is, in the order they were given.
    pub placed: Vec<Placement>,
    /// The pending ref holding this call's records that did not reach the branch in time.
    pub pending_ref: Option<String>,
    /// Pushes made: to the branch, to the pending ref, deleting folded pending refs.
    pub pushes: u32,
    /// Attempts retried after losing a race or meeting a network error.
    pub retries: u32,
    /// Things the caller should show: records set aside, local commits pushed along,
    /// records left on a pending ref and why.
    pub warnings: Vec<String>,
}

impl Outcome {
    pub fn is_local_only(&self) -> bool {
        self.remote.is_none()
    }

    /// Records an earlier run had left in the spool that this one landed.
    pub fn from_spool(&self) -> usize {
        self.count(Source::Spool)
    }

    /// Other runs' pending records this call folded into the branch.
    pub fn folded(&self) -> usize {
        self.count(Source::Pending)
    }

    fn count(&self, source: Source) -> usize {
        self.records.iter().filter(|r| r.source == source).count()
    }

    /// The last of this call's records that is on the branch, with the checkpoint there.
    pub fn head(&self) -> Option<&Appended> {
        self.placed.iter().rev().find_map(|placed| match placed {
            Placement::Branch(appended) => Some(appended),
            Placement::Pending { .. } => None,
        })
    }

    pub fn checkpoint_line(&self) -> Option<&str> {
        self.head().map(|head| head.checkpoint_line.as_str())
    }
}

/// Why records did not reach the remote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PushFailure {
    /// The remote refused the update for a reason other than a race (a hook, branch
    /// protection): the ref's status message and what the server printed.
    Rejected { remote: String, reason: String },
    /// Other writers appended first until the deadline.
    Contended {
        remote: String,
        waited_seconds: u64,
        last: String,
    },
    /// The remote could not be reached or refused the credentials.
    Transport {
        remote: String,
        operation: &'static str,
        message: String,
    },
    /// The local branch holds commits the remote lacks that are not spooled records, and the
    /// remote moved on: pushing them would need a force push, dropping them would lose them.
    Diverged { remote: String, local_only: usize },
    /// The local branch holds commits the remote lacks that this run's key did not sign
    /// (written by something else that can write the repository): never pushed, since the
    /// remote branch is never rewritten.
    Unsigned {
        remote: String,
        branch: String,
        unsigned: usize,
    },
    /// A worktree has the audit branch checked out, so it is not moved.
    CheckedOut { branch: String, worktree: PathBuf },
    /// Writing the local repository failed.
    Local { message: String },
    /// driftlog was stopped (a signal) before the records reached the remote.
    Interrupted { remote: String },
    /// The remote refused the branch for a reason other than a race, and took this run's
    /// records on a pending ref instead.
    RefusedPending {
        refusal: Box<PushFailure>,
        pending_ref: String,
    },
}

impl fmt::Display for PushFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PushFailure::Rejected { remote, reason } => {
                write!(f, "{remote} rejected the audit branch: {reason}")
            }
            PushFailure::Contended {
                remote,
                waited_seconds,
                last,
            } => write!(
                f,
                "other writers kept appending to the audit branch on {remote} first for {} \
                 (set {DEADLINE_ENV} to wait longer; last: {last})",
                humantime::format_duration(Duration::from_secs(*waited_seconds))
            ),
            PushFailure::Transport {
                remote,
                operation,
                message,
            } => write!(f, "{operation} {remote} failed: {message}"),
            PushFailure::Diverged { remote, local_only } => write!(
                f,
                "the local audit branch has {local_only} commit(s) that {remote} lacks and that \
                 are not driftlog's unpushed records, and {remote} has moved on; push or drop \
                 them by hand (driftlog never force-pushes)"
            ),
            PushFailure::Unsigned {
                remote,
                branch,
                unsigned,
            } => write!(
                f,
                "the local audit branch has {unsigned} commit(s) that {remote} lacks and that \
                 this run's key did not sign (something else that can write this repository \
                 made them); driftlog pushes none of them: inspect them with `git log \
                 refs/heads/{branch}`, then drop them (`git fetch`, then `git update-ref \
                 refs/heads/{branch} <the remote's tip>`) or push them by hand"
            ),
            PushFailure::CheckedOut { branch, worktree } => write!(
                f,
                "{}",
                StoreError::CheckedOut {
                    branch: branch.clone(),
                    worktree: worktree.clone(),
                }
            ),
            PushFailure::Local { message } => write!(f, "writing the audit branch: {message}"),
            PushFailure::Interrupted { remote } => write!(
                f,
                "driftlog was stopped ({}) before the audit branch reached {remote}",
                crate::interrupt::received().unwrap_or("on request")
            ),
            PushFailure::RefusedPending {
                refusal,
                pending_ref,
            } => write!(
                f,
                "{refusal}; this run's audit record(s) wait on the remote in the pending ref \
                 {pending_ref} until a push to the branch is allowed (a writer that may push \
                 folds them)"
            ),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum SyncError {
    #[error("there is no git remote named {name:?} to push the audit branch to")]
    NoSuchRemote { name: String },
    #[error(
        "the audit branch {branch} is checked out in {}; driftlog writes it without a working \
         tree, so check out another branch there",
        worktree.display()
    )]
    CheckedOut { branch: String, worktree: PathBuf },
    #[error("git: {0}")]
    Git(#[from] git2::Error),
    /// The record could not be spooled, so nothing was written.
    #[error("writing the audit spool {}: {source}", path.display())]
    Spool { path: PathBuf, source: io::Error },
    #[error("{}", not_pushed(failure, *spooled, spool))]
    NotPushed {
        failure: PushFailure,
        spooled: usize,
        spool: PathBuf,
        warnings: Vec<String>,
    },
}

/// Where the branch of `store` holds the folded copies of the pending entries `entries`
/// (git blob ids, as [`Placement::Pending`] names them), searching back from its tip at most
/// [`MAX_FOLD_LOOKBACK`] commits: for each, the record and the checkpoint there, or `None`.
pub fn find_folded(store: &AuditStore, entries: &[&str]) -> Vec<Option<Appended>> {
    let repo = store.repository();
    let tip = repo.refname_to_id(&store.refname()).ok();
    let mut index = fold::FoldedIndex::default();
    index.walk(repo, tip, i64::MIN);
    entries
        .iter()
        .map(|entry| {
            let blob = git2::Oid::from_str(entry).ok()?;
            let at = index.find(blob)?;
            store.appended_at(at.commit).ok()
        })
        .collect()
}

/// Why records did not land, and where they wait.
fn not_pushed(failure: &PushFailure, spooled: usize, spool: &std::path::Path) -> String {
    match failure {
        PushFailure::RefusedPending { .. } if spooled == 0 => failure.to_string(),
        _ => format!(
            "{failure}; {spooled} audit record(s), this run's included, wait in the spool {} \
             and are written first by the next run",
            spool.display()
        ),
    }
}

/// Records one scan or apply: [`record_all`] of the record `build` makes.
pub fn record(
    store: &AuditStore,
    build: &dyn Fn(ChainPosition) -> Record,
    key: &SigningKey,
    committer: &Committer,
    options: &SyncOptions,
) -> Result<Outcome, SyncError> {
    record_all(store, &[build], key, committer, options)
}

/// Folds what waits: the spool's records and other runs' pending refs, with no record of
/// its own (the final job of a matrix, `report merge`).
pub fn fold(
    store: &AuditStore,
    key: &SigningKey,
    committer: &Committer,
    options: &SyncOptions,
) -> Result<Outcome, SyncError> {
    record_all(store, &[], key, committer, options)
}

/// Appends the records `builds` make (their positions are replaced, so any position will
/// do) after every spooled one and every other run's pending record, signs them with `key`,
/// and pushes the branch of `store` to the remote `options.remote` in as few pushes as other
/// writers allow (see the module documentation).
///
/// On `Ok`, every record reached the remote: the branch (or the local branch, when there is
/// no remote), or, past the deadline, this run's pending ref (`Outcome::pending_ref`, with a
/// warning); the spool is empty. On [`SyncError::NotPushed`], this call's records and every
/// other unpushed one are in the spool, or, for a refusal, on the pending ref the error
/// names. Other errors happen before anything is written.
pub fn record_all(
    store: &AuditStore,
    builds: &[&dyn Fn(ChainPosition) -> Record],
    key: &SigningKey,
    committer: &Committer,
    options: &SyncOptions,
) -> Result<Outcome, SyncError> {
    let repo = store.repository();
    let refname = store.refname();
    let branch = store.branch().to_owned();
    if repo
        .find_reference("HEAD")
        .ok()
        .and_then(|head| head.symbolic_target().map(str::to_owned))
        .is_some_and(|target| target == refname)
    {
        return Err(SyncError::CheckedOut {
            branch,
            worktree: repo.workdir().unwrap_or(repo.path()).to_owned(),
        });
    }
    let remote = resolve_remote(repo, &options.remote)?;
    let spool = Spool::new(repo, &branch, key);
    let spool_error = |source| SyncError::Spool {
        path: spool.dir().to_owned(),
        source,
    };
    let _lock = spool.lock().map_err(spool_error)?;
    // What earlier runs left, checked before this run adds anything; files that appear later
    // are never read by this run.
    let (mut own, warnings) = spool.load().map_err(spool_error)?;
    let mut new_entries = Vec::with_capacity(builds.len());
    for build in builds {
        let record = build(ChainPosition::genesis());
        let name = spool.add(&record).map_err(spool_error)?;
        // This run pushes the record it holds, never what the spool file says by then.
        own.push(Entry {
            name: name.clone(),
            record,
        });
        new_entries.push(name);
    }

    // From here on the records are durable: every failure leaves them in the spool or on
    // the remote.
    let mut session = session::Session::new(
        store,
        repo,
        key,
        committer,
        options,
        &spool,
        own,
        new_entries,
        warnings,
    );
    let result = match remote {
        None => session.write_local(),
        Some(name) => session.push_remote(&name),
    };
    result.map_err(|failure| SyncError::NotPushed {
        failure,
        spooled: spool.count(),
        spool: spool.dir().to_owned(),
        warnings: std::mem::take(&mut session.warnings),
    })
}

fn resolve_remote(repo: &Repository, choice: &RemoteChoice) -> Result<Option<String>, SyncError> {
    let name = match choice {
        RemoteChoice::LocalOnly => return Ok(None),
        RemoteChoice::Default => DEFAULT_REMOTE,
        RemoteChoice::Named(name) => name.as_str(),
    };
    match repo.find_remote(name) {
        Ok(_) => Ok(Some(name.to_owned())),
        Err(err) if err.code() == ErrorCode::NotFound => match choice {
            RemoteChoice::Default => Ok(None),
            _ => Err(SyncError::NoSuchRemote {
                name: name.to_owned(),
            }),
        },
        Err(err) => Err(err.into()),
    }
}

fn unix_now() -> i64 {
    SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

#[cfg(test)]
mod tests;
