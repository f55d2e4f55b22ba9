//! Many stacks: discovery and `.driftlog.toml`, parallel scans with a failing stack, ignore
//! rules, matrix and shards, and merging the shards' reports. Real terraform throughout.

use std::path::Path;

use serde_json::{json, Value};

use crate::support::{assert_contains, Run, Stack, PROVIDER};

/// A module two stacks call: it must not be scanned as a stack of its own.
const SHARED_MODULE: &str = r#"
terraform {
  required_providers {
    filestate = { source = "example/filestate" }
  }
}
variable "name" { type = string }
resource "filestate_object" "shared" {
  name        = "shared-${var.name}"
  description = "from the shared module"
  tags        = { LastScanned = "monday" }
}
"#;

fn stack_config(name: &str, uses_module: bool) -> String {
    let module = if uses_module {
        format!("module \"shared\" {{\n  source = \"../../modules/shared\"\n  name   = \"{name}\"\n}}\n")
    } else {
        String::new()
    };
    format!(
        "{PROVIDER}\nresource \"filestate_object\" \"main\" {{\n  name        = \"{name}\"\n  \
         description = \"stack {name}\"\n  tags        = {{ LastScanned = \"monday\", team = \"platform\" }}\n}}\n{module}"
    )
}

const NAMES: [&str; 5] = ["alpha", "bravo", "charlie", "delta", "echo"];

/// A repository of six stacks under `stacks/` (alpha and bravo share a module; `broken` does
/// not parse), every working stack applied.
fn repository() -> Stack {
    let mut files: Vec<(String, String)> = NAMES
        .iter()
        .enumerate()
        .map(|(i, name)| (format!("stacks/{name}/main.tf"), stack_config(name, i < 2)))
        .collect();
    files.push(("modules/shared/main.tf".into(), SHARED_MODULE.into()));
    files.push((
        "stacks/broken/main.tf".into(),
        format!("{PROVIDER}\nresource \"filestate_object\" \"x\" {{\n  nme = \"typo\"\n}}\n"),
    ));
    let refs: Vec<(&str, &str)> = files
        .iter()
        .map(|(p, c)| (p.as_str(), c.as_str()))
        .collect();
    let repo = Stack::new(&refs);
    for name in NAMES {
        repo.apply_in(&repo.root.join("stacks").join(name));
    }
    repo
}

fn edit(repo: &Stack, stack: &str, object: &str, change: impl FnOnce(&mut Value)) {
    let path = repo
        .root
        .join("stacks")
        .join(stack)
        .join("store")
        .join(format!("{object}.json"));
    let mut value: Value =
        serde_json::from_str(&std::fs::read_to_string(&path).expect("read object")).expect("json");
    change(&mut value);
    std::fs::write(&path, serde_json::to_vec(&value).expect("json")).expect("write object");
}

fn driftlog(repo: &Stack, args: &[&str]) -> Run {
    repo.driftlog_in(&repo.root, args)
}

/// The combined report on stdout, which must conform to its published schema.
fn json(run: &Run) -> Value {
    let report: Value = serde_json::from_str(&run.stdout)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {}\n{}", run.stdout, run.stderr));
    if report.get("stacks").is_some() && report.get("include").is_none() {
        let schema = jsonschema::validator_for(&driftlog::drift::combined::json_schema())
            .expect("the published schema is valid");
        let errors: Vec<String> = schema.iter_errors(&report).map(|e| e.to_string()).collect();
        assert!(
            errors.is_empty(),
            "breaks docs/combined-report.schema.json: {errors:#?}"
        );
    }
    report
}

fn stack<'a>(report: &'a Value, dir: &str) -> &'a Value {
    report["stacks"]
        .as_array()
        .and_then(|stacks| stacks.iter().find(|s| s["stack"]["dir"] == dir))
        .unwrap_or_else(|| panic!("no stack {dir} in {report:#}"))
}

/// Drops what differs between two scans of the same state: timings, and the hashes of
/// terraform's output (which carries timestamps).
fn without_run_specifics(mut report: Value) -> Value {
    if let Some(stacks) = report["stacks"].as_array_mut() {
        for stack in stacks {
            stack["started_at"] = Value::Null;
            stack["duration_ms"] = Value::Null;
            stack["evidence"] = Value::Null;
        }
    }
    report
}

