//! `driftlog apply` end to end: real terraform and the filestate provider, a real git
//! repository, every apply recorded (or refused before it starts).

use std::path::{Path, PathBuf};

use driftlog::audit::sshsig::{allowed_signers_line, SigningKey};
use serde_json::{json, Value};

use crate::support::{git, Run, Stack, PROVIDER};

const FIRST: &str = r#"
resource "filestate_object" "gone" {
  name = "gone"
}
resource "filestate_object" "edited" {
  name = "edited"
  size = 1
}
resource "filestate_object" "renamed" {
  name = "renamed-1"
}
"#;

/// From FIRST: one delete, one update, one replacement (a new name), one create.
const SECOND: &str = r#"
resource "filestate_object" "edited" {
  name = "edited"
  size = 2
}
resource "filestate_object" "renamed" {
  name = "renamed-2"
}
resource "filestate_object" "added" {
  name = "added"
}
"#;

/// A stack holding `config`, initialised, committed in a git repository of its own, and a
/// signing key for it.
struct Repo {
    stack: Stack,
    key: SigningKey,
    key_file: PathBuf,
}

impl Repo {
    fn new(config: &str) -> Repo {
        let stack = Stack::new(&[("main.tf", &format!("{PROVIDER}{config}"))]);
        let init = stack.terraform(&["init", "-input=false", "-no-color"]);
        assert!(
            init.status.success(),
            "{}",
            String::from_utf8_lossy(&init.stderr)
        );
        let (key_file, key) = stack.commit_to_git(&["tfplan"]);
        Repo {
            stack,
            key,
            key_file,
        }
    }

    fn root(&self) -> &Path {
        &self.stack.root
    }

    fn write_config(&self, config: &str) {
        std::fs::write(self.root().join("main.tf"), format!("{PROVIDER}{config}"))
            .expect("write config");
    }

    /// `driftlog apply <stack> --signing-key KEY [OPTIONS] -- APPLY_ARGS`.
    fn apply(&self, options: &[&str], apply_args: &[&str]) -> Run {
        let root = self.root().to_str().expect("utf-8");
        let key = self.key_file.to_str().expect("utf-8");
        self.stack.driftlog_in(
            self.root(),
            &[
                &["apply", root, "--signing-key", key][..],
                options,
                &["--"],
                apply_args,
            ]
            .concat(),
        )
    }

    /// The record at `seq` on the audit branch.
    fn record(&self, seq: u64) -> Value {
        let path = format!("driftlog/audit:records/000000/000/{seq:012}.json");
        serde_json::from_str(&git(self.root(), &["show", &path])).expect("record is JSON")
    }

    fn has_audit_branch(&self) -> bool {
        std::process::Command::new("git")
            .args(["rev-parse", "--verify", "-q", "refs/heads/driftlog/audit"])
            .current_dir(self.root())
            .status()
            .expect("git")
            .success()
    }

    fn state_files(&self) -> Vec<String> {
        let mut files: Vec<String> = std::fs::read_dir(self.root())
            .expect("read stack")
            .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
            .filter(|name| name.ends_with(".tfstate") || name == "store")
            .collect();
        files.sort();
        files
    }

    /// `git verify-commit` on the branch tip and `driftlog verify` on the whole branch.
    fn assert_branch_verifies(&self, records: usize) {
        let allowed = self.root().join("keys/allowed_signers");
        std::fs::write(
            &allowed,
            format!("{}\n", allowed_signers_line("ci", &self.key)),
        )
        .expect("write");
        let config = format!("gpg.ssh.allowedSignersFile={}", allowed.display());
        git(
            self.root(),
            &[
                "-c",
                "gpg.format=ssh",
                "-c",
                &config,
                "verify-commit",
                "driftlog/audit",
            ],
        );
        let verify = self.stack.driftlog_in(
            self.root(),
            &[
                "verify",
                "--allowed-signers",
                allowed.to_str().expect("utf-8"),
            ],
        );
        assert_eq!(verify.code, 0, "{}{}", verify.stdout, verify.stderr);
        assert!(
            verify.stdout.contains(&format!(
                "{records} record{} verified, 0 problems",
                if records == 1 { "" } else { "s" }
            )),
            "{}",
            verify.stdout
        );
    }
}

