//! The chain of records as the walk meets them: each record's seq (0, 1, 2, ... without gaps
//! or repeats, stored under its own), its `prev` the SHA-256 of the record before, one log id,
//! who signed it, and its commit's message and signature naming the same record and key.

use git2::Oid;

use super::{RecordSeen, Walk};
use crate::audit::pending::FOLDED_SUFFIX;
use crate::audit::record::{Record, GENESIS_PREV};
use crate::audit::recorder::same_repository;
use crate::audit::sshsig::VerifiedSignature;
use crate::audit::store::MESSAGE_PREFIX;
use crate::audit::verify::check::{CommitFiles, RecordChecked, RecordFiles};
use crate::audit::verify::tree::short_hash;
use crate::audit::verify::SignerCount;

impl Walk<'_, '_> {
    /// Concludes one added record and extends the chain and the tree with it.
    pub(super) fn record(
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
            self.check_references(seq, &checked.sha256, record, &mut problems);
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
    pub(super) fn check_log_id(&mut self, record: &Record, problems: &mut Vec<String>) {
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

    pub(super) fn check_message(&mut self, oid: Oid, first: &[u8], record: &RecordSeen) {
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

    pub(super) fn check_commit_signature(
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
}
