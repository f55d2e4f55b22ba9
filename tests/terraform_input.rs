//! What driftlog reads from terraform, when terraform (or whatever runs as it) misbehaves:
//! raw text kept to the terminal, errors whatever the exit code, output that says nothing,
//! paths resolved as a user and terraform expect, and commands that never end.

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::support::{git, sha256, terraform_env, Run, Stack, PROVIDER};

const VERSION: &str = r#"{"type":"version","terraform":"1.15.5"}"#;

/// A stack of one configuration file that only fake terraforms run.
fn stack() -> Stack {
    Stack::new(&[("main.tf", PROVIDER)])
}

/// The text between the frame driftlog prints terraform's output in on stderr.
fn framed<'a>(stderr: &'a str, stream: &str) -> &'a str {
    let begin = format!("driftlog: terraform's {stream} follows");
    let end = format!("driftlog: end of terraform's {stream}\n");
    let start = stderr
        .find(&begin)
        .and_then(|at| stderr[at..].find('\n').map(|nl| at + nl + 1))
        .unwrap_or_else(|| panic!("no {stream} frame on stderr:\n{stderr}"));
    let stop = stderr[start..]
        .find(&end)
        .map(|at| start + at)
        .unwrap_or_else(|| panic!("the {stream} frame never ends:\n{stderr}"));
    &stderr[start..stop]
}

