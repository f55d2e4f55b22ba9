//! Pending refs not folded yet: after the walk, the pending refs of the branch that fetches
//! left locally (`refs/driftlog/remotes/<remote>/pending/<branch>/<label>`, see
//! [`crate::audit::pending`]) are read and each entry verified against the trust root and the
//! log's id. An entry the branch already holds (a `.pending` with its blob id) was folded and
//! only its ref was not deleted yet; one that verifies waits for the next writer to fold it;
//! one that does not, or a ref that is not a pending commit, is a problem: nobody trusted
//! wrote it, and no writer will fold it, so it stays until someone looks at it.

use std::collections::HashMap;

use git2::{Oid, Repository};
use serde::Serialize;

use crate::audit::pending::{self, PendingEntry, TRACKING_REFS};
use crate::audit::record::LogId;
use crate::audit::sshsig::AllowedSigners;
use crate::audit::sync::MAX_FOLD_BYTES;

pub use crate::audit::pending::MAX_PENDING_REF_BYTES;

/// One pending ref of the branch, as found after a fetch.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PendingRef {
    /// Its name on the remote: `refs/driftlog/pending/<branch>/<label>`.
    #[serde(rename = "ref")]
    pub name: String,
    /// The remote whose fetch left it (`refs/driftlog/remotes/<remote>/...`).
    pub remote: String,
    /// The commit it points at, full hex.
    pub commit: String,
    /// The entries it holds (0 when it is not a pending commit).
    pub records: usize,
    /// Entries the branch holds already: folded, the ref not deleted yet.
    pub folded: usize,
    /// Entries that verified and wait to be folded.
    pub waiting: usize,
    /// Entries that do not verify: each is a problem.
    pub refused: usize,
    /// Why the ref itself is refused (not a pending commit driftlog writes), if it is.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

impl PendingRef {
    /// How to delete it on its remote.
    pub fn delete_command(&self) -> String {
        format!("git push {} :{}", self.remote, self.name)
    }
}

/// What the pending refs showed.
pub(super) struct Found {
    pub(super) refs: Vec<PendingRef>,
    /// Pending refs beyond [`pending::MAX_PENDING_REFS`], not read.
    pub(super) unread: u64,
    pub(super) problems: Vec<String>,
}

/// Reads and checks the pending refs of `branch` from every remote fetched, at most
/// [`pending::MAX_PENDING_REFS`] of them. `log` is the log's id (its entries must be of it);
/// `folded` the blob ids of the pending entries the branch holds.
pub(super) fn check(
    repo: &Repository,
    branch: &str,
    allowed: &AllowedSigners,
    log: Option<&LogId>,
    folded: &HashMap<Oid, u64>,
) -> Found {
    let mut found = Found {
        refs: Vec::new(),
        unread: 0,
        problems: Vec::new(),
    };
    let listed = match tracking_refs(repo, branch) {
        Ok(listed) => listed,
        Err(err) => {
            found
                .problems
                .push(format!("the pending refs cannot be listed: {err}"));
            return found;
        }
    };
    found.unread = listed.unread;
    // Headers first, then the smallest refs read, no more than MAX_FOLD_BYTES in all (as a
    // writer does): refs sharing one costly tree cost nothing to push and would take seconds
    // each to read.
    let checked: Vec<Result<pending::Entries, String>> = listed
        .refs
        .iter()
        .map(|(_, _, target)| {
            target
                .ok_or_else(|| "it is a symbolic ref, not a pending commit".to_owned())
                .and_then(|commit| pending::check_commit(repo, commit))
        })
        .collect();
    let mut by_size: Vec<(usize, usize)> = checked
        .iter()
        .enumerate()
        .filter_map(|(i, entries)| entries.as_ref().ok().map(|e| (e.bytes, i)))
        .collect();
    by_size.sort();
    let mut read = 0usize;
    let mut unread = std::collections::HashSet::new();
    for (bytes, i) in by_size {
        if read > 0 && read.saturating_add(bytes) > MAX_FOLD_BYTES {
            unread.insert(i);
        } else {
            read = read.saturating_add(bytes);
        }
    }
    for (i, ((remote, name, target), entries)) in listed.refs.into_iter().zip(checked).enumerate() {
        let mut checked = PendingRef {
            name,
            remote,
            commit: target.map_or_else(String::new, |oid| oid.to_string()),
            records: 0,
            folded: 0,
            waiting: 0,
            refused: 0,
            error: None,
        };
        let entries = entries.and_then(|entries| match unread.contains(&i) {
            true => Err(format!(
                "it was not read: with the others, the pending refs hold more than the \
                 {MAX_FOLD_BYTES} bytes one check reads ({} here)",
                entries.bytes
            )),
            false => pending::read_entries(repo, &entries),
        });
        let entries = match entries {
            Ok(entries) => entries,
            Err(why) => {
                found.problems.push(format!(
                    "pending ref {} is refused: {why}; it is kept; investigate and delete it \
                     (`{}`)",
                    checked.name,
                    checked.delete_command()
                ));
                checked.error = Some(why);
                found.refs.push(checked);
                continue;
            }
        };
        checked.records = entries.len();
        for (index, bytes) in entries.iter().enumerate() {
            if folded.contains_key(&pending::blob_id(bytes)) {
                checked.folded += 1;
                continue;
            }
            match PendingEntry::verify(bytes, allowed, log) {
                Ok(_) => checked.waiting += 1,
                Err(why) => {
                    checked.refused += 1;
                    found.problems.push(format!(
                        "pending ref {} entry {index:04}.json is refused: {why}; it is kept; \
                         investigate and delete it (`{}`)",
                        checked.name,
                        checked.delete_command()
                    ));
                }
            }
        }
        found.refs.push(checked);
    }
    found
}

struct Listed {
    /// Remote, name on the remote, and the commit (`None` for a symbolic ref), by name.
    refs: Vec<(String, String, Option<Oid>)>,
    unread: u64,
}

/// The tracking refs of `branch`'s pending refs, from any remote.
fn tracking_refs(repo: &Repository, branch: &str) -> Result<Listed, git2::Error> {
    let prefix = format!("{TRACKING_REFS}/");
    let middle = format!("/pending/{branch}");
    let mut listed = Listed {
        refs: Vec::new(),
        unread: 0,
    };
    for reference in repo.references_glob(&format!("{prefix}*"))? {
        let reference = reference?;
        let Some(name) = reference.name() else {
            continue;
        };
        // `<remote>/pending/<branch>/<label>`: a label holds no slash, a remote name may.
        let Some((remote, label)) = name
            .strip_prefix(&prefix)
            .and_then(|rest| rest.rsplit_once('/'))
            .and_then(|(before, label)| Some((before.strip_suffix(&middle)?, label)))
            .filter(|(remote, label)| !remote.is_empty() && !label.is_empty())
        else {
            continue;
        };
        // Only a fetch from a remote this repository has writes these (and prunes them);
        // anything under another name was put there by hand, or by whatever wrote `.git`.
        if repo.find_remote(remote).is_err() {
            continue;
        }
        if listed.refs.len() == pending::MAX_PENDING_REFS {
            listed.unread += 1;
            continue;
        }
        listed.refs.push((
            remote.to_owned(),
            pending::remote_ref(branch, label),
            reference.target(),
        ));
    }
    listed.refs.sort();
    Ok(listed)
}
