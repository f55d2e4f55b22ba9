//! One call of [`super::record_all`]: this run's records (the spool's and its own) onto the
//! branch, with every other run's pending records that arrived, in as few pushes as the race
//! allows, or to a pending ref of their own when the deadline comes first.

use std::collections::{HashMap, HashSet};
use std::time::Instant;

use git2::{Oid, Repository, Sort};
use ring::rand::SystemRandom;

use super::fold::{self, FoldedIndex};
use super::transport::{pause, Attempt, Link};
use super::{Landed, Outcome, PushFailure, Source, SyncOptions};
use crate::audit::pending::{self, PendingEntry};
use crate::audit::record::{LogId, Record};
use crate::audit::spool::{Entry, InFlight, InFlightEntry, Spool};
use crate::audit::sshsig::{allowed_signers_line, AllowedSigners, SigningKey};
use crate::audit::store::{self, Appended, AuditStore, Committer, StoreError, RECORDS_DIR};

mod end;
mod local;
mod own;

/// How long a writer whose records wait on a pending ref leaves the fold to the leader while
/// the branch does not move (see `waits_for_the_leader`).
pub const FOLD_PATIENCE: std::time::Duration = std::time::Duration::from_secs(10);

/// How often an append is retried when a writer outside driftlog's lock moves the local
/// branch in between.
const LOCAL_APPEND_ATTEMPTS: u32 = 10;

pub(super) struct Session<'a> {
    pub(super) store: &'a AuditStore,
    pub(super) repo: &'a Repository,
    pub(super) refname: String,
    pub(super) branch: String,
    pub(super) key: &'a SigningKey,
    pub(super) committer: &'a Committer,
    pub(super) options: &'a SyncOptions,
    pub(super) spool: &'a Spool<'a>,
    /// This call's records' spool files, in the order they were given.
    pub(super) new_entries: Vec<String>,
    /// This run's records to land, oldest first: the spool's (read and verified once, under
    /// the lock) then this call's.
    pub(super) own: Vec<Entry>,
    pub(super) warnings: Vec<String>,
    pub(super) random: SystemRandom,
    pub(super) pushes: u32,
    removed: HashSet<String>,
    /// Commits this call made locally: dropped without a second thought when the remote moved.
    made: HashSet<Oid>,
    /// This run's key alone, as an allowed signer: what it folds and pushes along.
    own_signers: AllowedSigners,
}

/// This run's records as pushed to a pending ref of their own.
struct OwnPending {
    remote_ref: String,
    /// Spool file name to the entry as pushed.
    entries: HashMap<String, PendingEntry>,
}

/// One record a branch push carries: this run's (its spool file) or another run's pending
/// entry (its file, stored next to the folded record).
struct ToAppend<'e> {
    record: &'e Record,
    folded: Option<&'e [u8]>,
    own: Option<&'e str>,
}

/// What a branch push sends: the local tip, and the commit carrying each record.
struct Prepared {
    tip: Oid,
    commits: Vec<Oid>,
}

/// Where this run's records stand during a call.
#[derive(Default)]
struct Progress {
    landed: Vec<Landed>,
    /// Spool file name to the commit that carries it on the remote branch.
    heads: HashMap<String, Oid>,
    own_pending: Option<OwnPending>,
    retries: u32,
    /// The remote tip last fetched, and since when it has not moved.
    tip_seen: Option<Option<Oid>>,
    tip_since: Option<Instant>,
}

impl<'a> Session<'a> {
    #[allow(clippy::too_many_arguments)]
    pub(super) fn new(
        store: &'a AuditStore,
        repo: &'a Repository,
        key: &'a SigningKey,
        committer: &'a Committer,
        options: &'a SyncOptions,
        spool: &'a Spool<'a>,
        own: Vec<Entry>,
        new_entries: Vec<String>,
        warnings: Vec<String>,
    ) -> Self {
        Session {
            store,
            repo,
            refname: store.refname(),
            branch: store.branch().to_owned(),
            key,
            committer,
            options,
            spool,
            new_entries,
            own,
            warnings,
            random: SystemRandom::new(),
            pushes: 0,
            removed: HashSet::new(),
            made: HashSet::new(),
            own_signers: AllowedSigners::parse(&allowed_signers_line("driftlog", key))
                .unwrap_or_default(),
        }
    }

