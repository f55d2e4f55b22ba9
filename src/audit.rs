//! The audit log: every scan as a signed, hash-chained record on a dedicated git branch,
//! which `git verify-commit` and `ssh-keygen -Y verify` can check without driftlog.

pub mod canonical;
pub mod keygen;
pub mod merkle;
pub mod note;
mod objects;
pub mod pending;
pub mod proposal;
pub mod query;
pub mod reader;
pub mod record;
pub mod recorder;
mod shallow;
pub mod spool;
pub mod sshsig;
pub mod store;
pub mod sync;
pub mod trust;
pub mod verify;

use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
pub enum OpenRepositoryError {
    #[error("{0} is not inside a git repository")]
    NotFound(PathBuf),
    /// git's and libgit2's ownership check: the usual case of a checkout mounted into a
    /// container, or made by another CI user.
    #[error(
        "the git repository at {path} belongs to another user, and git refuses to open it \
         ({message}); if you trust it, run `git config --global --add safe.directory {path}` \
         (or '*'), or run driftlog as the checkout's owner"
    )]
    NotOwned { path: PathBuf, message: String },
    #[error("opening the git repository at {path}: {source}")]
    Git { path: PathBuf, source: git2::Error },
}

/// The repository at or above `start`, with the ownership refusal told apart from "no
/// repository", since the fix differs.
pub fn discover_repository(start: &Path) -> Result<git2::Repository, OpenRepositoryError> {
    git2::Repository::discover(start).map_err(|source| match source.code() {
        git2::ErrorCode::NotFound => OpenRepositoryError::NotFound(start.to_owned()),
        git2::ErrorCode::Owner => OpenRepositoryError::NotOwned {
            path: owned_path(start),
            message: source.message().to_owned(),
        },
        _ => OpenRepositoryError::Git {
            path: start.to_owned(),
            source,
        },
    })
}

/// The work tree libgit2 refused: the nearest directory holding `.git`, else `start`.
fn owned_path(start: &Path) -> PathBuf {
    let absolute = std::fs::canonicalize(start).unwrap_or_else(|_| start.to_owned());
    absolute
        .ancestors()
        .find(|dir| dir.join(".git").exists())
        .unwrap_or(&absolute)
        .to_owned()
}
