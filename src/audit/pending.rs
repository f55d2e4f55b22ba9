//! Pending refs: records that could not join the audit branch in time, kept on the remote
//! under a ref of their own until a writer folds them into the branch.
//!
//! A ref `refs/driftlog/pending/<branch>/<label>` (the label unique per run, job and
//! attempt) points at one signed commit without parents whose tree holds the records, one file
//! each, `0000.json`, `0001.json`, ... in the order they were made. Nobody else ever writes
//! that ref, so pushing it never conflicts. Each file is a *pending entry*:
//!
//! ```text
//! {"format":"driftlog-pending v1","record":"<canonical JSON>","signature":"-----BEGIN SSH SIGNATURE-----..."}
//! ```
//!
//! `record` is the record exactly as it was made (seq 0, genesis `prev`, the time it was made)
//! and `signature` an SSHSIG in the `driftlog` namespace over [`signed_message`]: the line
//! `driftlog-pending v1` then the record. A branch record's signature covers bytes that
//! start with `{`, so neither can pass for the other, and the allowed signers that already
//! let a key write the log (`namespaces="git,driftlog"`) let it write pending entries:
//!
//! ```text
//! printf 'driftlog-pending v1\n%s' "$record" | ssh-keygen -Y verify -f allowed_signers -I driftlog -n driftlog -s sig
//! ```
//!
//! A writer that folds pending entries appends each record at the branch's tip (its own
//! `seq` and `prev`; the time it joined, and when it was made in `made`) and stores the entry
//! file itself next to it as `records/.../<seq>.json.pending`, so the signature of whoever
//! made the record stays on the branch, checkable by `driftlog verify` or by hand. Whether a
//! pending entry was folded already is a question about the branch: a commit adding a
//! `.pending` blob with the entry's exact bytes (the same git blob id).
//!
//! Everything read from a pending ref is bounded ([`MAX_ENTRIES_PER_REF`],
//! [`MAX_ENTRY_BYTES`]) and checked before use; nothing in it is trusted for being there.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use git2::{FileMode, ObjectType, Oid, Repository, Signature};
use serde::{Deserialize, Serialize};

use super::objects::{self, CommitError, Modes};
use super::record::{ChainPosition, LogId, Record, GENESIS_PREV};
use super::sshsig::{self, AllowedSigners, SigningKey, VerifyError, DRIFTLOG_NAMESPACE};
use super::store::{self, Committer};

/// The `format` of a pending entry, and the first line of what its signature covers.
pub const PENDING_FORMAT: &str = "driftlog-pending v1";
/// Where pending refs live on the remote: `<prefix>/<branch>/<label>`.
pub const PENDING_REFS: &str = "refs/driftlog/pending";
/// Where a fetch keeps the remote's pending refs locally:
/// `<prefix>/<remote>/pending/<branch>/<label>`.
pub const TRACKING_REFS: &str = "refs/driftlog/remotes";
/// What the file of a folded record's pending entry is called, after the record's own name.
pub const FOLDED_SUFFIX: &str = ".pending";
/// The most records one pending ref may hold; a ref with more is refused.
pub const MAX_ENTRIES_PER_REF: usize = 1000;
/// The largest pending entry read (a record plus its signature, quoted once).
pub const MAX_ENTRY_BYTES: usize = 32 << 20;
/// The most pending refs one fold reads; the rest wait for the next writer.
pub const MAX_PENDING_REFS: usize = 1000;
/// The most bytes of entries read from one pending ref (all its entries together, each also
/// within [`MAX_ENTRY_BYTES`]): a job's records, a few kilobytes each, fit many times over; a
/// ref built to hold a thousand entries of the largest size is refused unread.
pub const MAX_PENDING_REF_BYTES: usize = 256 << 20;

