//! Drift that counts, with real terraform: a move is a refactor, `ignore_changes` and
//! attributes the configuration does not set are listed but not counted, and only managed
//! drift sets the exit code, the status and the comment's count.

use serde_json::{json, Value};

use crate::support::{assert_contains, known, resource, Run, Stack, PROVIDER};

/// The class and the not-counted rule of the change at `path` of `address`.
fn class_of(report: &Value, address: &str, path: &str) -> (String, Option<String>) {
    let change = resource(report, address)["changes"]
        .as_array()
        .and_then(|changes| changes.iter().find(|c| c["path"] == path))
        .unwrap_or_else(|| panic!("no change at {address} {path}:\n{report:#}"))
        .clone();
    (
        change["class"].as_str().unwrap_or_default().to_owned(),
        change["ignored"]["rule"].as_str().map(str::to_owned),
    )
}

fn managed() -> (String, Option<String>) {
    ("managed".to_owned(), None)
}

/// Unmanaged, as the provider schema tells (no second plan needed).
fn unmanaged() -> (String, Option<String>) {
    ("unmanaged".to_owned(), Some("provider schema".to_owned()))
}

/// Unmanaged, as only a normal plan can tell.
fn unmanaged_by_plan() -> (String, Option<String>) {
    ("unmanaged".to_owned(), Some("terraform plan".to_owned()))
}

fn ignored_at(rule: &str) -> (String, Option<String>) {
    ("ignored_by_configuration".to_owned(), Some(rule.to_owned()))
}

