//! `driftlog verify` against logs written by the real store and then tampered with by real git
//! plumbing (`read-tree`, `update-index`, `write-tree`, `commit-tree -S`, `update-ref`,
//! `push --force`), the way someone with push access, and sometimes with the signing key,
//! would. Each kind of tampering must be reported with a message that names it.
//! `driftlog log` is checked on the same kind of log.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;

use driftlog::audit::record::{ChainPosition, LogId, Record, StackRef};
use driftlog::audit::recorder::AuditOptions;
use driftlog::audit::sshsig::{allowed_signers_line, SigningKey};
use driftlog::audit::store::{record_path, Appended, AuditStore, Committer};
use driftlog::audit::sync::{Auth, RemoteChoice};
use driftlog::context::{GithubActions, Local, RunContext};
use driftlog::drift::{
    Action, AttrValue, AttributeChange, DriftedResource, Evidence, Failure, ScanReport, Stack,
    Status, Summary,
};
use serde_json::{json, Value};

use crate::support::{assert_contains, assert_succeeded};

const BRANCH: &str = "driftlog/audit";
const ORIGIN: &str = "example.com/acme/infra/driftlog/audit";

/// Runs git in `dir` without the user's or the system's configuration.
fn git_with(dir: &Path, args: &[&str], env: &[(&str, &Path)]) -> String {
    let mut command = Command::new("git");
    command
        .args(args)
        .current_dir(dir)
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_CONFIG_NOSYSTEM", "1");
    for (name, value) in env {
        command.env(name, value);
    }
    let out = command.output().expect("git is installed");
    assert!(
        out.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn git(dir: &Path, args: &[&str]) -> String {
    git_with(dir, args, &[])
}

/// What one record says; the defaults are a clean scan of infra/prod.
#[derive(Clone)]
struct Scan {
    status: Status,
    stack: &'static str,
    time: &'static str,
    drifted: Vec<&'static str>,
    context: RunContext,
}

impl Default for Scan {
    fn default() -> Self {
        Scan {
            status: Status::Clean,
            stack: "infra/prod",
            time: "2026-11-24T00:00:00Z",
            drifted: Vec::new(),
            context: RunContext::Local(Local {
                user_name: Some("Dev".into()),
                user_email: Some("dev@example.com".into()),
                host: Some("laptop".into()),
            }),
        }
    }
}

impl Scan {
    fn drifted(addresses: &[&'static str]) -> Self {
        Scan {
            status: Status::Drifted,
            drifted: addresses.to_vec(),
            ..Scan::default()
        }
    }

    fn record(&self, key: &SigningKey, position: ChainPosition) -> Record {
        let resources: Vec<DriftedResource> = self
            .drifted
            .iter()
            .map(|address| DriftedResource {
                previous_address: None,
                class: Default::default(),
                address: (*address).to_owned(),
                module_address: None,
                mode: "managed".into(),
                resource_type: "aws_s3_bucket".into(),
                name: "x".into(),
                index: None,
                provider: "registry.terraform.io/hashicorp/aws".into(),
                action: Action::Update,
                changes: vec![AttributeChange {
                    class: Default::default(),
                    path: "tags.env".into(),
                    before: AttrValue::Known(json!("prod")),
                    after: AttrValue::Known(json!("dev")),
                    ignored: None,
                }],
                identifiers: Default::default(),
                ignored: None,
            })
            .collect();
        let report = ScanReport {
            schema_version: 1,
            stack: Stack {
                dir: ".".into(),
                workspace: "default".into(),
                cloudformation: None,
            },
            tool: Some(driftlog::drift::Tool {
                name: driftlog::drift::ToolName::Terraform,
                version: "1.15.5".into(),
            }),
            status: self.status,
            started_at: self.time.into(),
            duration_ms: 10,
            summary: Summary::of(3, &resources, &[], &[]),
            resources,
            refactors: Vec::new(),
            output_changes: vec![],
            not_checked: Vec::new(),
            diagnostics: vec![],
            failure: (self.status == Status::Failed)
                .then(|| Failure::new("plan_failed", "terraform plan failed")),
            evidence: Evidence::default(),
            audit: None,
            audit_pending: None,
            explanations: Vec::new(),
            owners: Vec::new(),
        };
        Record::of_scan(
            &report,
            StackRef {
                path: self.stack.into(),
                workspace: "default".into(),
                cloudformation: None,
            },
            self.context.clone(),
            LogId {
                repository: "example.com/acme/infra".into(),
                branch: BRANCH.into(),
            },
            position,
            key.fingerprint(),
            self.time.into(),
        )
    }
}

/// A repository whose main branch commits the trust root, with an audit log on `BRANCH`.
struct Log {
    dir: tempfile::TempDir,
    key: SigningKey,
    /// The signing key as an OpenSSH file, for `git commit-tree -S`.
    key_file: PathBuf,
    /// An allowed signers file outside the repository that trusts `key`.
    allowed: PathBuf,
    appended: Vec<Appended>,
}

impl Log {
    fn new() -> Log {
        let dir = tempfile::tempdir().expect("temp dir");
        let root = dir.path().join("repo");
        std::fs::create_dir_all(root.join(".driftlog")).expect("mkdir");
        let key = SigningKey::generate().expect("key");
        let line = format!("{}\n", allowed_signers_line("driftlog@ci", &key));
        git(&root, &["init", "-q", "-b", "main"]);
        git(&root, &["config", "user.name", "Dev"]);
        git(&root, &["config", "user.email", "dev@example.com"]);
        std::fs::write(root.join(".driftlog/allowed_signers"), &line).expect("write");
        git(&root, &["add", "."]);
        git(&root, &["commit", "-q", "-m", "trust the CI key"]);
        let allowed = dir.path().join("allowed_signers");
        std::fs::write(&allowed, &line).expect("write");
        let key_file = write_key(dir.path(), "signing_key", &key);
        Log {
            dir,
            key,
            key_file,
            allowed,
            appended: Vec::new(),
        }
    }

    /// A log of `n` clean scans.
    fn with_records(n: usize) -> Log {
        let mut log = Log::new();
        for _ in 0..n {
            log.append(&Scan::default());
        }
        log
    }

    fn root(&self) -> PathBuf {
        self.dir.path().join("repo")
    }

    fn store(&self) -> AuditStore {
        AuditStore::open(&self.root(), BRANCH, ORIGIN).expect("open the store")
    }

    fn append(&mut self, scan: &Scan) -> Appended {
        let key = &self.key;
        let build = |position| scan.record(key, position);
        let committer = Committer {
            name: "driftlog".into(),
            email: "driftlog@example.com".into(),
        };
        // The commit's time is the scan's, as when driftlog records right after a scan.
        let time = humantime::parse_rfc3339(scan.time)
            .expect("scan time")
            .duration_since(std::time::UNIX_EPOCH)
            .expect("after 1970")
            .as_secs() as i64;
        let appended = self
            .store()
            .append(&build, key, &committer, time)
            .expect("append");
        self.appended.push(appended.clone());
        appended
    }

    /// The branch's commits, oldest first.
    fn commits(&self) -> Vec<String> {
        git(
            &self.root(),
            &["rev-list", "--reverse", "--first-parent", BRANCH],
        )
        .lines()
        .map(str::to_owned)
        .collect()
    }

    fn record_bytes(&self, rev: &str, seq: u64) -> Vec<u8> {
        let out = Command::new("git")
            .args(["show", &format!("{rev}:{}", record_file(seq))])
            .current_dir(self.root())
            .output()
            .expect("git show");
        assert!(out.status.success(), "record {seq} exists at {rev}");
        out.stdout
    }

    fn verify(&self, extra: &[&str]) -> Run {
        let allowed = self.allowed.to_str().expect("utf-8").to_owned();
        let mut args = vec!["verify", "--allowed-signers", allowed.as_str()];
        args.extend_from_slice(extra);
        driftlog(&self.root(), &args)
    }

    /// Rewrites history from the commit at `from` (oldest is 0) on: each commit is recreated
    /// with `edit` applied to its tree (through a scratch index), its message, and `signer`'s
    /// signature, on top of the rewritten parent; then the branch is moved to the new tip.
    fn rewrite(&self, from: usize, signer: Signer<'_>, mut edit: impl FnMut(usize, &Scratch)) {
        let commits = self.commits();
        let mut parent = from.checked_sub(1).map(|i| commits[i].clone());
        for (index, commit) in commits.iter().enumerate().skip(from) {
            let scratch = Scratch::new(self, commit);
            edit(index, &scratch);
            let tree = scratch.write_tree();
            let message = self.message_of(commit);
            parent = Some(self.commit_tree(&tree, parent.as_slice(), &message, signer));
        }
        let tip = parent.expect("something was rewritten");
        git(
            &self.root(),
            &["update-ref", &format!("refs/heads/{BRANCH}"), &tip],
        );
    }

    /// `git commit-tree`, signed (`-S`, SSH) unless `signer` is `Unsigned`.
    fn commit_tree(
        &self,
        tree: &str,
        parents: &[String],
        message: &str,
        signer: Signer<'_>,
    ) -> String {
        let message_file = self.dir.path().join("message");
        std::fs::write(&message_file, message).expect("write message");
        let key_config;
        let mut args: Vec<&str> = vec!["-c", "gpg.format=ssh"];
        if let Signer::Key(key_file) = signer {
            key_config = format!("user.signingkey={}", key_file.display());
            args.extend(["-c", &key_config]);
        }
        args.extend(["commit-tree", tree]);
        if !matches!(signer, Signer::Unsigned) {
            args.push("-S");
        }
        for parent in parents {
            args.extend(["-p", parent]);
        }
        let message_arg = message_file.to_str().expect("utf-8");
        args.extend(["-F", message_arg]);
        git(&self.root(), &args).trim().to_owned()
    }

    /// [`Log::commit_tree`] signed with the log's key.
    fn signed_commit(&self, tree: &str, parents: &[String], message: &str) -> String {
        self.commit_tree(tree, parents, message, Signer::Key(&self.key_file))
    }

    /// The message of `commit`.
    fn message_of(&self, commit: &str) -> String {
        git(&self.root(), &["log", "-1", "--format=%B", commit])
    }

    /// The tree of `commit`.
    fn tree_of(&self, commit: &str) -> String {
        let tree = git(&self.root(), &["rev-parse", &format!("{commit}^{{tree}}")]);
        tree.trim().to_owned()
    }

    fn move_branch(&self, commit: &str) {
        git(
            &self.root(),
            &["update-ref", &format!("refs/heads/{BRANCH}"), commit],
        );
    }
}

#[derive(Clone, Copy)]
enum Signer<'a> {
    Key(&'a Path),
    Unsigned,
}

/// A commit's tree in a scratch index, to edit with `git update-index`.
struct Scratch {
    root: PathBuf,
    index: PathBuf,
}

impl Scratch {
    fn new(log: &Log, commit: &str) -> Scratch {
        let scratch = Scratch {
            root: log.root(),
            index: log.dir.path().join("scratch-index"),
        };
        scratch.git(&["read-tree", commit]);
        scratch
    }

    fn git(&self, args: &[&str]) -> String {
        git_with(&self.root, args, &[("GIT_INDEX_FILE", &self.index)])
    }

    /// Puts `bytes` at `path` (added or replaced).
    fn put(&self, path: &str, bytes: &[u8]) {
        let blob_file = self.index.with_extension("blob");
        std::fs::write(&blob_file, bytes).expect("write blob");
        let blob = git(
            &self.root,
            &["hash-object", "-w", blob_file.to_str().expect("utf-8")],
        );
        self.git(&[
            "update-index",
            "--add",
            "--cacheinfo",
            &format!("100644,{},{path}", blob.trim()),
        ]);
    }

    /// Puts the file `path` of `commit` here.
    fn copy_from(&self, commit: &str, path: &str) {
        let blob = git(&self.root, &["rev-parse", &format!("{commit}:{path}")]);
        self.git(&[
            "update-index",
            "--add",
            "--cacheinfo",
            &format!("100644,{},{path}", blob.trim()),
        ]);
    }

    fn remove(&self, path: &str) {
        self.git(&["update-index", "--force-remove", path]);
    }

    fn write_tree(&self) -> String {
        self.git(&["write-tree"]).trim().to_owned()
    }
}

fn write_key(dir: &Path, name: &str, key: &SigningKey) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, key.to_openssh("test").expect("encode key")).expect("write key");
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).expect("chmod");
    path
}

