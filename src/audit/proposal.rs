//! A proposal branch: one commit on top of the remote's default branch changing some files,
//! signed with the audit key, pushed for a pull request (the adopt pull request).
//!
//! Like the audit store it never touches HEAD, the index or the work tree: the remote's refs
//! are fetched into `refs/driftlog/proposals/<remote>/...`, the commit is written from
//! objects, and only that namespace, the remote branch and the remote-tracking refs that
//! libgit2 updates after a fetch or push (`refs/remotes/<remote>/...`, set to the remote's
//! real values, as `git fetch`/`git push` would) move. The remote branch is replaced
//! only when it is driftlog's own (one commit on the base, signed by this key or made by this
//! committer), so nobody's pushes to it are ever overwritten.

use std::path::Path;
use std::time::Duration;

use git2::{FileMode, ObjectType, Oid, Reference, Repository, Signature, Tree};

use super::objects::{self, CommitError, Modes};

use super::sshsig::SigningKey;
use super::store::Committer;
use super::sync::transport::{Attempt, Link};
use super::sync::{transport_timeout, Auth};

/// Where fetched and pushed proposal refs live locally, never under `refs/heads`.
const LOCAL_PREFIX: &str = "refs/driftlog/proposals";

pub struct ProposalRequest<'a> {
    /// Any path inside the work tree.
    pub repository: &'a Path,
    pub remote: &'a str,
    /// The default branch name, e.g. `main`.
    pub base: &'a str,
    /// The branch to push, e.g. `driftlog/adopt/infra-prod`.
    pub branch: &'a str,
    /// Repository-relative, `/`-separated paths and their new content.
    pub files: &'a [(String, Vec<u8>)],
    pub message: &'a str,
    /// Files whose content on the base must be exactly this (what the edit was made from):
    /// a proposal made from a stale checkout must not undo newer changes on the base.
    pub expected_base: &'a [(String, Vec<u8>)],
    pub signing_key: Option<&'a SigningKey>,
    pub committer: &'a Committer,
    pub auth: &'a Auth,
    /// How long a fetch or push may hear nothing; `None`: [`transport_timeout`].
    pub timeout: Option<Duration>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Proposed {
    /// The branch's commit (hex).
    pub commit: String,
    pub base_commit: String,
    /// `false`: the remote branch already held the same tree on the same base.
    pub pushed: bool,
}

#[derive(Debug, thiserror::Error)]
pub enum ProposalError {
    #[error("{0:?} is not a valid branch name")]
    InvalidBranch(String),
    #[error("{path:?} cannot be written by a proposal: {why}")]
    InvalidPath { path: String, why: &'static str },
    #[error(
        "{path} on {base} is not what this checkout has: it changed there since (or the \
         checkout is not on {base}); nothing was pushed: update the checkout and run again"
    )]
    BaseChanged { path: String, base: String },
    #[error("the remote {remote} has no branch {base} to propose on")]
    BaseMissing { remote: String, base: String },
    #[error(
        "the branch {branch} on {remote} is not driftlog's own ({why}); nothing was pushed: \
         delete it or choose another branch name"
    )]
    NotOurBranch {
        remote: String,
        branch: String,
        why: String,
    },
    #[error("{remote} rejected the branch {branch}: {reason}")]
    PushRejected {
        remote: String,
        branch: String,
        reason: String,
    },
    #[error("{0}")]
    Unreachable(String),
    #[error("signing the proposal commit: {0}")]
    Sign(String),
    #[error("opening the repository: {0}")]
    Open(#[from] super::OpenRepositoryError),
    #[error("git: {0}")]
    Git(String),
}

