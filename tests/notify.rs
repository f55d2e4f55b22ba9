//! Notifications end to end: real scans of the rich stack, recorded on a real audit branch,
//! and `[[notify]]` receivers on loopback (`fake_receiver`). A message goes out per
//! transition of a stack's drift, never per run; it is signed when a secret is configured;
//! failures are retried, then warned about, and never change the scan's exit code; the
//! receivers' URLs and secrets are printed nowhere.

use std::path::PathBuf;

use serde_json::{json, Value};

use crate::fake_receiver::Receiver;
use crate::github::Runner;
use crate::support::{assert_contains, git, Run};

/// Every test value that must stay secret contains `s3cr3t` (the leak scan looks for it).
const HOOK_PATH: &str = "/hooks/T0-s3cr3t-path";
const SLACK_PATH: &str = "/services/T000/B000/s3cr3t-slack";
const HMAC_SECRET: &str = "hmac-s3cr3t-key";

struct Scenario {
    runner: Runner,
    key: PathBuf,
    receiver: Receiver,
}

impl Scenario {
    /// The rich stack, applied, in a git repository whose configuration has `notify`.
    fn new(notify: &str) -> Scenario {
        let runner = Runner::scheduled();
        std::fs::write(runner.stack.root.join(".driftlog.toml"), notify).expect("config");
        let (key, _) = runner.stack.commit_to_git(&[]);
        Scenario {
            runner,
            key,
            receiver: Receiver::start(),
        }
    }

    fn env(&self) -> Vec<(String, String)> {
        let mut env = self.runner.env();
        env.push(("DRIFT_HOOK_URL".into(), self.receiver.url(HOOK_PATH)));
        env.push(("DRIFT_HOOK_SECRET".into(), HMAC_SECRET.into()));
        env.push(("SLACK_DRIFT_WEBHOOK".into(), self.receiver.url(SLACK_PATH)));
        env
    }

    fn driftlog(&self, args: &[&str]) -> Run {
        let root = &self.runner.stack.root;
        self.runner.stack.driftlog_with_env(root, args, &self.env())
    }

    fn scan(&self, expected_code: i32) -> Run {
        let key = self.key.to_str().expect("utf-8");
        let run = self.driftlog(&["scan", ".", "--signing-key", key]);
        assert_eq!(
            run.code, expected_code,
            "scan:\n{}\n{}",
            run.stdout, run.stderr
        );
        run
    }

    fn edit_web(&self, field: &str, value: Value) {
        self.runner.stack.edit("web", |web| web[field] = value);
    }

    /// The webhook messages delivered, their bodies checked against their signatures.
    fn webhook_messages(&self) -> Vec<Value> {
        self.receiver
            .delivered(HOOK_PATH)
            .iter()
            .map(|request| {
                let signature = request
                    .header("X-Driftlog-Signature")
                    .expect("a configured secret signs every message");
                let hex = signature.strip_prefix("sha256=").expect("sha256=HEX");
                let key = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, HMAC_SECRET.as_bytes());
                ring::hmac::verify(&key, &request.body, &decode_hex(hex))
                    .expect("the signature is the HMAC-SHA256 of the exact body");
                assert_eq!(request.method, "POST");
                let body = request.json();
                assert_eq!(
                    request.header("X-Driftlog-Event"),
                    body["transition"].as_str()
                );
                assert_eq!(request.header("X-Driftlog-Key"), body["key"].as_str());
                assert_valid(&body);
                body
            })
            .collect()
    }
}

fn decode_hex(hex: &str) -> Vec<u8> {
    assert_eq!(hex.len(), 64, "{hex}");
    (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).expect("hex"))
        .collect()
}

