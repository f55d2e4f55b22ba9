//! The spool only pushes what driftlog signed when it made the record: edited, made-up,
//! replayed and foreign-key entries are refused and kept aside, deleted ones are reported,
//! and nothing written to the spool during a run is signed by it. Real git, as in
//! [`crate::sync`].

use std::fs;
use std::path::{Path, PathBuf};

use driftlog::audit::record::{ChainPosition, Record, RecordResult};
use driftlog::audit::sshsig::{SigningKey, DRIFTLOG_NAMESPACE, SPOOL_NAMESPACE};
use driftlog::audit::store::{self, record_path, AuditStore};
use driftlog::audit::sync::{self, Outcome, PushFailure, RemoteChoice, SyncError, SyncOptions};
use serde_json::{json, Value};

use crate::support::git;
use crate::sync::{
    assert_chain, assert_warned, committer, git_bytes, options, options_with_deadline, record_in,
    record_with, scan_record, served, spool_dir_files, spool_files, test_key, verify_chain, Daemon,
    Remote, BRANCH, ORIGIN,
};

/// A remote nobody answers on, tried once: every record sent there stays spooled, and the
/// local branch is left alone.
const DEAD: &str = "dead";

fn dead() -> SyncOptions {
    options_with_deadline(RemoteChoice::Named(DEAD.into()), std::time::Duration::ZERO)
}

/// A clone of a served remote with one record pushed, and the `dead` remote.
fn setup() -> (Remote, Daemon, tempfile::TempDir) {
    let (remote, daemon) = served();
    let clone = remote.clone_busy(&daemon.url());
    git(
        clone.path(),
        &["remote", "add", DEAD, "git://127.0.0.1:1/remote.git"],
    );
    record_in(clone.path(), "initial", &options(RemoteChoice::Default)).expect("initial");
    (remote, daemon, clone)
}

/// The spool's entries still waiting to be pushed (not those set aside).
fn waiting(clone: &Path) -> Vec<String> {
    spool_files(clone)
        .into_iter()
        .filter(|f| !f.contains(".refused"))
        .collect()
}

fn spool_dir(clone: &Path) -> PathBuf {
    clone.join(".git").join("driftlog/spool").join(BRANCH)
}

/// Records `build`'s record towards the dead remote; the path of the spool file it left.
fn spool_one(clone: &Path, build: &dyn Fn(ChainPosition) -> Record, key: &SigningKey) -> PathBuf {
    let before = spool_files(clone);
    let err = record_built(clone, build, &dead(), key).expect_err("nobody answers");
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
    let after = spool_files(clone);
    let new: Vec<_> = after.iter().filter(|f| !before.contains(f)).collect();
    assert_eq!(new.len(), 1, "{after:?}");
    spool_dir(clone).join(new[0])
}

fn spool_marker(clone: &Path, marker: &str) -> PathBuf {
    spool_one(clone, &|position| scan_record(marker, position), test_key())
}

fn record_built(
    dir: &Path,
    build: &dyn Fn(ChainPosition) -> Record,
    options: &SyncOptions,
    key: &SigningKey,
) -> Result<Outcome, SyncError> {
    let store = AuditStore::open(dir, BRANCH, ORIGIN).expect("open store");
    sync::record(&store, build, key, &committer(), options)
}

fn drifted(marker: &str, position: ChainPosition) -> Record {
    Record {
        result: RecordResult::Drifted,
        ..scan_record(marker, position)
    }
}

/// A spool entry as driftlog writes one, for `record` signed by `key` in `namespace`.
fn entry_bytes(record: &Record, key: &SigningKey, namespace: &str) -> Vec<u8> {
    let canonical = store::encode(record).expect("encode");
    let signature = key.sign(namespace, &canonical).expect("sign");
    serde_json::to_vec_pretty(&json!({
        "format": "driftlog-spool v1",
        "record": String::from_utf8(canonical).expect("utf-8"),
        "signature": signature,
    }))
    .expect("json")
}

fn read_json(path: &Path) -> Value {
    serde_json::from_slice(&fs::read(path).expect("read")).expect("JSON")
}

fn name(path: &Path) -> String {
    path.file_name()
        .expect("file name")
        .to_string_lossy()
        .into_owned()
}

/// The warning that names `file`; fails when there is none.
fn warning_about<'a>(warnings: &'a [String], file: &str) -> &'a str {
    warnings
        .iter()
        .find(|w| w.contains(file))
        .unwrap_or_else(|| panic!("no warning names {file}: {warnings:#?}"))
}

