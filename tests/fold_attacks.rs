//! Pending refs as a hostile writer, a replay, or a runner with a wrong clock would leave
//! them: no record is folded twice, none is lost.

use std::path::Path;
use std::time::{Duration, SystemTime};

use driftlog::audit::pending::{PendingEntry, MAX_PENDING_REF_BYTES};
use driftlog::audit::record::{LogId, Record};
use driftlog::audit::store::AuditStore;
use driftlog::audit::sync;
use driftlog::audit::sync::{
    Outcome, PushFailure, RemoteChoice, SyncError, SyncOptions, MAX_FOLD_BYTES,
};

use crate::fanout::{allowed, assert_verifies, made_at, push_pending};
use crate::support::git;
use crate::sync::{
    assert_warned, committer, options, options_with_deadline, pending_refs, record_in, served,
    served_with_initial, served_with_initial_and_other, spool_files, test_key, verify_chain,
    Daemon, Remote, BRANCH, ORIGIN,
};

fn rfc3339(time: SystemTime) -> String {
    humantime::format_rfc3339_seconds(time).to_string()
}

fn markers(bare: &Path) -> Vec<String> {
    let commits = git(bare, &["rev-list", "--count", BRANCH]);
    verify_chain(bare, commits.trim().parse().expect("a count"))
}

/// Pushes from `clone`, as the run `a-run`, the entry of a record of `marker` made `seconds`
/// ahead of this clock. Returns the entry and the pending ref.
fn push_made_ahead(clone: &Path, marker: &str, seconds: u64) -> (PendingEntry, String) {
    let ahead = rfc3339(SystemTime::now() + Duration::from_secs(seconds));
    let entry = PendingEntry::sign(&made_at(marker, &ahead), test_key()).expect("sign");
    let pushed = push_pending(clone, std::slice::from_ref(&entry), test_key(), "a-run");
    (entry, pushed)
}

/// Records `second` in `ours`, replays `entry` from `other` on a ref of its own (a delete that
/// failed, or a hostile writer), then records `third`. Returns that last outcome and the ref.
fn replay_between_records(ours: &Path, other: &Path, entry: PendingEntry) -> (Outcome, String) {
    record_in(ours, "second", &options(RemoteChoice::Default)).expect("second");
    let replayed = push_pending(other, &[entry], test_key(), "a-run-again");
    let outcome = record_in(ours, "third", &options(RemoteChoice::Default)).expect("3rd");
    (outcome, replayed)
}

/// A maker whose clock runs an hour fast: folded now, its record would say it joined the
/// branch before it was made, and the lookback (which stops at commits older than when an
/// entry was made) would miss that copy; a replay of the entry after later records (a delete
/// that failed, or a hostile writer pushing it again) was folded a second time, and verify
/// then refused the branch for good. It waits on its ref until the writer's clock catches up.
#[test]
fn a_pending_record_from_a_fast_clock_waits_and_is_never_folded_twice() {
    let (remote, _daemon, ours, other) = served_with_initial_and_other();
    let (entry, first_ref) = push_made_ahead(other.path(), "fast-clock", 3600);
    let outcome = record_in(ours.path(), "first", &options(RemoteChoice::Default)).expect("1st");
    assert_eq!(outcome.folded(), 0, "{outcome:?}");
    assert_warned(&outcome, &[&first_ref, "ahead"]);
    let (outcome, replayed) = replay_between_records(ours.path(), other.path(), entry);
    assert_eq!(outcome.folded(), 0, "{outcome:?}");
    assert_eq!(
        markers(&remote.bare()),
        ["initial", "first", "second", "third"]
    );
    // Kept, not lost (a copy under another name may go): a writer folds it once its time
    // has come.
    let left = pending_refs(&remote.bare());
    assert!(left.contains(&first_ref), "{left:?} {replayed}");
    assert_verifies(&remote.bare());
}