/// The webhook body conforms to the published `docs/notification.schema.json`.
fn assert_valid(body: &Value) {
    let path =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/notification.schema.json");
    let schema: Value =
        serde_json::from_str(&std::fs::read_to_string(&path).expect("the published schema"))
            .expect("schema JSON");
    let validator = jsonschema::validator_for(&schema).expect("a valid schema");
    let errors: Vec<String> = validator
        .iter_errors(body)
        .map(|e| format!("{e} at {}", e.instance_path()))
        .collect();
    assert!(errors.is_empty(), "{errors:#?}\n{body:#}");
}

const BOTH: &str = r#"
[[notify]]
kind = "webhook"
url_env = "DRIFT_HOOK_URL"
secret_env = "DRIFT_HOOK_SECRET"

[[notify]]
kind = "slack"
url_env = "SLACK_DRIFT_WEBHOOK"
on = ["drifted", "resolved"]
"#;

#[test]
fn one_message_per_transition_in_order_never_one_per_run() {
    let scenario = Scenario::new(BOTH);
    let stack = &scenario.runner.stack;
    scenario.scan(0); // the first scan, clean: nothing to say
    scenario.edit_web("description", json!("edited in the console"));
    let drifted = scenario.scan(2);
    scenario.scan(2); // the same drift again: nothing
    scenario.edit_web("size", json!(9));
    scenario.scan(2); // a second attribute drifted: changed
    scenario.edit_web("description", json!("web tier"));
    scenario.edit_web("size", json!(3));
    scenario.scan(0); // resolved
    scenario.scan(0); // clean again: nothing
    let web = std::fs::read(stack.object_file("web")).expect("read the object");
    std::fs::write(stack.object_file("web"), "{ not json").expect("break the object");
    let failed = scenario.scan(1);
    scenario.scan(1); // a failure after a failure: nothing
    std::fs::write(stack.object_file("web"), web).expect("mend the object");
    scenario.scan(0); // clean, as before the failures: nothing

    let messages = scenario.webhook_messages();
    let transitions: Vec<&str> = messages
        .iter()
        .map(|m| m["transition"].as_str().expect("transition"))
        .collect();
    assert_eq!(transitions, ["drifted", "changed", "resolved", "failed"]);
    assert!(messages
        .iter()
        .all(|m| m["schema"] == "driftlog.notification/v1"));
    let drifted_message = &messages[0];
    assert_eq!(drifted_message["stack"], ".");
    let web = drifted_message["resources"]
        .as_array()
        .expect("resources")
        .iter()
        .find(|r| r["address"] == "filestate_object.web")
        .expect("web is listed");
    assert_eq!(web["attributes"][0]["path"], "description");
    assert_eq!(web["attributes"][0]["after"], "\"edited in the console\"");
    assert_eq!(
        messages[1]["resources"][0]["attributes"]
            .as_array()
            .map(Vec::len),
        Some(2)
    );
    assert_eq!(messages[2]["resources"], json!([]));
    assert_eq!(
        messages[2]["fingerprint"], messages[1]["fingerprint"],
        "resolved names the drift that went"
    );
    assert!(
        messages[3]["failure"].as_str().is_some(),
        "{:#}",
        messages[3]
    );
    // Each message points at its own record, compared with the one before it.
    let seqs: Vec<u64> = messages
        .iter()
        .map(|m| m["record"]["seq"].as_u64().expect("seq"))
        .collect();
    assert!(seqs.windows(2).all(|w| w[0] < w[1]), "{seqs:?}");
    for message in &messages {
        assert!(message["previous_seq"].as_u64() < message["record"]["seq"].as_u64());
        assert_eq!(
            message["links"]["run"],
            "https://github.com/acme/infra/actions/runs/8813"
        );
    }
    // The drift issue the same run opened, updated and closed.
    let issue = messages[0]["links"]["issue"]
        .as_str()
        .expect("the issue's page");
    assert!(issue.ends_with("/issues/1"), "{issue}");
    assert_eq!(messages[1]["links"]["issue"], issue);
    assert_eq!(messages[2]["links"]["issue"], issue);
    let keys: std::collections::BTreeSet<&str> = messages
        .iter()
        .map(|m| m["key"].as_str().expect("key"))
        .collect();
    assert_eq!(keys.len(), 4, "a key per transition");

    // Slack takes only what it asked for, in Block Kit.
    let slack: Vec<Value> = scenario
        .receiver
        .delivered(SLACK_PATH)
        .iter()
        .map(|r| r.json())
        .collect();
    assert_eq!(slack.len(), 2, "{slack:#?}");
    assert_contains(
        slack[0]["text"].as_str().expect("text"),
        "Drift detected in .",
    );
    assert_contains(
        slack[1]["text"].as_str().expect("text"),
        "Drift resolved in .",
    );
    assert!(slack[0]["blocks"].as_array().is_some_and(|b| !b.is_empty()));

    // What was sent is said where the run is read.
    assert_contains(
        &drifted.stderr,
        "notified webhook (DRIFT_HOOK_URL) of drifted of .",
    );
    assert_contains(
        &failed.stderr,
        "notified webhook (DRIFT_HOOK_URL) of failed of .",
    );
    assert_contains(&scenario.runner.summary(), "### Notifications");
    // Nothing in the records names a receiver.
    let log = git(&stack.root, &["log", "-p", "--all"]);
    for secret in [HOOK_PATH, SLACK_PATH, HMAC_SECRET] {
        assert!(!log.contains(secret), "{secret} is in the git history");
    }
}