/// The markdown comment's headline count ("2 resources changed outside Terraform"), or 0 for
/// a "No drift" comment.
fn comment_count(stack: &Stack) -> usize {
    let markdown = stack.scan(&["--format", "markdown"]).stdout;
    let headline = markdown.lines().next().unwrap_or_default().to_owned();
    if headline.starts_with("### ✅ No drift") {
        return 0;
    }
    headline
        .split(": ")
        .nth(1)
        .and_then(|rest| rest.split(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("unexpected headline: {headline}\n{markdown}"))
}

fn scan_json(stack: &Stack) -> (Run, Value) {
    let run = stack.scan(&["--format", "json"]);
    let report = run.json();
    (run, report)
}

fn object(name: &str, address: &str, body: &str) -> String {
    format!("resource \"filestate_object\" \"{address}\" {{\n  name = \"{name}\"\n{body}}}\n")
}

#[test]
fn a_moved_resource_alone_is_a_refactor_not_drift() {
    let stack = Stack::new(&[(
        "main.tf",
        &format!("{PROVIDER}{}", object("archive", "old", "")),
    )]);
    stack.apply(&[]);
    std::fs::write(
        stack.root.join("main.tf"),
        format!(
            "{PROVIDER}{}moved {{\n  from = filestate_object.old\n  to   = filestate_object.renamed\n}}\n",
            object("archive", "renamed", "")
        ),
    )
    .expect("rename in code");

    let (run, report) = scan_json(&stack);
    assert_eq!(run.code, 0, "a rename is not drift: {}", run.stderr);
    assert_eq!(report["status"], "clean");
    assert_eq!(report["resources"], json!([]));
    assert_eq!(
        report["refactors"],
        json!([{"address": "filestate_object.renamed",
                "previous_address": "filestate_object.old", "action": "move"}])
    );
    assert_eq!(report["summary"]["refactors"], 1);
    assert_eq!(report["summary"]["drifted"], 0);
    assert_eq!(comment_count(&stack), 0);
    let markdown = stack.scan(&["--format", "markdown"]).stdout;
    assert!(
        markdown.contains("Moved in code (a refactor, not drift): `filestate_object.old` → `filestate_object.renamed`"),
        "{markdown}"
    );
    let terminal = stack.scan(&[]).stdout;
    assert!(
        terminal.contains("filestate_object.old -> filestate_object.renamed"),
        "{terminal}"
    );
}

#[test]
fn a_move_plus_real_drift_elsewhere_counts_only_the_drift() {
    let before = format!(
        "{PROVIDER}{}{}{}",
        object("archive", "old", ""),
        object("moved-and-drifted", "was", "  tags = { env = \"prod\" }\n"),
        object("web", "web", "  size = 1\n"),
    );
    let stack = Stack::new(&[("main.tf", &before)]);
    stack.apply(&[]);
    let after = format!(
        "{PROVIDER}{}{}{}moved {{\n  from = filestate_object.old\n  to   = filestate_object.renamed\n}}\n\
         moved {{\n  from = filestate_object.was\n  to   = filestate_object.now\n}}\n",
        object("archive", "renamed", ""),
        object("moved-and-drifted", "now", "  tags = { env = \"prod\" }\n"),
        object("web", "web", "  size = 1\n"),
    );
    std::fs::write(stack.root.join("main.tf"), after).expect("rename in code");
    stack.edit("web", |o| o["size"] = json!(5));
    stack.edit("moved-and-drifted", |o| o["tags"]["env"] = json!("dev"));

    let (run, report) = scan_json(&stack);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert_eq!(report["summary"]["drifted"], 2);
    assert_eq!(report["summary"]["refactors"], 1, "{report:#}");
    assert_eq!(
        report["refactors"][0]["address"],
        "filestate_object.renamed"
    );
    assert_eq!(class_of(&report, "filestate_object.web", "size"), managed());
    let moved = resource(&report, "filestate_object.now");
    assert_eq!(moved["previous_address"], "filestate_object.was");
    assert_eq!(
        class_of(&report, "filestate_object.now", "tags.env"),
        managed()
    );
    assert_eq!(comment_count(&stack), 2);
    let terminal = stack.scan(&[]).stdout;
    assert!(
        terminal.contains("filestate_object.now (updated; moved from filestate_object.was)"),
        "{terminal}"
    );
}

/// `keyed` is a for_each with `ignore_changes = [tags["env"]]` on line 16 of main.tf; `all`
/// ignores everything (line 23); the module's `inner` ignores `description` (line 5 of its
/// file).
const IGNORING: &str = r#"
resource "filestate_object" "keyed" {
  for_each = toset(["a", "b"])
  name     = "keyed-${each.key}"
  tags     = { env = "prod", team = "platform" }
  lifecycle {
    ignore_changes = [tags["env"]]
  }
}
resource "filestate_object" "all" {
  name = "all"
  size = 1
  lifecycle {
    ignore_changes = all
  }
}
module "net" {
  source = "./modules/net"
}
"#;

const IGNORING_MODULE: &str = r#"resource "filestate_object" "inner" {
  name        = "inner"
  description = "from code"
  lifecycle {
    ignore_changes = [description]
  }
}
terraform {
  required_providers {
    filestate = { source = "example/filestate" }
  }
}
"#;

