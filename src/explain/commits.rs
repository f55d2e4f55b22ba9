//! The main branch's history, read once: which commits landed when, and which files each
//! changed, so windows of any stack can be matched without walking git again.

use std::path::{Component, Path, PathBuf};
use std::time::{Duration, SystemTime};

use git2::{DiffOptions, ErrorCode, Oid, Repository};

use crate::drift::explanation::CommitRef;

/// Where to look when no branch is named: what `origin/HEAD` points at, then the usual names.
const DEFAULT_BRANCHES: [&str; 4] = [
    "refs/remotes/origin/main",
    "refs/heads/main",
    "refs/remotes/origin/master",
    "refs/heads/master",
];

#[derive(Debug, thiserror::Error)]
pub enum CommitsError {
    #[error(
        "no main branch to read commits from (tried origin/HEAD, main, master): name it with \
         --main-branch, or fetch it (git fetch origin main)"
    )]
    NoMainBranch,
    #[error("there is no branch {0} (fetch it, or name another with --main-branch)")]
    NoSuchBranch(String),
    #[error("reading the history of {branch}: {source}")]
    Git { branch: String, source: git2::Error },
}

#[derive(Debug, Clone)]
struct Landed {
    commit: CommitRef,
    at: SystemTime,
    /// Every path the commit added, changed or removed, relative to the repository root.
    paths: Vec<String>,
}

/// Commits of one branch along its first parents (what landed on it, merges included as
/// one change), newest first.
#[derive(Debug, Clone)]
pub struct CommitHistory {
    pub branch: String,
    commits: Vec<Landed>,
}

impl CommitHistory {
    /// Reads `branch` (a branch name or full ref; default: the main branch) back to
    /// `since`, with a day of slack for skewed committer clocks.
    pub fn load(
        repo: &Repository,
        branch: Option<&str>,
        since: Option<SystemTime>,
    ) -> Result<CommitHistory, CommitsError> {
        let (name, tip) = resolve(repo, branch)?;
        let git = |source| CommitsError::Git {
            branch: name.clone(),
            source,
        };
        let stop = since.and_then(|t| t.checked_sub(Duration::from_secs(86_400)));
        let mut walk = repo.revwalk().map_err(git)?;
        walk.push(tip).map_err(git)?;
        walk.simplify_first_parent().map_err(git)?;
        let mut commits = Vec::new();
        for oid in walk {
            let commit = repo.find_commit(oid.map_err(git)?).map_err(git)?;
            let seconds = commit.committer().when().seconds();
            let at = SystemTime::UNIX_EPOCH + Duration::from_secs(seconds.max(0).unsigned_abs());
            if stop.is_some_and(|stop| at < stop) {
                break;
            }
            let paths = changed_paths(repo, &commit).map_err(git)?;
            let author = commit.author();
            commits.push(Landed {
                commit: CommitRef {
                    sha: commit.id().to_string(),
                    time: humantime::format_rfc3339_seconds(at).to_string(),
                    author: match (author.name(), author.email()) {
                        (Some(name), Some(email)) => format!("{name} <{email}>"),
                        (Some(name), None) => name.to_owned(),
                        (None, email) => email.unwrap_or("unknown").to_owned(),
                    },
                    summary: commit.summary().unwrap_or("").to_owned(),
                },
                at,
                paths,
            });
        }
        Ok(CommitHistory {
            branch: name,
            commits,
        })
    }

    /// Commits landed in (after, until] that touched a file in one of `dirs` or one of
    /// `files` (relative to the repository root; `.` is the root's own files), oldest first.
    pub fn touching(
        &self,
        dirs: &[PathBuf],
        files: &[String],
        after: Option<SystemTime>,
        until: SystemTime,
    ) -> Vec<CommitRef> {
        let prefixes: Vec<Option<String>> = dirs.iter().map(|dir| prefix(dir)).collect();
        let files: Vec<String> = files
            .iter()
            .filter_map(|file| prefix(Path::new(file)))
            .map(|file| file.trim_end_matches('/').to_owned())
            .collect();
        let mut found: Vec<CommitRef> = self
            .commits
            .iter()
            .filter(|c| c.at <= until && after.is_none_or(|after| c.at > after))
            .filter(|c| {
                c.paths.iter().any(|path| {
                    files.contains(path)
                        || prefixes.iter().any(|prefix| match prefix {
                            Some(prefix) => path.starts_with(prefix.as_str()),
                            None => !path.contains('/'),
                        })
                })
            })
            .map(|c| c.commit.clone())
            .collect();
        found.reverse();
        found
    }
}

/// `infra/prod/` for `infra/prod`; `None` for the root.
fn prefix(dir: &Path) -> Option<String> {
    let parts: Vec<String> = dir
        .components()
        .filter_map(|c| match c {
            Component::Normal(part) => Some(part.to_string_lossy().into_owned()),
            _ => None,
        })
        .collect();
    (!parts.is_empty()).then(|| format!("{}/", parts.join("/")))
}

fn resolve(repo: &Repository, branch: Option<&str>) -> Result<(String, Oid), CommitsError> {
    let lookup = |refname: &str| match repo.refname_to_id(refname) {
        Ok(oid) => Ok(Some(oid)),
        Err(err) if matches!(err.code(), ErrorCode::NotFound | ErrorCode::InvalidSpec) => Ok(None),
        Err(source) => Err(CommitsError::Git {
            branch: refname.to_owned(),
            source,
        }),
    };
    if let Some(branch) = branch {
        for candidate in [
            branch.to_owned(),
            format!("refs/heads/{branch}"),
            format!("refs/remotes/{branch}"),
            format!("refs/remotes/origin/{branch}"),
        ] {
            if let Some(oid) = lookup(&candidate)? {
                return Ok((branch.to_owned(), oid));
            }
        }
        return Err(CommitsError::NoSuchBranch(branch.to_owned()));
    }
    let origin_head = repo
        .find_reference("refs/remotes/origin/HEAD")
        .ok()
        .and_then(|r| r.symbolic_target().map(str::to_owned));
    for candidate in origin_head
        .iter()
        .map(String::as_str)
        .chain(DEFAULT_BRANCHES)
    {
        if let Some(oid) = lookup(candidate)? {
            let short = candidate
                .trim_start_matches("refs/heads/")
                .trim_start_matches("refs/remotes/");
            return Ok((short.to_owned(), oid));
        }
    }
    Err(CommitsError::NoMainBranch)
}

fn changed_paths(repo: &Repository, commit: &git2::Commit<'_>) -> Result<Vec<String>, git2::Error> {
    let tree = commit.tree()?;
    let parent = match commit.parent(0) {
        Ok(parent) => Some(parent.tree()?),
        Err(_) => None,
    };
    let mut options = DiffOptions::new();
    options.skip_binary_check(true);
    let diff = repo.diff_tree_to_tree(parent.as_ref(), Some(&tree), Some(&mut options))?;
    let mut paths = Vec::new();
    for delta in diff.deltas() {
        for file in [delta.old_file(), delta.new_file()] {
            if let Some(path) = file.path().and_then(Path::to_str) {
                if !paths.iter().any(|p| p == path) {
                    paths.push(path.to_owned());
                }
            }
        }
    }
    Ok(paths)
}
