//! Ctrl-C during a CloudFormation scan: while driftlog waits for the drift detection, and
//! while an AWS CLI call is running. Either way the run stops within seconds, exits 130, says
//! the scan was interrupted, and leaves no AWS CLI process behind.

use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use fake_cloudformation::{FakeCloudFormation, StackSpec};

use crate::support::tools;

/// How long an interrupted driftlog may take to exit.
const STOP_WITHIN: Duration = Duration::from_secs(10);

fn start(fake: &FakeCloudFormation, aws: &Path, cwd: &Path) -> Child {
    let mut command = Command::new(env!("CARGO_BIN_EXE_driftlog"));
    command
        .args([
            "scan",
            "--cloudformation",
            "app",
            "--no-audit",
            "--format",
            "json",
        ])
        .current_dir(cwd)
        .envs(crate::cloudformation::aws_env(fake))
        // The CLI this test runs: the real one, or one that hangs.
        .env("DRIFTLOG_AWS_BIN", aws)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    crate::support::terraform_env(&mut command);
    command.spawn().expect("start driftlog")
}

/// Waits (at most a minute) until `ready` holds, then sends `child` one SIGINT and collects
/// its output, with how long it took to exit.
fn interrupt_when(child: Child, ready: impl Fn() -> bool) -> (Output, Duration) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while !ready() {
        assert!(Instant::now() < deadline, "the scan never got there");
        std::thread::sleep(Duration::from_millis(20));
    }
    let kill = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .expect("kill");
    assert!(kill.success());
    let sent = Instant::now();
    let out = child.wait_with_output().expect("wait for driftlog");
    crate::capture::bytes("stdout", &out.stdout);
    crate::capture::bytes("stderr", &out.stderr);
    (out, sent.elapsed())
}

fn assert_interrupted(out: &Output, took: Duration) {
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(130), "{stderr}");
    assert!(took < STOP_WITHIN, "took {took:?} to stop: {stderr}");
    assert!(stderr.contains("interrupted"), "{stderr}");
}

#[test]
fn ctrl_c_while_waiting_for_the_detection_stops_the_scan() {
    let fake = FakeCloudFormation::start().expect("fake");
    fake.add_stack(StackSpec::new("app").template("Resources: {}\n"))
        .expect("stack");
    // A detection that stays in progress far longer than the test.
    fake.polls_in_progress(u32::MAX);
    let dir = tempfile::tempdir().expect("tempdir");
    let child = start(&fake, &tools().bin_dir.join("aws"), dir.path());
    let (out, took) = interrupt_when(child, || {
        fake.requests_for("DescribeStackDriftDetectionStatus").len() >= 2
    });
    assert_interrupted(&out, took);
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "no JSON report ({e}): {}",
            String::from_utf8_lossy(&out.stdout)
        )
    });
    assert_eq!(report["status"], "failed");
    assert_eq!(report["failure"]["kind"], "interrupted");
}

#[test]
fn ctrl_c_during_an_aws_cli_call_stops_the_cli_and_the_scan() {
    let fake = FakeCloudFormation::start().expect("fake");
    let dir = tempfile::tempdir().expect("tempdir");
    let marks = dir.path().join("marks");
    std::fs::create_dir(&marks).expect("mkdir");
    // An AWS CLI that answers `--version`, then hangs in its first call until interrupted;
    // it notes each signal and when it ends.
    let aws = dir.path().join("aws");
    std::fs::write(
        &aws,
        format!(
            "#!/bin/sh\n\
             if [ \"$1\" = --version ]; then echo aws-cli/1.46.3; exit 0; fi\n\
             trap 'echo INT >> {m}/signals; exit 130' INT\n\
             trap 'echo TERM >> {m}/signals; exit 143' TERM\n\
             echo $$ > {m}/pid\n\
             touch {m}/started\n\
             while :; do sleep 0.05; done\n",
            m = marks.display()
        ),
    )
    .expect("fake aws");
    std::fs::set_permissions(&aws, std::os::unix::fs::PermissionsExt::from_mode(0o755))
        .expect("chmod");
    let child = start(&fake, &aws, dir.path());
    let (out, took) = interrupt_when(child, || marks.join("started").exists());
    assert_interrupted(&out, took);
    let signals = std::fs::read_to_string(marks.join("signals")).unwrap_or_default();
    assert_eq!(signals, "INT\n", "the CLI gets one SIGINT");
    let pid = std::fs::read_to_string(marks.join("pid")).expect("pid");
    let alive = Command::new("kill")
        .args(["-0", pid.trim()])
        .stderr(Stdio::null())
        .status()
        .expect("kill -0");
    assert!(!alive.success(), "the AWS CLI is still running");
}
