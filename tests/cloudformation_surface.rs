//! CloudFormation stacks at driftlog's surface: annotations at the template's lines inside a
//! simulated Actions runner, `driftlog stacks`, `remediate` and `adopt` saying what they skip,
//! and the demo's scenario; through the real AWS CLI against the fake CloudFormation API.

use std::path::Path;

use fake_cloudformation::{FakeCloudFormation, ResourceSpec, Scenario, StackSpec};
use serde_json::{json, Value};

use crate::cloudformation::aws_env;
use crate::github::Runner;
use crate::support::{assert_contains, Stack};

const APP_TEMPLATE: &str = "\
AWSTemplateFormatVersion: '2010-09-09'
Resources:
  WebSg:
    Type: AWS::EC2::SecurityGroup
    Properties:
      GroupDescription: web
  Storage:
    Type: Acme::Storage::Bucket::MODULE
";

const API_TEMPLATE: &str = r#"{
  "Resources": {
    "Queue": {
      "Type": "AWS::SQS::Queue",
      "Properties": {"VisibilityTimeout": 30}
    }
  }
}
"#;

const CONFIG: &str = r#"
[[stacks]]
cloudformation = "app"
template = "cfn/app.yaml"

[[stacks]]
cloudformation = "api"
region = "us-east-1"
template = "cfn/api.json"

[[stacks]]
cloudformation = "plain"
"#;

fn drifted(logical_id: &str, resource_type: &str) -> ResourceSpec {
    ResourceSpec::new(logical_id, resource_type)
        .physical_id(logical_id.to_lowercase())
        .expected(json!({"Description": "as deployed"}))
        .actual(json!({"Description": "edited by hand"}))
}

fn fake_with_three_stacks() -> FakeCloudFormation {
    let fake = FakeCloudFormation::start().expect("fake");
    fake.add_stack(
        StackSpec::new("app")
            .template(APP_TEMPLATE)
            .resource(drifted("WebSg", "AWS::EC2::SecurityGroup"))
            // Made by the module `Storage` declares; the template has no `StorageBucket`.
            .resource(
                drifted("StorageBucket", "AWS::S3::Bucket")
                    .module("Acme::Storage::Bucket::MODULE", "Storage"),
            )
            // Deployed from a template the repository no longer has it in.
            .resource(drifted("Ghost", "AWS::SNS::Topic")),
    )
    .expect("app");
    fake.add_stack(
        StackSpec::new("api")
            .template(API_TEMPLATE)
            .resource(drifted("Queue", "AWS::SQS::Queue")),
    )
    .expect("api");
    fake.add_stack(
        StackSpec::new("plain")
            .template("Resources: {}\n")
            .resource(drifted("Topic", "AWS::SNS::Topic")),
    )
    .expect("plain");
    fake
}

/// The 1-based line of `file` that starts (after indentation) with `key:` or `"key":`.
fn line_of_key(file: &Path, key: &str) -> usize {
    let text = std::fs::read_to_string(file).expect("read template");
    text.lines()
        .position(|line| {
            let line = line.trim_start();
            line.starts_with(&format!("{key}:")) || line.starts_with(&format!("\"{key}\":"))
        })
        .map(|i| i + 1)
        .unwrap_or_else(|| panic!("no {key} in {}", file.display()))
}

fn annotation_of<'a>(stderr: &'a str, address: &str) -> &'a str {
    let title = format!("title=Drift%3A {address}::");
    stderr
        .lines()
        .find(|line| line.starts_with("::warning") && line.contains(&title))
        .unwrap_or_else(|| panic!("no annotation for {address} in:\n{stderr}"))
}