/// Builds the proposal commit on the remote's `base` and pushes it to `branch` (see the
/// module documentation).
pub fn propose(request: &ProposalRequest) -> Result<Proposed, ProposalError> {
    for name in [request.branch, request.base] {
        if !Reference::is_valid_name(&format!("refs/heads/{name}")) {
            return Err(ProposalError::InvalidBranch(name.to_owned()));
        }
    }
    let paths = request
        .files
        .iter()
        .map(|(path, content)| Ok((split_path(path)?, content.as_slice())))
        .collect::<Result<Vec<_>, ProposalError>>()?;
    let repo = super::discover_repository(request.repository)?;
    let timeout = request.timeout.unwrap_or_else(transport_timeout);
    let link = Link::new(&repo, request.remote, request.branch, request.auth, timeout)
        .map_err(|e| ProposalError::Git(e.message().to_owned()))?;
    let git = |e: git2::Error| ProposalError::Git(link.scrub(e.message()));
    let remote = request.remote;
    let base_ref = format!("{LOCAL_PREFIX}/{remote}/base/{}", request.base);
    let branch_ref = format!("{LOCAL_PREFIX}/{remote}/heads/{}", request.branch);
    let out_ref = format!("{LOCAL_PREFIX}/{remote}/out/{}", request.branch);
    // A branch deleted on the remote must not be judged by what an earlier call fetched.
    for stale in [&base_ref, &branch_ref] {
        if let Ok(mut reference) = repo.find_reference(stale) {
            reference.delete().map_err(git)?;
        }
    }
    link.fetch_refspecs(
        vec![
            format!("+refs/heads/{}:{base_ref}", request.base),
            format!("+refs/heads/{}:{branch_ref}", request.branch),
        ],
        false,
    )
    .map_err(|attempt| failed(&link, request.branch, attempt))?;
    let base_tip = repo
        .refname_to_id(&base_ref)
        .map_err(|_| ProposalError::BaseMissing {
            remote: link.display.clone(),
            base: request.base.to_owned(),
        })?;
    let base_commit = repo.find_commit(base_tip).map_err(git)?;
    let base_tree = base_commit.tree().map_err(git)?;
    check_paths(&repo, &base_tree, request.files, &paths)?;
    for (path, expected) in request.expected_base {
        let held = base_tree
            .get_path(Path::new(path))
            .ok()
            .and_then(|entry| repo.find_blob(entry.id()).ok())
            .map(|blob| blob.content().to_vec());
        if held.as_deref() != Some(expected.as_slice()) {
            return Err(ProposalError::BaseChanged {
                path: path.clone(),
                base: request.base.to_owned(),
            });
        }
    }
    let tree_id =
        objects::write_tree(&repo, Some(&base_tree), &paths, Modes::KeepExecutable).map_err(git)?;

    let existing = repo.refname_to_id(&branch_ref).ok();
    if let Some(tip) = existing {
        let commit = repo.find_commit(tip).map_err(git)?;
        // Judged before it is reused: someone else's commit of the same tree is still not
        // driftlog's signed proposal.
        if let Err(why) = ours(&repo, &commit, base_tip, request) {
            return Err(ProposalError::NotOurBranch {
                remote: link.display.clone(),
                branch: request.branch.to_owned(),
                why: link.scrub(&why),
            });
        }
        if commit.tree_id() == tree_id && commit.parent_ids().eq([base_tip]) {
            return Ok(Proposed {
                commit: tip.to_string(),
                base_commit: base_tip.to_string(),
                pushed: false,
            });
        }
    }

    let commit = write_commit(&repo, &base_commit, tree_id, request).map_err(|e| match e {
        CommitError::Git(e) => git(e),
        CommitError::NotUtf8 => ProposalError::Sign("the commit is not UTF-8".to_owned()),
        CommitError::Sign(e) => ProposalError::Sign(e.to_string()),
    })?;
    repo.reference(&out_ref, commit, true, "driftlog: proposal")
        .map_err(git)?;
    // Forced only over a branch `ours` accepted just now; a new branch is pushed unforced,
    // so one that someone created meanwhile is refused rather than replaced.
    let force = if existing.is_some() { "+" } else { "" };
    let pushed = link.push(vec![format!(
        "{force}{out_ref}:refs/heads/{}",
        request.branch
    )]);
    // The push's source only; whatever happened, it must not outlive the call.
    if let Ok(mut reference) = repo.find_reference(&out_ref) {
        reference.delete().map_err(git)?;
    }
    let pushed = pushed.map_err(|attempt| failed(&link, request.branch, attempt))?;
    let remote_ref = format!("refs/heads/{}", request.branch);
    if let Some(status) = pushed.statuses.get(&remote_ref).cloned().flatten() {
        let mut reason = status;
        if !pushed.server_said.is_empty() {
            reason.push_str(&format!(" (remote: {})", pushed.server_said));
        }
        return Err(ProposalError::PushRejected {
            remote: link.display.clone(),
            branch: request.branch.to_owned(),
            reason,
        });
    }
    repo.reference(&branch_ref, commit, true, "driftlog: proposal pushed")
        .map_err(git)?;
    Ok(Proposed {
        commit: commit.to_string(),
        base_commit: base_tip.to_string(),
        pushed: true,
    })
}

/// A fetch's or push's failure as the caller sees it; every message is scrubbed already.
fn failed(link: &Link<'_>, branch: &str, attempt: Attempt) -> ProposalError {
    match attempt {
        Attempt::Race(reason) | Attempt::Rejected(reason) => ProposalError::PushRejected {
            remote: link.display.clone(),
            branch: branch.to_owned(),
            reason,
        },
        Attempt::Transient(failure) | Attempt::Fatal(failure) => {
            ProposalError::Unreachable(link.scrub(&failure.to_string()))
        }
    }
}

