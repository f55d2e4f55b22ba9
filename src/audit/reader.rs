//! Reading the whole log back: every record on the branch's tip, in order, with the commit
//! that added it. For `history` and `explain`, which read each record once; `verify` is what
//! checks them.

use std::collections::HashMap;

use git2::{ErrorCode, ObjectType, Oid, Repository, Tree};

use super::record::Record;
use super::store::{message_record, sha256_hex, RECORDS_DIR};
use super::verify::read::{MAX_COMMIT_BYTES, MAX_RECORD_BYTES};

/// One record as stored, and where it came from.
#[derive(Debug, Clone)]
pub struct LogEntry {
    pub record: Record,
    /// SHA-256 (hex) of the record's exact bytes, as the next record's `prev` and a
    /// remediation's references name it.
    pub record_sha256: String,
    /// The commit that appended it, when the branch's first-parent history names it.
    pub commit: Option<String>,
    /// `records/…/000000000042.json`.
    pub path: String,
}

#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    #[error(
        "there is no branch {0} in the repository (to read a remote's log, git fetch origin \
         {0}:{0})"
    )]
    NoBranch(String),
    #[error("reading the audit branch {branch}: {source}")]
    Git { branch: String, source: git2::Error },
    #[error("{path} on {branch} is not an audit record ({message}); run `driftlog verify`")]
    NotARecord {
        branch: String,
        path: String,
        message: String,
    },
}

/// Every record on `branch`, oldest first (by seq).
pub fn read_log(repo: &Repository, branch: &str) -> Result<Vec<LogEntry>, ReadError> {
    let git = |source| ReadError::Git {
        branch: branch.to_owned(),
        source,
    };
    let tip = match repo.refname_to_id(&format!("refs/heads/{branch}")) {
        Ok(tip) => tip,
        Err(err) if err.code() == ErrorCode::NotFound => {
            return Err(ReadError::NoBranch(branch.to_owned()))
        }
        Err(err) => return Err(git(err)),
    };
    let commits = commits_by_seq(repo, tip).map_err(git)?;
    let tree = repo.find_commit(tip).and_then(|c| c.tree()).map_err(git)?;
    let mut entries = Vec::new();
    let odb = repo.odb().map_err(git)?;
    for (path, blob) in record_files(repo, &tree).map_err(git)? {
        // A hostile branch can hold a record of any size: its header says, before it is read.
        let (size, _) = odb.read_header(blob).map_err(git)?;
        if size > MAX_RECORD_BYTES {
            return Err(ReadError::NotARecord {
                branch: branch.to_owned(),
                path,
                message: format!(
                    "{size} bytes, more than the {MAX_RECORD_BYTES} a record may hold"
                ),
            });
        }
        let blob = repo.find_blob(blob).map_err(git)?;
        let record = serde_json::from_slice::<Record>(blob.content())
            .map_err(|err| err.to_string())
            .and_then(|record| record.check_kind().map(|()| record))
            .map_err(|message| ReadError::NotARecord {
                branch: branch.to_owned(),
                path: path.clone(),
                message,
            })?;
        let commit = commits.get(&record.seq).map(Oid::to_string);
        entries.push(LogEntry {
            record,
            record_sha256: sha256_hex(blob.content()),
            commit,
            path,
        });
    }
    entries.sort_by_key(|entry| entry.record.seq);
    Ok(entries)
}

/// The commit that added each seq, from the commit messages along the first parents.
fn commits_by_seq(repo: &Repository, tip: Oid) -> Result<HashMap<u64, Oid>, git2::Error> {
    let mut walk = repo.revwalk()?;
    walk.push(tip)?;
    walk.simplify_first_parent()?;
    let mut found = HashMap::new();
    let odb = repo.odb()?;
    for oid in walk {
        let oid = oid?;
        // An oversized commit names no record (verify reports it); its message is not read.
        if odb.read_header(oid)?.0 > MAX_COMMIT_BYTES {
            continue;
        }
        let commit = repo.find_commit(oid)?;
        if let Some((seq, _)) = commit.summary().and_then(message_record) {
            found.entry(seq).or_insert(oid);
        }
    }
    Ok(found)
}

/// The record files of a tree, oldest first, as (path, blob id).
pub fn record_files(repo: &Repository, tree: &Tree<'_>) -> Result<Vec<(String, Oid)>, git2::Error> {
    let Some(records) = tree.get_name(RECORDS_DIR) else {
        return Ok(Vec::new());
    };
    let mut files = Vec::new();
    // Shard and file names are zero-padded numbers: name order is seq order.
    let records = repo.find_tree(records.id())?;
    for (millions, millions_tree) in subtrees(repo, &records)? {
        for (thousands, shard) in subtrees(repo, &millions_tree)? {
            for entry in shard.iter() {
                let Some(name) = entry.name() else { continue };
                if entry.kind() == Some(ObjectType::Blob) && name.ends_with(".json") {
                    files.push((
                        format!("{RECORDS_DIR}/{millions}/{thousands}/{name}"),
                        entry.id(),
                    ));
                }
            }
        }
    }
    Ok(files)
}

fn subtrees<'r>(
    repo: &'r Repository,
    tree: &Tree<'_>,
) -> Result<Vec<(String, Tree<'r>)>, git2::Error> {
    tree.iter()
        .filter(|e| e.kind() == Some(ObjectType::Tree))
        .map(|e| {
            let name = String::from_utf8_lossy(e.name_bytes()).into_owned();
            Ok((name, repo.find_tree(e.id())?))
        })
        .collect()
}