/// The recorded change of `address`, as (action, outcome, id).
fn change<'a>(record: &'a Value, address: &str) -> (&'a Value, &'a Value, &'a Value) {
    let change = record["apply"]["changes"]
        .as_array()
        .and_then(|changes| changes.iter().find(|c| c["address"] == address))
        .unwrap_or_else(|| panic!("{address} not recorded:\n{record:#}"));
    (&change["action"], &change["outcome"], &change["id"])
}

/// An object named from a sensitive variable: terraform marks `name`, but the provider's
/// `id` (= name) is not marked, and terraform names changes by it.
const SECRET_NAME: &str = "s3cr3t-vault-name";

#[test]
fn an_id_copied_from_a_sensitive_name_is_recorded_nowhere() {
    let repo = Repo::new(&format!(
        "variable \"vault_name\" {{\n  type      = string\n  sensitive = true\n  default   = \"{SECRET_NAME}\"\n}}\n\
         resource \"filestate_object\" \"vault\" {{\n  name = var.vault_name\n  size = 1\n}}\n\
         resource \"filestate_object\" \"plain\" {{\n  name = \"plain\"\n  size = 1\n}}\n"
    ));
    let applied = repo.apply(&[], &["-auto-approve"]);
    assert_eq!(applied.code, 0, "{}{}", applied.stdout, applied.stderr);
    let record = repo.record(0);
    assert_eq!(change(&record, "filestate_object.vault").2, &Value::Null);
    assert_eq!(
        change(&record, "filestate_object.plain").2,
        "plain",
        "an id that is no secret is still recorded"
    );

    repo.stack.edit(SECRET_NAME, |o| o["size"] = json!(2));
    repo.stack.edit("plain", |o| o["size"] = json!(2));
    let key = repo.key_file.to_str().expect("utf-8");
    let scan = repo.stack.scan(&["--format", "json", "--signing-key", key]);
    assert_eq!(scan.code, 2, "{}", scan.stderr);
    let report = scan.json();
    let vault = crate::support::resource(&report, "filestate_object.vault");
    assert_eq!(
        crate::support::change(vault, "size"),
        (
            &json!({"kind": "known", "value": 1}),
            &json!({"kind": "known", "value": 2})
        )
    );
    assert!(
        vault["identifiers"]
            .as_object()
            .is_none_or(|ids| ids.is_empty()),
        "{vault:#}"
    );
    let plain = crate::support::resource(&report, "filestate_object.plain");
    assert_eq!(
        plain["identifiers"],
        json!({"id": "plain", "name": "plain"})
    );
    let terminal = repo.stack.scan(&["--no-audit"]);
    let markdown = repo.stack.scan(&["--no-audit", "--format", "markdown"]);
    let explain = repo.stack.driftlog_in(repo.root(), &["explain"]);
    let explain_json = repo
        .stack
        .driftlog_in(repo.root(), &["explain", "--format", "json"]);
    assert_eq!(explain_json.code, 0, "{}", explain_json.stderr);
    assert!(
        explain_json.stdout.contains("filestate_object.vault"),
        "{}",
        explain_json.stdout
    );
    let history = git(repo.root(), &["log", "-p", "driftlog/audit"]);
    for (what, text) in [
        ("the JSON report", &scan.stdout),
        ("the scan's messages", &scan.stderr),
        ("the terminal report", &terminal.stdout),
        ("the markdown report", &markdown.stdout),
        ("explain", &explain.stdout),
        ("explain --format json", &explain_json.stdout),
        ("the audit branch", &history),
        ("apply's messages", &applied.stderr),
        ("apply's progress", &applied.stdout),
    ] {
        assert!(!text.contains("s3cr3t"), "{what} shows the secret:\n{text}");
    }
}

