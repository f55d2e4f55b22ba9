//! Remediation records on the branch: appended and signed like scans, verified, read back;
//! a tampered or malformed one is a problem.

use super::*;
use crate::audit::reader::{read_log, ReadError};
use crate::audit::record::{
    sample_remediation, AppliedChange, ApplyOutcome, ChangeOutcome, RecordKind, RecordRef,
    RecordResult, RemediationOutcome,
};
use crate::drift::Action;

const REMEDIATION: &str = "records/000000/000/000000000002.json";

fn committer() -> Committer {
    Committer {
        name: "ci".into(),
        email: "ci@example.com".into(),
    }
}

/// A log of two scans (the drift, then the scan after the apply) and the remediation that
/// acted on the first, verified by the second, as `edit` leaves it.
fn remediated(edit: &dyn Fn(&mut Record)) -> Log {
    let mut log = Log::new(2);
    let acts_on = RecordRef::from(&log.appended[0]);
    let verified_by = RecordRef::from(&log.appended[1]);
    let mut run = sample_remediation(acts_on, verified_by);
    run.apply = Some(ApplyOutcome {
        exit_code: Some(0),
        changes: vec![AppliedChange {
            address: "aws_db_instance.main".into(),
            action: Action::Update,
            outcome: ChangeOutcome::Complete,
            id: None,
        }],
        summary: None,
    });
    let store = AuditStore::open(log.dir.path(), BRANCH, ORIGIN).expect("open");
    let scan = record(&log.key, BRANCH, ChainPosition::genesis());
    let build = |position| {
        let mut record = Record::of_remediation(&run, scan.base(), position);
        edit(&mut record);
        record
    };
    let appended = store
        .append(&build, &log.key, &committer(), 1_790_000_002)
        .expect("append");
    log.appended.push(appended);
    log
}

#[test]
fn a_remediation_record_is_signed_verified_and_read_back() {
    let log = remediated(&|_| {});
    let report = log.verify(&[]);
    assert!(report.is_intact(), "{}", whats(&report));
    assert_eq!(report.records, 3);
    assert_eq!(report.head.expect("head").seq, 2);

    // Its detached signature is the key's over its exact bytes.
    let bytes = log.tip_file(REMEDIATION);
    let signature = log.tip_file(&format!("{REMEDIATION}.sig"));
    let signature = String::from_utf8(signature).expect("armored");
    crate::audit::sshsig::verify_at(
        &signature,
        DRIFTLOG_NAMESPACE,
        &bytes,
        &log.allowed,
        None,
        std::time::SystemTime::now(),
    )
    .expect("signed by the log's key");
    let text = String::from_utf8(bytes).expect("utf-8");
    assert!(!text.contains("s3cr3t"), "{text}");

    let entries = read_log(&log.repo(), BRANCH).expect("read");
    let last = entries.last().expect("entries");
    assert_eq!(last.record.kind, RecordKind::Remediation);
    assert_eq!(last.record.result, RecordResult::Reverted);
    assert_eq!(last.record_sha256, log.appended[2].record_sha256);
    assert_eq!(
        last.commit.as_deref(),
        Some(log.appended[2].commit.as_str())
    );
    let remediation = last.record.remediation.as_ref().expect("remediation");
    assert_eq!(remediation.acts_on, RecordRef::of(&entries[0]));
    assert_eq!(remediation.verified_by, Some(RecordRef::of(&entries[1])));
    assert_eq!(remediation.outcome, RemediationOutcome::Reverted);

    // explain and history read it back: it is no scan, and it reverted the database (what
    // that means for windows: `explain::remediation`'s tests).
    let explain = crate::explain::Log::new(entries);
    let stack = explain.stacks().next().expect("a stack").clone();
    assert_eq!(explain.latest_scan(&stack).expect("a scan"), 1);
    let history = explain.history("aws_db_instance.main", None);
    let said: Vec<(&str, crate::explain::ResourceStatus)> = history
        .iter()
        .map(|entry| (entry.record.kind.as_str(), entry.status))
        .collect();
    assert_eq!(
        said[0],
        ("remediation", crate::explain::ResourceStatus::Reverted),
        "{history:?}"
    );
}

#[test]
fn a_tampered_remediation_record_is_a_problem() {
    let log = remediated(&|_| {});
    let bytes = String::from_utf8(log.tip_file(REMEDIATION)).expect("utf-8");
    // Claims the plan was refused: the signature no longer covers the bytes.
    let forged = bytes.replace("\"outcome\":\"reverted\"", "\"outcome\":\"refused\"");
    assert_ne!(forged, bytes);
    log.replace_tip(&[(REMEDIATION, Some(forged.as_bytes()))], &log.key);
    let report = log.verify(&[]);
    let problems = whats(&report);
    assert!(!report.is_intact());
    assert!(
        problems.contains("Some(2) the record's signature"),
        "{problems}"
    );
}

#[test]
fn a_signed_but_malformed_remediation_record_is_a_problem_and_not_read() {
    for (edit, needle) in [
        (
            (|r: &mut Record| r.remediation = None) as fn(&mut Record),
            "a remediation record without its `remediation`",
        ),
        (
            |r: &mut Record| r.result = RecordResult::Clean,
            "its result is clean but its outcome reverted",
        ),
        (
            |r: &mut Record| {
                r.remediation.as_mut().expect("remediation").acts_on.seq = 7;
            },
            "it acts on record 7, which is not before it (seq 2)",
        ),
        (
            |r: &mut Record| r.kind = RecordKind::Apply,
            "an apply record holding a `remediation`",
        ),
    ] {
        let log = remediated(&edit);
        let report = log.verify(&[]);
        let problems = whats(&report);
        assert!(!report.is_intact(), "{needle}");
        let line = problems
            .lines()
            .find(|line| {
                line.starts_with(&format!("Some(2) {REMEDIATION} is not a driftlog record"))
            })
            .unwrap_or_else(|| panic!("{needle}: {problems}"));
        assert!(line.contains(needle), "{problems}");
        match read_log(&log.repo(), BRANCH) {
            Err(ReadError::NotARecord { path, message, .. }) => {
                assert_eq!(path, REMEDIATION);
                assert!(message.contains(needle), "{message}");
            }
            other => panic!("{needle}: read {other:?}"),
        }
    }
}

#[test]
fn a_remediation_naming_other_records_than_the_log_holds_is_a_problem() {
    // Signed and well formed, but record 0 is not what it names.
    let log = remediated(&|r| {
        r.remediation
            .as_mut()
            .expect("remediation")
            .acts_on
            .record_sha256 = "a".repeat(64);
    });
    let problems = whats(&log.verify(&[]));
    let line = problems
        .lines()
        .find(|line| line.starts_with("Some(2) the remediation acts on record 0 as sha256:"))
        .unwrap_or_else(|| panic!("{problems}"));
    assert!(
        line.contains("it names other content than the log holds"),
        "{line}"
    );
    assert!(!problems.contains("is verified by"), "{problems}");

    // Of another stack: neither scan it names is one of its own.
    let log = remediated(&|r| r.stack.path = "infra/stage".into());
    let problems = whats(&log.verify(&[]));
    for (how, seq) in [("acts on", 0), ("is verified by", 1)] {
        assert!(
            problems.contains(&format!(
                "Some(2) the remediation {how} record {seq}, which is a scan record of \
                 infra/prod (default), not a scan of infra/stage (default)"
            )),
            "{problems}"
        );
    }
}
