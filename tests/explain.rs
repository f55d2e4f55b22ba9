//! `driftlog history` and `explain` on an audit log built by real applies and scans of the
//! rich test stack: apply, clean scan, a commit, an out-of-band change and an unrelated
//! apply, a scan, a second change, a scan. Then the windows, the applies and commits in
//! them, the CloudTrail events that match (and those that must not), and the JSON output.

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use serde_json::{json, Value};

use crate::support::{git, wait_for_the_next_second, Run, Stack};

struct Scenario {
    stack: Stack,
    key: PathBuf,
}

impl Scenario {
    fn new() -> Scenario {
        let stack = Stack::rich();
        let init = stack.terraform(&["init", "-input=false", "-no-color"]);
        assert!(
            init.status.success(),
            "{}",
            String::from_utf8_lossy(&init.stderr)
        );
        let (key, _) = stack.commit_to_git(&["events/"]);
        Scenario { key, stack }
    }

    fn driftlog(&self, args: &[&str]) -> Run {
        self.stack.driftlog_in(&self.stack.root, args)
    }

    fn apply(&self, extra: &[&str]) -> Run {
        let key = self.key.to_str().expect("utf-8");
        let args = [
            &["apply", ".", "--signing-key", key, "--", "-auto-approve"][..],
            extra,
        ]
        .concat();
        let run = self.driftlog(&args);
        assert_eq!(run.code, 0, "apply failed:\n{}{}", run.stdout, run.stderr);
        run
    }

    fn scan(&self) -> Value {
        let key = self.key.to_str().expect("utf-8");
        let run = self.driftlog(&["scan", ".", "--format", "json", "--signing-key", key]);
        assert!(
            matches!(run.code, 0 | 2),
            "scan failed:\n{}{}",
            run.stdout,
            run.stderr
        );
        serde_json::from_str(&run.stdout).expect("JSON report")
    }

    fn commit(&self, path: &str, text: &str, message: &str) -> String {
        let file = self.stack.root.join(path);
        std::fs::create_dir_all(file.parent().expect("parent")).expect("mkdir");
        std::fs::write(&file, text).expect("write");
        git(&self.stack.root, &["add", path]);
        git(&self.stack.root, &["commit", "-q", "-m", message]);
        git(&self.stack.root, &["rev-parse", "HEAD"])
            .trim()
            .to_owned()
    }

    fn record_time(&self, seq: u64) -> SystemTime {
        let log = self.driftlog(&["log", "--format", "json"]);
        let records: Vec<Value> = serde_json::from_str(&log.stdout).expect("log JSON");
        let record = records
            .iter()
            .find(|r| r["seq"] == seq)
            .unwrap_or_else(|| panic!("no record {seq}"));
        humantime::parse_rfc3339(record["time"].as_str().expect("time")).expect("RFC 3339")
    }
}

fn rfc3339(time: SystemTime) -> String {
    humantime::format_rfc3339_seconds(time).to_string()
}

/// A CloudTrail record, in the log file format.
fn cloudtrail(id: &str, name: &str, time: SystemTime, resource: &str, read_only: bool) -> Value {
    json!({
        "eventVersion": "1.09",
        "userIdentity": {
            "type": "AssumedRole",
            "principalId": "AROAEXAMPLE:alice",
            "arn": "arn:aws:sts::123456789012:assumed-role/ops-admin/alice",
            "accountId": "123456789012",
            "sessionContext": {
                "sessionIssuer": {
                    "type": "Role",
                    "principalId": "AROAEXAMPLE",
                    "arn": "arn:aws:iam::123456789012:role/ops-admin",
                    "accountId": "123456789012",
                    "userName": "ops-admin"
                },
                "attributes": { "creationDate": rfc3339(time), "mfaAuthenticated": "true" }
            }
        },
        "eventTime": rfc3339(time),
        "eventSource": "ec2.amazonaws.com",
        "eventName": name,
        "awsRegion": "eu-west-1",
        "sourceIPAddress": "203.0.113.7",
        "userAgent": "aws-cli/2.17.0",
        "requestParameters": { "groupId": resource },
        "responseElements": null,
        "requestID": format!("req-{id}"),
        "eventID": id,
        "readOnly": read_only,
        "eventType": "AwsApiCall",
        "managementEvent": true,
        "recipientAccountId": "123456789012"
    })
}

