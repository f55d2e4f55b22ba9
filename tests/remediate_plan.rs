//! The terraform side of remediation with real terraform: a targeted plan of the recorded
//! drift saved to a file, the guard judging it, the saved plan applied, the plan file gone on
//! every path. The recorded drift comes from `driftlog scan --format json`.

use std::path::{Path, PathBuf};

use driftlog::drift::ScanReport;
use driftlog::remediate::guard::{guard, ApprovedChange, Refusal, Revert};
use driftlog::terraform::apply::ApplyMessage;
use driftlog::terraform::saved_plan::{RemediationPlan, SavedApply, SavedApplyOutcome};
use driftlog::terraform::show::saved::PlannedAction;
use driftlog::terraform::{PlanInputs, Terraform};
use serde_json::json;

use crate::support::{tools, Stack, PROVIDER};

const WEB: &str = "filestate_object.web";

const WEB_STACK: &str = r#"
resource "filestate_object" "web" {
  name   = "web"
  secret = "s3cr3t-remediate-code"
  tags   = { env = "prod" }
  zone   = "z1"
}
"#;

fn web_stack() -> Stack {
    let stack = Stack::new(&[("main.tf", &format!("{PROVIDER}{WEB_STACK}"))]);
    stack.apply(&[]);
    stack
}

/// Terraform for the library: the test toolchain, through a wrapper that sets the CLI
/// configuration (the test process's own environment is left alone). `exec` keeps the pid,
/// so a stop reaches terraform itself.
fn terraform(stack: &Stack) -> Terraform {
    let wrapper = format!(
        "#!/bin/sh\nexport TF_CLI_CONFIG_FILE='{}' CHECKPOINT_DISABLE=1\nexec '{}' \"$@\"\n",
        tools().cli_config.display(),
        tools().bin_dir.join("terraform").display()
    );
    let bin = stack.fake_terraform("terraform-for-tests", &wrapper);
    Terraform::new(bin, &stack.root, None)
}

/// The drift a scan records now.
fn recorded(stack: &Stack) -> ScanReport {
    let run = stack.scan(&["--format", "json"]);
    assert!(
        run.code == 0 || run.code == 2,
        "{}\n{}",
        run.stdout,
        run.stderr
    );
    serde_json::from_str(&run.stdout).unwrap_or_else(|e| panic!("{e}: {}", run.stdout))
}

/// Every counted resource of the record, to revert.
fn reverts(report: &ScanReport, allow_recreate: bool) -> Vec<Revert> {
    report
        .resources
        .iter()
        .filter_map(|r| Revert::from_drift(r, allow_recreate))
        .collect()
}

fn plan(stack: &Stack, targets: &[&str]) -> RemediationPlan {
    let targets: Vec<String> = targets.iter().map(|t| (*t).to_owned()).collect();
    terraform(stack)
        .plan_remediation(&targets, &PlanInputs::default(), &mut |_| {})
        .unwrap_or_else(|e| panic!("plan: {e}"))
}

fn apply(stack: &Stack, plan: RemediationPlan) -> SavedApply {
    let dir: PathBuf = plan.file.dir().to_owned();
    assert!(dir.exists());
    let run = terraform(stack)
        .apply_saved_plan(plan.file, &mut |_| {})
        .unwrap_or_else(|e| panic!("apply: {e}"));
    assert!(!dir.exists(), "the plan file outlived the apply");
    run
}

fn refusals(reverts: &[Revert], plan: &RemediationPlan) -> Vec<Refusal> {
    match guard(reverts, &plan.plan) {
        Ok(approved) => panic!("approved {approved:?} of {:#?}", plan.plan),
        Err(refusals) => refusals,
    }
}

/// What the guard refuses, as a person reads it.
fn refused(reverts: &[Revert], plan: &RemediationPlan) -> Vec<String> {
    refusals(reverts, plan)
        .iter()
        .map(ToString::to_string)
        .collect()
}

