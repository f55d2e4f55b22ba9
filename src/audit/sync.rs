//! Recording a scan on the audit branch and pushing it to the remote: one call, [`record`],
//! however many other jobs append at the same time, and without ever losing a record.
//!
//! The sequence, under an exclusive lock on this repository's spool (so two runs in one clone
//! take turns):
//!
//! 1. The spool (`<git common dir>/driftlog/spool/<branch>/`, see [`super::spool`]) is read:
//!    only records this key signed there when they were made, and that its signed index
//!    lists, are pushed; anything else is set aside and reported. Then the new record is
//!    written to it, signed, atomically. From then on every failure leaves it there and says
//!    so; the next run writes the spool, oldest first, before its own record. The run keeps
//!    its own record (and what it read) in memory: nothing written to the spool while it runs
//!    is ever signed by it.
//! 2. Without a remote, the spooled records are appended to the local branch and removed.
//! 3. With one, each attempt fetches the remote branch, brings the local branch to it
//!    (fast-forward only), appends every spooled record on top (each rebuilt on the current
//!    tip: new `seq` and `prev`, signed again) and pushes without force. A push that lost a race
//!    (the server's status for the ref, the remote tip moved, or libgit2's own fast-forward
//!    check) is retried after a fully jittered exponential backoff; the unpushed local commits
//!    are dropped and their records rebuilt on the new tip. Any other rejection (a hook, branch
//!    protection) ends the call with the server's message; the records stay spooled.
//! 4. Before each push the spool notes which commit carries which spooled record
//!    (`inflight.json`, every push not yet confirmed), so a push whose answer was lost (the
//!    connection dropped after the server took it) is recognised by the next fetch, in this
//!    run or the next, instead of being appended twice.
//!
//! Local commits of the branch that the remote lacks and that are not spooled records (a log
//! kept before the remote existed, say) are pushed along when they fast-forward the remote,
//! and otherwise stop the call: they are never discarded.
//!
//! Remotes given as a path or `file://` URL are pushed by libgit2 in-process: that transport
//! runs no hooks and replaces the ref without checking its old value, so concurrent writers
//! through a local path can overwrite each other. Real servers (`git-receive-pack` over SSH,
//! HTTPS or `git://`) update the ref atomically.

use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::fmt;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::{mpsc, Arc, Mutex, OnceLock};
use std::time::{Duration, Instant, SystemTime};

use git2::{
    AutotagOption, Cred, CredentialType, ErrorClass, ErrorCode, FetchOptions, Oid, ProxyOptions,
    PushOptions, RemoteCallbacks, Repository, Sort,
};
use ring::rand::{SecureRandom, SystemRandom};

use super::record::{ChainPosition, Record};
use super::shallow::ShallowRoots;
use super::spool::{Entry, InFlight, InFlightEntry, Spool};
use super::sshsig::SigningKey;
use super::store::{self, Appended, AuditStore, Committer, StoreError, RECORDS_DIR};
use crate::secrets::scrub;

/// The remote used when none is named, if the repository has it.
pub const DEFAULT_REMOTE: &str = "origin";
pub use super::spool::SPOOL_DIR;
/// Private keys in `~/.ssh` offered when there is no SSH agent, in ssh's order.
const SSH_KEY_FILES: [&str; 3] = ["id_ed25519", "id_ecdsa", "id_rsa"];
/// The user name GitHub expects with a token over HTTPS.
const TOKEN_USER: &str = "x-access-token";
/// How long a fetch or push may go without a sign of life from the remote (any data, any
/// progress) before it is abandoned, the records left in the spool.
pub const DEFAULT_TRANSPORT_TIMEOUT: Duration = Duration::from_secs(60);
/// The environment variable that overrides [`DEFAULT_TRANSPORT_TIMEOUT`] (`90s`, `2m`, or
/// seconds).
pub const TRANSPORT_TIMEOUT_ENV: &str = "DRIFTLOG_GIT_TIMEOUT";
/// How much longer than the silence limit libgit2's own socket timeouts are.
pub const LIBGIT2_TIMEOUT_MARGIN: Duration = Duration::from_secs(5);
/// How often a wait on the remote looks for a stop request or the silence limit.
const TRANSPORT_POLL: Duration = Duration::from_millis(50);

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

/// `90s`, `2m`, `500ms` (humantime), or a number of seconds; `None` for anything else or zero.
pub fn parse_duration(text: &str) -> Option<Duration> {
    let text = text.trim();
    text.parse::<u64>()
        .map(Duration::from_secs)
        .ok()
        .or_else(|| humantime::parse_duration(text).ok())
        .filter(|d| !d.is_zero())
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

/// How often and how patiently a push that lost a race is retried.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Push attempts in all, the first included (at least one is made).
    pub max_attempts: u32,
    /// The backoff ceiling before the first retry; it doubles with each retry.
    pub base: Duration,
    /// The largest backoff ceiling.
    pub cap: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_attempts: 10,
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
        url_matches(&self.token_scope, url).then_some(token)
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
}

impl Default for SyncOptions {
    fn default() -> Self {
        SyncOptions {
            remote: RemoteChoice::default(),
            policy: RetryPolicy::default(),
            auth: Auth::default(),
            transport_timeout: transport_timeout(),
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
}

/// One record that reached the remote (or the local branch, when there is no remote).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Landed {
    pub seq: u64,
    pub record_sha256: String,
    pub commit: String,
    pub source: Source,
}

/// What [`record`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    /// The remote pushed to, as `name (url)` without credentials; `None` when local only.
    pub remote: Option<String>,
    /// Every record this call landed, oldest first; this scan's is last.
    pub records: Vec<Landed>,
    /// This scan's record and the checkpoint at it.
    pub head: Appended,
    /// Pushes retried after losing a race.
    pub retries: u32,
    /// Things the caller should show: records set aside, local commits pushed along.
    pub warnings: Vec<String>,
}

impl Outcome {
    pub fn is_local_only(&self) -> bool {
        self.remote.is_none()
    }

    /// Records an earlier run had left in the spool that this one landed.
    pub fn from_spool(&self) -> usize {
        self.records
            .iter()
            .filter(|r| r.source == Source::Spool)
            .count()
    }