/// Whether the remote branch's tip is driftlog's own proposal: one commit on some commit
/// of the base's history, signed by this key (or, without one, by this committer).
fn ours(
    repo: &Repository,
    commit: &git2::Commit<'_>,
    base_tip: Oid,
    request: &ProposalRequest,
) -> Result<(), String> {
    let id = commit.id();
    let parents: Vec<Oid> = commit.parent_ids().collect();
    let [parent] = parents.as_slice() else {
        return Err(format!("its tip {id} has {} parents", parents.len()));
    };
    let on_base =
        *parent == base_tip || repo.graph_descendant_of(base_tip, *parent).unwrap_or(false);
    if !on_base {
        return Err(format!(
            "its tip {id} is not one commit on {}'s history (someone pushed to it)",
            request.base
        ));
    }
    match request.signing_key {
        Some(key) => {
            let (signature, signed) = repo
                .extract_signature(&id, Some("gpgsig"))
                .map_err(|_| format!("its tip {id} is not signed"))?;
            let signed =
                std::str::from_utf8(&signed).map_err(|_| format!("its tip {id} is not UTF-8"))?;
            // Ed25519 signatures are deterministic: this key signing the same content gives
            // the same signature, and no other key does.
            let again = key
                .sign_git_commit(signed)
                .map_err(|e| format!("signing: {e}"))?;
            if again.trim() != String::from_utf8_lossy(&signature).trim() {
                return Err(format!("its tip {id} is not signed by this key"));
            }
        }
        None => {
            let committer = commit.committer();
            if committer.name() != Some(request.committer.name.as_str())
                || committer.email() != Some(request.committer.email.as_str())
            {
                return Err(format!("its tip {id} was committed by someone else"));
            }
        }
    }
    Ok(())
}

/// The commit of `tree` on `parent`, signed like the audit store's commits when a key is
/// given (a `gpgsig` SSH signature `git verify-commit` accepts).
fn write_commit(
    repo: &Repository,
    parent: &git2::Commit<'_>,
    tree: Oid,
    request: &ProposalRequest,
) -> Result<Oid, CommitError> {
    let tree = repo.find_tree(tree)?;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX));
    let who = Signature::new(
        &request.committer.name,
        &request.committer.email,
        &git2::Time::new(now, 0),
    )?;
    let mut message = request.message.to_owned();
    if !message.ends_with('\n') {
        message.push('\n');
    }
    match request.signing_key {
        Some(key) => objects::commit_signed(repo, &who, &message, &tree, &[parent], key),
        None => Ok(repo.commit(None, &who, &who, &message, &tree, &[parent])?),
    }
}

/// A repository-relative path as its components, refusing anything that could leave the
/// tree or write git's own directory.
fn split_path(path: &str) -> Result<Vec<&str>, ProposalError> {
    let invalid = |why| ProposalError::InvalidPath {
        path: path.to_owned(),
        why,
    };
    if path.starts_with('/') || path.contains('\\') || path.contains('\0') {
        return Err(invalid("only relative '/'-separated paths"));
    }
    let parts: Vec<&str> = path.split('/').collect();
    for part in &parts {
        match *part {
            "" | "." => return Err(invalid("empty component")),
            ".." => return Err(invalid("'..' component")),
            _ if part.eq_ignore_ascii_case(".git") => return Err(invalid("'.git' component")),
            _ => {}
        }
    }
    Ok(parts)
}

/// Refuses what writing `paths` over `base` would do beyond replacing files: replace a
/// directory, a symlink or a submodule, turn a file into a directory, or write one path twice.
fn check_paths(
    repo: &Repository,
    base: &Tree<'_>,
    files: &[(String, Vec<u8>)],
    paths: &[(Vec<&str>, &[u8])],
) -> Result<(), ProposalError> {
    for (index, ((path, _), (parts, _))) in files.iter().zip(paths).enumerate() {
        let invalid = |why| ProposalError::InvalidPath {
            path: path.clone(),
            why,
        };
        for (other, _) in &paths[..index] {
            if other == parts {
                return Err(invalid("given twice"));
            }
            if other.starts_with(parts) || parts.starts_with(other) {
                return Err(invalid("both a file and a directory in this proposal"));
            }
        }
        let mut tree = base.clone();
        for (depth, part) in parts.iter().enumerate() {
            let Some((kind, mode, id)) = tree
                .get_name(part)
                .map(|e| (e.kind(), e.filemode(), e.id()))
            else {
                // A new file, in directories that are new from here on.
                break;
            };
            let last = depth + 1 == parts.len();
            match kind {
                Some(ObjectType::Tree) if last => {
                    return Err(invalid("a directory in the base branch"))
                }
                Some(ObjectType::Tree) => {
                    tree = repo
                        .find_tree(id)
                        .map_err(|e| ProposalError::Git(e.message().to_owned()))?;
                }
                Some(ObjectType::Commit) => return Err(invalid("a submodule in the base branch")),
                _ if mode == i32::from(FileMode::Link) => {
                    return Err(invalid("a symlink in the base branch"))
                }
                _ if !last => return Err(invalid("below a file of the base branch")),
                _ => {}
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests;