#[test]
fn drifted_resources_are_annotated_at_their_template_lines() {
    let fake = fake_with_three_stacks();
    let stack = Stack::new(&[
        (".driftlog.toml", CONFIG),
        ("cfn/app.yaml", APP_TEMPLATE),
        ("cfn/api.json", API_TEMPLATE),
    ]);
    let runner = Runner::around(stack, json!({ "schedule": "0 3 * * *" }));
    let mut env = runner.env();
    env.extend(aws_env(&fake));
    let run = runner
        .stack
        .driftlog_with_env(&runner.stack.root, &["scan", "--no-audit"], &env);
    assert_eq!(run.code, 2, "{}", run.stderr);

    let app = runner.stack.root.join("cfn/app.yaml");
    let api = runner.stack.root.join("cfn/api.json");
    let expect_at = |address: &str, file: &str, line: usize| {
        let annotation = annotation_of(&run.stderr, address);
        let place = format!("::warning file={file},line={line},");
        assert!(annotation.starts_with(&place), "{place} in {annotation}");
    };
    expect_at("WebSg", "cfn/app.yaml", line_of_key(&app, "WebSg"));
    // The module stands in for what it made, as a module call does for Terraform.
    expect_at(
        "StorageBucket",
        "cfn/app.yaml",
        line_of_key(&app, "Storage"),
    );
    expect_at("Queue", "cfn/api.json", line_of_key(&api, "Queue"));
    // Not in the template, or no template configured: on the run, as Terraform's would be.
    for address in ["Ghost", "Topic"] {
        let annotation = annotation_of(&run.stderr, address);
        assert!(!annotation.contains("file="), "{annotation}");
    }
    assert!(!run.stdout.contains("::warning"), "stdout keeps the report");
    // The scheduled run still reached GitHub: the drift issues were opened.
    assert!(
        !runner.fake.issues(crate::github::REPO).is_empty(),
        "{}",
        run.stderr
    );
}

#[test]
fn stacks_lists_cloudformation_stacks_with_their_settings() {
    let repo = Stack::new(&[
        ("infra/main.tf", "# a root module\n"),
        ("cfn/app.yaml", APP_TEMPLATE),
        (
            ".driftlog.toml",
            r#"
[[stacks]]
path = "infra"

[[stacks]]
cloudformation = "app"
region = "eu-west-1"
profile = "prod"
template = "cfn/app.yaml"

[[stacks]]
cloudformation = "plain"
name = "plain stack"
"#,
        ),
    ]);
    let list = repo.driftlog_in(&repo.root, &["stacks"]);
    assert_eq!(list.code, 0, "{}", list.stderr);
    assert_eq!(
        list.stdout.lines().collect::<Vec<_>>(),
        [
            "infra",
            "cloudformation/eu-west-1/app  cloudformation=app region=eu-west-1 profile=prod \
             template=cfn/app.yaml",
            "cloudformation/plain  name=\"plain stack\" cloudformation=plain",
        ]
    );

    let listed = repo.driftlog_in(&repo.root, &["stacks", "--format", "json"]);
    assert_eq!(listed.code, 0, "{}", listed.stderr);
    let listed: Value = serde_json::from_str(&listed.stdout).expect("JSON");
    let stacks = listed["stacks"].as_array().expect("stacks");
    assert_eq!(stacks.len(), 3);
    assert_eq!(stacks[0]["path"], "infra");
    assert!(stacks[0].get("cloudformation").is_none(), "{listed:#}");
    assert_eq!(stacks[1]["path"], "cloudformation/eu-west-1/app");
    assert_eq!(
        stacks[1]["cloudformation"],
        json!({"stack": "app", "region": "eu-west-1", "profile": "prod",
               "template": "cfn/app.yaml"})
    );
    assert_eq!(stacks[2]["name"], "plain stack");
    assert_eq!(
        stacks[2]["cloudformation"],
        json!({"stack": "plain", "region": null, "profile": null, "template": null})
    );
}

const RULES: &str = r#"
[[remediate]]
resource = "*"
action = "revert"
reason = "code is the truth"

[[remediate]]
resource = "*"
attribute = "tags"
action = "adopt"
reason = "tags follow the console"
"#;

fn count(text: &str, needle: &str) -> usize {
    text.matches(needle).count()
}