    pub fn checkpoint_line(&self) -> &str {
        &self.head.checkpoint_line
    }
}

/// Why records did not reach the remote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PushFailure {
    /// The remote refused the update for a reason other than a race (a hook, branch
    /// protection): the ref's status message and what the server printed.
    Rejected { remote: String, reason: String },
    /// Other writers appended first through every attempt.
    Contended {
        remote: String,
        attempts: u32,
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
    /// A worktree has the audit branch checked out, so it is not moved.
    CheckedOut { branch: String, worktree: PathBuf },
    /// Writing the local repository failed.
    Local { message: String },
    /// driftlog was stopped (a signal) before the records reached the remote.
    Interrupted { remote: String },
}

impl fmt::Display for PushFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PushFailure::Rejected { remote, reason } => {
                write!(f, "{remote} rejected the audit branch: {reason}")
            }
            PushFailure::Contended {
                remote,
                attempts,
                last,
            } => write!(
                f,
                "other writers kept appending to the audit branch on {remote} first ({attempts} \
                 attempts; last: {last})"
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
    #[error(
        "{failure}; {spooled} audit record(s), this run's included, wait in the spool {} and \
         are written first by the next run",
        spool.display()
    )]
    NotPushed {
        failure: PushFailure,
        spooled: usize,
        spool: PathBuf,
        warnings: Vec<String>,
    },
}