#[test]
fn applies_are_recorded_with_every_change_and_the_branch_verifies() {
    let repo = Repo::new(FIRST);
    let head_before = git(repo.root(), &["rev-parse", "HEAD"]);
    let first = repo.apply(&[], &["-auto-approve"]);
    assert_eq!(first.code, 0, "{}{}", first.stdout, first.stderr);
    assert!(
        first.stderr.contains("recorded as audit record 0"),
        "{}",
        first.stderr
    );

    repo.write_config(SECOND);
    let second = repo.apply(&[], &["-auto-approve"]);
    assert_eq!(second.code, 0, "{}{}", second.stdout, second.stderr);
    // terraform's own progress lines, as they came, but for the ids a provider may have
    // copied from a secret.
    for line in [
        "Terraform 1.15.5",
        "filestate_object.edited: Modifying... [id=(withheld)]",
        "filestate_object.gone: Destroying... [id=(withheld)]",
        "filestate_object.added: Creating...",
        "filestate_object.added: Creation complete after",
        "Apply complete! Resources: 2 added, 1 changed, 2 destroyed.",
    ] {
        assert!(
            second.stdout.contains(line),
            "{line:?} in:\n{}",
            second.stdout
        );
    }
    assert!(
        second.stderr.contains("recorded as audit record 1")
            && second.stderr.contains("driftlog-checkpoint v1 "),
        "{}",
        second.stderr
    );
    assert!(
        repo.stack.object_file("added").exists(),
        "terraform applied"
    );
    assert!(!repo.stack.object_file("gone").exists());

    let record = repo.record(1);
    assert_eq!(record["kind"], "apply");
    assert_eq!(record["result"], "applied");
    assert_eq!(record["failure"], Value::Null);
    assert_eq!(
        record["tool"],
        json!({"name": "terraform", "version": "1.15.5"})
    );
    assert!(
        record.get("terraform_version").is_none(),
        "schema 2 names the tool"
    );
    assert_eq!(
        record["stack"],
        json!({"path": ".", "workspace": "default"})
    );
    assert_eq!(record["context"]["kind"], "local");
    assert_eq!(record["context"]["user_email"], "ci@example.com");
    assert_eq!(record["signing_key"], repo.key.fingerprint());
    assert_eq!(record["resources"], json!([]));
    let sha = record["evidence"]["apply_stream_sha256"]
        .as_str()
        .expect("stream hash");
    assert!(sha.len() == 64 && sha.bytes().all(|b| b.is_ascii_hexdigit()));
    assert_eq!(record["apply"]["exit_code"], 0);
    assert_eq!(
        record["apply"]["summary"],
        json!({"add": 2, "change": 1, "import": 0, "remove": 2})
    );
    assert_eq!(record["apply"]["changes"].as_array().map(Vec::len), Some(4));
    let complete = json!("complete");
    assert_eq!(
        change(&record, "filestate_object.gone"),
        (&json!("delete"), &complete, &Value::Null)
    );
    assert_eq!(
        change(&record, "filestate_object.edited"),
        (&json!("update"), &complete, &json!("edited"))
    );
    assert_eq!(
        change(&record, "filestate_object.renamed"),
        (&json!("replace"), &complete, &json!("renamed-2"))
    );
    assert_eq!(
        change(&record, "filestate_object.added"),
        (&json!("create"), &complete, &json!("added"))
    );
    let first_record = repo.record(0);
    assert_eq!(
        first_record["apply"]["changes"].as_array().map(Vec::len),
        Some(3)
    );

    assert_eq!(
        git(repo.root(), &["rev-parse", "HEAD"]),
        head_before,
        "recording never moves HEAD"
    );
    repo.assert_branch_verifies(2);

    let log = repo.stack.driftlog_in(repo.root(), &["log"]);
    assert_eq!(log.code, 0, "{}", log.stderr);
    let lines: Vec<&str> = log.stdout.lines().collect();
    assert!(
        lines[0].contains("applied") && lines[0].contains("applied 4 changes: +1 ~1 -/+1 -1"),
        "{}",
        log.stdout
    );
    assert!(lines[1].contains("applied 3 changes: +3"), "{}", log.stdout);
    let only = repo
        .stack
        .driftlog_in(repo.root(), &["log", "--resource", "filestate_object.gone"]);
    assert_eq!(only.stdout.lines().count(), 2, "{}", only.stdout);
    let only = repo.stack.driftlog_in(
        repo.root(),
        &["log", "--resource", "filestate_object.added"],
    );
    assert_eq!(only.stdout.lines().count(), 1, "{}", only.stdout);
}

