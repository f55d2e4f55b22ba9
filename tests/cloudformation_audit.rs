//! A CloudFormation stack's scans in the audit log: recorded from the repository the run
//! starts in (the stack has no directory), keyed by the stack, verified, explained with the
//! template's commits and the CloudTrail events that name the resource (not those that only
//! name the stack), and told as `driftlog history`.

use std::path::{Path, PathBuf};
use std::time::Duration;

use fake_cloudformation::{FakeCloudFormation, ResourceSpec, StackSpec};
use serde_json::{json, Value};

use crate::cloudformation::{driftlog, report_of, Run};
use crate::support::{git, wait_for_the_next_second};

const PASSWORD: &str = "s3cr3t-cfn-audit-password";
const ACCOUNT: &str = "123456789012";

const TEMPLATE: &str = r#"Parameters:
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
"#;

struct Repo {
    dir: tempfile::TempDir,
    key: PathBuf,
}

impl Repo {
    /// A repository whose `.driftlog.toml` names the stack and its template, one commit.
    fn new() -> Repo {
        let dir = tempfile::tempdir().expect("tempdir");
        let root = dir.path();
        git(root, &["init", "-q", "-b", "main"]);
        git(root, &["config", "user.name", "Platform CI"]);
        git(root, &["config", "user.email", "ci@example.com"]);
        std::fs::create_dir_all(root.join("cfn")).expect("mkdir");
        std::fs::write(root.join("cfn/app.yaml"), TEMPLATE).expect("template");
        std::fs::write(
            root.join(".driftlog.toml"),
            "[[stacks]]\ncloudformation = \"app\"\ntemplate = \"cfn/app.yaml\"\n",
        )
        .expect("config");
        std::fs::write(root.join(".gitignore"), "keys/\nevents/\n").expect("ignore");
        git(root, &["add", "."]);
        git(root, &["commit", "-q", "-m", "app stack"]);
        let key = driftlog::audit::sshsig::SigningKey::generate().expect("key");
        std::fs::create_dir_all(root.join("keys")).expect("mkdir");
        let file = root.join("keys/signing_key");
        std::fs::write(&file, key.to_openssh("ci").expect("encode")).expect("key");
        std::fs::write(
            root.join("keys/allowed_signers"),
            driftlog::audit::sshsig::allowed_signers_line("driftlog@ci", &key),
        )
        .expect("allowed signers");
        Repo { dir, key: file }
    }

    fn root(&self) -> &Path {
        self.dir.path()
    }

    fn scan(&self, fake: &FakeCloudFormation) -> Value {
        let key = self.key.to_str().expect("utf-8");
        let run = driftlog(
            fake,
            self.root(),
            &["scan", "--format", "json", "--signing-key", key],
        );
        assert!(matches!(run.code, 0 | 2), "scan failed: {}", run.stderr);
        // A configured stack gives a combined report, of one stack here.
        let mut report = report_of(&run)["stacks"][0].clone();
        report["stderr"] = json!(run.stderr);
        report
    }

    fn run(&self, fake: &FakeCloudFormation, args: &[&str]) -> Run {
        let run = driftlog(fake, self.root(), args);
        assert_eq!(run.code, 0, "{args:?}: {}{}", run.stdout, run.stderr);
        run
    }
}

fn stack() -> StackSpec {
    let web = json!({"GroupDescription": "web", "Tags": [{"Key": "env", "Value": "prod"}]});
    StackSpec::new("app")
        .template(TEMPLATE)
        .account(ACCOUNT)
        .no_echo_parameter("DbPassword", PASSWORD)
        .resource(
            ResourceSpec::new("WebSg", "AWS::EC2::SecurityGroup")
                .physical_id("sg-0cfn4udit")
                .expected(web.clone())
                .actual(web),
        )
        .resource(
            ResourceSpec::new("Db", "AWS::RDS::DBInstance")
                .physical_id("app-db")
                .expected(json!({"MasterUserPassword": PASSWORD}))
                .actual(json!({"MasterUserPassword": PASSWORD})),
        )
}

