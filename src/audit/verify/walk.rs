//! The branch walk: every commit, oldest first, checked against what the store writes.
//!
//! In batches: the commits' objects are read one after another ([`super::read`], each tree
//! diffed against its parent's), their signatures and records are checked on every core
//! ([`super::check`]), and then each commit is concluded in order: seqs, the hash chain, one
//! log id, times, the recomputed Merkle tree against its checkpoint.

use std::collections::HashMap;

use git2::{Oid, Repository};

use super::check::{self, unix_time, CommitChecked, CommitFiles, RecordChecked, RecordFiles};
use super::commit;
use super::read::{note_verifiers, read_in_order, CommitReader};
use super::tree::short_hash;
use super::{LogHead, Problem, Report, SignerCount, MAX_PROBLEMS};
use crate::audit::merkle::{CompactRange, Hash};
use crate::audit::note::{self, Checkpoint, NoteVerifier};
use crate::audit::pending::FOLDED_SUFFIX;
use crate::audit::record::{LogId, Record, GENESIS_PREV, LOG_TIME_SCHEMA};
use crate::audit::recorder::{checkpoint_origin, same_repository};
use crate::audit::sshsig::{AllowedSigners, VerifiedSignature, DRIFTLOG_NAMESPACE};
use crate::audit::store::{
    hex, message_record, CHECKPOINT_DIR, FRONTIER_FILE, MESSAGE_PREFIX, NOTE_FILE,
};

/// How far a record's time and its commit's may differ (the store writes them equal).
pub const TIME_BOUND_SECONDS: i64 = 300;

/// What is known of a record once read.
struct RecordSeen {
    seq: u64,
    sha256: String,
    signing_key: Option<String>,
    log: Option<LogId>,
}

/// The order-dependent facts of the last record: what the next must not go back on.
#[derive(Clone, Copy)]
struct Clock {
    schema: u32,
    record_time: i64,
    commit_time: i64,
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

    /// Trusted checkpoint verifiers under the key name `origin`.
    fn verifiers(&mut self, origin: &str) -> Vec<NoteVerifier> {
        let keys = &self.note_keys;
        self.verifiers
            .entry(origin.to_owned())
            .or_insert_with(|| note_verifiers(keys, origin))
            .clone()
    }

