//! What a verification takes on trust: the allowed signers and where they were read (a file
//! the caller names, or `.driftlog/allowed_signers` committed on the default branch, never the
//! history being verified), the checkpoint an incremental walk starts from, and whether a
//! checkpoint line seen elsewhere is this log's and signed by a trusted key.

use std::path::{Path, PathBuf};

use git2::Repository;
use serde::Serialize;

use super::note::{checkpoint_from_line, open_checkpoint, NoteVerifier};
use super::sshsig::{AllowedSigners, AllowedSignersError, DRIFTLOG_NAMESPACE};

/// Where the trust root lives on the main branch, relative to the repository root.
pub const ALLOWED_SIGNERS_PATH: &str = ".driftlog/allowed_signers";

/// The ref naming the default branch.
const ORIGIN_HEAD: &str = "refs/remotes/origin/HEAD";

/// Where to read the allowed signers.
#[derive(Debug, Clone)]
pub enum TrustSource {
    /// An allowed signers file on disk (`--allowed-signers`).
    File(PathBuf),
    /// [`ALLOWED_SIGNERS_PATH`] as committed at this revision (`--trust-ref`), else on the
    /// default branch.
    Committed(Option<String>),
}

/// Where the allowed signers were read.
#[derive(Debug, Clone, Serialize)]
pub struct TrustRoot {
    /// The file: a path in the commit, or on disk for --allowed-signers.
    pub path: String,
    /// The revision it was read at (`origin/main`); `None` for --allowed-signers.
    #[serde(rename = "ref")]
    pub git_ref: Option<String>,
    /// The commit it was read at, full hex.
    pub commit: Option<String>,
}

/// The checkpoint an incremental walk starts from.
#[derive(Debug, Clone, Serialize)]
pub struct Since {
    pub line: String,
    /// `--since`, or where GitHub showed it.
    pub from: String,
}

/// The allowed signers, and where they came from.
pub struct Trusted {
    pub allowed: AllowedSigners,
    pub root: TrustRoot,
}

/// Why there is no trust root to verify with.
#[derive(Debug, thiserror::Error)]
pub enum TrustError {
    #[error("reading the allowed signers {}", path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("--trust-ref {rev}: no such revision here (fetch it first?)")]
    NoRevision {
        rev: String,
        #[source]
        source: git2::Error,
    },
    #[error(
        "no default branch to read the trust root ({ALLOWED_SIGNERS_PATH}) from: \
         {ORIGIN_HEAD} is not set (`git remote set-head origin --auto` sets it). Pass \
         --trust-ref REF (e.g. origin/main) or --allowed-signers FILE; the checked-out \
         copy is not used, as the branch being verified could trust its own key"
    )]
    NoDefaultBranch,
    #[error("{name} is not a commit")]
    NotACommit {
        name: String,
        #[source]
        source: git2::Error,
    },
    #[error(
        "{name} (commit {}) has no {ALLOWED_SIGNERS_PATH}: commit one there (the lines \
         `driftlog keygen` prints), or name another trust root with --trust-ref REF or \
         --allowed-signers FILE",
        short(commit)
    )]
    NotCommitted { name: String, commit: String },
    #[error("{ALLOWED_SIGNERS_PATH} at {name} is not text")]
    NotText {
        name: String,
        #[source]
        source: std::string::FromUtf8Error,
    },
    #[error("the allowed signers ({source_name}) cannot be used")]
    Unusable {
        source_name: String,
        #[source]
        source: AllowedSignersError,
    },
    #[error("the allowed signers ({0}) list no key, so nothing could verify")]
    Empty(String),
}

impl TrustRoot {
    /// `.driftlog/allowed_signers at origin/main (commit 0123456789ab)`, or the file given.
    pub fn describe(&self) -> String {
        match (&self.git_ref, &self.commit) {
            (Some(git_ref), Some(commit)) => {
                format!("{} at {git_ref} (commit {})", self.path, short(commit))
            }
            _ => format!("{} (--allowed-signers)", self.path),
        }
    }
}

impl Trusted {
    /// The allowed signers `source` names, in `repo` when committed.
    pub fn load(repo: &Repository, source: &TrustSource) -> Result<Trusted, TrustError> {
        let (text, root) = match source {
            TrustSource::File(path) => (
                crate::bounded::read_to_string(
                    path,
                    crate::bounded::MAX_ALLOWED_SIGNERS_BYTES,
                    "MAX_ALLOWED_SIGNERS_BYTES",
                )
                .map_err(|source| TrustError::Read {
                    path: path.clone(),
                    source,
                })?,
                TrustRoot {
                    path: path.display().to_string(),
                    git_ref: None,
                    commit: None,
                },
            ),
            TrustSource::Committed(trust_ref) => committed(repo, trust_ref.as_deref())?,
        };
        let source_name = root.describe();
        let allowed = AllowedSigners::parse(&text).map_err(|source| TrustError::Unusable {
            source_name: source_name.clone(),
            source,
        })?;
        if allowed.is_empty() {
            return Err(TrustError::Empty(source_name));
        }
        Ok(Trusted { allowed, root })
    }

