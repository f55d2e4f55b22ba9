//! Trees and signed commits written straight into the object database, never through the
//! index or the work tree: shared by the audit store, pending refs and proposal branches so
//! the three write the same objects the same way.

use git2::{FileMode, ObjectType, Oid, Repository, Signature, Tree};

use super::sshsig::{SignError, SigningKey};

/// The mode a written file gets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Modes {
    /// Always a plain file (`100644`), whatever the base held: the audit store's layout.
    Plain,
    /// A file replacing an executable one stays executable (`100755`); any other is plain.
    KeepExecutable,
}

/// `base` with `files` (paths as components) added or replaced, rewriting only the trees on
/// their paths. It checks nothing: a file over a directory replaces the directory, and a
/// directory over a file replaces the file, so a caller that must not do so checks first.
pub(crate) fn write_tree(
    repo: &Repository,
    base: Option<&Tree<'_>>,
    files: &[(Vec<&str>, &[u8])],
    modes: Modes,
) -> Result<Oid, git2::Error> {
    let mut builder = repo.treebuilder(base)?;
    let mut directories: Vec<&str> = Vec::new();
    for (path, content) in files {
        match path.as_slice() {
            [name] => {
                let blob = repo.blob(content)?;
                let executable = modes == Modes::KeepExecutable
                    && base
                        .and_then(|tree| tree.get_name(name))
                        .is_some_and(|e| e.filemode() == i32::from(FileMode::BlobExecutable));
                let mode = if executable {
                    FileMode::BlobExecutable
                } else {
                    FileMode::Blob
                };
                builder.insert(name, blob, mode.into())?;
            }
            [directory, ..] if !directories.contains(directory) => directories.push(directory),
            _ => {}
        }
    }
    for directory in directories {
        let nested: Vec<(Vec<&str>, &[u8])> = files
            .iter()
            .filter(|(path, _)| path.len() > 1 && path[0] == directory)
            .map(|(path, content)| (path[1..].to_vec(), *content))
            .collect();
        let existing = match base.and_then(|tree| tree.get_name(directory)) {
            Some(entry) if entry.kind() == Some(ObjectType::Tree) => {
                Some(repo.find_tree(entry.id())?)
            }
            _ => None,
        };
        let subtree = write_tree(repo, existing.as_ref(), &nested, modes)?;
        builder.insert(directory, subtree, FileMode::Tree.into())?;
    }
    builder.write()
}

/// Why [`commit_signed`] wrote no commit.
#[derive(Debug)]
pub(crate) enum CommitError {
    Git(git2::Error),
    /// The commit's text (names, message) is not UTF-8, which the signature needs.
    NotUtf8,
    Sign(SignError),
}

impl From<git2::Error> for CommitError {
    fn from(e: git2::Error) -> Self {
        CommitError::Git(e)
    }
}

/// The commit of `tree` on `parents` by `who` (author and committer), with a `gpgsig` SSH
/// signature by `key` that `git verify-commit` (with `gpg.format=ssh`) accepts. No ref moves.
pub(crate) fn commit_signed(
    repo: &Repository,
    who: &Signature<'_>,
    message: &str,
    tree: &Tree<'_>,
    parents: &[&git2::Commit<'_>],
    key: &SigningKey,
) -> Result<Oid, CommitError> {
    let buffer = repo.commit_create_buffer(who, who, message, tree, parents)?;
    let content = buffer.as_str().ok_or(CommitError::NotUtf8)?;
    let signature = key.sign_git_commit(content).map_err(CommitError::Sign)?;
    Ok(repo.commit_signed(content, &signature, Some("gpgsig"))?)
}
