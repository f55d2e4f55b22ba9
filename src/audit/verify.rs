//! Verifying an audit branch: walks it from its first commit to its tip and checks everything
//! [`super::store`] promises about it, then checks checkpoints remembered from earlier.
//!
//! Every commit, oldest first:
//!
//! - history: one root commit, then exactly one parent each (a merge is a problem; only first
//!   parents are followed);
//! - tree: compared with the parent's, the commit adds exactly one record and its `.sig` and
//!   changes `checkpoint/note` and `checkpoint/frontier.json` (the root commit also adds
//!   `README.md`); any other added, changed or deleted file is a problem;
//! - record: canonical JSON, a [`Record`], stored under its own `seq`, seqs 0, 1, 2, ... without
//!   gaps or repeats, `prev` the SHA-256 of the previous record's bytes, `log.branch` this
//!   branch, its detached signature (namespace `driftlog`) by an allowed key, `signing_key` that
//!   key;
//! - commit: its message names the record's seq and SHA-256, and it is SSH-signed (namespace
//!   `git`) by an allowed key, the record's `signing_key`;
//! - checkpoint: the note opens with an allowed Ed25519 key under the log's origin, the origin is
//!   the record's log, its size is the number of records so far and its root the RFC 6962 root
//!   recomputed over their bytes; `frontier.json` is the recomputed compact range.
//!
//! Then every checkpoint the caller kept (from pull-request comments, CI logs): it must be
//! signed by an allowed key for this log, no larger than the log, and its root must be the
//! recomputed root at its size. This is what catches a history rewritten or truncated by
//! someone who holds an allowed key, which the walk alone cannot.
//!
//! The walk reads every object once and keeps a compact range, so it is O(n) in the number of
//! records (plus the bounded size of a record shard's tree per commit). It never re-serializes
//! a record: hashes and signatures are checked over the stored bytes.
//!
//! # What verification cannot detect
//!
//! - A rewrite by a holder of an allowed key: they can re-sign a whole new history, and the
//!   branch then verifies. Only checkpoints given to [`verify_log`] pin history, and only up to
//!   the largest of them: records after it can still be rewritten or dropped.
//! - Truncation to a shorter, intact history (a reset branch), and deletion of the whole
//!   branch, unless a checkpoint larger than what is left is given.
//! - Records never written: a scan that was not recorded leaves no trace.
//! - A wrong trust root: whoever can change the allowed signers file that verification is given
//!   (e.g. `.driftlog/allowed_signers` on the main branch) can make any key trusted.
//! - Time: `valid-after`/`valid-before` in the allowed signers are checked at the commit's own
//!   time, as `git verify-commit` does, and that time is claimed by the signer; checkpoint notes
//!   carry no time, so their keys' validity windows are not checked at all.
//! - Whether the records tell the truth: a signature shows who wrote a record, not that the scan
//!   it describes happened that way.

use std::collections::HashMap;
use std::rc::Rc;
use std::time::{Duration, SystemTime};

use git2::{ErrorCode, ObjectType, Odb, Oid, Repository};
use serde::Serialize;

use super::canonical;
use super::merkle::{self, CompactRange, Hash};
use super::note::{self, Checkpoint, NoteVerifier};
use super::record::{LogId, Record, GENESIS_PREV};
use super::recorder::checkpoint_origin;
use super::sshsig::{self, AllowedSigners, DRIFTLOG_NAMESPACE, GIT_NAMESPACE};
use super::store::{
    hex, record_path, sha256_hex, CHECKPOINT_DIR, FRONTIER_FILE, MESSAGE_PREFIX, NOTE_FILE,
    README_FILE, RECORDS_DIR,
};

/// One line for people, of what [`verify_log`] cannot detect (the module docs say more).
pub const UNDETECTABLE: &str = "Verification cannot detect a history rewritten by a holder of an \
     allowed key after the largest checkpoint given (or at all, without one), a branch reset or \
     deleted when no larger checkpoint is given, scans that were never recorded, or a changed \
     allowed signers file.";

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
    pub problems: Vec<Problem>,
}

impl Report {
    /// Whether nothing was found wrong.
    pub fn is_intact(&self) -> bool {
        self.problems.is_empty()
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
    let odb = repo.odb().map_err(git_error)?;

    let mut walk = Walk::new(repo, odb, branch, allowed);
    match first_parent_chain(repo, tip) {
        Ok(chain) => {
            for (index, oid) in chain.iter().enumerate() {
                walk.commit(*oid, index == 0);
            }
        }
        Err(Incomplete { commit, reason }) => walk.problem(Some(commit), None, reason),
    }
    for (index, text) in checkpoints.iter().enumerate() {
        walk.given_checkpoint(index + 1, text);
    }
    Ok(walk.finish())
}

struct Incomplete {
    commit: Oid,
    reason: String,
}

/// The branch's first-parent history, oldest first.
fn first_parent_chain(repo: &Repository, tip: Oid) -> Result<Vec<Oid>, Incomplete> {
    let mut chain = Vec::new();
    let mut next = Some(tip);
    while let Some(oid) = next {
        let commit = repo.find_commit(oid).map_err(|err| Incomplete {
            commit: chain.last().copied().unwrap_or(oid),
            reason: if err.code() == ErrorCode::NotFound {
                "the history before this commit is missing from the repository (a shallow \
                 clone? fetch the whole branch), so the log cannot be checked from its start"
                    .to_owned()
            } else {
                format!("cannot read the parent commit {oid}: {err}")
            },
        })?;
        chain.push(oid);
        next = commit.parent_ids().next();
    }
    chain.reverse();
    Ok(chain)
}

/// What one commit's tree changed, file by file (a deleted directory counts once).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ChangeKind {
    Added,
    Modified,
    Deleted,
}

struct Change {
    path: String,
    kind: ChangeKind,
    /// The new blob and its file mode, for added and modified files.
    new: Option<(Oid, u32)>,
}

/// A record file a commit adds, with its detached signature if the commit adds that too.
struct AddedRecord {
    path: String,
    seq_in_path: u64,
    blob: Oid,
    signature: Option<Oid>,
}

/// What is known of a record once read.
struct RecordSeen {
    seq: u64,
    sha256: String,
    signing_key: Option<String>,
    log: Option<LogId>,
}