#[test]
fn ignore_changes_with_index_keys_all_in_a_module_and_on_for_each_instances() {
    let stack = Stack::new(&[
        ("main.tf", &format!("{PROVIDER}{IGNORING}")),
        ("modules/net/main.tf", IGNORING_MODULE),
    ]);
    stack.apply(&[]);
    stack.edit("keyed-a", |o| o["tags"]["env"] = json!("staging"));
    stack.edit("all", |o| o["size"] = json!(7));
    stack.edit("inner", |o| o["description"] = json!("from the console"));

    let (run, report) = scan_json(&stack);
    assert_eq!(
        run.code, 0,
        "all of it is ignored by the configuration: {report:#}"
    );
    assert_eq!(report["status"], "clean");
    assert_eq!(report["summary"]["ignored"], 3);
    assert_eq!(
        class_of(&report, "filestate_object.keyed[\"a\"]", "tags.env"),
        ignored_at("main.tf:16")
    );
    assert_eq!(
        class_of(&report, "filestate_object.all", "size"),
        ignored_at("main.tf:23")
    );
    assert_eq!(
        class_of(&report, "module.net.filestate_object.inner", "description"),
        ignored_at("modules/net/main.tf:5")
    );
    assert_eq!(
        resource(&report, "filestate_object.all")["class"],
        "ignored_by_configuration"
    );
    assert_eq!(comment_count(&stack), 0);
    assert!(
        report["evidence"]["classify_plan_stream_sha256"].is_null()
            && report["evidence"]["provider_schema_sha256"].is_string(),
        "the schema and the HCL decided: no second plan: {report:#}"
    );

    // Another key of the same tags is managed: the other instance drifts for real.
    stack.edit("keyed-b", |o| o["tags"]["team"] = json!("data"));
    let (run, report) = scan_json(&stack);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert_eq!(report["summary"]["drifted"], 1);
    assert_eq!(
        class_of(&report, "filestate_object.keyed[\"b\"]", "tags.team"),
        managed()
    );
    assert_eq!(comment_count(&stack), 1);
    let markdown = stack.scan(&["--format", "markdown"]).stdout;
    assert!(
        markdown.contains("Ignored by the configuration (lifecycle.ignore_changes): 3 resources")
            && markdown.contains("`modules/net/main.tf:5`"),
        "{markdown}"
    );
    let terminal = stack.scan(&[]).stdout;
    assert!(
        terminal.contains("filestate_object.keyed[\"a\"] tags.env: declared at main.tf:16"),
        "{terminal}"
    );
}

#[test]
fn computed_and_optional_computed_drift_counts_only_where_the_configuration_sets_it() {
    let config = format!(
        "{PROVIDER}{}{}",
        object("web", "web", "  tags = { env = \"prod\" }\n"),
        object("pinned", "pinned", "  region = \"eu\"\n"),
    );
    let stack = Stack::new(&[("main.tf", &config)]);
    stack.apply(&[]);
    // A region nobody configured: the schema and the configuration say so, no plan needed.
    stack.edit("web", |o| o["region"] = json!("us"));
    let (run, report) = scan_json(&stack);
    assert_eq!(run.code, 0, "{report:#}");
    assert_eq!(
        class_of(&report, "filestate_object.web", "region"),
        unmanaged()
    );
    assert!(report["evidence"]["classify_plan_stream_sha256"].is_null());

    // A health check and the provider's own counter.
    stack.edit("web", |o| {
        o["status"] = json!("stopped");
        o["revision"] = json!(9);
    });
    let (run, report) = scan_json(&stack);
    assert_eq!(run.code, 0, "apply would leave all of it alone: {report:#}");
    // A computed-only attribute needs the plan (the provider could derive it from a managed
    // one), and then the plan decides the whole stack.
    for path in ["status", "revision", "region"] {
        assert_eq!(
            class_of(&report, "filestate_object.web", path),
            unmanaged_by_plan()
        );
    }
    assert_eq!(
        resource(&report, "filestate_object.web")["class"],
        "unmanaged"
    );
    assert_eq!(report["summary"]["ignored"], 1);
    assert_eq!(comment_count(&stack), 0);

    // The configuration sets pinned's region: changing it is drift.
    stack.edit("pinned", |o| o["region"] = json!("us"));
    // And a managed change next to a recomputed one: the revision is planned unknown.
    stack.edit("web", |o| o["tags"]["env"] = json!("dev"));
    let (run, report) = scan_json(&stack);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert_eq!(
        class_of(&report, "filestate_object.pinned", "region"),
        managed()
    );
    let (before, after) =
        crate::support::change(resource(&report, "filestate_object.pinned"), "region");
    assert_eq!((before, after), (&known(json!("eu")), &known(json!("us"))));
    assert_eq!(
        class_of(&report, "filestate_object.web", "tags.env"),
        managed()
    );
    assert_eq!(
        class_of(&report, "filestate_object.web", "revision"),
        unmanaged_by_plan()
    );
    assert_eq!(report["summary"]["drifted"], 2);
    assert_eq!(comment_count(&stack), 2);
    let markdown = stack.scan(&["--format", "markdown"]).stdout;
    assert!(
        markdown.contains(
            "Changed outside Terraform, not managed by the configuration: 1 resource"
        ) && markdown.contains("| `filestate_object.web` | `region, status` | not set by the configuration")
            && markdown.contains("| `filestate_object.web` | `revision` | not set by the configuration: the provider recomputes it"),
        "{markdown}"
    );
    let terminal = stack.scan(&[]).stdout;
    assert!(
        terminal.contains("Changed outside Terraform, not managed by the configuration")
            && terminal
                .contains("filestate_object.web region, status: not set by the configuration"),
        "{terminal}"
    );

    // A team that wants computed drift counted says so.
    std::fs::write(
        stack.root.join(".driftlog.toml"),
        "[drift]\ncount_unmanaged = true\n",
    )
    .expect("write config");
    let (_, report) = scan_json(&stack);
    assert_eq!(
        class_of(&report, "filestate_object.web", "status").0,
        "unmanaged"
    );
    assert_eq!(
        class_of(&report, "filestate_object.web", "status").1,
        None,
        "counted"
    );
    assert_eq!(report["summary"]["ignored"], 0);
}