#[derive(Debug, thiserror::Error)]
pub enum PendingError {
    #[error("git: {0}")]
    Git(#[from] git2::Error),
    #[error("signing: {0}")]
    Sign(String),
    #[error("encoding the record: {0}")]
    Encode(String),
}

/// One record as made, with its signature, ready to push or just read and verified.
#[derive(Debug, Clone)]
pub struct PendingEntry {
    pub record: Record,
    /// The entry file, exactly as pushed and as stored next to the folded record.
    pub bytes: Vec<u8>,
}

#[derive(Serialize, Deserialize)]
struct EntryFile {
    format: String,
    record: String,
    signature: String,
}

/// What an entry's signature covers: [`PENDING_FORMAT`], a newline, then the record.
pub fn signed_message(record_json: &str) -> Vec<u8> {
    let mut message = Vec::with_capacity(PENDING_FORMAT.len() + 1 + record_json.len());
    message.extend_from_slice(PENDING_FORMAT.as_bytes());
    message.push(b'\n');
    message.extend_from_slice(record_json.as_bytes());
    message
}

impl PendingEntry {
    /// Signs `record` (made at the genesis position, as every record is before it joins).
    pub fn sign(record: &Record, key: &SigningKey) -> Result<PendingEntry, PendingError> {
        let record = record.rebased(ChainPosition::genesis());
        let bytes = store::encode(&record).map_err(|e| PendingError::Encode(e.to_string()))?;
        let json = String::from_utf8(bytes)
            .map_err(|_| PendingError::Encode("the record is not UTF-8".to_owned()))?;
        let signature = key
            .sign(DRIFTLOG_NAMESPACE, &signed_message(&json))
            .map_err(|e| PendingError::Sign(e.to_string()))?;
        let file = EntryFile {
            format: PENDING_FORMAT.to_owned(),
            record: json,
            signature,
        };
        let bytes = serde_json::to_vec(&file).map_err(|e| PendingError::Encode(e.to_string()))?;
        Ok(PendingEntry { record, bytes })
    }

    /// Reads and checks an entry file: its format, its signature by a key `allowed` trusts
    /// in the `driftlog` namespace at the time the record says it was made, a record that
    /// reads back to exactly the bytes signed, made at the genesis position, of `log`. The
    /// error says why not, in words.
    pub fn verify(
        bytes: &[u8],
        allowed: &AllowedSigners,
        log: Option<&LogId>,
    ) -> Result<PendingEntry, String> {
        if bytes.len() > MAX_ENTRY_BYTES {
            return Err(format!(
                "it is larger than {} bytes ({})",
                MAX_ENTRY_BYTES,
                bytes.len()
            ));
        }
        let file: EntryFile = serde_json::from_slice(bytes)
            .ok()
            .filter(|file: &EntryFile| file.format == PENDING_FORMAT)
            .ok_or_else(|| "it is not a driftlog pending entry".to_owned())?;
        // One spelling per record and signature, so the same entry always has the same blob
        // id: a copy re-spaced or re-wrapped is not a new entry to fold again.
        let canonical_signature = sshsig::rearmor(&file.signature);
        if serde_json::to_vec(&file).ok().as_deref() != Some(bytes)
            || canonical_signature.as_deref() != Some(file.signature.as_str())
        {
            return Err(
                "it is not written as driftlog writes a pending entry (re-encoded \
                        after it was signed)"
                    .to_owned(),
            );
        }
        let record: Record = serde_json::from_str(&file.record)
            .map_err(|err| format!("its record cannot be read ({err})"))?;
        if !matches!(store::encode(&record), Ok(again) if again == file.record.as_bytes()) {
            return Err("its record does not read back to the bytes signed".to_owned());
        }
        if record.seq != 0 || record.prev != GENESIS_PREV {
            return Err(
                "its record is placed in a log already (a pending record is made at \
                        seq 0 with the genesis prev)"
                    .to_owned(),
            );
        }
        let made = parse_time(record.made_at())
            .ok_or_else(|| format!("its record's time {:?} is not a time", record.made_at()))?;
        let signer = sshsig::verify_at(
            &file.signature,
            DRIFTLOG_NAMESPACE,
            &signed_message(&file.record),
            allowed,
            None,
            made,
        )
        .map_err(|err| why_not(&err))?;
        if signer.fingerprint != record.signing_key {
            return Err(format!(
                "its record names the signing key {}, but {} signed it",
                record.signing_key, signer.fingerprint
            ));
        }
        if let Some(log) = log {
            if record.log != *log {
                return Err(format!(
                    "its record belongs to the log of {} ({}), not this one",
                    record.log.repository, record.log.branch
                ));
            }
        }
        Ok(PendingEntry {
            record,
            bytes: bytes.to_vec(),
        })
    }

    /// The git blob id of the entry file: how a folded copy on the branch is recognised.
    pub fn blob_id(&self) -> Oid {
        blob_id(&self.bytes)
    }