/// The plan file's directory is removed when the plan is dropped, applied or not.
fn dropped(plan: RemediationPlan) {
    let dir = plan.file.dir().to_owned();
    drop(plan);
    assert!(!dir.exists(), "{} left behind", dir.display());
}

#[test]
fn recorded_drift_is_reverted_exactly_and_the_stack_is_clean_after() {
    let stack = web_stack();
    stack.edit("web", |o| {
        o["tags"]["env"] = json!("staging");
        o["secret"] = json!("s3cr3t-changed-by-hand");
    });
    let record = recorded(&stack);
    let reverts = reverts(&record, false);
    let saved = plan(&stack, &[WEB]);
    let typed = format!("{:?}", saved.plan);
    assert!(
        !typed.contains("s3cr3t"),
        "a secret in the typed plan: {typed}"
    );
    assert_eq!(saved.plan_sha256.len(), 64);
    assert_eq!(
        guard(&reverts, &saved.plan),
        Ok(vec![ApprovedChange {
            address: WEB.into(),
            action: PlannedAction::Update,
            reverts: vec!["secret".into(), "tags.env".into()],
            recomputed: vec!["revision".into()],
        }])
    );
    let applied = apply(&stack, saved);
    assert_eq!(applied.outcome, SavedApplyOutcome::Applied, "{applied:?}");
    let after = stack.scan(&["--format", "json"]);
    assert_eq!(
        after.code, 0,
        "not clean after the revert:\n{}",
        after.stdout
    );
    let real: serde_json::Value =
        serde_json::from_slice(&std::fs::read(stack.object_file("web")).expect("store"))
            .expect("json");
    assert_eq!(real["tags"]["env"], "prod");
}

#[test]
fn a_force_new_drift_is_refused_as_a_replace() {
    let stack = web_stack();
    stack.edit("web", |o| o["zone"] = json!("z2"));
    let reverts = reverts(&recorded(&stack), false);
    let saved = plan(&stack, &[WEB]);
    let refusals = refusals(&reverts, &saved);
    assert!(
        matches!(
            refusals.as_slice(),
            [Refusal::Replaces { address, action: PlannedAction::DeleteThenCreate, reason, paths }]
                if address == WEB
                    && reason.as_deref() == Some("replace_because_cannot_update")
                    && paths == &["zone"]
        ),
        "{refusals:?}"
    );
    dropped(saved);
}

#[test]
fn an_unapplied_code_change_on_the_same_resource_is_refused_by_name() {
    let stack = web_stack();
    stack.edit("web", |o| o["tags"]["env"] = json!("staging"));
    std::fs::write(
        stack.root.join("main.tf"),
        format!(
            "{PROVIDER}{}",
            WEB_STACK.replace(
                "zone   = \"z1\"",
                "zone = \"z1\"\n  description = \"new in code\""
            )
        ),
    )
    .expect("edit main.tf");
    let reverts = reverts(&recorded(&stack), false);
    let saved = plan(&stack, &[WEB]);
    let text = refused(&reverts, &saved);
    assert_eq!(
        text,
        ["applying would also apply unapplied code changes to filestate_object.web: description"]
    );
    dropped(saved);
}

#[test]
fn a_deleted_resource_is_created_again_only_when_allowed() {
    let stack = web_stack();
    stack.delete("web");
    let record = recorded(&stack);
    let saved = plan(&stack, &[WEB]);
    assert!(
        matches!(
            refusals(&reverts(&record, false), &saved).as_slice(),
            [Refusal::RecreateNotAllowed { address }] if address == WEB
        ),
        "{:?}",
        saved.plan
    );
    let approved = guard(&reverts(&record, true), &saved.plan);
    assert!(
        matches!(
            approved.as_deref(),
            Ok([ApprovedChange {
                action: PlannedAction::Create,
                ..
            }])
        ),
        "{approved:?}"
    );
    let applied = apply(&stack, saved);
    assert_eq!(applied.outcome, SavedApplyOutcome::Applied, "{applied:?}");
    assert!(stack.object_file("web").exists());
    assert_eq!(stack.scan(&[]).code, 0, "clean once re-created");
}