#[test]
fn history_and_explain_find_the_window_what_ran_in_it_and_the_matching_events() {
    let s = Scenario::new();
    // 0: the apply that creates everything.
    s.apply(&[]);
    // 1: a clean scan.
    assert_eq!(s.scan()["status"], "clean");
    wait_for_the_next_second();
    // A commit to the stack, and one elsewhere.
    let stack_commit = s.commit(
        "main.tf",
        &format!(
            "# reviewed\n{}",
            std::fs::read_to_string(s.stack.root.join("main.tf")).expect("read")
        ),
        "Review the web tier",
    );
    s.commit("docs/README.md", "# docs\n", "Docs only");
    // Out of band: the web tier's env tag, and a keyed object's tag.
    s.stack.edit("web", |v| v["tags"]["env"] = json!("staging"));
    s.stack.edit(&keyed_plain(&s.stack), |v| {
        v["tags"]["key"] = json!("hand-edited")
    });
    // 2: an apply of something else (a deleted object put back), which does not touch web.
    s.stack.delete("counted-1");
    s.apply(&["-target=filestate_object.counted[1]"]);
    // 3: the scan that first sees the drift.
    let first = s.scan();
    assert_eq!(first["status"], "drifted");
    // A second change to web, seen by 4.
    s.stack
        .edit("web", |v| v["description"] = json!("changed again"));
    let latest = s.scan();
    assert_eq!(latest["audit"]["seq"], 4);

    let clean_at = s.record_time(1);
    let first_seen_at = s.record_time(3);
    let inside = clean_at + Duration::from_secs(1);
    assert!(inside <= first_seen_at);
    let events_dir = s.stack.root.join("events");
    std::fs::create_dir_all(&events_dir).expect("mkdir");
    let events = events_dir.join("cloudtrail.json");
    let trail = json!({ "Records": [
        cloudtrail("ev-inside", "ModifySecurityGroupRules", inside, "web", false),
        cloudtrail("ev-before", "ModifySecurityGroupRules", clean_at - Duration::from_secs(3600), "web", false),
        cloudtrail("ev-after", "ModifySecurityGroupRules", first_seen_at + Duration::from_secs(3600), "web", false),
        cloudtrail("ev-other", "ModifySecurityGroupRules", inside, "sg-unrelated", false),
        cloudtrail("ev-read", "DescribeSecurityGroups", inside, "web", true),
    ]});
    std::fs::write(&events, serde_json::to_vec_pretty(&trail).expect("JSON")).expect("write");

    let run = s.driftlog(&[
        "explain",
        "--format",
        "json",
        "--events",
        events.to_str().expect("utf-8"),
    ]);
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    let explanations: Value = serde_json::from_str(&run.stdout).expect("JSON");
    let web = find(&explanations, "filestate_object.web");
    assert_eq!(web["first_seen"]["seq"], 3, "{web:#}");
    assert_eq!(web["last_clean"]["seq"], 1);
    assert_eq!(web["last_clean"]["kind"], "scan");
    let applies: Vec<u64> = web["applies"]
        .as_array()
        .expect("applies")
        .iter()
        .map(|a| a["seq"].as_u64().expect("seq"))
        .collect();
    assert_eq!(
        applies,
        vec![2],
        "the unrelated apply ran inside the window"
    );
    let commits: Vec<&str> = web["commits"]
        .as_array()
        .expect("commits known")
        .iter()
        .map(|c| c["sha"].as_str().expect("sha"))
        .collect();
    assert_eq!(
        commits,
        vec![stack_commit.as_str()],
        "only the commit touching the stack"
    );
    let event_ids: Vec<&str> = web["events"]
        .as_array()
        .expect("events")
        .iter()
        .map(|e| e["id"].as_str().expect("id"))
        .collect();
    assert_eq!(event_ids, vec!["ev-inside"]);
    let event = &web["events"][0];
    assert_eq!(event["action"], "ModifySecurityGroupRules");
    assert!(
        event["actor"]
            .as_str()
            .expect("actor")
            .contains("ops-admin"),
        "{event:#}"
    );
    assert_eq!(event["source_ip"], "203.0.113.7");
    // Per attribute: the env tag since record 3 (after the clean 1), the description since 4.
    let change = |path: &str| {
        web["changes"]
            .as_array()
            .expect("changes")
            .iter()
            .find(|c| c["path"] == path)
            .unwrap_or_else(|| panic!("{path} in {web:#}"))
            .clone()
    };
    assert_eq!(change("tags.env")["first_seen"], 3);
    assert_eq!(change("tags.env")["since_after"], 1);
    assert_eq!(
        change("tags.env")["after"],
        json!({"kind": "known", "value": "staging"})
    );
    assert_eq!(change("description")["first_seen"], 4);
    assert_eq!(change("description")["since_after"], 3);
    // No event names the keyed object: unknown, not guessed.
    let keyed = find(&explanations, "filestate_object.keyed[\"plain\"]");
    assert_eq!(keyed["events"], json!([]));
    assert_eq!(keyed["first_seen"]["seq"], 3);

    // The text says the same, naming its sources.
    let text = s.driftlog(&[
        "explain",
        "filestate_object.web",
        "--events",
        events.to_str().expect("utf-8"),
    ]);
    assert_eq!(text.code, 0, "{}", text.stderr);
    for expected in [
        "first seen drifted",
        "record 3",
        "last clean",
        "record 1",
        "ev-inside",
        "ops-admin",
        &stack_commit[..12],
    ] {
        assert!(
            text.stdout.contains(expected),
            "{expected:?} in:\n{}",
            text.stdout
        );
    }
    assert!(
        !text.stdout.contains("keyed"),
        "only the asked address:\n{}",
        text.stdout
    );

    // history: newest first; the apply that did not touch web is not in it.
    let history = s.driftlog(&["history", "filestate_object.web", "--format", "json"]);
    assert_eq!(history.code, 0, "{}", history.stderr);
    let entries: Value = serde_json::from_str(&history.stdout).expect("JSON");
    let timeline: Vec<(u64, &str)> = entries
        .as_array()
        .expect("array")
        .iter()
        .map(|e| {
            (
                e["seq"].as_u64().expect("seq"),
                e["status"].as_str().expect("status"),
            )
        })
        .collect();
    assert_eq!(
        timeline,
        vec![(4, "drifted"), (3, "drifted"), (1, "clean"), (0, "applied")]
    );
    assert_eq!(entries[0]["changes"].as_array().expect("changes").len(), 2);
    // The scan report itself explains what it found (for the comment and the summary).
    let web_in_report = latest["explanations"]
        .as_array()
        .and_then(|all| all.iter().find(|e| e["address"] == "filestate_object.web"))
        .unwrap_or_else(|| panic!("no explanation in the report:\n{latest:#}"));
    assert_eq!(web_in_report["first_seen"]["seq"], 3);
    assert_eq!(web_in_report["last_clean"]["seq"], 1);
    let key = s.key.to_str().expect("utf-8");
    let comment = s.driftlog(&[
        "scan",
        ".",
        "--format",
        "markdown",
        "--signing-key",
        key,
        "--events",
        events.to_str().expect("utf-8"),
    ]);
    assert_eq!(comment.code, 2, "{}", comment.stderr);
    let (_, web_section) = comment
        .stdout
        .split_once("<code>filestate_object.web</code>")
        .unwrap_or_else(|| panic!("no web section:\n{}", comment.stdout));
    let line = web_section
        .lines()
        .find(|l| l.contains("History:") && l.contains("first seen"))
        .unwrap_or_else(|| panic!("no history line:\n{}", comment.stdout));
    for expected in [
        "record 3",
        "last clean",
        "record 1",
        "apply in between: record 2",
        "ModifySecurityGroupRules by role/ops-admin",
        "ev-inside",
    ] {
        assert!(line.contains(expected), "{expected:?} in {line}");
    }

    // The terminal report gives each resource the same line.
    let terminal = s.driftlog(&["scan", ".", "--signing-key", key, "--color", "never"]);
    assert_eq!(terminal.code, 2, "{}", terminal.stderr);
    assert!(
        terminal
            .stdout
            .lines()
            .any(|l| l.contains("history: first seen") && l.contains("(record 3)")),
        "{}",
        terminal.stdout
    );

    let text = s.driftlog(&["history", "filestate_object.web"]);
    assert!(
        text.stdout.contains("apply: applied (create)") && text.stdout.contains("\"staging\""),
        "{}",
        text.stdout
    );
}