    /// The time the record was made, for ordering.
    pub fn made(&self) -> &str {
        self.record.made_at()
    }
}

/// The git blob id `bytes` would have.
pub fn blob_id(bytes: &[u8]) -> Oid {
    // Hashing cannot fail for a blob held in memory; the zero id then matches nothing.
    Oid::hash_object(ObjectType::Blob, bytes).unwrap_or_else(|_| Oid::zero())
}

fn why_not(err: &VerifyError) -> String {
    match err {
        VerifyError::BadSignature => {
            "it was edited after it was signed (its signature no longer matches)".to_owned()
        }
        VerifyError::UnknownKey { fingerprint } => {
            format!("it is signed by a key this run does not trust ({fingerprint})")
        }
        other => format!("its signature is refused ({other})"),
    }
}

fn parse_time(text: &str) -> Option<SystemTime> {
    humantime::parse_rfc3339(text).ok()
}

/// The remote's ref for the pending records of `branch` labelled `label`.
pub fn remote_ref(branch: &str, label: &str) -> String {
    format!("{PENDING_REFS}/{branch}/{label}")
}

/// The remote's pending refs of `branch`, as a glob for a refspec.
pub fn remote_glob(branch: &str) -> String {
    format!("{PENDING_REFS}/{branch}/*")
}

/// Where a fetch from `remote` keeps the pending refs of `branch`.
pub fn tracking_prefix(remote: &str, branch: &str) -> String {
    format!("{TRACKING_REFS}/{remote}/pending/{branch}/")
}

/// A label for this run's pending ref: the parts that name the run (run id, attempt, job),
/// each reduced to characters a ref name may hold, then random hex, so two jobs of one matrix
/// (same run, same job name) never share it.
pub fn label(parts: &[&str]) -> String {
    let mut random = [0u8; 6];
    // Without randomness the time in nanoseconds still tells runs apart.
    if ring::rand::SecureRandom::fill(&ring::rand::SystemRandom::new(), &mut random).is_err() {
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or(Duration::ZERO)
            .as_nanos();
        random.copy_from_slice(&nanos.to_le_bytes()[..6]);
    }
    let mut label: Vec<String> = parts
        .iter()
        .map(|part| {
            part.chars()
                .map(|c| {
                    if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                        c
                    } else {
                        '-'
                    }
                })
                .take(64)
                .collect::<String>()
        })
        .filter(|part| !part.trim_matches('-').is_empty())
        .collect();
    label.push(store::hex(&random));
    label.join(".")
}

/// Writes the commit a pending ref points at: `entries` as `0000.json`, ... in a tree of
/// their own, no parents, signed with `key` like every audit commit.
pub fn write_commit(
    repo: &Repository,
    branch: &str,
    entries: &[PendingEntry],
    key: &SigningKey,
    committer: &Committer,
    time_unix: i64,
) -> Result<Oid, PendingError> {
    let names: Vec<String> = (0..entries.len()).map(entry_name).collect();
    let files: Vec<(Vec<&str>, &[u8])> = names
        .iter()
        .zip(entries)
        .map(|(name, entry)| (vec![name.as_str()], entry.bytes.as_slice()))
        .collect();
    let tree = repo.find_tree(objects::write_tree(repo, None, &files, Modes::Plain)?)?;
    let when = git2::Time::new(time_unix, 0);
    let signature = Signature::new(&committer.name, &committer.email, &when)?;
    let message = format!(
        "driftlog: {} pending record(s) for {branch}\n\nThey could not join the audit branch \
         in time; the next writer folds them into it.\n",
        entries.len()
    );
    objects::commit_signed(repo, &signature, &message, &tree, &[], key).map_err(|e| match e {
        CommitError::Git(e) => PendingError::Git(e),
        CommitError::NotUtf8 => PendingError::Encode("the commit is not UTF-8".to_owned()),
        CommitError::Sign(e) => PendingError::Sign(e.to_string()),
    })
}

fn entry_name(index: usize) -> String {
    format!("{index:04}.json")
}

/// The entry files of a pending commit, in order, each read within the bounds; an error says
/// why the commit is not one driftlog wrote (a tree of anything else, too many entries, a
/// file too large).
pub fn read_commit(repo: &Repository, commit: Oid) -> Result<Vec<Vec<u8>>, String> {
    read_entries(repo, &check_commit(repo, commit)?)
}

/// A pending commit's entries as its tree lists them, checked without loading any: their
/// blob ids in order, and how many bytes they hold together.
#[derive(Debug, Clone)]
pub struct Entries {
    pub ids: Vec<Oid>,
    pub bytes: usize,
}

