//! A remediation's report on GitHub, through the library's `Publisher::publish_remediation`
//! as `driftlog remediate` calls it: posted on the drift issue a real scheduled scan opened
//! in the stateful fake, which is closed when the stack is clean; nothing without an open
//! issue; the job summary holds it too.

use std::collections::HashMap;

use driftlog::drift::Stack as ReportStack;
use driftlog::run::publish::{PublishSettings, Published, Publisher, RemediationNotice};

use crate::fake_github::Fault;
use crate::github::{Runner, REPO, TOKEN};

const MARKDOWN: &str = "### 🔧 Remediation of `.`\n\n\
                        Reverted by rule `web-description` (`.driftlog.toml:12`): \
                        `filestate_object.web` (record 4, `sha256:ab12`).\n";

/// The publish stage as `driftlog remediate` settles it from the runner's environment, with
/// the command line's defaults.
fn publisher(runner: &Runner) -> Publisher {
    let settings = PublishSettings {
        github_api_url: runner.fake.api_url(),
        comment: true,
        status: true,
        issue: true,
        summary: true,
        annotations: true,
        issue_label: "drift".to_owned(),
        status_name: "driftlog".to_owned(),
        ..PublishSettings::default()
    };
    let env: HashMap<String, String> = runner.env().into_iter().collect();
    Publisher::resolve(settings, env, Some(TOKEN.to_owned())).expect("settings resolve")
}

/// The stack as the remediation's report names it: the directory the scan ran in.
fn stack(runner: &Runner) -> ReportStack {
    ReportStack {
        dir: runner.stack.root.display().to_string(),
        workspace: "default".to_owned(),
        cloudformation: None,
    }
}

fn remediate(runner: &Runner, clean: bool) -> Published {
    let stack = stack(runner);
    publisher(runner).publish_remediation(&RemediationNotice {
        stack: &stack,
        markdown: MARKDOWN,
        clean,
    })
}

/// A scheduled scan of the drifted stack: it opens the stack's drift issue.
fn drifted_with_issue() -> Runner {
    let runner = Runner::scheduled();
    runner.drift_web();
    let scan = runner.scan(&[]);
    assert_eq!(scan.code, 2, "{}", scan.stderr);
    let issues = runner.fake.issues(REPO);
    assert_eq!(issues.len(), 1, "{issues:#?}");
    assert_eq!(issues[0].state, "open");
    assert!(issues[0].comments.is_empty(), "{:#?}", issues[0].comments);
    runner
}

/// An error with its causes, as the binary prints it.
fn chain(err: &dyn std::error::Error) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        text.push_str(&format!(": {cause}"));
        source = cause.source();
    }
    text
}

fn assert_no_failures(published: &Published) {
    assert!(
        published.failures.is_empty(),
        "{:?}",
        published
            .failures
            .iter()
            .map(|f| chain(f))
            .collect::<Vec<_>>()
    );
}

#[test]
fn the_report_is_commented_on_the_stacks_open_drift_issue() {
    let runner = drifted_with_issue();
    let before = runner.summary();
    let published = remediate(&runner, false);
    assert_no_failures(&published);
    let issues = runner.fake.issues(REPO);
    assert_eq!(issues.len(), 1, "no second issue: {issues:#?}");
    let issue = &issues[0];
    assert_eq!(issue.state, "open", "not clean, so still open");
    assert_eq!(issue.comments.len(), 1, "{:#?}", issue.comments);
    let comment = &issue.comments[0].body;
    assert!(comment.starts_with(MARKDOWN.trim_end()), "{comment}");
    assert!(
        comment.contains("[run 8813](https://github.com/acme/infra/actions/runs/8813)"),
        "the run is linked: {comment}"
    );
    let [done] = &published.done[..] else {
        panic!("one thing done: {:?}", published.done);
    };
    let number = issue.number;
    assert!(
        done.starts_with(&format!(
            "posted the remediation report on drift issue #{number}: "
        )) && done.ends_with(&format!("/{REPO}/issues/{number}")),
        "{done}"
    );
    let summary = runner.summary();
    assert!(
        summary.starts_with(&before),
        "appended after the scan's summary"
    );
    assert!(
        summary[before.len()..].contains(MARKDOWN.trim_end()),
        "the job summary has the report: {summary}"
    );
}

#[test]
fn a_clean_stack_has_its_issue_closed_with_the_report_as_the_note() {
    let runner = drifted_with_issue();
    let published = remediate(&runner, true);
    assert_no_failures(&published);
    let issues = runner.fake.issues(REPO);
    assert_eq!(issues.len(), 1);
    let issue = &issues[0];
    assert_eq!(issue.state, "closed");
    assert_eq!(issue.state_reason.as_deref(), Some("completed"));
    assert_eq!(issue.comments.len(), 1, "{:#?}", issue.comments);
    assert!(issue.comments[0].body.contains(MARKDOWN.trim_end()));
    assert!(
        published.done[0].contains("and closed it"),
        "{:?}",
        published.done
    );

    // The next scan finds the stack clean: the issue was closed already, nothing more.
    runner.undo_drift();
    let clean = runner.scan(&[]);
    assert_eq!(clean.code, 0, "{}", clean.stderr);
    let issues = runner.fake.issues(REPO);
    assert_eq!(issues[0].state, "closed");
    assert_eq!(issues[0].comments.len(), 1, "{:#?}", issues[0].comments);
}

