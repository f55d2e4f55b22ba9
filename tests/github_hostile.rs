//! GitHub and saved reports that cannot be trusted, through the real binary: a server that
//! echoes the request's `Authorization` header into its errors, comments and issues by other
//! users carrying driftlog's hidden marker, and saved reports with non-ASCII ids or a newer
//! schema. Assertions are on everything driftlog printed or wrote, and on what the fake holds.

use std::path::Path;

use serde_json::{json, Value};

use crate::fake_github::{Fault, BOT_LOGIN};
use crate::github::{Runner, PR, REPO, TOKEN};
use crate::support::Run;

const COMMENT_MARKER: &str = "<!-- driftlog:comment id=. -->";
const ISSUE_MARKER: &str = "<!-- driftlog:issue id=. -->";

/// Everything a run left where a user could read it: its streams and the runner's files.
fn everything_printed(runner: &Runner, run: &Run) -> String {
    format!(
        "{}\n{}\n{}\n{}",
        run.stdout,
        run.stderr,
        runner.summary(),
        runner.outputs()
    )
}

fn report_path(runner: &Runner) -> String {
    runner
        .path("report.json")
        .to_str()
        .expect("utf-8 path")
        .to_owned()
}

/// A drifted scan saved to `report.json`, nothing posted.
fn saved_report(runner: &Runner) -> Value {
    runner.drift_web();
    let path = report_path(runner);
    let scan = runner.scan(&["--no-comment", "--no-status", "--output", &path]);
    assert_eq!(scan.code, 2, "{}", scan.stderr);
    let text = std::fs::read_to_string(&path).expect("read the saved report");
    serde_json::from_str(&text).expect("the saved report is JSON")
}

fn write_json(path: &Path, value: &Value) {
    std::fs::write(path, value.to_string()).expect("write the report");
}

#[test]
fn a_server_echoing_the_token_gets_it_printed_nowhere() {
    let runner = Runner::pull_request();
    runner.drift_web();
    // Every error path: retried server errors that give up, a refusal that falls back (check
    // run), one that is a warning (status), and a plain rejection.
    runner.fake.inject(
        Fault::new("GET", format!("/issues/{PR}/comments"), 502)
            .header("Retry-After", "0")
            .echoing_authorization()
            .times(100),
    );
    runner
        .fake
        .inject(Fault::new("POST", "/check-runs", 403).echoing_authorization());
    runner
        .fake
        .inject(Fault::new("POST", "/statuses/", 403).echoing_authorization());
    let run = runner.scan(&[]);
    // A failed stage is an error, and the exit status still says there was drift.
    assert_eq!(run.code, 2, "the comment failed: {}", run.stderr);
    assert!(
        run.stderr.contains("HTTP 502") && run.stderr.contains("Authorization: Bearer ***"),
        "the server's message is shown, the token masked: {}",
        run.stderr
    );
    assert!(
        run.stderr.contains("warning") && run.stderr.contains("commit status"),
        "{}",
        run.stderr
    );
    let printed = everything_printed(&runner, &run);
    assert!(!printed.contains(TOKEN), "the token was printed: {printed}");

    // `report post` of the saved report: the token lookup itself rejected, echoing.
    let report = runner.path("report.json");
    let path = report_path(&runner);
    let saved = runner.scan(&["--no-comment", "--no-status", "--output", &path]);
    assert_eq!(saved.code, 2, "{}", saved.stderr);
    assert!(report.exists());
    runner
        .fake
        .inject(Fault::new("GET", "/user", 422).echoing_authorization());
    let post = runner.stack.driftlog_with_env(
        &runner.stack.root,
        &["report", "post", &path, "--no-status"],
        &runner.env(),
    );
    assert_eq!(post.code, 1, "{}", post.stderr);
    assert!(post.stderr.contains("HTTP 422"), "{}", post.stderr);
    let printed = everything_printed(&runner, &post);
    assert!(!printed.contains(TOKEN), "the token was printed: {printed}");
}