#[test]
fn remediate_and_adopt_say_they_skip_cloudformation_stacks() {
    let only_cloudformation = format!(
        "[[stacks]]\ncloudformation = \"app\"\nregion = \"eu-west-1\"\n\n\
         [[stacks]]\ncloudformation = \"api\"\n{RULES}"
    );
    let repo = Stack::new(&[(".driftlog.toml", &only_cloudformation)]);
    for (command, extra) in [("remediate", None), ("adopt", Some("--patch"))] {
        let args: Vec<&str> = [command].into_iter().chain(extra).collect();
        let run = repo.driftlog_in(&repo.root, &args);
        assert_eq!(run.code, 0, "a no-op: {}", run.stderr);
        for key in ["cloudformation/eu-west-1/app", "cloudformation/api"] {
            let skipped = format!(
                "driftlog: warning: skipping CloudFormation stack {key}: `driftlog {command}` \
                 does not support CloudFormation stacks yet"
            );
            assert_eq!(count(&run.stderr, &skipped), 1, "once each: {}", run.stderr);
        }
        assert_contains(
            &run.stderr,
            &format!(
                "driftlog: nothing to {command}: the only stacks configured are CloudFormation \
                 stacks"
            ),
        );
    }
    // Without rules too: the stacks, not the rules, are what is missing.
    std::fs::write(
        repo.root.join(".driftlog.toml"),
        "[[stacks]]\ncloudformation = \"app\"\n",
    )
    .expect("write config");
    let run = repo.driftlog_in(&repo.root, &["remediate", "--format", "json"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let result: Value = serde_json::from_str(&run.stdout).expect("JSON");
    assert_eq!(result["stacks"], json!([]));
    assert_contains(&run.stderr, "nothing to remediate");

    // Beside a Terraform stack: that one is still acted on, the other said skipped once.
    let mixed =
        format!("[[stacks]]\npath = \"infra\"\n\n[[stacks]]\ncloudformation = \"app\"\n{RULES}");
    let repo = Stack::new(&[
        ("infra/main.tf", "# a root module\n"),
        (".driftlog.toml", &mixed),
    ]);
    for (command, extra) in [("remediate", None), ("adopt", Some("--patch"))] {
        let args: Vec<&str> = [command].into_iter().chain(extra).collect();
        let run = repo.driftlog_in(&repo.root, &args);
        assert_eq!(
            count(
                &run.stderr,
                "skipping CloudFormation stack cloudformation/app"
            ),
            1,
            "{}",
            run.stderr
        );
        assert!(!run.stderr.contains("nothing to"), "{}", run.stderr);
        assert_contains(&format!("{}{}", run.stdout, run.stderr), "infra");
    }
}

/// The demo's CloudFormation stack (`scripts/demo.sh`), as the demo configures it.
const DEMO_CONFIG: &str = r#"
[[stacks]]
cloudformation = "demo-app"
region = "eu-west-1"
template = "cfn/app.yaml"
"#;

#[test]
fn the_demo_scenario_shows_drift_withholds_its_secret_and_lists_what_was_not_checked() {
    let examples = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/cloudformation");
    let text = std::fs::read_to_string(examples.join("scenario.json")).expect("scenario");
    let scenario: Scenario = serde_json::from_str(&text).expect("the fake reads the scenario");
    let template = std::fs::read_to_string(examples.join("app.yaml")).expect("template");
    assert_eq!(
        scenario.stacks[0].template, template,
        "the fake serves the template the demo's repository holds"
    );
    let secret = scenario.stacks[0]
        .parameters
        .iter()
        .find(|p| p.no_echo)
        .map(|p| p.value.clone())
        .expect("a NoEcho parameter");
    assert!(secret.contains("s3cr3t"), "the leak scan looks for it too");
    let demo = include_str!("../scripts/demo.sh");
    assert!(
        demo.contains("examples/cloudformation/scenario.json")
            && demo.contains("cloudformation = \"demo-app\""),
        "the demo serves this scenario and configures its stack"
    );

    let fake = FakeCloudFormation::start_with(scenario).expect("fake");
    let repo = Stack::new(&[(".driftlog.toml", DEMO_CONFIG), ("cfn/app.yaml", &template)]);
    let run = repo.driftlog_with_env(
        &repo.root,
        &["scan", "--no-audit", "--format", "json"],
        &aws_env(&fake),
    );
    assert_eq!(run.code, 2, "{}", run.stderr);
    let combined: Value = serde_json::from_str(&run.stdout).expect("JSON");
    let report = &combined["stacks"][0];
    assert_eq!(report["stack"]["dir"], "cloudformation/eu-west-1/demo-app");
    let resources = report["resources"].as_array().expect("resources");
    let resource = |address: &str| {
        resources
            .iter()
            .find(|r| r["address"] == address)
            .unwrap_or_else(|| panic!("no {address} in {report:#}"))
    };
    let ingress = &resource("AppSecurityGroup")["changes"][0];
    assert_eq!(ingress["path"], "SecurityGroupIngress[0].CidrIp");
    assert_eq!(
        ingress["after"],
        json!({"kind": "known", "value": "0.0.0.0/0"})
    );
    let password = &resource("AppDatabase")["changes"][0];
    assert_eq!(password["path"], "MasterUserPassword");
    assert_eq!(password["after"], json!({"kind": "sensitive"}));
    assert_eq!(report["not_checked"][0]["address"], "ReadyHandle");
    for text in [&run.stdout, &run.stderr] {
        assert!(!text.contains(&secret), "the NoEcho value leaked: {text}");
    }
}
