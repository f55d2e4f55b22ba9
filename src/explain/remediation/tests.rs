//! Remediations in `history` and in `explain`'s windows, on logs built from typed records.

use serde_json::json;

use crate::audit::reader::LogEntry;
use crate::audit::record::{
    ChainPosition, LogId, PlannedChange, Record, RecordBase, RecordRef, Refusal, RemediationAction,
    RemediationOutcome, RemediationRecord, RemediationRun, RuleRef, StackRef,
};
use crate::context::{GithubActions, RunContext};
use crate::drift::explanation::Explanation;
use crate::drift::{Action, AttrValue, AttributeChange, DriftedResource, ScanReport, Status};
use crate::explain::{Log, ResourceStatus};
use crate::report::explanation::{history_text, one_line, text};

const DB: &str = "aws_db_instance.main";
const REPLICA: &str = "aws_db_instance.replica";
const WEB: &str = "aws_instance.web";

/// Record `seq` of `infra/prod`, made by a GitHub Actions run, `seq` minutes into the day.
fn base(seq: u64) -> RecordBase {
    RecordBase {
        stack: StackRef {
            path: "infra/prod".into(),
            workspace: "default".into(),
            cloudformation: None,
        },
        context: RunContext::GithubActions(GithubActions {
            actor: Some("alice".into()),
            repository: Some("acme/infra".into()),
            workflow: Some("drift".into()),
            run_id: Some(format!("{}", 100 + seq)),
            ..GithubActions::default()
        }),
        log: LogId {
            repository: "acme/infra".into(),
            branch: "driftlog/audit".into(),
        },
        signing_key: "SHA256:test".into(),
        time: format!("2026-11-24T00:{seq:02}:00Z"),
    }
}

fn position(seq: u64) -> ChainPosition {
    ChainPosition {
        seq,
        prev: format!("{:064x}", seq.saturating_sub(1)),
    }
}

fn entry(record: Record) -> LogEntry {
    LogEntry {
        record_sha256: format!("{:064x}", record.seq),
        commit: Some(format!("{:02}{}", record.seq, "c".repeat(38))),
        path: String::new(),
        record,
    }
}

fn reference(seq: u64) -> RecordRef {
    RecordRef {
        seq,
        record_sha256: format!("{seq:064x}"),
    }
}

/// A database whose port drifted to `port` (5432 in code), with its password sensitive.
fn db_drift(port: u64) -> DriftedResource {
    DriftedResource::test(
        DB,
        Action::Update,
        [
            ("password", AttrValue::Sensitive, AttrValue::Sensitive),
            (
                "port",
                AttrValue::Known(json!(5432)),
                AttrValue::Known(json!(port)),
            ),
        ],
    )
}

fn drift_of(address: &str) -> DriftedResource {
    DriftedResource::test(
        address,
        Action::Update,
        [(
            "tags.env",
            AttrValue::Known(json!("prod")),
            AttrValue::Known(json!("x")),
        )],
    )
}

/// A completed scan of `seq` that saw `resources` drifted (none: clean).
fn scan(seq: u64, resources: Vec<DriftedResource>) -> LogEntry {
    let status = if resources.is_empty() {
        Status::Clean
    } else {
        Status::Drifted
    };
    let mut report = ScanReport::test(".", status);
    report.resources = resources;
    let base = base(seq);
    entry(Record::of_scan(
        &report,
        base.stack,
        base.context,
        base.log,
        position(seq),
        base.signing_key,
        base.time,
    ))
}

/// The port (and password) of [`db_drift`] set back to the code's.
fn db_revert(port: u64) -> PlannedChange {
    let change = |path: &str, before, after| AttributeChange {
        path: path.into(),
        before,
        after,
        class: Default::default(),
        ignored: None,
    };
    PlannedChange {
        address: DB.into(),
        action: Action::Update,
        attributes: vec![
            change("password", AttrValue::Sensitive, AttrValue::Sensitive),
            change(
                "port",
                AttrValue::Known(json!(port)),
                AttrValue::Known(json!(5432)),
            ),
        ],
    }
}

fn planned(address: &str) -> PlannedChange {
    PlannedChange {
        address: address.into(),
        action: Action::Update,
        attributes: vec![AttributeChange {
            path: "tags.env".into(),
            before: AttrValue::Known(json!("x")),
            after: AttrValue::Known(json!("prod")),
            class: Default::default(),
            ignored: None,
        }],
    }
}