const REGULAR_FILE: u32 = 0o100644;
/// How many unexpected paths one problem names before it only counts the rest.
const LISTED_CHANGES: usize = 10;

struct Walk<'r, 'a> {
    repo: &'r Repository,
    branch: &'a str,
    allowed: &'a AllowedSigners,
    /// Allowed Ed25519 keys that may sign in the driftlog namespace: the checkpoint signers.
    note_keys: Vec<[u8; 32]>,
    verifiers: HashMap<String, Result<Vec<NoteVerifier>, String>>,
    odb: Odb<'r>,
    /// Raw trees read for this commit and for its parent: each tree an append rewrites is
    /// read once, as the child's, and reused as the parent's.
    trees: HashMap<Oid, Rc<[u8]>>,
    parent_trees: HashMap<Oid, Rc<[u8]>>,
    parent_tree: Option<Oid>,
    /// The previous record in history order: its seq and SHA-256.
    last: Option<(u64, String)>,
    max_seq: Option<u64>,
    range: CompactRange,
    /// `roots[i]` is the recomputed root over the first `i + 1` records.
    roots: Vec<Hash>,
    /// The commit that added each record, in history order.
    record_commits: Vec<Oid>,
    /// False after a checkpoint disagreed with the recomputed tree, until one agrees again:
    /// a missing record makes every later checkpoint disagree, and one problem says so.
    tree_in_sync: bool,
    disagreeing_later: u64,
    origins: Vec<String>,
    /// The newest commit and its note, when the note verified and matched.
    tip: Option<(Oid, Option<String>)>,
    commits: u64,
    /// Given checkpoints that matched.
    matched: usize,
    problems: Vec<Problem>,
}

impl<'r, 'a> Walk<'r, 'a> {
    fn new(
        repo: &'r Repository,
        odb: Odb<'r>,
        branch: &'a str,
        allowed: &'a AllowedSigners,
    ) -> Self {
        let mut note_keys: Vec<[u8; 32]> = Vec::new();
        for entry in allowed.entries() {
            if entry.is_cert_authority() || !entry.permits_namespace(DRIFTLOG_NAMESPACE) {
                continue;
            }
            // One verifier per key: open_note refuses two with the same name and key ID.
            if let Some(key) = entry.ed25519_key().filter(|k| !note_keys.contains(k)) {
                note_keys.push(key);
            }
        }
        Walk {
            repo,
            branch,
            allowed,
            note_keys,
            verifiers: HashMap::new(),
            odb,
            trees: HashMap::new(),
            parent_trees: HashMap::new(),
            parent_tree: None,
            last: None,
            max_seq: None,
            range: CompactRange::new(),
            roots: Vec::new(),
            record_commits: Vec::new(),
            tree_in_sync: true,
            disagreeing_later: 0,
            origins: Vec::new(),
            tip: None,
            commits: 0,
            matched: 0,
            problems: Vec::new(),
        }
    }

    fn problem(&mut self, commit: Option<Oid>, seq: Option<u64>, what: impl Into<String>) {
        self.problems.push(Problem {
            commit: commit.map(|c| c.to_string()),
            seq,
            what: what.into(),
        });
    }

    fn commit(&mut self, oid: Oid, is_root: bool) {
        self.commits += 1;
        let commit = match self.repo.find_commit(oid) {
            Ok(commit) => commit,
            Err(err) => {
                self.problem(Some(oid), None, format!("cannot read the commit: {err}"));
                return;
            }
        };
        if commit.parent_count() > 1 {
            self.problem(
                Some(oid),
                None,
                format!(
                    "is a merge commit ({} parents): the audit branch must be one line of \
                     commits; only the first parent was followed",
                    commit.parent_count()
                ),
            );
        }
        let commit_time = SystemTime::UNIX_EPOCH
            + Duration::from_secs(u64::try_from(commit.time().seconds()).unwrap_or(0));

        std::mem::swap(&mut self.parent_trees, &mut self.trees);
        self.trees.clear();
        let tree = commit.tree_id();
        let parent_tree = self.parent_tree.take();
        let mut changes = Vec::new();
        let diffed = self.tree(tree).and_then(|new| {
            let old = parent_tree.map(|old| self.tree(old)).transpose()?;
            self.diff(old.as_deref(), &new, "", &mut changes)
        });
        if let Err(err) = diffed {
            self.problem(Some(oid), None, err);
        }
        let (added, unexpected) = classify(&changes, is_root);
        let commit_seq = added
            .last()
            .map(|r| r.seq_in_path)
            .or_else(|| self.max_seq.map(|s| s + 1));
        if !unexpected.is_empty() {
            self.problem(Some(oid), commit_seq, describe_unexpected(&unexpected));
        }

        let mut seen = Vec::new();
        for record in &added {
            if let Some(record) = self.record(oid, record, commit_time) {
                seen.push(record);
            }
        }
        let seq = seen.last().map(|r| r.seq).or(commit_seq);
        match seen.as_slice() {
            [] if added.is_empty() => self.problem(
                Some(oid),
                seq,
                "adds no record: every audit commit adds exactly one",
            ),
            [] => {}
            [_] => {}
            several => self.problem(
                Some(oid),
                seq,
                format!(
                    "adds {} records: every audit commit adds exactly one",
                    several.len()
                ),
            ),
        }
        if let Some(last) = seen.last() {
            self.check_message(oid, &commit, last);
        }
        self.check_commit_signature(oid, commit_time, &seen);
        let note = self.check_checkpoint(oid, tree, &seen, seq);
        self.tip = Some((oid, note));
        self.parent_tree = Some(tree);
    }

    /// A raw tree, from this commit's or the parent's trees when already read.
    fn tree(&mut self, oid: Oid) -> Result<Rc<[u8]>, String> {
        if let Some(raw) = self.trees.get(&oid) {
            return Ok(Rc::clone(raw));
        }
        let raw = match self.parent_trees.get(&oid) {
            Some(raw) => Rc::clone(raw),
            None => {
                let object = self
                    .odb
                    .read(oid)
                    .map_err(|err| format!("cannot read the tree {oid}: {err}"))?;
                if object.kind() != ObjectType::Tree {
                    return Err(format!("{oid} is a {}, not a tree", object.kind()));
                }
                Rc::from(object.data())
            }
        };
        self.trees.insert(oid, Rc::clone(&raw));
        Ok(raw)
    }

