//! driftlog's secrets never reach the processes it starts: terraform, its providers,
//! `local-exec` provisioners. Real terraform; the environment each child saw is dumped.

use std::path::Path;

use crate::support::{git, Stack, PROVIDER};

const DRIFTLOG_TOKEN: &str = "ghs_driftlogOwnTokenNeverShared";
const INPUT_TOKEN: &str = "ghs_actionInputTokenNeverShared";
const WORKFLOW_TOKEN: &str = "ghs_workflowSetThisForItsProvider";

/// driftlog's secrets in the environment, as the action and CI secrets pass them, plus a
/// token the workflow set for its own providers.
fn secret_environment(key_text: &str) -> Vec<(String, String)> {
    [
        ("DRIFTLOG_SIGNING_KEY", key_text),
        ("INPUT_SIGNING_KEY", key_text),
        ("DRIFTLOG_GITHUB_TOKEN", DRIFTLOG_TOKEN),
        ("INPUT_GITHUB_TOKEN", INPUT_TOKEN),
        ("GITHUB_TOKEN", WORKFLOW_TOKEN),
    ]
    .iter()
    .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
    .collect()
}

/// The secret material a dump must not hold: the key's base64 body and driftlog's tokens.
fn assert_clean(dump: &str, key_text: &str, what: &str) {
    assert!(!dump.is_empty(), "{what}: nothing was dumped");
    let key_body = key_text
        .lines()
        .find(|line| !line.starts_with("-----") && line.len() > 20)
        .unwrap_or(key_text);
    for (name, secret) in [
        ("the signing key", key_body),
        ("driftlog's token", DRIFTLOG_TOKEN),
        ("the action's token input", INPUT_TOKEN),
    ] {
        assert!(!dump.contains(secret), "{what} saw {name}");
    }
    for name in driftlog::secrets::variables() {
        assert!(!dump.contains(&format!("{name}=")), "{what} saw {name}");
    }
    assert!(
        dump.contains(&format!("GITHUB_TOKEN={WORKFLOW_TOKEN}")),
        "{what}: the workflow's own variables stay"
    );
}

fn key_text(key_file: &Path) -> String {
    std::fs::read_to_string(key_file).expect("read key")
}

#[test]
fn terraform_and_its_providers_never_see_the_key_or_drifts_tokens() {
    let stack = Stack::new(&[(
        "main.tf",
        &format!("{PROVIDER}resource \"filestate_object\" \"web\" {{\n  name = \"web\"\n}}\n"),
    )]);
    stack.apply(&[]);
    let (key_file, _) = stack.commit_to_git(&["env-dump", "env-terraform"]);
    let key = key_text(&key_file);
    let (wrapper, dump) = stack.env_dumping_terraform();
    stack.edit("web", |o| o["size"] = serde_json::json!(3));
    let run = stack.driftlog_with_env(
        &stack.root,
        &[
            "scan",
            stack.root.to_str().expect("utf-8"),
            "--terraform-bin",
            &wrapper,
        ],
        &secret_environment(&key),
    );
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(
        run.stderr.contains("recorded as audit record 0"),
        "the key from the environment signed the record: {}",
        run.stderr
    );
    let dumped = std::fs::read_to_string(&dump).unwrap_or_default();
    assert!(
        dumped.matches("TF_IN_AUTOMATION=1").count() >= 3,
        "plan, show and the schema ran through the wrapper: {dumped}"
    );
    assert_clean(&dumped, &key, "terraform (scan)");
    let log = git(&stack.root, &["log", "-p", "driftlog/audit"]);
    assert!(!log.contains(DRIFTLOG_TOKEN) && !log.contains(INPUT_TOKEN));
}

#[test]
fn local_exec_under_driftlog_apply_never_sees_the_key() {
    let dump = "local-exec.env";
    let stack = Stack::new(&[(
        "main.tf",
        &format!(
            "resource \"terraform_data\" \"dump\" {{\n  provisioner \"local-exec\" {{\n    \
             command = \"env > {dump}\"\n  }}\n}}\n"
        ),
    )]);
    let init = stack.terraform(&["init", "-input=false", "-no-color"]);
    assert!(
        init.status.success(),
        "{}",
        String::from_utf8_lossy(&init.stderr)
    );
    let (key_file, _) = stack.commit_to_git(&[dump]);
    let key = key_text(&key_file);
    let run = stack.driftlog_with_env(
        &stack.root,
        &[
            "apply",
            stack.root.to_str().expect("utf-8"),
            "--",
            "-auto-approve",
        ],
        &secret_environment(&key),
    );
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    assert!(
        run.stderr.contains("recorded as audit record 0"),
        "{}",
        run.stderr
    );
    let dumped = std::fs::read_to_string(stack.root.join(dump)).unwrap_or_default();
    assert_clean(&dumped, &key, "local-exec (apply)");
}
