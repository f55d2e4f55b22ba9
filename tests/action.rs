//! The GitHub Action's steps without GitHub: `action/entrypoint.sh` and `action/install.sh`
//! run with the environment a runner gives them (`INPUT_*`, `GITHUB_*`, an event file) against
//! a real stack in a git repository with a bare remote, and the fake GitHub API.

use std::path::{Path, PathBuf};
use std::process::Command;

use driftlog::audit::sshsig::{allowed_signers_line, SigningKey};
use serde_json::json;
use tempfile::TempDir;

use crate::fake_github::FakeGithub;
use crate::support::{git, Run, Stack, NET_MODULE, PROVIDER, RICH_STACK};

const TOKEN: &str = "ghs_actionTOKEN0123456789";
const REPO: &str = "acme/infra";
const PR: u64 = 12;
const HEAD_SHA: &str = "3333333333333333333333333333333333333333";

fn action_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// A checkout as actions/checkout leaves it: the repository with its stack, pushed to a bare
/// `origin`, plus a signing key trusted by the committed allowed-signers file.
struct Checkout {
    stack: Stack,
    remote: TempDir,
    runner: TempDir,
    fake: FakeGithub,
    key: String,
}

impl Checkout {
    fn new(extra_files: &[(&str, &str)]) -> Checkout {
        let main = format!("{PROVIDER}{RICH_STACK}");
        let files = [
            &[
                ("main.tf", main.as_str()),
                ("modules/net/main.tf", NET_MODULE),
            ][..],
            extra_files,
        ]
        .concat();
        let stack = Stack::new(&files);
        stack.apply(&[]);
        let root = &stack.root;
        let key = SigningKey::generate().expect("key");
        std::fs::create_dir_all(root.join(".driftlog")).expect("mkdir");
        std::fs::write(
            root.join(".driftlog/allowed_signers"),
            allowed_signers_line("driftlog@ci", &key),
        )
        .expect("write allowed signers");
        std::fs::write(root.join(".gitignore"), ".terraform/\nstore/\n*.tfstate*\n")
            .expect("write");
        git(root, &["init", "-q", "-b", "main"]);
        git(root, &["config", "user.name", "Platform CI"]);
        git(root, &["config", "user.email", "ci@example.com"]);
        git(root, &["add", "."]);
        git(root, &["commit", "-q", "-m", "infrastructure"]);
        let remote = TempDir::new().expect("remote dir");
        git(remote.path(), &["init", "-q", "--bare"]);
        // GitHub's default branch: what `git ls-remote --symref origin HEAD` names.
        git(remote.path(), &["symbolic-ref", "HEAD", "refs/heads/main"]);
        git(
            root,
            &[
                "remote",
                "add",
                "origin",
                remote.path().to_str().expect("utf-8"),
            ],
        );
        git(root, &["push", "-q", "origin", "main"]);
        Checkout {
            stack,
            remote,
            runner: TempDir::new().expect("runner dir"),
            fake: FakeGithub::start(TOKEN),
            key: key.to_openssh("ci").expect("encode key"),
        }
    }

    fn file(&self, name: &str) -> PathBuf {
        self.runner.path().join(name)
    }

