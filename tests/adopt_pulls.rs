//! `driftlog adopt --pull-request`: a real bare `origin`, real git to check the pushed branch
//! and its signature, and the fake GitHub holding the pull requests.

use std::path::{Path, PathBuf};

use driftlog::audit::sshsig::allowed_signers_line;
use serde_json::json;

use crate::adopt::{adoptions, drift, Repo, CODE, RULE};
use crate::fake_github::FakeGithub;
use crate::github::TOKEN;
use crate::support::{git, PROVIDER};

const REPO: &str = "octo/infra";
const BRANCH: &str = "driftlog/adopt/root";

/// The repository pushed to a bare `origin` beside it.
fn with_origin(repo: &Repo) -> PathBuf {
    let origin = repo.stack.tmp.join("origin.git");
    let origin_str = origin.to_str().expect("utf-8");
    git(
        &repo.stack.tmp,
        &["init", "-q", "--bare", "-b", "main", origin_str],
    );
    git(repo.root(), &["remote", "add", "origin", origin_str]);
    git(repo.root(), &["push", "-q", "origin", "main"]);
    origin
}

fn propose(repo: &Repo, fake: &FakeGithub) -> crate::support::Run {
    repo.adopt(
        &[
            "--pull-request",
            "--repo",
            REPO,
            "--github-token",
            TOKEN,
            "--github-api-url",
            &fake.api_url(),
        ],
        &[],
    )
}

fn in_origin(origin: &Path, args: &[&str]) -> String {
    let dir = format!("--git-dir={}", origin.display());
    git(origin, &[&[dir.as_str()][..], args].concat())
}

#[test]
fn a_pull_request_is_one_signed_commit_updated_on_reruns_and_closed_when_the_drift_is_gone() {
    let repo = Repo::new(CODE, RULE);
    let origin = with_origin(&repo);
    let fake = FakeGithub::start(TOKEN);
    drift(&repo.stack);
    repo.scan();
    let head_before = git(repo.root(), &["rev-parse", "HEAD"]);

    let first = propose(&repo, &fake);
    assert_eq!(
        first.code, 2,
        "some drift is refused: {}{}",
        first.stdout, first.stderr
    );
    assert!(!first.stdout.contains(TOKEN) && !first.stderr.contains(TOKEN));
    // The branch: one commit on main, the edited file and nothing else, signed by the key.
    let main = in_origin(&origin, &["rev-parse", "main"]);
    let parent = in_origin(&origin, &["rev-parse", &format!("{BRANCH}^")]);
    assert_eq!(parent.trim(), main.trim());
    let changed = in_origin(&origin, &["diff", "--name-only", "main", BRANCH]);
    assert_eq!(changed.trim(), "main.tf");
    let proposed = in_origin(&origin, &["show", &format!("{BRANCH}:main.tf")]);
    assert!(proposed.contains("size        = 5") && proposed.contains("team = \"platform\""));
    let allowed = repo.stack.tmp.join("allowed_signers");
    std::fs::write(
        &allowed,
        format!("{}\n", allowed_signers_line("ci", &repo.key)),
    )
    .expect("write");
    let signers = format!("gpg.ssh.allowedSignersFile={}", allowed.display());
    in_origin(
        &origin,
        &[
            "-c",
            "gpg.format=ssh",
            "-c",
            &signers,
            "verify-commit",
            BRANCH,
        ],
    );
    // The user's checkout is untouched: same HEAD, same files, nothing staged.
    assert_eq!(git(repo.root(), &["rev-parse", "HEAD"]), head_before);
    assert_eq!(repo.code(), format!("{PROVIDER}{CODE}"));
    assert_eq!(
        git(
            repo.root(),
            &["status", "--porcelain", "--untracked-files=no"]
        ),
        ""
    );

    let pulls = fake.pulls(REPO);
    assert_eq!(pulls.len(), 1);
    let pull = &pulls[0];
    assert_eq!((pull.head.as_str(), pull.base.as_str()), (BRANCH, "main"));
    assert_eq!(pull.state, "open");
    for expected in [
        "`filestate_object.web`",
        "`size`",
        "`3`",
        "`5`",
        "**Proof:**",
        "nothing adopted changes",
        "Not adopted:",
        "var.db_size",
        "From the scan in record",
        "#### When it drifted",
        "`filestate_object.web`: first seen",
        "by Platform CI <ci@example.com>",
    ] {
        assert!(
            pull.body.contains(expected),
            "{expected} missing from:\n{}",
            pull.body
        );
    }
    assert!(!pull.body.contains("s3cr3t"), "a secret in the body");

    // A re-run: the same branch and the same pull request, nothing pushed again.
    let commit = in_origin(&origin, &["rev-parse", BRANCH]);
    let again = propose(&repo, &fake);
    assert_eq!(again.code, 2, "{}{}", again.stdout, again.stderr);
    assert_eq!(fake.pulls(REPO).len(), 1, "one pull request, updated");
    assert_eq!(in_origin(&origin, &["rev-parse", BRANCH]), commit);
    let branches = in_origin(&origin, &["branch", "--list", "driftlog/adopt/*"]);
    assert_eq!(branches.lines().count(), 1, "{branches}");

    // The drift goes away another way (an apply): the pull request is closed with a note.
    repo.stack.apply(&[]);
    repo.scan();
    let closing = propose(&repo, &fake);
    assert_eq!(closing.code, 0, "{}{}", closing.stdout, closing.stderr);
    let pulls = fake.pulls(REPO);
    assert_eq!(pulls[0].state, "closed");
    assert!(
        pulls[0]
            .comments
            .iter()
            .any(|c| c.body.contains("no drift left")),
        "{:?}",
        pulls[0].comments
    );
    let records = repo.records();
    let outcomes: Vec<(&str, Option<u64>)> = adoptions(&records)
        .iter()
        .map(|r| {
            (
                r["adoption"]["outcome"].as_str().unwrap_or("?"),
                r["adoption"]["pull_request"]["number"].as_u64(),
            )
        })
        .collect();
    let number = Some(pull.number);
    assert_eq!(
        outcomes,
        [
            ("proposed", number),
            ("proposed", number),
            ("closed", number)
        ]
    );
    repo.assert_log_verifies();
}

