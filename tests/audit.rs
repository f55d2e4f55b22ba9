//! The audit log: `driftlog keygen`, and records appended to a git branch, checked with
//! real `git` and `ssh-keygen`.

use std::os::unix::fs::PermissionsExt;
use std::process::Command;

use crate::support::assert_succeeded;

fn driftlog(args: &[&str], cwd: &std::path::Path) -> std::process::Output {
    let out = Command::new(env!("CARGO_BIN_EXE_driftlog"))
        .args(args)
        .current_dir(cwd)
        .output()
        .expect("run driftlog");
    crate::capture::output(args, cwd, &[], &out);
    out
}

#[test]
fn keygen_refuses_a_principal_that_would_break_the_allowed_signers_line() {
    let dir = tempfile::tempdir().expect("temp dir");
    for (principal, why) in [
        (
            "ci\nssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIMallory",
            "control character",
        ),
        ("ci\tbot", "control character"),
        ("ci,other@ci", "comma"),
        ("ci*", "pattern"),
        ("\"ci", "double quote"),
        (" ", "empty"),
    ] {
        let out = driftlog(
            &["keygen", "--output", "key", "--principal", principal],
            dir.path(),
        );
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{principal:?}: {stderr}");
        assert!(
            stderr.contains("--principal") && stderr.contains(why),
            "{principal:?}: {stderr}"
        );
        assert!(
            out.stdout.is_empty(),
            "no allowed signers line for {principal:?}"
        );
        assert!(
            !dir.path().join("key").exists(),
            "no key is written for {principal:?}"
        );
    }
    // Inner spaces are quoted, as ssh-keygen reads them.
    let out = driftlog(
        &["keygen", "--output", "key", "--principal", "CI bot"],
        dir.path(),
    );
    assert_succeeded(&out);
    assert!(String::from_utf8_lossy(&out.stdout).starts_with("\"CI bot\" namespaces="));
}

#[test]
fn keygen_writes_a_private_key_only_its_owner_can_read_and_prints_the_allowed_signers_line() {
    let dir = tempfile::tempdir().expect("temp dir");
    let out = driftlog(
        &["keygen", "--output", "ci_key", "--principal", "drift@ci"],
        dir.path(),
    );
    assert_succeeded(&out);
    let key = dir.path().join("ci_key");
    let mode = std::fs::metadata(&key)
        .expect("key written")
        .permissions()
        .mode()
        & 0o777;
    assert_eq!(mode, 0o600);
    let private = std::fs::read_to_string(&key).expect("read key");
    assert!(private.starts_with("-----BEGIN OPENSSH PRIVATE KEY-----"));
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        !stdout.contains("PRIVATE KEY") && !stderr.contains("PRIVATE KEY"),
        "the key is never printed"
    );
    let line = stdout.trim();
    assert!(
        line.starts_with("drift@ci ") && line.contains("ssh-ed25519 "),
        "{line}"
    );

    // OpenSSH reads the key, and its signature verifies against the printed line.
    let public = Command::new("ssh-keygen")
        .arg("-y")
        .arg("-f")
        .arg(&key)
        .output()
        .expect("ssh-keygen (openssh-client) is installed");
    assert_succeeded(&public);
    let pub_file =
        std::fs::read_to_string(dir.path().join("ci_key.pub")).expect("public key written");
    assert_eq!(
        String::from_utf8_lossy(&public.stdout)
            .split_whitespace()
            .take(2)
            .collect::<Vec<_>>(),
        pub_file.split_whitespace().take(2).collect::<Vec<_>>()
    );
    std::fs::write(dir.path().join("allowed_signers"), format!("{line}\n")).expect("write");
    std::fs::write(dir.path().join("msg"), "hello").expect("write");
    let sign = Command::new("ssh-keygen")
        .args(["-Y", "sign", "-f", "ci_key", "-n", "driftlog", "msg"])
        .current_dir(dir.path())
        .output()
        .expect("ssh-keygen");
    assert_succeeded(&sign);
    let verify = Command::new("sh")
        .args([
            "-c",
            "ssh-keygen -Y verify -f allowed_signers -I drift@ci -n driftlog -s msg.sig < msg",
        ])
        .current_dir(dir.path())
        .output()
        .expect("sh");
    assert_succeeded(&verify);

    let again = driftlog(&["keygen", "--output", "ci_key"], dir.path());
    assert_eq!(again.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&again.stderr).contains("never overwrites"));
    assert_eq!(
        std::fs::read_to_string(&key).expect("read key"),
        private,
        "the old key is intact"
    );
}

mod store {
    use std::process::Command;

    use driftlog::audit::merkle;
    use driftlog::audit::note::{self, NoteVerifier};
    use driftlog::audit::record::{ChainPosition, Record};
    use driftlog::audit::sshsig::{allowed_signers_line, SigningKey};
    use driftlog::audit::store::{record_path, AuditStore, StoreError};
    use driftlog::drift::Status;

