use super::*;
use crate::audit::record::RecordRef;

fn sample() -> AdoptionRecord {
    sample_adoption(RecordRef {
        seq: 3,
        record_sha256: "a".repeat(64),
    })
}

type Edit = Box<dyn Fn(&mut AdoptionRecord)>;

fn check(record: &AdoptionRecord) -> Result<(), String> {
    record.check(
        4,
        record.outcome.result(),
        record.outcome == AdoptionOutcome::Failed,
    )
}

#[test]
fn a_proposed_adoption_holds_together_and_round_trips() {
    let record = sample();
    check(&record).expect("holds together");
    let json = serde_json::to_string(&record).expect("serialize");
    let back: AdoptionRecord = serde_json::from_str(&json).expect("deserialize");
    assert_eq!(back, record);
    assert!(json.contains("\"outcome\":\"proposed\""), "{json}");
}

#[test]
fn an_adoption_that_does_not_hold_together_is_refused() {
    let cases: Vec<(&str, Edit)> = vec![
        ("no reason", Box::new(|r| r.rule.reason = " ".into())),
        (
            "not adopt",
            Box::new(|r| r.rule.action = super::super::RemediationAction::Revert),
        ),
        (
            "SHA-256",
            Box::new(|r| r.files[0].after_sha256 = "XYZ".into()),
        ),
        (
            "SHA-256",
            Box::new(|r| r.diff_sha256 = Some("short".into())),
        ),
        ("not before it", Box::new(|r| r.acts_on.seq = 4)),
        (
            "sensitive",
            Box::new(|r| r.adopted[0].after = AttrValue::Sensitive),
        ),
        ("the proof", Box::new(|r| r.proof = None)),
        ("the files", Box::new(|r| r.files.clear())),
        ("no pull request", Box::new(|r| r.pull_request = None)),
        (
            "no refusal",
            Box::new(|r| {
                r.outcome = AdoptionOutcome::Refused;
                r.refusals.clear();
            }),
        ),
        (
            "names adopted",
            Box::new(|r| r.outcome = AdoptionOutcome::Refused),
        ),
    ];
    for (why, edit) in cases {
        let mut record = sample();
        edit(&mut record);
        let err = check(&record).expect_err(why);
        assert!(err.contains(why), "{why}: {err}");
    }
}

#[test]
fn the_result_and_the_failure_must_match_the_outcome() {
    let record = sample();
    let err = record
        .check(4, RecordResult::Adopted, false)
        .expect_err("result");
    assert!(
        err.contains("result is adopted but its outcome proposed"),
        "{err}"
    );
    let err = record
        .check(4, RecordResult::Proposed, true)
        .expect_err("failure");
    assert!(err.contains("names a failure"), "{err}");

    let mut failed = sample();
    failed.outcome = AdoptionOutcome::Failed;
    let err = failed
        .check(4, RecordResult::Failed, false)
        .expect_err("no failure");
    assert!(err.contains("names no failure"), "{err}");
    failed.check(4, RecordResult::Failed, true).expect("failed");
}

#[test]
fn written_and_closed_adoptions() {
    let mut written = sample();
    written.outcome = AdoptionOutcome::Written;
    written.pull_request = None;
    check(&written).expect("written needs no pull request");

    let mut closed = sample();
    closed.outcome = AdoptionOutcome::Closed;
    closed.adopted.clear();
    closed.files.clear();
    closed.diff_sha256 = None;
    closed.proof = None;
    check(&closed).expect("closed");
    closed.pull_request = None;
    assert!(check(&closed)
        .expect_err("closed")
        .contains("no pull request"));
}
