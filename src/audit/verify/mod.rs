//! Verifying an audit branch: walks it from its first commit to its tip and checks everything
//! [`super::store`] promises about it, then checks checkpoints remembered from earlier.
//!
//! Every commit, oldest first:
//!
//! - history: one root commit, then exactly one parent each (a merge is a problem; only first
//!   parents are followed);
//! - tree: compared with the parent's, the commit adds exactly one record and its `.sig` and
//!   changes `checkpoint/note` and `checkpoint/frontier.json` (the root commit also adds
//!   `README.md`, a record folded from a pending ref its `.pending`); any other added, changed
//!   or deleted file is a problem;
//! - folded record (see [`super::pending`]): its `<seq>.json.pending` is a pending entry signed
//!   (namespace `driftlog`) by a key the trust root allowed at the time the record was made, of
//!   this log, and the record on the branch is exactly the entry's record placed at its seq;
//!   no entry (the same blob) is folded twice;
//! - record: canonical JSON, a [`Record`], stored under its own `seq`, seqs 0, 1, 2, ... without
//!   gaps or repeats, `prev` the SHA-256 of the previous record's bytes, `log.branch` this
//!   branch, its detached signature (namespace `driftlog`) by an allowed key, `signing_key` that
//!   key;
//! - commit: its message names the record's seq and SHA-256, and it is SSH-signed (namespace
//!   `git`) by an allowed key, the record's `signing_key`;
//! - checkpoint: the note opens with an allowed Ed25519 key under the log's origin, the origin is
//!   the record's log, its size is the number of records so far and its root the RFC 6962 root
//!   recomputed over their bytes; `frontier.json` is the recomputed compact range;
//! - one log: every record carries the id its first record fixed, and that id is this
//!   repository's (when the caller names it), else the log was copied from another;
//! - time (records of schema 3 on, which driftlog writes so): a record's time agrees with its
//!   commit's within [`TIME_BOUND_SECONDS`], neither goes back along the log, and the
//!   record's key is valid at the record's time; so a retired key cannot append after its
//!   successor began.
//!
//! Then every checkpoint the caller kept (from pull-request comments, CI logs): it must be
//! signed by an allowed key for this log, no larger than the log, and its root must be the
//! recomputed root at its size. This is what catches a history rewritten or truncated by
//! someone who holds an allowed key, which the walk alone cannot.
//!
//! Then the branch's pending refs that fetches left locally
//! (`refs/driftlog/remotes/<remote>/pending/<branch>/<label>`): each entry is folded (the branch
//! holds its blob; the ref was not deleted yet), waiting (it verifies against the trust root and
//! the log's id; the next writer folds it), or refused, a problem, as is a ref that is not a
//! pending commit ([`PendingRef`], bounded by [`MAX_PENDING_REF_BYTES`] and the limits of
//! [`super::pending`]).
//!
//! # Cost, and hostile branches
//!
//! Commits are read in batches, each object's size taken from its header before it is loaded
//! and bounded ([`MAX_RECORD_BYTES`], trees to [`MAX_TREE_DEPTH`] levels), then their
//! signatures and records are checked on every core; a record is parsed only after its
//! signature verified. The walk keeps a compact range, so it is O(n) in records, and the
//! problem list keeps the first [`MAX_PROBLEMS`]. With [`VerifyOptions::since`] it starts from
//! a checkpoint instead: the commit holding that checkpoint's last record must be signed and
//! its frontier must be the compact range of the checkpoint's size and root, which makes every
//! later tree an extension of the checkpoint's (what an RFC 6962 consistency proof shows); then
//! only the records after it are read, so the cost grows with the new records, not the log. It
//! never re-serializes a record: hashes and signatures are checked over the stored bytes.
//!
//! # What verification cannot detect
//!
//! - A rewrite by a holder of an allowed key after the largest checkpoint given (or at all,
//!   without one), and truncation to a shorter intact history or deletion of the branch unless a
//!   larger checkpoint is given.
//! - Records never written: a scan that was not recorded leaves no trace, nor does a pending
//!   ref deleted before it was folded (or never fetched).
//! - With [`VerifyOptions::since`], anything about the records before the checkpoint that only
//!   reading them shows: a pending entry folded both before and after it is not seen as folded
//!   twice, and a pending ref folded before it is listed as waiting, not as folded.
//! - A wrong trust root: the caller chooses the allowed signers (the binary reads them from the
//!   default branch, not from the history being verified).
//! - Whether the records tell the truth: a signature shows who wrote a record, not that the scan
//!   it describes happened that way. Times are the writer's clock: they can only be held to
//!   moving forward, not to being right.