    fn local(&self, err: impl std::fmt::Display) -> PushFailure {
        PushFailure::Local {
            message: err.to_string(),
        }
    }

    fn store_failure(&self, err: StoreError) -> PushFailure {
        match err {
            StoreError::CheckedOut { branch, worktree } => {
                PushFailure::CheckedOut { branch, worktree }
            }
            err => self.local(err),
        }
    }

    fn source_of(&self, entry: &str) -> Source {
        if self.new_entries.iter().any(|name| name == entry) {
            Source::ThisScan
        } else {
            Source::Spool
        }
    }

    pub(super) fn warn(&mut self, warning: String) {
        if !self.warnings.contains(&warning) {
            self.warnings.push(warning);
        }
    }

    /// Appends `record` at the local tip (with its pending entry, when it was one); retried
    /// when a writer outside driftlog's lock moved the branch in between.
    fn append(&self, record: &Record, folded: Option<&[u8]>) -> Result<Appended, PushFailure> {
        let build = |position| record.rebased(position);
        let mut attempts = LOCAL_APPEND_ATTEMPTS;
        loop {
            attempts -= 1;
            let now = super::unix_now();
            let result = match folded {
                Some(entry) => {
                    self.store
                        .append_folded(&build, self.key, self.committer, now, entry)
                }
                None => self.store.append(&build, self.key, self.committer, now),
            };
            match result {
                Err(StoreError::Moved { .. }) if attempts > 0 => continue,
                result => return result.map_err(|e| self.store_failure(e)),
            }
        }
    }

    fn remove_entry(&mut self, name: &str) {
        if !self.removed.insert(name.to_owned()) {
            return;
        }
        match self.spool.remove(name) {
            Ok(None) => {}
            Ok(Some(warning)) => self.warn(warning),
            Err(err) => self.warn(format!(
                "the audit record {} was written but its spool file could not be removed \
                 ({err}); remove it by hand, or the next run may write it again",
                self.spool.path(name).display()
            )),
        }
    }

    /// No remote: the spool, this call's records included, goes onto the local branch.
    pub(super) fn write_local(&mut self) -> Result<Outcome, PushFailure> {
        let mut progress = Progress::default();
        for entry in std::mem::take(&mut self.own) {
            let appended = self.append(&entry.record, None)?;
            self.remove_entry(&entry.name);
            progress.landed.push(Landed {
                seq: appended.seq,
                record_sha256: appended.record_sha256.clone(),
                commit: appended.commit.clone(),
                source: self.source_of(&entry.name),
            });
            let commit = Oid::from_str(&appended.commit).map_err(|e| self.local(e))?;
            progress.heads.insert(entry.name, commit);
        }
        self.outcome(None, progress)
    }

    /// Checks a pending entry: made and signed with this run's key, as the spool's are (a
    /// record another key made waits for a run with that key, so every record's signatures on
    /// the branch are its maker's).
    fn verify_entry(&self, bytes: &[u8], log: Option<&LogId>) -> Result<PendingEntry, String> {
        let entry = PendingEntry::verify(bytes, &self.own_signers, log).map_err(|why| match why
            .contains("does not trust")
        {
            true => format!(
                "{why}: a pending record is folded only by a run with the key that made it \
                     (after a key rotation, run driftlog once with the old key, or remove the \
                     ref)"
            ),
            false => why,
        })?;
        // No record names the log yet (a fold onto a branch not made yet): the store's
        // identity does, so another log's entry signed with the same key is not folded.
        let named = crate::audit::recorder::checkpoint_origin(&entry.record.log);
        if log.is_none() && named != self.store.origin() {
            return Err(format!(
                "its record belongs to the log of {} ({}), not this one ({})",
                entry.record.log.repository,
                entry.record.log.branch,
                self.store.origin()
            ));
        }
        Ok(entry)
    }

    /// The log the branch at `tip` belongs to, else the one this run's records name.
    fn log_at(&self, tip: Option<Oid>) -> Option<LogId> {
        tip.and_then(|tip| commit_record(self.repo, tip))
            .and_then(|found| serde_json::from_slice::<Record>(&found.bytes).ok())
            .map(|record| record.log)
            .or_else(|| self.own.first().map(|entry| entry.record.log.clone()))
    }

