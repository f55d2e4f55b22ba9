//! Stacks keyed where they belong, and never reported clean when parts of them went
//! unchecked: regions from the stack's id, hostile nested listings (ids, cycles, depth),
//! endpoints whose pages or verdicts contradict themselves.

use fake_cloudformation::{FakeCloudFormation, ResourceSpec, StackSpec};
use serde_json::{json, Value};

use super::{driftlog, report_of, Run};

fn scan(fake: &FakeCloudFormation, cwd: &std::path::Path, name: &str, extra: &[&str]) -> Run {
    let mut args = vec![
        "scan",
        "--cloudformation",
        name,
        "--no-audit",
        "--format",
        "json",
    ];
    args.extend_from_slice(extra);
    driftlog(fake, cwd, &args)
}

/// Each stack's report, a single one or a combined report's.
fn stacks(report: &Value) -> Vec<&Value> {
    match report["stacks"].as_array() {
        Some(stacks) => stacks.iter().collect(),
        None => vec![report],
    }
}

fn keys(report: &Value) -> Vec<String> {
    stacks(report)
        .iter()
        .map(|s| s["stack"]["dir"].as_str().expect("dir").to_owned())
        .collect()
}

fn warnings(report: &Value) -> Vec<String> {
    report["diagnostics"]
        .as_array()
        .map(|all| {
            all.iter()
                .filter(|d| d["severity"] == "warning")
                .filter_map(|d| d["summary"].as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

fn not_scanned(report: &Value) -> Vec<(String, String)> {
    report["not_checked"]
        .as_array()
        .expect("not_checked")
        .iter()
        .filter(|n| n["status"] == "NOT_SCANNED")
        .map(|n| {
            (
                n["address"].as_str().expect("address").to_owned(),
                n["reason"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect()
}

fn failure_kind(report: &Value) -> Option<&str> {
    report["failure"]["kind"].as_str()
}

fn in_sync(id: &str) -> ResourceSpec {
    ResourceSpec::new(id, "AWS::SNS::Topic")
        .physical_id(format!("topic-{id}"))
        .expected(json!({"DisplayName": "a"}))
}

fn fake() -> FakeCloudFormation {
    let fake = FakeCloudFormation::start().expect("fake");
    fake.polls_in_progress(0);
    fake
}

#[test]
fn a_stack_without_a_region_is_keyed_by_the_region_its_id_names() {
    let fake = fake();
    fake.add_stack(
        StackSpec::new("app")
            .region("eu-west-1")
            .template("Resources: {}\n")
            .resource(in_sync("Topic"))
            .resource(ResourceSpec::nested_stack("Network", "app-Network-1")),
    )
    .expect("stack");
    fake.add_stack(
        StackSpec::new("app-Network-1")
            .region("eu-west-1")
            .template("Resources: {}\n")
            .resource(in_sync("Vpc")),
    )
    .expect("nested");
    let dir = tempfile::tempdir().expect("tempdir");
    let expected = [
        "cloudformation/eu-west-1/app",
        "cloudformation/eu-west-1/app/Network",
    ];
    // The environment says us-east-1; the stack's id says where it is.
    let run = scan(&fake, dir.path(), "app", &[]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let report = report_of(&run);
    assert_eq!(keys(&report), expected);
    assert_eq!(
        stacks(&report)[1]["stack"]["cloudformation"]["parent"]["stack"],
        "cloudformation/eu-west-1/app"
    );
    // Configured with its region, the same stack has the same key.
    let run = scan(&fake, dir.path(), "app", &["--region", "eu-west-1"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(keys(&report_of(&run)), expected);
    // Configured twice, with and without its region, it is one stack: refused, not mixed.
    std::fs::write(
        dir.path().join(".driftlog.toml"),
        "[[stacks]]\ncloudformation = \"app\"\n\n[[stacks]]\ncloudformation = \"app\"\n\
         region = \"eu-west-1\"\n",
    )
    .expect("write");
    let run = driftlog(
        &fake,
        dir.path(),
        &["scan", "--no-audit", "--format", "json"],
    );
    assert_eq!(run.code, 1);
    assert!(
        run.stderr.contains(
            "cloudformation/eu-west-1/app (workspace default) is in more than one report"
        ),
        "{}",
        run.stderr
    );
    std::fs::remove_file(dir.path().join(".driftlog.toml")).expect("remove");
    // With no id to read the region from, the key is the name's.
    let run = scan(&fake, dir.path(), "nope", &[]);
    assert_eq!(run.code, 1);
    assert_eq!(keys(&report_of(&run)), ["cloudformation/nope"]);
}

#[test]
fn nested_stacks_with_hostile_ids_cycles_or_repeats_are_not_scanned() {
    let fake = fake();
    fake.add_stack(
        StackSpec::new("app")
            .template("Resources: {}\n")
            .resource(in_sync("Topic"))
            .resource(ResourceSpec::nested_stack("..", "child"))
            .resource(ResourceSpec::nested_stack("a/b", "child"))
            .resource(ResourceSpec::nested_stack("B", "loop-b"))
            .resource(ResourceSpec::nested_stack("Again", "loop-b")),
    )
    .expect("stack");
    fake.add_stack(
        StackSpec::new("child")
            .template("Resources: {}\n")
            .resource(in_sync("T")),
    )
    .expect("child");
    fake.add_stack(
        StackSpec::new("loop-b")
            .template("Resources: {}\n")
            .resource(in_sync("T"))
            .resource(ResourceSpec::nested_stack("Up", "app")),
    )
    .expect("loop");
    let dir = tempfile::tempdir().expect("tempdir");
    let run = scan(&fake, dir.path(), "app", &[]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let report = report_of(&run);
    // `B` once, under its first logical id; `Up` is `app` itself.
    assert_eq!(
        keys(&report),
        [
            "cloudformation/us-east-1/app",
            "cloudformation/us-east-1/app/B"
        ]
    );
    assert_eq!(fake.requests_for("DetectStackDrift").len(), 2);
    let app = stacks(&report)[0];
    let unscanned: Vec<String> = not_scanned(app).into_iter().map(|(a, _)| a).collect();
    assert_eq!(unscanned, ["..", "a/b"]);
    let app_warnings = warnings(app).join("\n");
    assert!(app_warnings.contains("not alphanumeric"), "{app_warnings}");
    assert!(
        app_warnings.contains("Again was not scanned again"),
        "{app_warnings}"
    );
    let loop_warnings = warnings(stacks(&report)[1]).join("\n");
    assert!(
        loop_warnings.contains(
            "Up was not scanned again: it is the stack scanned as cloudformation/us-east-1/app"
        ),
        "{loop_warnings}"
    );
}

#[test]
fn nested_stacks_beyond_the_depth_limit_are_listed_not_checked() {
    let fake = fake();
    let levels = 10;
    for level in 0..levels {
        let mut stack = StackSpec::new(format!("n{level}"))
            .template("Resources: {}\n")
            .resource(in_sync("Topic"));
        if level + 1 < levels {
            stack = stack.resource(ResourceSpec::nested_stack(
                "Next",
                format!("n{}", level + 1),
            ));
        }
        fake.add_stack(stack).expect("stack");
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let run = scan(&fake, dir.path(), "n0", &[]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let report = report_of(&run);
    // The root and 8 levels below it.
    assert_eq!(stacks(&report).len(), 9);
    let deepest = format!("cloudformation/us-east-1/n0{}", "/Next".repeat(8));
    let last = stacks(&report)
        .into_iter()
        .find(|s| s["stack"]["dir"] == deepest.as_str())
        .unwrap_or_else(|| panic!("no {deepest} in {report:#}"));
    let unscanned = not_scanned(last);
    assert_eq!(unscanned.len(), 1, "{last:#}");
    assert_eq!(unscanned[0].0, "Next");
    assert!(unscanned[0].1.contains("8 levels"), "{}", unscanned[0].1);
    assert_eq!(last["summary"]["not_checked"], 1);
    assert!(warnings(last).join("\n").contains("was not scanned"));
}

#[test]
fn a_stack_none_of_whose_resources_could_be_checked_is_not_clean() {
    let fake = fake();
    fake.add_stack(
        StackSpec::new("opaque")
            .template("Resources: {}\n")
            .resource(
                ResourceSpec::new("Wait", "AWS::CloudFormation::WaitConditionHandle")
                    .drift_unsupported(),
            )
            .resource(in_sync("Topic").unknown("Rate exceeded")),
    )
    .expect("stack");
    fake.add_stack(StackSpec::new("empty").template("Resources: {}\n"))
        .expect("stack");
    let dir = tempfile::tempdir().expect("tempdir");
    let run = scan(&fake, dir.path(), "opaque", &[]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    let report = report_of(&run);
    assert_eq!(report["status"], "failed");
    assert_eq!(failure_kind(&report), Some("nothing_checked"));
    assert_eq!(report["summary"]["checked"], 0);
    assert_eq!(report["summary"]["not_checked"], 2);
    // A stack with no resources at all has nothing left unchecked: clean, as before.
    let run = scan(&fake, dir.path(), "empty", &[]);
    assert_eq!(run.code, 0, "{}", run.stderr);
}

#[test]
fn a_page_token_given_twice_stops_the_reading() {
    let fake = fake();
    fake.add_stack(
        StackSpec::new("app")
            .template("Resources: {}\n")
            .resource(in_sync("Topic")),
    )
    .expect("stack");
    fake.repeat_drift_page_token(true);
    let dir = tempfile::tempdir().expect("tempdir");
    let run = scan(&fake, dir.path(), "app", &[]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    let report = report_of(&run);
    assert_eq!(failure_kind(&report), Some("aws_output"));
    assert!(report["failure"]["message"]
        .as_str()
        .is_some_and(|m| m.contains("same page token twice")));
    assert_eq!(fake.requests_for("DescribeStackResourceDrifts").len(), 2);
}

#[test]
fn a_detection_that_says_drifted_without_drifted_results_is_not_clean() {
    let fake = fake();
    fake.add_stack(
        StackSpec::new("calm")
            .template("Resources: {}\n")
            .resource(in_sync("Topic")),
    )
    .expect("stack");
    fake.report_stack_drift_status("calm", Some("DRIFTED"));
    let dir = tempfile::tempdir().expect("tempdir");
    let run = scan(&fake, dir.path(), "calm", &[]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    let report = report_of(&run);
    assert_eq!(failure_kind(&report), Some("drift_unconfirmed"));
    assert!(
        warnings(&report).join("\n").contains("DRIFTED"),
        "{report:#}"
    );

    // The other way round the drift read is the evidence: reported, with a warning.
    fake.add_stack(
        StackSpec::new("moved")
            .template("Resources: {}\n")
            .resource(in_sync("Topic").actual(json!({"DisplayName": "b"}))),
    )
    .expect("stack");
    fake.report_stack_drift_status("moved", Some("IN_SYNC"));
    let run = scan(&fake, dir.path(), "moved", &[]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(warnings(&report_of(&run)).join("\n").contains("IN_SYNC"));
}

#[test]
fn a_terraform_directory_under_cloudformation_is_refused() {
    let fake = fake();
    let dir = tempfile::tempdir().expect("tempdir");
    let stack = dir.path().join("cloudformation/legacy");
    std::fs::create_dir_all(&stack).expect("mkdir");
    std::fs::write(stack.join("main.tf"), "").expect("write");
    let run = driftlog(
        &fake,
        dir.path(),
        &["scan", "cloudformation/legacy", "--no-audit"],
    );
    assert_eq!(run.code, 1);
    assert!(
        run.stderr.contains("cannot be under `cloudformation/`"),
        "{}",
        run.stderr
    );
}