/// What the schema cannot tell: an optional and computed argument set by an expression. Its
/// value may be null (apply keeps the real value) or not (apply sets it back): the normal
/// plan decides, targeted at what drifted.
#[test]
fn an_argument_set_by_an_expression_is_decided_by_a_normal_plan() {
    let config = format!(
        "{PROVIDER}variable \"region\" {{\n  type    = string\n  default = null\n}}\n\
         locals {{\n  region = \"eu\"\n}}\n{}{}{}",
        object("maybe", "maybe", "  region = var.region\n"),
        object("surely", "surely", "  region = local.region\n"),
        object("bystander", "bystander", ""),
    );
    let stack = Stack::new(&[("main.tf", &config)]);
    stack.apply(&[]);
    stack.edit("maybe", |o| o["region"] = json!("us"));
    stack.edit("surely", |o| o["region"] = json!("us"));
    let (run, report) = scan_json(&stack);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert_eq!(
        class_of(&report, "filestate_object.maybe", "region"),
        unmanaged_by_plan(),
        "null: apply keeps the real value"
    );
    assert_eq!(
        class_of(&report, "filestate_object.surely", "region"),
        managed()
    );
    assert_eq!(report["summary"]["drifted"], 1);
    assert!(
        report["evidence"]["classify_plan_stream_sha256"]
            .as_str()
            .is_some_and(|h| h.len() == 64),
        "the plan that decided is evidence: {report:#}"
    );
    assert_eq!(comment_count(&stack), 1);
}

#[test]
fn a_deletion_is_managed_drift() {
    let stack = Stack::new(&[(
        "main.tf",
        &format!("{PROVIDER}{}", object("gone", "gone", "")),
    )]);
    stack.apply(&[]);
    stack.delete("gone");
    let (run, report) = scan_json(&stack);
    assert_eq!(run.code, 2, "{}", run.stderr);
    let gone = resource(&report, "filestate_object.gone");
    assert_eq!(gone["action"], "delete");
    assert_eq!(gone["class"], "managed");
    assert!(gone["ignored"].is_null());
    assert_eq!(comment_count(&stack), 1);
}

