//! `driftlog scan` against real terraform and the filestate test provider.

use serde_json::{json, Value};

use crate::support::{assert_contains, change, known, resource, Stack, PROVIDER};

#[test]
fn clean_stack_exits_0_with_an_empty_report() {
    let stack = Stack::rich();
    stack.apply(&[]);
    let run = stack.scan(&["--format", "json"]);
    assert_eq!(run.code, 0, "stderr: {}", run.stderr);
    let report = run.json();
    assert_eq!(report["schema_version"], 2);
    let stream_hash = report["evidence"]["plan_stream_sha256"]
        .as_str()
        .unwrap_or_default();
    assert_eq!(
        stream_hash.len(),
        64,
        "the plan stream is hashed: {report:#}"
    );
    assert_eq!(
        report["evidence"]["show_json_sha256"],
        Value::Null,
        "no show without drift"
    );
    assert_eq!(report["status"], "clean");
    assert_eq!(
        report["tool"],
        json!({"name": "terraform", "version": "1.15.5"})
    );
    assert_eq!(report["stack"]["workspace"], "default");
    assert_eq!(report["resources"], json!([]));
    assert_eq!(report["summary"]["drifted"], 0);
    assert_eq!(
        report["summary"]["checked"], 6,
        "every resource instance was refreshed"
    );
    assert!(stack.leftover_temp_files().is_empty());

    let text = stack.scan(&["--color", "never"]);
    assert_eq!(text.code, 0);
    assert!(text.stdout.starts_with("No drift in "), "{}", text.stdout);
    let markdown = stack.scan(&["--format", "markdown"]);
    assert_contains(&markdown.stdout, "### ✅ No drift in");
}

#[test]
fn changed_attributes_are_reported_with_before_and_after() {
    let stack = Stack::rich();
    stack.apply(&[]);
    stack.edit("web", |web| {
        web["description"] = json!("edited in the console");
        web["size"] = json!(5);
        web["rule"][0]["cidr_blocks"][1] = json!("0.0.0.0/0");
    });
    let run = stack.scan(&["--format", "json"]);
    assert_eq!(run.code, 2, "stderr: {}", run.stderr);
    let report = run.json();
    assert_eq!(report["status"], "drifted");
    assert_eq!(report["summary"]["drifted"], 1);
    assert!(report["evidence"]["show_json_sha256"]
        .as_str()
        .is_some_and(|h| h.len() == 64));
    let web = resource(&report, "filestate_object.web");
    assert_eq!(web["action"], "update");
    assert_eq!(web["type"], "filestate_object");
    assert_eq!(web["name"], "web");
    assert_eq!(web["module_address"], Value::Null);
    assert_eq!(web["provider"], "registry.terraform.io/example/filestate");
    let paths: Vec<&str> = web["changes"]
        .as_array()
        .expect("changes")
        .iter()
        .filter_map(|c| c["path"].as_str())
        .collect();
    assert_eq!(
        paths,
        ["description", "rule[0].cidr_blocks[1]", "size"],
        "only changed attributes are listed"
    );
    assert_eq!(
        change(web, "description"),
        (
            &known(json!("web tier")),
            &known(json!("edited in the console"))
        )
    );
    assert_eq!(
        change(web, "rule[0].cidr_blocks[1]"),
        (&known(json!("10.1.0.0/16")), &known(json!("0.0.0.0/0")))
    );
    assert_eq!(change(web, "size"), (&known(json!(3)), &known(json!(5))));
    assert!(
        stack.leftover_temp_files().is_empty(),
        "the plan file must be removed"
    );

    let text = stack.scan(&["--color", "never"]);
    assert_eq!(text.code, 2);
    assert_contains(
        &text.stdout,
        r#"rule[0].cidr_blocks[1]: "10.1.0.0/16" -> "0.0.0.0/0""#,
    );
}