/// The record at `seq` on the remote's branch.
fn remote_record(remote: &Remote, seq: u64) -> Value {
    let [a, b, file] = record_path(seq);
    let bytes = git_bytes(
        &remote.bare(),
        &["show", &format!("{BRANCH}:records/{a}/{b}/{file}")],
    );
    serde_json::from_slice(&bytes).expect("record JSON")
}

#[test]
fn an_edited_spooled_record_is_refused_kept_and_never_pushed() {
    let (remote, _daemon, clone) = setup();
    let path = spool_one(
        clone.path(),
        &|position| drifted("spooled", position),
        test_key(),
    );
    // Edited into "clean", canonical and all, with the signature left as it was.
    let mut entry = read_json(&path);
    let mut record: Record =
        serde_json::from_str(entry["record"].as_str().expect("record string")).expect("record");
    assert_eq!(record.result, RecordResult::Drifted);
    record.result = RecordResult::Clean;
    let edited = String::from_utf8(store::encode(&record).expect("encode")).expect("utf-8");
    entry["record"] = Value::String(edited);
    fs::write(&path, serde_json::to_vec_pretty(&entry).expect("json")).expect("write");

    let outcome = record_in(clone.path(), "next", &options(RemoteChoice::Default)).expect("next");

    assert_eq!(outcome.from_spool(), 0);
    let warning = warning_about(&outcome.warnings, &name(&path));
    assert!(
        warning.contains("refused") && warning.contains("edited after driftlog signed it"),
        "{warning}"
    );
    assert_chain(&remote.bare(), &["initial", "next"]);
    assert_eq!(
        spool_dir_files(clone.path()),
        [format!("{}.refused", name(&path))],
        "kept aside, not deleted"
    );
    // Kept as it was found.
    assert_eq!(
        read_json(&path.with_file_name(format!("{}.refused", name(&path)))),
        entry
    );
    // Refused once: the next run has nothing to say.
    let again = record_in(clone.path(), "again", &options(RemoteChoice::Default)).expect("again");
    assert!(again.warnings.is_empty(), "{:?}", again.warnings);
}

#[test]
fn made_up_spool_files_are_refused() {
    let (remote, _daemon, clone) = setup();
    let dir = spool_dir(clone.path());
    // A copy of a legitimate entry, put back after its record was pushed.
    let pushed = spool_marker(clone.path(), "pushed");
    let copy = fs::read(&pushed).expect("read");
    record_in(clone.path(), "pushes-it", &options(RemoteChoice::Default)).expect("push");
    assert!(!pushed.exists());
    fs::write(&pushed, &copy).expect("replay");

    let other = SigningKey::generate().expect("key");
    let planted = [
        (
            "00000000000000000001.json",
            serde_json::to_vec_pretty(&scan_record("legacy", ChainPosition::genesis()))
                .expect("json"),
            "unsigned record",
        ),
        (
            "00000000000000000002.json",
            entry_bytes(
                &scan_record("other-key", ChainPosition::genesis()),
                &other,
                SPOOL_NAMESPACE,
            ),
            "is signed by another key",
        ),
        (
            "00000000000000000003.json",
            // This run's key, but the signature a branch record carries.
            entry_bytes(
                &scan_record("branch-signature", ChainPosition::genesis()),
                test_key(),
                DRIFTLOG_NAMESPACE,
            ),
            "was not written by driftlog",
        ),
        (
            "00000000000000000004.json",
            br#"{"hello":"world"}"#.to_vec(),
            "not a driftlog spool entry",
        ),
    ];
    for (file, bytes, _) in &planted {
        fs::write(dir.join(file), bytes).expect("plant");
    }

    let outcome = record_in(clone.path(), "next", &options(RemoteChoice::Default)).expect("next");

    assert_eq!(outcome.from_spool(), 0, "{outcome:?}");
    for (file, _, reason) in &planted {
        let warning = warning_about(&outcome.warnings, file);
        assert!(warning.contains(reason), "{warning}");
        assert!(dir.join(format!("{file}.refused")).exists(), "{file} kept");
    }
    let replayed = warning_about(&outcome.warnings, &name(&pushed));
    assert!(replayed.contains("index does not list it"), "{replayed}");
    assert!(
        warning_about(&outcome.warnings, "00000000000000000002.json")
            .contains("if you rotated the signing key")
    );
    assert_eq!(
        verify_chain(&remote.bare(), 4),
        ["initial", "pushed", "pushes-it", "next"],
        "nothing planted reached the branch"
    );
    assert!(waiting(clone.path()).is_empty());
}

