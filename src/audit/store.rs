//! The audit branch as git objects: records, their detached signatures, and the signed
//! checkpoint, written with git2 directly.
//!
//! Appending never touches the working tree, the index or HEAD of the repository: it writes
//! blobs, trees and one signed commit, then moves only the audit ref, and only if it still
//! points where it pointed when the append began (compare-and-swap), so two writers cannot
//! both extend the same tip.
//!
//! Layout of every commit's tree:
//!
//! ```text
//! README.md                                   how to verify, written by the first commit
//! checkpoint/note                             signed note: origin, size, Merkle root
//! checkpoint/frontier.json                    the Merkle tree's right edge, to extend it in O(log n)
//! records/000000/000/000000000000.json        record seq 0, canonical JSON
//! records/000000/000/000000000000.json.sig    its SSHSIG (namespace "driftlog")
//! records/000000/000/000000000001.json.pending  only for a record folded from a pending ref:
//!                                             the entry its maker signed (see `pending`)
//! ```
//!
//! Records are sharded by thousands and millions so an append rewrites trees of bounded
//! size, however long the log grows.

use std::path::{Path, PathBuf};

use git2::{ErrorCode, Oid, Repository, Signature, Tree};

use super::canonical;
use super::merkle::{self, CompactRange};
use super::note::{self, Checkpoint, NoteSigner, SignerError};
use super::objects::{self, CommitError, Modes};
use super::record::{ChainPosition, LogId, Record};
use super::sshsig::SigningKey;

pub const DEFAULT_BRANCH: &str = "driftlog/audit";
pub const README_FILE: &str = "README.md";
pub const CHECKPOINT_DIR: &str = "checkpoint";
pub const NOTE_FILE: &str = "note";
pub const FRONTIER_FILE: &str = "frontier.json";
pub const RECORDS_DIR: &str = "records";
/// The first line of every audit commit message: `driftlog: record <seq> sha256:<hex>`.
pub const MESSAGE_PREFIX: &str = "driftlog: record ";

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("git: {0}")]
    Git(#[from] git2::Error),
    #[error(
        "the audit branch {branch} moved while this record was being written (another writer \
         appended first)"
    )]
    Moved { branch: String },
    #[error("the audit branch {branch} is damaged at {commit}: {problem}; run `driftlog verify`")]
    Damaged {
        branch: String,
        commit: String,
        problem: String,
    },
    #[error(
        "the audit branch {branch} holds the log of {log}, not of {record}: it was copied from \
         another log, and nothing is appended to it"
    )]
    ForeignLog {
        branch: String,
        log: String,
        record: String,
    },
    #[error(
        "the audit branch {branch} is checked out in the worktree {} (see `git worktree \
         list`); driftlog moves that branch without a working tree, which would leave the \
         worktree behind its HEAD: switch it to another branch (`git -C {} switch --detach`)",
        worktree.display(),
        worktree.display()
    )]
    CheckedOut { branch: String, worktree: PathBuf },
    #[error("encoding the record: {0}")]
    Encode(String),
    #[error("signing: {0}")]
    Sign(String),
}

/// The seq and record hash an audit commit's first line names.
pub fn message_record(summary: &str) -> Option<(u64, &str)> {
    let (seq, sha256) = summary
        .strip_prefix(MESSAGE_PREFIX)?
        .split_once(" sha256:")?;
    Some((seq.parse().ok()?, sha256))
}

/// Where a record lives in the tree: directories, then the file name.
pub fn record_path(seq: u64) -> [String; 3] {
    [
        format!("{:06}", seq / 1_000_000),
        format!("{:03}", (seq / 1_000) % 1_000),
        format!("{seq:012}.json"),
    ]
}

/// The newest record of a branch, as needed to append the next one.
#[derive(Debug, Clone)]
pub struct Head {
    pub commit: Oid,
    pub seq: u64,
    pub record_sha256: String,
    pub frontier: CompactRange,
    /// The log the record names; `None` if the record cannot be read as one.
    pub log: Option<LogId>,
    /// The later of the commit's time and the record's, in Unix seconds.
    pub time_unix: i64,
}

impl Head {
    fn next_position(&self) -> ChainPosition {
        ChainPosition {
            seq: self.seq + 1,
            prev: self.record_sha256.clone(),
        }
    }
}