    /// The variables a runner gives a composite action's step, plus `inputs`.
    fn env(&self, inputs: &[(&str, &str)]) -> Vec<(String, String)> {
        let event = self.file("event.json");
        std::fs::write(
            &event,
            json!({
                "pull_request": { "number": PR, "head": { "sha": HEAD_SHA } },
                "repository": { "full_name": REPO, "default_branch": "main" },
            })
            .to_string(),
        )
        .expect("write event");
        let temp = self.file("runner-temp");
        std::fs::create_dir_all(&temp).expect("mkdir");
        let mut env: Vec<(String, String)> = [
            ("GITHUB_ACTIONS", "true".to_owned()),
            ("GITHUB_ACTION_PATH", action_dir().display().to_string()),
            ("GITHUB_REPOSITORY", REPO.to_owned()),
            ("GITHUB_EVENT_NAME", "pull_request".to_owned()),
            ("GITHUB_EVENT_PATH", event.display().to_string()),
            ("GITHUB_SHA", "4".repeat(40)),
            ("GITHUB_RUN_ID", "99".to_owned()),
            ("GITHUB_API_URL", self.fake.api_url()),
            ("GITHUB_WORKSPACE", self.stack.root.display().to_string()),
            (
                "GITHUB_STEP_SUMMARY",
                self.file("summary.md").display().to_string(),
            ),
            ("GITHUB_OUTPUT", self.file("output").display().to_string()),
            ("RUNNER_TEMP", temp.display().to_string()),
            ("DRIFTLOG", env!("CARGO_BIN_EXE_driftlog").to_owned()),
            ("INPUT_GITHUB_TOKEN", TOKEN.to_owned()),
            ("INPUT_SIGNING_KEY", self.key.clone()),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v))
        .collect();
        env.extend(inputs.iter().map(|(k, v)| (k.to_string(), v.to_string())));
        env
    }

    /// `bash action/entrypoint.sh` from the checkout, as the composite step runs it.
    fn entrypoint(&self, inputs: &[(&str, &str)]) -> Run {
        let script = action_dir().join("action/entrypoint.sh");
        self.stack.run_with_env(
            Path::new("bash"),
            &self.stack.root,
            &[script.to_str().expect("utf-8")],
            &self.env(inputs),
        )
    }

    fn outputs(&self) -> String {
        std::fs::read_to_string(self.file("output")).unwrap_or_default()
    }

    fn output(&self, name: &str) -> Option<String> {
        self.outputs()
            .lines()
            .filter_map(|l| l.strip_prefix(&format!("{name}=")))
            .next_back()
            .map(str::to_owned)
    }
}

#[test]
fn the_entrypoint_scans_records_comments_and_sets_outputs() {
    let checkout = Checkout::new(&[]);
    checkout.stack.edit("web", |web| web["size"] = json!(9));
    let run = checkout.entrypoint(&[("INPUT_STACKS", "."), ("INPUT_FAIL_ON_DRIFT", "true")]);
    assert_eq!(
        run.code, 2,
        "fail-on-drift fails the step: {}{}",
        run.stdout, run.stderr
    );

    assert_eq!(checkout.output("drift").as_deref(), Some("true"));
    assert_eq!(checkout.output("drifted-resources").as_deref(), Some("1"));
    assert_eq!(
        checkout.output("remediable").as_deref(),
        Some("true"),
        "drift found, recorded and verified: the remediate step may run"
    );
    assert_eq!(checkout.output("adoptable").as_deref(), Some("true"));
    let report = checkout.output("report-json").expect("report output");
    let saved: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&report).expect("read report"))
            .expect("JSON report");
    assert_eq!(saved["status"], "drifted");

    let pushed = git(checkout.remote.path(), &["rev-parse", "driftlog/audit"]);
    assert_eq!(
        checkout.output("audit-head").as_deref(),
        Some(pushed.trim()),
        "the audit record reached the remote"
    );
    assert!(
        run.stdout
            .contains("driftlog/audit: 1 record verified, 0 problems"),
        "the branch was verified against the committed allowed signers: {}{}",
        run.stdout,
        run.stderr
    );

    let comments = checkout.fake.comments(REPO, PR);
    assert_eq!(comments.len(), 1);
    assert!(comments[0].body.contains("filestate_object.web"));
    assert!(comments[0].body.contains("driftlog-checkpoint "));
    let checks = checkout.fake.check_runs(REPO);
    assert_eq!(checks.len(), 1);
    assert_eq!(checks[0].conclusion.as_deref(), Some("failure"));
    assert_eq!(checks[0].head_sha, HEAD_SHA);
    let summary = std::fs::read_to_string(checkout.file("summary.md")).expect("summary");
    assert!(summary.contains("filestate_object.web"));
    assert!(!run.stdout.contains(&checkout.key) && !run.stderr.contains(&checkout.key));
}