fn refusal(address: &str, reason: &str) -> Refusal {
    Refusal {
        address: address.into(),
        reason: reason.into(),
    }
}

/// Remediation record `seq` by the rule at `.driftlog.toml:<line>`, acting on `acts_on`.
struct Remediation {
    line: u32,
    acts_on: u64,
    outcome: RemediationOutcome,
    changes: Vec<PlannedChange>,
    refusals: Vec<Refusal>,
    verified_by: Option<u64>,
}

impl Remediation {
    fn at(self, seq: u64) -> LogEntry {
        let planned = !self.changes.is_empty();
        let run = RemediationRun::new(RemediationRecord {
            rule: RuleRef {
                name: format!(".driftlog.toml:{}", self.line),
                reason: "databases change only through code".into(),
                action: RemediationAction::Revert,
            },
            acts_on: reference(self.acts_on),
            plan_sha256: planned.then(|| "5a".repeat(32)),
            changes: self.changes,
            outcome: self.outcome,
            refusals: self.refusals,
            verified_by: self.verified_by.map(reference),
        });
        entry(Record::of_remediation(&run, base(seq), position(seq)))
    }
}

/// Drift on the database at 0, its remediation's verifying scan at 1 and the remediation at
/// 2 (the database reverted, the replica refused), the port drifted again at 3.
fn reverted_then_drifted_again() -> Log {
    Log::new(vec![
        scan(0, vec![db_drift(5433), drift_of(REPLICA)]),
        scan(1, vec![drift_of(REPLICA)]),
        Remediation {
            line: 4,
            acts_on: 0,
            outcome: RemediationOutcome::Reverted,
            changes: vec![db_revert(5433)],
            refusals: vec![refusal(REPLICA, "the plan would replace it")],
            verified_by: Some(1),
        }
        .at(2),
        scan(3, vec![db_drift(5434), drift_of(REPLICA)]),
    ])
}

fn explain_latest(log: &Log, address: &str) -> Explanation {
    let latest = log
        .latest_scan(log.stacks().next().expect("a stack"))
        .expect("a scan");
    let mut found = log.explain_scan(latest, &[address.to_owned()]);
    assert_eq!(found.len(), 1, "{found:#?}");
    found.remove(0)
}