    /// The blob at `path` in the tree `root`, through the cached trees.
    fn blob_at(&mut self, root: Oid, path: &str) -> Result<Vec<u8>, String> {
        let mut id = root;
        let mut parts = path.split('/').peekable();
        while let Some(name) = parts.next() {
            let raw = self.tree(id)?;
            let entries = parse_entries(&raw, None).map_err(|e| format!("{path}: {e}"))?;
            let entry = entries
                .iter()
                .find(|e| e.name == name.as_bytes() && e.is_tree() == parts.peek().is_some());
            id = entry.ok_or_else(|| format!("{path} is missing"))?.id;
        }
        self.blob(id)
            .map_err(|err| format!("cannot read {path}: {err}"))
    }

    /// The files that differ between the raw trees `old` and `new`, descending only into
    /// subtrees whose ids differ: an append touches a handful of trees however long the log
    /// is. When `new` is `old` plus entries at its end, as when a record joins its shard, only
    /// those entries are parsed.
    fn diff(
        &mut self,
        old: Option<&[u8]>,
        new: &[u8],
        prefix: &str,
        out: &mut Vec<Change>,
    ) -> Result<(), String> {
        let malformed = |e: String| format!("the tree {} is malformed: {e}", display(prefix));
        let old = old.unwrap_or_default();
        if let Some(tail) = new.strip_prefix(old) {
            let last = last_entry(old).map_err(malformed)?;
            for entry in parse_entries(tail, last).map_err(malformed)? {
                self.added(&entry, prefix, out)?;
            }
            return Ok(());
        }
        let old_entries = parse_entries(old, None).map_err(malformed)?;
        let new_entries = parse_entries(new, None).map_err(malformed)?;
        let (mut i, mut j) = (0, 0);
        loop {
            let (a, b) = match (old_entries.get(i), new_entries.get(j)) {
                (None, None) => break,
                (Some(a), None) => (Some(a), None),
                (None, Some(b)) => (None, Some(b)),
                (Some(a), Some(b)) => match git_order(a, b) {
                    std::cmp::Ordering::Less => (Some(a), None),
                    std::cmp::Ordering::Greater => (None, Some(b)),
                    std::cmp::Ordering::Equal => (Some(a), Some(b)),
                },
            };
            match (a, b) {
                (Some(a), None) => removed(a, prefix, out),
                (None, Some(b)) => self.added(b, prefix, out)?,
                (Some(a), Some(b)) if a.id != b.id || a.mode != b.mode => {
                    let path = join(prefix, b.name);
                    match (a.is_tree(), b.is_tree()) {
                        (true, true) => {
                            let (old_tree, new_tree) = (self.tree(a.id)?, self.tree(b.id)?);
                            self.diff(Some(&old_tree), &new_tree, &path, out)?;
                        }
                        (false, false) => out.push(Change {
                            path,
                            kind: ChangeKind::Modified,
                            new: Some((b.id, b.mode)),
                        }),
                        _ => {
                            removed(a, prefix, out);
                            self.added(b, prefix, out)?;
                        }
                    }
                }
                _ => {}
            }
            i += usize::from(a.is_some());
            j += usize::from(b.is_some());
        }
        Ok(())
    }

    fn added(
        &mut self,
        entry: &Entry<'_>,
        prefix: &str,
        out: &mut Vec<Change>,
    ) -> Result<(), String> {
        let path = join(prefix, entry.name);
        if entry.is_tree() {
            let tree = self.tree(entry.id)?;
            self.diff(None, &tree, &path, out)
        } else {
            out.push(Change {
                path,
                kind: ChangeKind::Added,
                new: Some((entry.id, entry.mode)),
            });
            Ok(())
        }
    }

    fn blob(&self, oid: Oid) -> Result<Vec<u8>, git2::Error> {
        Ok(self.repo.find_blob(oid)?.content().to_vec())
    }

    /// Checks one added record and extends the chain and the tree with it.
    fn record(&mut self, commit: Oid, added: &AddedRecord, time: SystemTime) -> Option<RecordSeen> {
        let bytes = match self.blob(added.blob) {
            Ok(bytes) => bytes,
            Err(err) => {
                self.problem(
                    Some(commit),
                    Some(added.seq_in_path),
                    format!("cannot read {}: {err}", added.path),
                );
                return None;
            }
        };
        let sha256 = sha256_hex(&bytes);
        let path = &added.path;
        let mut problems: Vec<String> = Vec::new();
        if !canonical::is_canonical(&bytes) {
            problems.push(format!(
                "{path} is not canonical JSON (RFC 8785): driftlog did not write these bytes"
            ));
        }
        let record = match serde_json::from_slice::<Record>(&bytes) {
            Ok(record) => Some(record),
            Err(err) => {
                problems.push(format!("{path} is not a driftlog record: {err}"));
                None
            }
        };
        let seq = record.as_ref().map_or(added.seq_in_path, |r| r.seq);
        if seq != added.seq_in_path {
            problems.push(format!(
                "{path} holds record seq {seq}: it was moved or renamed"
            ));
        }
        let expected = self.max_seq.map_or(0, |max| max + 1);
        if seq > expected {
            let missing = if seq == expected + 1 {
                format!("record {expected} is missing")
            } else {
                format!("records {expected} to {} are missing", seq - 1)
            };
            problems.push(match self.max_seq {
                None => format!("{missing}: the first record has seq {seq}"),
                Some(max) => format!("{missing}: seq jumps from {max} to {seq}"),
            });
        } else if seq < expected {
            problems.push(format!(
                "seq {seq} comes after seq {}: records are out of order or repeated",
                expected - 1
            ));
        }
        if let Some(record) = &record {
            let (previous, expected_prev) = match &self.last {
                Some((seq, sha)) => (format!("record {seq}"), sha.as_str()),
                None => ("the genesis value".to_owned(), GENESIS_PREV),
            };
            if record.prev != expected_prev {
                problems.push(format!(
                    "prev is {}, not the SHA-256 of {previous} ({}): the chain is broken",
                    short_hash(&record.prev),
                    short_hash(expected_prev)
                ));
            }
            if record.log.branch != self.branch {
                problems.push(format!(
                    "the record belongs to the branch {:?}, not {:?}: it was copied from \
                     another log",
                    record.log.branch, self.branch
                ));
            }
        }
        match added.signature {
            None => problems.push(format!("{path} has no detached signature ({path}.sig)")),
            Some(signature) => match self.blob(signature) {
                Err(err) => problems.push(format!("cannot read {path}.sig: {err}")),
                Ok(armored) => {
                    let verified = std::str::from_utf8(&armored)
                        .map_err(|_| "the signature is not text".to_owned())
                        .and_then(|armored| {
                            sshsig::verify_at(
                                armored,
                                DRIFTLOG_NAMESPACE,
                                &bytes,
                                self.allowed,
                                None,
                                time,
                            )
                            .map_err(|e| e.to_string())
                        });
                    match verified {
                        Err(err) => problems.push(format!(
                            "the record's signature ({path}.sig) is refused: {err}"
                        )),
                        Ok(signer) => {
                            if let Some(record) = record.as_ref() {
                                if record.signing_key != signer.fingerprint {
                                    problems.push(format!(
                                        "the record names signing_key {}, but {} signed it",
                                        record.signing_key, signer.fingerprint
                                    ));
                                }
                            }
                        }
                    }
                }
            },
        }
        for what in problems {
            self.problem(Some(commit), Some(seq), what);
        }

        if self.range.append(merkle::leaf_hash(&bytes)).is_err() {
            self.problem(Some(commit), Some(seq), "the Merkle tree is full");
        }
        self.roots.push(self.range.root());
        self.record_commits.push(commit);
        self.last = Some((seq, sha256.clone()));
        self.max_seq = Some(self.max_seq.map_or(seq, |max| max.max(seq)));
        Some(RecordSeen {
            seq,
            sha256,
            signing_key: record.as_ref().map(|r| r.signing_key.clone()),
            log: record.map(|r| r.log),
        })
    }