    /// Opens a signed checkpoint with the allowed keys, under the origin it names.
    fn open(&mut self, signed: &str) -> Result<Checkpoint, String> {
        let origin = signed.split('\n').next().unwrap_or_default();
        let verifiers = self.verifiers(origin);
        if verifiers.is_empty() {
            return Err(
                "the allowed signers have no Ed25519 key for the driftlog namespace".to_owned(),
            );
        }
        note::open_checkpoint(signed, &verifiers)
            .map(|opened| opened.checkpoint)
            .map_err(|e| e.to_string())
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

    /// Concludes one added record and extends the chain and the tree with it.
    fn record(
        &mut self,
        commit: &CommitFiles,
        files: &RecordFiles,
        checked: Option<RecordChecked>,
    ) -> Option<RecordSeen> {
        let oid = commit.oid;
        let Some(checked) = checked else {
            let what = files.bytes.as_ref().err().cloned().unwrap_or_default();
            self.problem(Some(oid), Some(files.seq_in_path), what);
            return None;
        };
        let path = &files.path;
        let mut problems: Vec<String> = Vec::new();
        match &checked.signature {
            None => problems.push(format!(
                "{path} has no detached signature ({path}.sig): not read further"
            )),
            Some(Err(err)) => problems.push(format!(
                "the record's signature ({path}.sig) is refused: {err}; not read further"
            )),
            Some(Ok(_)) => {}
        }
        let record = match checked.record {
            Some(Ok(record)) => Some(record),
            Some(Err(err)) => {
                problems.push(format!("{path} is not a driftlog record: {err}"));
                None
            }
            None => None,
        };
        if checked.signature.as_ref().is_some_and(|s| s.is_ok()) && !checked.canonical {
            problems.push(format!(
                "{path} is not canonical JSON (RFC 8785): driftlog did not write these bytes"
            ));
        }
        let seq = record.as_ref().map_or(files.seq_in_path, |r| r.seq);
        if seq != files.seq_in_path {
            problems.push(format!(
                "{path} holds record seq {seq}: it was moved or renamed"
            ));
        }
        // A signed record can claim any seq, u64::MAX included.
        let expected = self.max_seq.map_or(0, |max| max.saturating_add(1));
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
            self.check_log_id(record, &mut problems);
            self.check_time(record, commit.time, &checked.signature, &mut problems);
            if let Some(Ok(signer)) = &checked.signature {
                self.count_signer(signer);
                if record.signing_key != signer.fingerprint {
                    problems.push(format!(
                        "the record names signing_key {}, but {} signed it",
                        record.signing_key, signer.fingerprint
                    ));
                }
            }
        }
        if let Some((blob, verdict)) = &checked.pending {
            if let Err(why) = verdict {
                problems.push(format!(
                    "{path}{FOLDED_SUFFIX}, the pending entry record {seq} was folded from, {why}"
                ));
            }
            match self.folded.get(blob) {
                Some(first) => problems.push(format!(
                    "record {seq} repeats the pending entry already folded as record {first}: \
                     one record was folded twice"
                )),
                None => {
                    self.folded.insert(*blob, seq);
                }
            }
        }
        for what in problems {
            self.problem(Some(oid), Some(seq), what);
        }

        if self.range.append(checked.leaf).is_err() {
            self.problem(Some(oid), Some(seq), "the Merkle tree is full");
        }
        self.roots.push(self.range.root());
        self.record_commits.push(oid);
        self.last = Some((seq, checked.sha256.clone()));
        self.max_seq = Some(self.max_seq.map_or(seq, |max| max.max(seq)));
        Some(RecordSeen {
            seq,
            sha256: checked.sha256,
            signing_key: record.as_ref().map(|r| r.signing_key.clone()),
            log: record.map(|r| r.log),
        })
    }

    /// One log, one id: the first record fixes it, and it must be this repository's.
    fn check_log_id(&mut self, record: &Record, problems: &mut Vec<String>) {
        match &self.log_id {
            None => {
                if let Some(expected) = self.repository {
                    if !same_repository(&record.log.repository, expected) {
                        problems.push(format!(
                            "the log belongs to the repository {:?}, not this one \
                             ({expected:?}): it was copied from another log",
                            record.log.repository
                        ));
                    }
                }
                self.log_id = Some(record.log.clone());
            }
            Some(log) if log.repository != record.log.repository => problems.push(format!(
                "the record belongs to the log of {:?}, but the log's first record fixed {:?}: \
                 it was copied from another log",
                record.log.repository, log.repository
            )),
            Some(_) => {}
        }
        if record.log.branch != self.branch {
            problems.push(format!(
                "the record belongs to the branch {:?}, not {:?}: it was copied from another log",
                record.log.branch, self.branch
            ));
        }
    }