/// What an append wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Appended {
    pub seq: u64,
    pub record_sha256: String,
    pub commit: String,
    pub merkle_root: String,
    /// The signed checkpoint as one line, for logs and pull-request comments.
    pub checkpoint_line: String,
}

/// The author and committer of audit commits.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Committer {
    pub name: String,
    pub email: String,
}

/// An audit branch in one repository.
pub struct AuditStore {
    repo: Repository,
    branch: String,
    /// The log's identity in checkpoints; also the note key name.
    origin: String,
}

impl AuditStore {
    /// Opens the repository at (or above) `path`.
    pub fn open(path: &Path, branch: &str, origin: &str) -> Result<Self, StoreError> {
        Ok(AuditStore {
            repo: Repository::discover(path)?,
            branch: branch.to_owned(),
            origin: origin.to_owned(),
        })
    }

    pub fn repository(&self) -> &Repository {
        &self.repo
    }

    /// The log's identity in checkpoints (`<repository>/<branch>`, one token).
    pub fn origin(&self) -> &str {
        &self.origin
    }

    pub fn refname(&self) -> String {
        format!("refs/heads/{}", self.branch)
    }

    fn damaged(&self, commit: Oid, problem: impl Into<String>) -> StoreError {
        StoreError::Damaged {
            branch: self.branch.clone(),
            commit: commit.to_string(),
            problem: problem.into(),
        }
    }

    pub fn branch(&self) -> &str {
        &self.branch
    }

    /// The branch's newest record, or `None` when the branch does not exist yet.
    pub fn head(&self) -> Result<Option<Head>, StoreError> {
        match self.repo.refname_to_id(&self.refname()) {
            Ok(oid) => self.head_at(oid).map(Some),
            Err(err) if err.code() == ErrorCode::NotFound => Ok(None),
            Err(err) => Err(err.into()),
        }
    }

    /// The log id the branch's records carry (its tip's; verify checks they all agree), or
    /// `None` when the branch does not exist yet.
    pub fn log_id(&self) -> Result<Option<LogId>, StoreError> {
        let Some(head) = self.head()? else {
            return Ok(None);
        };
        head.log
            .map(Some)
            .ok_or_else(|| self.damaged(head.commit, format!("record {} names no log", head.seq)))
    }

    /// What an append that wrote `commit` returned: its record and the checkpoint there.
    pub fn appended_at(&self, commit: Oid) -> Result<Appended, StoreError> {
        let head = self.head_at(commit)?;
        let tree = self.repo.find_commit(commit)?.tree()?;
        let signed = self
            .blob_at(&tree, &[CHECKPOINT_DIR, NOTE_FILE])?
            .and_then(|bytes| String::from_utf8(bytes).ok())
            .ok_or_else(|| self.damaged(commit, "no readable checkpoint/note"))?;
        let checkpoint_line = note::checkpoint_to_line(&signed)
            .map_err(|e| self.damaged(commit, format!("checkpoint/note: {e}")))?;
        Ok(Appended {
            seq: head.seq,
            record_sha256: head.record_sha256,
            commit: commit.to_string(),
            merkle_root: hex(&head.frontier.root()),
            checkpoint_line,
        })
    }