    fn check_message(&mut self, oid: Oid, commit: &git2::Commit<'_>, record: &RecordSeen) {
        let expected = format!("{MESSAGE_PREFIX}{} sha256:{}", record.seq, record.sha256);
        let message = commit.message_bytes();
        let first = message.split(|b| *b == b'\n').next().unwrap_or_default();
        if first != expected.as_bytes() {
            self.problem(
                Some(oid),
                Some(record.seq),
                format!(
                    "the commit message says {:?}, not {expected:?}: the record's bytes or seq \
                     changed after it was committed",
                    String::from_utf8_lossy(first)
                ),
            );
        }
    }

    fn check_commit_signature(&mut self, oid: Oid, time: SystemTime, records: &[RecordSeen]) {
        let seq = records.last().map(|r| r.seq);
        let (signature, signed) = match self.repo.extract_signature(&oid, Some("gpgsig")) {
            Ok(found) => found,
            Err(err) if err.code() == ErrorCode::NotFound => {
                self.problem(Some(oid), seq, "the commit is not signed");
                return;
            }
            Err(err) => {
                self.problem(
                    Some(oid),
                    seq,
                    format!("cannot read the commit's signature: {err}"),
                );
                return;
            }
        };
        let verified = signature
            .as_str()
            .ok_or_else(|| "it is not text".to_owned())
            .and_then(|armored| {
                sshsig::verify_at(armored, GIT_NAMESPACE, &signed, self.allowed, None, time)
                    .map_err(|e| e.to_string())
            });
        match verified {
            Err(err) => self.problem(
                Some(oid),
                seq,
                format!("the commit signature is refused: {err}"),
            ),
            Ok(signer) => {
                for record in records {
                    match &record.signing_key {
                        Some(key) if *key != signer.fingerprint => self.problem(
                            Some(oid),
                            Some(record.seq),
                            format!(
                                "the commit is signed by {}, but the record names signing_key \
                                 {key}",
                                signer.fingerprint
                            ),
                        ),
                        _ => {}
                    }
                }
            }
        }
    }

    /// Trusted checkpoint verifiers under the key name `origin`.
    fn verifiers(&mut self, origin: &str) -> Result<Vec<NoteVerifier>, String> {
        let keys = &self.note_keys;
        self.verifiers
            .entry(origin.to_owned())
            .or_insert_with(|| {
                if keys.is_empty() {
                    return Err("the allowed signers have no Ed25519 key for the driftlog \
                                namespace"
                        .to_owned());
                }
                keys.iter()
                    .map(|key| NoteVerifier::new(origin, *key).map_err(|e| e.to_string()))
                    .collect()
            })
            .clone()
    }

    /// Opens a signed checkpoint with the allowed keys, under the origin it names.
    fn open(&mut self, signed: &str) -> Result<Checkpoint, String> {
        let origin = signed.split('\n').next().unwrap_or_default();
        let verifiers = self.verifiers(origin)?;
        note::open_checkpoint(signed, &verifiers)
            .map(|opened| opened.checkpoint)
            .map_err(|e| e.to_string())
    }