/// Records a scan: appends the record `build` makes (its position is replaced, so any
/// position will do) after every spooled one, signs it with `key`, and pushes the branch of
/// `store` to the remote `options.remote` (see the module documentation).
///
/// On `Ok`, every record reached the remote (or the local branch, when there is none) and
/// the spool is empty. On [`SyncError::NotPushed`], this scan's record and every other
/// unpushed one are in the spool. Other errors happen before anything is written.
pub fn record(
    store: &AuditStore,
    build: &dyn Fn(ChainPosition) -> Record,
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
    let (mut pending, warnings) = spool.load().map_err(spool_error)?;
    let record = build(ChainPosition::genesis());
    let new_entry = spool.add(&record).map_err(spool_error)?;
    // This run pushes the record it holds, never what the spool file says by then.
    pending.push(Entry {
        name: new_entry.clone(),
        record,
    });

    // From here on the record is durable: every failure leaves it in the spool.
    let mut session = Session {
        store,
        repo,
        refname,
        key,
        committer,
        options,
        spool: &spool,
        new_entry,
        pending,
        warnings,
        secrets: Vec::new(),
        random: SystemRandom::new(),
    };
    let result = match remote {
        None => session.write_local(),
        Some(name) => session.push_remote(&name, &branch),
    };
    result.map_err(|failure| SyncError::NotPushed {
        failure,
        spooled: spool.count(),
        spool: spool.dir().to_owned(),
        warnings: session.warnings,
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

struct Session<'a> {
    store: &'a AuditStore,
    repo: &'a Repository,
    refname: String,
    key: &'a SigningKey,
    committer: &'a Committer,
    options: &'a SyncOptions,
    spool: &'a Spool<'a>,
    /// This scan's spool file.
    new_entry: String,
    /// Every record to push, oldest first, this scan's last: read and verified once, under
    /// the lock, before this scan's record was added.
    pending: Vec<Entry>,
    warnings: Vec<String>,
    /// Strings never to repeat in messages: the token, extra header values.
    secrets: Vec<String>,
    random: SystemRandom,
}

/// What a push sends: the local tip, and the commit carrying each pending record.
struct Prepared {
    tip: Oid,
    commits: Vec<Oid>,
}

/// How one push attempt ended, short of success.
enum Attempt {
    /// Another writer got there first; worth another try on the new tip.
    Race(String),
    /// The server refused for a reason of its own, unless the tip moved meanwhile.
    Rejected(String),
    /// The network failed; worth another try.
    Transient(PushFailure),
    Fatal(PushFailure),
}

impl Session<'_> {
    fn local(&self, err: impl fmt::Display) -> PushFailure {
        PushFailure::Local {
            message: err.to_string(),
        }
    }

    fn store_failure(&self, err: StoreError) -> PushFailure {
        match err {
            StoreError::CheckedOut { branch, worktree } => {
                PushFailure::CheckedOut { branch, worktree }
            }
            err => self.local(err),
        }
    }

    fn source_of(&self, entry: &str) -> Source {
        if entry == self.new_entry {
            Source::ThisScan
        } else {
            Source::Spool
        }
    }

    fn warn(&mut self, warning: String) {
        if !self.warnings.contains(&warning) {
            self.warnings.push(warning);
        }
    }

    /// Appends `record` at the local tip; retried when a writer outside driftlog's lock moved
    /// the branch in between.
    fn append(&self, record: &Record) -> Result<Appended, PushFailure> {
        let build = |position| record.rebased(position);
        let mut attempts = self.options.policy.max_attempts.max(1);
        loop {
            attempts -= 1;
            match self
                .store
                .append(&build, self.key, self.committer, unix_now())
            {
                Err(StoreError::Moved { .. }) if attempts > 0 => continue,
                result => return result.map_err(|e| self.store_failure(e)),
            }
        }
    }

    fn remove_entry(&mut self, name: &str) {
        match self.spool.remove(name) {
            Ok(None) => {}
            Ok(Some(warning)) => self.warn(warning),
            Err(err) => self.warn(format!(
                "the audit record {} was written but its spool file could not be removed \
                 ({err}); remove it by hand, or the next run may write it again",
                self.spool.path(name).display()
            )),
        }
    }

    /// No remote: the spool, this scan included, goes onto the local branch.
    fn write_local(&mut self) -> Result<Outcome, PushFailure> {
        let mut records = Vec::new();
        let mut head = None;
        for entry in std::mem::take(&mut self.pending) {
            let appended = self.append(&entry.record)?;
            self.remove_entry(&entry.name);
            records.push(Landed {
                seq: appended.seq,
                record_sha256: appended.record_sha256.clone(),
                commit: appended.commit.clone(),
                source: self.source_of(&entry.name),
            });
            if entry.name == self.new_entry {
                head = Some(appended);
            }
        }
        let head = head.ok_or_else(|| self.local("this run's record left the spool unwritten"))?;
        Ok(Outcome {
            remote: None,
            records,
            head,
            retries: 0,
            warnings: std::mem::take(&mut self.warnings),
        })
    }

    fn push_remote(&mut self, name: &str, branch: &str) -> Result<Outcome, PushFailure> {
        let link =
            Link::new(self.repo, name, branch, &self.options.auth).map_err(|e| self.local(e))?;
        self.secrets.extend(link.secrets.iter().cloned());
        let policy = self.options.policy;
        let attempts = policy.max_attempts.max(1);
        let mut pending = std::mem::take(&mut self.pending);
        let mut in_flight = self.spool.read_inflight();
        let mut landed: Vec<Landed> = Vec::new();
        let mut head: Option<Oid> = None;
        let mut fetched: Option<Option<Oid>> = None;
        let mut last: Option<PushFailure> = None;
        let mut retries = 0;
        for attempt in 0..attempts {
            if attempt > 0 {
                retries += 1;
                pause(policy.delay(attempt, &self.random));
            }
            if crate::interrupt::requested() {
                return Err(PushFailure::Interrupted {
                    remote: link.display.clone(),
                });
            }
            let tip = match fetched.take() {
                Some(tip) => tip,
                None => match link.fetch(self) {
                    Ok(tip) => tip,
                    Err(Attempt::Transient(failure)) => {
                        last = Some(failure);
                        continue;
                    }
                    Err(other) => return Err(self.final_failure(&link, other)),
                },
            };
            let unconfirmed = in_flight.len();
            in_flight.retain(|flight| {
                !self.resolve_in_flight(flight, tip, &mut pending, &mut landed, &mut head)
            });
            if in_flight.len() != unconfirmed {
                // A failure only means the next run resolves the same pushes again.
                let _ = self.spool.write_inflight(&in_flight);
            }
            if pending.is_empty() {
                // An earlier push whose answer was lost had landed everything.
                return self.success(&link, tip, landed, head, retries, (&[], &[]));
            }
            let prepared = self.prepare(&link, tip, &pending)?;
            let flight = InFlight {
                commit: prepared.tip.to_string(),
                entries: pending
                    .iter()
                    .zip(&prepared.commits)
                    .map(|(entry, commit)| InFlightEntry {
                        file: entry.name.clone(),
                        commit: commit.to_string(),
                    })
                    .collect(),
            };
            // Every unconfirmed push is kept: a slow server may still apply an older one.
            in_flight.push(flight);
            self.spool
                .write_inflight(&in_flight)
                .map_err(|e| self.local(format!("recording the push in the spool: {e}")))?;
            let outcome = match link.push(self) {
                Ok(()) => {
                    let records =
                        self.landed_between(tip, prepared.tip, landed, &pending, &prepared.commits);
                    return self.success(
                        &link,
                        Some(prepared.tip),
                        records,
                        head,
                        retries,
                        (&pending, &prepared.commits),
                    );
                }
                Err(outcome) => outcome,
            };
            let rejected = matches!(outcome, Attempt::Rejected(_));
            match outcome {
                Attempt::Transient(failure) => last = Some(failure),
                Attempt::Fatal(failure) => return Err(failure),
                Attempt::Race(reason) | Attempt::Rejected(reason) => {
                    let after = match link.fetch(self) {
                        Ok(after) => after,
                        Err(Attempt::Transient(failure)) => {
                            last = Some(failure);
                            continue;
                        }
                        Err(other) => return Err(self.final_failure(&link, other)),
                    };
                    if rejected && after == tip {
                        // Nobody else wrote: the refusal is about this push itself.
                        return Err(PushFailure::Rejected {
                            remote: link.display.clone(),
                            reason,
                        });
                    }
                    fetched = Some(after);
                    last = Some(PushFailure::Contended {
                        remote: link.display.clone(),
                        attempts,
                        last: reason,
                    });
                }
            }
        }
        Err(last.unwrap_or_else(|| self.local("no push was attempted")))
    }

    fn final_failure(&self, link: &Link, attempt: Attempt) -> PushFailure {
        match attempt {
            Attempt::Transient(failure) | Attempt::Fatal(failure) => failure,
            Attempt::Race(reason) | Attempt::Rejected(reason) => PushFailure::Rejected {
                remote: link.display.clone(),
                reason,
            },
        }
    }

    /// A push from an earlier attempt or run whose answer was lost: if the remote tip contains
    /// its commit, its records landed and leave the spool (and it returns true).
    fn resolve_in_flight(
        &mut self,
        flight: &InFlight,
        tip: Option<Oid>,
        pending: &mut Vec<Entry>,
        landed: &mut Vec<Landed>,
        head: &mut Option<Oid>,
    ) -> bool {
        let (Some(tip), Ok(commit)) = (tip, Oid::from_str(&flight.commit)) else {
            return false;
        };
        let contained =
            tip == commit || self.repo.graph_descendant_of(tip, commit).unwrap_or(false);
        if !contained {
            return false;
        }
        for entry in &flight.entries {
            let Ok(oid) = Oid::from_str(&entry.commit) else {
                continue;
            };
            // The content must match too: a stale note must never retire another record.
            let Some(found) = commit_record(self.repo, oid) else {
                continue;
            };
            let Some(index) = pending
                .iter()
                .position(|p| p.name == entry.file && same_record(&p.record, &found))
            else {
                // Resolved already, through another push that carried it.
                continue;
            };
            pending.remove(index);
            let source = self.source_of(&entry.file);
            if source == Source::ThisScan {
                *head = Some(oid);
            }
            landed.push(Landed {
                seq: found.seq,
                record_sha256: found.sha256,
                commit: oid.to_string(),
                source,
            });
            self.remove_entry(&entry.file);
        }
        true
    }

    /// Brings the local branch to the remote tip and appends every pending record on it.
    fn prepare(
        &mut self,
        link: &Link,
        remote_tip: Option<Oid>,
        pending: &[Entry],
    ) -> Result<Prepared, PushFailure> {
        let repo = self.repo;
        let git = |e: git2::Error| PushFailure::Local {
            message: e.to_string(),
        };
        let mut commits: Vec<Option<Oid>> = vec![None; pending.len()];
        let local = self.local_tip().map_err(git)?;
        match (local, remote_tip) {
            (None, None) => {}
            (None, Some(remote)) => self.move_local(None, remote)?,
            (Some(local), Some(remote)) if local == remote => {}
            (Some(local), Some(remote))
                if repo.graph_descendant_of(remote, local).map_err(git)? =>
            {
                self.move_local(Some(local), remote)?
            }
            (Some(local), _) => {
                let mut foreign = 0;
                for oid in commits_between(repo, remote_tip, local).map_err(git)? {
                    let found = commit_record(repo, oid);
                    let index = found.as_ref().and_then(|found| {
                        (0..pending.len()).find(|&i| {
                            commits[i].is_none() && same_record(&pending[i].record, found)
                        })
                    });
                    match index {
                        Some(i) => commits[i] = Some(oid),
                        None => foreign += 1,
                    }
                }
                let fast_forward = match remote_tip {
                    None => true,
                    Some(remote) => repo.graph_descendant_of(local, remote).map_err(git)?,
                };
                if fast_forward {
                    if foreign > 0 {
                        self.warn(format!(
                            "the local audit branch had {foreign} commit(s) that {} lacked; they \
                             are pushed along",
                            link.display
                        ));
                    }
                } else if foreign == 0 {
                    // Only our own unpushed records: drop the commits, rebuild the records.
                    commits.iter_mut().for_each(|c| *c = None);
                    if let Some(remote) = remote_tip {
                        self.move_local(Some(local), remote)?;
                    }
                } else {
                    return Err(PushFailure::Diverged {
                        remote: link.display.clone(),
                        local_only: foreign,
                    });
                }
            }
        }
        for (entry, commit) in pending.iter().zip(commits.iter_mut()) {
            if commit.is_none() {
                let appended = self.append(&entry.record)?;
                *commit = Some(Oid::from_str(&appended.commit).map_err(git)?);
            }
        }
        let tip = self
            .local_tip()
            .map_err(git)?
            .ok_or_else(|| self.local("the audit branch vanished"))?;
        Ok(Prepared {
            tip,
            commits: commits.into_iter().flatten().collect(),
        })
    }

    fn local_tip(&self) -> Result<Option<Oid>, git2::Error> {
        match self.repo.refname_to_id(&self.refname) {
            Ok(oid) => Ok(Some(oid)),
            Err(err) if err.code() == ErrorCode::NotFound => Ok(None),
            Err(err) => Err(err),
        }
    }

    /// Moves the local branch from `old` to `new`, only if it still points at `old`.
    fn move_local(&self, old: Option<Oid>, new: Oid) -> Result<(), PushFailure> {
        let message = "driftlog: sync with the remote";
        self.store
            .ensure_not_checked_out()
            .map_err(|e| self.store_failure(e))?;
        let result = match old {
            Some(old) => self
                .repo
                .reference_matching(&self.refname, new, true, old, message),
            None => self.repo.reference(&self.refname, new, false, message),
        };
        result.map(drop).map_err(|e| self.local(e))
    }

    /// Clears the spool of the pushed records (each paired with its commit); `tip` is what the
    /// remote now holds.
    fn success(
        &mut self,
        link: &Link,
        tip: Option<Oid>,
        mut landed: Vec<Landed>,
        head: Option<Oid>,
        retries: u32,
        (pending, commits): (&[Entry], &[Oid]),
    ) -> Result<Outcome, PushFailure> {
        if let Some(pushed) = tip {
            // What a fetch would have set; a failure only makes the next fetch do it.
            let _ = self.repo.reference(
                &link.tracking_ref,
                pushed,
                true,
                "driftlog: pushed the audit branch",
            );
        }
        let mut head = head;
        for (entry, commit) in pending.iter().zip(commits) {
            if entry.name == self.new_entry {
                head = Some(*commit);
            }
            self.remove_entry(&entry.name);
        }
        let _ = self.spool.clear_inflight();
        let head = head.ok_or_else(|| self.local("this run's record is on no commit"))?;
        let head = self.store.appended_at(head).map_err(|e| {
            self.local(format!(
                "the commit {head} does not hold a readable audit record: {e}"
            ))
        })?;
        landed.sort_by_key(|l| l.seq);
        Ok(Outcome {
            remote: Some(link.display.clone()),
            records: landed,
            head,
            retries,
            warnings: std::mem::take(&mut self.warnings),
        })
    }

    /// `earlier` plus every record commit from `base` (exclusive) to `tip`, oldest first.
    fn landed_between(
        &self,
        base: Option<Oid>,
        tip: Oid,
        mut earlier: Vec<Landed>,
        pending: &[Entry],
        commits: &[Oid],
    ) -> Vec<Landed> {
        let sources: HashMap<Oid, Source> = pending
            .iter()
            .zip(commits)
            .map(|(entry, commit)| (*commit, self.source_of(&entry.name)))
            .collect();
        for oid in commits_between(self.repo, base, tip).unwrap_or_default() {
            if let Some(found) = commit_record(self.repo, oid) {
                earlier.push(Landed {
                    seq: found.seq,
                    record_sha256: found.sha256,
                    commit: oid.to_string(),
                    source: sources.get(&oid).copied().unwrap_or(Source::LocalBranch),
                });
            }
        }
        earlier.sort_by_key(|l| l.seq);
        earlier.dedup_by(|a, b| a.commit == b.commit);
        earlier
    }

    /// `text` without URL credentials or any secret.
    fn scrub(&self, text: &str) -> String {
        scrub(text, &self.secrets)
    }
}

/// Commits reachable from `tip` but not from `base`, oldest first.
fn commits_between(
    repo: &Repository,
    base: Option<Oid>,
    tip: Oid,
) -> Result<Vec<Oid>, git2::Error> {
    let mut walk = repo.revwalk()?;
    walk.set_sorting(Sort::TOPOLOGICAL | Sort::REVERSE)?;
    walk.push(tip)?;
    if let Some(base) = base {
        walk.hide(base)?;
    }
    walk.collect()
}

/// The remote, its URL and the credentials for it.
struct Link<'r> {
    repo: &'r Repository,
    auth: &'r Auth,
    name: String,
    /// `name (url)`, without credentials.
    display: String,
    refspec_fetch: String,
    refspec_push: String,
    tracking_ref: String,
    fetch_headers: Vec<String>,
    push_headers: Vec<String>,
    secrets: Vec<String>,
}