    use crate::support::{assert_succeeded, git, sha256};
    use crate::sync::{committer, leave_changes, scan_record_of, work_state};

    const ORIGIN: &str = "example.com/acme/infra/driftlog/audit";

    /// A repository with a commit on main, a staged change and an unstaged one.
    fn busy_repository() -> tempfile::TempDir {
        let dir = tempfile::tempdir().expect("temp dir");
        let root = dir.path();
        git(root, &["init", "-q", "-b", "main"]);
        git(root, &["config", "user.name", "Dev"]);
        git(root, &["config", "user.email", "dev@example.com"]);
        std::fs::write(root.join("main.tf"), "# stack\n").expect("write");
        git(root, &["add", "main.tf"]);
        git(root, &["commit", "-q", "-m", "stack"]);
        leave_changes(root);
        dir
    }

    fn record_for(key: &SigningKey, status: Status) -> impl Fn(ChainPosition) -> Record + '_ {
        move |position| scan_record_of(status, "infra/prod", position, key)
    }

    #[test]
    fn appends_a_signed_hash_chain_without_touching_the_work_tree() {
        let repo = busy_repository();
        let root = repo.path();
        let before = work_state(root);
        let key = SigningKey::generate().expect("key");
        let store = AuditStore::open(root, "driftlog/audit", ORIGIN).expect("open");
        let statuses = [Status::Clean, Status::Drifted, Status::Failed];
        let appended: Vec<_> = statuses
            .iter()
            .enumerate()
            .map(|(i, status)| {
                store
                    .append(
                        &record_for(&key, *status),
                        &key,
                        &committer(),
                        1_790_000_000 + i as i64,
                    )
                    .expect("append")
            })
            .collect();
        let after = work_state(root);
        assert_eq!(before, after, "HEAD, index and work tree are untouched");

        // Linear history, one commit per record, each naming its record.
        let log = git(root, &["log", "--format=%H %P|%s", "driftlog/audit"]);
        let commits: Vec<&str> = log.lines().collect();
        assert_eq!(commits.len(), 3);
        for (line, appended) in commits.iter().rev().zip(&appended) {
            let (hashes, subject) = line.split_once('|').expect("format");
            assert!(
                hashes.split_whitespace().count() <= 2,
                "at most one parent: {line}"
            );
            assert_eq!(
                subject,
                format!(
                    "driftlog: record {} sha256:{}",
                    appended.seq, appended.record_sha256
                )
            );
        }

        // git itself accepts every commit's signature.
        let allowed = root.join(".git/allowed_signers");
        std::fs::write(
            &allowed,
            format!("{}\n", allowed_signers_line("driftlog@ci", &key)),
        )
        .expect("write");
        let allowed_config = format!("gpg.ssh.allowedSignersFile={}", allowed.display());
        for appended in &appended {
            git(
                root,
                &[
                    "-c",
                    "gpg.format=ssh",
                    "-c",
                    &allowed_config,
                    "verify-commit",
                    &appended.commit,
                ],
            );
        }

        // The chain: each record's prev is the SHA-256 of the previous record's bytes.
        let mut previous = "0".repeat(64);
        let mut leaves = Vec::new();
        for appended in &appended {
            let [a, b, file] = record_path(appended.seq);
            let path = format!("driftlog/audit:records/{a}/{b}/{file}");
            let bytes = Command::new("git")
                .args(["show", &path])
                .current_dir(root)
                .output()
                .expect("git show")
                .stdout;
            assert_eq!(sha256(&bytes), appended.record_sha256);
            let record: serde_json::Value = serde_json::from_slice(&bytes).expect("record is JSON");
            assert_eq!(record["prev"], previous.as_str());
            assert_eq!(record["seq"], appended.seq);
            previous = appended.record_sha256.clone();
            leaves.push(merkle::leaf_hash(&bytes));

            // OpenSSH accepts the detached signature of the record file.
            std::fs::write(root.join(".git/record.json"), &bytes).expect("write");
            std::fs::write(
                root.join(".git/record.json.sig"),
                git(root, &["show", &format!("{path}.sig")]),
            )
            .expect("write");
            let verify = Command::new("sh")
                .args(["-c", "ssh-keygen -Y verify -f .git/allowed_signers -I driftlog@ci -n driftlog -s .git/record.json.sig < .git/record.json"])
                .current_dir(root)
                .output()
                .expect("sh");
            assert_succeeded(&verify);
        }

        // The checkpoint commits to all records, and its one-line form carries the same note.
        let signed = git(root, &["show", "driftlog/audit:checkpoint/note"]);
        let verifier = NoteVerifier::new(ORIGIN, key.public_key_bytes()).expect("verifier");
        let opened = note::open_checkpoint(&signed, &[verifier]).expect("the checkpoint verifies");
        assert_eq!(opened.checkpoint.size, 3);
        assert_eq!(opened.checkpoint.root, merkle::root(&leaves));
        let last = appended.last().expect("three appends");
        assert_eq!(
            note::checkpoint_from_line(&last.checkpoint_line).expect("line parses"),
            signed
        );
        assert!(git(root, &["show", "driftlog/audit:README.md"]).contains("ssh-keygen -Y verify"));
    }

    #[test]
    fn an_append_that_lost_a_race_does_not_move_the_branch() {
        let repo = busy_repository();
        let key = SigningKey::generate().expect("key");
        let store = AuditStore::open(repo.path(), "driftlog/audit", ORIGIN).expect("open");
        let rival = AuditStore::open(repo.path(), "driftlog/audit", ORIGIN).expect("open");
        store
            .append(&record_for(&key, Status::Clean), &key, &committer(), 1)
            .expect("first append");
        // The rival appends while our record is being built: our compare-and-swap must fail.
        let ours = record_for(&key, Status::Drifted);
        let racing = |position: ChainPosition| {
            rival
                .append(&record_for(&key, Status::Clean), &key, &committer(), 2)
                .expect("rival append");
            ours(position)
        };
        let lost = store.append(&racing, &key, &committer(), 3);
        assert!(matches!(lost, Err(StoreError::Moved { .. })), "{lost:?}");
        let head = store.head().expect("head").expect("branch exists");
        assert_eq!(
            head.seq, 1,
            "the rival's record is the tip; ours did not overwrite it"
        );
        // Retrying on the new tip works.
        let retried = store
            .append(&record_for(&key, Status::Drifted), &key, &committer(), 4)
            .expect("retry");
        assert_eq!(retried.seq, 2);
    }
}

