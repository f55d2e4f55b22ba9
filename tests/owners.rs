//! Drift routed to its owners: CODEOWNERS (GitHub's rules) or the stack's `owners` in the
//! configuration name them on the drift issue and the pull-request comment; user owners are
//! assigned to the issue, and one GitHub will not assign is a warning, not a failure.

use crate::github::{Runner, REPO};
use crate::support::assert_contains;

const CODEOWNERS: &str = "\
*            @acme/platform
*.tf         @acme/infra
# A later line wins for the files both match.
/main.tf     @acme/sre @alice @mallory
/docs/       @bob
";

fn write(runner: &Runner, path: &str, text: &str) {
    let path = runner.stack.root.join(path);
    std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
    std::fs::write(path, text).expect("write");
}

#[test]
fn the_drift_issue_names_and_assigns_the_owners_codeowners_gives() {
    let runner = Runner::scheduled();
    write(&runner, ".github/CODEOWNERS", CODEOWNERS);
    // GitHub assigns only people with access to the repository.
    runner.fake.set_assignable(REPO, &["alice", "bob"]);
    runner.drift_web();
    let run = runner.scan(&[]);
    assert_eq!(
        run.code, 2,
        "an owner not assigned fails nothing: {}",
        run.stderr
    );
    let issues = runner.fake.issues(REPO);
    assert_eq!(issues.len(), 1, "{issues:#?}");
    assert_contains(&issues[0].body, "Owners: @acme/sre, @alice, @mallory");
    assert_eq!(
        issues[0].assignees,
        ["alice"],
        "teams are mentioned, not assigned"
    );
    assert_contains(&run.stderr, "GitHub did not assign @mallory");

    // The configuration's owners replace CODEOWNERS' for its stacks.
    write(
        &runner,
        ".driftlog.toml",
        "[[stacks]]\npath = \".\"\nowners = [\"@acme/dba\", \"@bob\"]\n",
    );
    let configured = |runner: &Runner| {
        let args = ["scan", "--no-audit"];
        runner
            .stack
            .driftlog_with_env(&runner.stack.root, &args, &runner.env())
    };
    let run = configured(&runner);
    assert_eq!(run.code, 2, "{}", run.stderr);
    let issues = runner.fake.issues(REPO);
    assert_contains(&issues[0].body, "Owners: @acme/dba, @bob");
    assert_eq!(
        issues[0].assignees,
        ["alice"],
        "assigned when opened, not on every update"
    );

    // Closed when clean; reopened when the drift is back, and then assigned to its owners.
    runner.undo_drift();
    assert_eq!(configured(&runner).code, 0);
    runner.drift_web();
    let run = configured(&runner);
    assert_eq!(run.code, 2, "{}", run.stderr);
    let issues = runner.fake.issues(REPO);
    assert_eq!(issues[0].state, "open");
    assert_eq!(issues[0].assignees, ["alice", "bob"]);
}

#[test]
fn the_pull_request_comment_names_each_drifted_stacks_owners() {
    let runner = Runner::pull_request();
    write(&runner, "CODEOWNERS", CODEOWNERS);
    write(&runner, "docs/CODEOWNERS", "* @not-read\n");
    runner.drift_web();
    let run = runner.scan(&[]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    let comments = runner.driftlog_comments();
    assert_eq!(comments.len(), 1);
    assert_contains(&comments[0].body, "Owners: @acme/sre, @alice, @mallory");
    assert!(
        !comments[0].body.contains("@not-read"),
        "the first CODEOWNERS found is used"
    );
    assert!(
        runner.fake.issues(REPO).is_empty(),
        "no issue for a pull request"
    );
}

#[test]
fn a_broken_codeowners_line_is_skipped_with_a_warning() {
    let runner = Runner::scheduled();
    write(
        &runner,
        ".github/CODEOWNERS",
        "*.tf @acme/infra\n!main.tf @nobody\n/main.tf not-an-owner\n",
    );
    runner.drift_web();
    let run = runner.scan(&[]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert_contains(&run.stderr, ".github/CODEOWNERS: line 2: `!main.tf`");
    assert_contains(&run.stderr, "line 3: `not-an-owner`");
    let issues = runner.fake.issues(REPO);
    assert_contains(&issues[0].body, "Owners: @acme/infra");
}
