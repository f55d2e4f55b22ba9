//! Reporting on GitHub end to end: real scans inside a simulated Actions runner, posting to
//! the stateful fake GitHub API; every assertion is on what the fake holds afterwards or on
//! the runner's files.

use std::path::PathBuf;
use std::time::Duration;

use serde_json::{json, Value};
use tempfile::TempDir;

use crate::fake_github::{FakeGithub, Fault};
use crate::support::{assert_contains, git, Run, Stack};

pub(crate) const TOKEN: &str = "ghs_fakeTOKENs3cr3t0123456789";
pub(crate) const REPO: &str = "acme/infra";
pub(crate) const PR: u64 = 7;
pub(crate) const HEAD_SHA: &str = "1111111111111111111111111111111111111111";
const MERGE_SHA: &str = "2222222222222222222222222222222222222222";

/// A GitHub Actions runner around a stack: its environment, event payload and files.
pub(crate) struct Runner {
    pub(crate) fake: FakeGithub,
    pub(crate) stack: Stack,
    files: TempDir,
    event: Value,
    api_url: String,
}

impl Runner {
    pub(crate) fn pull_request() -> Runner {
        Runner::with_event(json!({
            "action": "synchronize",
            "number": PR,
            "pull_request": { "number": PR, "head": { "sha": HEAD_SHA } },
        }))
    }

    pub(crate) fn scheduled() -> Runner {
        Runner::with_event(json!({ "schedule": "0 3 * * *" }))
    }

    pub(crate) fn with_event(event: Value) -> Runner {
        let stack = Stack::rich();
        stack.apply(&[]);
        Runner::around(stack, event)
    }

    pub(crate) fn around(stack: Stack, event: Value) -> Runner {
        let fake = FakeGithub::start(TOKEN);
        let api_url = fake.api_url();
        Runner {
            fake,
            stack,
            files: TempDir::new().expect("runner dir"),
            event,
            api_url,
        }
    }

    pub(crate) fn path(&self, name: &str) -> PathBuf {
        self.files.path().join(name)
    }

    pub(crate) fn env(&self) -> Vec<(String, String)> {
        let event_path = self.path("event.json");
        std::fs::write(&event_path, self.event.to_string()).expect("write event");
        let event_name = if self.event.get("schedule").is_some() {
            "schedule"
        } else if self.event.get("pull_request").is_some() {
            "pull_request"
        } else {
            "push"
        };
        let runner_temp = self.path("runner-temp");
        std::fs::create_dir_all(&runner_temp).expect("runner temp");
        [
            ("GITHUB_ACTIONS", "true".to_owned()),
            ("GITHUB_REPOSITORY", REPO.to_owned()),
            ("GITHUB_EVENT_NAME", event_name.to_owned()),
            ("GITHUB_EVENT_PATH", event_path.display().to_string()),
            ("GITHUB_SHA", MERGE_SHA.to_owned()),
            ("GITHUB_RUN_ID", "8813".to_owned()),
            ("GITHUB_SERVER_URL", "https://github.com".to_owned()),
            ("GITHUB_API_URL", self.api_url.clone()),
            ("GITHUB_TOKEN", TOKEN.to_owned()),
            ("GITHUB_WORKSPACE", self.stack.root.display().to_string()),
            (
                "GITHUB_STEP_SUMMARY",
                self.path("summary.md").display().to_string(),
            ),
            ("GITHUB_OUTPUT", self.path("output").display().to_string()),
            ("RUNNER_TEMP", runner_temp.display().to_string()),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v))
        .collect()
    }

    /// `driftlog scan . ARGS` from the stack's directory, as a workflow step would.
    pub(crate) fn scan(&self, args: &[&str]) -> Run {
        self.stack.driftlog_with_env(
            &self.stack.root,
            &[&["scan", ".", "--no-audit"][..], args].concat(),
            &self.env(),
        )
    }

    pub(crate) fn drift_web(&self) {
        self.stack.edit("web", |web| {
            web["description"] = json!("edited in the console");
        });
    }

    pub(crate) fn undo_drift(&self) {
        self.stack.edit("web", |web| {
            web["description"] = json!("web tier");
        });
    }

    pub(crate) fn summary(&self) -> String {
        std::fs::read_to_string(self.path("summary.md")).unwrap_or_default()
    }

    pub(crate) fn outputs(&self) -> String {
        std::fs::read_to_string(self.path("output")).unwrap_or_default()
    }

    pub(crate) fn pr_comments(&self) -> Vec<crate::fake_github::Comment> {
        self.fake.comments(REPO, PR)
    }

    pub(crate) fn driftlog_comments(&self) -> Vec<crate::fake_github::Comment> {
        self.pr_comments()
            .into_iter()
            .filter(|c| c.body.contains("<!-- driftlog:comment id=. -->"))
            .collect()
    }
}

