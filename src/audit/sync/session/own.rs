//! This run's records on a pending ref of their own: pushing them there after a lost race,
//! recognising a push whose answer was lost, noticing when another writer folded them, and
//! leaving the fold to the leader meanwhile.

use std::collections::HashMap;
use std::time::Instant;

use git2::Oid;

use super::{commit_record, OwnPending, Progress, Session, FOLD_PATIENCE};
use crate::audit::pending::{self, PendingEntry};
use crate::audit::sync::fold::{self, FoldedIndex};
use crate::audit::sync::transport::{Attempt, Link};
use crate::audit::sync::Landed;

impl Session<'_> {
    /// Whether to leave this attempt's fold to another writer. Once this run's records wait
    /// on a pending ref, the writer whose pending ref sorts first among those waiting (the
    /// leader) folds them all, and the others only watch for theirs to land: every writer
    /// folding everything on every attempt is work that grows with the square of the writers,
    /// all but one push of it lost. A writer stops waiting when the branch has not moved for
    /// [`FOLD_PATIENCE`] (the leader may be gone) or a quarter of its deadline is left.
    pub(super) fn waits_for_the_leader(
        &self,
        progress: &Progress,
        gathered: &fold::Gathered,
        deadline: Instant,
    ) -> bool {
        let Some(own_pending) = &progress.own_pending else {
            return false;
        };
        let leader = gathered
            .to_fold
            .iter()
            .map(|candidate| candidate.remote_ref.as_str())
            .chain([own_pending.remote_ref.as_str()])
            .min();
        if leader == Some(own_pending.remote_ref.as_str()) {
            return false;
        }
        let still = progress
            .tip_since
            .is_some_and(|since| since.elapsed() < FOLD_PATIENCE);
        let left = deadline.saturating_duration_since(Instant::now());
        still && left > self.options.policy.deadline / 4
    }

    /// This run's records that another writer folded from its pending ref.
    pub(super) fn find_own_folded(
        &mut self,
        remote: &str,
        index: &mut FoldedIndex,
        tip: Option<Oid>,
        p: &mut Progress,
    ) {
        if p.own_pending.is_none() {
            self.adopt_lost_pending(remote, p);
        }
        let signed = self.own_signed(p);
        let Some(since) = signed.values().filter_map(fold::made_seconds).min() else {
            return;
        };
        index.walk(self.repo, tip, since);
        let mut found = Vec::new();
        for entry in &self.own {
            let Some(pending) = signed.get(&entry.name) else {
                continue;
            };
            if let Some(at) = index.find(pending.blob_id()) {
                found.push((entry.name.clone(), at));
            }
        }
        for (name, at) in found {
            let Some(record) = commit_record(self.repo, at.commit) else {
                continue;
            };
            self.own.retain(|entry| entry.name != name);
            p.landed.push(Landed {
                seq: at.seq,
                record_sha256: record.sha256,
                commit: at.commit.to_string(),
                source: self.source_of(&name),
            });
            p.heads.insert(name, at.commit);
        }
    }

    /// This run's records as pending entries, by spool file: as pushed to its pending ref,
    /// else as they would be signed (signing is deterministic). A push to a pending ref whose
    /// answer was lost (stopped, or every fetch after it failed) leaves the records both there
    /// and in the spool: the next run on this machine finds them by these bytes, whatever the
    /// label, and never lands them twice.
    pub(super) fn own_signed(&self, p: &Progress) -> HashMap<String, PendingEntry> {
        match &p.own_pending {
            Some(own_pending) => own_pending.entries.clone(),
            None => self
                .own
                .iter()
                .filter_map(|entry| {
                    let pending = PendingEntry::sign(&entry.record, self.key).ok()?;
                    Some((entry.name.clone(), pending))
                })
                .collect(),
        }
    }

    /// A push of this run's pending ref whose answer was lost but that landed: the fetch
    /// brought a ref under this run's label holding exactly entries of its records (signing is
    /// deterministic, so they are the same bytes). Those records are on the remote.
    pub(super) fn adopt_lost_pending(&mut self, remote: &str, p: &mut Progress) {
        let label = &self.options.pending_label;
        let tracking = format!("{}{label}", pending::tracking_prefix(remote, &self.branch));
        let Ok(commit) = self.repo.refname_to_id(&tracking) else {
            return;
        };
        let Ok(files) = pending::read_commit(self.repo, commit) else {
            return;
        };
        let mut signed: HashMap<Oid, (String, PendingEntry)> = HashMap::new();
        for entry in &self.own {
            if let Ok(pending) = PendingEntry::sign(&entry.record, self.key) {
                signed.insert(pending.blob_id(), (entry.name.clone(), pending));
            }
        }
        let mut entries = HashMap::new();
        for file in &files {
            match signed.remove(&pending::blob_id(file)) {
                Some((name, pending)) => {
                    entries.insert(name, pending);
                }
                None => return,
            }
        }
        let names: Vec<String> = entries.keys().cloned().collect();
        for name in names {
            self.remove_entry(&name);
        }
        p.own_pending = Some(OwnPending {
            remote_ref: pending::remote_ref(&self.branch, label),
            entries,
        });
    }

    /// Pushes this run's records still off the branch to a pending ref of their own (once).
    /// On success they leave the spool: they are on the remote. A failure is kept as a
    /// warning; the records stay in the spool.
    pub(super) fn push_pending(&mut self, link: &Link, progress: &mut Progress) -> bool {
        if progress.own_pending.is_some() {
            return true;
        }
        if self.own.is_empty() {
            return false;
        }
        let mut entries = Vec::with_capacity(self.own.len());
        for entry in &self.own {
            match PendingEntry::sign(&entry.record, self.key) {
                Ok(pending) => entries.push((entry.name.clone(), pending)),
                Err(err) => {
                    self.warn(format!("signing a pending record: {err}"));
                    return false;
                }
            }
        }
        let label = &self.options.pending_label;
        let remote_ref = pending::remote_ref(&self.branch, label);
        let outgoing = format!("refs/driftlog/outgoing/{}/{label}", self.branch);
        let made: Vec<PendingEntry> = entries.iter().map(|(_, e)| e.clone()).collect();
        // The commit's time is its newest record's, so pushing the same records again makes
        // the same commit: a retry after a lost answer is a no-op, not a conflict.
        let time = made
            .iter()
            .filter_map(fold::made_seconds)
            .max()
            .unwrap_or_else(crate::audit::sync::unix_now);
        let commit = pending::write_commit(
            self.repo,
            &self.branch,
            &made,
            self.key,
            self.committer,
            time,
        )
        .map_err(|e| e.to_string())
        .and_then(|commit| {
            self.repo
                .reference(&outgoing, commit, true, "driftlog: pending records")
                .map(|_| commit)
                .map_err(|e| e.to_string())
        });
        let commit = match commit {
            Ok(commit) => commit,
            Err(err) => {
                self.warn(format!("writing the pending ref locally: {err}"));
                return false;
            }
        };
        self.pushes += 1;
        let pushed = link.push(vec![format!("{outgoing}:{remote_ref}")]);
        let _ = self
            .repo
            .find_reference(&outgoing)
            .and_then(|mut r| r.delete());
        let failure = match pushed {
            Ok(answer) => answer.statuses.get(&remote_ref).cloned().flatten(),
            Err(Attempt::Transient(f) | Attempt::Fatal(f)) => Some(f.to_string()),
            Err(Attempt::Race(reason) | Attempt::Rejected(reason)) => Some(reason),
        };
        if let Some(failure) = failure {
            // The answer may be what was lost: the remote may hold the ref all the same.
            if link.fetch().is_ok() {
                self.adopt_lost_pending(link.name(), progress);
                if progress.own_pending.is_some() {
                    return true;
                }
            }
            self.warn(format!(
                "the records could not be pushed to the pending ref {remote_ref} either: \
                 {failure}"
            ));
            return false;
        }
        let tracking = format!(
            "{}{label}",
            pending::tracking_prefix(link.name(), &self.branch)
        );
        let _ = self
            .repo
            .reference(&tracking, commit, true, "driftlog: pushed pending records");
        for (name, _) in &entries {
            self.remove_entry(name);
        }
        progress.own_pending = Some(OwnPending {
            remote_ref,
            entries: entries.into_iter().collect(),
        });
        true
    }
}