    /// Checks the commit's checkpoint note and frontier; returns the note if it verified and
    /// matched the recomputed tree.
    fn check_checkpoint(
        &mut self,
        oid: Oid,
        tree: Oid,
        records: &[RecordSeen],
        seq: Option<u64>,
    ) -> Option<String> {
        let note_path = format!("{CHECKPOINT_DIR}/{NOTE_FILE}");
        let signed = match self.blob_at(tree, &note_path) {
            Ok(bytes) => String::from_utf8(bytes).ok(),
            Err(err) => {
                self.problem(Some(oid), seq, err);
                return None;
            }
        };
        let Some(signed) = signed else {
            self.problem(Some(oid), seq, format!("{note_path} is not text"));
            return None;
        };
        let checkpoint = match self.open(&signed) {
            Ok(checkpoint) => checkpoint,
            Err(err) => {
                self.problem(
                    Some(oid),
                    seq,
                    format!("{note_path} is not a checkpoint signed by an allowed key: {err}"),
                );
                return None;
            }
        };
        if !self.origins.contains(&checkpoint.origin) {
            self.origins.push(checkpoint.origin.clone());
        }
        for record in records {
            if let Some(log) = &record.log {
                let expected = checkpoint_origin(log);
                if checkpoint.origin != expected {
                    self.problem(
                        Some(oid),
                        Some(record.seq),
                        format!(
                            "{note_path} is for the log {:?}, but the record is in {expected:?}",
                            checkpoint.origin
                        ),
                    );
                }
            }
        }

        let frontier_path = format!("{CHECKPOINT_DIR}/{FRONTIER_FILE}");
        let size = self.range.size();
        let added_seq = records.last().map(|r| r.seq);
        let disagreement = if let Some(added) = added_seq.filter(|s| checkpoint.size != s + 1) {
            Some(format!(
                "{note_path} has size {}, but this commit's record is seq {added}",
                checkpoint.size
            ))
        } else if checkpoint.size != size {
            Some(format!(
                "{note_path} has size {}, but the branch holds {size} records up to here",
                checkpoint.size
            ))
        } else if checkpoint.root != self.range.root() {
            Some(format!(
                "{note_path} has root {}, not the root recomputed over the records ({}): a \
                 record before it changed",
                short_hash(&hex(&checkpoint.root)),
                short_hash(&hex(&self.range.root()))
            ))
        } else {
            match self.blob_at(tree, &frontier_path) {
                Err(err) => Some(err),
                Ok(bytes) => match serde_json::from_slice::<CompactRange>(&bytes) {
                    Err(err) => Some(format!("{frontier_path} is malformed: {err}")),
                    Ok(frontier) if frontier != self.range => Some(format!(
                        "{frontier_path} is not the recomputed compact range over the records"
                    )),
                    Ok(_) => None,
                },
            }
        };
        match disagreement {
            None => {
                self.tree_in_sync = true;
                Some(signed)
            }
            Some(what) if self.tree_in_sync => {
                self.tree_in_sync = false;
                self.problem(Some(oid), seq, what);
                None
            }
            Some(_) => {
                self.disagreeing_later += 1;
                None
            }
        }
    }

    /// Checks one checkpoint given by the caller (`number` counts from 1, for messages).
    fn given_checkpoint(&mut self, number: usize, text: &str) {
        let trimmed = text.trim();
        let signed = if trimmed.starts_with("driftlog-checkpoint") {
            match note::checkpoint_from_line(trimmed) {
                Ok(signed) => signed,
                Err(err) => {
                    self.problem(None, None, format!("checkpoint {number} you gave: {err}"));
                    return;
                }
            }
        } else {
            // A note pasted from a file may have lost its final newline or gained spaces.
            format!("{}\n", text.trim_end())
        };
        let checkpoint = match self.open(&signed) {
            Ok(checkpoint) => checkpoint,
            Err(err) => {
                self.problem(
                    None,
                    None,
                    format!("checkpoint {number} you gave is not signed by an allowed key: {err}"),
                );
                return;
            }
        };
        let size = checkpoint.size;
        if !self.origins.is_empty() && !self.origins.contains(&checkpoint.origin) {
            self.problem(
                None,
                None,
                format!(
                    "checkpoint {number} you gave is for the log {:?}, not this one ({})",
                    checkpoint.origin,
                    self.origins.join(", ")
                ),
            );
            return;
        }
        let records = self.roots.len() as u64;
        if size > records {
            self.problem(
                None,
                None,
                format!(
                    "the log has {records} records but a checkpoint shows {size}: records were \
                     removed"
                ),
            );
            return;
        }
        let Some(index) = size.checked_sub(1).and_then(|i| usize::try_from(i).ok()) else {
            // The empty tree is a prefix of every log.
            self.matched += 1;
            return;
        };
        if self.roots.get(index) != Some(&checkpoint.root) {
            let commit = self.record_commits.get(index).copied();
            self.problem(
                commit,
                Some(size - 1),
                format!(
                    "checkpoint at size {size} does not match the log: history before record \
                     {size} was rewritten"
                ),
            );
            return;
        }
        self.matched += 1;
    }

    fn finish(mut self) -> Report {
        if self.disagreeing_later > 0 {
            self.problem(
                None,
                None,
                match self.disagreeing_later {
                    1 => "1 later checkpoint also disagrees with the recomputed tree (only the \
                          first is listed)"
                        .to_owned(),
                    n => format!(
                        "{n} later checkpoints also disagree with the recomputed tree (only the \
                         first is listed)"
                    ),
                },
            );
        }
        let head = match (&self.tip, &self.last) {
            (Some((commit, note)), Some((seq, sha256))) => Some(LogHead {
                commit: commit.to_string(),
                seq: *seq,
                record_sha256: sha256.clone(),
                merkle_root: hex(&self.range.root()),
                checkpoint_line: note
                    .as_deref()
                    .and_then(|n| note::checkpoint_to_line(n).ok()),
            }),
            _ => None,
        };
        Report {
            branch: self.branch.to_owned(),
            origin: self.origins.last().cloned(),
            records: self.roots.len() as u64,
            commits: self.commits,
            head,
            checkpoints_matched: self.matched,
            problems: self.problems,
        }
    }
}

/// One entry of a raw tree object.
#[derive(Debug, Clone, Copy)]
struct Entry<'t> {
    name: &'t [u8],
    id: Oid,
    mode: u32,
}

impl Entry<'_> {
    fn is_tree(&self) -> bool {
        self.mode == TREE_MODE
    }
}

const TREE_MODE: u32 = 0o040000;

/// Parses raw tree entries (`<octal mode> <name>\0<20-byte id>`...), which must be in strict
/// git order and, when `previous` is given, after it: a tree with repeated or unsorted names
/// is not one git would write, and would make the diff unreliable.
fn parse_entries<'t>(
    raw: &'t [u8],
    mut previous: Option<Entry<'t>>,
) -> Result<Vec<Entry<'t>>, String> {
    let mut entries = Vec::new();
    for entry in RawEntries(raw) {
        let entry = entry?;
        if previous.is_some_and(|p| git_order(&p, &entry) != std::cmp::Ordering::Less) {
            return Err(format!(
                "{} is out of order or repeated",
                String::from_utf8_lossy(entry.name)
            ));
        }
        previous = Some(entry);
        entries.push(entry);
    }
    Ok(entries)
}

/// The last entry of a raw tree, without checking the order: for a tree that was checked when
/// it was first read (every tree is read as a child before it is anyone's parent).
fn last_entry(raw: &[u8]) -> Result<Option<Entry<'_>>, String> {
    RawEntries(raw).try_fold(None, |_, entry| entry.map(Some))
}

/// Iterates over the entries of a raw tree object, checking their syntax.
struct RawEntries<'t>(&'t [u8]);

