//! The example workflows, the repository's own workflows and `action.yml`, linted: actionlint
//! (with shellcheck), the SchemaStore schemas, explicit permissions and SHA-pinned actions.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use tempfile::TempDir;

use crate::support::tools;

const SETUP: &str = "run `bash scripts/setup-test-env.sh` (the README's test command, \
                     `bash scripts/test.sh`, does it for you)";

/// The examples the README links to.
const EXAMPLES: [&str; 3] = ["pull-request.yml", "nightly.yml", "manual.yml"];

/// Write permissions driftlog needs in every run: the audit push, drift issues (and, through
/// the issues API, pull-request comments), the check run and its commit-status fallback.
const ALWAYS_NEEDED: [&str; 4] = ["contents", "issues", "checks", "statuses"];

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// A linter from the test tools directory (where the setup script links it), else from PATH.
/// Missing is a failure, never a skip.
fn linter(name: &str) -> PathBuf {
    let linked = tools().bin_dir.join(name);
    if linked.is_file() {
        return linked;
    }
    std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default())
        .map(|dir| dir.join(name))
        .find(|path| path.is_file())
        .unwrap_or_else(|| {
            panic!(
                "{name} is not installed (looked in {} and on PATH): {SETUP}",
                tools().bin_dir.display()
            )
        })
}

fn run(program: &Path, args: &[&str], files: &[PathBuf]) -> Output {
    Command::new(program)
        .args(args)
        .args(files)
        .current_dir(repo())
        .env("NO_COLOR", "1")
        .output()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", program.display()))
}

fn text(output: &Output) -> String {
    format!(
        "exit {:?}\n--- stdout\n{}\n--- stderr\n{}",
        output.status.code(),
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

/// actionlint on `files`, with shellcheck on every `run:` script.
fn actionlint(files: &[PathBuf]) -> Output {
    let shellcheck = linter("shellcheck");
    let shellcheck = shellcheck.to_str().expect("UTF-8 path");
    run(
        &linter("actionlint"),
        &["-no-color", "-shellcheck", shellcheck],
        files,
    )
}

fn check_jsonschema(schema: &str, files: &[PathBuf]) -> Output {
    run(
        &linter("check-jsonschema"),
        &["--builtin-schema", schema],
        files,
    )
}

fn yml_files(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("cannot list {}: {e}", dir.display()))
        .map(|entry| entry.expect("directory entry").path())
        .filter(|path| {
            path.extension()
                .is_some_and(|ext| ext == "yml" || ext == "yaml")
        })
        .collect();
    files.sort();
    files
}

fn examples() -> Vec<PathBuf> {
    let files = yml_files(&repo().join("examples/workflows"));
    for name in EXAMPLES {
        assert!(
            files.iter().any(|f| f.ends_with(name)),
            "examples/workflows/{name} is missing (the README links to it)"
        );
    }
    files
}

fn workflows() -> Vec<PathBuf> {
    let mut files = examples();
    files.extend(yml_files(&repo().join(".github/workflows")));
    files
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()))
}

fn relative(path: &Path) -> String {
    path.strip_prefix(repo())
        .unwrap_or(path)
        .display()
        .to_string()
}

fn indent(line: &str) -> usize {
    line.len() - line.trim_start().len()
}

/// The line without a trailing ` # comment` (good enough for these files: no `#` in values).
fn strip_comment(line: &str) -> &str {
    match line.find(" #") {
        Some(at) => &line[..at],
        None => line,
    }
    .trim_end()
}

fn is_comment_or_blank(line: &str) -> bool {
    let trimmed = line.trim_start();
    trimmed.is_empty() || trimmed.starts_with('#')
}

/// One `permissions:` of a workflow: its indentation (0 for the workflow's) and its grants.
#[derive(Debug)]
struct Permissions {
    indent: usize,
    line: usize,
    grants: BTreeMap<String, String>,
    /// A scalar such as `read-all` or `write-all`, instead of a mapping.
    scalar: Option<String>,
}