impl<'r> Link<'r> {
    fn new(
        repo: &'r Repository,
        name: &str,
        branch: &str,
        auth: &'r Auth,
    ) -> Result<Self, git2::Error> {
        let remote = repo.find_remote(name)?;
        let url = remote.url().unwrap_or_default().to_owned();
        let push_url = remote.pushurl().map_or_else(|| url.clone(), str::to_owned);
        let config = repo.config()?.snapshot()?;
        let fetch_headers = extra_headers(&config, &url);
        let push_headers = extra_headers(&config, &push_url);
        let mut secrets: Vec<String> = fetch_headers
            .iter()
            .chain(&push_headers)
            .filter_map(|h| h.split_once(':').map(|(_, value)| value.trim().to_owned()))
            .flat_map(|value| {
                // "basic <base64>": the encoded part alone is the secret, too.
                let last = value.split_whitespace().last().map(str::to_owned);
                [Some(value), last]
            })
            .flatten()
            .collect();
        secrets.extend(auth.github_token.clone());
        secrets.extend(url_password(&url));
        secrets.extend(url_password(&push_url));
        let tracking_ref = format!("refs/remotes/{name}/{branch}");
        let remote_ref = format!("refs/heads/{branch}");
        Ok(Link {
            repo,
            auth,
            name: name.to_owned(),
            display: format!("{name} ({})", scrub(&url, &secrets)),
            refspec_fetch: format!("+{remote_ref}:{tracking_ref}"),
            refspec_push: format!("{remote_ref}:{remote_ref}"),
            tracking_ref,
            fetch_headers,
            push_headers,
            secrets,
        })
    }