use git2::{ErrorCode, Oid, Repository};
use serde::Serialize;

use super::sshsig::AllowedSigners;
use walk::Walk;

/// One line for people, of what [`verify_log`] cannot detect (the module docs say more).
pub const UNDETECTABLE: &str = "Verification cannot detect a history rewritten by a holder of an \
     allowed key after the largest checkpoint given (or at all, without one), a branch reset or \
     deleted when no larger checkpoint is given, or scans that were never recorded.";

/// Why verification could not even start. Everything found on the way is a [`Problem`].
#[derive(Debug, thiserror::Error)]
pub enum VerifyError {
    #[error("there is no branch {branch} in the repository")]
    NoBranch { branch: String },
    #[error("reading the branch {branch}: {source}")]
    Git {
        branch: String,
        #[source]
        source: git2::Error,
    },
}

/// Something wrong with the log, where it was found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Problem {
    /// The commit (full hex id), when the problem belongs to one.
    pub commit: Option<String>,
    /// The record's seq, when the problem belongs to one.
    pub seq: Option<u64>,
    pub what: String,
}

/// The newest record and the tree head over all records, as recomputed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LogHead {
    pub commit: String,
    pub seq: u64,
    pub record_sha256: String,
    /// Hex RFC 6962 root over every record's bytes, recomputed.
    pub merkle_root: String,
    /// The tip's signed checkpoint in its one-line form, when it verified and matched the
    /// recomputed tree: keep it to check later that history was not rewritten.
    pub checkpoint_line: Option<String>,
}

/// Everything verification found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Report {
    pub branch: String,
    /// The log's checkpoint origin, from its newest verified checkpoint.
    pub origin: Option<String>,
    pub records: u64,
    pub commits: u64,
    pub head: Option<LogHead>,
    /// Given checkpoints that verified and matched the log.
    pub checkpoints_matched: usize,
    /// The log's id as its first record fixed it (`repository` of [`LogId`]).
    pub log_repository: Option<String>,
    /// Who signed the records checked, in order of first appearance.
    pub signers: Vec<SignerCount>,
    /// With [`VerifyOptions::since`]: the size of the checkpoint the walk started from (the
    /// records before it were proven unchanged through it, not re-read).
    pub since: Option<u64>,
    /// The branch's pending refs that fetches left locally, by remote and name (at most
    /// [`crate::audit::pending::MAX_PENDING_REFS`]): records not folded into the branch yet.
    pub pending: Vec<PendingRef>,
    /// Pending refs beyond those, not read.
    pub pending_unread: u64,
    /// The first problems found, at most [`MAX_PROBLEMS`]; `problems_total` counts them all.
    pub problems: Vec<Problem>,
    pub problems_total: u64,
}

/// One signer of records: its principal in the allowed signers and key fingerprint.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SignerCount {
    pub principal: String,
    pub fingerprint: String,
    pub records: u64,
}

/// A hostile branch can hold any number of broken commits: the report keeps the first
/// problems and counts the rest, so memory stays bounded.
pub const MAX_PROBLEMS: usize = 1000;

/// What to verify against.
#[derive(Debug, Clone, Copy)]
pub struct VerifyOptions<'a> {
    /// The trusted keys (the trust root).
    pub allowed: &'a AllowedSigners,
    /// Signed checkpoints kept from earlier (one-line `driftlog-checkpoint v1 ...` or notes):
    /// the log must still hold exactly the history each commits to.
    pub checkpoints: &'a [String],
    /// A checkpoint to start from: the log is proven consistent with it (its frontier
    /// at that size hashes to the checkpoint's root) and only the records after it are read.
    pub since: Option<&'a str>,
    /// This repository's identity ([`crate::audit::recorder::repository_identity`]): the
    /// log's id must be it, or the log was copied from another repository.
    pub repository: Option<&'a str>,
    /// Threads reading and checking commits; 0 for one per core.
    pub threads: usize,
}

impl Report {
    /// Whether nothing was found wrong.
    pub fn is_intact(&self) -> bool {
        self.problems_total == 0
    }
}