/// The 1-based line of the first line of `file` that contains `needle`.
fn line_of(file: &std::path::Path, needle: &str) -> usize {
    let text = std::fs::read_to_string(file).expect("read file");
    text.lines()
        .position(|line| line.contains(needle))
        .map(|i| i + 1)
        .unwrap_or_else(|| panic!("{needle:?} not in {}", file.display()))
}

#[test]
fn one_sticky_comment_is_created_updated_and_marked_clean_again() {
    let runner = Runner::pull_request();
    runner.drift_web();

    let first = runner.scan(&[]);
    assert_eq!(first.code, 2, "drift exits 2; stderr: {}", first.stderr);
    let comments = runner.driftlog_comments();
    assert_eq!(comments.len(), 1, "one comment after the first run");
    let body = &comments[0].body;
    assert!(body.contains("### ⚠️ Drift in"), "{body}");
    assert!(body.contains("filestate_object.web"), "{body}");
    assert!(
        body.contains("edited in the console"),
        "the diff is shown: {body}"
    );
    assert!(
        body.contains("[run 8813](https://github.com/acme/infra/actions/runs/8813)"),
        "the comment links the run: {body}"
    );
    assert!(!first.stderr.contains(TOKEN), "the token is never printed");

    let second = runner.scan(&[]);
    assert_eq!(second.code, 2, "{}", second.stderr);
    let comments = runner.driftlog_comments();
    assert_eq!(comments.len(), 1, "a re-run updates, never adds");
    assert_eq!(comments[0].updates, 1, "the same comment was edited once");

    runner.undo_drift();
    let clean = runner.scan(&[]);
    assert_eq!(clean.code, 0, "{}", clean.stderr);
    let comments = runner.driftlog_comments();
    assert_eq!(comments.len(), 1);
    assert_eq!(comments[0].updates, 2);
    let body = &comments[0].body;
    assert!(body.contains("is clean again"), "{body}");
    assert!(body.contains("No drift since "), "{body}");
    assert!(
        !body.contains("filestate_object.web"),
        "the table is gone: {body}"
    );
    assert_eq!(
        runner.pr_comments().len(),
        1,
        "nothing else was posted on the pull request"
    );
}