#[test]
fn a_plan_that_also_changes_a_dependency_is_refused() {
    let config = |db_size: u32| {
        format!(
            "{PROVIDER}
resource \"filestate_object\" \"db\" {{
  name = \"db\"
  size = {db_size}
}}
resource \"filestate_object\" \"web\" {{
  name        = \"web\"
  description = filestate_object.db.id
  tags        = {{ env = \"prod\" }}
}}
"
        )
    };
    let stack = Stack::new(&[("main.tf", &config(1))]);
    stack.apply(&[]);
    stack.edit("web", |o| o["tags"]["env"] = json!("staging"));
    let reverts = reverts(&recorded(&stack), false);
    assert_eq!(reverts.len(), 1);
    std::fs::write(stack.root.join("main.tf"), config(2)).expect("edit main.tf");
    let saved = plan(&stack, &[WEB]);
    let text = refused(&reverts, &saved);
    assert_eq!(
        text,
        ["the plan would also change filestate_object.db (update)"]
    );
    dropped(saved);
}

/// Set by [`in_a_child`] for [`child_process`]: the scenario it runs.
const CHILD: &str = "DRIFTLOG_REMEDIATE_TEST_CHILD";

/// Runs [`child_process`] in a new process of this test binary (so driftlog's signal
/// handlers can be installed, and a SIGINT reaches only it) with its own TMPDIR.
fn in_a_child(stack: &Stack, scenario: &str, marks: &Path) -> std::process::Child {
    // Writes the wrapper the child runs terraform through.
    drop(terraform(stack));
    std::process::Command::new(std::env::current_exe().expect("test binary"))
        .args(["remediate_plan::child_process", "--exact", "--nocapture"])
        .args(["--test-threads", "1"])
        .env(CHILD, scenario)
        .env("REMEDIATE_STACK", &stack.root)
        .env("REMEDIATE_MARKS", marks)
        .env("TMPDIR", &stack.tmp)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("start the child")
}

/// What the child printed as its result.
fn child_result(out: &std::process::Output) -> serde_json::Value {
    let stdout = String::from_utf8_lossy(&out.stdout);
    crate::capture::bytes("stdout", &out.stdout);
    crate::capture::bytes("stderr", &out.stderr);
    stdout
        .lines()
        .find_map(|line| line.split_once("REMEDIATE-RESULT ").map(|(_, json)| json))
        .and_then(|json| serde_json::from_str(json).ok())
        .unwrap_or_else(|| {
            panic!(
                "no result from the child:\n{stdout}\n{}",
                String::from_utf8_lossy(&out.stderr)
            )
        })
}

/// Not a test of its own: the process [`in_a_child`] starts. Without its variable it does
/// nothing.
#[test]
fn child_process() {
    let Ok(scenario) = std::env::var(CHILD) else {
        return;
    };
    driftlog::interrupt::install(driftlog::interrupt::Mode::Graceful).expect("handlers");
    let root = PathBuf::from(std::env::var_os("REMEDIATE_STACK").expect("stack"));
    let marks = PathBuf::from(std::env::var_os("REMEDIATE_MARKS").expect("marks"));
    let terraform = Terraform::new(root.join("terraform-for-tests"), &root, None);
    let result = match scenario.as_str() {
        "fail-plan" => {
            let planned = terraform.plan_remediation(
                &["filestate_object.missing[".to_owned()],
                &PlanInputs::default(),
                &mut |_| {},
            );
            json!({"planned": planned.is_ok()})
        }
        "interrupt-apply" => {
            let saved = terraform
                .plan_remediation(&[WEB.to_owned()], &PlanInputs::default(), &mut |_| {})
                .expect("plan");
            // The provider writes the object through this name: as a FIFO it blocks the
            // apply in the provider until the parent reads it.
            let fifo = root.join("store/web.json.tmp");
            let made = std::process::Command::new("mkfifo").arg(&fifo).status();
            assert!(made.is_ok_and(|s| s.success()), "mkfifo");
            let applied = terraform
                .apply_saved_plan(saved.file, &mut |message| {
                    if let ApplyMessage::Progress(text) = message {
                        if text.contains("Modifying") {
                            std::fs::write(marks.join("started"), "").expect("mark");
                        }
                    }
                })
                .expect("apply ran");
            json!({
                "outcome": format!("{:?}", applied.outcome),
                "failure": applied.run.failure().map(|f| f.kind),
            })
        }
        other => panic!("unknown scenario {other}"),
    };
    // On a line of its own: the harness prints the test's name before it.
    println!("\nREMEDIATE-RESULT {result}");
}

