//! The audit branch in clones that are not plain: a shallow clone stays a valid shallow
//! clone after recording (libgit2's local transport used to delete `.git/shallow`), and a
//! branch checked out in a linked worktree is never moved under it. Real git throughout.

use std::path::Path;

use driftlog::audit::sync::{PushFailure, RemoteChoice, SyncError};

use crate::support::git;
use crate::sync::{
    assert_chain, commit_as_dev, options, record_in, spool_files, work_state, Remote, BRANCH,
};

/// Two more commits on the remote's `main`, so a depth-1 clone of it is shallow.
fn deepen_main(remote: &Remote) {
    let seed = tempfile::tempdir().expect("temp dir");
    git(
        seed.path(),
        &["clone", "-q", remote.bare().to_str().expect("utf-8"), "."],
    );
    for n in 1..=2 {
        std::fs::write(seed.path().join(format!("file{n}.tf")), "# more\n").expect("write");
        git(seed.path(), &["add", "."]);
        commit_as_dev(seed.path(), "more");
    }
    git(seed.path(), &["push", "-q", "origin", "main"]);
}

fn full_clone(remote: &Remote) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("temp dir");
    git(dir.path(), &["clone", "-q", &remote.file_url(), "."]);
    dir
}

fn fsck(dir: &Path) -> std::process::Output {
    std::process::Command::new("git")
        .args(["fsck", "--full", "--no-progress"])
        .current_dir(dir)
        .output()
        .expect("git")
}

#[test]
fn recording_from_a_shallow_clone_keeps_it_shallow_and_valid() {
    let remote = Remote::new();
    deepen_main(&remote);
    // Another writer's records, so every fetch of the shallow clone downloads objects.
    let other = full_clone(&remote);
    record_in(other.path(), "other-1", &options(RemoteChoice::Default)).expect("record");

    let shallow = tempfile::tempdir().expect("temp dir");
    git(
        shallow.path(),
        &["clone", "-q", "--depth", "1", &remote.file_url(), "."],
    );
    let roots = std::fs::read(shallow.path().join(".git/shallow")).expect("a shallow clone");
    assert!(fsck(shallow.path()).status.success(), "clean before");

    record_in(shallow.path(), "shallow-1", &options(RemoteChoice::Default)).expect("first");
    record_in(other.path(), "other-2", &options(RemoteChoice::Default)).expect("record");
    record_in(shallow.path(), "shallow-2", &options(RemoteChoice::Default)).expect("second");

    assert_eq!(
        std::fs::read(shallow.path().join(".git/shallow")).ok(),
        Some(roots),
        ".git/shallow is left as it was"
    );
    let checked = fsck(shallow.path());
    assert!(
        checked.status.success() && checked.stderr.is_empty(),
        "git fsck --full: {}{}",
        String::from_utf8_lossy(&checked.stdout),
        String::from_utf8_lossy(&checked.stderr)
    );
    assert_eq!(
        git(shallow.path(), &["rev-list", "--count", "HEAD"]).trim(),
        "1",
        "main is still one commit deep"
    );
    assert_chain(
        &remote.bare(),
        &["other-1", "shallow-1", "other-2", "shallow-2"],
    );
}

fn expect_checked_out(
    result: Result<driftlog::audit::sync::Outcome, SyncError>,
    worktree: &Path,
    spooled: usize,
) {
    let err = result.expect_err("the branch is checked out in a worktree");
    let message = err.to_string();
    match &err {
        SyncError::NotPushed {
            failure: PushFailure::CheckedOut {
                worktree: named, ..
            },
            spooled: n,
            ..
        } => {
            assert_eq!(*n, spooled);
            assert_eq!(
                named.canonicalize().expect("worktree"),
                worktree.canonicalize().expect("worktree")
            );
        }
        other => panic!("{other:?}"),
    }
    assert!(message.contains("checked out in the worktree"), "{message}");
    assert!(
        message.contains(&worktree.display().to_string()),
        "{message}"
    );
    assert!(message.contains("spool"), "{message}");
}

#[test]
fn a_branch_checked_out_in_a_linked_worktree_is_not_moved_and_the_record_is_spooled() {
    let remote = Remote::new();
    let clone = full_clone(&remote);
    record_in(clone.path(), "first", &options(RemoteChoice::Default)).expect("record");
    let worktrees = tempfile::tempdir().expect("temp dir");
    let worktree = worktrees.path().join("audit");
    git(
        clone.path(),
        &[
            "worktree",
            "add",
            "-q",
            worktree.to_str().expect("utf-8"),
            BRANCH,
        ],
    );
    let before = work_state(&worktree);
    let tip = git(clone.path(), &["rev-parse", BRANCH]);
    let remote_tip = remote.tip();

    // With a remote, and without one: each run's record waits in the spool.
    for (spooled, (choice, marker)) in [
        (RemoteChoice::Default, "refused-pushing"),
        (RemoteChoice::LocalOnly, "refused-local"),
    ]
    .into_iter()
    .enumerate()
    {
        let result = record_in(clone.path(), marker, &options(choice));
        expect_checked_out(result, &worktree, spooled + 1);
        assert_eq!(work_state(&worktree), before, "the worktree is untouched");
        assert_eq!(
            git(clone.path(), &["rev-parse", BRANCH]),
            tip,
            "the branch did not move"
        );
        assert_eq!(remote.tip(), remote_tip, "nothing was pushed");
        assert_eq!(spool_files(clone.path()).len(), spooled + 1);
    }

    // Once the worktree leaves the branch, the spooled records land first.
    git(&worktree, &["switch", "-q", "--detach"]);
    let outcome =
        record_in(clone.path(), "after", &options(RemoteChoice::Default)).expect("record");
    assert_eq!(outcome.from_spool(), 2);
    assert_chain(
        &remote.bare(),
        &["first", "refused-pushing", "refused-local", "after"],
    );
    assert!(spool_files(clone.path()).is_empty());
}

#[test]
fn recording_from_a_linked_worktree_leaves_the_branch_checked_out_in_the_main_one() {
    let remote = Remote::new();
    let clone = full_clone(&remote);
    record_in(clone.path(), "first", &options(RemoteChoice::Default)).expect("record");
    let worktrees = tempfile::tempdir().expect("temp dir");
    let linked = worktrees.path().join("work");
    git(
        clone.path(),
        &[
            "worktree",
            "add",
            "-q",
            "-b",
            "work",
            linked.to_str().expect("utf-8"),
        ],
    );
    git(clone.path(), &["switch", "-q", BRANCH]);
    let before = work_state(clone.path());

    let result = record_in(&linked, "refused", &options(RemoteChoice::Default));
    expect_checked_out(result, clone.path(), 1);
    assert_eq!(
        work_state(clone.path()),
        before,
        "the main worktree is untouched"
    );
    assert_eq!(
        spool_files(clone.path()).len(),
        1,
        "spooled in the common git dir"
    );
}