impl<'t> Iterator for RawEntries<'t> {
    type Item = Result<Entry<'t>, String>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.0.is_empty() {
            return None;
        }
        let parsed = parse_entry(self.0);
        // After a malformed entry there is nothing more to read.
        self.0 = match &parsed {
            Ok((_, rest)) => rest,
            Err(_) => &[],
        };
        Some(parsed.map(|(entry, _)| entry))
    }
}

fn parse_entry(raw: &[u8]) -> Result<(Entry<'_>, &[u8]), String> {
    let space = raw
        .iter()
        .position(|b| *b == b' ')
        .ok_or("an entry has no mode")?;
    let mode = std::str::from_utf8(&raw[..space])
        .ok()
        .filter(|digits| !digits.is_empty())
        .and_then(|digits| u32::from_str_radix(digits, 8).ok())
        .ok_or("an entry has a malformed mode")?;
    let after = &raw[space + 1..];
    let nul = after
        .iter()
        .position(|b| *b == 0)
        .ok_or("an entry's name is not terminated")?;
    let name = &after[..nul];
    if name.is_empty() || name.contains(&b'/') {
        return Err("an entry has an empty name or one with a slash".to_owned());
    }
    let id = after
        .get(nul + 1..nul + 21)
        .and_then(|bytes| Oid::from_bytes(bytes).ok())
        .ok_or("an entry's id is truncated")?;
    Ok((Entry { name, id, mode }, &after[nul + 21..]))
}

fn removed(entry: &Entry<'_>, prefix: &str, out: &mut Vec<Change>) {
    let mut path = join(prefix, entry.name);
    if entry.is_tree() {
        path.push('/');
    }
    out.push(Change {
        path,
        kind: ChangeKind::Deleted,
        new: None,
    });
}

/// git's tree order: names compared bytewise, a directory as if its name ended in `/`.
fn git_order(a: &Entry<'_>, b: &Entry<'_>) -> std::cmp::Ordering {
    let common = a.name.len().min(b.name.len());
    // Past the common length, a name that ended sorts first unless it is a directory's.
    let next = |e: &Entry<'_>| e.name.get(common).copied().or(e.is_tree().then_some(b'/'));
    a.name[..common]
        .cmp(&b.name[..common])
        .then_with(|| next(a).cmp(&next(b)))
}

fn display(prefix: &str) -> &str {
    if prefix.is_empty() {
        "/"
    } else {
        prefix
    }
}

fn join(prefix: &str, name: &[u8]) -> String {
    let name = String::from_utf8_lossy(name);
    if prefix.is_empty() {
        name.into_owned()
    } else {
        format!("{prefix}/{name}")
    }
}

/// Splits a commit's changes into the records it adds and everything it should not change.
fn classify(changes: &[Change], is_root: bool) -> (Vec<AddedRecord>, Vec<&Change>) {
    let note_path = format!("{CHECKPOINT_DIR}/{NOTE_FILE}");
    let frontier_path = format!("{CHECKPOINT_DIR}/{FRONTIER_FILE}");
    let added_file = |path: &str| {
        changes.iter().find_map(|c| match (c.kind, c.new) {
            (ChangeKind::Added, Some((oid, REGULAR_FILE))) if c.path == path => Some(oid),
            _ => None,
        })
    };
    let mut records = Vec::new();
    let mut unexpected = Vec::new();
    for change in changes {
        let regular_added = change.kind == ChangeKind::Added
            && change.new.is_some_and(|(_, mode)| mode == REGULAR_FILE);
        let checkpoint_file = change.path == note_path || change.path == frontier_path;
        if checkpoint_file && change.kind != ChangeKind::Deleted {
            continue;
        }
        if is_root && change.path == README_FILE && change.kind == ChangeKind::Added {
            continue;
        }
        if regular_added {
            if let Some(seq) = record_seq(&change.path) {
                if let Some((blob, _)) = change.new {
                    records.push(AddedRecord {
                        path: change.path.clone(),
                        seq_in_path: seq,
                        blob,
                        signature: added_file(&format!("{}.sig", change.path)),
                    });
                }
                continue;
            }
            let signed = change.path.strip_suffix(".sig");
            if signed.is_some_and(|p| record_seq(p).is_some() && added_file(p).is_some()) {
                continue;
            }
        }
        unexpected.push(change);
    }
    records.sort_by_key(|r| r.seq_in_path);
    (records, unexpected)
}

/// The seq of `records/<millions>/<thousands>/<seq>.json`, if `path` is exactly where
/// [`record_path`] puts that seq.
fn record_seq(path: &str) -> Option<u64> {
    let name = path.rsplit('/').next()?.strip_suffix(".json")?;
    if name.len() != 12 || !name.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let seq: u64 = name.parse().ok()?;
    let [a, b, file] = record_path(seq);
    (path == format!("{RECORDS_DIR}/{a}/{b}/{file}")).then_some(seq)
}

fn describe_unexpected(changes: &[&Change]) -> String {
    let mut listed: Vec<String> = changes
        .iter()
        .take(LISTED_CHANGES)
        .map(|c| {
            let verb = match c.kind {
                ChangeKind::Added => "adds",
                ChangeKind::Modified => "changes",
                ChangeKind::Deleted => "deletes",
            };
            format!("{verb} {}", c.path)
        })
        .collect();
    if changes.len() > LISTED_CHANGES {
        listed.push(format!("and {} more", changes.len() - LISTED_CHANGES));
    }
    format!(
        "also {}: an audit commit adds one record and its signature and updates the checkpoint, \
         nothing else",
        listed.join(", ")
    )
}

