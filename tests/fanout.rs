//! The audit log at fan-out scale: dozens of writers recording at once against a real
//! `git daemon`, pending refs on the remote, and folding them into the branch.

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use driftlog::audit::pending::{self, PendingEntry};
use driftlog::audit::record::{ChainPosition, LogId, Record};
use driftlog::audit::sshsig::{allowed_signers_line, AllowedSigners, SigningKey};
use driftlog::audit::store::record_path;
use driftlog::audit::sync::RemoteChoice;

use crate::support::git;
use crate::sync::{
    assert_chain, assert_spooled_after_transport_failure, assert_warned, committer, numbered,
    options, options_with_deadline, pending_refs, record_in, run_writers_as, scan_record_by,
    served, served_with_a_race, served_with_initial, served_with_initial_and_other, spool_files,
    test_key, verify_chain, ChildWriter, BRANCH,
};

const CHILD: ChildWriter = ChildWriter {
    test: "fanout::child_records_with_the_default_policy",
    clone_env: "DRIFTLOG_FANOUT_CHILD",
    marker_env: "DRIFTLOG_FANOUT_MARKER",
};
/// How long each writer may try for the branch in these tests: long enough to be realistic
/// on two busy cores, short enough that a test that waits for it stays quick.
const DEADLINE: Duration = Duration::from_secs(20);

/// Run by [`thirty_two_writers_at_once_all_succeed_and_leave_nothing_on_the_runner`] in each
/// child process; does nothing in a normal test run.
#[test]
fn child_records_with_the_default_policy() {
    let Some((clone, marker)) = CHILD.started_as() else {
        return;
    };
    let options = options_with_deadline(RemoteChoice::Named("origin".into()), DEADLINE);
    let outcome = record_in(&clone, &marker, &options).expect("the child's record");
    println!(
        "{marker}: {:?} after {} pushes",
        outcome.placed, outcome.pushes
    );
}

pub(crate) fn allowed(key: &SigningKey) -> AllowedSigners {
    AllowedSigners::parse(&allowed_signers_line("driftlog", key)).expect("allowed signers")
}

/// Whether the branch in `bare` verifies: signatures, chain, checkpoints, folded records.
pub(crate) fn assert_verifies(bare: &Path) {
    let repo = git2::Repository::open(bare).expect("open the remote");
    let report = driftlog::audit::verify::verify_log(&repo, BRANCH, &allowed(test_key()), &[])
        .expect("verify runs");
    assert!(report.is_intact(), "{:#?}", report.problems);
}

#[test]
fn thirty_two_writers_at_once_all_succeed_and_leave_nothing_on_the_runner() {
    const WRITERS: usize = 32;
    let (remote, daemon, first) = served_with_initial();
    let clones = remote.clones_busy(&daemon.url(), WRITERS);

    run_writers_as(&CHILD, numbered(&clones, |i| format!("writer-{i:02}")));
    for clone in &clones {
        assert!(
            spool_files(clone.path()).is_empty(),
            "nothing left in a spool"
        );
    }

    // One later run folds whatever still waited on a pending ref.
    record_in(first.path(), "later", &options(RemoteChoice::Default)).expect("later");
    let markers = verify_chain(&remote.bare(), WRITERS + 2);
    assert_eq!(markers[0], "initial");
    assert_eq!(markers[WRITERS + 1], "later");
    let mut writers: Vec<&str> = markers[1..=WRITERS].iter().map(String::as_str).collect();
    writers.sort();
    let expected: Vec<String> = (0..WRITERS).map(|i| format!("writer-{i:02}")).collect();
    assert_eq!(writers, expected, "every record exactly once");
    assert!(
        pending_refs(&remote.bare()).is_empty(),
        "every pending ref folded and deleted"
    );
    assert_verifies(&remote.bare());
}