    /// The newest record as of `commit`, read through its checkpoint frontier.
    fn head_at(&self, commit: Oid) -> Result<Head, StoreError> {
        let tree = self.repo.find_commit(commit)?.tree()?;
        let frontier_bytes = self
            .blob_at(&tree, &[CHECKPOINT_DIR, FRONTIER_FILE])?
            .ok_or_else(|| self.damaged(commit, "no checkpoint/frontier.json"))?;
        let frontier: CompactRange = serde_json::from_slice(&frontier_bytes)
            .map_err(|_| self.damaged(commit, "checkpoint/frontier.json is malformed"))?;
        let Some(seq) = frontier.size().checked_sub(1) else {
            return Err(self.damaged(commit, "the checkpoint holds no record"));
        };
        let [a, b, file] = record_path(seq);
        let record = self
            .blob_at(&tree, &[RECORDS_DIR, &a, &b, &file])?
            .ok_or_else(|| self.damaged(commit, format!("record {seq} is missing")))?;
        #[derive(serde::Deserialize)]
        struct Named {
            log: LogId,
            time: String,
        }
        let named = serde_json::from_slice::<Named>(&record).ok();
        let record_time = named
            .as_ref()
            .and_then(|n| humantime::parse_rfc3339_weak(&n.time).ok())
            .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
            .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX));
        let commit_time = self.repo.find_commit(commit)?.time().seconds();
        Ok(Head {
            commit,
            seq,
            record_sha256: sha256_hex(&record),
            frontier,
            log: named.map(|n| n.log),
            time_unix: commit_time.max(record_time),
        })
    }

    fn blob_at(&self, tree: &Tree<'_>, path: &[&str]) -> Result<Option<Vec<u8>>, StoreError> {
        let path: std::path::PathBuf = path.iter().collect();
        match tree.get_path(&path) {
            Ok(entry) => Ok(Some(self.repo.find_blob(entry.id())?.content().to_vec())),
            Err(err) if err.code() == ErrorCode::NotFound => Ok(None),
            Err(err) => Err(err.into()),
        }
    }

    /// The worktree that has the branch checked out (its HEAD names it), if any: the main
    /// one of a repository that is not bare, or any linked one (`git worktree add`), whether
    /// its directory still exists or not, as git counts them.
    pub fn checked_out_in(&self) -> Result<Option<PathBuf>, StoreError> {
        let refname = self.refname();
        let names = |head: &Path| {
            std::fs::read_to_string(head).is_ok_and(|text| {
                text.strip_prefix("ref:")
                    .is_some_and(|target| target.trim() == refname)
            })
        };
        let common = self.repo.commondir();
        let opened;
        let main = if self.repo.is_worktree() {
            opened = Repository::open(common)?;
            &opened
        } else {
            &self.repo
        };
        if let Some(workdir) = main.workdir().filter(|_| names(&common.join("HEAD"))) {
            return Ok(Some(workdir.to_path_buf()));
        }
        for name in self.repo.worktrees()?.iter().flatten() {
            let admin = common.join("worktrees").join(name);
            if names(&admin.join("HEAD")) {
                let worktree = self
                    .repo
                    .find_worktree(name)
                    .map(|worktree| worktree.path().to_path_buf())
                    .unwrap_or(admin);
                return Ok(Some(worktree));
            }
        }
        Ok(None)
    }

    /// Fails with [`StoreError::CheckedOut`] when a worktree has the branch checked out:
    /// moving it would leave that worktree's files and index behind its HEAD.
    pub fn ensure_not_checked_out(&self) -> Result<(), StoreError> {
        match self.checked_out_in()? {
            Some(worktree) => Err(StoreError::CheckedOut {
                branch: self.branch.clone(),
                worktree,
            }),
            None => Ok(()),
        }
    }

    /// Appends the record `build` makes for the next position, signed with `key`, and moves
    /// the branch to it if nobody else moved it meanwhile, and no worktree has it checked out.
    pub fn append(
        &self,
        build: &dyn Fn(ChainPosition) -> Record,
        key: &SigningKey,
        committer: &Committer,
        time_unix: i64,
    ) -> Result<Appended, StoreError> {
        self.append_with(build, key, committer, time_unix, None)
    }

    /// [`AuditStore::append`] of a record folded from a pending ref: `pending_entry`, the
    /// entry file as its maker signed it, is stored next to the record
    /// (`<seq>.json.pending`, see [`super::pending`]).
    pub fn append_folded(
        &self,
        build: &dyn Fn(ChainPosition) -> Record,
        key: &SigningKey,
        committer: &Committer,
        time_unix: i64,
        pending_entry: &[u8],
    ) -> Result<Appended, StoreError> {
        self.append_with(build, key, committer, time_unix, Some(pending_entry))
    }

    fn append_with(
        &self,
        build: &dyn Fn(ChainPosition) -> Record,
        key: &SigningKey,
        committer: &Committer,
        time_unix: i64,
        pending_entry: Option<&[u8]>,
    ) -> Result<Appended, StoreError> {
        self.ensure_not_checked_out()?;
        let head = self.head()?;
        let position = head
            .as_ref()
            .map_or_else(ChainPosition::genesis, Head::next_position);
        // Times in a log only move forward: never before the record or commit before it.
        let time_unix = head
            .as_ref()
            .map_or(time_unix, |h| time_unix.max(h.time_unix));
        let log_time = humantime::format_rfc3339_seconds(
            std::time::UNIX_EPOCH
                + std::time::Duration::from_secs(u64::try_from(time_unix).unwrap_or(0)),
        )
        .to_string();
        let record = build(position).joined_at(&log_time);
        if let Some(log) = head.as_ref().and_then(|h| h.log.as_ref()) {
            if *log != record.log {
                return Err(StoreError::ForeignLog {
                    branch: self.branch.clone(),
                    log: log.repository.clone(),
                    record: record.log.repository.clone(),
                });
            }
        }
        let bytes = encode(&record)?;
        let record_sha256 = sha256_hex(&bytes);
        let record_signature = key
            .sign(super::sshsig::DRIFTLOG_NAMESPACE, &bytes)
            .map_err(|e| StoreError::Sign(e.to_string()))?;

        let mut frontier = head
            .as_ref()
            .map(|h| h.frontier.clone())
            .unwrap_or_default();
        frontier
            .append(merkle::leaf_hash(&bytes))
            .map_err(|e| StoreError::Encode(e.to_string()))?;
        let root = frontier.root();
        let checkpoint = Checkpoint::new(self.origin.clone(), frontier.size(), root);
        let signer = KeyNoteSigner {
            name: &self.origin,
            key,
        };
        let signed_note = note::sign_checkpoint(&checkpoint, &[&signer as &dyn NoteSigner])
            .map_err(|e| StoreError::Sign(e.to_string()))?;
        let checkpoint_line =
            note::checkpoint_to_line(&signed_note).map_err(|e| StoreError::Sign(e.to_string()))?;
        let frontier_json =
            serde_json::to_vec(&frontier).map_err(|e| StoreError::Encode(e.to_string()))?;

        let [a, b, file] = record_path(record.seq);
        let signature_file = format!("{file}.sig");
        let mut files: Vec<(Vec<&str>, &[u8])> = vec![
            (vec![RECORDS_DIR, &a, &b, &file], &bytes),
            (
                vec![RECORDS_DIR, &a, &b, &signature_file],
                record_signature.as_bytes(),
            ),
            (vec![CHECKPOINT_DIR, NOTE_FILE], signed_note.as_bytes()),
            (vec![CHECKPOINT_DIR, FRONTIER_FILE], &frontier_json),
        ];
        let pending_file = format!("{file}{}", super::pending::FOLDED_SUFFIX);
        if let Some(entry) = pending_entry {
            files.push((vec![RECORDS_DIR, &a, &b, &pending_file], entry));
        }
        let readme = readme(&self.branch);
        if head.is_none() {
            files.push((vec![README_FILE], readme.as_bytes()));
        }
        let parent = head
            .as_ref()
            .map(|h| self.repo.find_commit(h.commit))
            .transpose()?;
        let base_tree = parent.as_ref().map(|p| p.tree()).transpose()?;
        let tree_id = objects::write_tree(&self.repo, base_tree.as_ref(), &files, Modes::Plain)?;
        let tree = self.repo.find_tree(tree_id)?;

        let when = git2::Time::new(time_unix, 0);
        let signature = Signature::new(&committer.name, &committer.email, &when)?;
        let message = format!(
            "{MESSAGE_PREFIX}{} sha256:{record_sha256}\n\n{} ({}): {}\n",
            record.seq,
            record.stack.path,
            record.stack.workspace,
            record.result.as_str()
        );
        let parents: Vec<&git2::Commit<'_>> = parent.iter().collect();
        let commit = objects::commit_signed(&self.repo, &signature, &message, &tree, &parents, key)
            .map_err(StoreError::from)?;

        self.move_branch(head.as_ref().map(|h| h.commit), commit, record.seq)?;
        Ok(Appended {
            seq: record.seq,
            record_sha256,
            commit: commit.to_string(),
            merkle_root: hex(&root),
            checkpoint_line,
        })
    }

    /// Moves the branch from `old` to `new`, failing with [`StoreError::Moved`] if it no
    /// longer points at `old`.
    fn move_branch(&self, old: Option<Oid>, new: Oid, seq: u64) -> Result<(), StoreError> {
        let message = format!("driftlog: append record {seq}");
        let result = match old {
            Some(old) => self
                .repo
                .reference_matching(&self.refname(), new, true, old, &message)
                .map(drop),
            None => self
                .repo
                .reference(&self.refname(), new, false, &message)
                .map(drop),
        };
        match result {
            Ok(()) => Ok(()),
            Err(err)
                if matches!(
                    err.code(),
                    ErrorCode::Modified | ErrorCode::Exists | ErrorCode::Locked
                ) =>
            {
                Err(StoreError::Moved {
                    branch: self.branch.clone(),
                })
            }
            Err(err) => Err(err.into()),
        }
    }
}