/// Issue 13's attack through the action: a pull request whose branch trusts its author's key
/// in its own `.driftlog/allowed_signers` and carries a log rewritten with that key. The
/// action verifies against the default branch's file, so the step fails.
#[test]
fn a_pull_request_that_trusts_its_own_key_and_rewrites_the_log_is_refused() {
    let checkout = Checkout::new(&[]);
    let root = &checkout.stack.root;
    let run = checkout.entrypoint(&[("INPUT_STACKS", ".")]);
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    assert!(
        run.stdout
            .contains("allowed signers: .driftlog/allowed_signers at origin/main (commit "),
        "{}{}",
        run.stdout,
        run.stderr
    );
    assert!(
        run.stdout
            .contains("driftlog/audit: 1 record verified, 0 problems"),
        "{}",
        run.stdout
    );

    // The pull request's branch: the insider's key added to its own trust root...
    let insider = SigningKey::generate().expect("key");
    git(root, &["checkout", "-q", "-b", "trust-me"]);
    let trust_file = root.join(".driftlog/allowed_signers");
    let mut trusted = std::fs::read_to_string(&trust_file).expect("read");
    trusted.push_str(&format!(
        "\n{}\n",
        allowed_signers_line("insider", &insider)
    ));
    std::fs::write(&trust_file, trusted).expect("write");
    git(root, &["commit", "-q", "-am", "trust the insider"]);
    // ...and the log replaced by one the insider wrote with that key.
    git(
        root,
        &["push", "-q", "origin", "--delete", "driftlog/audit"],
    );
    git(root, &["branch", "-q", "-D", "driftlog/audit"]);
    let insider_key = insider.to_openssh("insider").expect("encode key");
    checkout.entrypoint(&[
        ("INPUT_STACKS", "."),
        ("INPUT_COMMENT", "false"),
        ("INPUT_SIGNING_KEY", insider_key.as_str()),
    ]);
    let rewritten = git(checkout.remote.path(), &["rev-list", "driftlog/audit"]);
    assert_eq!(
        rewritten.lines().count(),
        1,
        "the insider's log: {rewritten}"
    );

    // The pull request's run, with drift to comment on, verifies before it records: refused.
    checkout.stack.edit("web", |web| web["size"] = json!(9));
    let run = checkout.entrypoint(&[("INPUT_STACKS", ".")]);
    assert_eq!(
        run.code, 1,
        "the rewritten log fails the step: {}{}",
        run.stdout, run.stderr
    );
    assert!(
        run.stdout
            .contains("allowed signers: .driftlog/allowed_signers at origin/main (commit "),
        "the trust root is the default branch's: {}",
        run.stdout
    );
    assert!(
        run.stderr.contains(
            "::error title=driftlog::the audit branch driftlog/audit does not verify against \
             .driftlog/allowed_signers on the default branch main"
        ),
        "{}",
        run.stderr
    );
    assert!(!run.stdout.contains("keep it"), "{}", run.stdout);
    // Nothing was appended to the log that did not verify, and this run's comment shows no
    // checkpoint a later run could start from.
    let after = git(checkout.remote.path(), &["rev-list", "driftlog/audit"]);
    assert_eq!(after, rewritten, "the refused log was not extended");
    let comments = checkout.fake.comments(REPO, PR);
    assert_eq!(comments.len(), 1, "the drift is still reported");
    assert!(comments[0].body.contains("filestate_object.web"));
    assert!(
        !comments[0].body.contains("driftlog-checkpoint "),
        "{}",
        comments[0].body
    );
}

#[test]
fn the_events_input_explains_drift_in_the_comment_with_cloud_audit_events() {
    let checkout = Checkout::new(&[]);
    checkout.stack.edit("web", |web| web["size"] = json!(9));
    // A console call a minute before the scan, as CloudTrail logs it.
    let when = std::time::SystemTime::now() - std::time::Duration::from_secs(60);
    let trail = json!({ "Records": [{
        "eventVersion": "1.09",
        "userIdentity": { "type": "IAMUser", "userName": "bob",
                          "arn": "arn:aws:iam::123456789012:user/bob" },
        "eventTime": humantime::format_rfc3339_seconds(when).to_string(),
        "eventSource": "ec2.amazonaws.com",
        "eventName": "ModifyInstanceAttribute",
        "sourceIPAddress": "198.51.100.4",
        "requestParameters": { "instanceId": "web" },
        "eventID": "ev-console",
        "readOnly": false
    }]});
    let events = checkout.file("cloudtrail.json");
    std::fs::write(&events, trail.to_string()).expect("write events");
    let run = checkout.entrypoint(&[
        ("INPUT_STACKS", "."),
        ("INPUT_EVENTS", events.to_str().expect("utf-8")),
    ]);
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    let comments = checkout.fake.comments(REPO, PR);
    assert_eq!(comments.len(), 1);
    assert!(
        comments[0]
            .body
            .contains("ModifyInstanceAttribute by bob at"),
        "{}",
        comments[0].body
    );
    assert!(
        comments[0].body.contains("ev-console"),
        "{}",
        comments[0].body
    );
}