/// Puts a pending ref on the remote as another run would: `entries` signed by `key`, pushed
/// from `clone` under `label`. Returns the remote ref.
pub(crate) fn push_pending(
    clone: &Path,
    entries: &[PendingEntry],
    key: &SigningKey,
    label: &str,
) -> String {
    let repo = git2::Repository::open(clone).expect("open clone");
    let commit = pending::write_commit(&repo, BRANCH, entries, key, &committer(), 1_800_000_000)
        .expect("pending commit");
    let remote_ref = pending::remote_ref(BRANCH, label);
    git(
        clone,
        &["push", "-q", "origin", &format!("{commit}:{remote_ref}")],
    );
    remote_ref
}

/// A record of `marker` made at `time` with the test key, as another run made it.
pub(crate) fn made_at(marker: &str, time: &str) -> Record {
    made_by(marker, time, test_key())
}

fn made_by(marker: &str, time: &str, key: &SigningKey) -> Record {
    Record {
        time: time.into(),
        ..scan_record_by(marker, ChainPosition::genesis(), key)
    }
}

/// The record file and the `.pending` file beside it at `seq`, as the remote holds them.
fn folded_files(bare: &Path, seq: u64) -> (serde_json::Value, String) {
    let [a, b, file] = record_path(seq);
    let record = git(bare, &["show", &format!("{BRANCH}:records/{a}/{b}/{file}")]);
    let entry = git(
        bare,
        &["show", &format!("{BRANCH}:records/{a}/{b}/{file}.pending")],
    );
    (serde_json::from_str(&record).expect("record JSON"), entry)
}

#[test]
fn the_next_writer_folds_pending_records_in_order_and_refuses_an_edited_one() {
    let (remote, _daemon, ours, other) = served_with_initial_and_other();
    let key = test_key();
    // Two runs whose records waited, made out of order with their labels.
    let late =
        PendingEntry::sign(&made_at("waited-late", "2026-11-24T00:10:00Z"), key).expect("sign");
    let early =
        PendingEntry::sign(&made_at("waited-early", "2026-11-24T00:05:00Z"), key).expect("sign");
    let late_ref = push_pending(other.path(), std::slice::from_ref(&late), key, "a-run");
    let early_ref = push_pending(other.path(), std::slice::from_ref(&early), key, "b-run");
    // And one edited after it was signed.
    let mut edited =
        PendingEntry::sign(&made_at("forged", "2026-11-24T00:06:00Z"), key).expect("sign");
    let text = String::from_utf8(edited.bytes).expect("utf-8");
    edited.bytes = text.replacen("forged", "f0rged", 1).into_bytes();
    let edited_ref = push_pending(other.path(), &[edited], key, "c-run");

    let outcome = record_in(ours.path(), "ours", &options(RemoteChoice::Default)).expect("record");
    assert_eq!(outcome.folded(), 2, "{outcome:?}");
    assert_eq!(
        verify_chain(&remote.bare(), 4),
        ["initial", "waited-early", "waited-late", "ours"],
        "folded in the order they were made, before this run's own"
    );
    // Each folded record keeps when it was made, and its maker's signed entry beside it.
    let (record, entry) = folded_files(&remote.bare(), 1);
    assert_eq!(record["made"], "2026-11-24T00:05:00Z");
    assert_eq!(entry.as_bytes(), early.bytes.as_slice());
    let (_, entry) = folded_files(&remote.bare(), 2);
    assert_eq!(entry.as_bytes(), late.bytes.as_slice());
    // The folded refs are gone; the edited one is kept and reported, never folded.
    assert_eq!(
        pending_refs(&remote.bare()),
        std::slice::from_ref(&edited_ref)
    );
    assert!(!pending_refs(&remote.bare()).contains(&late_ref));
    assert!(!pending_refs(&remote.bare()).contains(&early_ref));
    let warning = outcome
        .warnings
        .iter()
        .find(|w| w.contains(&edited_ref))
        .unwrap_or_else(|| panic!("no warning names {edited_ref}: {:?}", outcome.warnings));
    assert!(warning.contains("edited"), "{warning}");
    assert!(warning.contains("kept"), "{warning}");
    assert_verifies(&remote.bare());

    // A pending record of a key this run does not trust is kept too.
    let stranger = SigningKey::generate().expect("key");
    let foreign =
        PendingEntry::sign(&made_at("stranger", "2026-11-24T00:07:00Z"), &stranger).expect("sign");
    let foreign_ref = push_pending(other.path(), &[foreign], &stranger, "d-run");
    let outcome = record_in(ours.path(), "again", &options(RemoteChoice::Default)).expect("again");
    assert_eq!(outcome.folded(), 0);
    assert!(pending_refs(&remote.bare()).contains(&foreign_ref));
    assert_warned(&outcome, &[&foreign_ref, "does not trust"]);
}

