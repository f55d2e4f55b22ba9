//! `driftlog remediate` end to end: real terraform and the filestate provider, a real git
//! repository with a real audit branch, the drift recorded by `driftlog scan` first.

use std::path::{Path, PathBuf};

use driftlog::audit::sshsig::{allowed_signers_line, SigningKey};
use serde_json::{json, Value};

use crate::support::{git, Run, Stack, PROVIDER};

const WEB_AND_DB: &str = r#"
resource "filestate_object" "web" {
  name   = "web"
  secret = "s3cr3t-remediate-code"
  tags   = { env = "prod" }
  zone   = "z1"
}
resource "filestate_object" "db" {
  name = "db"
  tags = { env = "prod" }
}
"#;

const RULE: &str = r#"
[[remediate]]
resource = "filestate_object.*"
action = "revert"
reason = "objects change only through code"
"#;

/// A stack applied and committed with its `.driftlog.toml`, and its signing key.
struct Repo {
    stack: Stack,
    key: SigningKey,
    key_file: PathBuf,
}

impl Repo {
    fn new(rules: &str) -> Repo {
        let stack = Stack::new(&[
            ("main.tf", &format!("{PROVIDER}{WEB_AND_DB}")),
            (".driftlog.toml", rules),
        ]);
        stack.apply(&[]);
        let (key_file, key) = stack.commit_to_git(&[]);
        Repo {
            stack,
            key,
            key_file,
        }
    }

    fn root(&self) -> &Path {
        &self.stack.root
    }

    fn key(&self) -> &str {
        self.key_file.to_str().expect("utf-8")
    }

    /// A recorded scan: the drift remediation acts on.
    fn scan(&self) -> Run {
        let run = self.stack.scan(&["--signing-key", self.key()]);
        assert!(
            run.code == 0 || run.code == 2,
            "{}{}",
            run.stdout,
            run.stderr
        );
        run
    }

    fn remediate(&self, args: &[&str]) -> Run {
        self.remediate_with_env(args, &[])
    }

    fn remediate_with_env(&self, args: &[&str], env: &[(String, String)]) -> Run {
        let root = self.root().to_str().expect("utf-8");
        let key = self.key();
        let run = self.stack.driftlog_with_env(
            self.root(),
            &[&["remediate", root, "--signing-key", key][..], args].concat(),
            env,
        );
        assert!(
            !run.stdout.contains("s3cr3t") && !run.stderr.contains("s3cr3t"),
            "a secret in the output:\n{}{}",
            run.stdout,
            run.stderr
        );
        run
    }

    fn records(&self) -> Vec<Value> {
        let listed = git(
            self.root(),
            &["ls-tree", "-r", "--name-only", "driftlog/audit", "records"],
        );
        listed
            .lines()
            .filter(|path| path.ends_with(".json"))
            .map(|path| {
                let text = git(self.root(), &["show", &format!("driftlog/audit:{path}")]);
                serde_json::from_str(&text).expect("record is JSON")
            })
            .collect()
    }

    /// The provider's real objects and terraform's state, byte for byte.
    fn real_and_state(&self) -> Vec<(String, Vec<u8>)> {
        let mut files = Vec::new();
        for dir in [self.root().join("store"), self.root().to_path_buf()] {
            for entry in std::fs::read_dir(&dir).expect("read dir") {
                let path = entry.expect("entry").path();
                let name = path.display().to_string();
                if path.is_file() && (dir.ends_with("store") || name.contains(".tfstate")) {
                    files.push((name, std::fs::read(&path).expect("read")));
                }
            }
        }
        files.sort();
        files
    }

    fn object(&self, name: &str) -> Value {
        let text = std::fs::read_to_string(self.stack.object_file(name)).expect("object");
        serde_json::from_str(&text).expect("JSON")
    }

