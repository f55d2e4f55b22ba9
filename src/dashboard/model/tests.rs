use super::*;
use crate::audit::record::sample_record;
use crate::context::{GithubActions, RunContext};
use crate::drift::{Action, AttrValue, DriftedResource};

fn bucket(attribute: &str) -> DriftedResource {
    let mut resource = DriftedResource::test(
        "aws_s3_bucket.logs",
        Action::Update,
        [(
            attribute,
            AttrValue::Known("a".into()),
            AttrValue::Known("b".into()),
        )],
    );
    resource.resource_type = "aws_s3_bucket".into();
    resource
}

fn entry(
    seq: u64,
    path: &str,
    hour: u32,
    result: RecordResult,
    resources: Vec<DriftedResource>,
) -> LogEntry {
    let mut record = sample_record(path);
    record.seq = seq;
    record.time = format!("2026-11-24T{hour:02}:00:00Z");
    record.result = result;
    record.resources = resources;
    LogEntry {
        record,
        record_sha256: String::new(),
        commit: None,
        path: String::new(),
    }
}

fn log() -> Vec<LogEntry> {
    let mut pull_request = entry(3, "infra/prod", 3, RecordResult::Clean, Vec::new());
    pull_request.record.context = RunContext::GithubActions(GithubActions {
        pull_request: Some(7),
        ..Default::default()
    });
    let mut apply = entry(5, "infra/prod", 5, RecordResult::Applied, Vec::new());
    apply.record.kind = RecordKind::Apply;
    vec![
        entry(0, "infra/prod", 0, RecordResult::Clean, Vec::new()),
        entry(
            1,
            "infra/prod",
            1,
            RecordResult::Drifted,
            vec![bucket("acl")],
        ),
        entry(
            2,
            "infra/dev",
            1,
            RecordResult::Drifted,
            vec![bucket("acl"), bucket("tags.env")],
        ),
        pull_request,
        entry(4, "infra/prod", 4, RecordResult::Failed, Vec::new()),
        apply,
        entry(6, "infra/prod", 6, RecordResult::Clean, Vec::new()),
        entry(
            7,
            "infra/prod",
            7,
            RecordResult::Drifted,
            vec![bucket("policy")],
        ),
    ]
}

fn stack<'a>(timeline: &'a Timeline, path: &str) -> &'a StackTimeline {
    timeline
        .stacks
        .iter()
        .find(|s| s.stack.path == path)
        .expect("the stack")
}

#[test]
fn episodes_run_from_first_seen_to_clean_through_failures_and_pull_requests() {
    let timeline = Timeline::of(&log());
    let prod = stack(&timeline, "infra/prod");
    assert_eq!(prod.events.len(), 7);
    assert_eq!(prod.episodes.len(), 2);
    let first = &prod.episodes[0];
    assert_eq!((first.from_seq, first.to_seq), (1, Some(6)));
    // A pull request's clean scan and a failed scan do not end it.
    assert_eq!(first.seconds, Some(5 * 3600));
    assert_eq!(prod.episodes[1].to_seq, None, "open now");
    assert_eq!(prod.open, ["aws_s3_bucket.logs"]);
    assert_eq!(prod.status, Some(RecordResult::Drifted));
    assert_eq!(timeline.records, 8);
    assert_eq!(timeline.first.as_deref(), Some("2026-11-24T00:00:00Z"));
    assert_eq!(timeline.last.as_deref(), Some("2026-11-24T07:00:00Z"));
}

#[test]
fn the_trend_is_the_last_scans_of_the_stack_failures_as_gaps() {
    let timeline = Timeline::of(&log());
    let prod = stack(&timeline, "infra/prod");
    assert_eq!(
        prod.drift_trend(30),
        [
            (0, Some(0)),
            (1, Some(1)),
            (4, None),
            (6, Some(0)),
            (7, Some(1))
        ]
    );
    assert_eq!(prod.drift_trend(2), [(6, Some(0)), (7, Some(1))]);
    assert_eq!(
        stack(&timeline, "infra/dev").drift_trend(30),
        [(2, Some(2))]
    );
}

#[test]
fn hotspots_count_scans_per_type_and_attribute_most_first() {
    let timeline = Timeline::of(&log());
    let top = &timeline.hotspots[0];
    assert_eq!(
        (
            top.resource_type.as_str(),
            top.attribute.as_deref(),
            top.scans
        ),
        ("aws_s3_bucket", Some("acl"), 2)
    );
    assert_eq!(timeline.hotspots.len(), 3);
    assert!(timeline.hotspots[1..].iter().all(|h| h.scans == 1));
}

#[test]
fn an_empty_log_has_no_stacks() {
    let timeline = Timeline::of(&[]);
    assert!(timeline.stacks.is_empty());
    assert_eq!(timeline.first, None);
}