/// Every `permissions:` in a workflow, from a line scan: block mappings, `{}` and flow
/// mappings (`{ contents: read }`) and scalars.
fn permissions(yaml: &str) -> Vec<Permissions> {
    let lines: Vec<&str> = yaml.lines().collect();
    let mut found = Vec::new();
    for (i, line) in lines.iter().enumerate() {
        if is_comment_or_blank(line) {
            continue;
        }
        let Some(rest) = line.trim_start().strip_prefix("permissions:") else {
            continue;
        };
        let rest = strip_comment(rest).trim();
        let mut block = Permissions {
            indent: indent(line),
            line: i + 1,
            grants: BTreeMap::new(),
            scalar: None,
        };
        if let Some(flow) = rest.strip_prefix('{').and_then(|r| r.strip_suffix('}')) {
            for pair in flow.split(',').filter(|p| !p.trim().is_empty()) {
                let (key, value) = pair.split_once(':').expect("key: value in a flow mapping");
                block
                    .grants
                    .insert(key.trim().to_owned(), value.trim().to_owned());
            }
        } else if !rest.is_empty() {
            block.scalar = Some(rest.to_owned());
        } else {
            for next in &lines[i + 1..] {
                if is_comment_or_blank(next) {
                    continue;
                }
                if indent(next) <= block.indent {
                    break;
                }
                let (key, value) = strip_comment(next)
                    .split_once(':')
                    .expect("key: value under permissions");
                block
                    .grants
                    .insert(key.trim().to_owned(), value.trim().to_owned());
            }
        }
        found.push(block);
    }
    found
}

/// The comment block the file opens with.
fn header(yaml: &str) -> String {
    yaml.lines()
        .take_while(|line| is_comment_or_blank(line))
        .collect::<Vec<_>>()
        .join("\n")
}

/// Whether the workflow runs on pull requests.
fn on_pull_request(yaml: &str) -> bool {
    yaml.lines().any(|line| {
        let line = strip_comment(line);
        line == "  pull_request:" || line.starts_with("on: pull_request") || {
            line.starts_with("on: [") && line.contains("pull_request")
        }
    })
}

/// Problems with the `uses:` lines of `yaml`: every action but local ones (`./`) and driftlog
/// itself must be pinned to a full 40-hex commit SHA, with the release tag in a trailing
/// `# vX.Y.Z` comment; a `docker://` image must be pinned by digest.
fn unpinned_uses(yaml: &str) -> Vec<String> {
    let mut problems = Vec::new();
    for (i, line) in yaml.lines().enumerate() {
        let trimmed = line.trim_start();
        let trimmed = trimmed.strip_prefix("- ").unwrap_or(trimmed).trim_start();
        let Some(rest) = trimmed.strip_prefix("uses:") else {
            continue;
        };
        let (value, comment) = match rest.find(" #") {
            Some(at) => (&rest[..at], Some(rest[at + 2..].trim())),
            None => (rest, None),
        };
        let value = value.trim().trim_matches(|c| c == '"' || c == '\'');
        let at = format!("line {}: `{value}`", i + 1);
        if value.starts_with("./") || value.starts_with("driftlog/driftlog@") {
            continue;
        }
        if let Some(image) = value.strip_prefix("docker://") {
            if !image.contains("@sha256:") {
                problems.push(format!("{at}: a docker image must be pinned by digest"));
            }
            continue;
        }
        let Some((action, reference)) = value.split_once('@') else {
            problems.push(format!("{at}: no @ref"));
            continue;
        };
        if action.split('/').count() < 2 {
            problems.push(format!("{at}: not an owner/repository action"));
        }
        if reference.len() != 40
            || !reference
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
        {
            problems.push(format!(
                "{at}: pin a full 40-hex commit SHA, not `{reference}`"
            ));
            continue;
        }
        let tagged = comment.is_some_and(|c| {
            c.strip_prefix('v').is_some_and(|version| {
                let parts: Vec<&str> = version.split('.').collect();
                parts.len() == 3
                    && parts
                        .iter()
                        .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()))
            })
        });
        if !tagged {
            problems.push(format!(
                "{at}: add the release tag as a trailing `# vX.Y.Z` comment"
            ));
        }
    }
    problems
}