/// `driftlog ARGS` in the stack, for a test whose terraform prints a test secret that the
/// terminal is meant to show: everything it writes goes to the leak scan but its stderr,
/// which the test itself checks holds the secret only inside the frame.
fn scan_showing_terraforms_text(stack: &Stack, args: &[&str]) -> Run {
    let mut command = Command::new(env!("CARGO_BIN_EXE_driftlog"));
    let args = [&["scan", stack.root.to_str().expect("utf-8")][..], args].concat();
    command
        .args(&args)
        .current_dir(&stack.root)
        .env("TMPDIR", &stack.tmp);
    terraform_env(&mut command);
    let out = command.output().expect("run driftlog");
    crate::capture::run(&args, &stack.root, &[], &out.stdout, b"");
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

#[test]
fn terraforms_stderr_and_tf_log_reach_the_terminal_but_no_report_or_record() {
    let stack = stack();
    let (key_file, _) = stack.commit_to_git(&[]);
    let fake = stack.fake_terraform(
        "fake-terraform",
        &format!(
            "#!/bin/sh\necho '{VERSION}'\n\
             echo '2026-12-02T01:00:00.000Z [TRACE] provider.filestate: token=s3cr3t-tf-log-1234' >&2\n\
             echo 'Error: backend refused password s3cr3t-stderr-5678' >&2\nexit 1\n"
        ),
    );
    let markdown = stack.tmp.join("report.md");
    let run = scan_showing_terraforms_text(
        &stack,
        &[
            "--format",
            "json",
            "--terraform-bin",
            &fake,
            "--signing-key",
            key_file.to_str().expect("utf-8"),
            "--output",
            markdown.to_str().expect("utf-8"),
        ],
    );
    assert_eq!(run.code, 1, "{}", run.stderr);
    let report = run.json();
    let failure = &report["failure"];
    assert_eq!(failure["kind"], "plan_failed");
    let stderr_text =
        "2026-12-02T01:00:00.000Z [TRACE] provider.filestate: token=s3cr3t-tf-log-1234\n\
                       Error: backend refused password s3cr3t-stderr-5678\n";
    let message = failure["message"].as_str().unwrap_or_default();
    assert!(
        message.contains("(exit code 1)")
            && message.contains(&format!("2 line(s), {} bytes", stderr_text.len()))
            && message.contains(&sha256(stderr_text.as_bytes())),
        "{message}"
    );
    assert_eq!(
        failure["output"],
        serde_json::json!({
            "stream": "stderr",
            "bytes": stderr_text.len(),
            "lines": 2,
            "shown_bytes": stderr_text.len(),
            "shown_sha256": sha256(stderr_text.as_bytes()),
        })
    );

    let record = git(
        &stack.root,
        &[
            "show",
            "driftlog/audit:records/000000/000/000000000000.json",
        ],
    );
    let record_json: Value = serde_json::from_str(&record).expect("record is JSON");
    assert_eq!(record_json["failure"]["output"], failure["output"]);
    let markdown = std::fs::read_to_string(&markdown).expect("markdown written");
    for (what, text) in [
        ("the JSON report", &run.stdout),
        ("the audit record", &record),
        ("the markdown", &markdown),
    ] {
        assert!(!text.contains("s3cr3t"), "{what} quotes terraform:\n{text}");
    }
    // The terminal shows it once, framed, exactly as hashed.
    assert_eq!(framed(&run.stderr, "stderr"), stderr_text);
    assert_eq!(run.stderr.matches("s3cr3t-stderr-5678").count(), 1);
    assert_eq!(run.stderr.matches("s3cr3t-tf-log-1234").count(), 1);
}

#[test]
fn a_line_that_is_not_json_is_hashed_in_the_report_and_shown_on_the_terminal() {
    let stack = stack();
    let line = "Error: wrapper says the token is s3cr3t-line-9012";
    let fake = stack.fake_terraform(
        "fake-terraform",
        &format!("#!/bin/sh\necho '{VERSION}'\necho '  {line}  '\nexit 1\n"),
    );
    let run = scan_showing_terraforms_text(
        &stack,
        &["--no-audit", "--format", "json", "--terraform-bin", &fake],
    );
    assert_eq!(run.code, 1, "{}", run.stderr);
    let report = run.json();
    assert_eq!(report["failure"]["kind"], "output_not_json");
    assert_eq!(report["failure"]["output"]["line"], 2);
    assert_eq!(
        report["failure"]["output"]["shown_sha256"],
        sha256(line.as_bytes())
    );
    let message = report["failure"]["message"].as_str().unwrap_or_default();
    assert!(
        message.contains("line 2 of terraform's output is not JSON"),
        "{message}"
    );
    assert!(!run.stdout.contains("s3cr3t"), "{}", run.stdout);
    assert_eq!(framed(&run.stderr, "stdout line 2"), format!("{line}\n"));
    assert_eq!(run.stderr.matches("s3cr3t").count(), 1, "{}", run.stderr);
}

#[test]
fn an_error_diagnostic_fails_the_scan_whatever_the_exit_code() {
    let stack = stack();
    let diagnostic = r#"{"@level":"error","type":"diagnostic","diagnostic":{"severity":"error","summary":"Failed to read variables file","detail":"Given variables file prod.tfvars does not exist."}}"#;
    let fake = stack.fake_terraform(
        "fake-terraform",
        &format!("#!/bin/sh\necho '{VERSION}'\necho '{diagnostic}'\nexit 0\n"),
    );
    let run = stack.scan_json_with(&fake);
    assert_eq!(run.code, 1, "never 'No drift': {}", run.stdout);
    let report = run.json();
    assert_eq!(report["status"], "failed");
    assert_eq!(report["failure"]["kind"], "plan_failed");
    let message = report["failure"]["message"].as_str().unwrap_or_default();
    assert!(
        message.contains("exit code 0, yet terraform reported errors")
            && message.contains("Failed to read variables file"),
        "{message}"
    );
    assert_eq!(
        report["diagnostics"][0]["summary"],
        "Failed to read variables file"
    );
}

#[test]
fn output_without_a_version_message_is_never_clean() {
    let stack = stack();
    for (name, script) in [
        ("silent", "#!/bin/sh\nexit 0\n".to_owned()),
        (
            "unknown-messages",
            "#!/bin/sh\necho '{\"type\":\"something_else\"}'\n\necho '{}'\nexit 0\n".to_owned(),
        ),
    ] {
        let fake = stack.fake_terraform(name, &script);
        let run = stack.scan_json_with(&fake);
        assert_eq!(run.code, 1, "{name}: {}", run.stdout);
        let report = run.json();
        assert_eq!(report["failure"]["kind"], "output_not_understood", "{name}");
        assert!(
            report["failure"]["message"]
                .as_str()
                .unwrap_or_default()
                .contains("terraform printed nothing driftlog understands"),
            "{report:#}"
        );
    }
}

#[test]
fn an_endless_line_is_refused_with_the_limit_named() {
    let stack = stack();
    // 5 MiB without a newline, then a message: the line limit is 4 MiB.
    let fake = stack.fake_terraform(
        "fake-terraform",
        &format!(
            "#!/bin/sh\necho '{VERSION}'\nhead -c 5242880 /dev/zero | tr '\\0' x\necho\n\
             echo '{VERSION}'\nexit 0\n"
        ),
    );
    let run = stack.scan_json_with(&fake);
    assert_eq!(run.code, 1);
    let report = run.json();
    assert_eq!(report["failure"]["kind"], "output_too_large");
    let message = report["failure"]["message"].as_str().unwrap_or_default();
    assert!(
        message.contains("line 2") && message.contains("MAX_STREAM_LINE_BYTES"),
        "{message}"
    );
}

#[test]
fn a_relative_tf_data_dir_is_read_from_the_stack_directory_as_terraform_does() {
    let stack = stack();
    // What `TF_DATA_DIR=tfdata terraform workspace select staging` leaves in the stack.
    std::fs::create_dir_all(stack.root.join("tfdata")).expect("mkdir");
    std::fs::write(stack.root.join("tfdata/environment"), "staging").expect("write");
    let fake = stack.fake_terraform(
        "fake-terraform",
        &format!("#!/bin/sh\necho '{VERSION}'\nexit 0\n"),
    );
    let elsewhere = stack.tmp.join("elsewhere");
    std::fs::create_dir_all(&elsewhere).expect("mkdir");
    let run = stack.driftlog_with_env(
        &elsewhere,
        &[
            "scan",
            stack.root.to_str().expect("utf-8"),
            "--no-audit",
            "--format",
            "json",
            "--terraform-bin",
            &fake,
        ],
        &[("TF_DATA_DIR".to_owned(), "tfdata".to_owned())],
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(run.json()["stack"]["workspace"], "staging");
}

#[test]
fn a_relative_terraform_bin_is_taken_from_where_driftlog_runs() {
    let stack = stack();
    let cwd = stack.tmp.join("cwd");
    std::fs::create_dir_all(cwd.join("tools")).expect("mkdir");
    write_script(
        &cwd.join("tools/tf"),
        &format!("#!/bin/sh\necho '{VERSION}'\nexit 0\n"),
    );
    let run = stack.driftlog_in(
        &cwd,
        &[
            "scan",
            stack.root.to_str().expect("utf-8"),
            "--no-audit",
            "--format",
            "json",
            "--terraform-bin",
            "./tools/tf",
        ],
    );
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    assert_eq!(run.json()["status"], "clean");
}

fn write_script(path: &Path, script: &str) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::write(path, script).expect("write script");
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).expect("chmod");
}