    fn transport(&self, session: &Session, operation: &'static str, err: &git2::Error) -> Attempt {
        let failure = PushFailure::Transport {
            remote: self.display.clone(),
            operation,
            message: session.scrub(err.message()),
        };
        // A server that stopped answering is not retried: each try would wait as long again.
        let timed_out = err.code() == ErrorCode::Timeout || err.message().contains("timed out");
        let transient = matches!(err.class(), ErrorClass::Net | ErrorClass::Os)
            && err.code() != ErrorCode::Auth
            && !timed_out;
        if transient {
            Attempt::Transient(failure)
        } else {
            Attempt::Fatal(failure)
        }
    }

    /// Why a transport thread was abandoned, as the attempt's end.
    fn abandoned(&self, session: &Session, operation: &'static str, stalled: Stalled) -> Attempt {
        match stalled {
            Stalled::Git(err) => self.transport(session, operation, &err),
            Stalled::Interrupted => Attempt::Fatal(PushFailure::Interrupted {
                remote: self.display.clone(),
            }),
            Stalled::Silent(limit) => Attempt::Fatal(PushFailure::Transport {
                remote: self.display.clone(),
                operation,
                message: format!(
                    "the remote sent nothing for {} and was given up on (set \
                     {TRANSPORT_TIMEOUT_ENV} to wait longer)",
                    humantime::format_duration(limit)
                ),
            }),
        }
    }