/// `owner/repo -> {(sha, tag comment)}` over the `uses:` lines of `yaml`.
fn pins(yaml: &str, into: &mut BTreeMap<String, BTreeSet<String>>) {
    for line in yaml.lines() {
        let trimmed = line.trim_start();
        let trimmed = trimmed.strip_prefix("- ").unwrap_or(trimmed).trim_start();
        let Some(rest) = trimmed.strip_prefix("uses:") else {
            continue;
        };
        let Some((action, reference)) = rest.trim().split_once('@') else {
            continue;
        };
        into.entry(action.to_owned())
            .or_default()
            .insert(reference.to_owned());
    }
}

#[test]
fn workflows_pass_actionlint_and_shellcheck() {
    let files = workflows();
    let output = actionlint(&files);
    assert!(
        output.status.success(),
        "actionlint rejects the workflows ({} files):\n{}",
        files.len(),
        text(&output)
    );
}

/// With `driftlog/driftlog@…` replaced by `./` next to a copy of action.yml, actionlint checks
/// every `with:` input and `steps.<id>.outputs.<name>` against the action's metadata.
#[test]
fn examples_use_only_the_actions_inputs_and_outputs() {
    let project = TempDir::new().expect("temp dir");
    let workflows = project.path().join(".github/workflows");
    std::fs::create_dir_all(&workflows).expect("mkdir");
    std::fs::create_dir(project.path().join(".git")).expect("mkdir .git");
    std::fs::copy(repo().join("action.yml"), project.path().join("action.yml"))
        .expect("copy action.yml (the action's metadata at the repository root)");
    let mut copies = Vec::new();
    for example in examples() {
        let yaml = read(&example);
        let mut rewritten = 0;
        let local: Vec<String> = yaml
            .lines()
            .map(|line| match line.find("uses: driftlog/driftlog@") {
                Some(at) => {
                    rewritten += 1;
                    format!("{}uses: ./", &line[..at])
                }
                None => line.to_owned(),
            })
            .collect();
        assert!(
            rewritten > 0,
            "{} does not use driftlog/driftlog",
            relative(&example)
        );
        let copy = workflows.join(example.file_name().expect("file name"));
        std::fs::write(&copy, local.join("\n") + "\n").expect("write copy");
        copies.push(copy);
    }
    let output = actionlint(&copies);
    assert!(
        output.status.success(),
        "the examples do not match action.yml's inputs and outputs (or action.yml does not \
         parse):\n{}",
        text(&output)
    );
}

#[test]
fn action_metadata_matches_the_schema() {
    let action = repo().join("action.yml");
    assert!(
        action.is_file(),
        "action.yml is missing at the repository root"
    );
    let output = check_jsonschema("vendor.github-actions", &[action]);
    assert!(
        output.status.success(),
        "action.yml does not match SchemaStore's github-action schema:\n{}",
        text(&output)
    );
}

#[test]
fn workflows_match_the_schema() {
    let output = check_jsonschema("vendor.github-workflows", &workflows());
    assert!(
        output.status.success(),
        "the workflows do not match SchemaStore's github-workflow schema:\n{}",
        text(&output)
    );
}