/// Scans with a fake terraform and a time limit of one second; the run and how long it took.
fn scan_with_timeout(stack: &Stack, fake: &str) -> (crate::support::Run, Duration) {
    let started = Instant::now();
    let run = stack.scan(&[
        "--format",
        "json",
        "--terraform-bin",
        fake,
        "--terraform-timeout",
        "1s",
    ]);
    (run, started.elapsed())
}

#[test]
fn a_plan_past_its_time_limit_is_stopped_gracefully_and_fails_the_scan() {
    let stack = stack();
    let marks = stack.root.join("marks");
    std::fs::create_dir_all(&marks).expect("mkdir");
    let fake = stack.fake_terraform(
        "endless-terraform",
        &format!(
            "#!/bin/bash\ntrap 'echo once >> \"{}/interrupted\"; exit 1' INT\n\
             echo '{VERSION}'\nwhile true; do sleep 0.05; done\n",
            marks.display()
        ),
    );
    let (run, took) = scan_with_timeout(&stack, &fake);
    assert_eq!(run.code, 1, "{}", run.stderr);
    let report = run.json();
    assert_eq!(report["failure"]["kind"], "timed_out");
    let message = report["failure"]["message"].as_str().unwrap_or_default();
    assert!(
        message.contains("terraform plan -refresh-only did not finish within 1s")
            && message.contains("--terraform-timeout"),
        "{message}"
    );
    assert_eq!(
        std::fs::read_to_string(marks.join("interrupted")).unwrap_or_default(),
        "once\n",
        "terraform gets one SIGINT"
    );
    assert!(took < Duration::from_secs(20), "{took:?}");
    assert!(stack.leftover_temp_files().is_empty());
}