/// Every case at once: the ordering of classes, counts and sections must not depend on
/// what else drifted.
#[test]
fn every_kind_of_change_in_one_stack() {
    let before = format!(
        "{PROVIDER}{IGNORING}{}{}{}",
        object("archive", "old", ""),
        object(
            "web",
            "web",
            "  secret = \"s3cr3t-in-code\"\n  tags = { env = \"prod\" }\n"
        ),
        object("gone", "gone", ""),
    );
    let stack = Stack::new(&[
        ("main.tf", &before),
        ("modules/net/main.tf", IGNORING_MODULE),
    ]);
    stack.apply(&[]);
    let after = format!(
        "{PROVIDER}{IGNORING}{}{}{}moved {{\n  from = filestate_object.old\n  to   = filestate_object.renamed\n}}\n",
        object("archive", "renamed", ""),
        object("web", "web", "  secret = \"s3cr3t-in-code\"\n  tags = { env = \"prod\" }\n"),
        object("gone", "gone", ""),
    );
    std::fs::write(stack.root.join("main.tf"), after).expect("rename in code");
    stack.edit("keyed-a", |o| o["tags"]["env"] = json!("staging"));
    stack.edit("inner", |o| o["description"] = json!("from the console"));
    stack.edit("web", |o| {
        o["tags"]["env"] = json!("dev");
        o["status"] = json!("stopped");
        o["secret"] = json!("s3cr3t-rotated-by-hand");
    });
    stack.delete("gone");

    let (run, report) = scan_json(&stack);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert_eq!(report["summary"]["drifted"], 2, "web and gone: {report:#}");
    assert_eq!(report["summary"]["deleted"], 1);
    assert_eq!(report["summary"]["ignored"], 2, "keyed[a] and inner");
    assert_eq!(report["summary"]["refactors"], 1);
    assert_eq!(
        class_of(&report, "filestate_object.web", "tags.env"),
        managed()
    );
    assert_eq!(
        class_of(&report, "filestate_object.web", "secret"),
        managed()
    );
    assert_eq!(
        class_of(&report, "filestate_object.web", "status"),
        unmanaged_by_plan()
    );
    assert_eq!(
        class_of(&report, "filestate_object.keyed[\"a\"]", "tags.env"),
        ignored_at("main.tf:16")
    );
    assert_eq!(
        resource(&report, "filestate_object.gone")["class"],
        "managed"
    );
    assert_eq!(comment_count(&stack), 2);
    assert!(
        report["evidence"]["provider_schema_sha256"]
            .as_str()
            .is_some_and(|h| h.len() == 64),
        "the schema that classified is evidence too: {report:#}"
    );
    assert!(
        report["evidence"]["classify_plan_stream_sha256"]
            .as_str()
            .is_some_and(|h| h.len() == 64),
        "web's computed status needed the plan"
    );
    for format in ["terminal", "markdown", "json"] {
        let run = stack.scan(&["--format", format]);
        for secret in ["s3cr3t-in-code", "s3cr3t-rotated-by-hand"] {
            assert!(
                !run.stdout.contains(secret) && !run.stderr.contains(secret),
                "{secret} leaked in {format}"
            );
        }
    }
    let terminal = stack.scan(&[]).stdout;
    for expected in [
        "Drift in",
        "2 resources changed outside Terraform",
        "Ignored by the configuration (lifecycle.ignore_changes) (recorded, not counted):",
        "Changed outside Terraform, not managed by the configuration (recorded, not counted):",
        "Moved in code (not drift):",
    ] {
        assert!(
            terminal.contains(expected),
            "{expected} missing:\n{terminal}"
        );
    }
    assert!(stack.leftover_temp_files().is_empty());
}

