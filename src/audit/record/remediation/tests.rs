use super::super::{sample_record, ChainPosition, Record, RecordBase, RecordKind, RecordResult};
use super::*;
use crate::audit::store;

fn reference(seq: u64, digit: char) -> RecordRef {
    RecordRef {
        seq,
        record_sha256: digit.to_string().repeat(64),
    }
}

/// The record of `run` at seq 2, acting on record 0 and verified by record 1.
fn record_of(run: &RemediationRun) -> Record {
    let scan = sample_record("infra/prod");
    let base = RecordBase {
        time: "2026-12-02T08:00:00Z".into(),
        ..scan.base()
    };
    let position = ChainPosition {
        seq: 2,
        prev: "1".repeat(64),
    };
    Record::of_remediation(run, base, position)
}

fn sample() -> RemediationRun {
    sample_remediation(reference(0, 'a'), reference(1, 'b'))
}

#[test]
fn a_remediation_record_round_trips_through_its_canonical_bytes() {
    let run = sample();
    let record = record_of(&run);
    assert_eq!(record.kind, RecordKind::Remediation);
    assert_eq!(record.result, RecordResult::Reverted);
    assert_eq!(record.remediation.as_ref(), Some(&run.remediation));
    assert!(record.resources.is_empty());
    record.check_kind().expect("well formed");

    let bytes = store::encode(&record).expect("encode");
    let read: Record = serde_json::from_slice(&bytes).expect("parse");
    assert_eq!(read, record);
    read.check_kind().expect("well formed");

    let json: serde_json::Value = serde_json::from_slice(&bytes).expect("JSON");
    let remediation = &json["remediation"];
    assert_eq!(json["kind"], "remediation");
    assert_eq!(json["result"], "reverted");
    assert_eq!(remediation["rule"]["name"], ".driftlog.toml:12");
    assert_eq!(remediation["rule"]["action"], "revert");
    assert_eq!(remediation["acts_on"]["seq"], 0);
    assert_eq!(remediation["verified_by"]["seq"], 1);
    assert_eq!(remediation["outcome"], "reverted");
    assert_eq!(remediation["plan_sha256"], "9".repeat(64));
    assert_eq!(
        remediation["refusals"][0]["address"],
        "aws_db_instance.replica"
    );
}

#[test]
fn a_sensitive_planned_value_is_withheld_from_the_record() {
    let record = record_of(&sample());
    let bytes = store::encode(&record).expect("encode");
    let text = String::from_utf8(bytes).expect("utf-8");
    assert!(!text.contains("s3cr3t"), "{text}");
    let change = &record.remediation.as_ref().expect("remediation").changes[0];
    let paths: Vec<&str> = change.attributes.iter().map(|a| a.path.as_str()).collect();
    assert_eq!(paths, ["password", "port"]);
    assert_eq!(
        change.attributes[0].before,
        crate::drift::AttrValue::Sensitive
    );
    assert_eq!(
        change.attributes[0].after,
        crate::drift::AttrValue::Sensitive
    );
    assert_eq!(
        change.attributes[1].after,
        crate::drift::AttrValue::Known(serde_json::json!(5432))
    );
}

#[test]
fn an_apply_adds_what_terraform_changed_and_its_failure() {
    let applied = AppliedRun {
        outcome: ApplyOutcome {
            exit_code: Some(1),
            changes: Vec::new(),
            summary: None,
        },
        failure: Some(Failure::new("apply_failed", "terraform apply failed")),
        tool: None,
        stream_sha256: "c".repeat(64),
    };
    let mut run = sample().with_apply(&applied);
    assert_eq!(run.evidence.apply_stream_sha256, Some("c".repeat(64)));
    assert_eq!(run.apply.as_ref().and_then(|a| a.exit_code), Some(1));
    run.remediation.outcome = RemediationOutcome::Failed;
    let record = record_of(&run);
    assert_eq!(record.result, RecordResult::Failed);
    assert_eq!(
        record.failure.as_ref().map(|f| f.kind.as_str()),
        Some("apply_failed")
    );
    assert_eq!(record.apply, run.apply);
    record.check_kind().expect("well formed");
    // A failure already named (the verifying scan's) is kept.
    let mut named = sample();
    named.failure = Some(Failure::new("verify_scan_drifted", "still drifted"));
    let named = named.with_apply(&applied);
    assert_eq!(
        named.failure.map(|f| f.kind),
        Some("verify_scan_drifted".to_owned())
    );
    assert_eq!(
        RemediationOutcome::Interrupted.result(),
        RecordResult::Failed
    );
}