    pub(super) fn push_remote(&mut self, name: &str) -> Result<Outcome, PushFailure> {
        let link = Link::new(
            self.repo,
            name,
            &self.branch,
            &self.options.auth,
            self.options.transport_timeout,
        )
        .map_err(|e| self.local(e))?;
        let policy = self.options.policy;
        let deadline = Instant::now() + policy.deadline;
        let mut in_flight = self.spool.read_inflight();
        let mut progress = Progress::default();
        let mut index = FoldedIndex::default();
        let mut fetched: Option<Option<Oid>> = None;
        let mut last: Option<PushFailure> = None;
        let mut attempt = 0u32;
        loop {
            if attempt > 0 {
                let left = deadline.saturating_duration_since(Instant::now());
                if left.is_zero() {
                    break;
                }
                progress.retries += 1;
                pause(policy.delay(attempt, &self.random).min(left));
            }
            attempt += 1;
            if crate::interrupt::requested() {
                let stopped = PushFailure::Interrupted {
                    remote: link.display.clone(),
                };
                return self.settle(&link, progress, stopped);
            }
            let tip = match fetched.take() {
                Some(tip) => tip,
                None => match link.fetch() {
                    Ok(tip) => tip,
                    Err(Attempt::Transient(failure)) => {
                        last = Some(failure);
                        continue;
                    }
                    Err(other) => return self.settle(&link, progress, final_failure(&link, other)),
                },
            };
            self.resolve_in_flight(&mut in_flight, tip, &mut progress);
            self.find_own_folded(link.name(), &mut index, tip, &mut progress);
            let log = self.log_at(tip);
            let (found, more) =
                pending::found(self.repo, link.name(), &self.branch).map_err(|e| self.local(e))?;
            if more {
                self.warn(format!(
                    "more than {} pending refs wait on {}; the rest are folded by later writers",
                    pending::MAX_PENDING_REFS,
                    link.display
                ));
            }
            // This run's own label, pushed or not: a push whose answer was lost may have
            // landed, and its records are this run's to place, never another's to fold.
            let own_ref = Some(pending::remote_ref(
                &self.branch,
                &self.options.pending_label,
            ));
            // This run's records found on another pending ref join as this run's, that entry
            // beside them (so the ref is seen folded), never folded as another run's.
            let own_signed = self.own_signed(&progress);
            let own_blobs: HashSet<Oid> = own_signed.values().map(PendingEntry::blob_id).collect();
            let verify = |bytes: &[u8]| self.verify_entry(bytes, log.as_ref());
            let mut gathered = fold::gather(
                self.repo,
                &found,
                (own_ref.as_deref(), &own_blobs),
                &verify,
                &mut index,
                tip,
            );
            for refused in std::mem::take(&mut gathered.refused) {
                self.warn(refused);
            }
            let own_found = std::mem::take(&mut gathered.own_found);
            // A call with records of its own is done once they are on the branch; only a
            // fold (no records of its own) stays for the others'.
            if self.own.is_empty() && (gathered.to_fold.is_empty() || !self.new_entries.is_empty())
            {
                return self.finish(&link, tip, progress, Vec::new(), false);
            }
            if progress.tip_seen != Some(tip) {
                progress.tip_seen = Some(tip);
                progress.tip_since = Some(Instant::now());
            }
            if self.waits_for_the_leader(&progress, &gathered, deadline) {
                continue;
            }
            let own = std::mem::take(&mut self.own);
            let appends: Vec<ToAppend<'_>> = gathered
                .to_fold
                .iter()
                .map(|candidate| ToAppend {
                    record: &candidate.entry.record,
                    folded: Some(&candidate.entry.bytes),
                    own: None,
                })
                .chain(own.iter().map(|entry| {
                    ToAppend {
                        record: &entry.record,
                        folded: own_signed
                            .get(&entry.name)
                            .filter(|p| {
                                progress.own_pending.is_some() || own_found.contains(&p.blob_id())
                            })
                            .map(|p| p.bytes.as_slice()),
                        own: Some(&entry.name),
                    }
                }))
                .collect();
            let prepared = self.prepare(&link, tip, &appends);
            let prepared = match prepared {
                Ok(prepared) => prepared,
                Err(failure) => {
                    drop(appends);
                    self.own = own;
                    return self.settle(&link, progress, failure);
                }
            };
            in_flight.push(InFlight {
                commit: prepared.tip.to_string(),
                entries: appends
                    .iter()
                    .zip(&prepared.commits)
                    .filter_map(|(append, commit)| {
                        append.own.map(|file| InFlightEntry {
                            file: file.to_owned(),
                            commit: commit.to_string(),
                        })
                    })
                    .collect(),
            });
            // Every unconfirmed push is kept: a slow server may still apply an older one.
            if let Err(e) = self.spool.write_inflight(&in_flight) {
                drop(appends);
                self.own = own;
                let failure = self.local(format!("recording the push in the spool: {e}"));
                return self.settle(&link, progress, failure);
            }
            self.pushes += 1;
            let outcome = match link.push_branch() {
                Ok(()) => {
                    let landed_now =
                        self.landed_between(tip, prepared.tip, &appends, &prepared.commits);
                    drop(appends);
                    for (landed, own) in landed_now {
                        if let Some(name) = own {
                            if let Ok(commit) = Oid::from_str(&landed.commit) {
                                progress.heads.insert(name, commit);
                            }
                        }
                        progress.landed.push(landed);
                    }
                    let mut delete = gathered.folded_refs;
                    delete.extend(gathered.to_fold.iter().map(|c| c.remote_ref.clone()));
                    return self.finish(&link, Some(prepared.tip), progress, delete, true);
                }
                Err(outcome) => {
                    drop(appends);
                    self.own = own;
                    outcome
                }
            };
            let rejected = matches!(outcome, Attempt::Rejected(_));
            match outcome {
                Attempt::Transient(failure) => last = Some(failure),
                Attempt::Fatal(failure) => return self.settle(&link, progress, failure),
                Attempt::Race(reason) | Attempt::Rejected(reason) => {
                    let after = match link.fetch() {
                        Ok(after) => after,
                        Err(Attempt::Transient(failure)) => {
                            last = Some(failure);
                            continue;
                        }
                        Err(other) => {
                            return self.settle(&link, progress, final_failure(&link, other))
                        }
                    };
                    if rejected && after == tip {
                        // Nobody else wrote: the refusal is about this push itself.
                        let refused = PushFailure::Rejected {
                            remote: link.display.clone(),
                            reason,
                        };
                        return self.settle(&link, progress, refused);
                    }
                    fetched = Some(after);
                    last = Some(PushFailure::Contended {
                        remote: link.display.clone(),
                        waited_seconds: policy.deadline.as_secs(),
                        last: reason,
                    });
                    // Lost a race: this run's records go where nobody else writes, so any
                    // writer that gets there first takes them along.
                    if progress.own_pending.is_none() {
                        self.push_pending(&link, &mut progress);
                    }
                }
            }
        }
        let failure = last.unwrap_or_else(|| self.local("no push was attempted"));
        self.settle(&link, progress, failure)
    }