#[test]
fn records_written_to_the_spool_during_a_run_are_never_signed_by_it() {
    let (remote, _daemon, clone) = setup();
    let dir = spool_dir(clone.path());
    let other = SigningKey::generate().expect("key");
    // Written while the run is under way (as by a provider during `terraform plan`, or
    // anything else running meanwhile): an old-style record and a foreign-key entry.
    let legacy = dir.join("00000000000000000001.json");
    let foreign = dir.join("00000000000000000002.json");
    let build = |position| {
        fs::write(
            &legacy,
            serde_json::to_vec_pretty(&scan_record("planted", ChainPosition::genesis()))
                .expect("json"),
        )
        .expect("plant");
        fs::write(
            &foreign,
            entry_bytes(
                &scan_record("planted-signed", ChainPosition::genesis()),
                &other,
                SPOOL_NAMESPACE,
            ),
        )
        .expect("plant");
        scan_record("ours", position)
    };
    let outcome = record_built(
        clone.path(),
        &build,
        &options(RemoteChoice::Default),
        test_key(),
    )
    .expect("record");
    assert_eq!(outcome.records.len(), 1, "{outcome:?}");
    assert_chain(&remote.bare(), &["initial", "ours"]);
    assert!(
        legacy.exists() && foreign.exists(),
        "this run never read them"
    );

    // The next run refuses them.
    let outcome = record_in(clone.path(), "next", &options(RemoteChoice::Default)).expect("next");
    assert!(warning_about(&outcome.warnings, &name(&legacy)).contains("unsigned"));
    assert!(warning_about(&outcome.warnings, &name(&foreign)).contains("another key"));
    assert_chain(&remote.bare(), &["initial", "ours", "next"]);

    // This run's own entry, replaced while its push is in flight: the record the run made
    // is what lands, the replaced file is kept aside.
    let forged = clone.path().join("forged.json");
    fs::write(
        &forged,
        entry_bytes(
            &scan_record("forged", ChainPosition::genesis()),
            &other,
            SPOOL_NAMESPACE,
        ),
    )
    .expect("write");
    remote.hook(
        "pre-receive",
        &format!(
            "#!/bin/sh\nfor f in '{}'/[0-9]*.json; do cp '{}' \"$f\"; done\n",
            dir.display(),
            forged.display()
        ),
    );
    let outcome =
        record_in(clone.path(), "in-flight", &options(RemoteChoice::Default)).expect("record");
    remote.remove_hook("pre-receive");
    assert_chain(&remote.bare(), &["initial", "ours", "next", "in-flight"]);
    let warning = outcome
        .warnings
        .iter()
        .find(|w| w.contains("changed outside driftlog"))
        .unwrap_or_else(|| panic!("{:?}", outcome.warnings));
    assert!(warning.contains(".refused"), "{warning}");
    assert!(waiting(clone.path()).is_empty());
    let aside: Vec<_> = spool_dir_files(clone.path())
        .into_iter()
        .filter(|f| f.ends_with(".refused") && !f.starts_with("0000000000000000000"))
        .collect();
    assert_eq!(aside.len(), 1, "{aside:?}");
    assert_eq!(
        fs::read(dir.join(&aside[0])).expect("read"),
        fs::read(&forged).expect("read")
    );
}

#[test]
fn a_deleted_spool_entry_is_reported_by_the_next_run() {
    let (remote, _daemon, clone) = setup();
    let kept = spool_marker(clone.path(), "kept");
    let lost = spool_marker(clone.path(), "lost");
    fs::remove_file(&lost).expect("delete");

    let outcome = record_in(clone.path(), "next", &options(RemoteChoice::Default)).expect("next");

    let warning = warning_about(&outcome.warnings, &name(&lost));
    assert!(
        warning.contains("was deleted outside driftlog: that record is lost"),
        "{warning}"
    );
    assert!(!outcome.warnings.iter().any(|w| w.contains(&name(&kept))));
    assert_eq!(outcome.from_spool(), 1);
    assert_chain(&remote.bare(), &["initial", "kept", "next"]);
    assert!(spool_dir_files(clone.path()).is_empty());
    let again = record_in(clone.path(), "again", &options(RemoteChoice::Default)).expect("again");
    assert!(again.warnings.is_empty(), "said once: {:?}", again.warnings);
}