#[test]
fn history_shows_a_reverted_and_a_refused_remediation() {
    let mut entries = reverted_then_drifted_again().entries;
    entries.push(
        Remediation {
            line: 9,
            acts_on: 3,
            outcome: RemediationOutcome::Refused,
            changes: vec![],
            refusals: vec![refusal(
                DB,
                "applying would also apply unapplied code changes to aws_db_instance.main: \
                 engine_version",
            )],
            verified_by: None,
        }
        .at(4),
    );
    let log = Log::new(entries);

    let history = log.history(DB, None);
    let seqs: Vec<u64> = history.iter().map(|e| e.record.seq).collect();
    assert_eq!(seqs, [4, 3, 2, 1, 0]);
    let refused = &history[0];
    assert_eq!(refused.status, ResourceStatus::RemediationRefused);
    assert_eq!(refused.record.kind, "remediation");
    assert!(refused.changes.is_empty());
    let reverted = &history[2];
    assert_eq!(reverted.status, ResourceStatus::Reverted);
    assert_eq!(reverted.action.as_deref(), Some("update"));
    assert_eq!(reverted.changes, db_revert(5433).attributes);
    assert_eq!(reverted.record.applied.as_deref(), Some("update"));

    let json = serde_json::to_value(&history).expect("JSON");
    assert_eq!(json[0]["status"], "remediation_refused");
    assert_eq!(json[0]["remediation"]["rule"]["name"], ".driftlog.toml:9");
    assert_eq!(json[0]["remediation"]["outcome"], "refused");
    assert_eq!(json[0]["remediation"]["acts_on"], 3);
    assert!(json[0]["remediation"]["refused"]
        .as_str()
        .is_some_and(|r| r.contains("unapplied code changes")));
    assert!(json[0]["remediation"].get("plan_sha256").is_none());
    assert_eq!(json[2]["status"], "reverted");
    assert_eq!(json[2]["kind"], "remediation");
    assert_eq!(json[2]["result"], "reverted");
    assert_eq!(json[2]["who"], "alice via GitHub Actions (drift)");
    assert_eq!(
        json[2]["run"],
        "https://github.com/acme/infra/actions/runs/102"
    );
    let remediation = &json[2]["remediation"];
    assert_eq!(
        remediation["rule"],
        json!({"name": ".driftlog.toml:4", "reason": "databases change only through code", "action": "revert"})
    );
    assert_eq!(remediation["outcome"], "reverted");
    assert_eq!(remediation["acts_on"], 0);
    assert_eq!(remediation["verified_by"], 1);
    assert_eq!(remediation["plan_sha256"], "5a".repeat(32));
    assert_eq!(
        json[2]["changes"][0]["before"],
        json!({"kind": "sensitive"})
    );
    assert_eq!(json[2]["changes"][1]["path"], "port");

    let text = history_text(DB, &history);
    let lines = [
        "  2026-11-24 00:04:00 UTC  record 4      infra/prod  remediation: remediation refused  \
         by alice via GitHub Actions (drift), run https://github.com/acme/infra/actions/runs/104",
        "      rule .driftlog.toml:9 (revert): databases change only through code",
        "      acted on record 3; outcome refused",
        "      refused: applying would also apply unapplied code changes to \
         aws_db_instance.main: engine_version",
        "  2026-11-24 00:02:00 UTC  record 2      infra/prod  remediation: reverted (update)  \
         by alice via GitHub Actions (drift), run https://github.com/acme/infra/actions/runs/102",
        "      rule .driftlog.toml:4 (revert): databases change only through code",
        "      acted on record 0; outcome reverted; plan sha256 5a5a5a5a5a5a; verified by record 1",
        "      password: (sensitive value) -> (sensitive value)",
        "      port: 5433 -> 5432",
    ];
    for line in lines {
        assert!(
            text.contains(&format!("{line}\n")),
            "{line}\nnot in\n{text}"
        );
    }

    // The replica was named only as refused by the reverted remediation.
    let replica = log.history(REPLICA, None);
    let refused = replica
        .iter()
        .find(|e| e.record.seq == 2)
        .expect("the remediation is in the replica's history");
    assert_eq!(refused.status, ResourceStatus::RemediationRefused);
    assert_eq!(refused.action, None);
    assert!(refused.changes.is_empty());
    let entry = refused.remediation.as_ref().expect("its remediation");
    assert_eq!(entry.outcome, RemediationOutcome::Reverted);
    assert_eq!(entry.refused.as_deref(), Some("the plan would replace it"));
    let text = history_text(REPLICA, &replica);
    assert!(
        text.contains("      refused: the plan would replace it\n"),
        "{text}"
    );
}

#[test]
fn a_remediation_names_its_resource_for_history_to_find_the_stack() {
    // Only the remediation names the resource: its scans were all clean of it.
    let log = Log::new(vec![
        scan(0, vec![drift_of(WEB)]),
        Remediation {
            line: 4,
            acts_on: 0,
            outcome: RemediationOutcome::Failed,
            changes: vec![planned(DB)],
            refusals: vec![],
            verified_by: None,
        }
        .at(1),
    ]);
    let history = log.history(DB, None);
    let said: Vec<(u64, ResourceStatus)> =
        history.iter().map(|e| (e.record.seq, e.status)).collect();
    assert_eq!(
        said,
        [
            (1, ResourceStatus::RemediationFailed),
            (0, ResourceStatus::Clean)
        ]
    );
}