impl From<CommitError> for StoreError {
    fn from(e: CommitError) -> Self {
        match e {
            CommitError::Git(e) => StoreError::Git(e),
            CommitError::NotUtf8 => StoreError::Encode("the commit is not UTF-8".to_owned()),
            CommitError::Sign(e) => StoreError::Sign(e.to_string()),
        }
    }
}

/// Record bytes: canonical JSON, so the hash is fixed by the content. Integers beyond
/// ±(2^53 - 1), which RFC 8785 would round, are written as strings instead.
pub fn encode(record: &Record) -> Result<Vec<u8>, StoreError> {
    let mut value = serde_json::to_value(record).map_err(|e| StoreError::Encode(e.to_string()))?;
    canonical::stringify_unsafe_integers(&mut value);
    canonical::to_canonical_vec(&value).map_err(|e| StoreError::Encode(e.to_string()))
}

pub use crate::digest::{hex, sha256_hex};

/// Signs checkpoints with the driftlog signing key under the log's name.
struct KeyNoteSigner<'a> {
    name: &'a str,
    key: &'a SigningKey,
}

impl NoteSigner for KeyNoteSigner<'_> {
    fn name(&self) -> &str {
        self.name
    }

    fn public_key(&self) -> [u8; 32] {
        self.key.public_key_bytes()
    }

    fn sign(&self, msg: &[u8]) -> Result<[u8; 64], SignerError> {
        Ok(self.key.sign_raw(msg))
    }
}