fn record_file(seq: u64) -> String {
    let [a, b, file] = record_path(seq);
    format!("records/{a}/{b}/{file}")
}

struct Run {
    code: Option<i32>,
    stdout: String,
    stderr: String,
}

fn driftlog(dir: &Path, args: &[&str]) -> Run {
    let out = Command::new(env!("CARGO_BIN_EXE_driftlog"))
        .args(args)
        .current_dir(dir)
        .output()
        .expect("run driftlog");
    crate::capture::output(args, dir, &[], &out);
    Run {
        code: out.status.code(),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

impl Run {
    /// Exit 1, and every `expected` text among the printed lines.
    fn assert_problems(&self, expected: &[&str]) {
        assert_eq!(
            self.code,
            Some(1),
            "verify must fail:\n{}{}",
            self.stdout,
            self.stderr
        );
        for text in expected {
            assert!(
                self.stdout.contains(text),
                "expected {text:?} in:\n{}",
                self.stdout
            );
        }
    }

    fn assert_intact(&self) {
        assert_eq!(
            self.code,
            Some(0),
            "verify must pass:\n{}{}",
            self.stdout,
            self.stderr
        );
    }
}

/// The same record with one drifted field changed: still canonical JSON, still a record.
fn edited(bytes: &[u8]) -> Vec<u8> {
    let text = String::from_utf8(bytes.to_vec()).expect("utf-8");
    assert!(text.contains(r#""result":"clean""#), "{text}");
    text.replace(r#""result":"clean""#, r#""result":"drifted""#)
        .into_bytes()
}

#[test]
fn an_untampered_log_verifies_with_the_committed_trust_root_and_its_own_checkpoint() {
    let mut log = Log::new();
    log.append(&Scan::default());
    log.append(&Scan::drifted(&["aws_s3_bucket.logs"]));
    log.append(&Scan {
        status: Status::Failed,
        ..Scan::default()
    });
    let last = log.append(&Scan::default());

    let run = log.verify(&[]);
    run.assert_intact();
    assert_contains(&run.stdout, "4 records verified, 0 problems");
    assert!(
        run.stdout.contains(&format!(
            "checkpoint (keep it to verify later): {}",
            last.checkpoint_line
        )),
        "the head checkpoint is the one the last append printed: {}",
        run.stdout
    );
    assert_contains(&run.stdout, &last.merkle_root);
    assert_contains(&run.stdout, "cannot detect");

    // Without --allowed-signers the trust root is the one committed on a branch named.
    let main = git(&log.root(), &["rev-parse", "main"]);
    let run = driftlog(
        &log.root(),
        &[
            "verify",
            "--trust-ref",
            "main",
            "--checkpoint",
            &last.checkpoint_line,
        ],
    );
    run.assert_intact();
    assert_contains(
        &run.stdout,
        &format!(
            "allowed signers: .driftlog/allowed_signers at main (commit {})",
            &main[..12]
        ),
    );
    assert_contains(
        &run.stdout,
        &format!(
            "signed by driftlog@ci ({}): 4 records",
            log.key.fingerprint()
        ),
    );
    assert!(
        run.stdout
            .contains(&format!("in commit {}", &log.appended[3].commit[..12])),
        "the head line names the last record's commit: {}",
        run.stdout
    );
    assert_contains(&run.stdout, "1 given checkpoint matched");

    let run = log.verify(&["--format", "json"]);
    run.assert_intact();
    let report: Value = serde_json::from_str(&run.stdout).expect("JSON report");
    assert_eq!(report["intact"], true);
    assert_eq!(report["records"], 4);
    assert_eq!(report["commits"], 4);
    assert_eq!(report["problems"], json!([]));
    assert_eq!(report["head"]["seq"], 3);
    assert_eq!(report["head"]["record_sha256"], last.record_sha256.as_str());
    assert_eq!(
        report["head"]["checkpoint_line"],
        last.checkpoint_line.as_str()
    );
}

#[test]
fn an_edited_record_is_caught_even_when_re_signed_with_the_real_key() {
    let log = Log::with_records(4);
    let original = log.record_bytes(BRANCH, 1);
    // An insider with the key edits record 1 in every tree from its commit on, re-signs all.
    log.rewrite(1, Signer::Key(&log.key_file), |_, tree| {
        tree.put(&record_file(1), &edited(&original));
    });
    assert_ne!(
        log.record_bytes(BRANCH, 1),
        original,
        "the record was edited"
    );

    log.verify(&[]).assert_problems(&[
        "seq 1: the record's signature (records/000000/000/000000000001.json.sig) is refused: \
         the signature does not match the message",
        "seq 1: the commit message says \"driftlog: record 1 sha256:",
        "seq 1: checkpoint/note has root",
        "seq 2: prev is",
        "the chain is broken",
    ]);
}

#[test]
fn a_deleted_record_is_caught() {
    let log = Log::with_records(5);
    let commits = log.commits();
    // Drop record 2's commit and remove the record from every later tree.
    let rebuilt_on = commits[1].clone();
    let mut parent = rebuilt_on;
    for commit in &commits[3..] {
        let scratch = Scratch::new(&log, commit);
        scratch.remove(&record_file(2));
        scratch.remove(&format!("{}.sig", record_file(2)));
        let message = log.message_of(commit);
        parent = log.signed_commit(&scratch.write_tree(), &[parent], &message);
    }
    log.move_branch(&parent);

    log.verify(&[]).assert_problems(&[
        "seq 3: record 2 is missing: seq jumps from 1 to 3",
        "seq 3: prev is",
    ]);
}

#[test]
fn swapped_records_are_caught() {
    let log = Log::with_records(4);
    let c = log.commits();
    // Record 3's commit goes first (onto record 1), then record 2's.
    let first = Scratch::new(&log, &c[1]);
    for path in [
        record_file(3),
        format!("{}.sig", record_file(3)),
        "checkpoint/note".to_owned(),
        "checkpoint/frontier.json".to_owned(),
    ] {
        first.copy_from(&c[3], &path);
    }
    let swapped = log.signed_commit(
        &first.write_tree(),
        std::slice::from_ref(&c[1]),
        &log.message_of(&c[3]),
    );
    let tree = log.tree_of(&c[3]);
    let tip = log.signed_commit(&tree, &[swapped], &log.message_of(&c[2]));
    log.move_branch(&tip);

    log.verify(&[]).assert_problems(&[
        "seq 3: record 2 is missing: seq jumps from 1 to 3",
        "seq 2: seq 2 comes after seq 3: records are out of order or repeated",
        "seq 3: prev is",
    ]);
}

#[test]
fn a_commit_re_signed_by_an_unknown_key_is_caught() {
    let log = Log::with_records(3);
    let stranger = SigningKey::generate().expect("key");
    let stranger_file = write_key(log.dir.path(), "stranger", &stranger);
    let tip = log.commits().len() - 1;
    log.rewrite(tip, Signer::Key(&stranger_file), |_, _| {});

    log.verify(&[]).assert_problems(&[&format!(
        "seq 2: the commit signature is refused: the signing key {} is not in the allowed \
         signers",
        stranger.fingerprint()
    )]);
}

#[test]
fn an_unsigned_commit_is_caught() {
    let log = Log::with_records(3);
    log.rewrite(1, Signer::Unsigned, |_, _| {});

    let run = log.verify(&[]);
    run.assert_problems(&[
        "seq 1: the commit is not signed",
        "seq 2: the commit is not signed",
    ]);
    assert_eq!(
        run.stdout.matches("the commit is not signed").count(),
        2,
        "record 0's commit is still signed: {}",
        run.stdout
    );
}

#[test]
fn a_commit_that_also_changes_an_older_record_is_caught() {
    let log = Log::with_records(4);
    let original = log.record_bytes(BRANCH, 0);
    let tip = log.commits().len() - 1;
    log.rewrite(tip, Signer::Key(&log.key_file), |_, tree| {
        tree.put(&record_file(0), &edited(&original));
        tree.put("notes.txt", b"nothing to see\n");
    });

    log.verify(&[]).assert_problems(&[
        "seq 3: also adds notes.txt, changes records/000000/000/000000000000.json",
    ]);
}

#[test]
fn a_merge_commit_is_caught() {
    let mut log = Log::with_records(2);
    let fork = log.commits().last().cloned().expect("a tip");
    // A second writer appends on a copy of the branch; someone then merges the two.
    git(&log.root(), &["branch", "other-writer", &fork]);
    log.append(&Scan::default());
    let other = AuditStore::open(&log.root(), "other-writer", ORIGIN).expect("open");
    let key = &log.key;
    let scan = Scan::drifted(&["aws_s3_bucket.logs"]);
    let build = |position| scan.record(key, position);
    let committer = Committer {
        name: "other".into(),
        email: "other@example.com".into(),
    };
    let theirs = other
        .append(&build, key, &committer, 1_790_000_100)
        .expect("append on the copy");
    let ours = log.commits().last().cloned().expect("a tip");
    let tree = log.tree_of(&ours);
    let merge = log.signed_commit(
        &tree,
        &[ours, theirs.commit],
        "Merge branch 'other-writer'\n",
    );
    log.move_branch(&merge);

    log.verify(&[]).assert_problems(&[
        "is a merge commit (2 parents): the audit branch must be one line of commits",
        "adds no record",
    ]);
}

#[test]
fn a_rewritten_and_force_pushed_history_is_caught_by_an_earlier_checkpoint() {
    let mut log = Log::with_records(3);
    let remote = log.dir.path().join("origin.git");
    git(
        log.dir.path(),
        &["init", "-q", "--bare", remote.to_str().expect("utf-8")],
    );
    git(
        &log.root(),
        &["remote", "add", "origin", remote.to_str().expect("utf-8")],
    );
    git(&log.root(), &["push", "-q", "origin", "main", BRANCH]);
    // What a pull-request comment kept: the checkpoints after records 0 and 2.
    let kept_first = log.appended[0].checkpoint_line.clone();
    let kept_last = log.appended[2].checkpoint_line.clone();

    // A holder of the key rewrites records 1 and 2 consistently, and force-pushes.
    let commits = log.commits();
    log.move_branch(&commits[0]);
    log.append(&Scan::drifted(&["aws_s3_bucket.logs"]));
    log.append(&Scan::default());
    git(&log.root(), &["push", "-q", "--force", "origin", BRANCH]);

    let allowed = log.allowed.to_str().expect("utf-8");
    let verify_remote = |extra: &[&str]| {
        let mut args = vec![
            "verify",
            "--repo",
            "origin.git",
            "--allowed-signers",
            allowed,
        ];
        args.extend_from_slice(extra);
        driftlog(log.dir.path(), &args)
    };
    // The rewritten branch is consistent in itself: only a checkpoint shows the rewrite.
    verify_remote(&[]).assert_intact();
    let run = verify_remote(&["--checkpoint", &kept_first, "--checkpoint", &kept_last]);
    run.assert_problems(&[
        "seq 2: checkpoint at size 3 does not match the log: history before record 3 was \
         rewritten",
        "1 given checkpoint matched",
    ]);
}

#[test]
fn a_truncated_history_is_caught_by_a_later_checkpoint() {
    let log = Log::with_records(5);
    let kept = log.appended[4].checkpoint_line.clone();
    let commits = log.commits();
    log.move_branch(&commits[2]);

    log.verify(&[]).assert_intact();
    let run = log.verify(&["--checkpoint", &kept]);
    run.assert_problems(&["the log has 3 records but a checkpoint shows 5: records were removed"]);

    // Deleting the branch altogether cannot be verified, but is not mistaken for success.
    git(
        &log.root(),
        &["update-ref", "-d", &format!("refs/heads/{BRANCH}")],
    );
    let run = log.verify(&["--checkpoint", &kept]);
    assert_eq!(run.code, Some(1));
    assert!(
        run.stderr.contains("there is no branch driftlog/audit")
            && run.stderr.contains("it was deleted"),
        "{}",
        run.stderr
    );
}

#[test]
fn a_checkpoint_signed_by_another_key_is_refused() {
    let log = Log::with_records(2);
    let other = Log::with_records(2);
    let run = log.verify(&["--checkpoint", &other.appended[1].checkpoint_line]);
    run.assert_problems(&["checkpoint 1 you gave is not signed by an allowed key"]);
}

#[test]
fn ssh_keygen_rejects_a_tampered_record_file_too() {
    let log = Log::with_records(2);
    let dir = log.dir.path();
    let bytes = log.record_bytes(BRANCH, 1);
    let signature = git(
        &log.root(),
        &["show", &format!("{BRANCH}:{}.sig", record_file(1))],
    );
    std::fs::write(dir.join("record.json.sig"), signature).expect("write");
    let ssh_keygen_verify = |record: &[u8]| {
        std::fs::write(dir.join("record.json"), record).expect("write");
        Command::new("sh")
            .args([
                "-c",
                "ssh-keygen -Y verify -f allowed_signers -I driftlog@ci -n driftlog \
                 -s record.json.sig < record.json",
            ])
            .current_dir(dir)
            .output()
            .expect("sh and ssh-keygen")
    };
    let genuine = ssh_keygen_verify(&bytes);
    assert_succeeded(&genuine);
    let tampered = ssh_keygen_verify(&edited(&bytes));
    assert!(
        !tampered.status.success(),
        "ssh-keygen must refuse the edited record"
    );
}

/// Folded records and pending refs.
mod pending;

mod log {
    use super::*;

    fn seqs(text: &str) -> Vec<u64> {
        text.lines()
            .map(|line| {
                line.split_whitespace()
                    .next()
                    .and_then(|seq| seq.parse().ok())
                    .unwrap_or_else(|| panic!("a line starts with its seq: {line}"))
            })
            .collect()
    }

    fn history() -> Log {
        let mut log = Log::new();
        log.append(&Scan {
            time: "2026-11-20T08:00:00Z",
            ..Scan::default()
        });
        log.append(&Scan {
            time: "2026-11-22T08:00:00Z",
            context: RunContext::GithubActions(GithubActions {
                actor: Some("alice".into()),
                repository: Some("acme/infra".into()),
                workflow: Some("drift".into()),
                run_id: Some("77".into()),
                pull_request: Some(12),
                ..GithubActions::default()
            }),
            ..Scan::drifted(&["aws_s3_bucket.logs", "module.net.aws_subnet.a[0]"])
        });
        log.append(&Scan {
            time: "2026-11-24T08:00:00Z",
            stack: "infra/staging",
            ..Scan::drifted(&["aws_s3_bucket.logs"])
        });
        log.append(&Scan {
            time: "2026-11-25T08:00:00Z",
            status: Status::Failed,
            ..Scan::default()
        });
        log
    }

    #[test]
    fn lists_records_newest_first_with_who_ran_them() {
        let log = history();
        let run = driftlog(&log.root(), &["log"]);
        assert_eq!(run.code, Some(0), "{}", run.stderr);
        assert_eq!(seqs(&run.stdout), [3, 2, 1, 0], "{}", run.stdout);
        let lines: Vec<&str> = run.stdout.lines().collect();
        assert!(
            lines[0].contains("2026-11-25T08:00:00Z")
                && lines[0].contains("infra/prod (default)")
                && lines[0].contains("failed (plan_failed)"),
            "{}",
            lines[0]
        );
        assert!(
            lines[2].contains("drifted  2 drifted: aws_s3_bucket.logs, module.net.aws_subnet.a[0]")
                && lines[2].contains(
                    "by alice via GitHub Actions (drift) for PR #12 \
                     https://github.com/acme/infra/actions/runs/77"
                ),
            "{}",
            lines[2]
        );
        assert_contains(
            lines[3],
            "clean  no drift  by Dev <dev@example.com> on laptop",
        );
        let help = driftlog(&log.root(), &["log", "--help"]);
        assert_contains(&help.stdout, "driftlog verify");
    }

    #[test]
    fn filters_by_stack_resource_and_time() {
        let log = history();
        let root = log.root();
        let run = driftlog(&root, &["log", "--stack", "./infra/prod/"]);
        assert_eq!(seqs(&run.stdout), [3, 1, 0], "{}", run.stdout);

        let run = driftlog(&root, &["log", "--resource", "module.net"]);
        assert_eq!(seqs(&run.stdout), [1], "{}", run.stdout);
        assert!(
            run.stdout
                .contains("2 drifted, matching: module.net.aws_subnet.a[0]  by"),
            "only matching addresses are listed: {}",
            run.stdout
        );
        let run = driftlog(&root, &["log", "--resource", "aws_s3_bucket.logs"]);
        assert_eq!(seqs(&run.stdout), [2, 1], "{}", run.stdout);

        let run = driftlog(&root, &["log", "--since", "2026-11-22"]);
        assert_eq!(seqs(&run.stdout), [3, 2, 1], "{}", run.stdout);
        let run = driftlog(&root, &["log", "--since", "2026-11-24T09:00:00+01:00"]);
        assert_eq!(seqs(&run.stdout), [3, 2], "{}", run.stdout);
        let run = driftlog(&root, &["log", "--since", "last tuesday"]);
        assert_eq!(run.code, Some(2), "clap refuses a bad date: {}", run.stderr);

        let run = driftlog(&root, &["log", "--limit", "1"]);
        assert_eq!(seqs(&run.stdout), [3], "{}", run.stdout);
    }

    #[test]
    fn json_is_the_records_as_stored() {
        let log = history();
        let run = driftlog(
            &log.root(),
            &[
                "log",
                "--format",
                "json",
                "--resource",
                "aws_s3_bucket.logs",
            ],
        );
        assert_eq!(run.code, Some(0), "{}", run.stderr);
        let records: Vec<Value> = serde_json::from_str(&run.stdout).expect("a JSON array");
        assert_eq!(records.len(), 2);
        assert_eq!(records[0]["seq"], 2);
        assert_eq!(records[1]["seq"], 1);
        assert_eq!(
            records[1]["resources"].as_array().map(Vec::len),
            Some(2),
            "records are whole, not trimmed to the filter"
        );
        // Byte for byte: each line of the array is a stored record file.
        let stored = String::from_utf8(log.record_bytes(BRANCH, 2)).expect("utf-8");
        assert!(
            run.stdout.lines().any(|line| line == format!("{stored},")),
            "{}",
            run.stdout
        );

        let none = driftlog(&log.root(), &["log", "--format", "json", "--stack", "nope"]);
        assert_eq!(none.stdout.trim(), "[]");
    }
}

/// A checkout owned by another user (a mounted volume, another CI user): git's ownership
/// check must come out as that, with the safe.directory fix, not as "not a repository".
#[test]
fn a_repository_owned_by_another_user_is_named_as_such() {
    let dir = tempfile::tempdir().expect("temp dir");
    let repo = dir.path().join("checkout");
    std::fs::create_dir(&repo).expect("mkdir");
    git(&repo, &["init", "-q"]);
    for entry in walk(&repo) {
        std::os::unix::fs::lchown(&entry, Some(4242), Some(4242))
            .expect("chown to uid 4242: this test needs root, as the suite runs in CI");
    }
    let home = dir.path().join("home");
    std::fs::create_dir(&home).expect("mkdir home");
    for args in [&["verify"][..], &["log"][..]] {
        let out = Command::new(env!("CARGO_BIN_EXE_driftlog"))
            .args(args)
            .current_dir(&repo)
            .env("HOME", &home)
            .env("XDG_CONFIG_HOME", &home)
            .output()
            .expect("run driftlog");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{args:?}: {stderr}");
        assert!(
            stderr.contains("belongs to another user")
                && stderr.contains("safe.directory")
                && !stderr.contains("not inside a git repository"),
            "{args:?}: {stderr}"
        );
    }
}

fn walk(root: &Path) -> Vec<PathBuf> {
    let mut found = vec![root.to_owned()];
    let mut index = 0;
    while index < found.len() {
        if found[index].is_dir() && !found[index].is_symlink() {
            let children: Vec<PathBuf> = std::fs::read_dir(&found[index])
                .expect("read dir")
                .map(|entry| entry.expect("entry").path())
                .collect();
            found.extend(children);
        }
        index += 1;
    }
    found
}

/// Gives the log's repository an `origin` (never contacted) whose default branch is `main`,
/// as `git clone` leaves it: `refs/remotes/origin/HEAD` -> `origin/main`.
fn set_default_branch(log: &Log) {
    let root = log.root();
    git(
        &root,
        &[
            "remote",
            "add",
            "origin",
            "https://example.com/acme/infra.git",
        ],
    );
    git(&root, &["update-ref", "refs/remotes/origin/main", "main"]);
    git(
        &root,
        &[
            "symbolic-ref",
            "refs/remotes/origin/HEAD",
            "refs/remotes/origin/main",
        ],
    );
}

/// `driftlog ARGS` in `dir` with none of the runner's GitHub variables or tokens, plus `env`.
fn driftlog_env(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Run {
    let mut command = Command::new(env!("CARGO_BIN_EXE_driftlog"));
    command.args(args).current_dir(dir);
    for name in [
        "GITHUB_ACTIONS",
        "GITHUB_TOKEN",
        "DRIFTLOG_GITHUB_TOKEN",
        "GITHUB_REPOSITORY",
        "GITHUB_EVENT_PATH",
        "GITHUB_API_URL",
        "GITHUB_SERVER_URL",
        "INPUT_GITHUB_TOKEN",
    ] {
        command.env_remove(name);
    }
    for (name, value) in env {
        command.env(name, value);
    }
    let out = command.output().expect("run driftlog");
    let env: Vec<(String, String)> = env
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    crate::capture::output(args, dir, &env, &out);
    Run {
        code: out.status.code(),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// The attack of issue 13: a branch adds its author's key to `.driftlog/allowed_signers` and
/// carries a log written with that key. Checked out, the branch must not vouch for itself.
#[test]
fn a_branch_that_trusts_its_own_key_is_refused_against_the_default_branch() {
    let mut log = Log::with_records(2);
    set_default_branch(&log);
    let root = log.root();
    let main = git(&root, &["rev-parse", "main"]).trim().to_owned();

    let insider = SigningKey::generate().expect("key");
    git(&root, &["checkout", "-q", "-b", "evil"]);
    let trust_file = root.join(".driftlog/allowed_signers");
    let mut trusted = std::fs::read_to_string(&trust_file).expect("read");
    trusted.push_str(&format!("{}\n", allowed_signers_line("insider", &insider)));
    std::fs::write(&trust_file, trusted).expect("write");
    git(&root, &["commit", "-q", "-am", "trust me too"]);
    let evil = git(&root, &["rev-parse", "evil"]).trim().to_owned();
    // The log, rewritten from scratch with the insider's key.
    git(
        &root,
        &["update-ref", "-d", &format!("refs/heads/{BRANCH}")],
    );
    log.key = insider;
    log.appended.clear();
    for _ in 0..3 {
        log.append(&Scan::drifted(&["aws_s3_bucket.logs"]));
    }

    let run = driftlog_env(&root, &["verify"], &[]);
    run.assert_problems(&[&format!(
        "allowed signers: .driftlog/allowed_signers at origin/main (commit {})",
        &main[..12]
    )]);
    assert!(
        run.stdout.contains("allowed key") || run.stdout.contains("allowed signer"),
        "the insider's signatures are refused: {}",
        run.stdout
    );
    assert!(!run.stdout.contains("keep it"), "{}", run.stdout);

    let run = driftlog_env(&root, &["verify", "--format", "json"], &[]);
    assert_eq!(run.code, Some(1), "{}{}", run.stdout, run.stderr);
    let report: Value = serde_json::from_str(&run.stdout).expect("JSON report");
    assert_eq!(report["intact"], false);
    assert_eq!(report["trust_root"]["path"], ".driftlog/allowed_signers");
    assert_eq!(report["trust_root"]["ref"], "origin/main");
    assert_eq!(report["trust_root"]["commit"], main.as_str());

    // The working tree's copy does not count either.
    std::fs::write(
        &trust_file,
        format!("{}\n", allowed_signers_line("insider", &log.key)),
    )
    .expect("write");
    driftlog_env(&root, &["verify"], &[]).assert_problems(&["at origin/main"]);

    // Trusting the branch is a choice made by name, and then the log is the branch's.
    let run = driftlog_env(&root, &["verify", "--trust-ref", "evil"], &[]);
    run.assert_intact();
    assert_contains(
        &run.stdout,
        &format!(
            "allowed signers: .driftlog/allowed_signers at evil (commit {})",
            &evil[..12]
        ),
    );
    assert_contains(
        &run.stdout,
        &format!("signed by insider ({}): 3 records", log.key.fingerprint()),
    );
    let run = driftlog_env(&root, &["verify", "--trust-ref", "no/such-ref"], &[]);
    assert_eq!(run.code, Some(1));
    assert_contains(&run.stderr, "--trust-ref no/such-ref");
}

#[test]
fn without_a_default_branch_verify_asks_for_the_trust_root_by_name() {
    let log = Log::with_records(1);
    // HEAD (main) has the file, but HEAD is what the verified party controls.
    let run = driftlog_env(&log.root(), &["verify"], &[]);
    assert_eq!(run.code, Some(1), "{}{}", run.stdout, run.stderr);
    assert!(
        run.stderr.contains("no default branch")
            && run.stderr.contains("--trust-ref REF")
            && run.stderr.contains("--allowed-signers FILE"),
        "{}",
        run.stderr
    );
    assert!(run.stdout.is_empty(), "{}", run.stdout);

    // A default branch without the file says so.
    let log = Log::with_records(1);
    set_default_branch(&log);
    git(&log.root(), &["rm", "-q", ".driftlog/allowed_signers"]);
    git(&log.root(), &["commit", "-q", "-m", "no trust"]);
    git(
        &log.root(),
        &["update-ref", "refs/remotes/origin/main", "main"],
    );
    let run = driftlog_env(&log.root(), &["verify"], &[]);
    assert_eq!(run.code, Some(1), "{}{}", run.stdout, run.stderr);
    assert!(
        run.stderr.contains("origin/main (commit ")
            && run.stderr.contains("has no .driftlog/allowed_signers"),
        "{}",
        run.stderr
    );
}

#[test]
fn an_allowed_signer_without_namespaces_is_a_warning() {
    let log = Log::with_records(1);
    let line = allowed_signers_line("driftlog@ci", &log.key);
    assert!(line.contains(" namespaces=\"git,driftlog\" "), "{line}");
    let everything = log.dir.path().join("everything");
    std::fs::write(
        &everything,
        format!(
            "# CI\n{}\n",
            line.replace(" namespaces=\"git,driftlog\"", "")
        ),
    )
    .expect("write");
    let path = everything.to_str().expect("utf-8");

    let run = driftlog_env(&log.root(), &["verify", "--allowed-signers", path], &[]);
    run.assert_intact();
    assert!(
        run.stderr.contains("warning")
            && run
                .stderr
                .contains("line 2 (driftlog@ci) has no namespaces=")
            && run.stderr.contains("trusted for every namespace"),
        "{}",
        run.stderr
    );
    let run = driftlog_env(
        &log.root(),
        &["verify", "--allowed-signers", path, "--format", "json"],
        &[],
    );
    run.assert_intact();
    let report: Value = serde_json::from_str(&run.stdout).expect("JSON report");
    let warnings = report["warnings"].as_array().expect("warnings");
    assert_eq!(warnings.len(), 1, "{warnings:?}");
    assert!(warnings[0]
        .as_str()
        .is_some_and(|w| w.contains("no namespaces=")));
    assert_eq!(report["trust_root"]["ref"], Value::Null);

    // The lines driftlog writes are restricted, so they warn about nothing.
    let run = log.verify(&["--format", "json"]);
    run.assert_intact();
    let report: Value = serde_json::from_str(&run.stdout).expect("JSON report");
    assert_eq!(report["warnings"], json!([]));
    assert!(!run.stderr.contains("warning"), "{}", run.stderr);
    let keygen = driftlog_env(
        log.dir.path(),
        &["keygen", "--output", "new_key", "--principal", "ci"],
        &[],
    );
    assert_eq!(keygen.code, Some(0), "{}", keygen.stderr);
    assert!(
        keygen
            .stdout
            .starts_with("ci namespaces=\"git,driftlog\" ssh-ed25519 "),
        "{}",
        keygen.stdout
    );
}

#[test]
fn a_log_of_another_repository_is_named_as_copied() {
    let log = Log::with_records(2);
    let allowed = log.allowed.to_str().expect("utf-8");
    let verify_as = |repository: &str| {
        let args = [
            "verify",
            "--allowed-signers",
            allowed,
            "--repository",
            repository,
        ];
        driftlog_env(&log.root(), &args, &[])
    };
    // A mirror's log is its source's: --repository names that source.
    verify_as("example.com/acme/infra").assert_intact();
    verify_as("github.com/someone/else").assert_problems(&["copied from another log"]);
    // Without the flag, the repository's own origin remote names it.
    git(
        &log.root(),
        &["remote", "add", "origin", "git@github.com:someone/else.git"],
    );
    driftlog_env(&log.root(), &["verify", "--allowed-signers", allowed], &[])
        .assert_problems(&["copied from another log", "\"github.com/someone/else\""]);
}

/// `--since-witnessed` reads driftlog's comment on the pull request and the drift issues, and
/// starts from the largest checkpoint of this log that an allowed key signed.
#[test]
fn since_witnessed_starts_from_the_checkpoint_in_driftlogs_comment() {
    use crate::fake_github::{FakeGithub, BOT_LOGIN};
    const TOKEN: &str = "ghs_witnessTOKEN0123456789";
    let log = Log::with_records(4);
    let other = Log::with_records(5);
    let fake = FakeGithub::start(TOKEN);
    let comment = |checkpoint: &str| {
        format!(
            "<!-- driftlog:comment id=infra/prod -->\n### Drift\n\n```text\n{checkpoint}\n```\n"
        )
    };
    fake.seed_comment_body("acme/infra", 7, "looks good", "alice");
    fake.seed_comment_body(
        "acme/infra",
        7,
        &comment(&log.appended[2].checkpoint_line),
        BOT_LOGIN,
    );
    // Larger, but not driftlog's: anyone can paste a marker into their own comment.
    fake.seed_comment_body(
        "acme/infra",
        7,
        &comment(&log.appended[3].checkpoint_line),
        "mallory",
    );
    // Larger, but another key's.
    fake.seed_comment_body(
        "acme/infra",
        7,
        &comment(&other.appended[4].checkpoint_line),
        BOT_LOGIN,
    );
    fake.seed_issue(
        "acme/infra",
        "Drift in infra/prod",
        &format!(
            "<!-- driftlog:issue id=infra/prod -->\n```text\n{}\n```\n",
            log.appended[1].checkpoint_line
        ),
        &["drift"],
        false,
    );
    let api = fake.api_url();
    let allowed = log.allowed.to_str().expect("utf-8");
    let env = [("GITHUB_TOKEN", TOKEN), ("GITHUB_API_URL", api.as_str())];
    let args = [
        "verify",
        "--allowed-signers",
        allowed,
        "--repository",
        "example.com/acme/infra",
        "--since-witnessed",
        "--github-repo",
        "acme/infra",
        "--pr",
        "7",
    ];

    let run = driftlog_env(&log.root(), &args, &env);
    run.assert_intact();
    assert!(
        run.stderr.contains(
            "verifying from the checkpoint at size 3 that GitHub witnessed (pull request #7 \
             comment "
        ),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains("is not signed by an allowed key"),
        "the other log's checkpoint is refused by name: {}",
        run.stderr
    );
    let run = driftlog_env(
        &log.root(),
        &[&args[..], &["--format", "json"]].concat(),
        &env,
    );
    run.assert_intact();
    let report: Value = serde_json::from_str(&run.stdout).expect("JSON report");
    assert_eq!(
        report["since_checkpoint"]["line"],
        log.appended[2].checkpoint_line.as_str()
    );
    assert_eq!(report["records"], 4);

    // What the action looks up before its scan posts: the line alone, nothing verified.
    let print = [
        &args[..args.len() - 5],
        &args[args.len() - 4..],
        &["--print-witnessed"],
    ]
    .concat();
    let run = driftlog_env(&log.root(), &print, &env);
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    assert_eq!(run.stdout.trim(), log.appended[2].checkpoint_line);

    // Without a pull request, the drift issue's checkpoint.
    let run = driftlog_env(&log.root(), &args[..args.len() - 2], &env);
    run.assert_intact();
    assert!(
        run.stderr
            .contains("checkpoint at size 2 that GitHub witnessed (issue #"),
        "{}",
        run.stderr
    );

    // Without a token, the whole log, and a word about it.
    let run = driftlog_env(&log.root(), &args, &[("GITHUB_API_URL", api.as_str())]);
    run.assert_intact();
    assert!(
        run.stderr.contains("no GitHub token") && run.stderr.contains("verifying the whole log"),
        "{}",
        run.stderr
    );
}

fn unix(time: &str) -> i64 {
    humantime::parse_rfc3339(time)
        .expect("time")
        .duration_since(std::time::UNIX_EPOCH)
        .expect("after 1970")
        .as_secs() as i64
}

/// An insider holding a retired key appends after its successor's records, backdating the
/// commit into the old key's validity and re-signing it with git and ssh-keygen.
#[test]
fn a_retired_key_cannot_append_after_its_successor_began() {
    let log = Log::with_records(2);
    let root = log.root();
    let old = SigningKey::generate().expect("key");
    let old_file = write_key(log.dir.path(), "old_key", &old);
    let retired = allowed_signers_line("driftlog@ci", &old).replacen(
        "namespaces=",
        "valid-before=\"20261101\",namespaces=",
        1,
    );
    let current = allowed_signers_line("driftlog@ci", &log.key);
    std::fs::write(&log.allowed, format!("{retired}\n{current}\n")).expect("write");
    log.verify(&[]).assert_intact();

    let committer = Committer {
        name: "driftlog".into(),
        email: "driftlog@example.com".into(),
    };
    let build = |position| Scan::drifted(&["aws_s3_bucket.logs"]).record(&old, position);
    log.store()
        .append(&build, &old, &committer, unix("2026-11-25T00:00:00Z"))
        .expect("append");
    let tip = git(&root, &["rev-parse", BRANCH]).trim().to_owned();
    let tree = git(&root, &["rev-parse", &format!("{tip}^{{tree}}")])
        .trim()
        .to_owned();
    let parent = git(&root, &["rev-parse", &format!("{tip}^")])
        .trim()
        .to_owned();
    let message_file = log.dir.path().join("message");
    std::fs::write(
        &message_file,
        git(&root, &["log", "-1", "--format=%B", &tip]),
    )
    .expect("write message");
    let key_config = format!("user.signingkey={}", old_file.display());
    let date = Path::new("2026-10-01T00:00:00Z");
    let forged = git_with(
        &root,
        &[
            "-c",
            "gpg.format=ssh",
            "-c",
            &key_config,
            "commit-tree",
            &tree,
            "-p",
            &parent,
            "-S",
            "-F",
            message_file.to_str().expect("utf-8"),
        ],
        &[("GIT_COMMITTER_DATE", date), ("GIT_AUTHOR_DATE", date)],
    );
    log.move_branch(forged.trim());
    // git itself accepts the backdated commit: the key was valid on its claimed date.
    let allowed_config = format!("gpg.ssh.allowedSignersFile={}", log.allowed.display());
    git(
        &root,
        &["-c", &allowed_config, "verify-commit", forged.trim()],
    );
    log.verify(&[])
        .assert_problems(&["times in a log only move forward", "is not valid at"]);
}

/// Options for recording in `repo` only (no remote), signed with `key`.
fn local_audit_options(repo: &Path, key: &SigningKey) -> AuditOptions {
    AuditOptions {
        repo: Some(repo.to_owned()),
        branch: BRANCH.into(),
        key: SigningKey::from_openssh(&key.to_openssh("k").expect("encode")).expect("decode"),
        remote: RemoteChoice::LocalOnly,
        auth: Auth::none(),
        deadline: None,
    }
}

/// A report of a scan of `.` with nothing else in it.
fn clean_report() -> ScanReport {
    ScanReport::new(
        Stack {
            dir: ".".into(),
            workspace: "default".into(),
            cloudformation: None,
        },
        "2026-11-24T00:00:00Z".into(),
    )
}

/// Writes `dir/allowed_signers` trusting `key` as `ci`; returns its path.
fn allow_as_ci(dir: &Path, key: &SigningKey) -> PathBuf {
    let allowed = dir.join("allowed_signers");
    std::fs::write(&allowed, allowed_signers_line("ci", key)).expect("write");
    allowed
}

/// One key trusted by two repositories: A's log fetched into B is named as copied, and B's
/// next record is refused rather than appended on top of it.
#[test]
fn a_log_fetched_from_another_repository_is_neither_verified_nor_extended() {
    use driftlog::audit::recorder::{record_scan, RecordError};

    let key = SigningKey::generate().expect("key");
    let dir = tempfile::tempdir().expect("temp dir");
    let repo_at = |name: &str, url: &str| {
        let root = dir.path().join(name);
        std::fs::create_dir_all(&root).expect("mkdir");
        git(&root, &["init", "-q", "-b", "main"]);
        git(&root, &["remote", "add", "origin", url]);
        root
    };
    let a = repo_at("a", "https://github.com/acme/a.git");
    let b = repo_at("b", "https://github.com/acme/b.git");
    let options = |repo: &Path| local_audit_options(repo, &key);
    let report = clean_report();
    for _ in 0..2 {
        record_scan(&report, &a, &options(&a)).expect("record in A");
    }
    git(
        &b,
        &[
            "fetch",
            "-q",
            a.to_str().expect("utf-8"),
            &format!("{BRANCH}:{BRANCH}"),
        ],
    );
    let allowed = allow_as_ci(dir.path(), &key);
    let allowed = allowed.to_str().expect("utf-8");
    driftlog(&a, &["verify", "--allowed-signers", allowed]).assert_intact();
    driftlog(&b, &["verify", "--allowed-signers", allowed])
        .assert_problems(&["copied from another log", "github.com/acme/a"]);
    let refused = record_scan(&report, &b, &options(&b)).expect_err("B's record is refused");
    assert!(
        matches!(refused, RecordError::ForeignLog { .. }),
        "{refused}"
    );
    assert!(refused.to_string().contains("copied from another log"));
    assert_eq!(
        git(&b, &["rev-list", "--count", BRANCH]).trim(),
        "2",
        "nothing was appended to A's log in B"
    );
}

/// A repository without a remote names its log by a random id fixed at the first record, so
/// a clone moved elsewhere keeps appending to the same log.
#[test]
fn a_local_log_keeps_its_id_when_the_clone_moves() {
    use driftlog::audit::recorder::record_scan;

    let key = SigningKey::generate().expect("key");
    let dir = tempfile::tempdir().expect("temp dir");
    let first = dir.path().join("first");
    std::fs::create_dir_all(&first).expect("mkdir");
    git(&first, &["init", "-q", "-b", "main"]);
    let options = |repo: &Path| local_audit_options(repo, &key);
    let report = clean_report();
    record_scan(&report, &first, &options(&first)).expect("record");
    let moved = dir.path().join("moved");
    std::fs::rename(&first, &moved).expect("move the clone");
    record_scan(&report, &moved, &options(&moved)).expect("record after the move");
    let allowed = allow_as_ci(dir.path(), &key);
    let run = driftlog(
        &moved,
        &[
            "verify",
            "--allowed-signers",
            allowed.to_str().expect("utf-8"),
            "--format",
            "json",
        ],
    );
    run.assert_intact();
    let report: Value = serde_json::from_str(&run.stdout).expect("json");
    let id = report["log_repository"].as_str().expect("log id");
    assert!(
        id.starts_with("local/") && id.len() == "local/".len() + 32,
        "{id}"
    );
    assert_eq!(report["records"], 2);
}
