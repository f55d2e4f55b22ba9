//! How a call ends: done (the tracking ref at what the remote holds, landed records out of
//! the spool, folded pending refs deleted), settled short of the branch on a pending ref, or
//! failed with the records in the spool; and what it tells the caller.

use git2::Oid;

use super::{Progress, Session};
use crate::audit::sync::transport::{Attempt, Link};
use crate::audit::sync::{Outcome, Placement, PushFailure};

impl Session<'_> {
    /// The call ends short of the branch: with this run's records on a pending ref if they
    /// are there or can be put there now, else in the spool (the error says so).
    pub(super) fn settle(
        &mut self,
        link: &Link,
        mut progress: Progress,
        failure: PushFailure,
    ) -> Result<Outcome, PushFailure> {
        let reachable = !matches!(
            failure,
            PushFailure::Interrupted { .. }
                | PushFailure::Transport { .. }
                | PushFailure::Local { .. }
                | PushFailure::CheckedOut { .. }
        );
        if !self.own.is_empty() && (reachable || progress.own_pending.is_some()) {
            self.push_pending(link, &mut progress);
        }
        // Someone must act (a hook, branch protection, diverged local commits): the call
        // fails, with the records safe on the remote when it took them.
        if matches!(
            failure,
            PushFailure::Rejected { .. }
                | PushFailure::Diverged { .. }
                | PushFailure::Unsigned { .. }
        ) && !self.own.is_empty()
        {
            return Err(self.refused(progress, failure));
        }
        match &progress.own_pending {
            Some(own_pending) if !self.own.is_empty() => {
                let remote_ref = own_pending.remote_ref.clone();
                self.warn(format!(
                    "{failure}; this run's audit record(s) are safe on {} in the pending ref \
                     {remote_ref}, and the next driftlog run that records (or `driftlog report \
                     merge`) folds them into the branch",
                    link.display
                ));
                self.finish(link, None, progress, Vec::new(), false)
            }
            // This call's own records landed (or it had none: a fold): what failed is folding
            // other runs' records, which wait on their refs. A fold, whose whole work that
            // was, fails, unless other writers kept appending (and fold them as they go).
            _ if self.own.is_empty() => {
                let fold_failed = self.new_entries.is_empty()
                    && !matches!(failure, PushFailure::Contended { .. });
                if !fold_failed {
                    self.warn(format!(
                        "{failure}; other runs' pending records wait on their refs for the next \
                         writer"
                    ));
                }
                let outcome = self.finish(link, None, progress, Vec::new(), false)?;
                match fold_failed {
                    true => {
                        self.warnings = outcome.warnings;
                        Err(failure)
                    }
                    false => Ok(outcome),
                }
            }
            _ => Err(failure),
        }
    }

    /// A refusal that is not a race: the records are safe on a pending ref if they could be
    /// pushed there, else in the spool; either way the call fails.
    pub(super) fn refused(&mut self, progress: Progress, failure: PushFailure) -> PushFailure {
        match progress.own_pending {
            Some(own_pending) => PushFailure::RefusedPending {
                refusal: Box::new(failure),
                pending_ref: own_pending.remote_ref,
            },
            None => failure,
        }
    }

    /// The call succeeded (or settled on a pending ref): the tracking ref at what the remote
    /// holds, the landed records out of the spool, and, after a branch push, the pending refs
    /// it folded deleted from the remote.
    pub(super) fn finish(
        &mut self,
        link: &Link,
        pushed_tip: Option<Oid>,
        progress: Progress,
        mut delete: Vec<String>,
        pushed: bool,
    ) -> Result<Outcome, PushFailure> {
        if let Some(tip) = pushed_tip {
            // What a fetch would have set; a failure only makes the next fetch do it.
            let _ = self.repo.reference(
                &link.tracking_ref,
                tip,
                true,
                "driftlog: pushed the audit branch",
            );
        }
        let landed_names: Vec<String> = progress.heads.keys().cloned().collect();
        for name in landed_names {
            self.remove_entry(&name);
        }
        if self.own.is_empty() {
            let _ = self.spool.clear_inflight();
        }
        if let Some(own_pending) = &progress.own_pending {
            if self.own.is_empty() && pushed {
                delete.push(own_pending.remote_ref.clone());
            }
        }
        delete.sort();
        delete.dedup();
        if pushed && !delete.is_empty() {
            self.delete_refs(link, &delete);
        }
        self.outcome(Some(link.display.clone()), progress)
    }

    /// Deletes folded pending refs from the remote; what fails only leaves them for the next
    /// writer, who sees their records on the branch already.
    pub(super) fn delete_refs(&mut self, link: &Link, refs: &[String]) {
        self.pushes += 1;
        match link.push(refs.iter().map(|r| format!(":{r}")).collect()) {
            Ok(answer) => {
                let kept: Vec<String> = answer
                    .statuses
                    .iter()
                    .filter_map(|(name, status)| status.as_ref().map(|s| format!("{name} ({s})")))
                    .collect();
                if !kept.is_empty() {
                    self.warn(format!(
                        "folded pending refs could not be deleted from {}: {}; the next writer \
                         tries again",
                        link.display,
                        kept.join(", ")
                    ));
                }
            }
            Err(Attempt::Transient(f) | Attempt::Fatal(f)) => self.warn(format!(
                "folded pending refs could not be deleted ({f}); the next writer tries again"
            )),
            Err(Attempt::Race(reason) | Attempt::Rejected(reason)) => self.warn(format!(
                "folded pending refs could not be deleted ({reason}); the next writer tries again"
            )),
        }
    }

    pub(super) fn outcome(
        &mut self,
        remote: Option<String>,
        progress: Progress,
    ) -> Result<Outcome, PushFailure> {
        let mut placed = Vec::with_capacity(self.new_entries.len());
        for name in &self.new_entries {
            if let Some(commit) = progress.heads.get(name) {
                let appended = self.store.appended_at(*commit).map_err(|e| {
                    self.local(format!(
                        "the commit {commit} does not hold a readable audit record: {e}"
                    ))
                })?;
                placed.push(Placement::Branch(appended));
            } else if let Some((own_pending, entry)) = progress
                .own_pending
                .as_ref()
                .and_then(|p| p.entries.get(name).map(|entry| (p, entry)))
            {
                placed.push(Placement::Pending {
                    remote_ref: own_pending.remote_ref.clone(),
                    entry: entry.blob_id().to_string(),
                });
            } else {
                return Err(self.local("this run's record is on no commit"));
            }
        }
        let mut records = progress.landed;
        records.sort_by_key(|l| l.seq);
        records.dedup_by(|a, b| a.commit == b.commit);
        Ok(Outcome {
            remote,
            records,
            placed,
            pending_ref: progress
                .own_pending
                .filter(|_| !self.own.is_empty())
                .map(|p| p.remote_ref),
            pushes: self.pushes,
            retries: progress.retries,
            warnings: std::mem::take(&mut self.warnings),
        })
    }
}
