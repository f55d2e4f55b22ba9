//! Adoption records on the branch: appended and signed like scans, verified, read back,
//! shown in history; a malformed one, or one adopting what is not a scan of its stack, is a
//! problem.

use super::*;
use crate::audit::reader::{read_log, ReadError};
use crate::audit::record::{sample_adoption, RecordKind, RecordRef, RecordResult};
use crate::explain::ResourceStatus;

const ADOPTION: &str = "records/000000/000/000000000001.json";

/// A log of one scan and the adoption of its drift, as `edit` leaves it.
fn adopted(edit: &dyn Fn(&mut Record)) -> Log {
    let mut log = Log::new(1);
    let adoption = sample_adoption(RecordRef::from(&log.appended[0]));
    let store = AuditStore::open(log.dir.path(), BRANCH, ORIGIN).expect("open");
    let scan = record(&log.key, BRANCH, ChainPosition::genesis());
    let build = |position| {
        let mut record = Record::of_adoption(&adoption, None, scan.base(), position);
        edit(&mut record);
        record
    };
    let committer = Committer {
        name: "ci".into(),
        email: "ci@example.com".into(),
    };
    let appended = store
        .append(&build, &log.key, &committer, 1_790_000_002)
        .expect("append");
    log.appended.push(appended);
    log
}

#[test]
fn an_adoption_record_is_verified_read_back_and_in_history() {
    let log = adopted(&|_| {});
    let report = log.verify(&[]);
    assert!(report.is_intact(), "{}", whats(&report));
    assert_eq!(report.records, 2);

    let entries = read_log(&log.repo(), BRANCH).expect("read");
    let last = entries.last().expect("entries");
    assert_eq!(last.record.kind, RecordKind::Adoption);
    assert_eq!(last.record.result, RecordResult::Proposed);
    let adoption = last.record.adoption.as_ref().expect("adoption");
    assert_eq!(adoption.acts_on, RecordRef::of(&entries[0]));

    let explain = crate::explain::Log::new(entries);
    let history = explain.history("aws_db_instance.main", None);
    assert_eq!(history[0].record.kind, "adoption", "{history:?}");
    assert_eq!(history[0].status, ResourceStatus::AdoptionProposed);
}

#[test]
fn a_signed_but_malformed_adoption_record_is_a_problem_and_not_read() {
    for (edit, needle) in [
        (
            (|r: &mut Record| r.adoption = None) as fn(&mut Record),
            "an adoption record without its `adoption`",
        ),
        (
            |r: &mut Record| r.result = RecordResult::Clean,
            "its result is clean but its outcome proposed",
        ),
        (
            |r: &mut Record| r.kind = RecordKind::Scan,
            "a scan record holding an `adoption`",
        ),
        (
            |r: &mut Record| r.adoption.as_mut().expect("adoption").proof = None,
            "lacks what it adopted, the files, the diff's hash or the proof",
        ),
    ] {
        let log = adopted(&edit);
        let report = log.verify(&[]);
        let problems = whats(&report);
        assert!(!report.is_intact(), "{needle}");
        let line = problems
            .lines()
            .find(|line| line.starts_with(&format!("Some(1) {ADOPTION} is not a driftlog record")))
            .unwrap_or_else(|| panic!("{needle}: {problems}"));
        assert!(line.contains(needle), "{problems}");
        match read_log(&log.repo(), BRANCH) {
            Err(ReadError::NotARecord { message, .. }) => {
                assert!(message.contains(needle), "{message}")
            }
            other => panic!("{needle}: read {other:?}"),
        }
    }
}

#[test]
fn an_adoption_of_another_stack_or_other_content_is_a_problem() {
    let log = adopted(&|r| {
        r.adoption.as_mut().expect("adoption").acts_on.record_sha256 = "a".repeat(64);
    });
    let problems = whats(&log.verify(&[]));
    assert!(
        problems.contains("Some(1) the adoption adopts record 0 as sha256:"),
        "{problems}"
    );
    let log = adopted(&|r| r.stack.path = "infra/stage".into());
    let problems = whats(&log.verify(&[]));
    assert!(
        problems.contains(
            "Some(1) the adoption adopts record 0, which is a scan record of infra/prod \
             (default), not a scan of infra/stage (default)"
        ),
        "{problems}"
    );
}