mod scan {
    use std::process::Command;

    use driftlog::audit::sshsig::{allowed_signers_line, SigningKey};
    use serde_json::json;

    use crate::support::{assert_contains, git, Stack};

    /// The rich stack, applied, committed in a git repository of its own, and a signing key.
    fn recorded_stack() -> (Stack, std::path::PathBuf, SigningKey) {
        let stack = Stack::rich();
        stack.apply(&[]);
        let (key_file, key) = stack.commit_to_git(&[]);
        (stack, key_file, key)
    }

    #[test]
    fn every_scan_is_recorded_and_secrets_stay_out_of_the_log() {
        let (stack, key_file, key) = recorded_stack();
        let root = &stack.root;
        let key_arg = key_file.to_str().expect("utf-8");
        let before = (
            git(root, &["rev-parse", "HEAD"]),
            git(root, &["status", "--porcelain"]),
        );

        let clean = stack.scan(&["--format", "json", "--signing-key", key_arg]);
        assert_eq!(clean.code, 0, "{}", clean.stderr);
        assert_contains(&clean.stderr, "recorded as audit record 0");
        assert!(
            clean.stderr.contains("driftlog-checkpoint v1 "),
            "the head is printed as a checkpoint line: {}",
            clean.stderr
        );

        stack.edit("web", |web| {
            web["secret"] = json!("s3cr3t-NEW-value");
            web["tags"]["env"] = json!("dev");
        });
        let drifted = stack.scan(&["--format", "json", "--signing-key", key_arg]);
        assert_eq!(drifted.code, 2, "{}", drifted.stderr);
        assert_contains(&drifted.stderr, "recorded as audit record 1");

        let after = (
            git(root, &["rev-parse", "HEAD"]),
            git(root, &["status", "--porcelain"]),
        );
        assert_eq!(
            before, after,
            "recording touches neither HEAD, the index nor the work tree"
        );

        let record: serde_json::Value = serde_json::from_str(&git(
            root,
            &[
                "show",
                "driftlog/audit:records/000000/000/000000000001.json",
            ],
        ))
        .expect("record is JSON");
        assert_eq!(record["seq"], 1);
        assert_eq!(record["result"], "drifted");
        assert_eq!(
            record["stack"],
            json!({"path": ".", "workspace": "default"})
        );
        assert_eq!(record["signing_key"], key.fingerprint());
        assert_eq!(record["context"]["kind"], "local");
        assert_eq!(record["context"]["user_email"], "ci@example.com");
        let web = record["resources"]
            .as_array()
            .expect("resources")
            .iter()
            .find(|r| r["address"] == "filestate_object.web")
            .expect("web drifted");
        assert!(web["changes"]
            .as_array()
            .expect("changes")
            .iter()
            .any(|c| c["path"] == "secret" && c["after"] == json!({"kind": "sensitive"})));

        let history = git(root, &["log", "-p", "driftlog/audit"]);
        assert!(
            !history.contains("s3cr3t"),
            "no secret anywhere in the audit branch's history"
        );
        let allowed = root.join("keys/allowed_signers");
        std::fs::write(&allowed, format!("{}\n", allowed_signers_line("ci", &key))).expect("write");
        let verify_config = format!("gpg.ssh.allowedSignersFile={}", allowed.display());
        git(
            root,
            &[
                "-c",
                "gpg.format=ssh",
                "-c",
                &verify_config,
                "verify-commit",
                "driftlog/audit",
            ],
        );
    }