    /// Runs `work` on a repository of its own on a thread of its own, so that a remote that
    /// never answers can be abandoned: on a stop request, or after `options.transport_timeout`
    /// without a sign of life (each callback is one). An abandoned thread ends with libgit2's
    /// own socket timeout, or with the process.
    fn on_transport_thread<T: Send + 'static>(
        &self,
        session: &Session,
        work: impl FnOnce(&Repository, &Auth, &Activity) -> Result<T, git2::Error> + Send + 'static,
    ) -> Result<T, Stalled> {
        if crate::interrupt::requested() {
            return Err(Stalled::Interrupted);
        }
        let limit = session.options.transport_timeout;
        let activity = Arc::new(Activity::new());
        let (sender, receiver) = mpsc::channel();
        let git_dir = self.repo.path().to_owned();
        let auth = self.auth.clone();
        let alive = Arc::clone(&activity);
        std::thread::Builder::new()
            .name("driftlog-git".into())
            .spawn(move || {
                let result = Repository::open(&git_dir).and_then(|repo| work(&repo, &auth, &alive));
                let _ = sender.send(result);
            })
            .map_err(|e| Stalled::Git(git2::Error::from_str(&e.to_string())))?;
        loop {
            match receiver.recv_timeout(TRANSPORT_POLL) {
                Ok(result) => return result.map_err(Stalled::Git),
                Err(mpsc::RecvTimeoutError::Timeout) => {}
                Err(mpsc::RecvTimeoutError::Disconnected) => {
                    return Err(Stalled::Git(git2::Error::from_str(
                        "the git transport ended without an answer",
                    )))
                }
            }
            if crate::interrupt::requested() {
                return Err(Stalled::Interrupted);
            }
            if activity.silent_for() >= limit {
                return Err(Stalled::Silent(limit));
            }
        }
    }

    /// Fetches the remote branch; its tip, or `None` when the remote has no such branch.
    fn fetch(&self, session: &Session) -> Result<Option<Oid>, Attempt> {
        let operation = "fetching from";
        // libgit2 rewrites `.git/shallow` after a fetch that downloads objects, and its local
        // transport reports no roots: the file would be deleted, corrupting a shallow clone.
        let keep_shallow = |e: io::Error| {
            Attempt::Fatal(session.local(format!("keeping the shallow clone's roots: {e}")))
        };
        let shallow = ShallowRoots::save(self.repo).map_err(keep_shallow)?;
        let name = self.name.clone();
        let refspec = self.refspec_fetch.clone();
        let headers = self.fetch_headers.clone();
        let fetched = self.on_transport_thread(session, move |repo, auth, activity| {
            let mut remote = repo.find_remote(&name)?;
            let config = repo.config()?;
            let tried = Tried::default();
            let headers: Vec<&str> = headers.iter().map(String::as_str).collect();
            let mut options = FetchOptions::new();
            options
                .remote_callbacks(callbacks(auth, &config, &tried, activity))
                .proxy_options(auto_proxy())
                .download_tags(AutotagOption::None)
                .update_fetchhead(false)
                // The refspec maintains the tracking ref, pruning it when the branch is gone.
                // (Not `Remote::list()`: git2 0.20 builds a slice from libgit2's null pointer
                // when the remote has no refs at all, which is undefined behaviour.)
                .prune(git2::FetchPrune::On)
                .custom_headers(&headers);
            remote.fetch(&[refspec.as_str()], Some(&mut options), None)
        });
        shallow.restore().map_err(keep_shallow)?;
        fetched.map_err(|stalled| self.abandoned(session, operation, stalled))?;
        match self.repo.refname_to_id(&self.tracking_ref) {
            Ok(tip) => Ok(Some(tip)),
            Err(e) if e.code() == git2::ErrorCode::NotFound => Ok(None),
            Err(e) => Err(Attempt::Fatal(session.local(e))),
        }
    }

    /// Pushes the local branch without force. libgit2 reports a server's refusal through the
    /// ref's status, not as an error, so both are checked.
    fn push(&self, session: &Session) -> Result<(), Attempt> {
        let operation = "pushing to";
        let name = self.name.clone();
        let refspec = self.refspec_push.clone();
        let headers = self.push_headers.clone();
        let answer = self
            .on_transport_thread(session, move |repo, auth, activity| {
                let mut remote = repo.find_remote(&name)?;
                let config = repo.config()?;
                let tried = Tried::default();
                let status: RefCell<Option<String>> = RefCell::new(None);
                let server_said: RefCell<String> = RefCell::new(String::new());
                let mut callbacks = callbacks(auth, &config, &tried, activity);
                callbacks.push_update_reference(|_refname, message| {
                    activity.touch();
                    if let Some(message) = message {
                        status.replace(Some(message.to_owned()));
                    }
                    Ok(())
                });
                callbacks.sideband_progress(|bytes| {
                    activity.touch();
                    let mut said = server_said.borrow_mut();
                    if said.len() < 4096 {
                        said.push_str(&String::from_utf8_lossy(bytes));
                    }
                    !crate::interrupt::requested()
                });
                let headers: Vec<&str> = headers.iter().map(String::as_str).collect();
                let mut options = PushOptions::new();
                options
                    .remote_callbacks(callbacks)
                    .proxy_options(auto_proxy())
                    .custom_headers(&headers);
                let result = remote.push(&[refspec.as_str()], Some(&mut options));
                drop(options);
                Ok(PushAnswer {
                    result,
                    status: status.into_inner(),
                    server_said: server_said.into_inner(),
                })
            })
            .map_err(|stalled| self.abandoned(session, operation, stalled))?;
        let status = answer.status;
        let server_said = server_messages(&answer.server_said);
        let reason = |status: &str| {
            let mut reason = session.scrub(status);
            if !server_said.is_empty() {
                reason.push_str(&format!(" (remote: {})", session.scrub(&server_said)));
            }
            reason
        };
        match (answer.result, status) {
            (Err(err), _) if err.code() == ErrorCode::NotFastForward => {
                Err(Attempt::Race(session.scrub(err.message())))
            }
            (Err(err), _) => Err(self.transport(session, operation, &err)),
            (Ok(()), Some(status)) if is_race(&status) => Err(Attempt::Race(reason(&status))),
            (Ok(()), Some(status)) => Err(Attempt::Rejected(reason(&status))),
            (Ok(()), None) => Ok(()),
        }
    }
}

/// What a push thread hands back.
struct PushAnswer {
    result: Result<(), git2::Error>,
    status: Option<String>,
    server_said: String,
}

/// Why a transport thread gave no answer.
enum Stalled {
    Git(git2::Error),
    Interrupted,
    /// Nothing from the remote for this long.
    Silent(Duration),
}

/// When the remote last showed a sign of life.
struct Activity {
    last: Mutex<Instant>,
}

impl Activity {
    fn new() -> Self {
        Activity {
            last: Mutex::new(Instant::now()),
        }
    }

    fn touch(&self) {
        *self.last.lock().unwrap_or_else(|p| p.into_inner()) = Instant::now();
    }

    fn silent_for(&self) -> Duration {
        self.last
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .elapsed()
    }
}

/// Sleeps `delay`, or less when a stop is requested meanwhile.
fn pause(delay: Duration) {
    let until = Instant::now() + delay;
    while !crate::interrupt::requested() {
        let left = until.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return;
        }
        std::thread::sleep(left.min(TRANSPORT_POLL));
    }
}

/// Credentials: the GitHub token for its server, then git's credential helpers, then the
/// SSH agent or the default key files; each offered once, so a refused credential ends the
/// attempt instead of looping. Every callback is a sign of life for `activity`, and progress
/// stops the transfer once a stop is requested.
fn callbacks<'a>(
    auth: &'a Auth,
    config: &'a git2::Config,
    tried: &'a Tried,
    activity: &'a Activity,
) -> RemoteCallbacks<'a> {
    let mut callbacks = RemoteCallbacks::new();
    callbacks.transfer_progress(|_| {
        activity.touch();
        !crate::interrupt::requested()
    });
    callbacks.sideband_progress(|_| {
        activity.touch();
        !crate::interrupt::requested()
    });
    callbacks.pack_progress(|_, _, _| activity.touch());
    callbacks.push_transfer_progress(|_, _, _| activity.touch());
    callbacks.push_negotiation(|_| {
        activity.touch();
        if crate::interrupt::requested() {
            return Err(git2::Error::from_str("driftlog was stopped"));
        }
        Ok(())
    });
    callbacks.credentials(move |url, username, allowed| {
        activity.touch();
        if allowed.contains(CredentialType::USER_PASS_PLAINTEXT) {
            if !tried.token.replace(true) {
                if let Some(token) = auth.token_for(url) {
                    return Cred::userpass_plaintext(TOKEN_USER, token);
                }
            }
            if !tried.helper.replace(true) {
                if let Ok(cred) = Cred::credential_helper(config, url, username) {
                    return Ok(cred);
                }
            }
        }
        if allowed.contains(CredentialType::SSH_KEY) {
            let user = username.unwrap_or("git");
            if !tried.ssh_agent.replace(true) && std::env::var_os("SSH_AUTH_SOCK").is_some() {
                return Cred::ssh_key_from_agent(user);
            }
            // Without an agent, the unencrypted default keys ssh itself would try.
            while let Some(name) = SSH_KEY_FILES.get(tried.ssh_files.get()) {
                tried.ssh_files.set(tried.ssh_files.get() + 1);
                let Some(home) = std::env::var_os("HOME") else {
                    break;
                };
                let path = Path::new(&home).join(".ssh").join(name);
                if path.is_file() {
                    return Cred::ssh_key(user, None, &path, None);
                }
            }
        }
        if allowed.contains(CredentialType::USERNAME) && !tried.username.replace(true) {
            return Cred::username(username.unwrap_or("git"));
        }
        if allowed.contains(CredentialType::DEFAULT) && !tried.default.replace(true) {
            return Cred::default();
        }
        Err(git2::Error::from_str(
            "no credentials were accepted (tried GITHUB_TOKEN, git credential helpers and the \
             SSH agent, as applicable)",
        ))
    });
    callbacks
}