    /// `git verify-commit` on every commit of the branch, and `driftlog verify`.
    fn assert_branch_verifies(&self) {
        let allowed = self.root().join("keys/allowed_signers");
        std::fs::write(
            &allowed,
            format!("{}\n", allowed_signers_line("ci", &self.key)),
        )
        .expect("write");
        let config = format!("gpg.ssh.allowedSignersFile={}", allowed.display());
        for commit in git(self.root(), &["rev-list", "driftlog/audit"]).lines() {
            git(
                self.root(),
                &[
                    "-c",
                    "gpg.format=ssh",
                    "-c",
                    &config,
                    "verify-commit",
                    commit,
                ],
            );
        }
        let verify = self.stack.driftlog_in(
            self.root(),
            &[
                "verify",
                "--allowed-signers",
                allowed.to_str().expect("utf-8"),
            ],
        );
        assert_eq!(verify.code, 0, "{}{}", verify.stdout, verify.stderr);
    }
}

fn kinds(records: &[Value]) -> Vec<String> {
    records
        .iter()
        .map(|r| {
            format!(
                "{}:{}",
                r["kind"].as_str().unwrap_or("?"),
                r["result"].as_str().unwrap_or("?")
            )
        })
        .collect()
}

#[test]
fn a_dry_run_changes_nothing_and_apply_reverts_the_recorded_drift_with_signed_records() {
    let repo = Repo::new(RULE);
    repo.stack
        .edit("web", |o| o["tags"]["env"] = json!("staging"));
    repo.scan();
    let before = repo.real_and_state();

    let dry = repo.remediate(&[]);
    assert_eq!(dry.code, 0, "{}{}", dry.stdout, dry.stderr);
    assert!(
        dry.stdout.contains("filestate_object.web"),
        "{}",
        dry.stdout
    );
    assert!(
        dry.stdout.contains(r#"tags.env: "staging" -> "prod""#),
        "{}",
        dry.stdout
    );
    assert!(dry.stdout.contains("dry run"), "{}", dry.stdout);
    let json = repo.remediate(&["--format", "json"]);
    let planned: Value = serde_json::from_str(&json.stdout).expect("JSON");
    assert_eq!(planned["applied"], false);
    assert_eq!(planned["stacks"][0]["acts_on"]["seq"], 0);
    let change = &planned["stacks"][0]["rules"][0]["changes"][0];
    assert_eq!(change["address"], "filestate_object.web", "{planned:#}");
    assert_eq!(
        repo.real_and_state(),
        before,
        "a dry run changed the state or the real objects"
    );
    assert_eq!(
        kinds(&repo.records()),
        ["scan:drifted"],
        "a dry run recorded something"
    );

    let applied = repo.remediate(&["--apply"]);
    assert_eq!(applied.code, 0, "{}{}", applied.stdout, applied.stderr);
    assert_eq!(repo.object("web")["tags"]["env"], "prod");
    let records = repo.records();
    assert_eq!(
        kinds(&records),
        ["scan:drifted", "scan:clean", "remediation:reverted"]
    );
    let remediation = &records[2]["remediation"];
    assert_eq!(remediation["acts_on"]["seq"], 0);
    assert_eq!(remediation["verified_by"]["seq"], 1);
    assert_eq!(remediation["rule"]["name"], ".driftlog.toml:2");
    assert_eq!(remediation["changes"][0]["address"], "filestate_object.web");
    assert_eq!(remediation["plan_sha256"].as_str().map(str::len), Some(64));
    let text = records[2].to_string();
    assert!(!text.contains("s3cr3t"), "a secret in the record: {text}");
    repo.assert_branch_verifies();

    let history = repo
        .stack
        .driftlog_in(repo.root(), &["history", "filestate_object.web"]);
    assert_eq!(history.code, 0, "{}", history.stderr);
    assert!(
        history
            .stdout
            .contains("acted on record 0; outcome reverted"),
        "{}",
        history.stdout
    );

    let again = repo.scan();
    assert_eq!(
        again.code, 0,
        "not clean after the remediation:\n{}",
        again.stdout
    );
}

#[test]
fn a_deleted_resource_is_recreated_only_when_the_rule_allows_it() {
    let repo = Repo::new(RULE);
    repo.stack.delete("db");
    repo.scan();
    let refused = repo.remediate(&["--apply"]);
    assert_eq!(refused.code, 2, "{}{}", refused.stdout, refused.stderr);
    assert!(
        refused.stdout.contains("allow_recreate = true"),
        "{}",
        refused.stdout
    );
    assert!(!repo.stack.object_file("db").exists());
    assert_eq!(
        kinds(&repo.records()),
        ["scan:drifted", "remediation:refused"]
    );

    std::fs::write(
        repo.root().join(".driftlog.toml"),
        format!("{RULE}allow_recreate = true\n"),
    )
    .expect("write");
    git(repo.root(), &["commit", "-qam", "allow re-creating"]);
    let recreated = repo.remediate(&["--apply"]);
    assert_eq!(
        recreated.code, 0,
        "{}{}",
        recreated.stdout, recreated.stderr
    );
    assert_eq!(repo.object("db")["name"], "db");
    repo.assert_branch_verifies();
}

#[test]
fn a_replace_an_unapplied_code_change_and_changed_drift_are_refused() {
    // zone forces a new object: reverting it would replace web.
    let repo = Repo::new(RULE);
    repo.stack.edit("web", |o| o["zone"] = json!("z2"));
    repo.scan();
    let replace = repo.remediate(&["--apply"]);
    assert_eq!(replace.code, 2, "{}{}", replace.stdout, replace.stderr);
    assert!(
        replace.stdout.contains("never replaces"),
        "{}",
        replace.stdout
    );
    assert_eq!(repo.object("web")["zone"], "z2");

    // The code sets db's env to qa, never applied; db drifted to staging.
    let repo = Repo::new(RULE);
    repo.stack
        .edit("db", |o| o["tags"]["env"] = json!("staging"));
    repo.scan();
    let config = std::fs::read_to_string(repo.root().join("main.tf")).expect("read");
    let edited = config.replace(
        "name = \"db\"\n  tags = { env = \"prod\" }",
        "name = \"db\"\n  tags = { env = \"qa\" }",
    );
    assert_ne!(config, edited);
    std::fs::write(repo.root().join("main.tf"), edited).expect("write");
    git(repo.root(), &["commit", "-qam", "db to qa"]);
    let unapplied = repo.remediate(&["--apply"]);
    assert_eq!(
        unapplied.code, 2,
        "{}{}",
        unapplied.stdout, unapplied.stderr
    );
    assert!(
        unapplied.stdout.contains(
            "applying would also apply unapplied code changes to filestate_object.db: tags.env"
        ),
        "{}",
        unapplied.stdout
    );
    assert_eq!(repo.object("db")["tags"]["env"], "staging");

    let repo = Repo::new(RULE);
    repo.stack
        .edit("web", |o| o["tags"]["env"] = json!("staging"));
    repo.scan();
    repo.stack.edit("web", |o| o["tags"]["env"] = json!("dev"));
    let changed = repo.remediate(&["--apply"]);
    assert_eq!(changed.code, 2, "{}{}", changed.stdout, changed.stderr);
    assert!(
        changed.stdout.contains("drift changed since record 0"),
        "{}",
        changed.stdout
    );
    assert_eq!(repo.object("web")["tags"]["env"], "dev");
    repo.assert_branch_verifies();
}

#[test]
fn pull_request_events_other_checkouts_and_limits_apply_nothing() {
    let repo = Repo::new(&format!("{RULE}max_resources = 1\n"));
    repo.stack
        .edit("web", |o| o["tags"]["env"] = json!("staging"));
    repo.stack
        .edit("db", |o| o["tags"]["env"] = json!("staging"));
    repo.scan();
    let before = repo.real_and_state();

    let event = [("GITHUB_EVENT_NAME".to_owned(), "pull_request".to_owned())];
    let pr = repo.remediate_with_env(&["--apply"], &event);
    assert_eq!(pr.code, 1, "{}{}", pr.stdout, pr.stderr);
    assert!(
        pr.stderr.contains("never applies on pull-request events"),
        "{}",
        pr.stderr
    );

    git(repo.root(), &["checkout", "-qb", "feature"]);
    git(
        repo.root(),
        &["commit", "-q", "--allow-empty", "-m", "unmerged"],
    );
    let branch = repo.remediate(&["--apply"]);
    assert_eq!(branch.code, 1, "{}{}", branch.stdout, branch.stderr);
    assert!(
        branch
            .stderr
            .contains("not the head of the default branch main"),
        "{}",
        branch.stderr
    );
    git(repo.root(), &["checkout", "-q", "main"]);

    let limited = repo.remediate(&["--apply"]);
    assert_eq!(limited.code, 2, "{}{}", limited.stdout, limited.stderr);
    assert!(
        limited.stdout.contains("more than its max_resources = 1"),
        "{}",
        limited.stdout
    );
    assert_eq!(
        repo.real_and_state(),
        before,
        "a refused remediation changed something"
    );
    assert_eq!(
        kinds(&repo.records()),
        ["scan:drifted", "remediation:refused"]
    );
}

#[test]
fn an_unapplied_move_in_code_refuses_the_revert_instead_of_failing_the_plan() {
    let repo = Repo::new(RULE);
    let config = std::fs::read_to_string(repo.root().join("main.tf")).expect("read");
    let moved = config.replace(
        "\"filestate_object\" \"db\"",
        "\"filestate_object\" \"database\"",
    )
        + "\nmoved {\n  from = filestate_object.db\n  to   = filestate_object.database\n}\n";
    std::fs::write(repo.root().join("main.tf"), moved).expect("write");
    git(repo.root(), &["commit", "-qam", "rename db"]);
    repo.stack
        .edit("web", |o| o["tags"]["env"] = json!("staging"));
    repo.scan();
    let run = repo.remediate(&["--apply"]);
    assert_eq!(run.code, 2, "{}{}", run.stdout, run.stderr);
    assert!(
        run.stdout.contains(
            "moves were never applied (filestate_object.db -> filestate_object.database)"
        ),
        "{}",
        run.stdout
    );
    assert_eq!(repo.object("web")["tags"]["env"], "staging");
    assert_eq!(
        kinds(&repo.records()),
        ["scan:drifted", "remediation:refused"]
    );
}

/// A stop while the saved plan is applied: terraform gets exactly one SIGINT, driftlog stops
/// promptly with 130, the attempt is a signed `interrupted` record naming its failure, and
/// the plan file (the configuration's secrets in the clear) is gone.
#[test]
fn an_interrupted_apply_is_recorded_as_interrupted_and_removes_the_plan() {
    let repo = Repo::new(RULE);
    repo.stack
        .edit("web", |o| o["tags"]["env"] = json!("staging"));
    repo.scan();
    let marks = repo.root().join("marks");
    std::fs::create_dir_all(&marks).expect("mkdir");
    // Real terraform for the scans and the plan; the apply of the saved plan says what
    // terraform would, then blocks until its one SIGINT (no sleep races: the test waits for
    // `started`). It exits 1 as terraform does when a stop cuts an apply short.
    let wrapper = repo.stack.fake_terraform(
        "slow-apply",
        "#!/bin/bash\nif [ \"$1\" = apply ]; then\n\
         trap 'echo once >> \"$MARKS/interrupted\"; exit 1' INT\n\
         echo '{\"type\":\"version\",\"terraform\":\"9.9.9\",\"@message\":\"Terraform 9.9.9\"}'\n\
         : > \"$MARKS/started\"\nwhile true; do sleep 0.05; done\nfi\n\
         exec terraform \"$@\"\n",
    );
    let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_driftlog"));
    command
        .args(["remediate", repo.root().to_str().expect("utf-8"), "--apply"])
        .args(["--signing-key", repo.key(), "--terraform-bin", &wrapper])
        .current_dir(repo.root())
        .env("TMPDIR", &repo.stack.tmp)
        .env("MARKS", &marks)
        .env_remove("DRIFTLOG_SIGNING_KEY")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    crate::support::terraform_env(&mut command);
    let started = std::time::Instant::now();
    let child = command.spawn().expect("start driftlog");
    let out = crate::support::interrupt_once_started(child, &marks);
    crate::support::assert_interrupted_once(&out, &marks);
    assert!(
        started.elapsed() < std::time::Duration::from_secs(60),
        "driftlog took {:?} to stop",
        started.elapsed()
    );
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
    );
    assert!(
        !stdout.contains("s3cr3t") && !stderr.contains("s3cr3t"),
        "a secret in the output:\n{stdout}{stderr}"
    );

    let records = repo.records();
    // The verifying scan cannot run once a stop was asked for: it is recorded as failed, so
    // the stack's latest drift is unknown and the next remediation waits for a fresh scan.
    assert_eq!(
        kinds(&records),
        ["scan:drifted", "scan:failed", "remediation:failed"],
        "{stderr}"
    );
    let remediation = &records[2];
    assert_eq!(remediation["result"], "failed", "{remediation:#}");
    assert_eq!(remediation["remediation"]["outcome"], "interrupted");
    assert_eq!(remediation["failure"]["kind"], "interrupted");
    assert!(
        remediation["failure"]["message"]
            .as_str()
            .is_some_and(|m| !m.is_empty()),
        "{remediation:#}"
    );
    assert_eq!(remediation["remediation"]["acts_on"]["seq"], 0);
    let text = remediation.to_string();
    assert!(!text.contains("s3cr3t"), "a secret in the record: {text}");
    repo.assert_branch_verifies();
    assert_eq!(
        repo.stack.leftover_temp_files(),
        Vec::<PathBuf>::new(),
        "the saved plan is removed on interrupt"
    );
    // The fake applied nothing: the drift is still there, but no longer as recorded drift.
    assert_eq!(repo.object("web")["tags"]["env"], "staging");
    let next = repo.remediate(&["--apply"]);
    assert_eq!(next.code, 1, "{}{}", next.stdout, next.stderr);
    assert!(
        format!("{}{}", next.stdout, next.stderr).contains("its drift is unknown"),
        "{}{}",
        next.stdout,
        next.stderr
    );
}