#[test]
fn drift_without_fail_on_drift_passes_the_step_and_comment_off_posts_no_comment() {
    let checkout = Checkout::new(&[]);
    checkout.stack.edit("web", |web| web["size"] = json!(9));
    let run = checkout.entrypoint(&[("INPUT_COMMENT", "false"), ("INPUT_AUDIT", "false")]);
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    assert_eq!(checkout.output("drift").as_deref(), Some("true"));
    assert_eq!(checkout.output("audit-head").as_deref(), Some(""));
    assert!(checkout.fake.comments(REPO, PR).is_empty());
    assert_eq!(
        checkout.fake.check_runs(REPO)[0].conclusion.as_deref(),
        Some("neutral")
    );
}

#[test]
fn several_stacks_add_up_and_a_broken_one_fails_the_step() {
    let broken = "resource \"filestate_object\" \"x\" {\n  nme = \"typo\"\n}\n";
    let checkout = Checkout::new(&[("broken/main.tf", broken)]);
    checkout.stack.edit("web", |web| web["size"] = json!(9));
    checkout.stack.delete("subnet");
    let run = checkout.entrypoint(&[
        ("INPUT_STACKS", ".\n\n  broken  \n"),
        ("INPUT_AUDIT", "false"),
        ("INPUT_JOBS", "2"),
    ]);
    assert_eq!(run.code, 1, "{}{}", run.stdout, run.stderr);
    assert!(
        run.stderr.contains("driftlog: error: broken:"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr
            .contains("::error title=driftlog::driftlog failed"),
        "{}",
        run.stderr
    );
    assert_eq!(checkout.output("drifted-resources").as_deref(), Some("2"));
    assert_eq!(checkout.output("drift").as_deref(), Some("true"));
    let comments = checkout.fake.comments(REPO, PR);
    assert_eq!(comments.len(), 1, "one combined comment for the stacks");
    let body = &comments[0].body;
    assert!(body.contains("| `.` | ⚠️ drifted | 2 |"), "{body}");
    assert!(body.contains("| `broken` | ❌ failed |"), "{body}");
}

#[test]
fn shard_jobs_stay_quiet_and_the_merge_job_posts_one_comment() {
    let other =
        format!("{PROVIDER}\nresource \"filestate_object\" \"o\" {{\n  name = \"other\"\n}}\n");
    let checkout = Checkout::new(&[("other/main.tf", other.as_str())]);
    checkout.stack.apply_in(&checkout.stack.root.join("other"));
    checkout.stack.edit("web", |web| web["size"] = json!(9));
    let temp = checkout.file("runner-temp");
    for shard in ["1/2", "2/2"] {
        let run = checkout.entrypoint(&[
            ("INPUT_STACKS", ".\nother"),
            ("INPUT_SHARD", shard),
            ("INPUT_AUDIT", "false"),
        ]);
        assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
        assert_eq!(
            checkout.output("remediable").as_deref(),
            Some("false"),
            "a shard scans only some stacks"
        );
        assert_eq!(checkout.output("adoptable").as_deref(), Some("false"));
    }
    assert!(
        checkout.fake.comments(REPO, PR).is_empty(),
        "shards do not comment"
    );
    assert!(
        checkout.fake.check_runs(REPO).is_empty(),
        "nor set the check"
    );
    let pattern = format!("{}/driftlog-reports/shard-*.json", temp.display());
    let run = checkout.entrypoint(&[("INPUT_MERGE", pattern.as_str())]);
    assert_eq!(
        run.code, 0,
        "drift without fail-on-drift: {}{}",
        run.stdout, run.stderr
    );
    let comments = checkout.fake.comments(REPO, PR);
    assert_eq!(comments.len(), 1);
    assert!(
        comments[0].body.contains("| `.` | ⚠️ drifted |"),
        "{}",
        comments[0].body
    );
    assert!(
        comments[0].body.contains("| `other` | ✅ clean |"),
        "{}",
        comments[0].body
    );
    assert_eq!(checkout.fake.check_runs(REPO).len(), 1);
    assert_eq!(checkout.output("remediable").as_deref(), Some("false"));
}

/// `bash action/remediate.sh` with `inputs`: see [`after_scan_step`].
fn remediate_step(inputs: &[(&str, &str)]) -> (i32, String, String) {
    after_scan_step("remediate.sh", inputs)
}

/// `bash action/<script>` with `inputs`, driftlog replaced by a script that writes down its
/// arguments and whether it got the key and the token, then exits with `FAKE_EXIT`: (exit
/// code, stderr, what it wrote).
fn after_scan_step(script: &str, inputs: &[(&str, &str)]) -> (i32, String, String) {
    use std::os::unix::fs::PermissionsExt;
    let dir = TempDir::new().expect("temp dir");
    let seen = dir.path().join("seen");
    let fake = dir.path().join("driftlog");
    std::fs::write(
        &fake,
        format!(
            "#!/usr/bin/env bash\n\
             {{ printf '%s\\n' \"$@\"; \
             [[ $DRIFTLOG_SIGNING_KEY == key-s3cr3t ]] && echo key; \
             [[ $INPUT_GITHUB_TOKEN == {TOKEN} ]] && echo token; }} >{}\n\
             exit \"${{FAKE_EXIT:-0}}\"\n",
            seen.display()
        ),
    )
    .expect("write fake driftlog");
    std::fs::set_permissions(&fake, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    let out = Command::new("bash")
        .arg(action_dir().join("action").join(script))
        .current_dir(dir.path())
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("DRIFTLOG", &fake)
        .env("INPUT_SIGNING_KEY", "key-s3cr3t")
        .env("INPUT_GITHUB_TOKEN", TOKEN)
        .envs(inputs.iter().copied())
        .output()
        .unwrap_or_else(|e| panic!("run {script}: {e}"));
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stderr).into_owned(),
        std::fs::read_to_string(&seen).unwrap_or_default(),
    )
}

