//! Where a proven edit goes: the files in place (all or none), or a one-commit branch pushed
//! to origin with a pull request for it.

use std::path::Path;

use crate::adopt::edit::{Edits, Sources, MAX_SOURCE_FILE_BYTES};
use crate::audit::proposal::{propose as push_branch, ProposalRequest};
use crate::audit::record::PullRequestLink;
use crate::audit::recorder::RecordTarget;
use crate::audit::sync::RemoteChoice;
use crate::drift::Failure;
use crate::github::pull::PullRequestDraft;
use crate::run::latest::Latest;
use crate::run::publish::AdoptionPulls;

use super::stack::Place;
use super::{AdoptSettings, StackAdoption};

/// Writes the edited files over the originals, each only if it still holds the text the edit
/// was made from. Every new text is written beside its file first and then renamed over it,
/// so a failure leaves each file whole, old or new.
pub(super) fn write(dir: &Path, sources: &Sources, edits: &Edits) -> Result<(), String> {
    let mut staged = Vec::new();
    for (name, text) in &edits.files {
        let path = dir.join(name);
        let now =
            crate::bounded::read_to_string(&path, MAX_SOURCE_FILE_BYTES, "MAX_SOURCE_FILE_BYTES")
                .map_err(|e| {
                format!(
                    "{}: cannot be read again ({e}); nothing was written",
                    path.display()
                )
            })?;
        let read = sources
            .files
            .iter()
            .find(|f| &f.path == name)
            .map(|f| f.text.as_str());
        if read != Some(now.as_str()) {
            return Err(format!(
                "{} changed while driftlog adopt ran; nothing was written: run it again",
                path.display()
            ));
        }
        let mut file = tempfile::Builder::new()
            .prefix(".driftlog-adopt-")
            .tempfile_in(dir)
            .map_err(|e| {
                format!(
                    "writing beside {}: {e}; nothing was written",
                    path.display()
                )
            })?;
        std::io::Write::write_all(&mut file, text.as_bytes()).map_err(|e| {
            format!(
                "writing beside {}: {e}; nothing was written",
                path.display()
            )
        })?;
        if let Ok(meta) = std::fs::metadata(&path) {
            // The edited file keeps the original's mode.
            let _ = std::fs::set_permissions(file.path(), meta.permissions());
        }
        staged.push((file, path));
    }
    for (file, path) in staged {
        file.persist(&path)
            .map_err(|e| format!("replacing {}: {}", path.display(), e.error))?;
    }
    Ok(())
}

pub(super) struct PullRequest<'a> {
    pub dir: &'a Path,
    pub place: &'a Place,
    pub pulls: &'a AdoptionPulls<'a>,
    pub target: &'a RecordTarget,
    pub settings: &'a AdoptSettings,
    pub latest: &'a Latest,
    pub edits: &'a Edits,
    pub sources: &'a Sources,
}

/// Commits the edit on the stack's adopt branch, pushes it and opens (or updates) its pull
/// request. A failure is the record's: which step failed and what to do.
pub(super) fn propose(
    request: &PullRequest<'_>,
    result: &StackAdoption,
) -> Result<PullRequestLink, Box<Failure>> {
    let settings = request.settings;
    let audit = settings.audit.as_ref().ok_or_else(|| {
        Box::new(Failure::new(
            "no_audit",
            "no signing key to sign the commit with",
        ))
    })?;
    let files: Vec<(String, Vec<u8>)> = request
        .edits
        .files
        .iter()
        .map(|(name, text)| (request.place.file(name), text.clone().into_bytes()))
        .collect();
    check_clean(request.dir, &files)?;
    // What each edit was made from, which the base must still hold.
    let expected_base: Vec<(String, Vec<u8>)> = request
        .edits
        .files
        .keys()
        .map(|name| {
            let before = request
                .sources
                .files
                .iter()
                .find(|f| &f.path == name)
                .map_or_else(Vec::new, |f| f.text.clone().into_bytes());
            (request.place.file(name), before)
        })
        .collect();
    let base = match &settings.base {
        Some(base) => base.clone(),
        None => request.pulls.default_branch().map_err(|e| {
            Box::new(Failure::new(
                "github_failed",
                format!("looking up the default branch to propose on: {e}"),
            ))
        })?,
    };
    let branch = super::branch_name(&request.place.stack, &result.stack.workspace);
    let entry = request.latest.entry();
    let remote = match &audit.remote {
        RemoteChoice::Named(name) => name.clone(),
        _ => crate::audit::sync::DEFAULT_REMOTE.to_owned(),
    };
    let message = format!(
        "driftlog: adopt the drift of {} into code\n\nThe values the latest scan (record {} of \
         the audit log, sha256 {}) found changed outside terraform, written into the \
         configuration and proven by a targeted terraform plan.\n",
        result.stack.dir, entry.record.seq, entry.record_sha256
    );
    let proposed = push_branch(&ProposalRequest {
        repository: request.dir,
        remote: &remote,
        base: &base,
        branch: &branch,
        files: &files,
        message: &message,
        expected_base: &expected_base,
        signing_key: Some(&audit.key),
        committer: request.target.committer(),
        auth: &audit.auth,
        timeout: None,
    })
    .map_err(|e| {
        Box::new(Failure::new(
            "proposal_failed",
            format!("pushing {branch}: {e}"),
        ))
    })?;
    let log = crate::explain::Log::new(request.latest.entries.clone());
    let addresses: Vec<String> = result.adopted().map(|a| a.address.clone()).collect();
    let mut explanations = log
        .position(entry.record.seq)
        .map(|index| log.explain_scan(index, &addresses))
        .unwrap_or_default();
    // Who and what ran in each window: the default branch's commits and the cloud's events;
    // what cannot be read leaves them out, never the pull request.
    if let Ok(repo) = crate::audit::discover_repository(request.dir) {
        if let Some(root) = repo.workdir().map(Path::to_path_buf) {
            let sources = crate::run::explain::Sources {
                main_branch: None,
                events: settings.events.as_ref(),
            };
            let _ = crate::run::explain::attach_sources(&mut explanations, &repo, &root, &sources);
        }
    }
    let draft = PullRequestDraft {
        head: branch.clone(),
        base,
        title: format!(
            "driftlog: adopt the drift of {} into code",
            result.stack.dir
        ),
        body: crate::report::adopt::pull_body(result, &explanations),
    };
    let opened = request.pulls.open_or_update(&draft).map_err(|e| {
        Box::new(Failure::new(
            "github_failed",
            format!(
                "the branch {branch} was pushed ({}), but its pull request could not be opened: \
                 {e}",
                proposed.commit
            ),
        ))
    })?;
    Ok(PullRequestLink {
        number: opened.number,
        url: opened.url,
        branch,
        commit: Some(proposed.commit),
    })
}

/// The files to commit must hold no change of the user's: a proposal commits the edited
/// texts on the default branch, and an uncommitted change in them would ride along.
fn check_clean(dir: &Path, files: &[(String, Vec<u8>)]) -> Result<(), Box<Failure>> {
    let dirty = |why: String| Box::new(Failure::new("dirty_work_tree", why));
    let repo = crate::audit::discover_repository(dir)
        .map_err(|e| dirty(format!("the stack is not in a git repository: {e}")))?;
    for (path, _) in files {
        let status = repo
            .status_file(Path::new(path))
            .map_err(|e| dirty(format!("reading the status of {path}: {e}")))?;
        if !status.is_empty() {
            return Err(dirty(format!(
                "{path} has changes that are not committed: driftlog does not commit over them; \
                 commit or stash them and run again"
            )));
        }
    }
    Ok(())
}