/// The records' and the run's JSON must never hold a secret.
fn assert_no_secret(repo: &Repo, json: &Run) {
    for record in repo.records() {
        let text = record.to_string();
        assert!(!text.contains("s3cr3t"), "a secret in the record: {text}");
    }
    assert!(
        !json.stdout.contains("s3cr3t"),
        "a secret in the JSON: {}",
        json.stdout
    );
}

#[test]
fn an_untracked_configuration_file_in_the_stack_is_a_local_change() {
    let repo = Repo::new(RULE);
    repo.stack
        .edit("web", |o| o["secret"] = json!("s3cr3t-out-of-band"));
    repo.scan();
    // Terraform merges an override into web: the revert would set its secret, and a
    // sensitive value is never compared with the recorded one.
    std::fs::write(
        repo.root().join("web_override.tf"),
        "resource \"filestate_object\" \"web\" {\n  secret = \"s3cr3t-evil\"\n}\n",
    )
    .expect("write");
    let before = repo.real_and_state();
    let run = repo.remediate(&["--apply"]);
    assert_eq!(run.code, 1, "{}{}", run.stdout, run.stderr);
    assert!(
        run.stderr.contains("local changes (web_override.tf)"),
        "{}",
        run.stderr
    );
    assert_eq!(repo.real_and_state(), before, "the override was applied");
    assert_eq!(kinds(&repo.records()), ["scan:drifted"]);
}