#[test]
fn a_failed_apply_exits_as_terraform_did_and_is_recorded_as_failed() {
    let repo = Repo::new(
        r#"
resource "filestate_object" "fine" {
  name = "fine"
}
resource "filestate_object" "taken" {
  name = "taken"
}
"#,
    );
    // The provider refuses to create an object whose file already exists.
    std::fs::create_dir_all(repo.root().join("store")).expect("mkdir");
    std::fs::write(repo.stack.object_file("taken"), r#"{"name": "taken"}"#).expect("write");
    let run = repo.apply(&[], &["-auto-approve"]);
    assert_eq!(
        run.code, 1,
        "terraform's exit code:\n{}{}",
        run.stdout, run.stderr
    );
    assert!(
        run.stderr.contains("Error: object already exists")
            && run.stderr.contains("with filestate_object.taken"),
        "the diagnostic is shown with its detail: {}",
        run.stderr
    );
    assert!(
        run.stdout
            .contains("filestate_object.taken: Creation errored after"),
        "{}",
        run.stdout
    );
    assert!(
        run.stderr.contains("recorded as audit record 0"),
        "{}",
        run.stderr
    );
    let record = repo.record(0);
    assert_eq!(record["kind"], "apply");
    assert_eq!(record["result"], "failed");
    assert_eq!(record["failure"]["kind"], "apply_failed");
    let message = record["failure"]["message"].as_str().expect("message");
    // The provider's words are on the terminal (above); the record describes them.
    assert!(
        message.contains("terraform's error about filestate_object.taken is withheld")
            && message.contains("SHA-256")
            && !message.contains("filestate does not import objects"),
        "{message}"
    );
    assert_eq!(record["apply"]["exit_code"], 1);
    assert_eq!(record["apply"].get("summary"), None);
    assert_eq!(
        change(&record, "filestate_object.fine"),
        (&json!("create"), &json!("complete"), &json!("fine"))
    );
    assert_eq!(
        change(&record, "filestate_object.taken"),
        (&json!("create"), &json!("errored"), &Value::Null)
    );
    repo.assert_branch_verifies(1);
    let log = repo.stack.driftlog_in(repo.root(), &["log"]);
    assert!(
        log.stdout
            .contains("failed (apply_failed)  apply: 1 change completed: +1, 1 errored"),
        "{}",
        log.stdout
    );
}

#[test]
fn without_approval_nothing_runs_and_nothing_is_recorded() {
    let repo = Repo::new(FIRST);
    for apply_args in [&[][..], &["-var", "x=1"][..], &["-auto-approve=false"][..]] {
        let run = repo.apply(&[], apply_args);
        assert_eq!(run.code, 1, "{apply_args:?}");
        assert!(
            run.stderr.contains("pass -auto-approve")
                && run.stderr.contains("terraform plan -out=FILE")
                && run.stderr.contains("Nothing was applied"),
            "{}",
            run.stderr
        );
        assert!(run.stdout.is_empty(), "terraform never ran: {}", run.stdout);
    }
    assert!(!repo.has_audit_branch(), "nothing recorded");
    assert!(repo.state_files().is_empty(), "nothing applied");
}

#[test]
fn a_saved_plan_is_applied_and_recorded() {
    let repo = Repo::new(FIRST);
    let plan = repo
        .stack
        .terraform(&["plan", "-input=false", "-no-color", "-out=tfplan"]);
    assert!(
        plan.status.success(),
        "{}",
        String::from_utf8_lossy(&plan.stderr)
    );
    // -json given again is harmless: driftlog passes it once.
    let run = repo.apply(&[], &["-json", "tfplan"]);
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    assert!(
        run.stdout
            .contains("Apply complete! Resources: 3 added, 0 changed, 0 destroyed."),
        "{}",
        run.stdout
    );
    let record = repo.record(0);
    assert_eq!(record["result"], "applied");
    assert_eq!(
        change(&record, "filestate_object.renamed"),
        (&json!("create"), &json!("complete"), &json!("renamed-1"))
    );
    assert!(repo.stack.object_file("gone").exists());
}

#[test]
fn an_apply_that_could_not_be_recorded_never_starts() {
    let repo = Repo::new(FIRST);
    let root = repo.root().to_str().expect("utf-8");

    let no_key = repo
        .stack
        .driftlog_in(repo.root(), &["apply", root, "--", "-auto-approve"]);
    assert_eq!(no_key.code, 1);
    assert!(
        no_key.stderr.contains("no signing key for the audit log")
            && no_key
                .stderr
                .contains("apply without recording with --no-audit"),
        "{}",
        no_key.stderr
    );

    let bad_key = repo.root().join("keys/bad_key");
    std::fs::write(&bad_key, "-----BEGIN SOMETHING-----\nnot a key\n").expect("write");
    let bad = repo.stack.driftlog_in(
        repo.root(),
        &[
            "apply",
            root,
            "--signing-key",
            bad_key.to_str().expect("utf-8"),
            "--",
            "-auto-approve",
        ],
    );
    assert_eq!(bad.code, 1);
    assert!(bad.stderr.contains("cannot be used"), "{}", bad.stderr);

    let missing = repo.stack.driftlog_in(
        repo.root(),
        &[
            "apply",
            root,
            "--signing-key",
            "/nonexistent/key",
            "--",
            "-auto-approve",
        ],
    );
    assert_eq!(missing.code, 1);
    assert!(
        missing.stderr.contains("reading the signing key"),
        "{}",
        missing.stderr
    );

    // Outside any git repository the record has nowhere to go.
    std::fs::rename(repo.root().join(".git"), repo.root().join("git-moved")).expect("move");
    let no_repo = repo.apply(&[], &["-auto-approve"]);
    assert_eq!(no_repo.code, 1);
    assert!(
        no_repo.stderr.contains("not inside a git repository")
            && no_repo.stderr.contains("so it was not started"),
        "{}",
        no_repo.stderr
    );
    std::fs::rename(repo.root().join("git-moved"), repo.root().join(".git")).expect("move");

    for run in [&no_key, &bad, &missing, &no_repo] {
        assert!(run.stdout.is_empty(), "terraform never ran: {}", run.stdout);
    }
    assert!(repo.state_files().is_empty(), "the state is unchanged");
    assert!(!repo.has_audit_branch());

    // --no-audit applies without recording.
    let unrecorded = repo.stack.driftlog_in(
        repo.root(),
        &["apply", root, "--no-audit", "--", "-auto-approve"],
    );
    assert_eq!(unrecorded.code, 0, "{}", unrecorded.stderr);
    assert!(repo.stack.object_file("gone").exists());
    assert!(!repo.has_audit_branch());
}

#[test]
fn an_interrupted_apply_stops_gracefully_and_is_recorded_as_failed() {
    let repo = Repo::new(FIRST);
    let marks = repo.root().join("marks");
    std::fs::create_dir_all(&marks).expect("mkdir");
    let hook = |kind: &str, address: &str, action: &str| {
        format!(
            r#"echo '{{"type":"{kind}","@message":"{address}: {kind}","hook":{{"resource":{{"addr":"{address}"}},"action":"{action}","id_key":"id","id_value":"{address}-id"}}}}'"#
        )
    };
    let script = format!(
        "#!/bin/bash\n\
         trap '{errored}; echo once >> \"$MARKS/interrupted\"; exit 1' INT\n\
         echo '{{\"type\":\"version\",\"terraform\":\"9.9.9\",\"@message\":\"Terraform 9.9.9\"}}'\n\
         {start_done}\n{complete_done}\n{start_slow}\n\
         : > \"$MARKS/started\"\n\
         while true; do sleep 0.05; done\n",
        errored = hook("apply_errored", "x.slow", "update").replace('\'', "'\\''"),
        start_done = hook("apply_start", "x.done", "create"),
        complete_done = hook("apply_complete", "x.done", "create"),
        start_slow = hook("apply_start", "x.slow", "update"),
    );
    let fake = repo.stack.fake_terraform("slow-terraform", &script);
    let child = std::process::Command::new(env!("CARGO_BIN_EXE_driftlog"))
        .args([
            "apply",
            repo.root().to_str().expect("utf-8"),
            "--terraform-bin",
        ])
        .arg(&fake)
        .arg("--signing-key")
        .arg(&repo.key_file)
        .args(["--", "-auto-approve"])
        .current_dir(repo.root())
        .env("MARKS", &marks)
        .env_remove("DRIFTLOG_SIGNING_KEY")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("start driftlog");
    let out = crate::support::interrupt_once_started(child, &marks);
    crate::support::assert_interrupted_once(&out, &marks);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("recorded as audit record 0"), "{stderr}");
    let record = repo.record(0);
    assert_eq!(record["result"], "failed");
    assert_eq!(record["failure"]["kind"], "interrupted");
    assert_eq!(record["tool"]["version"], "9.9.9");
    // Without the state after it, nothing tells whether an id is a secret: none is kept.
    assert_eq!(
        change(&record, "x.done"),
        (&json!("create"), &json!("complete"), &Value::Null)
    );
    assert!(
        stderr.contains("driftlog records no resource ids for this apply")
            && stderr.contains("the apply was interrupted"),
        "{stderr}"
    );
    assert_eq!(
        change(&record, "x.slow"),
        (&json!("update"), &json!("errored"), &Value::Null)
    );
}