#[test]
fn a_branch_someone_else_pushed_to_is_never_overwritten() {
    let repo = Repo::new(CODE, RULE);
    let origin = with_origin(&repo);
    let fake = FakeGithub::start(TOKEN);
    // Someone pushed their own work to the adopt branch.
    git(repo.root(), &["checkout", "-q", "-b", BRANCH]);
    std::fs::write(repo.root().join("notes.md"), "mine\n").expect("write");
    git(repo.root(), &["add", "notes.md"]);
    git(repo.root(), &["commit", "-q", "-m", "my notes"]);
    git(repo.root(), &["push", "-q", "origin", BRANCH]);
    git(repo.root(), &["checkout", "-q", "main"]);
    let theirs = in_origin(&origin, &["rev-parse", BRANCH]);
    repo.stack.edit("web", |o| o["size"] = json!(8));
    repo.scan();

    let run = propose(&repo, &fake);
    assert_eq!(run.code, 1, "{}{}", run.stdout, run.stderr);
    let text = format!("{}{}", run.stdout, run.stderr);
    assert!(text.contains("is not driftlog's own"), "{text}");
    assert_eq!(in_origin(&origin, &["rev-parse", BRANCH]), theirs);
    assert!(fake.pulls(REPO).is_empty(), "no pull request opened");
    let records = repo.records();
    assert_eq!(adoptions(&records)[0]["result"], "failed");
    repo.assert_log_verifies();
}

#[test]
fn a_file_that_changed_on_the_default_branch_since_the_checkout_is_not_overwritten() {
    let repo = Repo::new(CODE, RULE);
    let origin = with_origin(&repo);
    let fake = FakeGithub::start(TOKEN);
    repo.stack.edit("web", |o| o["size"] = json!(8));
    repo.scan();
    // A teammate's change to main.tf lands on main after this checkout was made.
    let other = repo.stack.tmp.join("teammate");
    let origin_str = origin.to_str().expect("utf-8");
    git(
        &repo.stack.tmp,
        &["clone", "-q", origin_str, other.to_str().expect("utf-8")],
    );
    let theirs = format!("{PROVIDER}{CODE}\n# the teammate's change\n");
    std::fs::write(other.join("main.tf"), &theirs).expect("write");
    git(
        &other,
        &[
            "-c",
            "user.name=T",
            "-c",
            "user.email=t@example.com",
            "commit",
            "-qam",
            "theirs",
        ],
    );
    git(&other, &["push", "-q", "origin", "main"]);

    let run = propose(&repo, &fake);
    assert_eq!(run.code, 1, "{}{}", run.stdout, run.stderr);
    let text = format!("{}{}", run.stdout, run.stderr);
    assert!(
        text.contains("main.tf on main is not what this checkout has"),
        "{text}"
    );
    let branches = in_origin(&origin, &["branch", "--list", "driftlog/adopt/*"]);
    assert_eq!(branches, "", "nothing pushed");
    assert_eq!(in_origin(&origin, &["show", "main:main.tf"]), theirs);
    assert!(fake.pulls(REPO).is_empty());
}