#[test]
fn a_failed_delivery_is_retried_then_warned_about_and_changes_no_exit_code() {
    let scenario = Scenario::new(BOTH);
    scenario.scan(0);
    scenario.edit_web("description", json!("edited in the console"));
    // A 500, then success: one message, two attempts.
    scenario.receiver.answer_next(500, &[]);
    scenario.receiver.answer_next(429, &[("Retry-After", "0")]);
    let run = scenario.scan(2);
    let to_hook: Vec<_> = scenario
        .receiver
        .received()
        .into_iter()
        .filter(|r| r.path == HOOK_PATH)
        .map(|r| r.status)
        .collect();
    assert_eq!(to_hook, [500, 429, 200], "{}", run.stderr);
    assert_contains(&run.stderr, "3 attempts");

    // A receiver that always fails: warned about, the exit code stays the drift's.
    scenario.receiver.always_answer(503);
    scenario.edit_web("size", json!(9));
    let run = scenario.scan(2);
    assert_contains(&run.stderr, "warning: notification (changed of .) not sent");
    assert_contains(&run.stderr, "webhook (DRIFT_HOOK_URL)");
    assert_contains(&scenario.runner.summary(), "not sent");
    let receiver = scenario.receiver.url("");
    for secret in [HOOK_PATH, SLACK_PATH, HMAC_SECRET, receiver.as_str()] {
        assert!(!run.stderr.contains(secret), "{secret}: {}", run.stderr);
        assert!(!run.stdout.contains(secret), "{secret}: {}", run.stdout);
        assert!(
            !scenario.runner.summary().contains(secret),
            "{secret} in the summary"
        );
    }

    // An unset variable is a warning too, naming the variable.
    let key = scenario.key.to_str().expect("utf-8");
    let env: Vec<_> = scenario
        .env()
        .into_iter()
        .filter(|(name, _)| name != "DRIFT_HOOK_URL")
        .collect();
    scenario.receiver.always_answer(200);
    scenario.edit_web("size", json!(3));
    let root = &scenario.runner.stack.root;
    let run =
        scenario
            .runner
            .stack
            .driftlog_with_env(root, &["scan", ".", "--signing-key", key], &env);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert_contains(&run.stderr, "DRIFT_HOOK_URL is not set or empty");
}