#[test]
fn map_entry_changes_are_reported_per_key() {
    let stack = Stack::rich();
    stack.apply(&[]);
    stack.edit("web", |web| {
        web["tags"]["env"] = json!("dev");
        web["tags"]["added by hand"] = json!("yes");
        web["tags"].as_object_mut().map(|t| t.remove("team"));
    });
    let report = stack.scan(&["--format", "json"]).json();
    let web = resource(&report, "filestate_object.web");
    assert_eq!(
        change(web, "tags.env"),
        (&known(json!("prod")), &known(json!("dev")))
    );
    assert_eq!(
        change(web, r#"tags["added by hand"]"#),
        (&json!({"kind": "absent"}), &known(json!("yes")))
    );
    assert_eq!(
        change(web, "tags.team"),
        (&known(json!("platform")), &json!({"kind": "absent"}))
    );
}

#[test]
fn a_deleted_resource_is_reported_as_delete() {
    let stack = Stack::rich();
    stack.apply(&[]);
    stack.delete("counted-1");
    let run = stack.scan(&["--format", "json"]);
    assert_eq!(run.code, 2, "stderr: {}", run.stderr);
    let report = run.json();
    let gone = resource(&report, "filestate_object.counted[1]");
    assert_eq!(gone["action"], "delete");
    assert_eq!(gone["index"], 1);
    assert_eq!(
        change(gone, "name"),
        (&known(json!("counted-1")), &json!({"kind": "absent"}))
    );
    assert_eq!(report["summary"]["deleted"], 1);
    let markdown = stack.scan(&["--format", "markdown"]).stdout;
    assert!(
        markdown.contains("| `filestate_object.counted[1]` | deleted | whole resource |"),
        "{markdown}"
    );
}

#[test]
fn drift_inside_a_nested_module_carries_the_module_address() {
    let stack = Stack::rich();
    stack.apply(&[]);
    stack.edit("subnet", |subnet| subnet["tags"]["tier"] = json!("public"));
    let report = stack.scan(&["--format", "json"]).json();
    let subnet = resource(&report, "module.net.filestate_object.subnet");
    assert_eq!(subnet["module_address"], "module.net");
    assert_eq!(subnet["name"], "subnet");
    assert_eq!(
        change(subnet, "tags.tier"),
        (&known(json!("private")), &known(json!("public")))
    );
}

#[test]
fn count_and_for_each_instances_keep_their_keys() {
    let stack = Stack::rich();
    stack.apply(&[]);
    stack.edit("counted-0", |o| o["description"] = json!("touched"));
    let weird_key = "we\"ird key";
    stack.edit(&format!("keyed-{}", md5_hex(weird_key)), |o| {
        o["tags"]["key"] = json!("changed")
    });
    let report = stack.scan(&["--format", "json"]).json();
    assert_eq!(report["summary"]["drifted"], 2, "{report:#}");
    let counted = resource(&report, "filestate_object.counted[0]");
    assert_eq!(counted["index"], 0);
    let keyed = resource(&report, r#"filestate_object.keyed["we\"ird key"]"#);
    assert_eq!(keyed["index"], weird_key);
    assert_eq!(
        change(keyed, "tags.key"),
        (&known(json!(weird_key)), &known(json!("changed")))
    );
    let markdown = stack.scan(&["--format", "markdown"]).stdout;
    assert!(
        markdown.contains(r#"<code>filestate_object.keyed[&quot;we\&quot;ird key&quot;]</code>"#)
            || markdown.contains(r#"<code>filestate_object.keyed["we\"ird key"]</code>"#),
        "{markdown}"
    );
}

#[test]
fn sensitive_values_never_appear_in_any_output() {
    let stack = Stack::rich();
    stack.apply(&[]);
    stack.edit("web", |web| web["secret"] = json!("s3cr3t-NEW-value"));
    let report_file = stack.root.join("report.json");
    let markdown_file = stack.root.join("report.md");
    let runs = [
        stack.scan(&[
            "--format",
            "json",
            "--output",
            report_file.to_str().unwrap_or_default(),
        ]),
        stack.scan(&[
            "--format",
            "markdown",
            "--output",
            markdown_file.to_str().unwrap_or_default(),
        ]),
        stack.scan(&["--color", "always"]),
    ];
    let report = runs[0].json();
    let web = resource(&report, "filestate_object.web");
    let sensitive = json!({"kind": "sensitive"});
    assert_eq!(
        change(web, "secret"),
        (&sensitive, &sensitive),
        "a changed secret is reported as changed"
    );
    assert_contains(&runs[1].stdout, "(sensitive value changed)");
    let files = [
        std::fs::read_to_string(&report_file).unwrap_or_default(),
        std::fs::read_to_string(&markdown_file).unwrap_or_default(),
    ];
    assert!(!files[0].is_empty() && !files[1].is_empty());
    for text in runs
        .iter()
        .flat_map(|r| [&r.stdout, &r.stderr])
        .chain(files.iter())
    {
        assert!(!text.contains("s3cr3t-OLD"), "old secret leaked:\n{text}");
        assert!(!text.contains("s3cr3t-NEW"), "new secret leaked:\n{text}");
    }
    for run in &runs {
        assert_eq!(run.code, 2);
    }
    assert!(stack.leftover_temp_files().is_empty());
}

#[test]
fn output_only_changes_are_not_drift() {
    let stack = Stack::rich();
    stack.apply(&[]);
    let config = std::fs::read_to_string(stack.root.join("main.tf")).unwrap_or_default();
    std::fs::write(
        stack.root.join("main.tf"),
        format!("{config}\noutput \"added_later\" {{\n  value = \"x\"\n}}\n"),
    )
    .expect("write");
    let run = stack.scan(&["--format", "json"]);
    assert_eq!(run.code, 0, "output-only changes exit 0: {}", run.stderr);
    let report = run.json();
    assert_eq!(report["status"], "clean");
    assert_eq!(
        report["output_changes"],
        json!([{"name": "added_later", "action": "create", "sensitive": false}])
    );
    assert_eq!(report["summary"]["output_changes"], 1);
}

#[test]
fn a_broken_configuration_fails_with_terraforms_diagnostics() {
    let stack = Stack::new(&[(
        "main.tf",
        &format!(
            "{PROVIDER}\nresource \"filestate_object\" \"a\" {{\n  name = var.undeclared\n}}\n"
        ),
    )]);
    let init = stack.terraform(&["init", "-input=false"]);
    assert!(init.status.success());
    let run = stack.scan(&["--format", "json"]);
    assert_eq!(run.code, 1);
    let report = run.json();
    assert_eq!(report["status"], "failed");
    assert_eq!(report["failure"]["kind"], "plan_failed");
    assert_eq!(
        report["tool"]["version"], "1.15.5",
        "known even though the plan failed"
    );
    let diagnostic = &report["diagnostics"][0];
    assert_eq!(diagnostic["severity"], "error");
    assert_eq!(
        diagnostic["summary"],
        "Reference to undeclared input variable"
    );
    assert_eq!(diagnostic["location"], "main.tf:12");
    assert_contains(&run.stderr, "Reference to undeclared input variable");
    assert!(stack.leftover_temp_files().is_empty());

    let text = stack.scan(&[]);
    assert_eq!(text.code, 1);
    assert!(
        text.stdout.contains("Scan failed for")
            && text.stdout.contains("undeclared input variable"),
        "{}",
        text.stdout
    );
}

#[test]
fn init_flag_initialises_a_fresh_stack() {
    let stack = Stack::rich();
    stack.apply(&[]);
    std::fs::remove_dir_all(stack.root.join(".terraform")).expect("remove .terraform");
    let without = stack.scan(&["--format", "json"]);
    assert_eq!(without.code, 1, "an uninitialised stack cannot be planned");
    let with = stack.scan(&["--format", "json", "--init"]);
    assert_eq!(with.code, 0, "stderr: {}", with.stderr);
}

#[test]
fn vars_var_files_and_workspaces_pass_through() {
    let config = format!("{PROVIDER}\nvariable \"label\" {{}}\nresource \"filestate_object\" \"a\" {{\n  name = \"ws-${{terraform.workspace}}\"\n  description = var.label\n}}\n");
    let stack = Stack::new(&[
        ("main.tf", &config),
        ("prod.tfvars", "label = \"from file\"\n"),
    ]);
    stack.terraform(&["init", "-input=false"]);
    assert!(stack
        .terraform(&["workspace", "new", "staging"])
        .status
        .success());
    stack.apply(&["-var", "label=from var"]);
    let run = stack.scan(&[
        "--format",
        "json",
        "--workspace",
        "staging",
        "--var",
        "label=from var",
    ]);
    assert_eq!(run.code, 0, "stderr: {}", run.stderr);
    assert_eq!(run.json()["stack"]["workspace"], "staging");
    stack.edit("ws-staging", |o| o["description"] = json!("changed"));
    let run = stack.scan(&[
        "--format",
        "json",
        "--workspace",
        "staging",
        "--var-file",
        "prod.tfvars",
    ]);
    assert_eq!(run.code, 2, "stderr: {}", run.stderr);
    assert_eq!(
        change(resource(&run.json(), "filestate_object.a"), "description"),
        (&known(json!("from var")), &known(json!("changed")))
    );
    let default_workspace = stack.scan(&[
        "--workspace",
        "default",
        "--var",
        "label=x",
        "--color",
        "never",
    ]);
    assert_eq!(default_workspace.code, 0, "{}", default_workspace.stderr);
    assert!(
        default_workspace.stdout.contains("(0 resources checked)")
            && default_workspace
                .stdout
                .contains("is this the right backend and workspace?"),
        "an empty state is called out: {}",
        default_workspace.stdout
    );
    let missing = stack.scan(&[
        "--format",
        "json",
        "--workspace",
        "nope",
        "--var",
        "label=x",
    ]);
    assert_eq!(missing.code, 1, "a missing workspace must not look clean");
    assert_eq!(missing.json()["failure"]["kind"], "workspace_missing");
    assert!(
        missing.stderr.contains("`nope` does not exist") && missing.stderr.contains("staging"),
        "{}",
        missing.stderr
    );
}

#[test]
fn arguments_after_a_double_dash_reach_terraform_plan() {
    let stack = Stack::rich();
    stack.apply(&[]);
    stack.edit("web", |web| web["size"] = json!(7));
    let targeted = stack.scan(&[
        "--format",
        "json",
        "--",
        "-lock=false",
        "-parallelism=2",
        "-target=filestate_object.counted",
    ]);
    assert_eq!(
        targeted.code, 0,
        "only the targeted, undrifted resources were refreshed: {}",
        targeted.stderr
    );
    assert_eq!(targeted.json()["summary"]["checked"], 2);
    let bogus = stack.scan(&["--format", "json", "--", "-no-such-flag"]);
    assert_eq!(bogus.code, 1);
    assert!(
        bogus.stderr.contains("no-such-flag"),
        "terraform's complaint is shown: {}",
        bogus.stderr
    );
}

#[test]
fn missing_terraform_names_the_binary_and_the_way_out() {
    let stack = Stack::rich();
    let run = stack.scan(&["--terraform-bin", "/nonexistent/terraform-9"]);
    assert_eq!(run.code, 1);
    assert!(
        run.stdout.contains("/nonexistent/terraform-9") && run.stdout.contains("--terraform-bin"),
        "{}",
        run.stdout
    );
    let json = stack.scan(&["--format", "json", "--terraform-bin", "no-such-terraform"]);
    assert_eq!(json.code, 1);
    assert_eq!(json.json()["failure"]["kind"], "terraform_not_found");
    assert_contains(&json.stderr, "DRIFTLOG_TERRAFORM_BIN");
}

#[test]
fn terraform_is_found_on_path_or_through_the_environment() {
    let stack = Stack::rich();
    stack.apply(&[]);
    let empty_path = stack.root.join("empty-path");
    std::fs::create_dir_all(&empty_path).expect("mkdir");
    let run = |envs: &[(&str, &std::ffi::OsStr)]| {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_driftlog"))
            .env("DRIFTLOG_NO_AUDIT", "1")
            .args(["scan", stack.root.to_str().unwrap_or_default()])
            .env("TMPDIR", &stack.tmp)
            .env("TF_CLI_CONFIG_FILE", &crate::support::tools().cli_config)
            .env_remove("DRIFTLOG_TERRAFORM_BIN")
            .envs(envs.iter().copied())
            .output()
            .expect("run driftlog");
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
        )
    };
    let (code, stdout) = run(&[("PATH", empty_path.as_os_str())]);
    assert_eq!(code, Some(1));
    assert!(
        stdout.contains("terraform binary `terraform` was not found"),
        "{stdout}"
    );
    let wrapper = crate::support::tools().bin_dir.join("terraform");
    let (code, stdout) = run(&[
        ("PATH", empty_path.as_os_str()),
        ("DRIFTLOG_TERRAFORM_BIN", wrapper.as_os_str()),
    ]);
    assert_eq!(code, Some(0), "{stdout}");
}

#[test]
fn colour_follows_the_flag_and_no_color() {
    let stack = Stack::rich();
    stack.apply(&[]);
    stack.edit("web", |web| web["size"] = json!(4));
    let piped = stack.scan(&[]);
    assert!(
        !piped.stdout.contains('\u{1b}'),
        "no colour when stdout is not a terminal"
    );
    let forced = stack.scan(&["--color", "always"]);
    assert_contains(&forced.stdout, "\u{1b}[");
    assert!(!stack.scan(&["--color", "never"]).stdout.contains('\u{1b}'));
    assert_eq!(forced.code, 2);

    // On a terminal (a pty from util-linux `script`), colour is on unless NO_COLOR is set.
    let on_terminal = |no_color: Option<&str>| {
        let command = format!(
            "'{}' scan --quiet --no-audit '{}'",
            env!("CARGO_BIN_EXE_driftlog"),
            stack.root.display()
        );
        let mut script = std::process::Command::new("script");
        script
            .args(["-qec", &command, "/dev/null"])
            .env("PATH", crate::support::path_with_tools())
            .env("TF_CLI_CONFIG_FILE", &crate::support::tools().cli_config)
            .env("TMPDIR", &stack.tmp)
            .env_remove("NO_COLOR");
        if let Some(value) = no_color {
            script.env("NO_COLOR", value);
        }
        let out = script
            .output()
            .expect("util-linux `script` runs driftlog on a pty");
        assert_eq!(
            out.status.code(),
            Some(2),
            "{}",
            String::from_utf8_lossy(&out.stdout)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    assert!(
        on_terminal(None).contains("\u{1b}["),
        "colour on a terminal"
    );
    let plain = on_terminal(Some("1"));
    assert!(
        !plain.contains('\u{1b}') && plain.contains("Drift in"),
        "NO_COLOR turns colour off: {plain:?}"
    );
}

#[test]
fn a_closed_stdout_keeps_the_drift_exit_code() {
    let stack = Stack::rich();
    stack.apply(&[]);
    stack.edit("web", |web| web["size"] = json!(4));
    let script = format!(
        "'{}' scan --no-audit '{}' --format json | head -c 1 >/dev/null; echo \"${{PIPESTATUS[0]}}\"",
        env!("CARGO_BIN_EXE_driftlog"),
        stack.root.display()
    );
    let out = std::process::Command::new("bash")
        .args(["-c", &script])
        .env("PATH", crate::support::path_with_tools())
        .env("TF_CLI_CONFIG_FILE", &crate::support::tools().cli_config)
        .env("TMPDIR", &stack.tmp)
        .output()
        .expect("bash");
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        "2",
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn missing_or_empty_directories_are_clear_errors() {
    let stack = Stack::rich();
    let missing = stack.driftlog_in(
        &stack.root,
        &["scan", "does-not-exist", "--format", "json", "--no-audit"],
    );
    assert_eq!(missing.code, 1);
    assert_eq!(missing.json()["failure"]["kind"], "dir_missing");
    assert_contains(&missing.stderr, "does-not-exist does not exist");
    std::fs::create_dir_all(stack.root.join("empty")).expect("mkdir");
    let empty = stack.driftlog_in(&stack.root, &["scan", "empty", "--no-audit"]);
    assert_eq!(empty.code, 1);
    assert_contains(&empty.stdout, "holds no terraform configuration");
}

#[test]
fn output_that_is_not_json_names_the_line() {
    let stack = Stack::rich();
    let fake = stack.fake_terraform(
        "fake-terraform",
        // A child of its own (like a provider plugin) that would outlive a plain kill.
        "#!/bin/sh\nsleep 300 </dev/null >/dev/null 2>&1 &\necho $! > \"$0.child\"\n\
         echo '{\"type\":\"version\",\"terraform\":\"9.9.9\"}'\necho 'Error: this is not json'\nwait\n",
    );
    let run = stack.scan_json_with(&fake);
    assert_eq!(run.code, 1);
    let child_pid =
        std::fs::read_to_string(format!("{fake}.child")).expect("the fake recorded its child");
    let stat = format!("/proc/{}/stat", child_pid.trim());
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    // Gone, or a zombie waiting for init: either way no longer running.
    while std::fs::read_to_string(&stat).is_ok_and(|s| !s.contains(") Z ")) {
        assert!(
            std::time::Instant::now() < deadline,
            "terraform's child survived: {stat}"
        );
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    let report = run.json();
    assert_eq!(report["failure"]["kind"], "output_not_json");
    let message = report["failure"]["message"].as_str().unwrap_or_default();
    assert!(message.contains("line 2"), "{message}");
    // Terraform's text is shown on the terminal, never put into the report.
    assert!(!message.contains("Error: this is not json"), "{message}");
    assert_contains(&run.stderr, "Error: this is not json");
    assert!(stack.leftover_temp_files().is_empty());
}

#[test]
fn show_runs_only_when_there_is_drift_and_its_failure_is_reported() {
    let stack = Stack::rich();
    stack.apply(&[]);
    let wrapper = stack.fake_terraform(
        "show-fails",
        "#!/bin/sh\nif [ \"$1\" = show ]; then echo 'show exploded' >&2; exit 1; fi\nexec terraform \"$@\"\n",
    );
    let clean = stack.scan_json_with(&wrapper);
    assert_eq!(
        clean.code, 0,
        "a clean plan never runs show: {}",
        clean.stderr
    );

    stack.edit("web", |web| web["size"] = json!(9));
    let run = stack.scan_json_with(&wrapper);
    assert_eq!(run.code, 1);
    let report = run.json();
    assert_eq!(report["failure"]["kind"], "show_failed");
    assert_eq!(
        report["failure"]["output"]["shown_sha256"],
        crate::support::sha256(b"show exploded\n")
    );
    assert_contains(&run.stderr, "show exploded");
    assert!(stack.leftover_temp_files().is_empty());
}

#[test]
fn hundreds_of_drifted_resources_still_fit_one_comment() {
    let config = format!(
        "{PROVIDER}\nresource \"filestate_object\" \"many\" {{\n  count = 400\n  name = \"many-${{count.index}}\"\n  description = \"{}\"\n  tags = {{ a = \"1\", b = \"2\", c = \"3\", d = \"4\", e = \"5\" }}\n}}\n",
        "x".repeat(200)
    );
    let stack = Stack::new(&[("main.tf", &config)]);
    stack.apply(&["-parallelism=50"]);
    for i in 0..400 {
        stack.edit(&format!("many-{i}"), |o| {
            o["description"] = json!("y".repeat(250));
            for key in ["a", "b", "c", "d", "e"] {
                o["tags"][key] = json!("changed");
            }
        });
    }
    let run = stack.scan(&["--format", "markdown"]);
    assert_eq!(run.code, 2, "stderr: {}", run.stderr);
    let body = &run.stdout;
    assert!(
        body.encode_utf16().count() <= 65_536 && body.len() <= 262_144,
        "{} chars",
        body.chars().count()
    );
    assert!(
        body.contains("### ⚠️ Drift in")
            && body.contains("400 resources changed outside Terraform")
    );
    assert!(body.contains("| `filestate_object.many[0]` | updated |"));
    assert!(
        body.contains("left out to fit GitHub's size limit") || body.contains("more not shown"),
        "{body}"
    );
}

#[test]
fn an_interrupt_stops_terraform_gracefully_and_removes_temp_files() {
    let stack = Stack::rich();
    let marks = stack.root.join("marks");
    std::fs::create_dir_all(&marks).expect("mkdir");
    let fake = stack.fake_terraform(
        "slow-terraform",
        "#!/bin/bash\ntrap 'echo once >> \"$MARKS/interrupted\"; exit 1' INT\n\
         echo '{\"type\":\"version\",\"terraform\":\"9.9.9\"}'\n: > \"$MARKS/started\"\n\
         while true; do sleep 0.05; done\n",
    );
    let child = std::process::Command::new(env!("CARGO_BIN_EXE_driftlog"))
        .env("DRIFTLOG_NO_AUDIT", "1")
        .args([
            "scan",
            stack.root.to_str().unwrap_or_default(),
            "--format",
            "json",
            "--terraform-bin",
        ])
        .arg(&fake)
        .env("TMPDIR", &stack.tmp)
        .env("MARKS", &marks)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("start driftlog");
    let out = crate::support::interrupt_once_started(child, &marks);
    crate::support::assert_interrupted_once(&out, &marks);
    let report: Value =
        serde_json::from_slice(&out.stdout).expect("a report even when interrupted");
    assert_eq!(report["failure"]["kind"], "interrupted");
    assert!(
        stack.leftover_temp_files().is_empty(),
        "temp files are removed on interrupt"
    );
}

/// The test provider names for_each objects by the md5 of their key (see RICH_STACK).
fn md5_hex(text: &str) -> String {
    let out = std::process::Command::new("md5sum")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .and_then(|mut child| {
            use std::io::Write;
            child.stdin.take().map(|mut s| s.write_all(text.as_bytes()));
            child.wait_with_output()
        })
        .expect("md5sum");
    let hex = String::from_utf8_lossy(&out.stdout);
    hex.split_whitespace()
        .next()
        .expect("md5sum prints a digest")
        .to_owned()
}