#[test]
fn a_terraform_that_ignores_the_stop_is_killed_after_the_grace() {
    let stack = stack();
    let pid_file = stack.root.join("pid");
    // Ignores SIGINT, and a child of its own holds stdout open.
    let fake = stack.fake_terraform(
        "stubborn-terraform",
        &format!(
            "#!/bin/bash\ntrap '' INT\necho '{VERSION}'\necho $$ > '{}'\n\
             sleep 300 &\nwhile true; do sleep 0.05; done\n",
            pid_file.display()
        ),
    );
    let (run, took) = scan_with_timeout(&stack, &fake);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert_eq!(run.json()["failure"]["kind"], "timed_out");
    // One second to run, at most one more to stop.
    assert!(took < Duration::from_secs(20), "{took:?}");
    let pid = std::fs::read_to_string(&pid_file).expect("the fake wrote its pid");
    let stat = std::fs::read_to_string(format!("/proc/{}/stat", pid.trim()));
    assert!(
        stat.is_err() || stat.is_ok_and(|s| s.contains(") Z ")),
        "terraform still runs"
    );
}

#[test]
fn show_and_the_schema_have_time_limits_too() {
    let stack = stack();
    let drift = r#"{"type":"resource_drift","change":{"resource":{"addr":"filestate_object.a"},"action":"update"}}"#;
    let fake = stack.fake_terraform(
        "slow-show",
        &format!(
            "#!/bin/sh\nif [ \"$1\" = plan ]; then echo '{VERSION}'; echo '{drift}'; exit 2; fi\n\
             exec sleep 300\n"
        ),
    );
    let (run, took) = scan_with_timeout(&stack, &fake);
    assert_eq!(run.code, 1, "{}", run.stderr);
    let report = run.json();
    assert_eq!(report["failure"]["kind"], "timed_out");
    assert!(
        report["failure"]["message"]
            .as_str()
            .unwrap_or_default()
            .starts_with("show the plan as JSON (terraform show -json) did not finish within 1s"),
        "{report:#}"
    );
    assert!(took < Duration::from_secs(20), "{took:?}");
}

/// A provider's error about a resource named from a sensitive variable quotes the name (the
/// object's file): terraform cannot redact a provider's words, so no report, comment or
/// record carries them; the terminal shows them.
#[test]
fn a_providers_words_about_a_resource_reach_the_terminal_but_no_report_or_record() {
    const NAME: &str = "s3cr3t-named-by-variable";
    let stack = Stack::new(&[(
        "main.tf",
        &format!(
            "{PROVIDER}\nvariable \"name\" {{\n  type      = string\n  sensitive = true\n  \
             default   = \"{NAME}\"\n}}\nresource \"filestate_object\" \"db\" {{\n  name = \
             var.name\n  size = 1\n}}\n"
        ),
    )]);
    stack.apply(&[]);
    let (key_file, _) = stack.commit_to_git(&[]);
    // The provider's read of the object now fails, naming its file.
    let object = stack.object_file(NAME);
    std::fs::remove_file(&object).expect("remove the object");
    std::fs::create_dir(&object).expect("a directory where the object was");
    let run = scan_showing_terraforms_text(
        &stack,
        &[
            "--format",
            "json",
            "--signing-key",
            key_file.to_str().expect("utf-8"),
            "--output",
            "out.md",
        ],
    );
    assert_eq!(run.code, 1, "{}{}", run.stdout, run.stderr);
    let report: Value = serde_json::from_str(&run.stdout).expect("a JSON report");
    assert!(
        report["failure"]["message"]
            .as_str()
            .is_some_and(|m| m.contains("terraform's error about filestate_object.db is withheld")),
        "{report:#}"
    );
    let markdown = std::fs::read_to_string(stack.root.join("out.md")).expect("out.md");
    let history = git(&stack.root, &["log", "-p", "driftlog/audit"]);
    for (what, text) in [
        ("the JSON report", &run.stdout),
        ("the markdown report", &markdown),
        ("the audit branch", &history),
    ] {
        assert!(!text.contains("s3cr3t"), "{what} shows the secret:\n{text}");
    }
    assert!(
        run.stderr
            .contains("driftlog: terraform's words about filestate_object.db follow:")
            && run.stderr.contains(NAME),
        "{}",
        run.stderr
    );
}