#[test]
fn drift_after_a_reverted_remediation_has_its_window_start_there() {
    let log = reverted_then_drifted_again();
    let explanation = explain_latest(&log, DB);
    assert_eq!(explanation.first_seen.seq, 3);
    let start = explanation.last_clean.as_ref().expect("a window start");
    assert_eq!(start.seq, 2, "{explanation:#?}");
    assert_eq!(start.kind, "remediation");
    assert_eq!(start.result, "reverted");
    assert_eq!(start.applied.as_deref(), Some("update"));
    assert!(explanation.remediations.is_empty());
    let port = explanation
        .changes
        .iter()
        .find(|c| c.change.path == "port")
        .expect("the port's change");
    assert_eq!((port.first_seen, port.since_after), (3, Some(2)));

    let line = one_line(&explanation, Some(3));
    assert!(
        line.contains("last reverted 2026-11-24 00:02 UTC (record 2, run "),
        "{line}"
    );
    let full = text(&[explanation]);
    assert!(
        full.contains(
            "  last reverted       2026-11-24 00:02:00 UTC  record 2 (remediation reverted, \
             update of this resource) by alice"
        ),
        "{full}"
    );
    assert!(
        full.contains(
            "  so it drifted between 2026-11-24 00:02:00 UTC and 2026-11-24 00:03:00 UTC"
        ),
        "{full}"
    );

    // The replica it refused drifted all along: its window is not closed by the remediation,
    // which is listed inside it.
    let replica = explain_latest(&log, REPLICA);
    assert_eq!(replica.first_seen.seq, 0);
    assert_eq!(replica.last_clean, None);
    let listed: Vec<(u64, &str)> = replica
        .remediations
        .iter()
        .map(|r| (r.record.seq, r.outcome.as_str()))
        .collect();
    assert_eq!(listed, [(2, "reverted")]);
    assert_eq!(
        replica.remediations[0].refused.as_deref(),
        Some("the plan would replace it")
    );
}

#[test]
fn remediations_in_a_window_are_listed() {
    let log = Log::new(vec![
        scan(0, vec![]),
        scan(1, vec![db_drift(5433), drift_of(WEB)]),
        // The web server reverted (verified by 2), the database refused.
        scan(2, vec![db_drift(5433)]),
        Remediation {
            line: 4,
            acts_on: 1,
            outcome: RemediationOutcome::Reverted,
            changes: vec![planned(WEB)],
            refusals: vec![refusal(DB, "the plan would replace it")],
            verified_by: Some(2),
        }
        .at(3),
        // Another rule's attempt at the database failed.
        Remediation {
            line: 9,
            acts_on: 2,
            outcome: RemediationOutcome::Failed,
            changes: vec![db_revert(5433)],
            refusals: vec![],
            verified_by: None,
        }
        .at(4),
        scan(5, vec![db_drift(5433)]),
    ]);
    let explanation = explain_latest(&log, DB);
    assert_eq!(explanation.first_seen.seq, 1);
    assert_eq!(explanation.last_clean.as_ref().map(|r| r.seq), Some(0));
    assert!(explanation.applies.is_empty());
    let listed: Vec<(u64, &str, &str)> = explanation
        .remediations
        .iter()
        .map(|r| (r.record.seq, r.rule.as_str(), r.outcome.as_str()))
        .collect();
    assert_eq!(
        listed,
        [
            (3, ".driftlog.toml:4", "reverted"),
            (4, ".driftlog.toml:9", "failed")
        ]
    );
    assert_eq!(
        explanation.remediations[0].refused.as_deref(),
        Some("the plan would replace it")
    );
    assert_eq!(explanation.remediations[1].refused, None);

    let json = serde_json::to_value(&explanation).expect("JSON");
    assert_eq!(json["remediations"][1]["seq"], 4);
    assert_eq!(json["remediations"][1]["kind"], "remediation");
    assert_eq!(json["remediations"][1]["rule"], ".driftlog.toml:9");
    assert_eq!(json["remediations"][1]["outcome"], "failed");

    let line = one_line(&explanation, Some(5));
    assert!(
        line.ends_with("; no recorded apply in between; 2 remediations in between (records 3, 4)"),
        "{line}"
    );
    let full = text(&[explanation]);
    let lines = [
        "  remediations in between",
        "    2026-11-24 00:03:00 UTC  record 3 (remediation reverted) by alice via GitHub \
         Actions (drift), run https://github.com/acme/infra/actions/runs/103, commit \
         03cccccccccc; rule .driftlog.toml:4: reverted; refused this resource: the plan \
         would replace it",
        "    2026-11-24 00:04:00 UTC  record 4 (remediation failed) by alice via GitHub \
         Actions (drift), run https://github.com/acme/infra/actions/runs/104, commit \
         04cccccccccc; rule .driftlog.toml:9: failed",
    ];
    for line in lines {
        assert!(
            full.contains(&format!("{line}\n")),
            "{line}\nnot in\n{full}"
        );
    }
}
