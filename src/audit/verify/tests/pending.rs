//! Folded records on the branch and pending refs not folded yet.

use super::*;
use crate::audit::pending::{self, PendingEntry};

const FOLDED_PATH: &str = "records/000000/000/000000000002.json.pending";
const TRACKING: &str = "refs/driftlog/remotes/origin/pending/driftlog/audit";

fn committer() -> Committer {
    Committer {
        name: "ci".into(),
        email: "ci@example.com".into(),
    }
}

/// A record of `path` as a job makes it before it joins the log, signed by `key`.
fn made(key: &SigningKey, path: &str) -> PendingEntry {
    let mut made = record(key, BRANCH, ChainPosition::genesis());
    made.stack.path = path.into();
    PendingEntry::sign(&made, key).expect("sign")
}

impl Log {
    fn store(&self) -> AuditStore {
        AuditStore::open(self.dir.path(), BRANCH, ORIGIN).expect("open")
    }

    /// Folds `entry` into the branch as the writer does: its record at the tip, the entry file
    /// next to it.
    fn fold(&self, entry: &PendingEntry) -> Appended {
        let build = |position| entry.record.rebased(position);
        self.store()
            .append_folded(&build, &self.key, &committer(), 1_790_000_100, &entry.bytes)
            .expect("fold")
    }

    /// A pending ref, as a fetch from origin leaves it, holding `entries` (as they are).
    fn pending_ref(&self, label: &str, entries: &[PendingEntry]) -> Oid {
        let repo = self.repo();
        let commit = pending::write_commit(
            &repo,
            BRANCH,
            entries,
            &self.key,
            &committer(),
            1_790_000_200,
        )
        .expect("pending commit");
        if repo.find_remote("origin").is_err() {
            repo.remote("origin", "git://example.com/acme/infra.git")
                .expect("remote");
        }
        repo.reference(&format!("{TRACKING}/{label}"), commit, true, "fetch")
            .expect("ref");
        commit
    }
}

/// A log of two records, then one folded from a pending entry as record 2.
fn folded_log() -> (Log, PendingEntry) {
    let log = Log::new(2);
    let entry = made(&log.key, "infra/shard-3");
    log.fold(&entry);
    (log, entry)
}

#[test]
fn a_folded_record_verifies() {
    let (log, entry) = folded_log();
    assert_eq!(log.tip_file(FOLDED_PATH), entry.bytes);
    let report = log.verify(&[]);
    assert!(report.is_intact(), "{}", whats(&report));
    assert_eq!(report.records, 3);
    assert!(report.pending.is_empty());
}

#[test]
fn an_edited_pending_entry_is_a_problem_even_in_a_re_signed_commit() {
    let (log, entry) = folded_log();
    let text = String::from_utf8(entry.bytes).expect("utf-8");
    let edited = text.replacen("infra/shard-3", "infra/shard-4", 1);
    assert_ne!(edited, text);
    log.replace_tip(&[(FOLDED_PATH, Some(edited.as_bytes()))], &log.key);
    let problems = whats(&log.verify(&[]));
    assert!(
        problems.contains(&format!(
            "Some(2) {FOLDED_PATH}, the pending entry record 2 was folded from, is refused: it \
             was edited after it was signed"
        )),
        "{problems}"
    );
}

#[test]
fn a_pending_entry_of_another_record_is_a_problem() {
    let (log, _) = folded_log();
    // Genuine and trusted, but not the record placed at seq 2.
    let other = made(&log.key, "infra/shard-9");
    log.replace_tip(&[(FOLDED_PATH, Some(&other.bytes))], &log.key);
    let problems = whats(&log.verify(&[]));
    assert!(
        problems.contains(
            "Some(2) records/000000/000/000000000002.json.pending, the pending entry record 2 was \
             folded from, holds another record than records/000000/000/000000000002.json"
        ),
        "{problems}"
    );
}

#[test]
fn a_pending_entry_signed_by_an_untrusted_key_is_a_problem() {
    let (log, entry) = folded_log();
    let stranger = SigningKey::generate().expect("key");
    let forged = PendingEntry::sign(&entry.record, &stranger).expect("sign");
    log.replace_tip(&[(FOLDED_PATH, Some(&forged.bytes))], &log.key);
    let problems = whats(&log.verify(&[]));
    assert!(
        problems.contains(&format!(
            "was folded from, is refused: it is signed by a key this run does not trust ({})",
            stranger.fingerprint()
        )),
        "{problems}"
    );
}

#[test]
fn a_pending_entry_is_only_added_with_its_own_record() {
    let (log, entry) = folded_log();
    // Next to record 2's, a pending entry for record 1 and one for a record that never was.
    let beside = "records/000000/000/000000000001.json.pending";
    let stray = "records/000000/000/000000000009.json.pending";
    log.replace_tip(
        &[(beside, Some(&entry.bytes)), (stray, Some(&entry.bytes))],
        &log.key,
    );
    let problems = whats(&log.verify(&[]));
    assert!(
        problems.contains(&format!("also adds {beside}, adds {stray}")),
        "{problems}"
    );

    // A plain append that also adds a pending entry for its record's predecessor.
    let log = Log::new(3);
    log.replace_tip(&[(beside, Some(&entry.bytes))], &log.key);
    let problems = whats(&log.verify(&[]));
    assert!(
        problems.contains(&format!("Some(2) also adds {beside}")),
        "{problems}"
    );
}