#[test]
fn discovered_stacks_are_scanned_in_parallel_and_a_broken_one_fails_alone() {
    let repo = repository();
    edit(&repo, "charlie", "charlie", |o| {
        o["description"] = json!("edited by hand")
    });
    let run = driftlog(
        &repo,
        &["scan", "--no-audit", "-j", "3", "--format", "json"],
    );
    assert_eq!(
        run.code, 1,
        "a failed stack makes the worst exit code: {}",
        run.stderr
    );
    let report = json(&run);
    let dirs: Vec<&str> = report["stacks"]
        .as_array()
        .expect("stacks")
        .iter()
        .map(|s| s["stack"]["dir"].as_str().unwrap_or_default())
        .collect();
    assert_eq!(
        dirs,
        [
            "stacks/alpha",
            "stacks/bravo",
            "stacks/broken",
            "stacks/charlie",
            "stacks/delta",
            "stacks/echo"
        ],
        "six stacks, the shared module not among them"
    );
    assert_eq!(stack(&report, "stacks/broken")["status"], "failed");
    assert_eq!(stack(&report, "stacks/charlie")["status"], "drifted");
    assert_eq!(
        stack(&report, "stacks/charlie")["resources"][0]["address"],
        "filestate_object.main"
    );
    for clean in [
        "stacks/alpha",
        "stacks/bravo",
        "stacks/delta",
        "stacks/echo",
    ] {
        assert_eq!(stack(&report, clean)["status"], "clean", "{clean}");
    }
    assert_eq!(report["summary"]["stacks"], 6);
    assert_eq!(report["summary"]["failed"], 1);
    assert_eq!(report["summary"]["drifted"], 1);
    assert_eq!(report["status"], "failed");

    std::fs::remove_dir_all(repo.root.join("stacks/broken")).expect("remove broken");
    let run = driftlog(
        &repo,
        &["scan", "--no-audit", "-j", "2", "--format", "json"],
    );
    assert_eq!(
        run.code, 2,
        "without the broken stack, drift is the worst: {}",
        run.stderr
    );
    assert!(repo.leftover_temp_files().is_empty());
}

#[test]
fn ignore_rules_keep_drift_out_of_the_exit_code_but_in_the_report_until_they_expire() {
    let repo = repository();
    std::fs::remove_dir_all(repo.root.join("stacks/broken")).expect("remove broken");
    for name in NAMES {
        edit(&repo, name, name, |o| {
            o["tags"]["LastScanned"] = json!("tuesday")
        });
    }
    let config = |expires: &str| {
        format!(
            "[[stacks]]\npath = \"stacks/*\"\n\n[[ignore]]\nresource = \"filestate_object.*\"\n\
             attribute = \"tags.LastScanned\"\nexpires = {expires}\nreason = \"the scanner stamps it\"\n"
        )
    };
    std::fs::write(repo.root.join(".driftlog.toml"), config("2999-12-31")).expect("write");
    let run = driftlog(&repo, &["scan", "--no-audit", "--format", "json"]);
    assert_eq!(run.code, 0, "only ignored drift: {}", run.stderr);
    let report = json(&run);
    let charlie = stack(&report, "stacks/charlie");
    assert_eq!(charlie["status"], "clean");
    assert_eq!(charlie["summary"]["ignored"], 1);
    assert!(
        charlie["resources"][0]["ignored"].is_null(),
        "not set aside whole"
    );
    let ignored = &charlie["resources"][0]["changes"][0]["ignored"];
    assert_eq!(ignored["reason"], "the scanner stamps it");
    assert_eq!(
        ignored["rule"], ".driftlog.toml:4",
        "the rule is named by file and line"
    );

    let markdown = driftlog(&repo, &["scan", "--no-audit", "--format", "markdown"]);
    assert_contains(&markdown.stdout, "Ignored by rules");

    std::fs::write(repo.root.join(".driftlog.toml"), config("2020-01-31")).expect("write");
    let run = driftlog(&repo, &["scan", "--no-audit", "--format", "json"]);
    assert_eq!(
        run.code, 2,
        "an expired rule no longer applies: {}",
        run.stderr
    );
    assert_eq!(json(&run)["summary"]["drifted_resources"], 5);
}

#[test]
fn config_errors_name_the_file_line_and_key() {
    let repo = Stack::new(&[("stacks/a/main.tf", &stack_config("a", false))]);
    std::fs::write(
        repo.root.join(".driftlog.toml"),
        "[[stacks]]\npath = \"stacks/a\"\nworkspac = \"prod\"\n",
    )
    .expect("write");
    let run = driftlog(&repo, &["scan", "--no-audit"]);
    assert_eq!(run.code, 1);
    assert_contains(&run.stderr, ".driftlog.toml:3");
    assert_contains(&run.stderr, "workspac");
}

