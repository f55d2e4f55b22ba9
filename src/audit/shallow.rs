//! Keeping a shallow clone shallow across a fetch of the audit branch.
//!
//! A shallow clone (`git clone --depth 1`) lists in `<git dir>/shallow` the commits whose
//! parents it lacks. After every fetch that downloads objects, libgit2 rewrites that file with
//! the roots its transport reports; its local transport (a path or `file://` remote) reports
//! none, so the file is deleted. git then looks for parents the clone never had: `git fsck`
//! reports missing commits and every walk of the default branch fails. A fetch without a
//! depth never changes which commits are shallow, so the file is put back as it was, and the
//! fetch runs on a repository handle of its own (sync's transport thread opens one), so the
//! caller's handle keeps its roots.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use git2::Repository;

/// `shallow` in the git directory (where libgit2 reads it) and in the common directory (where
/// git keeps it for every worktree), as they were before a fetch.
pub(super) struct ShallowRoots {
    files: Vec<(PathBuf, Option<Vec<u8>>)>,
}

impl ShallowRoots {
    /// Remembers the shallow files of `repo`.
    pub(super) fn save(repo: &Repository) -> io::Result<ShallowRoots> {
        let mut files = Vec::new();
        for dir in [repo.path(), repo.commondir()] {
            let path = dir.join("shallow");
            if files.iter().any(|(known, _)| *known == path) {
                continue;
            }
            let content = read_if_present(&path)?;
            files.push((path, content));
        }
        Ok(ShallowRoots { files })
    }

    /// Puts back every shallow file the fetch changed or removed.
    pub(super) fn restore(&self) -> io::Result<()> {
        for (path, saved) in &self.files {
            if read_if_present(path)? == *saved {
                continue;
            }
            match saved {
                Some(content) => write_atomically(path, content)?,
                None => match fs::remove_file(path) {
                    Err(err) if err.kind() != io::ErrorKind::NotFound => return Err(err),
                    _ => {}
                },
            }
        }
        Ok(())
    }
}

fn read_if_present(path: &Path) -> io::Result<Option<Vec<u8>>> {
    match fs::read(path) {
        Ok(content) => Ok(Some(content)),
        Err(err) if err.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(err) => Err(err),
    }
}

/// Written beside `path` and renamed over it, so git never reads half a list.
fn write_atomically(path: &Path, content: &[u8]) -> io::Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let mut temp = tempfile::NamedTempFile::new_in(dir)?;
    io::Write::write_all(&mut temp, content)?;
    temp.as_file()
        .set_permissions(std::os::unix::fs::PermissionsExt::from_mode(0o644))?;
    temp.as_file().sync_all()?;
    temp.persist(path).map_err(|err| err.error)?;
    Ok(())
}