#[test]
fn a_pending_entry_folded_twice_is_a_problem() {
    let (log, entry) = folded_log();
    log.fold(&entry);
    let report = log.verify(&[]);
    assert_eq!(report.records, 4);
    assert_eq!(
        whats(&report),
        "Some(3) record 3 repeats the pending entry already folded as record 2: one record was \
         folded twice\n"
    );
}

#[test]
fn a_waiting_pending_ref_is_reported_not_a_failure() {
    let log = Log::new(2);
    let entries = [made(&log.key, "infra/a"), made(&log.key, "infra/b")];
    let commit = log.pending_ref("run-1.job-a.0a1b", &entries);
    let report = log.verify(&[]);
    assert!(report.is_intact(), "{}", whats(&report));
    assert_eq!(
        report.pending,
        [PendingRef {
            name: "refs/driftlog/pending/driftlog/audit/run-1.job-a.0a1b".into(),
            remote: "origin".into(),
            commit: commit.to_string(),
            records: 2,
            folded: 0,
            waiting: 2,
            refused: 0,
            error: None,
        }]
    );
}

#[test]
fn a_pending_ref_already_folded_is_reported_as_folded() {
    let (log, entry) = folded_log();
    let waiting = made(&log.key, "infra/late");
    log.pending_ref("run-1.job-a.0a1b", &[entry, waiting]);
    let report = log.verify(&[]);
    assert!(report.is_intact(), "{}", whats(&report));
    assert_eq!(
        (report.pending[0].folded, report.pending[0].waiting),
        (1, 1)
    );
}

#[test]
fn an_edited_pending_ref_is_a_problem() {
    let log = Log::new(2);
    let genuine = made(&log.key, "infra/a");
    let text = String::from_utf8(genuine.bytes.clone()).expect("utf-8");
    let edited = PendingEntry {
        record: genuine.record.clone(),
        bytes: text.replacen("infra/a", "infra/z", 1).into_bytes(),
    };
    log.pending_ref("run-2.job-b.ffff", &[genuine, edited]);
    let report = log.verify(&[]);
    let name = "refs/driftlog/pending/driftlog/audit/run-2.job-b.ffff";
    assert_eq!(
        whats(&report),
        format!(
            "None pending ref {name} entry 0001.json is refused: it was edited after it was \
             signed (its signature no longer matches); it is kept; investigate and delete it \
             (`git push origin :{name}`)\n"
        )
    );
    assert_eq!(
        (report.pending[0].waiting, report.pending[0].refused),
        (1, 1)
    );
}

#[test]
fn a_pending_ref_of_another_log_or_not_a_pending_commit_is_a_problem() {
    let log = Log::new(2);
    let mut foreign = record(&log.key, BRANCH, ChainPosition::genesis());
    foreign.log.repository = "example.com/acme/other".into();
    let foreign = PendingEntry::sign(&foreign, &log.key).expect("sign");
    log.pending_ref("foreign", &[foreign]);
    // The branch's own tip: a commit, but not one a pending ref points at.
    let repo = log.repo();
    let tip = repo
        .refname_to_id(&format!("refs/heads/{BRANCH}"))
        .expect("tip");
    repo.reference(&format!("{TRACKING}/tip"), tip, true, "fetch")
        .expect("ref");
    let problems = whats(&log.verify(&[]));
    assert!(
        problems.contains(
            "pending ref refs/driftlog/pending/driftlog/audit/foreign entry 0000.json is \
             refused: its record belongs to the log of example.com/acme/other"
        ),
        "{problems}"
    );
    assert!(
        problems.contains(
            "pending ref refs/driftlog/pending/driftlog/audit/tip is refused: its commit has \
             parents"
        ),
        "{problems}"
    );
}

#[test]
fn pending_refs_of_a_remote_this_repository_lacks_are_not_listed() {
    let (log, entry) = folded_log();
    let edited = PendingEntry {
        bytes: b"{}".to_vec(),
        ..entry
    };
    log.pending_ref("kept", std::slice::from_ref(&edited));
    let repo = log.repo();
    let planted = repo
        .refname_to_id(&format!("{TRACKING}/kept"))
        .expect("the ref");
    repo.reference(
        "refs/driftlog/remotes/nowhere/pending/driftlog/audit/planted",
        planted,
        true,
        "planted",
    )
    .expect("ref");
    repo.remote_delete("origin").expect("no origin either");
    let report = log.verify(&[]);
    assert!(report.pending.is_empty(), "{:?}", report.pending);
    assert!(report.is_intact(), "{:#?}", report.problems);
}