#[test]
fn matrix_and_shards_cover_every_stack_once_and_merge_equals_one_scan() {
    let repo = repository();
    edit(&repo, "delta", "delta", |o| {
        o["description"] = json!("edited by hand")
    });
    let matrix = driftlog(&repo, &["stacks", "--format", "matrix"]);
    assert_eq!(matrix.code, 0, "{}", matrix.stderr);
    let matrix = json(&matrix);
    let listed: Vec<&str> = matrix["include"]
        .as_array()
        .expect("include")
        .iter()
        .map(|entry| entry["stack"].as_str().unwrap_or_default())
        .collect();
    assert_eq!(listed.len(), 6, "{matrix:#}");

    let full = driftlog(
        &repo,
        &["scan", "--no-audit", "-j", "2", "--format", "json"],
    );
    assert_eq!(full.code, 1, "{}", full.stderr);

    let mut parts = Vec::new();
    let mut covered = Vec::new();
    for shard in 1..=3 {
        let part = repo.tmp.join(format!("part-{shard}.json"));
        let spec = format!("{shard}/3");
        let run = driftlog(
            &repo,
            &[
                "scan",
                "--no-audit",
                "--shard",
                &spec,
                "--format",
                "json",
                "--output",
                part.to_str().expect("utf-8"),
            ],
        );
        assert!(
            run.code == 0 || run.code == 1 || run.code == 2,
            "{}",
            run.stderr
        );
        for stack in json(&run)["stacks"].as_array().expect("stacks") {
            covered.push(
                stack["stack"]["dir"]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned(),
            );
        }
        parts.push(part);
    }
    covered.sort();
    let mut expected: Vec<String> = listed.iter().map(|s| s.to_string()).collect();
    expected.sort();
    assert_eq!(covered, expected, "every stack in exactly one shard");

    let mut args = vec!["report", "merge", "--format", "json"];
    args.extend(parts.iter().map(|p| p.to_str().expect("utf-8")));
    let merged = driftlog(&repo, &args);
    assert_eq!(merged.code, 1, "the worst result: {}", merged.stderr);
    assert_eq!(
        without_run_specifics(json(&merged)),
        without_run_specifics(json(&full)),
        "merging the shards equals one full scan"
    );
    for part in &parts {
        std::fs::remove_file(part).expect("remove part");
    }

    let full_path = repo.tmp.join("full.json");
    std::fs::write(&full_path, &full.stdout).expect("write the full report");
    let full_path = full_path.to_str().expect("utf-8");
    let twice = driftlog(
        &repo,
        &["report", "merge", "--format", "json", full_path, full_path],
    );
    assert_eq!(twice.code, 1);
    assert_contains(&twice.stderr, "more than one report");
    std::fs::remove_file(full_path).expect("remove");
}