#[test]
fn workflows_grant_least_privilege_and_say_why() {
    for file in workflows() {
        let yaml = read(&file);
        let name = relative(&file);
        let blocks = permissions(&yaml);
        let top = blocks
            .iter()
            .find(|b| b.indent == 0)
            .unwrap_or_else(|| panic!("{name} declares no workflow-level `permissions:`"));
        assert!(
            top.scalar.is_none() && top.grants.values().all(|v| v == "read" || v == "none"),
            "{name}: the workflow-level permissions (line {}) must grant no write access: \
             grant it to the jobs that need it",
            top.line
        );
        let head = header(&yaml);
        for block in &blocks {
            assert!(
                block.scalar.is_none(),
                "{name} line {}: `permissions: {}` instead of explicit grants",
                block.line,
                block.scalar.as_deref().unwrap_or_default()
            );
            for (key, value) in &block.grants {
                assert!(
                    head.contains(&format!("{key}: {value}")),
                    "{name} grants `{key}: {value}` (line {}) without saying why in its \
                     header comment",
                    block.line
                );
            }
        }
    }
}

#[test]
fn examples_grant_what_driftlog_needs() {
    for file in examples() {
        let yaml = read(&file);
        let name = relative(&file);
        let granted: BTreeSet<String> = permissions(&yaml)
            .iter()
            .flat_map(|b| b.grants.iter())
            .filter(|(_, value)| *value == "write")
            .map(|(key, _)| key.clone())
            .collect();
        let mut needed: Vec<&str> = ALWAYS_NEEDED.to_vec();
        if on_pull_request(&yaml) {
            needed.push("pull-requests");
        }
        for key in needed {
            assert!(
                granted.contains(key),
                "{name} does not grant `{key}: write`, which driftlog needs; granted: {granted:?}"
            );
        }
        assert!(
            yaml.contains("signing-key: ${{ secrets."),
            "{name} does not pass the signing key from a secret"
        );
    }
}

#[test]
fn third_party_actions_are_pinned_to_a_commit() {
    let mut files = workflows();
    files.push(repo().join("action.yml"));
    let mut all = BTreeMap::new();
    for file in &files {
        let yaml = read(file);
        let problems = unpinned_uses(&yaml);
        assert!(
            problems.is_empty(),
            "{}:\n{}",
            relative(file),
            problems.join("\n")
        );
        pins(&yaml, &mut all);
    }
    for (action, references) in all {
        if action.starts_with("./") || action == "driftlog/driftlog" {
            continue;
        }
        assert_eq!(
            references.len(),
            1,
            "{action} is pinned to different commits across the workflows: {references:?}"
        );
    }
}

#[test]
fn the_pin_check_catches_tags_branches_and_missing_tag_comments() {
    let yaml = "\
steps:
  - uses: actions/checkout@v4
  - uses: hashicorp/setup-terraform@main
  - uses: \"actions/upload-artifact@bbbca2ddaa5d8feaa63e36b76fdaad77386f024f\"
  - uses: actions/download-artifact@3e5f45b2 # v8.0.1
  - uses: docker://alpine:3
  - uses: actions/checkout@3d3c42e5aac5ba805825da76410c181273ba90b1 # v7.0.1
  - uses: ./local-action
  - uses: driftlog/driftlog@v0.1.0
";
    let problems = unpinned_uses(yaml);
    let lines: Vec<&str> = problems
        .iter()
        .map(|p| p.split(':').next().expect("line prefix"))
        .collect();
    assert_eq!(
        lines,
        ["line 2", "line 3", "line 4", "line 5", "line 6"],
        "{problems:#?}"
    );
    assert!(problems[0].contains("not `v4`"), "{problems:#?}");
    assert!(problems[2].contains("# vX.Y.Z"), "{problems:#?}");
}