#[test]
fn the_remediate_step_passes_the_scans_stacks_config_key_and_token_through() {
    let (code, stderr, seen) = remediate_step(&[
        ("INPUT_STACKS", "infra/prod\n  infra/net  \n"),
        ("INPUT_TERRAFORM_BIN", "tofu"),
        ("INPUT_INIT", "true"),
        ("INPUT_AUDIT", "true"),
        ("INPUT_AUDIT_BRANCH", "audit/log"),
        ("INPUT_AUDIT_DEADLINE", "90s"),
        ("INPUT_CONFIG", "ops/driftlog.toml"),
    ]);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(
        seen.lines().collect::<Vec<_>>(),
        [
            "remediate",
            "infra/prod",
            "infra/net",
            "--apply",
            "--terraform-bin",
            "tofu",
            "--audit-branch",
            "audit/log",
            "--audit-deadline",
            "90s",
            "--init",
            "--config",
            "ops/driftlog.toml",
            "key",
            "token",
        ]
    );

    // No stacks given: the configuration's; no init, no config.
    let (code, stderr, seen) = remediate_step(&[("INPUT_STACKS", ""), ("INPUT_INIT", "false")]);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(
        seen.lines().collect::<Vec<_>>(),
        [
            "remediate",
            "--apply",
            "--terraform-bin",
            "terraform",
            "--audit-branch",
            "driftlog/audit",
            "--audit-deadline",
            "3m",
            "key",
            "token",
        ]
    );
}

#[test]
fn drift_left_after_remediation_passes_the_step_and_an_error_fails_it() {
    let (code, stderr, _) = remediate_step(&[("FAKE_EXIT", "2")]);
    assert_eq!(code, 0, "{stderr}");
    assert!(stderr.is_empty(), "{stderr}");
    let (code, stderr, _) = remediate_step(&[("FAKE_EXIT", "1")]);
    assert_eq!(code, 1);
    assert!(
        stderr.contains("::error title=driftlog::driftlog remediate failed (exit 1)"),
        "{stderr}"
    );
}

#[test]
fn the_remediate_step_needs_the_audit_log_and_its_key() {
    let (code, stderr, seen) = remediate_step(&[("INPUT_AUDIT", "false")]);
    assert_eq!(code, 1);
    assert!(
        stderr.contains("::error title=driftlog::remediate needs audit: true"),
        "{stderr}"
    );
    assert!(seen.is_empty(), "driftlog did not run");
    let (code, stderr, seen) = remediate_step(&[("INPUT_SIGNING_KEY", "")]);
    assert_eq!(code, 1);
    assert!(
        stderr.contains("remediate needs the signing-key input"),
        "{stderr}"
    );
    assert!(seen.is_empty(), "driftlog did not run");
}