/// Checks a pending commit as [`read_commit`] does, reading only object headers.
pub fn check_commit(repo: &Repository, commit: Oid) -> Result<Entries, String> {
    let commit = repo
        .find_commit(commit)
        .map_err(|e| format!("it is not a commit ({})", e.message()))?;
    if commit.parent_count() != 0 {
        return Err("its commit has parents (a pending commit stands alone)".to_owned());
    }
    let tree = commit
        .tree()
        .map_err(|e| format!("its tree cannot be read ({})", e.message()))?;
    if tree.len() > MAX_ENTRIES_PER_REF {
        return Err(format!(
            "it holds {} files, more than the {MAX_ENTRIES_PER_REF} a pending ref may",
            tree.len()
        ));
    }
    let odb = repo
        .odb()
        .map_err(|e| format!("the object database cannot be read ({})", e.message()))?;
    let mut total = 0usize;
    let mut ids = Vec::with_capacity(tree.len());
    for (index, entry) in tree.iter().enumerate() {
        if entry.name_bytes() != entry_name(index).as_bytes()
            || entry.kind() != Some(ObjectType::Blob)
            || entry.filemode() != i32::from(FileMode::Blob)
        {
            return Err(format!(
                "it holds {:?}, where {} was expected",
                String::from_utf8_lossy(entry.name_bytes()),
                entry_name(index)
            ));
        }
        let (size, _) = odb
            .read_header(entry.id())
            .map_err(|e| format!("{} cannot be read ({})", entry_name(index), e.message()))?;
        if size > MAX_ENTRY_BYTES {
            return Err(format!(
                "{} is larger than {MAX_ENTRY_BYTES} bytes ({size})",
                entry_name(index)
            ));
        }
        total = total.saturating_add(size);
        if total > MAX_PENDING_REF_BYTES {
            return Err(format!(
                "its entries are more than the {MAX_PENDING_REF_BYTES} bytes one pending ref may \
                 hold together"
            ));
        }
        ids.push(entry.id());
    }
    if ids.is_empty() {
        return Err("it holds no records".to_owned());
    }
    Ok(Entries { ids, bytes: total })
}

/// Loads the entries [`check_commit`] checked.
pub fn read_entries(repo: &Repository, entries: &Entries) -> Result<Vec<Vec<u8>>, String> {
    entries
        .ids
        .iter()
        .enumerate()
        .map(|(index, id)| {
            repo.find_blob(*id)
                .map(|blob| blob.content().to_vec())
                .map_err(|e| format!("{} cannot be read ({})", entry_name(index), e.message()))
        })
        .collect()
}

/// A pending ref as found locally after a fetch.
#[derive(Debug, Clone)]
pub struct FoundRef {
    /// Its name on the remote (`refs/driftlog/pending/<branch>/<label>`).
    pub remote_ref: String,
    pub commit: Oid,
}

/// The pending refs of `branch` a fetch from `remote` left, in name order, at most
/// [`MAX_PENDING_REFS`] (and whether there were more).
pub fn found(
    repo: &Repository,
    remote: &str,
    branch: &str,
) -> Result<(Vec<FoundRef>, bool), git2::Error> {
    let prefix = tracking_prefix(remote, branch);
    let mut refs = Vec::new();
    let mut more = false;
    for reference in repo.references_glob(&format!("{prefix}*"))? {
        let reference = reference?;
        let (Some(name), Some(commit)) = (reference.name(), reference.target()) else {
            continue;
        };
        let Some(label) = name.strip_prefix(&prefix) else {
            continue;
        };
        if refs.len() == MAX_PENDING_REFS {
            more = true;
            break;
        }
        refs.push(FoundRef {
            remote_ref: remote_ref(branch, label),
            commit,
        });
    }
    refs.sort_by(|a, b| a.remote_ref.cmp(&b.remote_ref));
    Ok((refs, more))
}

/// Whether `bytes`, a record on the branch at `seq`, is `made` placed there: the same bytes
/// once `seq`, `prev` and the time it joined the log are the branch's.
pub fn is_placed(made: &Record, seq: u64, bytes: &[u8]) -> bool {
    let Ok(value) = serde_json::from_slice::<serde_json::Value>(bytes) else {
        return false;
    };
    let (Some(prev), Some(time)) = (
        value.get("prev").and_then(serde_json::Value::as_str),
        value.get("time").and_then(serde_json::Value::as_str),
    ) else {
        return false;
    };
    let position = ChainPosition {
        seq,
        prev: prev.to_owned(),
    };
    store::encode(&made.rebased(position).joined_at(time)).is_ok_and(|placed| placed == bytes)
}

#[cfg(test)]
mod tests;