#[test]
fn a_sensitive_attribute_is_reverted_without_showing_it() {
    let repo = Repo::new(RULE);
    repo.stack
        .edit("web", |o| o["secret"] = json!("s3cr3t-out-of-band"));
    repo.scan();
    let dry = repo.remediate(&["--format", "json"]);
    assert_eq!(dry.code, 0, "{}{}", dry.stdout, dry.stderr);
    let run = repo.remediate(&["--apply", "--format", "json"]);
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    assert_eq!(repo.object("web")["secret"], "s3cr3t-remediate-code");
    assert_no_secret(&repo, &dry);
    assert_no_secret(&repo, &run);
    repo.assert_branch_verifies();
}

#[test]
fn a_for_each_instance_is_reverted_by_its_own_rule_given_the_stack_relative() {
    let stack = Stack::new(&[
        (
            "main.tf",
            &format!(
                "{PROVIDER}\nresource \"filestate_object\" \"x\" {{\n  for_each = toset([\"a\", \"b\"])\n  name     = \"x-${{each.key}}\"\n  tags     = {{ env = \"prod\" }}\n}}\n"
            ),
        ),
        (
            ".driftlog.toml",
            "[[remediate]]\nresource = 'filestate_object.x[\"a\"]'\naction = \"revert\"\nreason = \"a only\"\n",
        ),
    ]);
    stack.apply(&[]);
    let (key_file, _) = stack.commit_to_git(&[]);
    let key = key_file.to_str().expect("utf-8");
    for name in ["x-a", "x-b"] {
        stack.edit(name, |o| o["tags"]["env"] = json!("staging"));
    }
    let scan = stack.scan(&["--signing-key", key]);
    assert_eq!(scan.code, 2, "{}{}", scan.stdout, scan.stderr);
    let none = stack.driftlog_in(&stack.root, &["remediate", ".", "--max-resources", "0"]);
    assert_eq!(none.code, 2, "{}{}", none.stdout, none.stderr);
    assert!(none.stdout.contains("is used up"), "{}", none.stdout);
    let run = stack.driftlog_in(
        &stack.root,
        &["remediate", ".", "--apply", "--signing-key", key],
    );
    assert_eq!(run.code, 2, "x-b is left: {}{}", run.stdout, run.stderr);
    let env = |name: &str| -> Value {
        let text = std::fs::read_to_string(stack.object_file(name)).expect("object");
        serde_json::from_str::<Value>(&text).expect("JSON")["tags"]["env"].clone()
    };
    assert_eq!(env("x-a"), "prod", "{}{}", run.stdout, run.stderr);
    assert_eq!(env("x-b"), "staging");
}

