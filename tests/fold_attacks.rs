//! Pending refs as a hostile writer, a replay, or a runner with a wrong clock would leave
//! them: no record is folded twice, none is lost.

use std::time::{Duration, SystemTime};

use driftlog::audit::pending::PendingEntry;
use driftlog::audit::sync::RemoteChoice;

use crate::fanout::{assert_verifies, made_at, push_pending};
use crate::support::git;
use crate::sync::{
    options, pending_refs, record_in, test_key, verify_chain, Daemon, Remote, BRANCH,
};

fn rfc3339(time: SystemTime) -> String {
    humantime::format_rfc3339_seconds(time).to_string()
}

fn markers(bare: &std::path::Path) -> Vec<String> {
    let commits = git(bare, &["rev-list", "--count", BRANCH]);
    verify_chain(bare, commits.trim().parse().expect("a count"))
}

/// A maker whose clock runs an hour fast: folded now, its record would say it joined the
/// branch before it was made, and the lookback (which stops at commits older than when an
/// entry was made) would miss that copy; a replay of the entry after later records (a delete
/// that failed, or a hostile writer pushing it again) was folded a second time, and verify
/// then refused the branch for good. It waits on its ref until the writer's clock catches up.
#[test]
fn a_pending_record_from_a_fast_clock_waits_and_is_never_folded_twice() {
    let remote = Remote::new();
    let daemon = Daemon::serve(remote.dir.path());
    let ours = remote.clone_busy(&daemon.url());
    record_in(ours.path(), "initial", &options(RemoteChoice::Default)).expect("initial");
    let other = remote.clone_busy(&daemon.url());
    let ahead = rfc3339(SystemTime::now() + Duration::from_secs(3600));
    let entry = PendingEntry::sign(&made_at("fast-clock", &ahead), test_key()).expect("sign");
    let first_ref = push_pending(
        other.path(),
        std::slice::from_ref(&entry),
        test_key(),
        "a-run",
    );
    let outcome = record_in(ours.path(), "first", &options(RemoteChoice::Default)).expect("1st");
    assert_eq!(outcome.folded(), 0, "{outcome:?}");
    assert!(
        outcome
            .warnings
            .iter()
            .any(|w| w.contains(&first_ref) && w.contains("ahead")),
        "{:?}",
        outcome.warnings
    );
    record_in(ours.path(), "second", &options(RemoteChoice::Default)).expect("second");
    let replayed = push_pending(other.path(), &[entry], test_key(), "a-run-again");
    let outcome = record_in(ours.path(), "third", &options(RemoteChoice::Default)).expect("3rd");
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
    let remote = Remote::new();
    let daemon = Daemon::serve(remote.dir.path());
    let ours = remote.clone_busy(&daemon.url());
    record_in(ours.path(), "initial", &options(RemoteChoice::Default)).expect("initial");
    let other = remote.clone_busy(&daemon.url());
    let ahead = rfc3339(SystemTime::now() + Duration::from_secs(120));
    let entry = PendingEntry::sign(&made_at("bit-fast", &ahead), test_key()).expect("sign");
    push_pending(
        other.path(),
        std::slice::from_ref(&entry),
        test_key(),
        "a-run",
    );
    let outcome = record_in(ours.path(), "first", &options(RemoteChoice::Default)).expect("1st");
    assert_eq!(outcome.folded(), 1, "{outcome:?}");
    record_in(ours.path(), "second", &options(RemoteChoice::Default)).expect("second");
    let replayed = push_pending(other.path(), &[entry], test_key(), "a-run-again");
    let outcome = record_in(ours.path(), "third", &options(RemoteChoice::Default)).expect("3rd");
    assert_eq!(outcome.folded(), 0, "{outcome:?}");
    assert_eq!(
        markers(&remote.bare()),
        ["initial", "bit-fast", "first", "second", "third"]
    );
    assert!(!pending_refs(&remote.bare()).contains(&replayed));
    assert_verifies(&remote.bare());
}