/// Within the clock slack, a record made a little ahead is folded once, and a replay of it
/// after later records is recognised.
#[test]
fn a_pending_record_from_a_slightly_fast_clock_is_folded_once() {
    let (remote, _daemon, ours, other) = served_with_initial_and_other();
    let (entry, _) = push_made_ahead(other.path(), "bit-fast", 120);
    let outcome = record_in(ours.path(), "first", &options(RemoteChoice::Default)).expect("1st");
    assert_eq!(outcome.folded(), 1, "{outcome:?}");
    let (outcome, replayed) = replay_between_records(ours.path(), other.path(), entry);
    assert_eq!(outcome.folded(), 0, "{outcome:?}");
    assert_eq!(
        markers(&remote.bare()),
        ["initial", "bit-fast", "first", "second", "third"]
    );
    assert!(!pending_refs(&remote.bare()).contains(&replayed));
    assert_verifies(&remote.bare());
}

/// Pushes `refs` pending refs named `0-junk-<n>` that all share one tree of `entries`
/// entries, each the same `size` bytes of spaces: cheap to push (it compresses to nothing),
/// costly to read (every ref's entries are loaded again).
fn push_costly_refs(dir: &Path, refs: usize, entries: usize, size: usize) {
    let blob_file = dir.join("big");
    std::fs::write(&blob_file, vec![b' '; size]).expect("write");
    let blob = git(
        dir,
        &["hash-object", "-w", blob_file.to_str().expect("utf-8")],
    );
    let listing: String = (0..entries)
        .map(|i| format!("100644 blob {}\t{i:04}.json\n", blob.trim()))
        .collect();
    let mut mktree = std::process::Command::new("git")
        .arg("mktree")
        .current_dir(dir)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("git mktree");
    std::io::Write::write_all(&mut mktree.stdin.take().expect("stdin"), listing.as_bytes())
        .expect("write the listing");
    let tree = mktree.wait_with_output().expect("git mktree");
    let tree = String::from_utf8(tree.stdout).expect("utf-8");
    let specs: Vec<String> = (0..refs)
        .map(|i| {
            let commit = git(
                dir,
                &["commit-tree", tree.trim(), "-m", &format!("junk {i}")],
            );
            format!(
                "{}:refs/driftlog/pending/{BRANCH}/0-junk-{i:04}",
                commit.trim()
            )
        })
        .collect();
    let mut args = vec!["push", "-q", "origin"];
    args.extend(specs.iter().map(String::as_str));
    git(dir, &args);
}

/// A hostile writer's refs built to be costly to read (each within the per-ref bounds, all
/// sharing one tree, so they cost nothing to push) made every writer load them all on every
/// attempt, with no deadline checked meanwhile: about 2 s per ref in a debug build, half an
/// hour for a thousand. A writer reads the smallest refs first, a bounded amount in all.
#[test]
fn refs_built_to_be_costly_to_read_are_left_unread_and_others_still_fold() {
    let (remote, _daemon, ours, other) = served_with_initial_and_other();
    let size = 24 << 20;
    let entries = MAX_FOLD_BYTES / size + 1;
    assert!(entries * size <= MAX_PENDING_REF_BYTES);
    push_costly_refs(other.path(), 3, entries, size);
    let entry =
        PendingEntry::sign(&made_at("honest", "2026-11-24T00:05:00Z"), test_key()).expect("sign");
    let honest = push_pending(other.path(), &[entry], test_key(), "z-run");
    let outcome = record_in(ours.path(), "ours", &options(RemoteChoice::Default)).expect("ours");
    assert_eq!(outcome.folded(), 1, "{outcome:?}");
    assert_eq!(markers(&remote.bare()), ["initial", "honest", "ours"]);
    assert!(!pending_refs(&remote.bare()).contains(&honest));
    assert_warned(&outcome, &["3 pending ref(s) were left"]);
    assert_verifies(&remote.bare());
    // verify, on the clone whose fetch left the refs, reads them no more than a writer does:
    // each is reported, unread.
    let repo = git2::Repository::open(ours.path()).expect("open the clone");
    let report = driftlog::audit::verify::verify_log(&repo, BRANCH, &allowed(test_key()), &[])
        .expect("verify runs");
    let unread: Vec<_> = report
        .problems
        .iter()
        .filter(|p| p.what.contains("0-junk-") && p.what.contains("not read"))
        .collect();
    assert_eq!(unread.len(), 3, "{:#?}", report.problems);
    // The honest ref's tracking ref stays until the next fetch: seen folded.
    let honest_ref = report
        .pending
        .iter()
        .find(|p| p.name == honest)
        .unwrap_or_else(|| panic!("{:#?}", report.pending));
    assert_eq!((honest_ref.folded, honest_ref.error.as_ref()), (1, None));
}