#[test]
fn a_single_directory_keeps_the_single_stack_report() {
    let repo = repository();
    let run = driftlog(
        &repo,
        &["scan", "--no-audit", "stacks/alpha", "--format", "json"],
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    let report = run.json();
    assert_eq!(report["stack"]["dir"], "stacks/alpha");
    assert!(Path::new(&repo.root.join("stacks/alpha/main.tf")).exists());
}

#[test]
fn every_stack_of_a_parallel_scan_gets_its_own_signed_record_in_one_push() {
    parallel_scan_records_every_stack(true);
}

/// The first records of a log, all at once: every stack's joins one log (a log without a
/// remote gets a random id, which must not differ between the stacks of one run).
#[test]
fn a_first_parallel_scan_without_a_remote_starts_one_log_for_every_stack() {
    parallel_scan_records_every_stack(false);
}

fn parallel_scan_records_every_stack(served: bool) {
    use driftlog::audit::sshsig::{allowed_signers_line, SigningKey};

    let repo = repository();
    std::fs::remove_dir_all(repo.root.join("stacks/broken")).expect("remove broken");
    let root = &repo.root;
    std::fs::write(
        root.join(".gitignore"),
        ".terraform/\nstore/\n*.tfstate*\nkey\n",
    )
    .expect("write");
    crate::support::git(root, &["init", "-q", "-b", "main"]);
    crate::support::git(root, &["config", "user.name", "CI"]);
    crate::support::git(root, &["config", "user.email", "ci@example.com"]);
    crate::support::git(root, &["add", "."]);
    crate::support::git(root, &["commit", "-q", "-m", "stacks"]);
    // A served remote that notes every push it takes.
    let remote = tempfile::tempdir().expect("temp dir");
    crate::support::git(remote.path(), &["init", "-q", "--bare", "remote.git"]);
    let bare = remote.path().join("remote.git");
    let hook = bare.join("hooks").join("post-receive");
    std::fs::write(&hook, "#!/bin/sh\ncat >> ../pushes.log\n").expect("write hook");
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&hook, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    }
    let daemon = crate::sync::Daemon::serve(remote.path());
    if served {
        crate::support::git(root, &["remote", "add", "origin", &daemon.url()]);
        crate::support::git(root, &["push", "-q", "origin", "main"]);
        std::fs::remove_file(remote.path().join("pushes.log")).expect("the main push was noted");
    }
    let key = SigningKey::generate().expect("key");
    std::fs::write(root.join("key"), key.to_openssh("ci").expect("encode")).expect("write");
    edit(&repo, "echo", "echo", |o| {
        o["description"] = json!("edited by hand")
    });

    let run = driftlog(
        &repo,
        &[
            "scan",
            "-j",
            "3",
            "--signing-key",
            "key",
            "--format",
            "json",
        ],
    );
    assert_eq!(run.code, 2, "{}", run.stderr);
    let report = json(&run);
    let mut seqs: Vec<u64> = report["stacks"]
        .as_array()
        .expect("stacks")
        .iter()
        .map(|s| s["audit"]["seq"].as_u64().expect("each stack was recorded"))
        .collect();
    seqs.sort_unstable();
    assert_eq!(seqs, [0, 1, 2, 3, 4], "one record per stack, chained");
    if served {
        let pushes = std::fs::read_to_string(remote.path().join("pushes.log")).expect("pushes");
        let audit_pushes = pushes
            .lines()
            .filter(|l| l.ends_with(" refs/heads/driftlog/audit"))
            .count();
        assert_eq!(
            audit_pushes, 1,
            "the five records went in one push: {pushes}"
        );
        assert_eq!(
            crate::support::git(&bare, &["rev-list", "--count", "driftlog/audit"]).trim(),
            "5"
        );
    }

    std::fs::write(
        root.join("allowed_signers"),
        allowed_signers_line("ci", &key),
    )
    .expect("write");
    let verify = driftlog(&repo, &["verify", "--allowed-signers", "allowed_signers"]);
    assert_eq!(verify.code, 0, "{}{}", verify.stdout, verify.stderr);
    assert_contains(&verify.stdout, "5 records verified, 0 problems");
}

#[test]
fn an_empty_shard_scans_nothing_and_merges_like_any_other() {
    let repo = Stack::new(&[
        ("stacks/a/main.tf", &stack_config("alpha", false)),
        ("stacks/b/main.tf", &stack_config("bravo", false)),
    ]);
    repo.apply_in(&repo.root.join("stacks/a"));
    let matrix = json(&driftlog(
        &repo,
        &["stacks", "--format", "matrix", "--shards", "3"],
    ));
    assert_eq!(
        matrix["shard"],
        json!(["1/3", "2/3", "3/3"]),
        "more shards than stacks"
    );

    let empty_path = repo.tmp.join("shard-3.json");
    let empty = driftlog(
        &repo,
        &[
            "scan",
            "--no-audit",
            "--shard",
            "3/3",
            "--output",
            empty_path.to_str().expect("utf-8"),
        ],
    );
    assert_eq!(empty.code, 0, "{}", empty.stderr);
    assert!(
        empty
            .stderr
            .contains("shard 3/3 has no stacks (2 stack(s) over 3 shards)"),
        "{}",
        empty.stderr
    );
    let report: Value =
        serde_json::from_str(&std::fs::read_to_string(&empty_path).expect("the shard's report"))
            .expect("JSON");
    assert_eq!(report["status"], "clean");
    assert_eq!(report["summary"]["stacks"], 0, "{report:#}");
    assert_eq!(report["stacks"], json!([]));

    let first_path = repo.tmp.join("shard-1.json");
    let first = driftlog(
        &repo,
        &[
            "scan",
            "--no-audit",
            "--shard",
            "1/3",
            "--format",
            "json",
            "--output",
            first_path.to_str().expect("utf-8"),
        ],
    );
    assert_eq!(first.code, 0, "{}", first.stderr);
    let merged = driftlog(
        &repo,
        &[
            "report",
            "merge",
            "--format",
            "json",
            first_path.to_str().expect("utf-8"),
            empty_path.to_str().expect("utf-8"),
        ],
    );
    assert_eq!(merged.code, 0, "{}", merged.stderr);
    assert_eq!(json(&merged), json(&first), "an empty shard adds nothing");

    // Without any stack at all, a shard is still an error: there is nothing to share out.
    let bare = Stack::new(&[("README.md", "no terraform here\n")]);
    let none = driftlog(&bare, &["scan", "--no-audit", "--shard", "1/2"]);
    assert_eq!(none.code, 1, "{}", none.stderr);
    assert_contains(&none.stderr, "no stacks to scan");
}