    /// Time only moves forward (from schema 3 on, when the writer guarantees it): the record's
    /// time agrees with its commit's, neither goes back, and the signing key was valid then.
    fn check_time(
        &mut self,
        record: &Record,
        commit_time: i64,
        signature: &Option<Result<VerifiedSignature, String>>,
        problems: &mut Vec<String>,
    ) {
        let previous = self.clock;
        if let Some(previous) = previous {
            if record.schema_version < previous.schema {
                problems.push(format!(
                    "the record has schema {} after a record of schema {}: records cannot go \
                     back to an older format",
                    record.schema_version, previous.schema
                ));
            }
        }
        if record.schema_version < LOG_TIME_SCHEMA {
            self.clock = Some(Clock {
                schema: record.schema_version,
                record_time: i64::MIN,
                commit_time: i64::MIN,
            });
            return;
        }
        let Some(record_time) = humantime::parse_rfc3339(&record.time)
            .ok()
            .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
            .and_then(|d| i64::try_from(d.as_secs()).ok())
        else {
            problems.push(format!(
                "the record's time {:?} is not an RFC 3339 UTC time",
                record.time
            ));
            return;
        };
        let apart = (record_time - commit_time).abs();
        if apart > TIME_BOUND_SECONDS {
            problems.push(format!(
                "the record's time {} and its commit's differ by {apart} s, more than \
                 {TIME_BOUND_SECONDS} s",
                record.time
            ));
        }
        if let Some(previous) = previous.filter(|p| p.schema >= LOG_TIME_SCHEMA) {
            if record_time < previous.record_time {
                problems.push(format!(
                    "the record's time {} is {} s before the previous record's: times in a log \
                     only move forward",
                    record.time,
                    previous.record_time - record_time
                ));
            }
            if commit_time < previous.commit_time {
                problems.push(format!(
                    "the commit's time is {} s before the previous commit's: times in a log \
                     only move forward",
                    previous.commit_time - commit_time
                ));
            }
        }
        if let Some(Ok(signer)) = signature {
            if let Err(err) =
                self.allowed
                    .authorize_at(&signer.key, DRIFTLOG_NAMESPACE, unix_time(record_time))
            {
                problems.push(format!("at the record's time {}: {err}", record.time));
            }
        }
        self.clock = Some(Clock {
            schema: record.schema_version,
            record_time: previous.map_or(record_time, |p| p.record_time.max(record_time)),
            commit_time: previous.map_or(commit_time, |p| p.commit_time.max(commit_time)),
        });
    }

    fn count_signer(&mut self, signer: &VerifiedSignature) {
        match self
            .signers
            .iter_mut()
            .find(|s| s.fingerprint == signer.fingerprint && s.principal == signer.principal)
        {
            Some(known) => known.records += 1,
            None => self.signers.push(SignerCount {
                principal: signer.principal.clone(),
                fingerprint: signer.fingerprint.clone(),
                records: 1,
            }),
        }
    }