/// A clone with one record pushed, a record spooled towards a remote nobody answers on, and
/// that record's pending entry pushed under another label from a second clone: what a run
/// leaves when its push to its pending ref landed but the answer was lost (it was stopped,
/// or every fetch after it failed until its deadline). The record is in the spool and on the
/// remote at once.
fn spooled_and_pending() -> (Remote, Daemon, tempfile::TempDir, tempfile::TempDir, String) {
    spooled_and_pending_made("spooled", None)
}

/// [`spooled_and_pending`] of a record of `marker`, made at `made` (default: the sample's).
fn spooled_and_pending_made(
    marker: &str,
    made: Option<&str>,
) -> (Remote, Daemon, tempfile::TempDir, tempfile::TempDir, String) {
    let (remote, daemon, ours) = served_with_initial();
    let dead = dead_remote(ours.path());
    let store = AuditStore::open(ours.path(), BRANCH, ORIGIN).expect("open store");
    let build = |position| {
        let record = crate::sync::scan_record(marker, position);
        Record {
            time: made.map_or(record.time.clone(), str::to_owned),
            ..record
        }
    };
    sync::record(&store, &build, test_key(), &committer(), &dead).expect_err("nobody answers");
    let files = spool_files(ours.path());
    let file = files
        .iter()
        .find(|f| f.ends_with(".json") && !f.contains("index") && !f.contains("inflight"))
        .unwrap_or_else(|| panic!("{files:?}"));
    let path = ours
        .path()
        .join(".git/driftlog/spool")
        .join(BRANCH)
        .join(file);
    let spooled: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&path).expect("read")).expect("JSON");
    let record: Record =
        serde_json::from_str(spooled["record"].as_str().expect("record")).expect("record");
    let entry = PendingEntry::sign(&record, test_key()).expect("sign");
    let other = remote.clone_busy(&daemon.url());
    let landed_ref = push_pending(other.path(), &[entry], test_key(), "lost-answer");
    (remote, daemon, ours, other, landed_ref)
}

/// Adds to `clone` a remote nobody answers on, and options that try it once.
fn dead_remote(clone: &Path) -> SyncOptions {
    git(
        clone,
        &["remote", "add", "dead", "git://127.0.0.1:1/remote.git"],
    );
    options_with_deadline(RemoteChoice::Named("dead".into()), Duration::ZERO)
}

fn count(markers: &[String], marker: &str) -> usize {
    markers.iter().filter(|m| *m == marker).count()
}

/// The next run on the machine pushes the spooled record; the ref's entry of the same record
/// was folded beside it (the record twice on the branch, verify none the wiser).
#[test]
fn a_spooled_record_also_on_a_pending_ref_lands_once() {
    let (remote, _daemon, ours, other, landed_ref) = spooled_and_pending();
    let outcome = record_in(ours.path(), "next", &options(RemoteChoice::Default)).expect("next");
    let markers = markers(&remote.bare());
    assert_eq!(count(&markers, "spooled"), 1, "{markers:?} {outcome:?}");
    assert!(markers.ends_with(&["next".to_owned()]), "{markers:?}");
    assert_eq!(outcome.folded(), 0, "{outcome:?}");
    // It joined as this run's with its entry beside it, so the next writer sees the ref folded.
    let later = record_in(other.path(), "later", &options(RemoteChoice::Default)).expect("later");
    let markers = crate::fold_attacks::markers(&remote.bare());
    assert_eq!(count(&markers, "spooled"), 1, "{markers:?} {later:?}");
    assert!(!pending_refs(&remote.bare()).contains(&landed_ref));
    assert!(spool_files(ours.path())
        .iter()
        .all(|f| !f.ends_with(".json") || f.contains("index")));
    assert_verifies(&remote.bare());
}