#[test]
fn the_permission_scan_reads_every_form() {
    let yaml = "\
# contents: write  explained
permissions: {}
jobs:
  a:
    permissions:
      contents: write # why
      # a comment
      id-token: write
    steps: []
  b:
    permissions: { contents: read, checks: write }
  c:
    permissions: write-all
";
    let blocks = permissions(yaml);
    assert_eq!(blocks.len(), 4, "{blocks:#?}");
    assert!(blocks[0].indent == 0 && blocks[0].grants.is_empty() && blocks[0].scalar.is_none());
    assert_eq!(
        blocks[1].grants.iter().collect::<Vec<_>>(),
        [
            (&"contents".to_owned(), &"write".to_owned()),
            (&"id-token".to_owned(), &"write".to_owned())
        ]
    );
    assert_eq!(blocks[2].grants.len(), 2);
    assert_eq!(blocks[3].scalar.as_deref(), Some("write-all"));
    assert!(!on_pull_request(yaml));
    assert!(on_pull_request(
        "on:\n  pull_request:\n    paths: [infra/**]\n"
    ));
}

/// The linters are not rubber stamps: a broken workflow and a broken action are rejected, and
/// shellcheck runs on `run:` scripts.
#[test]
fn the_linters_reject_broken_files() {
    let dir = TempDir::new().expect("temp dir");
    let workflow = dir.path().join("broken.yml");
    std::fs::write(
        &workflow,
        "\
on: pull_request
permissions: {}
jobs:
  scan:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@v4
      - run: echo ${{ steps.nothing.outputs.drift }}
      - run: cd $HOME/stack && ls
",
    )
    .expect("write workflow");
    let output = actionlint(std::slice::from_ref(&workflow));
    let report = text(&output);
    assert!(
        !output.status.success(),
        "actionlint accepted it:\n{report}"
    );
    assert!(
        report.contains("steps.nothing") || report.contains("\"nothing\""),
        "no error for the undefined step:\n{report}"
    );
    assert!(
        report.contains("shellcheck") && report.contains("SC2086"),
        "shellcheck did not check the run script:\n{report}"
    );
    assert!(
        !unpinned_uses(&read(&workflow)).is_empty(),
        "the pin check accepted actions/checkout@v4"
    );

    let action = dir.path().join("action.yml");
    std::fs::write(
        &action,
        "name: broken\nruns:\n  using: composite\n  stepz: []\n",
    )
    .expect("write action");
    let output = check_jsonschema("vendor.github-actions", &[action]);
    assert!(
        !output.status.success(),
        "check-jsonschema accepted an action without description and steps:\n{}",
        text(&output)
    );
}

/// The release workflow builds an asset for every platform the action's installer asks for,
/// under the name it downloads.
#[test]
fn release_assets_are_what_the_installer_downloads() {
    let release = read(&repo().join(".github/workflows/release.yml"));
    let install = read(&repo().join("action/install.sh"));
    let built: BTreeSet<&str> = release
        .lines()
        .filter_map(|line| line.trim_start().strip_prefix("- target: "))
        .map(str::trim)
        .collect();
    let wanted: BTreeSet<&str> = install
        .lines()
        .filter_map(|line| line.split_once(") target="))
        .map(|(_, rest)| {
            rest.split_whitespace()
                .next()
                .expect("target")
                .trim_end_matches(';')
        })
        .filter(|target| !target.trim_matches('"').is_empty())
        .collect();
    assert!(!wanted.is_empty(), "no target found in action/install.sh");
    assert_eq!(
        built, wanted,
        "release.yml's targets differ from action/install.sh's"
    );
    assert!(
        install.contains("asset=\"driftlog-$target.tar.gz\"")
            && install.contains("$url.sha256")
            && install.contains("/v$version/"),
        "action/install.sh no longer downloads v<version>/driftlog-<target>.tar.gz(.sha256)"
    );
    for needle in [
        "tar -czf \"dist/driftlog-$TARGET.tar.gz\" -C \"$staging\" driftlog",
        "sha256sum \"$archive\" >\"$archive.sha256\"",
        "cargo \"+$RUST_TOOLCHAIN\" build --release --locked",
    ] {
        assert!(
            release.contains(needle),
            "release.yml no longer has: {needle}"
        );
    }
}