#[test]
fn the_adopt_step_proposes_over_the_scans_stacks_and_needs_the_key() {
    let (code, stderr, seen) = after_scan_step(
        "adopt.sh",
        &[
            ("INPUT_STACKS", "infra/prod\n"),
            ("INPUT_INIT", "false"),
            ("INPUT_CONFIG", "ops/driftlog.toml"),
        ],
    );
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(
        seen.lines().collect::<Vec<_>>(),
        [
            "adopt",
            "infra/prod",
            "--pull-request",
            "--terraform-bin",
            "terraform",
            "--audit-branch",
            "driftlog/audit",
            "--audit-deadline",
            "3m",
            "--config",
            "ops/driftlog.toml",
            "key",
            "token",
        ]
    );
    let (code, _, _) = after_scan_step("adopt.sh", &[("FAKE_EXIT", "2")]);
    assert_eq!(code, 0, "some drift refused is a notice, not a failure");
    let (code, stderr, _) = after_scan_step("adopt.sh", &[("FAKE_EXIT", "1")]);
    assert_eq!(code, 1);
    assert!(
        stderr.contains("driftlog adopt failed (exit 1)"),
        "{stderr}"
    );
    let (code, stderr, seen) = after_scan_step("adopt.sh", &[("INPUT_SIGNING_KEY", "")]);
    assert_eq!(code, 1);
    assert!(
        stderr.contains("adopt needs the signing-key input"),
        "{stderr}"
    );
    assert!(seen.is_empty(), "driftlog did not run");
}

#[test]
fn audit_without_a_key_is_a_clear_error() {
    let checkout = Checkout::new(&[]);
    let run = checkout.entrypoint(&[("INPUT_SIGNING_KEY", "")]);
    assert_eq!(run.code, 1);
    assert!(
        run.stderr.contains("signing-key input is empty"),
        "{}",
        run.stderr
    );
}

/// A release server holding `driftlog-<target>.tar.gz` and its `.sha256` for this version.
struct Release {
    _dir: TempDir,
    server: std::sync::Arc<tiny_http::Server>,
    thread: Option<std::thread::JoinHandle<()>>,
    base: String,
}

impl Release {
    fn serve(corrupt: bool) -> Release {
        let dir = TempDir::new().expect("release dir");
        let staging = dir.path().join("staging");
        std::fs::create_dir_all(&staging).expect("mkdir");
        std::fs::copy(env!("CARGO_BIN_EXE_driftlog"), staging.join("driftlog")).expect("copy");
        let target = format!("{}-unknown-linux-gnu", std::env::consts::ARCH);
        let asset = format!("driftlog-{target}.tar.gz");
        let tarball = dir.path().join(&asset);
        let status = Command::new("tar")
            .args(["-czf"])
            .arg(&tarball)
            .args(["-C"])
            .arg(&staging)
            .arg("driftlog")
            .status()
            .expect("run tar");
        assert!(status.success());
        let bytes = std::fs::read(&tarball).expect("read tarball");
        let digest = if corrupt {
            "0".repeat(64)
        } else {
            crate::support::sha256(&bytes)
        };
        let checksum = format!("{digest}  {asset}\n");
        let version = env!("CARGO_PKG_VERSION");
        let server = std::sync::Arc::new(
            tiny_http::Server::http("127.0.0.1:0").expect("bind release server"),
        );
        let port = server.server_addr().to_ip().expect("ip").port();
        let files = [
            (format!("/v{version}/{asset}"), bytes),
            (format!("/v{version}/{asset}.sha256"), checksum.into_bytes()),
        ];
        let serving = server.clone();
        let thread = std::thread::spawn(move || {
            for request in serving.incoming_requests() {
                let found = files.iter().find(|(path, _)| path == request.url());
                let _ = match found {
                    Some((_, body)) => {
                        request.respond(tiny_http::Response::from_data(body.clone()))
                    }
                    None => request.respond(tiny_http::Response::empty(404)),
                };
            }
        });
        Release {
            _dir: dir,
            server,
            thread: Some(thread),
            base: format!("http://127.0.0.1:{port}"),
        }
    }
}

