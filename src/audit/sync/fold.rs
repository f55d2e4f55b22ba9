//! What a writer folds: the pending refs a fetch brought (other runs' records that could not
//! join the branch in time), each entry checked, and which of them the branch holds already.
//!
//! An entry is on the branch when a commit there added a `.pending` file with its exact bytes
//! (the same blob id). Folded copies are found by walking the branch back from its tip, no
//! further than the oldest entry asked about was made (less a slack for clocks that disagree)
//! and at most [`MAX_FOLD_LOOKBACK`] commits; each commit is read once per run.

use std::collections::{HashMap, HashSet};

use git2::{Oid, Repository};

use crate::audit::pending::{self, PendingEntry};
use crate::audit::store::{self, RECORDS_DIR};

/// How many commits back from the tip a writer looks for a pending entry's folded copy. An
/// entry made before them is refused (kept, reported): whether it was folded cannot be told
/// cheaply, and folding it twice would repeat a record.
pub const MAX_FOLD_LOOKBACK: usize = 10_000;
/// The most bytes of pending entries one writer reads from all pending refs together (the
/// smallest refs first; the first is read whatever its size, within
/// [`pending::MAX_PENDING_REF_BYTES`]). The rest wait for a later writer.
pub const MAX_FOLD_BYTES: usize = 64 << 20;
/// How much earlier than a pending entry was made its folded copy may say it joined the log:
/// runners' clocks disagree.
pub const FOLD_CLOCK_SLACK_SECONDS: i64 = 300;

/// Where a folded copy of a pending entry sits on the branch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct FoldedAt {
    pub(super) seq: u64,
    pub(super) commit: Oid,
}

/// The `.pending` blobs of the branch's commits, as far back as asked.
#[derive(Default)]
pub(super) struct FoldedIndex {
    /// Per commit read: the blob id of the `.pending` file it added, if any, and its seq.
    seen: HashMap<Oid, Option<(Oid, u64)>>,
    /// Blob id of each folded entry found.
    folded: HashMap<Oid, FoldedAt>,
}

/// How far back a walk reached.
pub(super) struct Reach {
    /// The commit time of the oldest commit looked at, or `None` when the walk reached the
    /// branch's first commit (everything was looked at).
    pub(super) stopped_at: Option<i64>,
}

impl FoldedIndex {
    /// Walks from `tip` back until a commit older than `since` (Unix seconds, less the slack),
    /// the first commit, or [`MAX_FOLD_LOOKBACK`] commits.
    pub(super) fn walk(&mut self, repo: &Repository, tip: Option<Oid>, since: i64) -> Reach {
        let Some(mut commit) = tip.and_then(|tip| repo.find_commit(tip).ok()) else {
            return Reach { stopped_at: None };
        };
        let limit = since.saturating_sub(FOLD_CLOCK_SLACK_SECONDS);
        for _ in 0..MAX_FOLD_LOOKBACK {
            let id = commit.id();
            if !self.seen.contains_key(&id) {
                let added = folded_blob(&commit);
                if let Some((blob, seq)) = added {
                    self.folded.insert(blob, FoldedAt { seq, commit: id });
                }
                self.seen.insert(id, added);
            }
            let time = commit.time().seconds();
            if time < limit {
                return Reach {
                    stopped_at: Some(time),
                };
            }
            match commit.parent(0) {
                Ok(parent) => commit = parent,
                Err(_) => return Reach { stopped_at: None },
            }
        }
        Reach {
            stopped_at: Some(commit.time().seconds()),
        }
    }

    pub(super) fn find(&self, blob: Oid) -> Option<FoldedAt> {
        self.folded.get(&blob).copied()
    }
}

/// The blob id of the `.pending` file `commit` added next to its record, and the record's seq.
pub(super) fn folded_blob(commit: &git2::Commit<'_>) -> Option<(Oid, u64)> {
    let (seq, _) = store::message_record(commit.summary()?)?;
    let [a, b, file] = store::record_path(seq);
    let path = format!("{RECORDS_DIR}/{a}/{b}/{file}{}", pending::FOLDED_SUFFIX);
    let entry = commit
        .tree()
        .ok()?
        .get_path(std::path::Path::new(&path))
        .ok()?;
    // Only the commit that added it counts: its parent must not hold the same file.
    let inherited = commit
        .parent(0)
        .ok()
        .and_then(|parent| parent.tree().ok())
        .and_then(|tree| tree.get_path(std::path::Path::new(&path)).ok())
        .is_some_and(|before| before.id() == entry.id());
    (!inherited).then_some((entry.id(), seq))
}

/// One entry of another run's pending ref, checked.
#[derive(Clone)]
pub(super) struct Candidate {
    pub(super) remote_ref: String,
    pub(super) index: usize,
    pub(super) entry: PendingEntry,
}

/// What the pending refs a fetch brought hold.
#[derive(Default)]
pub(super) struct Gathered {
    /// Entries not on the branch yet, to fold: in the order they were made.
    pub(super) to_fold: Vec<Candidate>,
    /// Refs whose every entry is on the branch already: to delete once this run pushes.
    pub(super) folded_refs: Vec<String>,
    /// Why refs were refused (kept on the remote), one line each.
    pub(super) refused: Vec<String>,
    /// The blob ids of this run's own entries found on the refs read (a push of them whose
    /// answer was lost): never candidates, whatever their times, so this run appends each
    /// record with its entry beside it and no later fold repeats it.
    pub(super) own_found: HashSet<Oid>,
}

