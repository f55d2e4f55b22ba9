//! What can be checked of a commit without knowing the rest of the log: its signatures, and
//! its record's bytes (canonical JSON, a [`Record`] holding what its kind must,
//! [`Record::check_kind`]). These, with reading the commit, are most
//! of verification's cost, so they run on every core ([`super::read::read_in_order`]); what
//! depends on the order of the log (seqs, the chain, times, the tree) is decided after, one
//! commit at a time.
//!
//! A record is parsed only once its detached signature verified: bytes nobody trusted wrote
//! are hashed, never interpreted.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use git2::Oid;

use crate::audit::canonical;
use crate::audit::merkle::{self, Hash};
use crate::audit::note::{self, Checkpoint, NoteVerifier};
use crate::audit::pending::{self, PendingEntry};
use crate::audit::record::Record;
use crate::audit::sshsig::{self, AllowedSigners, VerifiedSignature};
use crate::audit::sshsig::{DRIFTLOG_NAMESPACE, GIT_NAMESPACE};
use crate::audit::store::sha256_hex;

/// A record file a commit adds, as read (bounded) from the object database.
pub(super) struct RecordFiles {
    pub(super) path: String,
    pub(super) seq_in_path: u64,
    pub(super) bytes: Result<Vec<u8>, String>,
    /// The detached signature, `None` when the commit does not add one.
    pub(super) signature: Option<Result<Vec<u8>, String>>,
    /// For a record folded from a pending ref: the blob id of its pending entry
    /// (`<path>.pending`) and the entry as read (bounded by [`pending::MAX_ENTRY_BYTES`]).
    pub(super) pending: Option<(Oid, Result<Vec<u8>, String>)>,
}

/// One commit, as read: everything the checks need, so that they need no repository.
pub(super) struct CommitFiles {
    pub(super) oid: Oid,
    pub(super) parents: usize,
    /// The committer time, Unix seconds.
    pub(super) time: i64,
    pub(super) first_line: Vec<u8>,
    /// The armored signature and the signed content, or why there is none.
    pub(super) signature: Result<(String, Vec<u8>), String>,
    pub(super) tree: Oid,
    /// Problems found while reading, with the seq they belong to.
    pub(super) problems: Vec<(Option<u64>, String)>,
    /// How many record files the commit adds (only the first is read).
    pub(super) added_records: usize,
    /// The seq the commit is about, from its record's path or the position.
    pub(super) seq: Option<u64>,
    pub(super) records: Vec<RecordFiles>,
    /// `checkpoint/note` as text, and the verifiers for the origin it names.
    pub(super) note: Result<(String, Arc<[NoteVerifier]>), String>,
    /// Whether the note's signature is checked too: for the tip (its checkpoint is the one
    /// to keep) and where a walk starts from a checkpoint. Every other note is covered by its
    /// commit's signature and compared with the recomputed tree; its signature line must
    /// still name an allowed key.
    pub(super) verify_note: bool,
    pub(super) frontier: Result<Vec<u8>, String>,
}

/// A record, checked.
pub(super) struct RecordChecked {
    pub(super) sha256: String,
    pub(super) leaf: Hash,
    /// The detached signature at the commit's time; `None` when there is none.
    pub(super) signature: Option<Result<VerifiedSignature, String>>,
    pub(super) canonical: bool,
    /// The record, when its signature verified.
    pub(super) record: Option<Result<Record, String>>,
    /// For a folded record: its pending entry's blob id, and why the entry is refused or is
    /// not this record placed at its seq, if so.
    pub(super) pending: Option<(Oid, Result<(), String>)>,
}

/// A commit, checked.
pub(super) struct CommitChecked {
    /// One per [`CommitFiles::records`] entry; `None` where the bytes could not be read.
    pub(super) records: Vec<Option<RecordChecked>>,
    pub(super) signature: Result<VerifiedSignature, String>,
    pub(super) note: Result<Checkpoint, String>,
}

/// Checks one commit's signatures and record.
pub(super) fn check(files: &CommitFiles, allowed: &AllowedSigners) -> CommitChecked {
    let time = unix_time(files.time);
    let records = files
        .records
        .iter()
        .map(|record| {
            let bytes = record.bytes.as_ref().ok()?;
            Some(check_record(record, bytes, allowed, time))
        })
        .collect();
    let signature = files
        .signature
        .as_ref()
        .map_err(Clone::clone)
        .and_then(|(armored, signed)| {
            sshsig::verify_at(armored, GIT_NAMESPACE, signed, allowed, None, time)
                .map_err(|e| format!("the commit signature is refused: {e}"))
        });
    let note = files
        .note
        .as_ref()
        .map_err(Clone::clone)
        .and_then(|(signed, verifiers)| {
            if verifiers.is_empty() {
                return Err(
                    "the allowed signers have no Ed25519 key for the driftlog namespace".into(),
                );
            }
            if files.verify_note {
                note::open_checkpoint(signed, verifiers)
                    .map(|opened| opened.checkpoint)
                    .map_err(|e| e.to_string())
            } else {
                note::checkpoint_naming_known_key(signed, verifiers).map_err(|e| e.to_string())
            }
        });
    CommitChecked {
        records,
        signature,
        note,
    }
}

fn check_record(
    files: &RecordFiles,
    bytes: &[u8],
    allowed: &AllowedSigners,
    time: SystemTime,
) -> RecordChecked {
    let signature = files.signature.as_ref().map(|armored| {
        let armored = armored.as_ref().map_err(Clone::clone)?;
        let armored =
            std::str::from_utf8(armored).map_err(|_| "the signature is not text".to_owned())?;
        sshsig::verify_at(armored, DRIFTLOG_NAMESPACE, bytes, allowed, None, time)
            .map_err(|e| e.to_string())
    });
    let trusted = matches!(signature, Some(Ok(_)));
    let record = trusted.then(|| {
        serde_json::from_slice::<Record>(bytes)
            .map_err(|e| e.to_string())
            .and_then(|record| record.check_kind().map(|()| record))
    });
    let pending = files.pending.as_ref().map(|(blob, entry)| {
        let placed = record.as_ref().and_then(|r| r.as_ref().ok());
        (*blob, check_pending(files, entry, bytes, placed, allowed))
    });
    RecordChecked {
        sha256: sha256_hex(bytes),
        leaf: merkle::leaf_hash(bytes),
        signature,
        canonical: trusted && canonical::is_canonical(bytes),
        record,
        pending,
    }
}

/// A folded record's pending entry: signed by a key the trust root allowed when the record was
/// made, of the record's log, and holding exactly this record before it was placed at its seq.
/// `placed` is the branch's record, when its own signature verified: only then are its bytes
/// compared (bytes nobody trusted wrote are not interpreted).
fn check_pending(
    files: &RecordFiles,
    entry: &Result<Vec<u8>, String>,
    bytes: &[u8],
    placed: Option<&Record>,
    allowed: &AllowedSigners,
) -> Result<(), String> {
    let entry = entry.as_ref().map_err(Clone::clone)?;
    let entry = PendingEntry::verify(entry, allowed, placed.map(|r| &r.log))
        .map_err(|why| format!("is refused: {why}"))?;
    let seq = files.seq_in_path;
    if placed.is_some() && !pending::is_placed(&entry.record, seq, bytes) {
        return Err(format!(
            "holds another record than {}: the record on the branch is not the one its maker \
             signed, placed at seq {seq}",
            files.path
        ));
    }
    Ok(())
}

pub(super) fn unix_time(seconds: i64) -> SystemTime {
    SystemTime::UNIX_EPOCH + Duration::from_secs(u64::try_from(seconds).unwrap_or(0))
}