#[test]
fn when_terraform_cannot_classify_all_drift_counts_and_a_warning_says_why() {
    let stack = Stack::new(&[
        ("main.tf", &format!("{PROVIDER}{IGNORING}")),
        ("modules/net/main.tf", IGNORING_MODULE),
    ]);
    stack.apply(&[]);
    stack.edit("keyed-a", |o| o["tags"]["env"] = json!("staging"));
    // The schema cannot be read and a normal plan fails (a provider error at plan time,
    // say); refresh-only works.
    let wrapper = stack.fake_terraform(
        "normal-plan-fails",
        "#!/bin/sh\nif [ \"$1\" = providers ]; then echo 'TF_LOG noise s3cr3t-log' >&2; exit 1; fi\n\
         if [ \"$1\" = plan ] && [ \"$2\" != -refresh-only ]; then \
         echo '{\"type\":\"diagnostic\",\"diagnostic\":{\"severity\":\"error\",\"summary\":\"provider exploded\"}}'; \
         exit 1; fi\nexec terraform \"$@\"\n",
    );
    let run = stack.scan_json_with(&wrapper);
    assert_eq!(run.code, 2, "counted when unsure: {}", run.stderr);
    let report = run.json();
    assert_eq!(
        class_of(&report, "filestate_object.keyed[\"a\"]", "tags.env"),
        managed()
    );
    let warning = report["diagnostics"]
        .as_array()
        .and_then(|d| d.iter().find(|d| d["severity"] == "warning"))
        .unwrap_or_else(|| panic!("no warning: {report:#}"));
    assert!(
        warning["summary"]
            .as_str()
            .is_some_and(|s| s.contains("could not ask terraform")),
        "{warning:#}"
    );
    assert!(
        warning["detail"]
            .as_str()
            .is_some_and(|s| s.contains("provider exploded") && s.contains("provider schemas")),
        "{warning:#}"
    );
    assert!(
        !run.stdout.contains("s3cr3t-log"),
        "terraform's raw stderr never reaches the report"
    );
    assert!(report["evidence"]["show_json_sha256"].is_string());
    assert!(stack.leftover_temp_files().is_empty());
}

#[test]
fn a_failed_scan_in_terminal_format_also_says_why_on_standard_error() {
    let stack = Stack::new(&[(
        "main.tf",
        &format!("{PROVIDER}resource \"filestate_object\" \"x\" {{\n  name = var.missing\n}}\n"),
    )]);
    stack.terraform(&["init", "-input=false", "-no-color"]);
    let run = stack.scan(&[]);
    assert_eq!(run.code, 1);
    assert_contains(&run.stdout, "Scan failed for");
    assert!(
        run.stderr.contains("driftlog: error:") && run.stderr.contains("undeclared input variable"),
        "a redirected stdout must not hide why: {}",
        run.stderr
    );
}

/// Ctrl-C while the classifying plan runs: terraform is asked once to stop, the scan ends as
/// interrupted (not as drift it half classified), and both plan files are gone.
#[test]
fn an_interrupt_during_the_classifying_plan_stops_it_and_removes_the_plans() {
    let stack = Stack::new(&[(
        "main.tf",
        &format!(
            "{PROVIDER}{}",
            object("web", "web", "  secret = \"s3cr3t-in-plan\"\n")
        ),
    )]);
    stack.apply(&[]);
    // Computed-only drift: only the normal plan can classify it.
    stack.edit("web", |o| o["status"] = json!("stopped"));
    let marks = stack.root.join("marks");
    std::fs::create_dir_all(&marks).expect("mkdir");
    let wrapper = stack.fake_terraform(
        "slow-normal-plan",
        "#!/bin/bash\nif [ \"$1\" = plan ] && [ \"$2\" != -refresh-only ]; then\n\
         trap 'echo once >> \"$MARKS/interrupted\"; exit 1' INT\n\
         : > \"$MARKS/started\"\nwhile true; do sleep 0.05; done\nfi\n\
         exec terraform \"$@\"\n",
    );
    let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_driftlog"));
    command
        .args([
            "scan",
            stack.root.to_str().unwrap_or_default(),
            "--no-audit",
        ])
        .args(["--format", "json", "--terraform-bin", &wrapper])
        .env("TMPDIR", &stack.tmp)
        .env("MARKS", &marks)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    crate::support::terraform_env(&mut command);
    let child = command.spawn().expect("start driftlog");
    let out = crate::support::interrupt_once_started(child, &marks);
    crate::support::assert_interrupted_once(&out, &marks);
    let report: Value = serde_json::from_slice(&out.stdout).expect("a report when interrupted");
    assert_eq!(report["status"], "failed");
    assert_eq!(report["failure"]["kind"], "interrupted");
    assert!(
        stack.leftover_temp_files().is_empty(),
        "the plan files (raw secrets) are removed on interrupt"
    );
}