#[test]
fn malformed_event_files_are_a_clear_error() {
    let s = Scenario::new();
    s.apply(&[]);
    let dir = s.stack.root.join("events");
    std::fs::create_dir_all(&dir).expect("mkdir");
    for (name, text) in [
        ("broken.json", "{\"Records\": [ {\"eventID\": "),
        ("shape.json", "{\"items\": []}"),
    ] {
        let path = dir.join(name);
        std::fs::write(&path, text).expect("write");
        let run = s.driftlog(&["explain", "--events", path.to_str().expect("utf-8")]);
        assert_eq!(run.code, 1, "{name}: {}{}", run.stdout, run.stderr);
        assert!(run.stderr.contains(name), "{name}: {}", run.stderr);
        assert!(!run.stderr.contains("panicked"), "{}", run.stderr);
    }
    // Nothing scanned yet: said plainly, not an error; an address no record names is one.
    let nothing = s.driftlog(&["explain"]);
    assert_eq!(nothing.code, 0, "{}", nothing.stderr);
    assert!(
        nothing.stdout.contains("no stack has a completed scan"),
        "{}",
        nothing.stdout
    );
    let unknown = s.driftlog(&["history", "filestate_object.nope"]);
    assert_eq!(unknown.code, 1);
    assert!(
        unknown.stderr.contains("filestate_object.nope"),
        "{}",
        unknown.stderr
    );
    let applied = s.driftlog(&["history", "filestate_object.web", "--format", "json"]);
    assert_eq!(applied.code, 0, "{}", applied.stderr);
    let entries: Value = serde_json::from_str(&applied.stdout).expect("JSON");
    assert_eq!(entries[0]["status"], "applied");
    assert_eq!(entries[0]["action"], "create");

    let missing = s.driftlog(&["explain", "--events", "no-such-file.json"]);
    assert_eq!(missing.code, 1);
    assert!(
        missing.stderr.contains("no-such-file.json"),
        "{}",
        missing.stderr
    );
}

fn find<'a>(explanations: &'a Value, address: &str) -> &'a Value {
    explanations
        .as_array()
        .and_then(|all| all.iter().find(|e| e["address"] == address))
        .unwrap_or_else(|| panic!("{address} not explained:\n{explanations:#}"))
}

/// The object file name of `keyed["plain"]` (the config names it by an md5 of its key).
fn keyed_plain(stack: &Stack) -> String {
    let store = stack.root.join("store");
    let plain = std::fs::read_dir(&store)
        .expect("read store")
        .map(|e| e.expect("entry").path())
        .find(|path| {
            std::fs::read_to_string(path)
                .ok()
                .and_then(|text| serde_json::from_str::<Value>(&text).ok())
                .is_some_and(|v| v["tags"]["key"] == "plain")
        })
        .expect("the keyed[\"plain\"] object");
    file_stem(&plain)
}

fn file_stem(path: &Path) -> String {
    path.file_stem()
        .and_then(|s| s.to_str())
        .expect("name")
        .to_owned()
}