/// The same, from a runner whose clock ran fast: the ref is held back from folding (its
/// record was made ahead of this clock), but it is this run's own record, so it lands once,
/// with its entry beside it, and no later fold repeats it when the clock catches up.
#[test]
fn a_spooled_record_from_a_fast_clock_also_on_a_pending_ref_lands_once() {
    let ahead = rfc3339(SystemTime::now() + Duration::from_secs(3600));
    let (remote, _daemon, ours, other, landed_ref) = spooled_and_pending_made("fast", Some(&ahead));
    let outcome = record_in(ours.path(), "next", &options(RemoteChoice::Default)).expect("next");
    let markers = markers(&remote.bare());
    assert_eq!(count(&markers, "fast"), 1, "{markers:?} {outcome:?}");
    assert!(
        !pending_refs(&remote.bare()).contains(&landed_ref),
        "{outcome:?}"
    );
    record_in(other.path(), "later", &options(RemoteChoice::Default)).expect("later");
    assert_eq!(
        count(&crate::fold_attacks::markers(&remote.bare()), "fast"),
        1
    );
}

/// Another writer folded the ref first: the spooled record is seen on the branch by its
/// entry and leaves the spool, instead of being appended a second time.
#[test]
fn a_spooled_record_folded_by_another_writer_is_not_appended_again() {
    let (remote, _daemon, ours, other, _) = spooled_and_pending();
    let folder = record_in(other.path(), "folder", &options(RemoteChoice::Default)).expect("fold");
    assert_eq!(folder.folded(), 1, "{folder:?}");
    let outcome = record_in(ours.path(), "next", &options(RemoteChoice::Default)).expect("next");
    let markers = markers(&remote.bare());
    assert_eq!(
        markers,
        ["initial", "spooled", "folder", "next"],
        "{outcome:?}"
    );
    assert_eq!(outcome.from_spool(), 1, "{outcome:?}");
    assert!(pending_refs(&remote.bare()).is_empty());
    assert_verifies(&remote.bare());
}

/// A provider that writes the local `.git` during `terraform plan` (no key, no credentials)
/// puts an unsigned commit on the local audit branch, on top of the remote tip. Pushed along
/// as "a log kept before the remote existed", it would sit on the remote branch for good
/// (driftlog never force-pushes), and verify would refuse the log for everyone.
#[test]
fn an_unsigned_local_commit_is_never_pushed_along() {
    let (remote, _daemon, ours) = served_with_initial();
    let branch = format!("refs/heads/{BRANCH}");
    let tip = git(ours.path(), &["rev-parse", &branch]);
    let junk = git(
        ours.path(),
        &[
            "commit-tree",
            &format!("{}^{{tree}}", tip.trim()),
            "-p",
            tip.trim(),
            "-m",
            "planted by a provider",
        ],
    );
    git(ours.path(), &["update-ref", &branch, junk.trim()]);
    let result = record_in(ours.path(), "ours", &options(RemoteChoice::Default));
    let on_remote = git(&remote.bare(), &["rev-list", BRANCH]);
    assert!(
        !on_remote.contains(junk.trim()),
        "the planted commit reached the remote: {result:?}"
    );
    assert_verifies(&remote.bare());
    // The run fails, saying why, with its record safe on a pending ref; the local branch is
    // left as it is, for someone to look at.
    let err = result.expect_err("someone must look");
    let SyncError::NotPushed {
        failure:
            PushFailure::RefusedPending {
                refusal,
                pending_ref,
            },
        ..
    } = &err
    else {
        panic!("{err:?}");
    };
    assert!(
        matches!(**refusal, PushFailure::Unsigned { unsigned: 1, .. }),
        "{refusal:?}"
    );
    assert!(err.to_string().contains("did not sign"), "{err}");
    assert!(pending_refs(&remote.bare()).contains(pending_ref));
    assert_eq!(git(ours.path(), &["rev-parse", &branch]), junk);
    // Once the planted commit is dropped, the next run folds the waiting record.
    git(ours.path(), &["update-ref", &branch, tip.trim()]);
    record_in(ours.path(), "after", &options(RemoteChoice::Default)).expect("after");
    assert_eq!(markers(&remote.bare()), ["initial", "ours", "after"]);
    assert_verifies(&remote.bare());
}