#[test]
fn a_pending_record_folded_already_is_not_folded_again() {
    let (remote, _daemon, ours, other) = served_with_initial_and_other();
    let entry =
        PendingEntry::sign(&made_at("once", "2026-11-24T00:05:00Z"), test_key()).expect("sign");
    push_pending(
        other.path(),
        std::slice::from_ref(&entry),
        test_key(),
        "a-run",
    );
    record_in(ours.path(), "first", &options(RemoteChoice::Default)).expect("first");
    // The same entry pushed again (a fold whose delete was lost, or a replay).
    let replayed = push_pending(other.path(), &[entry], test_key(), "a-run-again");
    let outcome = record_in(ours.path(), "second", &options(RemoteChoice::Default)).expect("2nd");
    assert_eq!(outcome.folded(), 0, "{outcome:?}");
    assert_chain(&remote.bare(), &["initial", "once", "first", "second"]);
    assert!(
        !pending_refs(&remote.bare()).contains(&replayed),
        "a ref whose records are all on the branch is deleted"
    );
}

#[test]
fn a_remote_that_disappears_mid_run_leaves_the_record_in_the_spool() {
    let (remote, _daemon, clone) = served_with_initial();
    // The push reaches the server, which then vanishes: the repository is gone and the
    // connection drops.
    remote.hook(
        "pre-receive",
        "#!/bin/sh\ncd .. && mv remote.git gone.git\nkill -9 $PPID\n",
    );
    let quick = options_with_deadline(RemoteChoice::Default, Duration::from_secs(2));
    let err = record_in(clone.path(), "stranded", &quick).expect_err("no remote");
    assert_spooled_after_transport_failure(&err);
    let message = err.to_string();
    assert!(message.contains("wait in the spool"), "{message}");
    assert!(message.contains("next run"), "{message}");
    assert_eq!(spool_files(clone.path()).len(), 1);

    // The remote comes back: the next run pushes the spooled record first.
    std::fs::rename(remote.dir.path().join("gone.git"), remote.bare()).expect("restore");
    remote.remove_hook("pre-receive");
    let outcome = record_in(clone.path(), "back", &options(RemoteChoice::Default)).expect("back");
    assert_eq!(outcome.from_spool(), 1);
    assert_chain(&remote.bare(), &["initial", "stranded", "back"]);
    assert!(spool_files(clone.path()).is_empty());
}

#[test]
fn past_the_deadline_the_record_waits_on_a_pending_ref_and_the_call_succeeds() {
    // Another writer's record lands while our push is in flight, and the deadline leaves no
    // time for another try.
    let (remote, _daemon, clone, rival) = served_with_a_race();
    let no_time = options_with_deadline(RemoteChoice::Default, Duration::ZERO);
    let outcome = record_in(clone.path(), "busy", &no_time).expect("succeeds, pending");
    let pending_ref = outcome.pending_ref.clone().expect("a pending ref");
    assert_eq!(
        pending_refs(&remote.bare()),
        std::slice::from_ref(&pending_ref)
    );
    assert!(outcome.head().is_none());
    assert!(
        outcome.warnings.iter().any(|w| w.contains(&pending_ref)),
        "it says so: {:?}",
        outcome.warnings
    );
    assert!(
        spool_files(clone.path()).is_empty(),
        "nothing only on the runner"
    );

    let outcome = record_in(rival.path(), "next", &options(RemoteChoice::Default)).expect("next");
    assert_eq!(outcome.folded(), 1);
    assert_chain(&remote.bare(), &["initial", "rival", "busy", "next"]);
    assert!(pending_refs(&remote.bare()).is_empty());
    assert_verifies(&remote.bare());
}