#[test]
fn a_legitimate_spooled_record_lands_on_a_newer_tip_unchanged() {
    let (remote, daemon, ours) = setup();
    let path = spool_one(
        ours.path(),
        &|position| drifted("spooled", position),
        test_key(),
    );
    let signed: Value =
        serde_json::from_str(read_json(&path)["record"].as_str().expect("record")).expect("json");
    let other = remote.clone_busy(&daemon.url());
    record_in(other.path(), "other", &options(RemoteChoice::Default)).expect("other");

    let outcome = record_in(ours.path(), "ours", &options(RemoteChoice::Default)).expect("ours");

    assert!(outcome.warnings.is_empty(), "{:?}", outcome.warnings);
    assert_eq!(outcome.from_spool(), 1);
    assert_chain(&remote.bare(), &["initial", "other", "spooled", "ours"]);
    let landed = remote_record(&remote, 2);
    let mut expected = signed.clone();
    expected["seq"] = json!(2);
    expected["prev"] = landed["prev"].clone();
    // It joined the log now; the time it was made is kept.
    expected["time"] = landed["time"].clone();
    expected["made"] = signed["time"].clone();
    assert_eq!(
        landed, expected,
        "only seq, prev and the time it joined changed"
    );
    assert_ne!(signed["prev"], landed["prev"]);
    assert_eq!(landed["result"], "drifted");
    assert!(spool_dir_files(ours.path()).is_empty());
}

#[test]
fn an_entry_signed_by_a_rotated_key_is_refused_with_the_hint() {
    let (remote, _daemon, clone) = setup();
    let old = SigningKey::generate().expect("old key");
    let path = spool_one(
        clone.path(),
        &|position| scan_record("old-key", position),
        &old,
    );

    let outcome = record_in(clone.path(), "new-key", &options(RemoteChoice::Default))
        .expect("with the new key");

    let warning = warning_about(&outcome.warnings, &name(&path));
    assert!(
        warning.contains(&old.fingerprint())
            && warning.contains(
                "if you rotated the signing key, push it with the old key (rename the spool's \
                 .refused files back"
            ),
        "{warning}"
    );
    assert_warned(&outcome, &["index", "is signed by another key"]);
    assert_chain(&remote.bare(), &["initial", "new-key"]);

    // The hint works: put the entry and its index back and run with the old key.
    let dir = spool_dir(clone.path());
    for file in [name(&path), "index.json".to_owned()] {
        fs::rename(dir.join(format!("{file}.refused")), dir.join(&file)).expect("put back");
    }
    let outcome = record_with(
        clone.path(),
        "old-again",
        &options(RemoteChoice::Default),
        &old,
    )
    .expect("with the old key");
    assert!(outcome.warnings.is_empty(), "{:?}", outcome.warnings);
    assert_eq!(outcome.from_spool(), 1);
    assert_chain(
        &remote.bare(),
        &["initial", "new-key", "old-key", "old-again"],
    );
}

#[test]
fn an_index_that_does_not_verify_vouches_for_nothing() {
    let (remote, _daemon, clone) = setup();
    let first = spool_marker(clone.path(), "first");
    let hidden = spool_marker(clone.path(), "hidden");
    // Deleting an entry and its line in the index, to lose a record without trace.
    fs::remove_file(&hidden).expect("delete");
    let index_path = spool_dir(clone.path()).join("index.json");
    let mut index = read_json(&index_path);
    let mut body: Value =
        serde_json::from_str(index["index"].as_str().expect("index string")).expect("json");
    body["entries"]
        .as_array_mut()
        .expect("entries")
        .retain(|e| e["name"] != name(&hidden).as_str());
    index["index"] = Value::String(body.to_string());
    fs::write(&index_path, serde_json::to_vec(&index).expect("json")).expect("write");

    let outcome = record_in(clone.path(), "next", &options(RemoteChoice::Default)).expect("next");

    assert_warned(&outcome, &["index", "vouches for no spooled record"]);
    assert!(warning_about(&outcome.warnings, &name(&first)).contains("index does not verify"));
    assert_eq!(outcome.from_spool(), 0);
    assert_chain(&remote.bare(), &["initial", "next"]);
    let files = spool_dir_files(clone.path());
    assert!(
        files.contains(&format!("{}.refused", name(&first)))
            && files.contains(&"index.json.refused".to_owned()),
        "{files:?}"
    );
}
