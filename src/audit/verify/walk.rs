//! The branch walk: every commit, oldest first, checked against what the store writes.
//!
//! In batches: the commits' objects are read one after another ([`super::read`], each tree
//! diffed against its parent's), their signatures and records are checked on every core
//! ([`super::check`]), and then each commit is concluded in order: seqs, the hash chain, one
//! log id, times, the recomputed Merkle tree against its checkpoint.
//!
//! This file holds the walk's state and the order of a commit's conclusion; the rules are in
//! its parts: [`chain`] (seqs, the hash chain, one log id, the commit's message and
//! signature), [`time`] (times only move forward), [`checkpoint`] (each commit's checkpoint
//! against the recomputed tree, and the checkpoints the caller gives), [`since`] (starting
//! from a checkpoint instead of the root), [`references`] (a remediation's records).

use std::collections::HashMap;

use git2::{Oid, Repository};

use super::check::{CommitChecked, CommitFiles};
use super::read::read_in_order;
use super::{LogHead, Problem, Report, SignerCount, MAX_PROBLEMS};
use crate::audit::merkle::{CompactRange, Hash};
use crate::audit::note::{self, NoteVerifier};
use crate::audit::record::LogId;
use crate::audit::sshsig::{AllowedSigners, DRIFTLOG_NAMESPACE};
use crate::audit::store::hex;
use time::Clock;

mod chain;
mod checkpoint;
mod references;
mod since;
mod time;

pub use time::TIME_BOUND_SECONDS;

/// What is known of a record once read.
struct RecordSeen {
    seq: u64,
    sha256: String,
    signing_key: Option<String>,
    log: Option<LogId>,
}

pub(super) struct Walk<'r, 'a> {
    repo: &'r Repository,
    branch: &'a str,
    allowed: &'a AllowedSigners,
    /// Allowed Ed25519 keys that may sign in the driftlog namespace: the checkpoint signers.
    note_keys: Vec<[u8; 32]>,
    verifiers: HashMap<String, Vec<NoteVerifier>>,
    parent_tree: Option<Oid>,
    /// The previous record in history order: its seq and SHA-256.
    last: Option<(u64, String)>,
    max_seq: Option<u64>,
    clock: Option<Clock>,
    range: CompactRange,
    /// Records before the walk started (`--since`): proven through a checkpoint, not read.
    offset: u64,
    /// `roots[i]` is the recomputed root over the first `offset + i + 1` records.
    roots: Vec<Hash>,
    /// The commit that added each record read, in history order.
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
    /// This repository's identity, when known: the log's id must be it.
    repository: Option<&'a str>,
    /// The log's id, as its first record (or the first record read) fixed it.
    log_id: Option<LogId>,
    signers: Vec<SignerCount>,
    since: Option<u64>,
    since_root: Option<Hash>,
    problems: Vec<Problem>,
    problems_total: u64,
    /// The blob id of each pending entry folded into the records read, and the seq it became:
    /// one entry folded twice is a problem, and a pending ref whose entries are all here was
    /// folded (its ref not deleted yet).
    folded: HashMap<Oid, u64>,
    /// Each record read, by seq, for the remediations after it that name it.
    referable: HashMap<u64, references::Referable>,
}

impl<'r, 'a> Walk<'r, 'a> {
    pub(super) fn new(
        repo: &'r Repository,
        branch: &'a str,
        allowed: &'a AllowedSigners,
        repository: Option<&'a str>,
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
            parent_tree: None,
            last: None,
            max_seq: None,
            clock: None,
            range: CompactRange::new(),
            offset: 0,
            roots: Vec::new(),
            record_commits: Vec::new(),
            tree_in_sync: true,
            disagreeing_later: 0,
            origins: Vec::new(),
            tip: None,
            commits: 0,
            matched: 0,
            repository,
            log_id: None,
            signers: Vec::new(),
            since: None,
            since_root: None,
            problems: Vec::new(),
            problems_total: 0,
            folded: HashMap::new(),
            referable: HashMap::new(),
        }
    }

    pub(super) fn problem(
        &mut self,
        commit: Option<Oid>,
        seq: Option<u64>,
        what: impl Into<String>,
    ) {
        self.problems_total += 1;
        if self.problems.len() >= MAX_PROBLEMS {
            return;
        }
        self.problems.push(Problem {
            commit: commit.map(|c| c.to_string()),
            seq,
            what: what.into(),
        });
    }

    /// Walks `chain` (oldest first; its first commit is the root when `from_root`), reading
    /// and checking commits on `threads` workers and concluding them here, in order.
    pub(super) fn commits(&mut self, chain: &[Oid], from_root: bool, threads: usize) {
        let path = self.repo.path().to_owned();
        let (allowed, note_keys) = (self.allowed, std::mem::take(&mut self.note_keys));
        let parent_tree = self.parent_tree;
        let read = read_in_order(
            &path,
            chain,
            parent_tree,
            from_root,
            allowed,
            &note_keys,
            threads,
            |files, checked| self.conclude(&files, checked),
        );
        self.note_keys = note_keys;
        if let Err(err) = read {
            self.problem(None, None, format!("reading the branch stopped: {err}"));
        }
    }

    /// Everything about one commit that depends on the log before it.
    fn conclude(&mut self, files: &CommitFiles, checked: CommitChecked) {
        let oid = files.oid;
        self.commits += 1;
        if files.parents > 1 {
            self.problem(
                Some(oid),
                None,
                format!(
                    "is a merge commit ({} parents): the audit branch must be one line of \
                     commits; only the first parent was followed",
                    files.parents
                ),
            );
        }
        let position = files
            .seq
            .or_else(|| self.max_seq.map(|s| s.saturating_add(1)));
        for (seq, what) in &files.problems {
            self.problem(Some(oid), seq.or(position), what.clone());
        }
        let mut seen = Vec::new();
        for (record, result) in files.records.iter().zip(checked.records) {
            if let Some(record) = self.record(files, record, result) {
                seen.push(record);
            }
        }
        let seq = seen.last().map(|r| r.seq).or(position);
        match files.added_records {
            0 => self.problem(
                Some(oid),
                seq,
                "adds no record: every audit commit adds exactly one",
            ),
            1 => {}
            several => self.problem(
                Some(oid),
                seq,
                format!(
                    "adds {several} records: every audit commit adds exactly one (only the \
                     first was read)"
                ),
            ),
        }
        if let Some(last) = seen.last() {
            self.check_message(oid, &files.first_line, last);
        }
        self.check_commit_signature(oid, &checked.signature, &seen, seq);
        let note = self.check_checkpoint(files, checked.note, &seen, seq);
        self.tip = Some((oid, note));
    }

    /// The log's id, as its first record fixed it.
    pub(super) fn log_id(&self) -> Option<&LogId> {
        self.log_id.as_ref()
    }

    /// The blob ids of the pending entries folded into the records read, and their seqs.
    pub(super) fn folded(&self) -> &HashMap<Oid, u64> {
        &self.folded
    }

    pub(super) fn finish(mut self) -> Report {
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
            records: self.offset + self.roots.len() as u64,
            commits: self.commits,
            head,
            checkpoints_matched: self.matched,
            log_repository: self.log_id.map(|log| log.repository),
            signers: self.signers,
            since: self.since,
            pending: Vec::new(),
            pending_unread: 0,
            problems: self.problems,
            problems_total: self.problems_total,
        }
    }
}