#[test]
fn report_merge_folds_the_shards_pending_records() {
    let (remote, daemon) = served();
    let clone = remote.clone_busy(&daemon.url());
    let key = SigningKey::generate().expect("key");
    // The log id driftlog derives for this clone: the origin URL without its scheme.
    let log = LogId {
        repository: daemon
            .url()
            .trim_start_matches("git://")
            .trim_end_matches(".git")
            .to_owned(),
        branch: BRANCH.into(),
    };
    let shard = |marker: &str, time: &str| {
        let record = Record {
            log: log.clone(),
            ..made_by(marker, time, &key)
        };
        PendingEntry::sign(&record, &key).expect("sign")
    };
    let shard_1 = shard("shard-1", "2026-11-24T00:01:00Z");
    let first = push_pending(
        clone.path(),
        std::slice::from_ref(&shard_1),
        &key,
        "run-9.1.x",
    );
    let second = push_pending(
        clone.path(),
        &[shard("shard-2", "2026-11-24T00:02:00Z")],
        &key,
        "run-9.1.y",
    );
    assert_eq!(pending_refs(&remote.bare()).len(), 2);

    // The shard's report says where its record waited.
    let report = driftlog::drift::ScanReport {
        status: driftlog::drift::Status::Clean,
        audit_pending: Some(driftlog::drift::PendingAuditRef {
            branch: BRANCH.into(),
            pending_ref: first.clone(),
            entry: shard_1.blob_id().to_string(),
        }),
        ..driftlog::drift::ScanReport::new(
            driftlog::drift::Stack {
                dir: "infra/a".into(),
                workspace: "default".into(),
                cloudformation: None,
            },
            "2026-11-24T00:00:00Z".into(),
        )
    };
    let report_file = clone.path().join("shard.json");
    std::fs::write(&report_file, serde_json::to_vec(&report).expect("json")).expect("write");
    let key_file = clone.path().join(".git").join("signing_key");
    std::fs::write(&key_file, key.to_openssh("ci").expect("key")).expect("write key");
    let key_path = key_file.to_str().expect("utf-8 path");
    let args = [
        "report",
        "merge",
        "shard.json",
        "--signing-key",
        key_path,
        "--output",
        "merged.json",
    ];
    let out = Command::new(env!("CARGO_BIN_EXE_driftlog"))
        .args(args)
        .current_dir(clone.path())
        .env_remove("GITHUB_ACTIONS")
        .output()
        .expect("run driftlog");
    crate::capture::output(&args, clone.path(), &[], &out);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(stderr.contains("folded 2 record(s)"), "{stderr}");
    assert!(pending_refs(&remote.bare()).is_empty(), "{first} {second}");
    let records = git(&remote.bare(), &["log", "--format=%s", BRANCH]);
    assert_eq!(records.lines().count(), 2, "{records}");
    // The merged report names the shard's record where it now is, on the branch.
    let merged: serde_json::Value =
        serde_json::from_slice(&std::fs::read(clone.path().join("merged.json")).expect("read"))
            .expect("merged JSON");
    let stack = &merged["stacks"][0];
    assert!(stack.get("audit_pending").is_none(), "{stack:#}");
    assert_eq!(stack["audit"]["seq"], 0, "{stack:#}");
    assert!(
        stack["audit"]["checkpoint"]
            .as_str()
            .is_some_and(|line| line.starts_with("driftlog-checkpoint v1")),
        "{stack:#}"
    );
}