/// Which kinds of credential were offered in one connection.
#[derive(Default)]
struct Tried {
    token: Cell<bool>,
    helper: Cell<bool>,
    ssh_agent: Cell<bool>,
    /// How many of [`SSH_KEY_FILES`] were looked at.
    ssh_files: Cell<usize>,
    username: Cell<bool>,
    default: Cell<bool>,
}

/// The proxy git would use (`http.proxy`, `https_proxy`, ...).
fn auto_proxy<'a>() -> ProxyOptions<'a> {
    let mut proxy = ProxyOptions::new();
    proxy.auto();
    proxy
}

/// Ref statuses that mean another writer updated the ref first.
fn is_race(status: &str) -> bool {
    let status = status.to_ascii_lowercase();
    [
        "non-fast-forward",
        "fetch first",
        "stale info",
        "failed to update ref",
        "cannot lock ref",
        "failed to lock",
        "incorrect old value",
    ]
    .iter()
    .any(|needle| status.contains(needle))
}

/// The server's side-band text without progress meters, on one line.
fn server_messages(text: &str) -> String {
    const PROGRESS: [&str; 5] = [
        "Resolving deltas",
        "Counting objects",
        "Compressing objects",
        "Writing objects",
        "Total ",
    ];
    text.split(['\n', '\r'])
        .map(str::trim)
        .filter(|line| !line.is_empty() && !PROGRESS.iter().any(|p| line.starts_with(p)))
        .take(10)
        .collect::<Vec<_>>()
        .join("; ")
}

/// The `http.<url>.extraheader` values git would send to `url`, in git's order (an empty
/// value clears those before it). actions/checkout leaves its token there, and libgit2 does
/// not read that setting itself.
fn extra_headers(config: &git2::Config, url: &str) -> Vec<String> {
    let Some(parts) = parse_url(url) else {
        return Vec::new();
    };
    if parts.scheme != "http" && parts.scheme != "https" {
        return Vec::new();
    }
    let mut found: Vec<(git2::ConfigLevel, String)> = Vec::new();
    if let Ok(mut entries) = config.entries(Some(r"^http\..*extraheader$")) {
        while let Some(Ok(entry)) = entries.next() {
            let (Some(name), Some(value)) = (entry.name(), entry.value()) else {
                continue;
            };
            let Some(scope) = name
                .strip_prefix("http.")
                .and_then(|rest| rest.strip_suffix("extraheader"))
            else {
                continue;
            };
            let scope = scope.strip_suffix('.').unwrap_or(scope);
            if scope.is_empty() || url_matches(scope, url) {
                found.push((entry.level(), value.to_owned()));
            }
        }
    }
    found.sort_by_key(|(level, _)| level_rank(*level));
    let mut headers: Vec<String> = Vec::new();
    for (_, value) in found {
        if value.is_empty() {
            headers.clear();
        } else if is_acceptable_header(&value) {
            headers.push(value);
        }
    }
    headers
}

fn level_rank(level: git2::ConfigLevel) -> u8 {
    use git2::ConfigLevel::*;
    match level {
        ProgramData => 0,
        System => 1,
        XDG => 2,
        Global => 3,
        Local => 4,
        Worktree => 5,
        App => 6,
        Highest => 7,
    }
}

/// libgit2 refuses headers it sets itself and malformed ones (and would quote the value).
fn is_acceptable_header(header: &str) -> bool {
    const OWN: [&str; 6] = [
        "user-agent",
        "host",
        "accept",
        "content-type",
        "transfer-encoding",
        "content-length",
    ];
    let Some((name, _)) = header.split_once(':') else {
        return false;
    };
    let name = name.trim();
    !name.is_empty()
        && !header.contains(['\r', '\n', '\0'])
        && !OWN.iter().any(|own| own.eq_ignore_ascii_case(name))
}

struct UrlParts<'a> {
    scheme: String,
    user: Option<&'a str>,
    host: String,
    path: &'a str,
}

fn parse_url(url: &str) -> Option<UrlParts<'_>> {
    let (scheme, rest) = url.split_once("://")?;
    let (authority, path) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, "/"),
    };
    let (userinfo, host) = match authority.rsplit_once('@') {
        Some((userinfo, host)) => (Some(userinfo), host),
        None => (None, authority),
    };
    Some(UrlParts {
        scheme: scheme.to_ascii_lowercase(),
        user: userinfo.map(|u| u.split_once(':').map_or(u, |(user, _)| user)),
        host: host.to_ascii_lowercase(),
        path,
    })
}

fn url_password(url: &str) -> Option<String> {
    let (_, rest) = url.split_once("://")?;
    let authority = rest.split('/').next()?;
    let (userinfo, _) = authority.rsplit_once('@')?;
    let (_, password) = userinfo.split_once(':')?;
    (!password.is_empty()).then(|| password.to_owned())
}