#[test]
fn without_an_open_drift_issue_nothing_is_posted() {
    let runner = Runner::scheduled();
    // Closed issues of the stack, and an open one with its marker that someone else opened.
    let marker = "<!-- driftlog:issue id=. -->";
    let closed = runner
        .fake
        .seed_issue(REPO, "Drift in `.`", marker, &["drift"], false);
    let foreign =
        runner
            .fake
            .seed_issue_by(REPO, "Drift in `.`", marker, &["drift"], true, "mallory");
    let published = remediate(&runner, true);
    assert_no_failures(&published);
    assert_eq!(
        published.done,
        vec![
            "no open drift issue for `.`, so the remediation report was not posted on one"
                .to_owned()
        ]
    );
    for issue in runner.fake.issues(REPO) {
        assert!(issue.comments.is_empty(), "#{}: {:#?}", issue.number, issue);
        let expected = if issue.number == closed {
            "closed"
        } else {
            assert_eq!(issue.number, foreign);
            "open"
        };
        assert_eq!(issue.state, expected, "#{} left as it was", issue.number);
    }
    assert!(
        runner.fake.requests().iter().all(|r| r.method == "GET"),
        "nothing written: {:#?}",
        runner.fake.requests()
    );
    assert!(
        runner.summary().contains(MARKDOWN.trim_end()),
        "the job summary still has the report"
    );
}

#[test]
fn a_pull_requests_run_keeps_no_issue_so_posts_nothing() {
    let runner = Runner::pull_request();
    runner.fake.seed_issue(
        REPO,
        "Drift in `.`",
        "<!-- driftlog:issue id=. -->",
        &["drift"],
        true,
    );
    let published = remediate(&runner, true);
    assert_no_failures(&published);
    assert!(published.done.is_empty(), "{:?}", published.done);
    assert!(runner.fake.requests().is_empty(), "no request at all");
    assert_eq!(runner.fake.issues(REPO)[0].state, "open");
}

#[test]
fn a_failed_post_is_a_failure_without_the_token() {
    let runner = drifted_with_issue();
    runner.fake.inject(
        Fault::new("POST", "/comments", 422)
            .echoing_authorization()
            .times(usize::MAX),
    );
    let published = remediate(&runner, true);
    assert_eq!(published.failures.len(), 1, "{:?}", published.failures);
    let shown = format!(
        "{} {:?}",
        chain(&published.failures[0]),
        published.failures[0]
    );
    assert!(shown.contains("commenting on drift issue"), "{shown}");
    assert!(!shown.contains(TOKEN), "{shown}");
    assert!(!shown.contains("s3cr3t"), "{shown}");
    assert_eq!(
        runner.fake.issues(REPO)[0].state,
        "open",
        "not closed when the report could not be posted"
    );
}

#[test]
fn a_read_only_token_warns() {
    let runner = drifted_with_issue();
    runner.fake.deny_writes();
    let published = remediate(&runner, true);
    assert_no_failures(&published);
    assert_eq!(published.warnings.len(), 1, "{:?}", published.warnings);
    assert!(
        published.warnings[0].contains("issues: write"),
        "{:?}",
        published.warnings
    );
    assert!(runner.fake.issues(REPO)[0].comments.is_empty());
}

/// End to end through the command: a scheduled, recorded scan opens the drift issue; `driftlog
/// remediate --apply` reverts the drift by the rule, comments on the issue and closes it.
#[test]
fn driftlog_remediate_comments_on_the_drift_issue_and_closes_it_when_clean() {
    let stack = crate::support::Stack::rich();
    std::fs::write(
        stack.root.join(".driftlog.toml"),
        "[[remediate]]\nresource = \"filestate_object.web\"\naction = \"revert\"\n\
         reason = \"the web tier changes only through code\"\n",
    )
    .expect("write the rules");
    stack.apply(&[]);
    let (key_file, _) = stack.commit_to_git(&[]);
    let key = key_file.to_str().expect("utf-8");
    let runner = Runner::around(stack, serde_json::json!({ "schedule": "0 3 * * *" }));
    runner.drift_web();
    let root = runner.stack.root.clone();
    let scan =
        runner
            .stack
            .driftlog_with_env(&root, &["scan", ".", "--signing-key", key], &runner.env());
    assert_eq!(scan.code, 2, "{}", scan.stderr);
    assert_eq!(runner.fake.issues(REPO).len(), 1);

    let run = runner.stack.driftlog_with_env(
        &root,
        &["remediate", ".", "--apply", "--signing-key", key],
        &runner.env(),
    );
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    let issues = runner.fake.issues(REPO);
    assert_eq!(issues.len(), 1, "{issues:#?}");
    assert_eq!(issues[0].state, "closed", "the stack is clean: {issues:#?}");
    let comment = &issues[0].comments.last().expect("a comment").body;
    for wanted in [
        "driftlog remediation",
        "`filestate_object.web`",
        "reverted",
        ".driftlog.toml:1",
        "the stack is clean",
    ] {
        assert!(comment.contains(wanted), "{wanted:?} missing: {comment}");
    }
    assert!(
        runner.summary().contains("driftlog remediation"),
        "{}",
        runner.summary()
    );
}