    #[test]
    fn the_record_is_pushed_to_origin() {
        let (stack, key_file, _key) = recorded_stack();
        let remote = stack.tmp.join("remote.git");
        git(
            &stack.tmp,
            &["init", "-q", "--bare", remote.to_str().expect("utf-8")],
        );
        git(
            &stack.root,
            &["remote", "add", "origin", remote.to_str().expect("utf-8")],
        );
        let run = stack.scan(&[
            "--signing-key",
            key_file.to_str().expect("utf-8"),
            "--quiet",
        ]);
        assert_eq!(run.code, 0, "{}", run.stderr);
        assert_contains(&run.stderr, "pushed to origin");
        let pushed = git(&remote, &["rev-parse", "refs/heads/driftlog/audit"]);
        assert_eq!(
            pushed,
            git(&stack.root, &["rev-parse", "refs/heads/driftlog/audit"])
        );
    }

    #[test]
    fn the_key_can_come_from_the_environment_and_a_bad_key_fails_before_terraform_runs() {
        let (stack, key_file, _key) = recorded_stack();
        let key_text = std::fs::read_to_string(&key_file).expect("read key");
        let mut command = Command::new(env!("CARGO_BIN_EXE_driftlog"));
        command
            .args(["scan", stack.root.to_str().expect("utf-8"), "--quiet"])
            .env("PATH", crate::support::path_with_tools())
            .env("TF_CLI_CONFIG_FILE", &crate::support::tools().cli_config)
            .env("TMPDIR", &stack.tmp)
            .env("DRIFTLOG_SIGNING_KEY", &key_text);
        let out = command.output().expect("run driftlog");
        crate::capture::signing_key(&key_text);
        crate::capture::output(&[], &stack.root, &[], &out);
        assert_eq!(
            out.status.code(),
            Some(0),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(String::from_utf8_lossy(&out.stderr).contains("recorded as audit record 0"));

        let broken = key_text.replace(
            "-----BEGIN OPENSSH PRIVATE KEY-----",
            "-----BEGIN SOMETHING-----",
        );
        let out = command
            .env("DRIFTLOG_SIGNING_KEY", &broken)
            .output()
            .expect("run driftlog");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1));
        assert!(
            stderr.contains("DRIFTLOG_SIGNING_KEY cannot be used"),
            "{stderr}"
        );
        assert!(
            out.stdout.is_empty(),
            "no scan ran: {}",
            String::from_utf8_lossy(&out.stdout)
        );
        let body = key_text.lines().nth(1).expect("key body");
        assert!(!stderr.contains(body), "the key is never printed");
    }

    #[test]
    fn without_a_key_a_scan_refuses_to_run_unrecorded() {
        let stack = Stack::rich();
        let root = stack.root.to_str().expect("utf-8");
        let run = stack.driftlog_in(&stack.root, &["scan", root, "--format", "json"]);
        assert_eq!(run.code, 1);
        assert!(
            run.stderr.contains("no signing key for the audit log")
                && run.stderr.contains("--no-audit"),
            "{}",
            run.stderr
        );
        assert!(run.stdout.is_empty(), "terraform never ran: {}", run.stdout);
    }

    #[test]
    fn a_scan_that_cannot_be_recorded_fails_loudly() {
        let stack = Stack::rich();
        stack.apply(&[]);
        let key_file = stack.root.join("signing_key");
        std::fs::write(
            &key_file,
            SigningKey::generate()
                .expect("key")
                .to_openssh("ci")
                .expect("encode"),
        )
        .expect("write key");
        let run = stack.scan(&[
            "--format",
            "json",
            "--signing-key",
            key_file.to_str().expect("utf-8"),
        ]);
        assert_eq!(
            run.code, 1,
            "a clean scan that was not recorded is not a success"
        );
        assert_eq!(run.json()["status"], "clean", "the report is still printed");
        assert!(
            run.stderr.contains("NOT recorded")
                && run.stderr.contains("not inside a git repository"),
            "{}",
            run.stderr
        );
        let unrecorded = stack.scan(&["--format", "json", "--no-audit"]);
        assert_eq!(unrecorded.code, 0);
        assert!(
            !unrecorded.stderr.contains("warning"),
            "--no-audit silences the reminder: {}",
            unrecorded.stderr
        );
    }
}