/// The first 16 hex digits, enough to tell hashes apart in a message.
fn short_hash(hash: &str) -> String {
    match hash.get(..16) {
        Some(short) if hash.len() > 16 => format!("{short}…"),
        _ => hash.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audit::record::{ChainPosition, StackRef};
    use crate::audit::sshsig::{allowed_signers_line, SigningKey};
    use crate::audit::store::{Appended, AuditStore, Committer};
    use crate::context::{Local, RunContext};
    use crate::drift::{ScanReport, Stack, Status};

    const BRANCH: &str = "driftlog/audit";
    const ORIGIN: &str = "example.com/acme/infra/driftlog/audit";

    struct Log {
        dir: tempfile::TempDir,
        key: SigningKey,
        allowed: AllowedSigners,
        appended: Vec<Appended>,
    }

    fn record(key: &SigningKey, branch: &str, position: ChainPosition) -> Record {
        let report = ScanReport {
            status: Status::Clean,
            tool: Some(crate::drift::Tool {
                name: crate::drift::ToolName::Terraform,
                version: "1.15.5".into(),
            }),
            ..ScanReport::new(
                Stack {
                    dir: ".".into(),
                    workspace: "default".into(),
                },
                "2026-11-24T00:00:00Z".into(),
            )
        };
        Record::of_scan(
            &report,
            StackRef {
                path: "infra/prod".into(),
                workspace: "default".into(),
            },
            RunContext::Local(Local::default()),
            LogId {
                repository: "example.com/acme/infra".into(),
                branch: branch.into(),
            },
            position,
            key.fingerprint(),
            "2026-11-24T00:00:00Z".into(),
        )
    }

    impl Log {
        /// `n` records on `branch` (whose records name `record_branch`) under `origin`.
        fn build(n: usize, branch: &str, record_branch: &str, origin: &str) -> Log {
            let dir = tempfile::tempdir().expect("temp dir");
            git2::Repository::init(dir.path()).expect("init");
            let key = SigningKey::generate().expect("key");
            let allowed = AllowedSigners::parse(&allowed_signers_line("ci", &key)).expect("parse");
            let store = AuditStore::open(dir.path(), branch, origin).expect("open");
            let committer = Committer {
                name: "ci".into(),
                email: "ci@example.com".into(),
            };
            let build = |position| record(&key, record_branch, position);
            let appended = (0..n)
                .map(|i| {
                    store
                        .append(&build, &key, &committer, 1_790_000_000 + i as i64)
                        .expect("append")
                })
                .collect();
            Log {
                dir,
                key,
                allowed,
                appended,
            }
        }

        fn new(n: usize) -> Log {
            Log::build(n, BRANCH, BRANCH, ORIGIN)
        }

        fn repo(&self) -> Repository {
            Repository::open(self.dir.path()).expect("open")
        }

        fn verify(&self, checkpoints: &[String]) -> Report {
            verify_log(&self.repo(), BRANCH, &self.allowed, checkpoints).expect("verify")
        }

        /// Replaces the tip commit by one whose tree has `edits` applied (`None` deletes),
        /// signed by `key` like the store signs.
        fn replace_tip(&self, edits: &[(&str, Option<&[u8]>)], key: &SigningKey) {
            let repo = self.repo();
            let refname = format!("refs/heads/{BRANCH}");
            let tip = repo
                .find_reference(&refname)
                .and_then(|r| r.peel_to_commit())
                .expect("tip");
            let mut tree = tip.tree().expect("tree").id();
            for (path, content) in edits {
                let parts: Vec<&str> = path.split('/').collect();
                tree = edit_tree(&repo, Some(tree), &parts, *content);
            }
            let tree = repo.find_tree(tree).expect("tree");
            let parents: Vec<git2::Commit<'_>> = tip.parents().collect();
            let parents: Vec<&git2::Commit<'_>> = parents.iter().collect();
            let buffer = repo
                .commit_create_buffer(
                    &tip.author(),
                    &tip.committer(),
                    tip.message().expect("utf-8"),
                    &tree,
                    &parents,
                )
                .expect("buffer");
            let content = buffer.as_str().expect("utf-8");
            let signature = key.sign_git_commit(content).expect("sign");
            let commit = repo
                .commit_signed(content, &signature, Some("gpgsig"))
                .expect("commit");
            repo.reference(&refname, commit, true, "tamper")
                .expect("move");
        }

        fn tip_file(&self, path: &str) -> Vec<u8> {
            let repo = self.repo();
            let tree = repo
                .revparse_single(&format!("{BRANCH}^{{tree}}"))
                .and_then(|o| o.peel_to_tree())
                .expect("tree");
            let entry = tree.get_path(std::path::Path::new(path)).expect(path);
            let blob = repo.find_blob(entry.id()).expect("blob");
            blob.content().to_vec()
        }
    }

    fn edit_tree(
        repo: &Repository,
        base: Option<Oid>,
        path: &[&str],
        content: Option<&[u8]>,
    ) -> Oid {
        let base = base.map(|oid| repo.find_tree(oid).expect("tree"));
        let mut builder = repo.treebuilder(base.as_ref()).expect("builder");
        match path {
            [name] => match content {
                Some(bytes) => {
                    let blob = repo.blob(bytes).expect("blob");
                    builder.insert(name, blob, 0o100644).expect("insert");
                }
                None => builder.remove(name).expect("remove"),
            },
            [dir, rest @ ..] => {
                let existing = base
                    .as_ref()
                    .and_then(|t| t.get_name(dir))
                    .map(|entry| entry.id());
                let subtree = edit_tree(repo, existing, rest, content);
                builder.insert(dir, subtree, 0o040000).expect("insert");
            }
            [] => unreachable!("a path has a name"),
        }
        builder.write().expect("write tree")
    }

    fn whats(report: &Report) -> String {
        report
            .problems
            .iter()
            .map(|p| format!("{:?} {}\n", p.seq, p.what))
            .collect()
    }

    #[test]
    fn record_paths_are_only_where_the_store_puts_them() {
        assert_eq!(record_seq("records/000000/000/000000000007.json"), Some(7));
        assert_eq!(
            record_seq("records/000001/002/000001002003.json"),
            Some(1_002_003)
        );
        assert_eq!(record_seq("records/000000/001/000000000007.json"), None);
        assert_eq!(record_seq("records/000000/000/7.json"), None);
        assert_eq!(record_seq("records/000000/000/000000000007.json.sig"), None);
        assert_eq!(record_seq("elsewhere/000000/000/000000000007.json"), None);
    }

    #[test]
    fn tree_order_puts_a_directory_after_a_file_named_like_it_with_a_dot() {
        let entry = |name: &'static str, is_tree| Entry {
            name: name.as_bytes(),
            id: Oid::zero(),
            mode: if is_tree { TREE_MODE } else { REGULAR_FILE },
        };
        // "a.json" < "a/" because '.' < '/', while "a" < "a.json" for two files.
        assert_eq!(
            git_order(&entry("a.json", false), &entry("a", true)),
            std::cmp::Ordering::Less
        );
        assert_eq!(
            git_order(&entry("a", false), &entry("a.json", false)),
            std::cmp::Ordering::Less
        );
    }

    #[test]
    fn raw_trees_must_be_sorted_without_repeats() {
        let entry = |mode: &str, name: &str| {
            let mut raw = format!("{mode} {name}\0").into_bytes();
            raw.extend_from_slice(&[7; 20]);
            raw
        };
        let sorted = [entry("100644", "a.json"), entry("40000", "a")].concat();
        let names: Vec<&[u8]> = parse_entries(&sorted, None)
            .expect("sorted")
            .iter()
            .map(|e| e.name)
            .collect();
        assert_eq!(names, [&b"a.json"[..], b"a"]);
        let last = last_entry(&sorted).expect("parses").expect("an entry");
        assert!(last.is_tree());
        // The fast path's tail must come after the old tree's last entry.
        assert!(parse_entries(&entry("100644", "a.json"), Some(last)).is_err());

        let repeated = [entry("100644", "b"), entry("100644", "b")].concat();
        assert!(parse_entries(&repeated, None)
            .expect_err("repeated")
            .contains("b is out of order or repeated"));
        let unsorted = [entry("100644", "b"), entry("100644", "a")].concat();
        assert!(parse_entries(&unsorted, None).is_err());
        assert!(parse_entries(b"100644 a\0short", None).is_err());
        assert!(parse_entries(&entry("10x644", "a"), None).is_err());
    }

    #[test]
    fn an_intact_log_verifies_and_reports_its_head() {
        let log = Log::new(3);
        let report = log.verify(&[]);
        assert!(report.is_intact(), "{}", whats(&report));
        assert_eq!((report.records, report.commits), (3, 3));
        assert_eq!(report.origin.as_deref(), Some(ORIGIN));
        let head = report.head.expect("a head");
        let last = &log.appended[2];
        assert_eq!(head.seq, 2);
        assert_eq!(head.commit, last.commit);
        assert_eq!(head.record_sha256, last.record_sha256);
        assert_eq!(head.merkle_root, last.merkle_root);
        assert_eq!(
            head.checkpoint_line.as_deref(),
            Some(last.checkpoint_line.as_str())
        );
    }

    #[test]
    fn given_checkpoints_match_as_lines_and_as_notes() {
        let log = Log::new(3);
        let line = log.appended[1].checkpoint_line.clone();
        let note = note::checkpoint_from_line(&line).expect("note");
        let report = log.verify(&[line, note]);
        assert!(report.is_intact(), "{}", whats(&report));
        assert_eq!(report.checkpoints_matched, 2);

        let report = log.verify(&["driftlog-checkpoint v1 nonsense".to_owned()]);
        assert!(
            whats(&report).contains("checkpoint 1 you gave: malformed"),
            "{}",
            whats(&report)
        );
    }

    #[test]
    fn a_missing_branch_cannot_be_verified() {
        let log = Log::new(1);
        let result = verify_log(&log.repo(), "nope", &log.allowed, &[]);
        assert!(
            matches!(result, Err(VerifyError::NoBranch { .. })),
            "{result:?}"
        );
    }

    #[test]
    fn a_record_copied_from_another_branch_is_a_problem() {
        let log = Log::build(1, BRANCH, "elsewhere/audit", ORIGIN);
        let report = log.verify(&[]);
        let problems = whats(&report);
        assert!(
            problems.contains("the record belongs to the branch \"elsewhere/audit\""),
            "{problems}"
        );
    }

    #[test]
    fn a_checkpoint_for_another_log_is_a_problem() {
        let log = Log::build(1, BRANCH, BRANCH, "example.com/other/driftlog/audit");
        let report = log.verify(&[]);
        assert!(
            whats(&report)
                .contains("checkpoint/note is for the log \"example.com/other/driftlog/audit\""),
            "{}",
            whats(&report)
        );
    }

    #[test]
    fn a_forged_frontier_is_a_problem() {
        let log = Log::new(3);
        log.replace_tip(
            &[(
                "checkpoint/frontier.json",
                Some(br#"{"hashes":[],"size":0}"#),
            )],
            &log.key,
        );
        let report = log.verify(&[]);
        assert_eq!(report.problems.len(), 1, "{}", whats(&report));
        assert!(
            whats(&report).contains("checkpoint/frontier.json is not the recomputed compact range"),
            "{}",
            whats(&report)
        );
    }

    #[test]
    fn a_checkpoint_signed_by_an_unknown_key_is_a_problem() {
        let log = Log::new(2);
        let stranger = Log::new(2);
        let note = stranger.tip_file("checkpoint/note");
        log.replace_tip(&[("checkpoint/note", Some(&note))], &log.key);
        let report = log.verify(&[]);
        assert!(
            whats(&report).contains(
                "checkpoint/note is not a checkpoint signed by an allowed key: the note has no \
                 valid signature by a known key"
            ),
            "{}",
            whats(&report)
        );
        assert_eq!(report.head.and_then(|h| h.checkpoint_line), None);
    }

    #[test]
    fn a_re_serialized_record_is_not_canonical() {
        let log = Log::new(1);
        let path = "records/000000/000/000000000000.json";
        let value: serde_json::Value = serde_json::from_slice(&log.tip_file(path)).expect("record");
        let pretty = serde_json::to_vec_pretty(&value).expect("pretty");
        let signature = log.key.sign(DRIFTLOG_NAMESPACE, &pretty).expect("sign");
        log.replace_tip(
            &[
                (path, Some(&pretty)),
                (&format!("{path}.sig"), Some(signature.as_bytes())),
            ],
            &log.key,
        );
        let problems = whats(&log.verify(&[]));
        assert!(problems.contains("is not canonical JSON"), "{problems}");
    }

    #[test]
    fn the_readme_may_only_be_added_by_the_first_commit() {
        let log = Log::new(2);
        log.replace_tip(
            &[("README.md", Some(b"edited\n")), ("checkpoint/note", None)],
            &log.key,
        );
        let problems = whats(&log.verify(&[]));
        assert!(
            problems.contains("also changes README.md, deletes checkpoint/note"),
            "{problems}"
        );
        assert!(
            problems.contains("checkpoint/note is missing"),
            "{problems}"
        );
    }
}