#[test]
fn an_apply_whose_record_cannot_be_pushed_fails_and_keeps_the_record() {
    let repo = Repo::new(FIRST);
    let remote = repo.stack.tmp.join("remote.git");
    let remote_arg = remote.to_str().expect("utf-8");
    git(repo.root(), &["remote", "add", "origin", remote_arg]);
    // The remote does not exist yet: the apply runs, its record cannot be pushed.
    let run = repo.apply(&[], &["-auto-approve"]);
    assert_eq!(
        run.code, 1,
        "a success that was not recorded is not a success"
    );
    assert!(
        run.stdout
            .contains("Apply complete! Resources: 3 added, 0 changed, 0 destroyed."),
        "{}",
        run.stdout
    );
    assert!(
        run.stderr
            .contains("terraform apply in . (default) succeeded")
            && run.stderr.contains("these changes were NOT recorded")
            && run
                .stderr
                .contains("  + filestate_object.gone created [id=gone]")
            && run
                .stderr
                .contains("the apply was NOT recorded in the audit log")
            && run.stderr.contains("wait in the spool"),
        "{}",
        run.stderr
    );
    assert!(repo.stack.object_file("gone").exists());

    // Once the remote exists, the next apply pushes the spooled record first.
    git(&repo.stack.tmp, &["init", "-q", "--bare", remote_arg]);
    let next = repo.apply(&[], &["-auto-approve"]);
    assert_eq!(next.code, 0, "{}", next.stderr);
    assert!(
        next.stderr.contains("recorded as audit record 1")
            && next
                .stderr
                .contains("also pushed 1 earlier record(s) from the spool"),
        "{}",
        next.stderr
    );
    let first = repo.record(0);
    assert_eq!(first["apply"]["changes"].as_array().map(Vec::len), Some(3));
    let second = repo.record(1);
    assert_eq!(second["result"], "applied");
    assert_eq!(second["apply"]["changes"], json!([]));
    let log = repo.stack.driftlog_in(repo.root(), &["log"]);
    assert!(log.stdout.contains("applied no changes"), "{}", log.stdout);
}

#[test]
fn an_apply_never_starts_while_a_worktree_has_the_audit_branch_checked_out() {
    let repo = Repo::new(FIRST);
    let worktrees = tempfile::tempdir().expect("temp dir");
    let worktree = worktrees.path().join("audit");
    let first = repo.apply(&[], &["-auto-approve"]);
    assert_eq!(first.code, 0, "{}", first.stderr);
    git(
        repo.root(),
        &[
            "worktree",
            "add",
            "-q",
            worktree.to_str().expect("utf-8"),
            "driftlog/audit",
        ],
    );
    let tip = git(repo.root(), &["rev-parse", "driftlog/audit"]);

    let refused = repo.apply(&[], &["-auto-approve"]);
    assert_eq!(refused.code, 1, "{}", refused.stderr);
    assert!(
        refused.stderr.contains("is checked out in")
            && refused.stderr.contains(&worktree.display().to_string())
            && refused.stderr.contains("so it was not started"),
        "{}",
        refused.stderr
    );
    assert!(
        refused.stdout.is_empty(),
        "terraform never ran: {}",
        refused.stdout
    );
    assert_eq!(git(repo.root(), &["rev-parse", "driftlog/audit"]), tip);
}