/// A CloudTrail record naming `parameters`, by `account` in us-east-1.
fn event(
    id: &str,
    source: &str,
    name: &str,
    time: &str,
    account: &str,
    parameters: Value,
) -> Value {
    json!({
        "eventVersion": "1.09",
        "userIdentity": {"type": "IAMUser", "arn": format!("arn:aws:iam::{account}:user/bob"),
                         "accountId": account, "userName": "bob"},
        "eventTime": time,
        "eventSource": source,
        "eventName": name,
        "awsRegion": "us-east-1",
        "sourceIPAddress": "203.0.113.9",
        "userAgent": "console.amazonaws.com",
        "requestParameters": parameters,
        "responseElements": null,
        "eventID": id,
        "readOnly": false,
        "eventType": "AwsApiCall",
        "recipientAccountId": account
    })
}

fn ids(events: &Value) -> Vec<&str> {
    events
        .as_array()
        .expect("events")
        .iter()
        .map(|e| e["id"].as_str().expect("id"))
        .collect()
}

#[test]
fn scans_are_recorded_by_stack_verified_explained_and_told_as_history() {
    let fake = FakeCloudFormation::start().expect("fake");
    fake.add_stack(stack()).expect("stack");
    let repo = Repo::new();

    let clean = repo.scan(&fake);
    assert_eq!(clean["status"], "clean", "{clean:#}");
    assert_eq!(clean["audit"]["seq"], 0, "not recorded: {clean:#}");
    let key = clean["stack"]["dir"].as_str().expect("key").to_owned();
    assert!(
        key.starts_with("cloudformation/") && key.ends_with("/app"),
        "{key}"
    );

    wait_for_the_next_second();
    std::fs::write(
        repo.root().join("cfn/app.yaml"),
        format!("{TEMPLATE}# reviewed\n"),
    )
    .expect("edit");
    git(repo.root(), &["commit", "-qam", "template reviewed"]);
    let template_commit = git(repo.root(), &["rev-parse", "HEAD"]).trim().to_owned();
    fake.set_actual_property("app", "WebSg", "/Tags/0/Value", Some(json!("staging")))
        .expect("drift");
    fake.set_actual_property(
        "app",
        "Db",
        "/MasterUserPassword",
        Some(json!(format!("{PASSWORD}-new"))),
    )
    .expect("drift");
    wait_for_the_next_second();

    let drifted = repo.scan(&fake);
    assert_eq!(drifted["status"], "drifted");
    assert_eq!(drifted["audit"]["seq"], 1);
    assert_eq!(
        drifted["stack"]["dir"],
        key.as_str(),
        "the same stack, the same key"
    );
    let explained = drifted["explanations"]
        .as_array()
        .expect("explained in the scan")
        .iter()
        .find(|e| e["address"] == "WebSg")
        .expect("WebSg explained");
    assert_eq!(explained["last_clean"]["seq"], 0);
    assert_eq!(explained["first_seen"]["seq"], 1);
    assert_eq!(explained["template"], "cfn/app.yaml");

    // The log holds the stack by its key, with where it lives; standard tools verify it.
    repo.run(
        &fake,
        &["verify", "--allowed-signers", "keys/allowed_signers"],
    );
    let log = repo.run(&fake, &["log", "--format", "json"]);
    let records: Vec<Value> = serde_json::from_str(&log.stdout).expect("log JSON");
    assert_eq!(records.len(), 2, "{records:#?}");
    let commit = drifted["audit"]["commit"].as_str().expect("commit");
    git(
        repo.root(),
        &[
            "-c",
            "gpg.ssh.allowedSignersFile=keys/allowed_signers",
            "verify-commit",
            commit,
        ],
    );
    for record in &records {
        let stack = &record["stack"];
        assert_eq!(stack["path"], key.as_str(), "{record:#}");
        assert_eq!(stack["cloudformation"]["name"], "app");
        assert_eq!(stack["cloudformation"]["account"], ACCOUNT);
        assert_eq!(stack["cloudformation"]["region"], "us-east-1");
    }
    // CloudTrail: the console edit names the group; driftlog's own detections name only the
    // stack, which places the group but explains nothing; another account's group is another.
    let clean_at = records
        .iter()
        .find(|r| r["seq"] == 0)
        .and_then(|r| r["time"].as_str())
        .and_then(|time| humantime::parse_rfc3339(time).ok())
        .expect("the clean scan's time");
    let inside = humantime::format_rfc3339_seconds(clean_at + Duration::from_secs(1)).to_string();
    let stack_arn = drifted["stack"]["cloudformation"]["stack_id"]
        .as_str()
        .expect("stack id")
        .to_owned();
    let ec2 = "ec2.amazonaws.com";
    let trail = json!({"Records": [
        event("ev-console", ec2, "CreateTags", &inside, ACCOUNT,
              json!({"resourcesSet": {"items": [{"resourceId": "sg-0cfn4udit"}]}})),
        event("ev-detect", "cloudformation.amazonaws.com", "DetectStackDrift", &inside, ACCOUNT,
              json!({"stackName": stack_arn})),
        event("ev-elsewhere", ec2, "CreateTags", &inside, "999999999999",
              json!({"resourcesSet": {"items": [{"resourceId": "sg-0cfn4udit"}]}})),
    ]});
    std::fs::create_dir_all(repo.root().join("events")).expect("mkdir");
    let trail_file = repo.root().join("events/trail.json");
    std::fs::write(&trail_file, trail.to_string()).expect("trail");
    let run = repo.run(
        &fake,
        &[
            "explain",
            "--format",
            "json",
            "--events",
            trail_file.to_str().expect("utf-8"),
        ],
    );
    let explanations: Value = serde_json::from_str(&run.stdout).expect("explain JSON");
    let web = explanations
        .as_array()
        .expect("explanations")
        .iter()
        .find(|e| e["address"] == "WebSg")
        .unwrap_or_else(|| panic!("no WebSg in {explanations:#}"));
    assert_eq!(ids(&web["events"]), ["ev-console"], "{web:#}");
    let commits: Vec<&str> = web["commits"]
        .as_array()
        .expect("commits known")
        .iter()
        .map(|c| c["sha"].as_str().expect("sha"))
        .collect();
    assert_eq!(commits, [template_commit.as_str()], "the template's commit");

    let run = repo.run(
        &fake,
        &["history", "WebSg", "--stack", &key, "--format", "json"],
    );
    let history: Value = serde_json::from_str(&run.stdout).expect("history JSON");
    let seqs: Vec<u64> = history
        .as_array()
        .unwrap_or_else(|| panic!("{history:#}"))
        .iter()
        .map(|entry| entry["seq"].as_u64().expect("seq"))
        .collect();
    assert_eq!(seqs, [1, 0], "newest first: {history:#}");
    let text = repo
        .run(&fake, &["history", "WebSg", "--stack", &key])
        .stdout;
    assert!(text.contains("staging"), "{text}");
    for run in [&log, &run] {
        assert!(!run.stdout.contains("s3cr3t") && !run.stderr.contains("s3cr3t"));
    }
}

#[test]
fn ignore_rules_name_logical_ids_and_stack_keys() {
    let fake = FakeCloudFormation::start().expect("fake");
    fake.add_stack(stack()).expect("stack");
    fake.set_actual_property("app", "WebSg", "/Tags/0/Value", Some(json!("staging")))
        .expect("drift");
    let repo = Repo::new();
    std::fs::write(
        repo.root().join(".driftlog.toml"),
        "[[stacks]]\ncloudformation = \"app\"\ntemplate = \"cfn/app.yaml\"\n\n\
         [[ignore]]\nresource = \"WebSg\"\nattribute = \"Tags*\"\n\
         stack = \"cloudformation/*/app\"\nreason = \"the tagging job owns tags\"\n",
    )
    .expect("config");
    let report = repo.scan(&fake);
    assert_eq!(report["status"], "clean", "{report:#}");
    let web = report["resources"]
        .as_array()
        .expect("resources")
        .iter()
        .find(|r| r["address"] == "WebSg")
        .expect("still reported");
    assert_eq!(
        web["changes"][0]["ignored"]["reason"], "the tagging job owns tags",
        "{web:#}"
    );
    assert_eq!(report["summary"]["ignored"], 1);
}