impl Drop for Release {
    fn drop(&mut self) {
        self.server.unblock();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

fn install(env: &[(&str, &str)], cache: &Path) -> (i32, String, String) {
    let out = Command::new("bash")
        .arg(action_dir().join("action/install.sh"))
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("RUNNER_OS", "Linux")
        .env(
            "RUNNER_ARCH",
            if cfg!(target_arch = "aarch64") {
                "ARM64"
            } else {
                "X64"
            },
        )
        .env("RUNNER_TOOL_CACHE", cache)
        .env("GITHUB_ACTION_PATH", action_dir())
        .envs(env.iter().copied())
        .output()
        .expect("run install.sh");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn install_downloads_the_release_asset_and_checks_its_sha256() {
    let release = Release::serve(false);
    let cache = TempDir::new().expect("cache");
    let (code, stdout, stderr) = install(
        &[("DRIFTLOG_RELEASE_BASE_URL", release.base.as_str())],
        cache.path(),
    );
    assert_eq!(code, 0, "{stdout}{stderr}");
    let path = stdout
        .lines()
        .find_map(|l| l.strip_prefix("path="))
        .expect("path output");
    assert!(
        path.starts_with(cache.path().to_str().expect("utf-8")),
        "{path}"
    );
    let version = Command::new(path).arg("--version").output().expect("run");
    assert!(String::from_utf8_lossy(&version.stdout).contains(env!("CARGO_PKG_VERSION")));
}

#[test]
fn install_refuses_an_asset_whose_checksum_does_not_match() {
    let release = Release::serve(true);
    let cache = TempDir::new().expect("cache");
    let (code, stdout, stderr) = install(
        &[("DRIFTLOG_RELEASE_BASE_URL", release.base.as_str())],
        cache.path(),
    );
    assert_eq!(code, 1, "{stdout}{stderr}");
    assert!(stderr.contains("checksum mismatch"), "{stderr}");
    assert!(!stdout.contains("path="));
    let installed = walk(cache.path())
        .into_iter()
        .any(|p| p.ends_with("driftlog"));
    assert!(!installed, "nothing was installed");
}

#[test]
fn install_uses_the_binary_input_as_given() {
    let cache = TempDir::new().expect("cache");
    let binary = env!("CARGO_BIN_EXE_driftlog");
    let (code, stdout, stderr) = install(&[("INPUT_BINARY", binary)], cache.path());
    assert_eq!(code, 0, "{stderr}");
    assert!(stdout.contains(&format!("path={binary}")), "{stdout}");
    let (code, _, stderr) = install(&[("INPUT_BINARY", "/nonexistent/driftlog")], cache.path());
    assert_eq!(code, 1);
    assert!(stderr.contains("not an executable file"), "{stderr}");
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        if path.is_dir() {
            found.extend(walk(&path));
        } else {
            found.push(path);
        }
    }
    found
}

/// The entrypoint's own programs (git here, which could run ssh or a credential helper) never
/// see the signing key or the token: only driftlog gets them, and the record is still made.
#[test]
fn the_key_and_the_token_reach_no_program_the_action_starts_but_driftlog() {
    use std::os::unix::fs::PermissionsExt;

    let checkout = Checkout::new(&[]);
    checkout.stack.edit("web", |web| web["size"] = json!(9));
    let spy_bin = checkout.file("spy-bin");
    std::fs::create_dir_all(&spy_bin).expect("mkdir");
    let seen = checkout.file("git-environments.log");
    let real_git = std::process::Command::new("sh")
        .args(["-c", "command -v git"])
        .output()
        .expect("sh");
    let real_git = String::from_utf8(real_git.stdout).expect("utf-8");
    let spy = spy_bin.join("git");
    std::fs::write(
        &spy,
        format!(
            "#!/bin/sh\nenv >> '{}'\nexec '{}' \"$@\"\n",
            seen.display(),
            real_git.trim()
        ),
    )
    .expect("write spy");
    std::fs::set_permissions(&spy, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    let path = format!(
        "{}:{}",
        spy_bin.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let run = checkout.entrypoint(&[("INPUT_STACKS", "."), ("PATH", path.as_str())]);
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    assert!(
        checkout.output("audit-head").is_some(),
        "driftlog still got the key and recorded: {}{}",
        run.stdout,
        run.stderr
    );
    let environments = std::fs::read_to_string(&seen).expect("git ran");
    let key_line = checkout.key.lines().nth(1).expect("a key body line");
    assert!(!environments.contains(key_line), "git saw the signing key");
    assert!(!environments.contains(TOKEN), "git saw the token");
}