    /// A line without `namespaces=` lets its key sign anything (ssh-keygen's rule): git
    /// commits, records, and any other file someone asks it to sign.
    pub fn namespace_warnings(&self) -> Vec<String> {
        let source = self.root.describe();
        self.allowed
            .entries()
            .iter()
            .filter(|entry| entry.namespaces().is_none())
            .map(|entry| {
                format!(
                    "the allowed signers ({source}) line {} ({}) has no namespaces=, so its key \
                     is trusted for every namespace; restrict it with \
                     namespaces=\"git,driftlog\" (as `driftlog keygen` writes)",
                    entry.line(),
                    entry.principals()
                )
            })
            .collect()
    }

    /// The Ed25519 keys trusted to sign the log's records and checkpoints.
    pub fn checkpoint_keys(&self) -> Vec<[u8; 32]> {
        self.allowed
            .entries()
            .iter()
            .filter(|entry| {
                !entry.is_cert_authority() && entry.permits_namespace(DRIFTLOG_NAMESPACE)
            })
            .filter_map(|entry| entry.ed25519_key())
            .collect()
    }
}

/// The size of the checkpoint `line` when it is this log's (its origin `expected_origin`,
/// else any log of `branch`) and signed by one of `keys`; else why not.
pub fn checkpoint_size(
    line: &str,
    expected_origin: Option<&str>,
    branch: &str,
    keys: &[[u8; 32]],
) -> Result<u64, String> {
    let note = checkpoint_from_line(line).map_err(|err| err.to_string())?;
    let origin = note.split('\n').next().unwrap_or_default();
    let ours = match expected_origin {
        Some(expected) => origin.eq_ignore_ascii_case(expected),
        // Without this repository's identity, a log of the same branch name.
        None => origin.ends_with(&format!("/{branch}")),
    };
    if !ours {
        return Err(match expected_origin {
            Some(expected) => format!("it is the log {origin}, not {expected}"),
            None => format!("it is the log {origin}, not one of the branch {branch}"),
        });
    }
    let verifiers: Vec<NoteVerifier> = keys
        .iter()
        .filter_map(|key| NoteVerifier::new(origin, *key).ok())
        .collect();
    let opened = open_checkpoint(&note, &verifiers)
        .map_err(|_| "it is not signed by an allowed key".to_owned())?;
    Ok(opened.checkpoint.size)
}

/// The first twelve characters of a commit id (git's are hex).
fn short(commit: &str) -> &str {
    commit.get(..12).unwrap_or(commit)
}

/// `.driftlog/allowed_signers` as committed at `trust_ref`, else on the default branch: the
/// trust root is reviewed and merged there, so neither a branch's own copy (HEAD) nor an
/// edited working tree can add a key.
fn committed(
    repo: &Repository,
    trust_ref: Option<&str>,
) -> Result<(String, TrustRoot), TrustError> {
    let (name, object) = match trust_ref {
        Some(rev) => {
            let object = repo
                .revparse_single(rev)
                .map_err(|source| TrustError::NoRevision {
                    rev: rev.to_owned(),
                    source,
                })?;
            (rev.to_owned(), object)
        }
        None => default_branch(repo)?,
    };
    let commit = object
        .peel_to_commit()
        .map_err(|source| TrustError::NotACommit {
            name: name.clone(),
            source,
        })?;
    let id = commit.id().to_string();
    let missing = || TrustError::NotCommitted {
        name: name.clone(),
        commit: id.clone(),
    };
    let entry = commit
        .tree()
        .and_then(|tree| tree.get_path(Path::new(ALLOWED_SIGNERS_PATH)))
        .map_err(|_| missing())?;
    let blob = repo.find_blob(entry.id()).map_err(|_| missing())?;
    let text =
        String::from_utf8(blob.content().to_vec()).map_err(|source| TrustError::NotText {
            name: name.clone(),
            source,
        })?;
    Ok((
        text,
        TrustRoot {
            path: ALLOWED_SIGNERS_PATH.to_owned(),
            git_ref: Some(name),
            commit: Some(id),
        },
    ))
}

