//! The local branch under a push: brought to the remote tip, this call's records appended
//! on it, and what to do with local commits the remote lacks.

use git2::{ErrorCode, Oid};

use super::{
    carries_pending_entry, commit_record, commits_between, signed_by, Prepared, Session, ToAppend,
};
use crate::audit::pending;
use crate::audit::sync::transport::Link;
use crate::audit::sync::PushFailure;

impl Session<'_> {
    /// Brings the local branch to the remote tip and appends every record on it.
    pub(super) fn prepare(
        &mut self,
        link: &Link,
        remote_tip: Option<Oid>,
        appends: &[ToAppend<'_>],
    ) -> Result<Prepared, PushFailure> {
        let repo = self.repo;
        let git = |e: git2::Error| PushFailure::Local {
            message: e.to_string(),
        };
        let mut commits: Vec<Option<Oid>> = vec![None; appends.len()];
        let local = self.local_tip().map_err(git)?;
        match (local, remote_tip) {
            (None, None) => {}
            (None, Some(remote)) => self.move_local(None, remote)?,
            (Some(local), Some(remote)) if local == remote => {}
            (Some(local), Some(remote))
                if repo.graph_descendant_of(remote, local).map_err(git)? =>
            {
                self.move_local(Some(local), remote)?
            }
            (Some(local), _) => {
                // Local commits the remote lacks: records of this call (kept when they still
                // fit), commits this call made or folds of pending entries (whose refs stay
                // until a fold is pushed: dropping them loses nothing), and anything else.
                let mut foreign = 0;
                let mut unsigned = 0;
                let mut droppable = 0;
                for oid in commits_between(repo, remote_tip, local).map_err(git)? {
                    let found = commit_record(repo, oid);
                    let index = found.as_ref().and_then(|found| {
                        (0..appends.len()).find(|&i| {
                            commits[i].is_none()
                                && pending::is_placed(appends[i].record, found.seq, &found.bytes)
                        })
                    });
                    match index {
                        Some(i) => commits[i] = Some(oid),
                        None if self.made.contains(&oid) || carries_pending_entry(repo, oid) => {
                            droppable += 1
                        }
                        None => {
                            foreign += 1;
                            if !signed_by(repo, oid, &self.own_signers) {
                                unsigned += 1;
                            }
                        }
                    }
                }
                if unsigned > 0 {
                    return Err(PushFailure::Unsigned {
                        remote: link.display.clone(),
                        branch: self.branch.clone(),
                        unsigned,
                    });
                }
                let fast_forward = match remote_tip {
                    None => true,
                    Some(remote) => repo.graph_descendant_of(local, remote).map_err(git)?,
                };
                if fast_forward && droppable == 0 {
                    if foreign > 0 {
                        self.warn(format!(
                            "the local audit branch had {foreign} commit(s) that {} lacked; they \
                             are pushed along",
                            link.display
                        ));
                    }
                } else if foreign == 0 {
                    // Only this run's unpushed commits: drop them, rebuild the records.
                    commits.iter_mut().for_each(|c| *c = None);
                    match remote_tip {
                        Some(remote) => self.move_local(Some(local), remote)?,
                        None => self.drop_local(local)?,
                    }
                } else {
                    return Err(PushFailure::Diverged {
                        remote: link.display.clone(),
                        local_only: foreign,
                    });
                }
            }
        }
        for (append, commit) in appends.iter().zip(commits.iter_mut()) {
            if commit.is_none() {
                let appended = self.append(append.record, append.folded)?;
                let oid = Oid::from_str(&appended.commit).map_err(git)?;
                self.made.insert(oid);
                *commit = Some(oid);
            }
        }
        let tip = self
            .local_tip()
            .map_err(git)?
            .ok_or_else(|| self.local("the audit branch vanished"))?;
        Ok(Prepared {
            tip,
            commits: commits.into_iter().flatten().collect(),
        })
    }

    pub(super) fn local_tip(&self) -> Result<Option<Oid>, git2::Error> {
        match self.repo.refname_to_id(&self.refname) {
            Ok(oid) => Ok(Some(oid)),
            Err(err) if err.code() == ErrorCode::NotFound => Ok(None),
            Err(err) => Err(err),
        }
    }

    /// Moves the local branch from `old` to `new`, only if it still points at `old`.
    pub(super) fn move_local(&self, old: Option<Oid>, new: Oid) -> Result<(), PushFailure> {
        let message = "driftlog: sync with the remote";
        self.store
            .ensure_not_checked_out()
            .map_err(|e| self.store_failure(e))?;
        let result = match old {
            Some(old) => self
                .repo
                .reference_matching(&self.refname, new, true, old, message),
            None => self.repo.reference(&self.refname, new, false, message),
        };
        result.map(drop).map_err(|e| self.local(e))
    }

    /// Deletes the local branch, only if it still points at `tip` (a branch of this call's
    /// own commits, when the remote has none yet).
    pub(super) fn drop_local(&self, tip: Oid) -> Result<(), PushFailure> {
        self.store
            .ensure_not_checked_out()
            .map_err(|e| self.store_failure(e))?;
        let mut reference = self
            .repo
            .find_reference(&self.refname)
            .map_err(|e| self.local(e))?;
        if reference.target() != Some(tip) {
            return Err(self.local("the local audit branch moved while this run used it"));
        }
        reference.delete().map_err(|e| self.local(e))
    }
}