/// `report merge` (a fold, no record of its own) on a log whose branch does not exist yet:
/// nothing names the log but the store. An entry of another repository's log signed with the
/// same key (one key for several repositories, copied across by a writer) must not be folded,
/// fixing the wrong log id for good or failing every fold after it.
#[test]
fn a_fold_on_a_new_branch_refuses_entries_of_another_log() {
    let (remote, daemon) = served();
    let ours = remote.clone_busy(&daemon.url());
    let foreign = Record {
        log: LogId {
            repository: "example.com/acme/elsewhere".into(),
            branch: BRANCH.into(),
        },
        ..made_at("foreign", "2026-11-24T00:04:00Z")
    };
    let foreign = PendingEntry::sign(&foreign, test_key()).expect("sign");
    let foreign_ref = push_pending(ours.path(), &[foreign], test_key(), "a-foreign");
    let entry =
        PendingEntry::sign(&made_at("shard", "2026-11-24T00:05:00Z"), test_key()).expect("sign");
    push_pending(ours.path(), &[entry], test_key(), "b-shard");
    let store = AuditStore::open(ours.path(), BRANCH, ORIGIN).expect("open store");
    let outcome = sync::fold(
        &store,
        test_key(),
        &committer(),
        &options(RemoteChoice::Default),
    );
    let outcome = outcome.expect("fold");
    assert!(remote.tip().is_some(), "{outcome:?}");
    assert_eq!(markers(&remote.bare()), ["shard"], "{outcome:?}");
    assert!(pending_refs(&remote.bare()).contains(&foreign_ref));
    assert_warned(&outcome, &[&foreign_ref, "elsewhere"]);
    assert_verifies(&remote.bare());
}

/// A fold (`report merge`) that could not do its work fails, saying why: it used to report
/// success with nothing folded and no word, whatever went wrong (an unreachable remote, a
/// refusal, a local error).
#[test]
fn a_fold_that_fails_says_so() {
    let (_remote, _daemon, ours) = served_with_initial();
    let dead = dead_remote(ours.path());
    let store = AuditStore::open(ours.path(), BRANCH, ORIGIN).expect("open store");
    let err = sync::fold(&store, test_key(), &committer(), &dead).expect_err("nobody answers");
    assert!(
        matches!(
            err,
            SyncError::NotPushed {
                failure: PushFailure::Transport { .. },
                ..
            }
        ),
        "{err:?}"
    );
}

/// A hostile writer copies one entry of an honest ref into a smaller ref of its own, beside an
/// entry that keeps its ref from being folded (made ahead of the clock). Read first (the
/// smaller), the copy marked the entry seen; the honest ref was then folded without it and
/// deleted, the record left only in the hostile ref, refused.
#[test]
fn a_copied_entry_in_a_refused_ref_does_not_keep_the_honest_ref_from_folding_it() {
    let (remote, _daemon, ours, other) = served_with_initial_and_other();
    let sign = |marker: &str, time: &str| {
        PendingEntry::sign(&made_at(marker, time), test_key()).expect("sign")
    };
    let honest = [
        sign("honest-0", "2026-11-24T00:05:00Z"),
        sign("honest-1", "2026-11-24T00:05:01Z"),
        sign("honest-2", "2026-11-24T00:05:02Z"),
    ];
    let honest_ref = push_pending(other.path(), &honest, test_key(), "b-honest");
    let ahead = rfc3339(SystemTime::now() + Duration::from_secs(3600));
    let hostile = [honest[0].clone(), sign("ahead", &ahead)];
    let hostile_ref = push_pending(other.path(), &hostile, test_key(), "a-hostile");
    let outcome = record_in(ours.path(), "ours", &options(RemoteChoice::Default)).expect("ours");
    assert_eq!(
        markers(&remote.bare()),
        ["initial", "honest-0", "honest-1", "honest-2", "ours"],
        "{outcome:?}"
    );
    let left = pending_refs(&remote.bare());
    assert!(!left.contains(&honest_ref), "{left:?}");
    assert!(left.contains(&hostile_ref), "{left:?}");
    assert_verifies(&remote.bare());
}
