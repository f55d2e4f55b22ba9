//! Remediation records on a real branch, checked by the standard tools: `git verify-commit`
//! and `driftlog verify`, which also refuses one that does not hold together. (Their
//! redaction and detached signatures: the library's `audit::verify` and `audit::record`
//! tests.)

use std::path::PathBuf;
use std::process::Command;

use driftlog::audit::record::{
    ChainPosition, LogId, PlannedChange, Record, RecordBase, RecordRef, Refusal, RemediationAction,
    RemediationOutcome, RemediationRecord, RemediationRun, RuleRef, StackRef,
};
use driftlog::audit::sshsig::{allowed_signers_line, SigningKey};
use driftlog::audit::store::{record_path, Appended, AuditStore, Committer};
use driftlog::context::{Local, RunContext};
use driftlog::drift::{Action, AttrValue, AttributeChange, ScanReport, Stack, Status};
use serde_json::json;

use crate::support::git;

const BRANCH: &str = "driftlog/audit";

/// A repository whose audit branch one key signs, trusted by an allowed signers file beside it.
struct Log {
    dir: tempfile::TempDir,
    key: SigningKey,
}

impl Log {
    fn new() -> Log {
        let dir = tempfile::tempdir().expect("temp dir");
        git2::Repository::init(dir.path().join("repo")).expect("init");
        let key = SigningKey::generate().expect("key");
        let line = allowed_signers_line("driftlog@ci", &key);
        std::fs::write(dir.path().join("allowed_signers"), line + "\n").expect("write");
        Log { dir, key }
    }

    fn root(&self) -> PathBuf {
        self.dir.path().join("repo")
    }

    fn allowed(&self) -> PathBuf {
        self.dir.path().join("allowed_signers")
    }

    /// Appends what `build` makes, a second after the record before.
    fn append(&self, build: &dyn Fn(ChainPosition) -> Record) -> Appended {
        let origin = format!("example.com/acme/infra/{BRANCH}");
        let store = AuditStore::open(&self.root(), BRANCH, &origin).expect("open the store");
        let committer = Committer {
            name: "driftlog".into(),
            email: "driftlog@example.com".into(),
        };
        let next = store.head().expect("head").map_or(0, |head| head.seq + 1);
        store
            .append(build, &self.key, &committer, 1_790_000_000 + next as i64)
            .expect("append")
    }

    /// Every record's stack, context, log, key and time.
    fn base(&self) -> RecordBase {
        RecordBase {
            stack: StackRef {
                path: "infra/prod".into(),
                workspace: "default".into(),
                cloudformation: None,
            },
            context: RunContext::Local(Local::default()),
            log: LogId {
                repository: "example.com/acme/infra".into(),
                branch: BRANCH.into(),
            },
            signing_key: self.key.fingerprint(),
            time: "2026-09-21T00:00:00Z".into(),
        }
    }

    fn scan(&self, status: Status) -> Appended {
        let base = self.base();
        let mut report = ScanReport::new(
            Stack {
                dir: ".".into(),
                workspace: "default".into(),
                cloudformation: None,
            },
            base.time.clone(),
        );
        report.status = status;
        self.append(&|position| {
            let base = base.clone();
            Record::of_scan(
                &report,
                base.stack,
                base.context,
                base.log,
                position,
                base.signing_key,
                base.time,
            )
        })
    }

    fn remediation(&self, run: &RemediationRun) -> Appended {
        let base = self.base();
        self.append(&|position| Record::of_remediation(run, base.clone(), position))
    }

    fn driftlog_verify(&self) -> (Option<i32>, String) {
        let allowed = self.allowed();
        let args = [
            "verify",
            "--allowed-signers",
            allowed.to_str().expect("utf-8"),
        ];
        let out = Command::new(env!("CARGO_BIN_EXE_driftlog"))
            .args(args)
            .current_dir(self.root())
            .output()
            .expect("run driftlog");
        crate::capture::output(&args, &self.root(), &[], &out);
        let text = String::from_utf8_lossy(&out.stdout) + String::from_utf8_lossy(&out.stderr);
        (out.status.code(), text.into_owned())
    }
}