    /// A push from an earlier attempt or run whose answer was lost: if the remote tip contains
    /// its commit, its records landed and leave the spool.
    fn resolve_in_flight(
        &mut self,
        in_flight: &mut Vec<InFlight>,
        tip: Option<Oid>,
        progress: &mut Progress,
    ) {
        let before = in_flight.len();
        let flights = std::mem::take(in_flight);
        for flight in flights {
            if !self.resolve_flight(&flight, tip, progress) {
                in_flight.push(flight);
            }
        }
        if in_flight.len() != before {
            // A failure only means the next run resolves the same pushes again.
            let _ = self.spool.write_inflight(in_flight);
        }
    }

    fn resolve_flight(&mut self, flight: &InFlight, tip: Option<Oid>, p: &mut Progress) -> bool {
        let (Some(tip), Ok(commit)) = (tip, Oid::from_str(&flight.commit)) else {
            return false;
        };
        let contained =
            tip == commit || self.repo.graph_descendant_of(tip, commit).unwrap_or(false);
        if !contained {
            return false;
        }
        for entry in &flight.entries {
            let Ok(oid) = Oid::from_str(&entry.commit) else {
                continue;
            };
            // The content must match too: a stale note must never retire another record.
            let Some(found) = commit_record(self.repo, oid) else {
                continue;
            };
            let Some(index) = self.own.iter().position(|own| {
                own.name == entry.file && pending::is_placed(&own.record, found.seq, &found.bytes)
            }) else {
                // Resolved already, through another push that carried it.
                continue;
            };
            self.own.remove(index);
            p.landed.push(Landed {
                seq: found.seq,
                record_sha256: found.sha256,
                commit: oid.to_string(),
                source: self.source_of(&entry.file),
            });
            p.heads.insert(entry.file.clone(), oid);
            self.remove_entry(&entry.file);
        }
        true
    }