#[test]
fn another_users_marked_comment_is_left_alone() {
    let runner = Runner::pull_request();
    let theirs = format!("{COMMENT_MARKER}\nI pasted driftlog's marker here.");
    runner.fake.seed_comment_body(REPO, PR, &theirs, "mallory");
    runner.drift_web();

    let run = runner.scan(&[]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    let run = runner.scan(&[]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    let comments = runner.pr_comments();
    assert_eq!(comments.len(), 2, "{comments:#?}");
    assert_eq!(comments[0].author, "mallory");
    assert_eq!(comments[0].body, theirs, "their comment is untouched");
    assert_eq!(comments[0].updates, 0);
    assert_eq!(comments[1].author, BOT_LOGIN, "driftlog posted its own");
    assert!(comments[1].body.contains("filestate_object.web"));
    assert_eq!(
        comments[1].updates, 1,
        "and continued its own on the re-run"
    );
}

#[test]
fn a_users_token_continues_only_that_users_comment() {
    let runner = Runner::pull_request();
    runner.fake.token_of_user("octocat");
    let bot = format!("{COMMENT_MARKER}\nposted by a workflow's token");
    runner.fake.seed_comment_body(REPO, PR, &bot, BOT_LOGIN);
    let own = format!("{COMMENT_MARKER}\nposted by octocat's token before");
    runner.fake.seed_comment_body(REPO, PR, &own, "OctoCat");
    runner.drift_web();

    let run = runner.scan(&[]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    let comments = runner.pr_comments();
    assert_eq!(comments.len(), 2, "nothing new was posted: {comments:#?}");
    assert_eq!(
        comments[0].body, bot,
        "the bot's comment is not this token's"
    );
    assert_eq!(comments[0].updates, 0);
    assert_eq!(comments[1].updates, 1, "the token's own comment is updated");
    assert!(comments[1].body.contains("filestate_object.web"));
}

#[test]
fn another_users_marked_issue_is_never_edited_or_closed() {
    let runner = Runner::scheduled();
    let theirs = format!("{ISSUE_MARKER}\nI opened this one by hand.");
    let number =
        runner
            .fake
            .seed_issue_by(REPO, "Drift in `.`", &theirs, &["drift"], true, "mallory");
    runner.drift_web();
    let drifted = runner.scan(&[]);
    assert_eq!(drifted.code, 2, "{}", drifted.stderr);
    let issues = runner.fake.issues(REPO);
    assert_eq!(issues.len(), 2, "driftlog opened its own: {issues:#?}");
    let mine = issues
        .iter()
        .find(|i| i.number != number)
        .expect("driftlog's issue");
    assert_eq!(mine.author, BOT_LOGIN);
    assert!(mine.body.contains(ISSUE_MARKER), "{}", mine.body);

    runner.undo_drift();
    let clean = runner.scan(&[]);
    assert_eq!(clean.code, 0, "{}", clean.stderr);
    let issues = runner.fake.issues(REPO);
    let theirs_now = issues
        .iter()
        .find(|i| i.number == number)
        .expect("their issue");
    assert_eq!(theirs_now.body, theirs, "their issue is untouched");
    assert_eq!(theirs_now.state, "open", "and not closed");
    assert!(theirs_now.comments.is_empty());
    let mine = issues
        .iter()
        .find(|i| i.number != number)
        .expect("driftlog's issue");
    assert_eq!(mine.state, "closed", "driftlog closed its own");
}

#[test]
fn saved_reports_with_non_ascii_shas_are_posted_and_merged() {
    let runner = Runner::pull_request();
    let mut report = saved_report(&runner);
    let sha = "éééééééééééééééééééé✓";
    report["audit"] = json!({
        "branch": "driftlog/audit",
        "seq": 3,
        "record_sha256": sha,
        "commit": sha,
        "checkpoint": "driftlog-checkpoint v1 ü",
    });
    let record = |seq: u64| {
        json!({
            "seq": seq, "commit": sha, "time": "2026-11-20T03:00:00Z", "kind": "scan",
            "result": "drifted", "who": "ci", "run": null,
        })
    };
    report["explanations"] = json!([{
        "address": "filestate_object.web",
        "stack": ".",
        "workspace": "default",
        "first_seen": record(2),
        "last_clean": record(1),
        "applies": [],
        "commits": [{"sha": sha, "time": "2026-11-20T01:00:00Z", "author": "ö", "summary": "ü"}],
        "events": null,
        "changes": [],
    }]);
    let path = runner.path("report.json");
    write_json(&path, &report);
    let path_text = report_path(&runner);

    let post = runner.stack.driftlog_with_env(
        &runner.stack.root,
        &["report", "post", &path_text],
        &runner.env(),
    );
    assert_eq!(post.code, 2, "{}", post.stderr);
    let comments = runner.driftlog_comments();
    assert_eq!(comments.len(), 1, "{}", post.stderr);
    assert!(
        comments[0].body.contains("commit ééééééé by ö"),
        "{}",
        comments[0].body
    );

    let merge = runner.stack.driftlog_with_env(
        &runner.stack.root,
        &["report", "merge", &path_text, "--format", "markdown"],
        &runner.env(),
    );
    assert_eq!(merge.code, 2, "{}", merge.stderr);
    assert!(merge.stdout.contains("éééééééééééé"), "{}", merge.stdout);
    assert!(!merge.stderr.contains("panicked"), "{}", merge.stderr);
}

#[test]
fn a_newer_driftlogs_report_says_so() {
    let runner = Runner::pull_request();
    let mut report = saved_report(&runner);
    report["schema_version"] = json!(99);
    report["status"] = json!("a-status-from-the-future");
    let path = runner.path("report.json");
    write_json(&path, &report);
    for command in ["post", "merge"] {
        let run = runner.stack.driftlog_with_env(
            &runner.stack.root,
            &["report", command, &report_path(&runner)],
            &runner.env(),
        );
        assert_eq!(run.code, 1, "{}", run.stderr);
        assert!(
            run.stderr
                .contains("made by a newer driftlog (schema 99, this one reads up to"),
            "{command}: {}",
            run.stderr
        );
        assert!(run.stderr.contains("upgrade"), "{}", run.stderr);
    }
}

#[test]
fn one_stack_spelled_two_ways_is_one_stack_and_deep_json_is_named_so() {
    let runner = Runner::pull_request();
    let mut report = saved_report(&runner);
    let first = runner.path("a.json");
    let second = runner.path("b.json");
    report["stack"]["dir"] = json!("infra");
    write_json(&first, &report);
    report["stack"]["dir"] = json!("./infra/");
    write_json(&second, &report);
    let paths = [&first, &second].map(|p| p.to_str().expect("utf-8").to_owned());
    let merge = runner.stack.driftlog_with_env(
        &runner.stack.root,
        &["report", "merge", &paths[0], &paths[1], "--no-comment"],
        &runner.env(),
    );
    assert_eq!(merge.code, 1, "{}", merge.stderr);
    assert!(
        merge
            .stderr
            .contains("stack infra (workspace default) is in more than one report"),
        "{}",
        merge.stderr
    );

    let deep = format!(
        r#"{{"schema_version": 2, "x": {}{}}}"#,
        "[".repeat(200),
        "]".repeat(200)
    );
    std::fs::write(&first, deep).expect("write");
    let post = runner.stack.driftlog_with_env(
        &runner.stack.root,
        &["report", "post", &paths[0]],
        &runner.env(),
    );
    assert_eq!(post.code, 1, "{}", post.stderr);
    assert!(
        post.stderr.contains("nests deeper than 127 levels"),
        "{}",
        post.stderr
    );
    assert!(!post.stderr.contains("recursion limit"), "{}", post.stderr);
}

#[test]
fn an_endless_saved_report_or_key_file_is_refused_at_its_limit() {
    let stack = crate::support::Stack::new(&[("main.tf", "")]);
    let merge = stack.driftlog_in(&stack.root, &["report", "merge", "/dev/zero"]);
    assert_eq!(merge.code, 1, "{}", merge.stderr);
    assert!(
        merge.stderr.contains("MAX_SAVED_REPORT_BYTES"),
        "{}",
        merge.stderr
    );
    let scan = stack.driftlog_in(&stack.root, &["scan", ".", "--signing-key", "/dev/zero"]);
    assert_eq!(scan.code, 1, "{}", scan.stderr);
    assert!(
        scan.stderr.contains("MAX_KEY_FILE_BYTES"),
        "{}",
        scan.stderr
    );
}