fn record_file(seq: u64) -> String {
    let [a, b, file] = record_path(seq);
    format!("records/{a}/{b}/{file}")
}

/// Reverting a database's port, and its password (sensitive: redacted before it got here).
fn reverted(acts_on: &Appended, verified_by: &Appended) -> RemediationRun {
    let change = |path: &str, before: AttrValue, after: AttrValue| AttributeChange {
        path: path.into(),
        before,
        after,
        class: Default::default(),
        ignored: None,
    };
    RemediationRun::new(RemediationRecord {
        rule: RuleRef {
            name: ".driftlog.toml:4".into(),
            reason: "databases change only through code".into(),
            action: RemediationAction::Revert,
        },
        acts_on: RecordRef::from(acts_on),
        plan_sha256: Some("5".repeat(64)),
        changes: vec![PlannedChange {
            address: "aws_db_instance.main".into(),
            action: Action::Update,
            attributes: vec![
                change("password", AttrValue::Sensitive, AttrValue::Sensitive),
                change(
                    "port",
                    AttrValue::Known(json!(5433)),
                    AttrValue::Known(json!(5432)),
                ),
            ],
        }],
        outcome: RemediationOutcome::Reverted,
        refusals: vec![Refusal {
            address: "aws_db_instance.replica".into(),
            reason: "the plan would replace it".into(),
        }],
        verified_by: Some(RecordRef::from(verified_by)),
    })
}

#[test]
fn a_remediation_record_verifies_with_git_and_driftlog() {
    let log = Log::new();
    let drifted = log.scan(Status::Drifted);
    let clean = log.scan(Status::Clean);
    let remediation = log.remediation(&reverted(&drifted, &clean));
    assert_eq!(remediation.seq, 2);

    let config = format!("gpg.ssh.allowedSignersFile={}", log.allowed().display());
    let verify_commit = [
        "-c",
        "gpg.format=ssh",
        "-c",
        &config,
        "verify-commit",
        &remediation.commit,
    ];
    git(&log.root(), &verify_commit);

    let bytes = git(
        &log.root(),
        &["show", &format!("{BRANCH}:{}", record_file(2))],
    );
    let record: serde_json::Value = serde_json::from_str(&bytes).expect("JSON");
    assert_eq!(record["kind"], "remediation");
    assert_eq!(record["result"], "reverted");
    let remediation = &record["remediation"];
    assert_eq!(remediation["rule"]["name"], ".driftlog.toml:4");
    assert_eq!(remediation["acts_on"]["seq"], 0);
    assert_eq!(
        remediation["acts_on"]["record_sha256"],
        drifted.record_sha256.as_str()
    );
    assert_eq!(remediation["verified_by"]["seq"], 1);
    assert_eq!(
        remediation["changes"][0]["attributes"][0]["after"],
        json!({"kind": "sensitive"})
    );

    let (code, text) = log.driftlog_verify();
    assert_eq!(code, Some(0), "{text}");
    assert!(text.contains("3 records verified, 0 problems"), "{text}");
}

#[test]
fn a_remediation_record_that_does_not_hold_together_fails_driftlog_verify() {
    let log = Log::new();
    let drifted = log.scan(Status::Drifted);
    let clean = log.scan(Status::Clean);
    // Signed with the trusted key, but claims a revert no scan verified.
    let mut run = reverted(&drifted, &clean);
    run.remediation.verified_by = None;
    log.remediation(&run);
    let (code, text) = log.driftlog_verify();
    assert_eq!(code, Some(1), "{text}");
    let expected = format!(
        "{} is not a driftlog record: a remediation record that does not hold together (it is \
         reverted but names no plan, no change or no scan that verified it)",
        record_file(2)
    );
    assert!(text.contains(&expected), "{text}");
}