#[test]
fn a_clean_first_run_posts_no_comment() {
    let runner = Runner::pull_request();
    let run = runner.scan(&[]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(runner.pr_comments().is_empty());
    assert!(
        runner.summary().contains("### ✅ No drift in"),
        "the job summary still says so"
    );
}

#[test]
fn separate_stacks_keep_separate_comments() {
    let runner = Runner::pull_request();
    runner.drift_web();
    for id in ["infra/prod", "infra/staging", "infra/prod"] {
        let run = runner.scan(&["--report-id", id]);
        assert_eq!(run.code, 2, "{}", run.stderr);
    }
    let comments = runner.pr_comments();
    assert_eq!(comments.len(), 2, "one per id: {comments:#?}");
    assert!(comments[0]
        .body
        .starts_with("<!-- driftlog:comment id=infra/prod -->"));
    assert_eq!(comments[0].updates, 1);
    assert!(comments[1]
        .body
        .starts_with("<!-- driftlog:comment id=infra/staging -->"));
}

#[test]
fn a_busy_pull_request_is_paginated() {
    let runner = Runner::pull_request();
    runner.fake.seed_comments(REPO, PR, 120, "reviewer");
    runner.drift_web();
    let first = runner.scan(&[]);
    assert_eq!(first.code, 2, "{}", first.stderr);
    let second = runner.scan(&[]);
    assert_eq!(second.code, 2, "{}", second.stderr);
    let comments = runner.pr_comments();
    assert_eq!(
        comments.len(),
        121,
        "120 chatty comments and driftlog's one"
    );
    let ours = runner.driftlog_comments();
    assert_eq!(ours.len(), 1);
    assert_eq!(ours[0].updates, 1, "found on the second page and updated");
    let pages: Vec<String> = runner
        .fake
        .requests()
        .into_iter()
        .filter(|r| r.method == "GET" && r.path.ends_with(&format!("/issues/{PR}/comments")))
        .map(|r| r.query)
        .collect();
    assert!(
        pages.iter().any(|q| q.contains("page=2")),
        "the second page was fetched: {pages:?}"
    );
}

#[test]
fn scheduled_scans_keep_one_issue_per_stack() {
    let runner = Runner::scheduled();
    runner.drift_web();
    let first = runner.scan(&[]);
    assert_eq!(first.code, 2, "{}", first.stderr);
    let issues = runner.fake.issues(REPO);
    assert_eq!(issues.len(), 1, "{issues:#?}");
    assert_eq!(issues[0].state, "open");
    assert_eq!(issues[0].labels, vec!["drift".to_owned()]);
    assert_contains(&issues[0].title, ".");
    assert!(issues[0].body.contains("filestate_object.web"));
    assert!(
        runner.fake.labels(REPO).iter().any(|l| l.name == "drift"),
        "the label was created"
    );
    assert!(runner.pr_comments().is_empty(), "no pull request involved");

    // Same drift again: the body is refreshed, no comment (nothing changed).
    let second = runner.scan(&[]);
    assert_eq!(second.code, 2, "{}", second.stderr);
    let issues = runner.fake.issues(REPO);
    assert_eq!(issues.len(), 1);
    assert!(issues[0].comments.is_empty(), "{:#?}", issues[0].comments);

    // Another resource drifts: the set changed, so one comment says what.
    runner.stack.delete("counted-0");
    let third = runner.scan(&[]);
    assert_eq!(third.code, 2, "{}", third.stderr);
    let issues = runner.fake.issues(REPO);
    assert_eq!(issues.len(), 1);
    assert_eq!(issues[0].comments.len(), 1);
    assert_contains(&issues[0].comments[0].body, "Newly drifted");

    // Clean: closed with a short comment.
    runner.stack.apply(&[]);
    let clean = runner.scan(&[]);
    assert_eq!(clean.code, 0, "{}", clean.stderr);
    let issues = runner.fake.issues(REPO);
    assert_eq!(issues.len(), 1);
    assert_eq!(issues[0].state, "closed");
    assert!(issues[0]
        .comments
        .last()
        .is_some_and(|c| c.body.contains("clean again")));

    // Drift again: the same issue is reopened, not duplicated.
    runner.drift_web();
    let again = runner.scan(&[]);
    assert_eq!(again.code, 2, "{}", again.stderr);
    let issues = runner.fake.issues(REPO);
    assert_eq!(issues.len(), 1, "reopened, not duplicated");
    assert_eq!(issues[0].state, "open");
}

#[test]
fn a_read_only_token_warns_and_keeps_the_drift_exit_code() {
    let runner = Runner::pull_request();
    runner.fake.deny_writes();
    runner.drift_web();
    let run = runner.scan(&[]);
    assert_eq!(
        run.code, 2,
        "the exit code reflects the drift: {}",
        run.stderr
    );
    assert_contains(&run.stderr, "warning");
    assert!(
        run.stderr.contains("fork"),
        "the warning explains: {}",
        run.stderr
    );
    assert!(runner.pr_comments().is_empty());
    assert!(
        runner.summary().contains("filestate_object.web"),
        "the job summary is still written"
    );
    assert!(runner.outputs().contains("drift=true"));
}

#[test]
fn server_errors_are_retried() {
    let runner = Runner::pull_request();
    runner.fake.inject(Fault {
        method: "POST",
        path_contains: format!("/issues/{PR}/comments"),
        status: 500,
        headers: vec![],
        body: String::new(),
        times: 1,
    });
    runner.drift_web();
    let run = runner.scan(&[]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert_eq!(runner.driftlog_comments().len(), 1);
    let posts: Vec<u16> = runner
        .fake
        .requests()
        .into_iter()
        .filter(|r| r.method == "POST" && r.path.ends_with("/comments"))
        .map(|r| r.status)
        .collect();
    assert_eq!(posts, vec![500, 201]);
}

#[test]
fn rate_limits_are_waited_out_as_told() {
    let runner = Runner::pull_request();
    runner.fake.inject(Fault {
        method: "GET",
        path_contains: format!("/issues/{PR}/comments"),
        status: 429,
        headers: vec![("Retry-After".into(), "2".into())],
        body: r#"{"message":"You have exceeded a secondary rate limit"}"#.into(),
        times: 1,
    });
    runner.drift_web();
    let run = runner.scan(&[]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert_eq!(runner.driftlog_comments().len(), 1);
    let lists: Vec<_> = runner
        .fake
        .requests()
        .into_iter()
        .filter(|r| r.method == "GET" && r.path.ends_with("/comments"))
        .collect();
    assert_eq!(lists.len(), 2, "{lists:#?}");
    assert_eq!(lists[0].status, 429);
    assert!(
        lists[1].at.duration_since(lists[0].at) >= Duration::from_secs(2),
        "Retry-After was honoured"
    );
}

#[test]
fn persistent_server_errors_fail_after_bounded_retries() {
    let runner = Runner::pull_request();
    runner.fake.inject(Fault {
        method: "*",
        path_contains: "/issues/".into(),
        status: 502,
        headers: vec![("Retry-After".into(), "0".into())],
        body: String::new(),
        times: 100,
    });
    runner.drift_web();
    let run = runner.scan(&["--no-status"]);
    // A failure after the scan is an error, and drift still exits 2.
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert_contains(&run.stderr, "after 5 attempts");
    assert_contains(&run.stderr, "::error title=driftlog::");
    assert_contains(&run.stderr, "HTTP 502");
    assert!(
        runner.summary().contains("filestate_object.web"),
        "the summary does not depend on the API"
    );
    let attempts = runner
        .fake
        .requests()
        .iter()
        .filter(|r| r.path.contains("/issues/"))
        .count();
    assert_eq!(attempts, 5);
}

#[test]
fn bad_credentials_are_an_error_that_names_the_token_variable() {
    let mut runner = Runner::pull_request();
    runner.drift_web();
    let mut env = runner.env();
    for (key, value) in &mut env {
        if key == "GITHUB_TOKEN" {
            *value = "wrong-token".into();
        }
    }
    runner.api_url = runner.fake.api_url();
    let run =
        runner
            .stack
            .driftlog_with_env(&runner.stack.root, &["scan", ".", "--no-audit"], &env);
    // An error, reported after the other stages; the drift still exits 2.
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert_contains(&run.stderr, "driftlog: error:");
    assert_contains(&run.stderr, "GITHUB_TOKEN");
    assert!(!run.stderr.contains("wrong-token"));
}

#[test]
fn summary_outputs_and_annotations_reach_the_runner() {
    let runner = Runner::pull_request();
    runner.drift_web();
    let run = runner.scan(&[]);
    assert_eq!(run.code, 2, "{}", run.stderr);

    let summary = runner.summary();
    assert!(summary.contains("### ⚠️ Drift in"), "{summary}");
    assert!(summary.contains("[run 8813]"), "{summary}");

    let outputs = runner.outputs();
    assert!(outputs.lines().any(|l| l == "drift=true"), "{outputs}");
    assert!(
        outputs.lines().any(|l| l == "drifted-resources=1"),
        "{outputs}"
    );
    let report_json = outputs
        .lines()
        .find_map(|l| l.strip_prefix("report-json="))
        .expect("report-json output");
    let saved: Value =
        serde_json::from_str(&std::fs::read_to_string(report_json).expect("read report"))
            .expect("the saved report is JSON");
    assert_eq!(saved["status"], "drifted");

    let main_tf = runner.stack.root.join("main.tf");
    let line = line_of(&main_tf, r#"resource "filestate_object" "web""#);
    let annotation = format!("::warning file=main.tf,line={line},title=");
    assert!(
        run.stderr.lines().any(|l| l.starts_with(&annotation)),
        "expected {annotation:?} in:\n{}",
        run.stderr
    );
    assert!(
        !run.stdout.contains("::warning"),
        "stdout keeps only the report"
    );
}

#[test]
fn drifted_module_resources_are_annotated_in_the_module_file() {
    let runner = Runner::pull_request();
    runner.stack.edit("subnet", |subnet| {
        subnet["description"] = json!("moved by hand");
    });
    let run = runner.scan(&[]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    let module_tf = runner.stack.root.join("modules/net/main.tf");
    let line = line_of(&module_tf, "resource \"filestate_object\"");
    let annotation = format!("::warning file=modules/net/main.tf,line={line},");
    assert!(
        run.stderr.lines().any(|l| l.starts_with(&annotation)),
        "expected {annotation:?} in:\n{}",
        run.stderr
    );
}

#[test]
fn the_status_is_a_check_run_or_else_a_commit_status_on_the_head_commit() {
    let runner = Runner::pull_request();
    runner.drift_web();
    let run = runner.scan(&["--fail-on-drift"]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    let checks = runner.fake.check_runs(REPO);
    assert_eq!(checks.len(), 1);
    assert_eq!(checks[0].name, "driftlog");
    assert_eq!(
        checks[0].head_sha, HEAD_SHA,
        "the head, not the merge commit"
    );
    assert_eq!(checks[0].conclusion.as_deref(), Some("failure"));

    runner.fake.deny_check_runs();
    let run = runner.scan(&[]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    let statuses = runner.fake.statuses(REPO, HEAD_SHA);
    assert_eq!(statuses.len(), 1, "{statuses:#?}");
    assert_eq!(statuses[0].context, "driftlog");
    assert_eq!(
        statuses[0].state, "success",
        "drift fails only with --fail-on-drift"
    );
    assert!(statuses[0]
        .description
        .as_deref()
        .is_some_and(|d| d.contains("1 resource drifted") && d.chars().count() <= 140));

    runner.undo_drift();
    let run = runner.scan(&["--fail-on-drift"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let statuses = runner.fake.statuses(REPO, HEAD_SHA);
    assert_eq!(statuses.last().map(|s| s.state.as_str()), Some("success"));
}

#[test]
fn github_enterprise_api_urls_work() {
    let mut runner = Runner::pull_request();
    runner.api_url = runner.fake.enterprise_api_url();
    runner.fake.seed_comments(REPO, PR, 105, "reviewer");
    runner.drift_web();
    for _ in 0..2 {
        let run = runner.scan(&[]);
        assert_eq!(run.code, 2, "{}", run.stderr);
    }
    assert_eq!(runner.driftlog_comments().len(), 1);
    assert_eq!(runner.driftlog_comments()[0].updates, 1);
}

#[test]
fn a_saved_report_is_posted_by_report_post() {
    let runner = Runner::pull_request();
    runner.drift_web();
    let report = runner.path("report.json");
    let scan = runner.stack.driftlog_with_env(
        &runner.stack.root,
        &[
            "scan",
            ".",
            "--no-audit",
            "--no-comment",
            "--no-status",
            "--output",
            report.to_str().expect("utf-8"),
        ],
        &runner.env(),
    );
    assert_eq!(scan.code, 2, "{}", scan.stderr);
    assert!(runner.pr_comments().is_empty());

    let post = runner.stack.driftlog_with_env(
        &runner.stack.root,
        &["report", "post", report.to_str().expect("utf-8")],
        &runner.env(),
    );
    assert_eq!(post.code, 2, "exits like the scan: {}", post.stderr);
    assert_eq!(runner.driftlog_comments().len(), 1);

    std::fs::write(&report, "{ not json").expect("write");
    let broken = runner.stack.driftlog_with_env(
        &runner.stack.root,
        &["report", "post", report.to_str().expect("utf-8")],
        &runner.env(),
    );
    assert_eq!(broken.code, 1);
    assert_contains(&broken.stderr, "is not a driftlog JSON report");
}

#[test]
fn outside_actions_repo_and_pr_do_the_same_by_hand() {
    let runner = Runner::pull_request();
    runner.drift_web();
    let env = vec![
        ("GITHUB_TOKEN".to_owned(), TOKEN.to_owned()),
        ("GITHUB_API_URL".to_owned(), runner.api_url.clone()),
    ];
    let pr = PR.to_string();
    let run = runner.stack.driftlog_with_env(
        &runner.stack.root,
        &[
            "scan",
            ".",
            "--no-audit",
            "--repo",
            REPO,
            "--pr",
            &pr,
            "--sha",
            HEAD_SHA,
        ],
        &env,
    );
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert_eq!(runner.driftlog_comments().len(), 1);
    assert!(
        !run.stderr.contains("::warning"),
        "no workflow commands outside Actions"
    );

    let no_token = runner.stack.driftlog_with_env(
        &runner.stack.root,
        &["scan", ".", "--no-audit", "--repo", REPO, "--pr", &pr],
        &[],
    );
    assert_eq!(no_token.code, 1);
    assert_contains(&no_token.stderr, "needs a token");
}

#[test]
fn secrets_never_reach_github() {
    let runner = Runner::pull_request();
    runner.stack.edit("web", |web| {
        web["secret"] = json!("n3w-s3cr3t-FROM-console");
    });
    let run = runner.scan(&[]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    let body = &runner.driftlog_comments()[0].body;
    assert!(body.contains("sensitive"), "{body}");
    for secret in ["n3w-s3cr3t-FROM-console", "s3cr3t-OLD-value"] {
        assert!(!body.contains(secret));
        assert!(!runner.summary().contains(secret));
        assert!(!run.stderr.contains(secret));
        for check in runner.fake.check_runs(REPO) {
            assert!(!check.summary.unwrap_or_default().contains(secret));
        }
    }
}

#[test]
fn the_comment_and_outputs_witness_the_audit_record() {
    use driftlog::audit::sshsig::SigningKey;

    let runner = Runner::pull_request();
    let root = &runner.stack.root;
    git(root, &["init", "-q", "-b", "main"]);
    git(root, &["config", "user.name", "Platform CI"]);
    git(root, &["config", "user.email", "ci@example.com"]);
    std::fs::write(root.join(".gitignore"), ".terraform/\nstore/\n*.tfstate*\n").expect("write");
    git(root, &["add", "."]);
    git(root, &["commit", "-q", "-m", "stack"]);
    let key = SigningKey::generate().expect("key");
    let key_file = runner.path("signing_key");
    std::fs::write(&key_file, key.to_openssh("ci").expect("encode")).expect("write key");
    runner.drift_web();

    let run = runner.stack.driftlog_with_env(
        root,
        &[
            "scan",
            ".",
            "--signing-key",
            key_file.to_str().expect("utf-8"),
        ],
        &runner.env(),
    );
    assert_eq!(run.code, 2, "{}", run.stderr);
    let head = git(root, &["rev-parse", "driftlog/audit"]);
    let outputs = runner.outputs();
    assert!(
        outputs
            .lines()
            .any(|l| l == format!("audit-head={}", head.trim())),
        "{outputs}"
    );
    assert!(outputs.lines().any(|l| l == "audit-record=0"), "{outputs}");

    let checkpoint = run
        .stderr
        .lines()
        .find(|l| l.starts_with("driftlog-checkpoint "))
        .expect("the checkpoint line is printed");
    let body = &runner.driftlog_comments()[0].body;
    assert!(
        body.contains(checkpoint),
        "the comment carries the checkpoint: {body}"
    );
    assert!(body.contains("record 0 · `sha256:"), "{body}");
    let allowed = runner.path("allowed_signers");
    std::fs::write(
        &allowed,
        driftlog::audit::sshsig::allowed_signers_line("driftlog@ci", &key),
    )
    .expect("write allowed signers");
    let verify = runner.stack.driftlog_in(
        root,
        &[
            "verify",
            "--allowed-signers",
            allowed.to_str().expect("utf-8"),
            "--checkpoint",
            checkpoint,
        ],
    );
    assert_eq!(
        verify.code, 0,
        "the checkpoint from the comment verifies: {}{}",
        verify.stdout, verify.stderr
    );
}

#[test]
fn a_push_sets_the_status_but_keeps_no_issue() {
    let runner = Runner::with_event(json!({ "ref": "refs/heads/main", "after": MERGE_SHA }));
    runner.drift_web();
    let run = runner.scan(&[]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(
        runner.fake.issues(REPO).is_empty(),
        "issues are for scheduled runs"
    );
    let checks = runner.fake.check_runs(REPO);
    assert_eq!(checks.len(), 1);
    assert_eq!(
        checks[0].head_sha, MERGE_SHA,
        "GITHUB_SHA without a pull request"
    );
    assert_eq!(checks[0].conclusion.as_deref(), Some("neutral"));
}

#[test]
fn a_huge_drift_still_fits_one_comment() {
    let long = "x".repeat(200);
    let config = format!(
        "{}\nresource \"filestate_object\" \"many\" {{\n  count       = 250\n  name        = \"many-${{count.index}}\"\n  description = \"{long}\"\n}}\n",
        crate::support::PROVIDER
    );
    let stack = Stack::new(&[("main.tf", &config)]);
    stack.apply(&[]);
    for index in 0..250 {
        stack.edit(&format!("many-{index}"), |object| {
            object["description"] = json!("y".repeat(250));
        });
    }
    let runner = Runner::around(
        stack,
        json!({ "pull_request": { "number": PR, "head": { "sha": HEAD_SHA } } }),
    );
    let run = runner.scan(&[]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    let comments = runner.driftlog_comments();
    assert_eq!(
        comments.len(),
        1,
        "GitHub (the fake) accepted the body: {}",
        run.stderr
    );
    let body = &comments[0].body;
    assert!(body.encode_utf16().count() <= 65_536);
    assert!(
        body.contains("left out to fit GitHub's size limit"),
        "diffs were dropped"
    );
    assert_eq!(
        body.matches("| `filestate_object.many[").count(),
        250,
        "every resource keeps its table row"
    );
}