/// Verifies the audit branch `branch` of `repo` against the trusted `allowed` signers and the
/// signed `checkpoints` given (one-line `driftlog-checkpoint v1 ...` or full signed notes).
pub fn verify_log(
    repo: &Repository,
    branch: &str,
    allowed: &AllowedSigners,
    checkpoints: &[String],
) -> Result<Report, VerifyError> {
    verify(
        repo,
        branch,
        &VerifyOptions {
            allowed,
            checkpoints,
            since: None,
            repository: None,
            threads: 0,
        },
    )
}

/// Stops libgit2 from re-hashing and caching every object it reads, for the rest of the
/// process. git checked each object's hash when it arrived (clone, fetch, push; `git fsck`
/// re-checks a store), and verify reads each object once: on a long log, re-hashing the record
/// shards an append rewrites and caching objects never read again are a third of a verify's
/// cost. Process-wide, so the binary chooses it.
pub fn fast_object_reads() {
    git2::opts::strict_hash_verification(false);
    git2::opts::enable_caching(false);
}

/// Verifies the audit branch `branch` of `repo` as `options` say.
pub fn verify(
    repo: &Repository,
    branch: &str,
    options: &VerifyOptions<'_>,
) -> Result<Report, VerifyError> {
    let VerifyOptions {
        allowed,
        checkpoints,
        ..
    } = *options;
    let branch = branch.strip_prefix("refs/heads/").unwrap_or(branch);
    let git_error = |source| VerifyError::Git {
        branch: branch.to_owned(),
        source,
    };
    let tip = match repo.refname_to_id(&format!("refs/heads/{branch}")) {
        Ok(oid) => oid,
        Err(err) if err.code() == ErrorCode::NotFound => {
            return Err(VerifyError::NoBranch {
                branch: branch.to_owned(),
            })
        }
        Err(err) => return Err(git_error(err)),
    };
    repo.find_commit(tip).map_err(git_error)?;
    let threads = match options.threads {
        0 => std::thread::available_parallelism().map_or(1, usize::from),
        n => n,
    };

    let mut walk = Walk::new(repo, branch, allowed, options.repository);
    let incremental = options.since.and_then(|since| walk.start_from(since, tip));
    match &incremental {
        Some(after) => walk.commits(after, false, threads),
        None => match first_parent_chain(repo, tip) {
            Ok(chain) => walk.commits(&chain, true, threads),
            Err(Incomplete { commit, reason }) => walk.problem(Some(commit), None, reason),
        },
    }
    for (index, text) in checkpoints.iter().enumerate() {
        walk.given_checkpoint(index + 1, text);
    }
    if let (Some(since), None) = (options.since, &incremental) {
        // Walked in full: the checkpoint is then checked like any other kept one.
        walk.given_checkpoint(checkpoints.len() + 1, since);
    }
    let pending = pending_refs::check(repo, branch, allowed, walk.log_id(), walk.folded());
    for what in pending.problems {
        walk.problem(None, None, what);
    }
    let mut report = walk.finish();
    report.pending = pending.refs;
    report.pending_unread = pending.unread;
    Ok(report)
}

struct Incomplete {
    commit: Oid,
    reason: String,
}

/// The branch's first-parent history, oldest first. Read from the raw commit objects (their
/// header's first `parent` line), size-checked first: the walk reads every commit in full
/// later, and this pass is the one part of it that cannot run on every core.
fn first_parent_chain(repo: &Repository, tip: Oid) -> Result<Vec<Oid>, Incomplete> {
    let odb = repo.odb().map_err(|err| Incomplete {
        commit: tip,
        reason: format!("cannot open the object database: {err}"),
    })?;
    let mut chain = Vec::new();
    let mut next = Some(tip);
    while let Some(oid) = next {
        let incomplete = |reason: String| Incomplete {
            commit: chain.last().copied().unwrap_or(oid),
            reason,
        };
        let parsed = commit::read(&odb, oid).map_err(|err| {
            incomplete(match err {
                commit::ReadError::Missing => "the history before this commit is missing from \
                    the repository (a shallow clone? fetch the whole branch), so the log cannot \
                    be checked from its start"
                    .to_owned(),
                err => format!("cannot read the commit {oid}: {err}"),
            })
        })?;
        chain.push(oid);
        next = parsed.parents.first().copied();
    }
    chain.reverse();
    Ok(chain)
}

mod check;
mod commit;
mod pending_refs;
pub(crate) mod read;
mod tree;
mod walk;

pub use pending_refs::{PendingRef, MAX_PENDING_REF_BYTES};
pub use read::{MAX_RECORD_BYTES, MAX_TREE_DEPTH};
pub use walk::TIME_BOUND_SECONDS;

#[cfg(test)]
mod tests;