#[test]
fn an_unapplied_code_change_to_a_drifted_sensitive_attribute_does_not_ride_along() {
    let repo = Repo::new(RULE);
    repo.stack
        .edit("web", |o| o["secret"] = json!("s3cr3t-out-of-band"));
    repo.scan();
    let config = std::fs::read_to_string(repo.root().join("main.tf")).expect("read");
    let edited = config.replace("s3cr3t-remediate-code", "s3cr3t-never-applied");
    assert_ne!(config, edited);
    std::fs::write(repo.root().join("main.tf"), edited).expect("write");
    git(repo.root(), &["commit", "-qam", "rotate the secret"]);
    let run = repo.remediate(&["--apply", "--format", "json"]);
    assert_eq!(
        repo.object("web")["secret"],
        "s3cr3t-out-of-band",
        "the unapplied code change rode along on the revert"
    );
    assert_eq!(run.code, 2, "{}{}", run.stdout, run.stderr);
    assert_no_secret(&repo, &run);
}

#[test]
fn terraform_under_remediate_never_sees_a_notification_receivers_url_or_secret() {
    let notify = "[[notify]]\nkind = \"webhook\"\nurl_env = \"DRIFT_HOOK_URL\"\n\
                  secret_env = \"DRIFT_HOOK_SECRET\"\n";
    let repo = Repo::new(&format!("{RULE}{notify}"));
    repo.stack
        .edit("web", |o| o["tags"]["env"] = json!("staging"));
    repo.scan();
    let (wrapper, dump) = repo.stack.env_dumping_terraform();
    let env = [
        (
            "DRIFT_HOOK_URL".to_owned(),
            "https://hooks.example.com/T0-hook-path-s3cr3t".to_owned(),
        ),
        ("DRIFT_HOOK_SECRET".to_owned(), "hmac-s3cr3t".to_owned()),
    ];
    let run = repo.remediate_with_env(&["--terraform-bin", &wrapper], &env);
    assert!(run.code == 0 || run.code == 2, "{}", run.stderr);
    let seen = std::fs::read_to_string(&dump).expect("terraform ran");
    for name in [
        "DRIFT_HOOK_URL=",
        "DRIFT_HOOK_SECRET=",
        "hook-path",
        "hmac-s3cr3t",
    ] {
        assert!(!seen.contains(name), "terraform saw {name}");
    }
}