#[test]
fn a_failed_plan_leaves_no_plan_file() {
    let stack = web_stack();
    let marks = stack.tmp.with_file_name("marks");
    let out = in_a_child(&stack, "fail-plan", &marks)
        .wait_with_output()
        .expect("child");
    assert_eq!(child_result(&out)["planned"], false);
    assert_eq!(stack.leftover_temp_files(), Vec::<PathBuf>::new());
}

#[test]
fn an_interrupted_apply_is_told_apart_and_leaves_no_plan_file() {
    use std::io::BufRead as _;
    use std::os::unix::fs::OpenOptionsExt as _;
    let stack = web_stack();
    stack.edit("web", |o| o["tags"]["env"] = json!("staging"));
    let marks = stack.tmp.with_file_name("marks");
    std::fs::create_dir_all(&marks).expect("marks");
    let mut child = in_a_child(&stack, "interrupt-apply", &marks);
    // The child's stderr, watched for driftlog's word that the stop was taken.
    let (stopping_tx, stopping) = std::sync::mpsc::channel();
    let stderr = child.stderr.take().expect("stderr");
    let stderr = std::thread::spawn(move || {
        let mut all = Vec::new();
        for line in std::io::BufReader::new(stderr)
            .lines()
            .map_while(Result::ok)
        {
            if line.contains("received: stopping") {
                let _ = stopping_tx.send(());
            }
            all.extend_from_slice(line.as_bytes());
            all.push(b'\n');
        }
        all
    });
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(120);
    while !marks.join("started").exists() {
        assert!(
            std::time::Instant::now() < deadline,
            "the apply never started"
        );
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    let kill = std::process::Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .expect("kill");
    assert!(kill.success());
    stopping
        .recv_timeout(std::time::Duration::from_secs(60))
        .expect("driftlog took the stop");
    // Only now let the provider's write (and so the apply) finish.
    let fifo = stack.root.join("store/web.json.tmp");
    let reader = {
        let fifo = fifo.clone();
        std::thread::spawn(move || std::fs::read(fifo))
    };
    let mut stdout = Vec::new();
    std::io::Read::read_to_end(&mut child.stdout.take().expect("stdout"), &mut stdout)
        .expect("read stdout");
    let status = child.wait().expect("child ended");
    if !reader.is_finished() {
        // Terraform stopped before the provider wrote: release the reader.
        let _ = std::fs::OpenOptions::new()
            .write(true)
            .custom_flags(libc::O_NONBLOCK)
            .open(&fifo);
    }
    let written = reader.join().expect("reader").unwrap_or_default();
    let out = std::process::Output {
        status,
        stdout,
        stderr: stderr.join().expect("stderr read"),
    };
    let result = child_result(&out);
    assert_eq!(result["outcome"], "Interrupted", "{result}");
    assert_eq!(stack.leftover_temp_files(), Vec::<PathBuf>::new());
    // The provider renamed the FIFO into the object's place: put the object back as a file.
    for path in [stack.object_file("web"), fifo] {
        if std::fs::symlink_metadata(&path).is_ok_and(|m| !m.is_file()) {
            std::fs::remove_file(&path).expect("remove the FIFO");
        }
    }
    if !written.is_empty() {
        std::fs::write(stack.object_file("web"), written).expect("restore");
    }
}