fn readme(branch: &str) -> String {
    format!(
        r#"# driftlog audit log

This branch (`{branch}`) is an append-only, hash-chained, signed log of drift scans written by
driftlog. Do not commit to it by hand; protect it with a ruleset that blocks force pushes and
deletions.

## Layout

- `records/<millions>/<thousands>/<seq>.json`: one record per scan, canonical JSON (RFC 8785).
  Each names the SHA-256 of the previous record's bytes in `prev` (zeros for seq 0).
- `records/.../<seq>.json.sig`: an SSH signature (SSHSIG, namespace `driftlog`) of that file.
- `records/.../<seq>.json.pending`: only beside a record that waited on the remote in a pending
  ref (`refs/driftlog/pending/...`) before a later writer folded it in: the entry as its maker
  signed it, `{{"format":"driftlog-pending v1","record":...,"signature":...}}`, the signature
  (namespace `driftlog`) over the line `driftlog-pending v1` and the record as made.
- `checkpoint/note`: a signed note (c2sp.org/tlog-checkpoint) with the number of records and
  the RFC 6962 Merkle root over all of them; `checkpoint/frontier.json` lets the next append
  extend the tree without reading every record.
- Every commit adds exactly one record, its signature and the new checkpoint, has one parent,
  names the record's seq and SHA-256 in its message, and is SSH-signed.

## Verify

With driftlog, from a clone (the allowed signers file lists the keys trusted to write):

    git fetch origin {branch}:{branch}
    driftlog verify --allowed-signers .driftlog/allowed_signers

With standard tools only:

    # every commit's signature
    git -c gpg.format=ssh -c gpg.ssh.allowedSignersFile=.driftlog/allowed_signers \
        log --show-signature {branch}
    # one record's detached signature (the principal as written in allowed_signers)
    git show {branch}:records/000000/000/000000000000.json > record.json
    git show {branch}:records/000000/000/000000000000.json.sig > record.json.sig
    ssh-keygen -Y verify -f .driftlog/allowed_signers -I PRINCIPAL -n driftlog \
        -s record.json.sig < record.json
    # the chain: each record's `prev` is the SHA-256 of the previous record file
    sha256sum record.json
"#
    )
}
