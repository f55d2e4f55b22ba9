//! The branch walk: every commit, oldest first, checked against what the store writes.

use std::collections::HashMap;
use std::rc::Rc;
use std::time::{Duration, SystemTime};

use git2::{ErrorCode, ObjectType, Odb, Oid, Repository};

use super::tree::{
    classify, describe_unexpected, display, git_order, join, last_entry, parse_entries, removed,
    short_hash, AddedRecord, Change, ChangeKind, Entry,
};
use super::{LogHead, Problem, Report, SignerCount, MAX_PROBLEMS};
use crate::audit::canonical;
use crate::audit::merkle::{self, CompactRange, Hash};
use crate::audit::note::{self, Checkpoint, NoteVerifier};
use crate::audit::record::{LogId, Record, GENESIS_PREV};
use crate::audit::recorder::{checkpoint_origin, same_repository};
use crate::audit::sshsig::{self, AllowedSigners, DRIFTLOG_NAMESPACE, GIT_NAMESPACE};
use crate::audit::store::{
    hex, sha256_hex, CHECKPOINT_DIR, FRONTIER_FILE, MESSAGE_PREFIX, NOTE_FILE,
};

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
    /// This repository's identity, when known: the log's id must be it.
    repository: Option<&'a str>,
    /// The log's id, as its first record (or the first record read) fixed it.
    log_id: Option<LogId>,
    signers: Vec<SignerCount>,
    problems: Vec<Problem>,
    problems_total: u64,
}

impl<'r, 'a> Walk<'r, 'a> {
    pub(super) fn new(
        repo: &'r Repository,
        odb: Odb<'r>,
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
            repository,
            log_id: None,
            signers: Vec::new(),
            problems: Vec::new(),
            problems_total: 0,
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

    pub(super) fn commit(&mut self, oid: Oid, is_root: bool) {
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
            match &self.log_id {
                None => {
                    if let Some(expected) = self.repository {
                        if !same_repository(&record.log.repository, expected) {
                            problems.push(format!(
                                "the log belongs to the repository {:?}, not this one ({expected:?}): \
                                 it was copied from another log",
                                record.log.repository
                            ));
                        }
                    }
                    self.log_id = Some(record.log.clone());
                }
                Some(log) if log.repository != record.log.repository => problems.push(format!(
                    "the record belongs to the log of {:?}, but the log's first record fixed \
                     {:?}: it was copied from another log",
                    record.log.repository, log.repository
                )),
                Some(_) => {}
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
                            self.count_signer(&signer);
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

    fn count_signer(&mut self, signer: &sshsig::VerifiedSignature) {
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
    pub(super) fn given_checkpoint(&mut self, number: usize, text: &str) {
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
            records: self.roots.len() as u64,
            commits: self.commits,
            head,
            checkpoints_matched: self.matched,
            log_repository: self.log_id.map(|log| log.repository),
            signers: self.signers,
            since: None,
            problems: self.problems,
            problems_total: self.problems_total,
        }
    }
}
