//! CloudFormation stacks through the real AWS CLI (`target/driftlog-tools/bin/aws`) against
//! a stateful fake of CloudFormation's API on loopback (`fake-cloudformation`), which speaks
//! its query protocol and XML: what a user runs, with only AWS itself replaced.

use std::path::Path;
use std::process::Command;

use fake_cloudformation::{FakeCloudFormation, ResourceSpec, StackSpec};
use serde_json::{json, Value};

use crate::support::tools;

/// Keys, nested-stack limits and results that cannot vouch for a stack.
mod robust;

/// Every test secret contains `s3cr3t`: the leak scan looks for it in all that ran.
const DB_PASSWORD: &str = "s3cr3t-cfn-db-password";
const API_KEY: &str = "s3cr3t-cfn-api-key";

pub(crate) struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

/// The real AWS CLI's environment pointed at `fake`, with dummy credentials and no profile
/// files; `DRIFTLOG_AWS_BIN` names the CLI.
pub(crate) fn aws_env(fake: &FakeCloudFormation) -> Vec<(String, String)> {
    let aws = tools().bin_dir.join("aws");
    assert!(
        aws.is_file(),
        "the AWS CLI is missing from {}: run `bash scripts/setup-test-env.sh`",
        aws.display()
    );
    [
        ("AWS_ENDPOINT_URL", fake.url().to_owned()),
        ("AWS_ACCESS_KEY_ID", "testing".to_owned()),
        ("AWS_SECRET_ACCESS_KEY", "testing".to_owned()),
        ("AWS_DEFAULT_REGION", "us-east-1".to_owned()),
        ("AWS_CONFIG_FILE", "/dev/null".to_owned()),
        ("AWS_SHARED_CREDENTIALS_FILE", "/dev/null".to_owned()),
        ("DRIFTLOG_AWS_BIN", aws.display().to_string()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect()
}

pub(crate) fn driftlog(fake: &FakeCloudFormation, cwd: &Path, args: &[&str]) -> Run {
    let env = aws_env(fake);
    let mut command = Command::new(env!("CARGO_BIN_EXE_driftlog"));
    command.args(args).current_dir(cwd);
    crate::support::terraform_env(&mut command);
    command.envs(env.iter().map(|(k, v)| (k, v)));
    let out = command.output().expect("run driftlog");
    crate::capture::run(args, cwd, &env, &out.stdout, &out.stderr);
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

const TEMPLATE: &str = r#"
Parameters:
  DbPassword:
    Type: String
    NoEcho: true
Resources:
  WebSg:
    Type: AWS::EC2::SecurityGroup
    Properties:
      GroupDescription: web
      Tags:
        - Key: env
          Value: prod
  Db:
    Type: AWS::RDS::DBInstance
    Properties:
      MasterUserPassword: !Ref DbPassword
      AllocatedStorage: "20"
  Fn:
    Type: AWS::Lambda::Function
    Properties:
      Environment:
        Variables:
          API_KEY: '{{resolve:secretsmanager:api-key}}'
          MODE: live
  Queue:
    Type: AWS::SQS::Queue
  Wait:
    Type: AWS::CloudFormation::WaitConditionHandle
"#;

fn app_stack() -> StackSpec {
    StackSpec::new("app")
        .template(TEMPLATE)
        .no_echo_parameter("DbPassword", DB_PASSWORD)
        .resource(
            ResourceSpec::new("WebSg", "AWS::EC2::SecurityGroup")
                .physical_id("sg-0abc")
                .expected(json!({"GroupDescription": "web",
                                 "Tags": [{"Key": "env", "Value": "prod"}]}))
                .actual(json!({"GroupDescription": "web",
                               "Tags": [{"Key": "env", "Value": "staging"}]})),
        )
        .resource(
            ResourceSpec::new("Db", "AWS::RDS::DBInstance")
                .physical_id("app-db")
                .expected(json!({"MasterUserPassword": DB_PASSWORD, "AllocatedStorage": "20"}))
                .actual(json!({"MasterUserPassword": format!("{DB_PASSWORD}-rotated"),
                               "AllocatedStorage": "20"})),
        )
        .resource(
            ResourceSpec::new("Fn", "AWS::Lambda::Function")
                .physical_id("app-fn")
                .expected(json!({"Environment": {"Variables": {"API_KEY": API_KEY, "MODE": "live"}}}))
                .actual(json!({"Environment": {"Variables": {"API_KEY": format!("{API_KEY}-2"), "MODE": "test"}}})),
        )
        .resource(ResourceSpec::new("Queue", "AWS::SQS::Queue").physical_id("q").deleted())
        .resource(
            ResourceSpec::new("Wait", "AWS::CloudFormation::WaitConditionHandle")
                .physical_id("w")
                .drift_unsupported(),
        )
}

/// `driftlog scan --cloudformation NAME --no-audit --format json` in `cwd`.
fn scan_json(fake: &FakeCloudFormation, cwd: &Path, name: &str) -> Run {
    let args = [
        "scan",
        "--cloudformation",
        name,
        "--no-audit",
        "--format",
        "json",
    ];
    driftlog(fake, cwd, &args)
}

pub(crate) fn report_of(run: &Run) -> Value {
    serde_json::from_str(&run.stdout)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {}\n{}", run.stdout, run.stderr))
}

fn changes(report: &Value, address: &str) -> Vec<(String, Value, Value)> {
    let resource = report["resources"]
        .as_array()
        .expect("resources")
        .iter()
        .find(|r| r["address"] == address)
        .unwrap_or_else(|| panic!("no {address} in {report:#}"));
    resource["changes"]
        .as_array()
        .expect("changes")
        .iter()
        .map(|c| {
            (
                c["path"].as_str().expect("path").to_owned(),
                c["before"].clone(),
                c["after"].clone(),
            )
        })
        .collect()
}

#[test]
fn drift_is_read_down_to_the_property_and_secrets_never_show() {
    let fake = FakeCloudFormation::start().expect("fake");
    fake.add_stack(app_stack()).expect("stack");
    let dir = tempfile::tempdir().expect("tempdir");
    let run = scan_json(&fake, dir.path(), "app");
    assert_eq!(run.code, 2, "drift exits 2: {}", run.stderr);
    let report = report_of(&run);
    // Keyed by the region the stack's id names, though none was configured.
    assert_eq!(report["stack"]["dir"], "cloudformation/us-east-1/app");
    assert_eq!(report["stack"]["cloudformation"]["account"], "123456789012");
    assert_eq!(report["stack"]["cloudformation"]["region"], "us-east-1");
    assert_eq!(report["tool"]["name"], "cloudformation");
    assert_eq!(
        changes(&report, "WebSg"),
        [(
            "Tags[0].Value".to_owned(),
            json!({"kind": "known", "value": "prod"}),
            json!({"kind": "known", "value": "staging"})
        )]
    );
    let sensitive = json!({"kind": "sensitive"});
    for (path, before, after) in changes(&report, "Db") {
        assert_eq!(path, "MasterUserPassword");
        assert_eq!((before, after), (sensitive.clone(), sensitive.clone()));
    }
    let function = changes(&report, "Fn");
    let api_key = function
        .iter()
        .find(|(path, ..)| path == "Environment.Variables.API_KEY")
        .expect("API_KEY drifted");
    assert_eq!((&api_key.1, &api_key.2), (&sensitive, &sensitive));
    let mode = function
        .iter()
        .find(|(path, ..)| path == "Environment.Variables.MODE")
        .expect("MODE drifted");
    assert_eq!(mode.2, json!({"kind": "known", "value": "test"}));
    let deleted = report["resources"]
        .as_array()
        .expect("resources")
        .iter()
        .find(|r| r["address"] == "Queue")
        .expect("Queue");
    assert_eq!(deleted["action"], "delete");
    assert_eq!(report["not_checked"][0]["address"], "Wait");
    assert_eq!(report["summary"]["not_checked"], 1);
    for text in [&run.stdout, &run.stderr] {
        assert!(!text.contains("s3cr3t"), "a secret leaked: {text}");
    }

    // The terminal report says what was not checked.
    let run = driftlog(
        &fake,
        dir.path(),
        &["scan", "--cloudformation", "app", "--no-audit"],
    );
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(
        run.stdout.contains("Not checked for drift"),
        "{}",
        run.stdout
    );
    assert!(!run.stdout.contains("s3cr3t") && !run.stderr.contains("s3cr3t"));
}

#[test]
fn a_missing_stack_denied_calls_and_unsettled_stacks_fail_with_their_kind() {
    let fake = FakeCloudFormation::start().expect("fake");
    fake.add_stack(app_stack()).expect("stack");
    fake.add_stack(
        StackSpec::new("busy")
            .status("UPDATE_IN_PROGRESS")
            .template("Resources: {}\n"),
    )
    .expect("stack");
    let dir = tempfile::tempdir().expect("tempdir");
    let kind = |run: &Run| {
        report_of(run)["failure"]["kind"]
            .as_str()
            .map(str::to_owned)
    };
    let scan = |name: &str| scan_json(&fake, dir.path(), name);

    let run = scan("nope");
    assert_eq!(run.code, 1);
    assert_eq!(kind(&run).as_deref(), Some("stack_not_found"));

    let run = scan("busy");
    assert_eq!(run.code, 1);
    assert_eq!(kind(&run).as_deref(), Some("stack_not_checkable"));
    assert!(report_of(&run)["failure"]["message"]
        .as_str()
        .is_some_and(|m| m.contains("UPDATE_IN_PROGRESS")));

    fake.deny("DetectStackDrift");
    let run = scan("app");
    assert_eq!(run.code, 1);
    assert_eq!(kind(&run).as_deref(), Some("access_denied"));
    assert!(report_of(&run)["failure"]["message"]
        .as_str()
        .is_some_and(|m| m.contains("cloudformation:DetectStackDrift")));
    fake.allow("DetectStackDrift");

    // A failed detection stays failed, but what it did check is read and listed.
    fake.fail_detection("app", Some("Failed to detect drift on resource [Db]"));
    let run = scan("app");
    assert_eq!(run.code, 1);
    assert_eq!(kind(&run).as_deref(), Some("detection_failed"));
    let report = report_of(&run);
    assert!(report["failure"]["message"]
        .as_str()
        .is_some_and(|m| m.contains("[Db]")));
    assert_eq!(report["status"], "failed");
    let drifted: Vec<&str> = report["resources"]
        .as_array()
        .expect("resources")
        .iter()
        .filter_map(|r| r["address"].as_str())
        .collect();
    assert!(drifted.contains(&"WebSg"), "{report:#}");
    fake.fail_detection("app", None);

    // Throttled twice, then answered: retried with backoff, and the scan goes on.
    fake.throttle("DescribeStackResourceDrifts", 2);
    fake.clear_requests();
    let run = scan("app");
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert_eq!(fake.requests_for("DescribeStackResourceDrifts").len(), 3);
}

#[test]
fn drift_results_are_read_over_every_page_and_nested_stacks_are_stacks() {
    let fake = FakeCloudFormation::start().expect("fake");
    let mut big = StackSpec::new("big").template("Resources: {}\n");
    for i in 0..150 {
        big = big.resource(
            ResourceSpec::new(format!("Topic{i:03}"), "AWS::SNS::Topic")
                .physical_id(format!("t{i}"))
                .expected(json!({"DisplayName": "a"}))
                .actual(json!({"DisplayName": "b"})),
        );
    }
    big = big.resource(ResourceSpec::nested_stack("Network", "big-Network-1ABC"));
    fake.add_stack(big).expect("stack");
    fake.add_stack(
        StackSpec::new("big-Network-1ABC")
            .template("Resources: {}\n")
            .resource(
                ResourceSpec::new("Vpc", "AWS::EC2::VPC")
                    .physical_id("vpc-1")
                    .expected(json!({"CidrBlock": "10.0.0.0/16"}))
                    .actual(json!({"CidrBlock": "10.1.0.0/16"})),
            ),
    )
    .expect("nested");
    let dir = tempfile::tempdir().expect("tempdir");
    let run = scan_json(&fake, dir.path(), "big");
    assert_eq!(run.code, 2, "{}", run.stderr);
    let report = report_of(&run);
    let stacks = report["stacks"].as_array().expect("a combined report");
    let by_dir = |dir: &str| {
        stacks
            .iter()
            .find(|s| s["stack"]["dir"] == dir)
            .unwrap_or_else(|| panic!("no {dir} in {report:#}"))
    };
    assert_eq!(
        by_dir("cloudformation/us-east-1/big")["summary"]["drifted"],
        150
    );
    let nested = by_dir("cloudformation/us-east-1/big/Network");
    assert_eq!(nested["summary"]["drifted"], 1);
    assert_eq!(
        nested["stack"]["cloudformation"]["parent"]["logical_id"],
        "Network"
    );
    assert_eq!(fake.requests_for("DescribeStackResourceDrifts").len(), 3);
}

const PARENT_TEMPLATE: &str = r#"
Parameters:
  DbPassword:
    Type: String
    NoEcho: true
Resources:
  Data:
    Type: AWS::CloudFormation::Stack
    Properties:
      TemplateURL: https://s3.amazonaws.com/templates/data.yaml
      Parameters:
        Password: !Ref DbPassword
        Name: app
"#;

/// The nested stack does not declare `Password` NoEcho: only its parent says it is a secret.
const CHILD_TEMPLATE: &str = r#"
Parameters:
  Password:
    Type: String
  Name:
    Type: String
Resources:
  Db:
    Type: AWS::RDS::DBInstance
    Properties:
      MasterUserPassword: !Ref Password
      DBName: !Ref Name
"#;

const NESTED_PASSWORD: &str = "s3cr3t-cfn-nested-password";
/// A property of a resource the template no longer declares.
const GHOST_TOKEN: &str = "s3cr3t-cfn-ghost-token";

#[test]
fn a_secret_a_parent_passes_a_nested_stack_never_shows() {
    let fake = FakeCloudFormation::start().expect("fake");
    fake.add_stack(
        StackSpec::new("app")
            .template(PARENT_TEMPLATE)
            .no_echo_parameter("DbPassword", NESTED_PASSWORD)
            .resource(ResourceSpec::nested_stack("Data", "app-Data-1XYZ")),
    )
    .expect("parent");
    fake.add_stack(
        StackSpec::new("app-Data-1XYZ")
            .template(CHILD_TEMPLATE)
            .parameter("Password", NESTED_PASSWORD)
            .parameter("Name", "app")
            .resource(
                ResourceSpec::new("Db", "AWS::RDS::DBInstance")
                    .physical_id("app-db")
                    .expected(json!({"MasterUserPassword": NESTED_PASSWORD, "DBName": "app"}))
                    .actual(
                        json!({"MasterUserPassword": format!("{NESTED_PASSWORD}-rotated"),
                                   "DBName": "app2"}),
                    ),
            )
            .resource(
                ResourceSpec::new("Ghost", "AWS::SSM::Parameter")
                    .physical_id("ghost")
                    .expected(json!({"Value": GHOST_TOKEN}))
                    .actual(json!({"Value": format!("{GHOST_TOKEN}-2")})),
            ),
    )
    .expect("nested");
    let dir = tempfile::tempdir().expect("tempdir");
    let scan = |name: &str, format: &[&str]| {
        let mut args = vec!["scan", "--cloudformation", name, "--no-audit"];
        args.extend(format);
        let run = driftlog(&fake, dir.path(), &args);
        assert_eq!(run.code, 2, "drift exits 2: {}", run.stderr);
        for text in [&run.stdout, &run.stderr] {
            assert!(!text.contains("s3cr3t"), "a secret leaked: {text}");
        }
        run
    };
    let sensitive = json!({"kind": "sensitive"});

    let report = report_of(&scan("app", &["--format", "json"]));
    let nested = report["stacks"]
        .as_array()
        .expect("a combined report")
        .iter()
        .find(|s| s["stack"]["dir"] == "cloudformation/us-east-1/app/Data")
        .unwrap_or_else(|| panic!("no nested stack in {report:#}"))
        .clone();
    let changes_of = |report: &Value, address: &str| {
        let mut changes = changes(report, address);
        changes.sort_by(|a, b| a.0.cmp(&b.0));
        changes
    };
    assert_eq!(
        changes_of(&nested, "Db"),
        [
            (
                "DBName".to_owned(),
                json!({"kind": "known", "value": "app"}),
                json!({"kind": "known", "value": "app2"})
            ),
            (
                "MasterUserPassword".to_owned(),
                sensitive.clone(),
                sensitive.clone()
            ),
        ]
    );
    assert_eq!(
        changes_of(&nested, "Ghost"),
        [("Value".to_owned(), sensitive.clone(), sensitive.clone())]
    );
    scan("app", &[]);

    // Scanned on its own, nothing says which parameters its parent passes a secret: all.
    let alone = report_of(&scan("app-Data-1XYZ", &["--format", "json"]));
    for (path, before, after) in changes_of(&alone, "Db") {
        assert_eq!(
            (before, after),
            (sensitive.clone(), sensitive.clone()),
            "{path}"
        );
    }
}