    fn check_message(&mut self, oid: Oid, first: &[u8], record: &RecordSeen) {
        let expected = format!("{MESSAGE_PREFIX}{} sha256:{}", record.seq, record.sha256);
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

    fn check_commit_signature(
        &mut self,
        oid: Oid,
        verified: &Result<VerifiedSignature, String>,
        records: &[RecordSeen],
        seq: Option<u64>,
    ) {
        match verified {
            Err(err) => self.problem(Some(oid), seq, err.clone()),
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

    /// Checks the commit's checkpoint note and frontier; returns the note if it verified and
    /// matched the recomputed tree.
    fn check_checkpoint(
        &mut self,
        files: &CommitFiles,
        opened: Result<Checkpoint, String>,
        records: &[RecordSeen],
        seq: Option<u64>,
    ) -> Option<String> {
        let oid = files.oid;
        let note_path = format!("{CHECKPOINT_DIR}/{NOTE_FILE}");
        let signed = match &files.note {
            Ok((signed, _)) => signed.clone(),
            Err(err) => {
                self.problem(Some(oid), seq, err.clone());
                return None;
            }
        };
        let checkpoint = match opened {
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
        let disagreement =
            if let Some(added) = added_seq.filter(|s| s.checked_add(1) != Some(checkpoint.size)) {
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
                match &files.frontier {
                    Err(err) => Some(err.clone()),
                    Ok(bytes) => match serde_json::from_slice::<CompactRange>(bytes) {
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

    /// Incremental verification: finds the commit that holds record `size - 1` of the
    /// checkpoint `since` and proves the branch consistent with it there (that commit signed
    /// by an allowed key, its frontier the compact range of exactly that size and root, so
    /// every later tree extends the checkpoint's). Returns the commits after it, oldest
    /// first, with the walk's state set as if it had read everything before; `None` (with a
    /// problem said) when the branch is not consistent with it or it is not for this log.
    pub(super) fn start_from(&mut self, since: &str, tip: Oid) -> Option<Vec<Oid>> {
        let (checkpoint, signed) = match self.parse_given(since) {
            Ok(opened) => opened,
            Err(err) => {
                self.problem(None, None, format!("the --since checkpoint {err}"));
                return None;
            }
        };
        let size = checkpoint.size;
        let base_seq = size.checked_sub(1)?;
        let odb = match self.repo.odb() {
            Ok(odb) => odb,
            Err(err) => {
                self.problem(None, None, format!("cannot read the branch: {err}"));
                return None;
            }
        };
        let read_raw = |oid: Oid| commit::read(&odb, oid);
        let mut after = Vec::new();
        let mut next = Some(tip);
        let (base_oid, base) = loop {
            let Some(oid) = next else {
                self.problem(
                    None,
                    Some(base_seq),
                    format!(
                        "the --since checkpoint has {size} records, but no commit of the branch \
                         adds record {base_seq}: records were removed or the history rewritten"
                    ),
                );
                return None;
            };
            let commit = match read_raw(oid) {
                Ok(commit) => commit,
                Err(err) => {
                    self.problem(Some(oid), None, format!("cannot read the commit: {err}"));
                    return None;
                }
            };
            let summary = std::str::from_utf8(&commit.first_line).ok();
            match summary.and_then(message_record) {
                Some((seq, _)) if seq == base_seq => break (oid, commit),
                Some((seq, _)) if seq < base_seq => next = None,
                _ => {
                    after.push(oid);
                    next = commit.parents.first().copied();
                }
            }
        };
        // Diffed against its parent, the base commit adds just the checkpoint's last record;
        // the parent's frontier plus that record must be the checkpoint's, so the record is
        // the one the checkpoint committed to, not another put in its place.
        let parent_tree = match base.parents.first().map(|p| read_raw(*p)).transpose() {
            Ok(parent) => parent.map(|p| p.tree),
            Err(err) => {
                self.problem(Some(base_oid), Some(base_seq), format!("its parent: {err}"));
                return None;
            }
        };
        let note_keys = self.note_keys.clone();
        let mut reader = CommitReader::new(&odb, &note_keys);
        let files = reader.read_commit(base_oid, parent_tree, base.parents.is_empty(), true);
        let before = match parent_tree {
            None => Ok(CompactRange::new()),
            Some(tree) => reader.frontier_at(tree).and_then(|bytes| {
                serde_json::from_slice::<CompactRange>(&bytes).map_err(|e| e.to_string())
            }),
        };
        drop(reader);
        let checked = check::check(&files, self.allowed);
        let frontier = files
            .frontier
            .as_ref()
            .ok()
            .and_then(|bytes| serde_json::from_slice::<CompactRange>(bytes).ok());
        let record = checked.records.first().and_then(Option::as_ref);
        let parsed = record
            .and_then(|r| r.record.as_ref())
            .and_then(|r| r.as_ref().ok());
        let extended = match (&before, record) {
            (Ok(before), Some(record)) if before.size() == base_seq => {
                let mut extended = before.clone();
                extended.append(record.leaf).ok().map(|()| extended)
            }
            _ => None,
        };
        let inconsistent = match (&checked.signature, &frontier, parsed) {
            (Err(err), _, _) => Some(err.clone()),
            _ if !files.problems.is_empty() => Some(files.problems[0].1.clone()),
            _ if files.added_records != 1 => {
                Some(format!("it adds {} records, not one", files.added_records))
            }
            (_, None, _) => Some("its checkpoint/frontier.json is missing or malformed".into()),
            (_, Some(f), _) if f.size() != size || f.root() != checkpoint.root => Some(format!(
                "its frontier (size {}, root {}) is not the checkpoint's (size {size}, root {}): \
                 history before record {size} was rewritten",
                f.size(),
                short_hash(&hex(&f.root())),
                short_hash(&hex(&checkpoint.root))
            )),
            (_, _, None) => Some(format!("record {base_seq} there does not verify")),
            (_, _, Some(r)) if r.seq != base_seq => Some(format!(
                "the record there has seq {}, not {base_seq}",
                r.seq
            )),
            (_, Some(f), _) if extended.as_ref() != Some(f) => Some(format!(
                "record {base_seq} there is not the last record of the checkpoint's tree: it \
                 was replaced"
            )),
            _ => None,
        };
        if let Some(why) = inconsistent {
            self.problem(
                Some(base_oid),
                Some(base_seq),
                format!(
                    "the branch is not consistent with the --since checkpoint at size {size}: \
                     {why}; the whole log was verified instead"
                ),
            );
            return None;
        }
        let (record, parsed) = (record?, parsed?);
        let message = format!("{MESSAGE_PREFIX}{base_seq} sha256:{}", record.sha256);
        if files.first_line != message.as_bytes() {
            self.problem(
                Some(base_oid),
                Some(base_seq),
                "the commit of the --since checkpoint's last record does not name its bytes; the \
                 whole log was verified instead",
            );
            return None;
        }
        // What the walk would know having read everything up to here.
        self.range = frontier?;
        self.offset = size;
        self.last = Some((base_seq, record.sha256.clone()));
        self.max_seq = Some(base_seq);
        self.parent_tree = Some(files.tree);
        self.log_id = None;
        let mut ignored = Vec::new();
        self.check_log_id(parsed, &mut ignored);
        self.check_time(parsed, files.time, &record.signature, &mut ignored);
        for what in ignored {
            self.problem(Some(base_oid), Some(base_seq), what);
        }
        self.origins.push(checkpoint.origin.clone());
        // With nothing after it, the checkpoint to keep is the one given, which verified.
        self.tip = Some((base_oid, Some(signed)));
        self.since = Some(size);
        self.since_root = Some(checkpoint.root);
        self.matched += 1;
        after.reverse();
        Some(after)
    }

    /// A checkpoint given by the caller, opened: the one-line form or a pasted note.
    fn parse_given(&mut self, text: &str) -> Result<(Checkpoint, String), String> {
        let trimmed = text.trim();
        let signed = if trimmed.starts_with("driftlog-checkpoint") {
            note::checkpoint_from_line(trimmed).map_err(|e| format!("is malformed: {e}"))?
        } else {
            // A note pasted from a file may have lost its final newline or gained spaces.
            format!("{}\n", text.trim_end())
        };
        let checkpoint = self
            .open(&signed)
            .map_err(|err| format!("is not signed by an allowed key: {err}"))?;
        Ok((checkpoint, signed))
    }

    /// Checks one checkpoint given by the caller (`number` counts from 1, for messages).
    pub(super) fn given_checkpoint(&mut self, number: usize, text: &str) {
        let checkpoint = match self.parse_given(text) {
            Ok((checkpoint, _)) => checkpoint,
            Err(err) => {
                self.problem(None, None, format!("checkpoint {number} you gave {err}"));
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
        let records = self.offset + self.roots.len() as u64;
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
        if size == 0 {
            // The empty tree is a prefix of every log.
            self.matched += 1;
            return;
        }
        if size < self.offset {
            self.problem(
                None,
                None,
                format!(
                    "checkpoint {number} you gave (size {size}) is older than the --since \
                     checkpoint ({}): verify without --since to check it",
                    self.offset
                ),
            );
            return;
        }
        let index = (size > self.offset)
            .then(|| usize::try_from(size - 1 - self.offset).ok())
            .flatten();
        let root = match index {
            Some(index) => self.roots.get(index).copied(),
            None => self.since_root,
        };
        if root != Some(checkpoint.root) {
            let commit = index.and_then(|i| self.record_commits.get(i)).copied();
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