/// Reads every pending ref of the branch that `found` lists, but `own`'s ref (this run's,
/// whose records it holds in memory), checking each entry with `verify`; entries with `own`'s
/// blob ids are this run's records, found again (see [`Gathered::own_found`]). `index` is walked as far
/// back as the oldest entry needs.
pub(super) fn gather(
    repo: &Repository,
    found: &[pending::FoundRef],
    (own, own_blobs): (Option<&str>, &HashSet<Oid>),
    verify: &dyn Fn(&[u8]) -> Result<PendingEntry, String>,
    index: &mut FoldedIndex,
    tip: Option<Oid>,
) -> Gathered {
    let mut gathered = Gathered::default();
    let mut checked: Vec<(String, Vec<PendingEntry>)> = Vec::new();
    let refuse = |found: &pending::FoundRef, why: String| {
        format!(
            "the pending ref {} ({}) was refused and kept on the remote: {why}; investigate \
             it, then delete it (`git push <remote> :{}`)",
            found.remote_ref, found.commit, found.remote_ref
        )
    };
    // Only headers first: the smallest refs (a run's records, kilobytes) are read before
    // large ones, and no more than MAX_FOLD_BYTES in all, so refs built to be costly to read
    // can neither stall a writer nor keep others' records from being folded.
    let mut listed = Vec::new();
    for found in found.iter().filter(|f| Some(f.remote_ref.as_str()) != own) {
        match pending::check_commit(repo, found.commit) {
            Ok(entries) => listed.push((found, entries)),
            Err(why) => gathered.refused.push(refuse(found, why)),
        }
    }
    listed.sort_by_key(|(found, entries)| (entries.bytes, found.remote_ref.clone()));
    let mut read = 0usize;
    let mut left = 0usize;
    for (found, entries) in listed {
        if read > 0 && read.saturating_add(entries.bytes) > MAX_FOLD_BYTES {
            left += 1;
            continue;
        }
        read = read.saturating_add(entries.bytes);
        let files = match pending::read_entries(repo, &entries) {
            Ok(files) => files,
            Err(why) => {
                gathered.refused.push(refuse(found, why));
                continue;
            }
        };
        let entries: Result<Vec<PendingEntry>, String> = files
            .iter()
            .enumerate()
            .map(|(i, bytes)| verify(bytes).map_err(|why| format!("entry {i:04}.json: {why}")))
            .collect();
        match entries {
            Ok(entries) => checked.push((found.remote_ref.clone(), entries)),
            Err(why) => gathered.refused.push(refuse(found, why)),
        }
    }
    if left > 0 {
        gathered.refused.push(format!(
            "{left} pending ref(s) were left on the remote for a later writer: with the others \
             they hold more than the {MAX_FOLD_BYTES} bytes one writer reads"
        ));
    }
    let oldest = checked
        .iter()
        .flat_map(|(_, entries)| entries)
        .filter_map(made_seconds)
        .min();
    let reach = match oldest {
        Some(oldest) => index.walk(repo, tip, oldest),
        None => Reach { stopped_at: None },
    };
    let mut seen: HashSet<Oid> = HashSet::new();
    // The lookback finds a folded copy only if it joined no earlier than it was made, less
    // the slack: an entry from a clock further ahead waits until this clock catches up.
    let latest = super::unix_now().saturating_add(FOLD_CLOCK_SLACK_SECONDS);
    for (remote_ref, entries) in checked {
        let mut unfolded = Vec::new();
        let mut too_old = None;
        let mut too_new = None;
        // An entry counts as seen only once its ref is taken: a copy in a ref kept back must
        // not keep another ref from folding it.
        let mut blobs = HashSet::new();
        for (i, entry) in entries.into_iter().enumerate() {
            let blob = entry.blob_id();
            if own_blobs.contains(&blob) {
                gathered.own_found.insert(blob);
                continue;
            }
            if index.find(blob).is_some() || seen.contains(&blob) || !blobs.insert(blob) {
                continue;
            }
            let made = made_seconds(&entry).unwrap_or(i64::MIN);
            if made > latest {
                too_new = Some(entry.made().to_owned());
                break;
            }
            if reach
                .stopped_at
                .is_some_and(|stopped| made.saturating_sub(FOLD_CLOCK_SLACK_SECONDS) < stopped)
            {
                too_old = Some(entry.made().to_owned());
                break;
            }
            unfolded.push(Candidate {
                remote_ref: remote_ref.clone(),
                index: i,
                entry,
            });
        }
        if let Some(made) = too_new {
            gathered.refused.push(format!(
                "the pending ref {remote_ref} was kept on the remote, not folded yet: it holds a \
                 record made at {made}, more than {FOLD_CLOCK_SLACK_SECONDS} s ahead of this \
                 runner's clock (its maker's clock runs fast); a writer folds it once that time \
                 has come"
            ));
        } else if let Some(made) = too_old {
            gathered.refused.push(format!(
                "the pending ref {remote_ref} was kept on the remote, not folded: it holds a \
                 record made at {made}, before the last {MAX_FOLD_LOOKBACK} commits of the \
                 branch, so whether it is on the branch already cannot be told here; check \
                 with `driftlog verify`, then delete it or fold it by hand"
            ));
        } else if unfolded.is_empty() {
            gathered.folded_refs.push(remote_ref);
        } else {
            seen.extend(blobs);
            gathered.to_fold.extend(unfolded);
        }
    }
    gathered.to_fold.sort_by(|a, b| {
        (made_seconds(&a.entry), &a.remote_ref, a.index).cmp(&(
            made_seconds(&b.entry),
            &b.remote_ref,
            b.index,
        ))
    });
    gathered
}

/// When a pending entry's record was made, in Unix seconds.
pub(super) fn made_seconds(entry: &PendingEntry) -> Option<i64> {
    let time = humantime::parse_rfc3339_weak(entry.made()).ok()?;
    let seconds = time.duration_since(std::time::UNIX_EPOCH).ok()?.as_secs();
    i64::try_from(seconds).ok()
}
