use super::*;
use crate::audit::record::sample_record;
use crate::context::{GithubActions, Local, RunContext};
use crate::drift::{Action, AttrValue, DriftedResource, Status};
use crate::notify::Transition;

fn drift() -> Vec<DriftedResource> {
    vec![DriftedResource::test(
        "aws_s3_bucket.logs",
        Action::Update,
        [(
            "acl",
            AttrValue::Known("private".into()),
            AttrValue::Known("public-read".into()),
        )],
    )]
}

/// A scan record at `seq` on `git_ref` (a pull request's when `pr`), drifted or clean.
fn scan(seq: u64, context: RunContext, drifted: bool) -> LogEntry {
    let mut record = sample_record("infra/prod");
    record.seq = seq;
    record.context = context;
    record.result = match drifted {
        true => RecordResult::Drifted,
        false => RecordResult::Clean,
    };
    record.resources = if drifted { drift() } else { Vec::new() };
    LogEntry {
        record,
        record_sha256: String::new(),
        commit: None,
        path: String::new(),
    }
}

fn actions(git_ref: &str, pull_request: Option<u64>) -> RunContext {
    RunContext::GithubActions(GithubActions {
        git_ref: Some(git_ref.into()),
        pull_request,
        ..Default::default()
    })
}

fn main_branch() -> RunContext {
    actions("refs/heads/main", None)
}

fn transition(entries: &[LogEntry], index: usize) -> Option<Transition> {
    let mut report = ScanReport::test("infra/prod", Status::Clean);
    if entries[index].record.result == RecordResult::Drifted {
        report.status = Status::Drifted;
        report.resources = drift();
    }
    notify::transition::of(&report, previous_scan(entries, index).as_ref())
}

#[test]
fn scans_of_pull_requests_other_branches_and_laptops_never_flip_the_default_branchs_state() {
    let entries = vec![
        scan(0, main_branch(), true),
        // The pull request fixes the drift in its code: clean, on its own line.
        scan(1, actions("refs/pull/7/merge", Some(7)), false),
        scan(2, main_branch(), true),
        scan(3, actions("refs/heads/feature", None), false),
        scan(4, RunContext::Local(Local::default()), false),
        scan(5, main_branch(), true),
        scan(6, main_branch(), false),
    ];
    assert_eq!(transition(&entries, 0), Some(Transition::Drifted));
    assert!(
        entries[1].record.context.pull_request().is_some(),
        "sends nothing itself"
    );
    assert_eq!(transition(&entries, 2), None, "the same drift on main");
    assert_eq!(
        transition(&entries, 3),
        None,
        "a branch's first scan, clean"
    );
    assert_eq!(
        transition(&entries, 4),
        None,
        "a laptop's first scan, clean"
    );
    assert_eq!(transition(&entries, 5), None, "main's drift still the same");
    assert_eq!(transition(&entries, 6), Some(Transition::Resolved));
    assert_eq!(previous_scan(&entries, 6).map(|p| p.seq), Some(5));
    assert!(entries[0].record.context.pull_request().is_none());
}

#[test]
fn a_resource_the_engine_could_not_check_keeps_its_drift_neither_resolved_nor_new() {
    let unchecked = |seq| {
        let mut entry = scan(seq, main_branch(), false);
        entry.record.not_checked = vec![crate::drift::NotChecked {
            address: "aws_s3_bucket.logs".into(),
            resource_type: "AWS::S3::Bucket".into(),
            status: "NOT_CHECKED".into(),
            reason: Some("the drift check failed".into()),
        }];
        entry
    };
    let entries = vec![
        scan(0, main_branch(), true),
        unchecked(1),
        unchecked(2),
        scan(3, main_branch(), true),
        scan(4, main_branch(), false),
    ];
    let of = |index: usize| {
        let record = &entries[index].record;
        let mut report = ScanReport::test("infra/prod", Status::Clean);
        report.not_checked = record.not_checked.clone();
        if record.result == RecordResult::Drifted {
            report.status = Status::Drifted;
            report.resources = drift();
        }
        notify::transition::of(&report, previous_scan(&entries, index).as_ref())
    };
    assert_eq!(of(0), Some(Transition::Drifted));
    assert_eq!(of(1), None, "not checked is not resolved");
    assert_eq!(of(2), None, "nor twice");
    assert_eq!(of(3), None, "checked again, the same drift is not new");
    assert_eq!(of(4), Some(Transition::Resolved));
}

fn receivers(urls: &[&str]) -> Vec<(NotifyRule, Result<Target, NotifyError>)> {
    urls.iter()
        .enumerate()
        .map(|(at, url)| {
            let rule = NotifyRule {
                kind: notify::Kind::Webhook,
                url_env: format!("HOOK_{at}"),
                secret_env: None,
                on: Transition::ALL.to_vec(),
                stacks: None,
                line: at + 1,
            };
            let target =
                Target::from_env(rule.kind, &rule.url_env, None, |_| Some((*url).to_owned()));
            (rule, target)
        })
        .collect()
}

#[test]
fn a_receiver_that_failed_is_not_tried_again_in_the_run_and_the_deadline_stops_the_rest() {
    let targets = receivers(&["https://dead.example/hook", "https://alive.example/hook"]);
    let calls = std::cell::RefCell::new(Vec::new());
    let send = |target: &Target, _: &Notification| {
        calls.borrow_mut().push(target.label.clone());
        match target.url.expose().contains("dead") {
            true => Err(NotifyError::NotDelivered {
                label: target.label.clone(),
                why: "no answer within 10 s".into(),
                attempts: 4,
            }),
            false => Ok(Delivered {
                attempts: 1,
                status: 200,
            }),
        }
    };
    let mut sending = Sending::new(&targets, &send);
    let mut message = Notification::sample("2026-12-04T00:00:00Z");
    message.stack = "infra/one\n::warning::forged".into();
    let first = sending.one(0, &message).expect_err("dead");
    assert!(
        first.contains("no answer within 10 s (4 attempts)"),
        "{first}"
    );
    assert!(!first.contains('\n'), "a path never starts a line: {first}");
    assert!(first.contains(r"infra/one\n::warning::forged"), "{first}");
    let again = sending.one(0, &message).expect_err("given up");
    assert!(
        again.ends_with("webhook (HOOK_0) failed earlier in this run"),
        "{again}"
    );
    assert!(sending.one(1, &message).is_ok());
    assert_eq!(*calls.borrow(), ["webhook (HOOK_0)", "webhook (HOOK_1)"]);

    sending.deadline = std::time::Instant::now() - std::time::Duration::from_secs(1);
    let late = sending.one(1, &message).expect_err("past the deadline");
    assert!(late.contains("ran past its 120 s"), "{late}");
    assert_eq!(calls.borrow().len(), 2, "nothing sent past the deadline");
}