    /// Every record commit from `base` (exclusive) to `tip`, oldest first, each with the spool
    /// file of this run's record it carries.
    fn landed_between(
        &self,
        base: Option<Oid>,
        tip: Oid,
        appends: &[ToAppend<'_>],
        commits: &[Oid],
    ) -> Vec<(Landed, Option<String>)> {
        let sources: HashMap<Oid, (Source, Option<String>)> = appends
            .iter()
            .zip(commits)
            .map(|(append, commit)| {
                let source = match append.own {
                    Some(name) => (self.source_of(name), Some(name.to_owned())),
                    None => (Source::Pending, None),
                };
                (*commit, source)
            })
            .collect();
        let mut landed = Vec::new();
        for oid in commits_between(self.repo, base, tip).unwrap_or_default() {
            if let Some(found) = commit_record(self.repo, oid) {
                let (source, own) = sources
                    .get(&oid)
                    .cloned()
                    .unwrap_or((Source::LocalBranch, None));
                landed.push((
                    Landed {
                        seq: found.seq,
                        record_sha256: found.sha256,
                        commit: oid.to_string(),
                        source,
                    },
                    own,
                ));
            }
        }
        landed
    }
}

fn final_failure(link: &Link, attempt: Attempt) -> PushFailure {
    match attempt {
        Attempt::Transient(failure) | Attempt::Fatal(failure) => failure,
        Attempt::Race(reason) | Attempt::Rejected(reason) => PushFailure::Rejected {
            remote: link.display.clone(),
            reason,
        },
    }
}

/// Commits reachable from `tip` but not from `base`, oldest first.
fn commits_between(
    repo: &Repository,
    base: Option<Oid>,
    tip: Oid,
) -> Result<Vec<Oid>, git2::Error> {
    let mut walk = repo.revwalk()?;
    walk.set_sorting(Sort::TOPOLOGICAL | Sort::REVERSE)?;
    walk.push(tip)?;
    if let Some(base) = base {
        walk.hide(base)?;
    }
    walk.collect()
}

/// Whether the key `own` trusts (this run's) signed the commit `oid`, as it signs every
/// audit commit.
fn signed_by(repo: &Repository, oid: Oid, own: &AllowedSigners) -> bool {
    let Ok((signature, data)) = repo.extract_signature(&oid, None) else {
        return false;
    };
    let Some(signature) = signature.as_str() else {
        return false;
    };
    crate::audit::sshsig::verify(
        signature,
        crate::audit::sshsig::GIT_NAMESPACE,
        &data,
        own,
        None,
    )
    .is_ok()
}

/// Whether `oid` adds a folded pending entry beside its record.
fn carries_pending_entry(repo: &Repository, oid: Oid) -> bool {
    repo.find_commit(oid)
        .ok()
        .and_then(|commit| fold::folded_blob(&commit))
        .is_some()
}

/// The record a driftlog commit adds, as its message names it.
struct CommitRecord {
    seq: u64,
    sha256: String,
    bytes: Vec<u8>,
}

fn commit_record(repo: &Repository, oid: Oid) -> Option<CommitRecord> {
    let commit = repo.find_commit(oid).ok()?;
    let (seq, sha256) = store::message_record(commit.summary()?)?;
    let [a, b, file] = store::record_path(seq);
    let path: std::path::PathBuf = [RECORDS_DIR, &a, &b, &file].iter().collect();
    let entry = commit.tree().ok()?.get_path(&path).ok()?;
    let bytes = repo.find_blob(entry.id()).ok()?.content().to_vec();
    Some(CommitRecord {
        seq,
        sha256: sha256.to_owned(),
        bytes,
    })
}