/// The branch `refs/remotes/origin/HEAD` points to (`origin/main`).
fn default_branch(repo: &Repository) -> Result<(String, git2::Object<'_>), TrustError> {
    let head = repo
        .find_reference(ORIGIN_HEAD)
        .map_err(|_| TrustError::NoDefaultBranch)?;
    let name = head
        .symbolic_target()
        .map(|target| {
            target
                .strip_prefix("refs/remotes/")
                .unwrap_or(target)
                .to_owned()
        })
        .unwrap_or_else(|| "origin/HEAD".to_owned());
    let object = head
        .resolve()
        .and_then(|resolved| resolved.peel(git2::ObjectType::Commit))
        .map_err(|_| TrustError::NoDefaultBranch)?;
    Ok((name, object))
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use git2::{Repository, Signature};

    use super::*;
    use crate::audit::sshsig::{allowed_signers_line, SigningKey};

    /// A repository whose one commit holds `files`, on `main`.
    fn repo_with(files: &[(&str, &str)]) -> (tempfile::TempDir, Repository) {
        let dir = tempfile::tempdir().expect("temp dir");
        let repo = Repository::init(dir.path()).expect("init");
        let mut index = repo.index().expect("index");
        for (path, text) in files {
            let full = dir.path().join(path);
            std::fs::create_dir_all(full.parent().expect("parent")).expect("dir");
            std::fs::write(&full, text).expect("write");
            index.add_path(Path::new(path)).expect("add");
        }
        let tree = repo
            .find_tree(index.write_tree().expect("tree"))
            .expect("find tree");
        let who = Signature::now("t", "t@example.com").expect("signature");
        let commit = repo
            .commit(Some("refs/heads/main"), &who, &who, "init", &tree, &[])
            .expect("commit");
        drop(tree);
        repo.reference("refs/remotes/origin/main", commit, true, "test")
            .expect("origin/main");
        (dir, repo)
    }

    #[test]
    fn without_a_default_branch_or_a_committed_file_the_error_names_the_other_roots() {
        let (_dir, repo) = repo_with(&[("README.md", "x")]);
        let err = |source| Trusted::load(&repo, &source).err().expect("refused");
        assert!(err(TrustSource::Committed(None))
            .to_string()
            .contains("refs/remotes/origin/HEAD is not set (`git remote set-head origin --auto`"));
        let no_rev = err(TrustSource::Committed(Some("nope".into())));
        assert_eq!(
            no_rev.to_string(),
            "--trust-ref nope: no such revision here (fetch it first?)"
        );
        assert!(std::error::Error::source(&no_rev).is_some());
        let commit = repo.refname_to_id("refs/heads/main").expect("main");
        assert_eq!(
            err(TrustSource::Committed(Some("main".into()))).to_string(),
            format!(
                "main (commit {}) has no .driftlog/allowed_signers: commit one there (the lines \
                 `driftlog keygen` prints), or name another trust root with --trust-ref REF or \
                 --allowed-signers FILE",
                commit.to_string().chars().take(12).collect::<String>()
            )
        );
    }

    #[test]
    fn the_default_branch_holds_the_trust_root_and_lines_for_every_namespace_are_named() {
        let key = SigningKey::generate().expect("key");
        let narrow = allowed_signers_line("ci", &key);
        let wide = narrow.replacen(" namespaces=\"git,driftlog\"", "", 1);
        assert_ne!(narrow, wide);
        let text = format!("{narrow}\n{}\n", wide.replacen("ci", "wide", 1));
        let (dir, repo) = repo_with(&[(ALLOWED_SIGNERS_PATH, &text)]);
        repo.reference_symbolic(
            "refs/remotes/origin/HEAD",
            "refs/remotes/origin/main",
            true,
            "test",
        )
        .expect("origin/HEAD");
        // The working tree's copy is whatever the branch being verified made it.
        std::fs::write(dir.path().join(ALLOWED_SIGNERS_PATH), "").expect("edit");
        let trusted = Trusted::load(&repo, &TrustSource::Committed(None)).expect("trusted");
        assert_eq!(trusted.root.git_ref.as_deref(), Some("origin/main"));
        let commit = trusted.root.commit.clone().expect("commit");
        assert_eq!(
            trusted.root.describe(),
            format!(
                ".driftlog/allowed_signers at origin/main (commit {})",
                commit.chars().take(12).collect::<String>()
            )
        );
        assert_eq!(trusted.checkpoint_keys().len(), 2);
        let warnings = trusted.namespace_warnings();
        assert_eq!(warnings.len(), 1, "{warnings:?}");
        assert!(
            warnings[0].contains("line 2 (wide) has no namespaces=, so its key is trusted"),
            "{warnings:?}"
        );
    }

    #[test]
    fn an_empty_file_trusts_nobody() {
        let (dir, repo) = repo_with(&[("README.md", "x")]);
        let path = dir.path().join("signers");
        std::fs::write(&path, "# nobody yet\n").expect("write");
        let err = Trusted::load(&repo, &TrustSource::File(path.clone()))
            .err()
            .expect("refused");
        assert_eq!(
            err.to_string(),
            format!(
                "the allowed signers ({} (--allowed-signers)) list no key, so nothing could verify",
                path.display()
            )
        );
    }
}