#[test]
fn without_an_audit_log_nothing_is_compared_so_nothing_is_sent() {
    let scenario = Scenario::new(BOTH);
    scenario.edit_web("description", json!("edited in the console"));
    let run = scenario.driftlog(&["scan", ".", "--no-audit"]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert_contains(&run.stderr, "no notifications: they compare each scan");
    assert!(scenario.receiver.received().is_empty());
}

#[test]
fn notify_test_sends_a_sample_to_each_receiver() {
    let scenario = Scenario::new(&format!(
        "{BOTH}\n[[notify]]\nkind = \"teams\"\nurl_env = \"TEAMS_DRIFT_WEBHOOK\"\n"
    ));
    let mut env = scenario.env();
    env.push((
        "TEAMS_DRIFT_WEBHOOK".into(),
        scenario.receiver.url("/workflows/s3cr3t-teams"),
    ));
    let root = &scenario.runner.stack.root;
    let run = scenario
        .runner
        .stack
        .driftlog_with_env(root, &["notify", "--test"], &env);
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    let paths: Vec<String> = scenario
        .receiver
        .received()
        .iter()
        .map(|r| r.path.clone())
        .collect();
    assert_eq!(paths, [HOOK_PATH, SLACK_PATH, "/workflows/s3cr3t-teams"]);
    let received = scenario.receiver.received();
    assert_eq!(received[0].json()["test"], true);
    assert_contains(received[1].json()["text"].as_str().expect("text"), "[test]");
    assert_eq!(
        received[2].json()["attachments"][0]["contentType"],
        "application/vnd.microsoft.card.adaptive"
    );
    assert_contains(
        &run.stdout,
        "teams (TEAMS_DRIFT_WEBHOOK): test message delivered",
    );
    assert!(!run.stdout.contains("s3cr3t") && !run.stderr.contains("s3cr3t"));

    // A receiver that fails, or a variable not set: said, and the command fails.
    scenario.receiver.always_answer(404);
    let env: Vec<_> = env
        .into_iter()
        .filter(|(n, _)| n != "SLACK_DRIFT_WEBHOOK")
        .collect();
    let run = scenario
        .runner
        .stack
        .driftlog_with_env(root, &["notify", "--test"], &env);
    assert_eq!(run.code, 1, "{}\n{}", run.stdout, run.stderr);
    assert_contains(&run.stderr, "SLACK_DRIFT_WEBHOOK is not set or empty");
    assert_contains(&run.stderr, "3 of 3 receivers did not get the test message");
    assert!(!run.stderr.contains("s3cr3t"), "{}", run.stderr);

    // Nothing configured is an error that says what to add.
    std::fs::write(root.join(".driftlog.toml"), "").expect("config");
    let run = scenario
        .runner
        .stack
        .driftlog_with_env(root, &["notify", "--test"], &env);
    assert_eq!(run.code, 1);
    assert_contains(&run.stderr, "no [[notify]] receivers");
}

#[test]
fn terraform_never_sees_a_receivers_url_or_secret() {
    let scenario = Scenario::new(BOTH);
    let stack = &scenario.runner.stack;
    let (wrapper, dump) = stack.env_dumping_terraform();
    scenario.edit_web("description", json!("edited in the console"));
    let key = scenario.key.to_str().expect("utf-8");
    let args = [
        "scan",
        ".",
        "--signing-key",
        key,
        "--terraform-bin",
        &wrapper,
    ];
    let run = scenario.driftlog(&args);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert_eq!(
        scenario.receiver.delivered(HOOK_PATH).len(),
        1,
        "{}",
        run.stderr
    );
    let seen = std::fs::read_to_string(&dump).expect("terraform ran");
    for name in ["DRIFT_HOOK_URL", "DRIFT_HOOK_SECRET", "SLACK_DRIFT_WEBHOOK"] {
        assert!(!seen.contains(&format!("{name}=")), "terraform saw {name}");
    }
    // (The workflow's GITHUB_TOKEN is its providers' to read and stays; see `secrets`.)
    for secret in [HMAC_SECRET, HOOK_PATH, SLACK_PATH] {
        assert!(!seen.contains(secret), "terraform saw {secret}");
    }
    assert!(
        seen.contains("GITHUB_REPOSITORY="),
        "the rest of the environment stays"
    );
}