#[test]
fn pending_refs_of_other_branches_are_not_this_logs() {
    let log = Log::new(2);
    let entry = made(&log.key, "infra/a");
    let repo = log.repo();
    let commit = pending::write_commit(
        &repo,
        "other",
        &[entry],
        &log.key,
        &committer(),
        1_790_000_200,
    )
    .expect("commit");
    for name in [
        "refs/driftlog/remotes/origin/pending/other/x",
        "refs/driftlog/remotes/origin/pending/driftlog/audit/deeper/x",
        "refs/driftlog/remotes/origin/pending/x/driftlog/audit/x",
    ] {
        repo.reference(name, commit, true, "fetch").expect("ref");
    }
    let report = log.verify(&[]);
    assert!(report.pending.is_empty(), "{:?}", report.pending);
}

#[test]
fn an_oversized_pending_entry_is_never_read() {
    let (log, _) = folded_log();
    let huge = vec![b' '; pending::MAX_ENTRY_BYTES + 1];
    log.replace_tip(&[(FOLDED_PATH, Some(&huge))], &log.key);
    let problems = whats(&log.verify(&[]));
    assert!(
        problems.contains(&format!(
            "was folded from, cannot be read (it is {} bytes, over the limit of {})",
            huge.len(),
            pending::MAX_ENTRY_BYTES
        )),
        "{problems}"
    );
}

fn pending_entry_corpus() -> Vec<Vec<u8>> {
    let dir =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fuzz-corpus/pending-entry");
    let mut paths: Vec<_> = std::fs::read_dir(&dir)
        .expect("tests/fuzz-corpus/pending-entry")
        .map(|entry| entry.expect("entry").path())
        .collect();
    paths.sort();
    assert!(!paths.is_empty(), "the pending entry corpus is empty");
    paths
        .iter()
        .map(|path| std::fs::read(path).expect("corpus file"))
        .collect()
}

/// `bytes` as the folded record's `.pending` (in a re-signed commit), then as the only entry
/// of a pending ref: verify answers without a panic, and unless the bytes still hold the
/// genuine entry's record under a trusted signature, each is a problem.
fn check_entry_bytes(log: &Log, genuine: &PendingEntry, bytes: &[u8]) {
    let still_genuine = PendingEntry::verify(bytes, &log.allowed, None)
        .is_ok_and(|entry| entry.record == genuine.record);
    let repo = log.repo();
    let tracking = format!("{TRACKING}/fuzz");
    if let Ok(mut reference) = repo.find_reference(&tracking) {
        reference.delete().expect("delete");
    }
    log.replace_tip(&[(FOLDED_PATH, Some(bytes))], &log.key);
    let report = log.verify(&[]);
    assert!(report.problems.len() <= MAX_PROBLEMS);
    let problems = whats(&report);
    assert_eq!(
        !still_genuine,
        problems.contains("the pending entry record 2 was folded from,"),
        "{:?}: {problems}",
        String::from_utf8_lossy(bytes)
    );

    // The branch folded the genuine entry; the ref holds `bytes`.
    log.replace_tip(&[(FOLDED_PATH, Some(&genuine.bytes))], &log.key);
    let commit = repo.blob(bytes).and_then(|blob| {
        let mut builder = repo.treebuilder(None)?;
        builder.insert("0000.json", blob, 0o100644)?;
        let tree = repo.find_tree(builder.write()?)?;
        let who = git2::Signature::new("ci", "ci@example.com", &git2::Time::new(0, 0))?;
        repo.commit(None, &who, &who, "pending", &tree, &[])
    });
    if repo.find_remote("origin").is_err() {
        repo.remote("origin", "git://example.com/acme/infra.git")
            .expect("remote");
    }
    repo.reference(&tracking, commit.expect("commit"), true, "fetch")
        .expect("ref");
    let report = log.verify(&[]);
    assert!(report.problems.len() <= MAX_PROBLEMS);
    let problems = whats(&report);
    let folded = bytes == genuine.bytes.as_slice();
    assert_eq!(
        !still_genuine,
        problems.contains("entry 0000.json is refused"),
        "{:?}: {problems}",
        String::from_utf8_lossy(bytes)
    );
    assert_eq!(
        (report.pending[0].folded, report.pending[0].waiting),
        (usize::from(folded), usize::from(still_genuine && !folded)),
        "{:?}",
        String::from_utf8_lossy(bytes)
    );
}

#[test]
fn the_pending_entry_corpus_is_refused_not_a_crash() {
    let (log, genuine) = folded_log();
    for bytes in pending_entry_corpus() {
        check_entry_bytes(&log, &genuine, &bytes);
    }
}

/// One log for every case: each replaces the same tip and ref, so the cases stay independent.
#[test]
fn fuzz_pending_entry() {
    let (log, genuine) = folded_log();
    let mut seeds = pending_entry_corpus();
    seeds.push(genuine.bytes.clone());
    fuzz_mutations(
        seeds,
        b"{}[]\":,0123456789-.\\ntrufalsn\x00\xff\xc3 A=+/",
        &|bytes| check_entry_bytes(&log, &genuine, bytes),
    );
}