/// git's URL matching for `http.<url>.*`, simplified: same scheme, host and port, the same
/// user if the pattern names one, and a path prefix ending at a `/`.
fn url_matches(pattern: &str, url: &str) -> bool {
    let (Some(pattern), Some(url)) = (parse_url(pattern), parse_url(url)) else {
        return false;
    };
    let prefix = pattern.path.trim_end_matches('/');
    pattern.scheme == url.scheme
        && pattern.host == url.host
        && pattern.user.is_none_or(|user| Some(user) == url.user)
        && (prefix.is_empty()
            || url.path == prefix
            || url
                .path
                .strip_prefix(prefix)
                .is_some_and(|rest| rest.starts_with('/')))
}

fn unix_now() -> i64 {
    SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

/// The record a driftlog commit adds, as its message names it.
struct CommitRecord {
    seq: u64,
    sha256: String,
    bytes: Vec<u8>,
}

fn commit_record(repo: &Repository, oid: Oid) -> Option<CommitRecord> {
    let commit = repo.find_commit(oid).ok()?;
    let (seq, sha256) = store::message_record(commit.summary()?)?;
    let [a, b, file] = store::record_path(seq);
    let path: PathBuf = [RECORDS_DIR, &a, &b, &file].iter().collect();
    let bytes = blob_at(repo, &commit, &path)?;
    Some(CommitRecord {
        seq,
        sha256: sha256.to_owned(),
        bytes,
    })
}

fn blob_at(repo: &Repository, commit: &git2::Commit<'_>, path: &Path) -> Option<Vec<u8>> {
    let entry = commit.tree().ok()?.get_path(path).ok()?;
    Some(repo.find_blob(entry.id()).ok()?.content().to_vec())
}

/// Whether `found` is `record` placed at `found`'s position: the same bytes once `seq`,
/// `prev` and the time it joined the log match.
fn same_record(record: &Record, found: &CommitRecord) -> bool {
    let Ok(value) = serde_json::from_slice::<serde_json::Value>(&found.bytes) else {
        return false;
    };
    let Some(prev) = value.get("prev").and_then(serde_json::Value::as_str) else {
        return false;
    };
    let Some(time) = value.get("time").and_then(serde_json::Value::as_str) else {
        return false;
    };
    let position = ChainPosition {
        seq: found.seq,
        prev: prev.to_owned(),
    };
    // The store sets the time a record joins the log; the rest must be the same bytes.
    store::encode(&record.rebased(position).joined_at(time)).is_ok_and(|bytes| bytes == found.bytes)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;

    #[test]
    fn timeouts_read_as_humantime_or_seconds_and_never_zero() {
        assert_eq!(parse_duration("90s"), Some(Duration::from_secs(90)));
        assert_eq!(parse_duration(" 2m "), Some(Duration::from_secs(120)));
        assert_eq!(parse_duration("500ms"), Some(Duration::from_millis(500)));
        assert_eq!(parse_duration("45"), Some(Duration::from_secs(45)));
        for refused in ["0", "0s", "", "soon", "-5"] {
            assert_eq!(parse_duration(refused), None, "{refused:?}");
        }
    }

    #[test]
    fn backoff_stays_under_the_doubling_ceiling_and_the_cap() {
        let policy = RetryPolicy {
            max_attempts: 8,
            base: Duration::from_millis(200),
            cap: Duration::from_secs(5),
        };
        let random = SystemRandom::new();
        for retry in 1..=12 {
            let ceiling = Duration::from_millis(200 * 2u64.pow(retry - 1)).min(policy.cap);
            for _ in 0..50 {
                assert!(policy.delay(retry, &random) <= ceiling);
            }
        }
        let delays: Vec<_> = (0..50).map(|_| policy.delay(3, &random)).collect();
        assert!(
            delays.iter().any(|d| *d != delays[0]),
            "the delay is jittered"
        );
    }

    #[test]
    fn extra_headers_follow_gits_url_matching_and_reset() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("config");
        fs::write(
            &path,
            "[http \"https://github.com/\"]\n\textraheader = AUTHORIZATION: basic c2VjcmV0\n\
             [http \"https://github.com/other/\"]\n\textraheader = X-Other: 1\n\
             [http \"https://example.com\"]\n\textraheader = X-Example: 1\n\
             [http]\n\textraheader = X-All: 1\n\textraheader = Host: evil\n",
        )
        .expect("write config");
        let config = git2::Config::open(&path).expect("config");
        let headers = extra_headers(&config, "https://github.com/acme/infra.git");
        assert_eq!(headers, ["AUTHORIZATION: basic c2VjcmV0", "X-All: 1"]);
        assert!(extra_headers(&config, "git@github.com:acme/infra.git").is_empty());
        assert!(extra_headers(&config, "ssh://git@github.com/acme/infra.git").is_empty());
        assert_eq!(
            extra_headers(&config, "https://github.com/other/repo"),
            ["AUTHORIZATION: basic c2VjcmV0", "X-Other: 1", "X-All: 1"]
        );
        assert!(!url_matches(
            "https://github.com/acme",
            "https://github.com/acmeco/x"
        ));
        assert!(url_matches(
            "https://github.com/acme",
            "https://u:p@github.com/acme/x"
        ));
    }

    #[test]
    fn messages_lose_url_credentials_and_secrets() {
        let secrets = vec!["ghs_secret123".to_owned()];
        assert_eq!(
            scrub(
                "failed to push https://x-access-token:ghs_secret123@github.com/acme/infra: ghs_secret123",
                &secrets
            ),
            "failed to push https://github.com/acme/infra: ***"
        );
        assert_eq!(
            url_password("https://user:pw@host/x").as_deref(),
            Some("pw")
        );
    }

    #[test]
    fn the_token_goes_only_to_its_server() {
        let auth = Auth::github_token("tok", "https://github.com");
        assert_eq!(auth.token_for("https://github.com/acme/infra"), Some("tok"));
        assert_eq!(auth.token_for("https://github.com.evil.net/acme"), None);
        assert_eq!(auth.token_for("http://github.com/acme"), None);
        assert!(!format!("{auth:?}").contains("tok\""));
    }

    #[test]
    fn race_statuses_are_told_from_refusals() {
        assert!(is_race("failed to update ref"));
        assert!(is_race("cannot lock ref 'refs/heads/x'"));
        assert!(is_race("fetch first"));
        assert!(!is_race("pre-receive hook declined"));
        assert!(!is_race("protected branch hook declined"));
    }
}
