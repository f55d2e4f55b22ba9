//! Checkpoints against the recomputed tree: each commit's signed note and frontier (its size
//! the records so far, its root the RFC 6962 root over their bytes; one problem when they
//! stop agreeing, until one agrees again), and the checkpoints the caller kept, which must be
//! roots of this log at their size.

use super::{RecordSeen, Walk};
use crate::audit::merkle::CompactRange;
use crate::audit::note::{self, Checkpoint, NoteVerifier};
use crate::audit::recorder::checkpoint_origin;
use crate::audit::store::{hex, CHECKPOINT_DIR, FRONTIER_FILE, NOTE_FILE};
use crate::audit::verify::check::CommitFiles;
use crate::audit::verify::read::note_verifiers;
use crate::audit::verify::tree::short_hash;

impl Walk<'_, '_> {
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

    /// Checks the commit's checkpoint note and frontier; returns the note if it verified and
    /// matched the recomputed tree.
    pub(super) fn check_checkpoint(
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

    /// A checkpoint given by the caller, opened: the one-line form or a pasted note.
    pub(super) fn parse_given(&mut self, text: &str) -> Result<(Checkpoint, String), String> {
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
    pub(in crate::audit::verify) fn given_checkpoint(&mut self, number: usize, text: &str) {
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
}