#[test]
fn records_that_do_not_hold_what_their_kind_must_are_refused() {
    let good = record_of(&sample());
    type Edit = Box<dyn Fn(&mut Record)>;
    let cases: Vec<(&str, Edit)> = vec![
        (
            "without its `remediation`",
            Box::new(|r| r.remediation = None),
        ),
        (
            "a scan record holding a `remediation`",
            Box::new(|r| r.kind = RecordKind::Scan),
        ),
        (
            "which only remediations and adoptions have",
            Box::new(|r| {
                r.kind = RecordKind::Apply;
                r.remediation = None;
            }),
        ),
        (
            "its result is refused but its outcome reverted",
            Box::new(|r| r.result = RecordResult::Refused),
        ),
        (
            "it is reverted but names a failure",
            Box::new(|r| r.failure = Some(Failure::new("x", "y"))),
        ),
        (
            "names no failure",
            Box::new(|r| {
                r.result = RecordResult::Failed;
                remediation(r).outcome = RemediationOutcome::Interrupted;
            }),
        ),
        (
            "it is refused but names no refusal",
            Box::new(|r| {
                r.result = RecordResult::Refused;
                remediation(r).outcome = RemediationOutcome::Refused;
                remediation(r).refusals.clear();
            }),
        ),
        (
            "no scan that verified it",
            Box::new(|r| remediation(r).verified_by = None),
        ),
        (
            "names no plan",
            Box::new(|r| remediation(r).plan_sha256 = None),
        ),
        ("no change", Box::new(|r| remediation(r).changes.clear())),
        (
            "plan_sha256 hash is not a SHA-256",
            Box::new(|r| remediation(r).plan_sha256 = Some("9".repeat(63))),
        ),
        (
            "acts_on hash is not a SHA-256",
            Box::new(|r| remediation(r).acts_on.record_sha256 = "A".repeat(64)),
        ),
        (
            "verified_by hash is not a SHA-256",
            Box::new(|r| {
                remediation(r)
                    .verified_by
                    .as_mut()
                    .expect("verified")
                    .record_sha256 = "b".repeat(65)
            }),
        ),
        (
            "it acts on record 2, which is not before it (seq 2)",
            Box::new(|r| remediation(r).acts_on.seq = 2),
        ),
        (
            "not between the record it acts on (0) and itself (2)",
            Box::new(|r| remediation(r).verified_by = Some(reference(2, 'b'))),
        ),
        (
            "not between the record it acts on (1) and itself (2)",
            Box::new(|r| remediation(r).acts_on.seq = 1),
        ),
        (
            "its rule has no name or no reason",
            Box::new(|r| remediation(r).rule.reason = " ".into()),
        ),
    ];
    for (needle, edit) in cases {
        let mut record = good.clone();
        edit(&mut record);
        let why = record.check_kind().expect_err(needle);
        assert!(why.contains(needle), "{needle}: {why}");
    }
    // Scans and applies are what they were.
    let scan = sample_record("infra/prod");
    scan.check_kind().expect("a scan");
}

fn remediation(record: &mut Record) -> &mut RemediationRecord {
    record.remediation.as_mut().expect("remediation")
}

#[test]
fn a_refusal_before_any_plan_is_well_formed() {
    let mut run = sample();
    run.remediation.outcome = RemediationOutcome::Refused;
    run.remediation.plan_sha256 = None;
    run.remediation.changes.clear();
    run.remediation.verified_by = None;
    run.remediation.refusals = vec![Refusal {
        address: "aws_db_instance.main".into(),
        reason: "drift changed since record 0".into(),
    }];
    let record = record_of(&run);
    assert_eq!(record.result, RecordResult::Refused);
    record.check_kind().expect("well formed");
    let json = serde_json::to_value(&record).expect("JSON");
    assert!(json["remediation"].get("plan_sha256").is_none());
    assert!(json["remediation"].get("verified_by").is_none());
    assert_eq!(json["remediation"]["changes"], serde_json::json!([]));
}

#[test]
fn rules_are_referenced_by_name_reason_and_action() {
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::write(dir.path().join("main.tf"), "").expect("write");
    let text = "\n[[remediate]]\nresource = \"a.b\"\naction = \"adopt\"\nreason = \"why\"\n";
    let config =
        crate::config::Config::parse(dir.path(), &dir.path().join(crate::config::FILE_NAME), text)
            .expect("valid");
    assert_eq!(
        RuleRef::of(&config, &config.remediate[0]),
        RuleRef {
            name: ".driftlog.toml:2".into(),
            reason: "why".into(),
            action: RemediationAction::Adopt,
        }
    );
}
