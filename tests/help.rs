//! The command line, pinned: every command's `--help` and `-h`, byte for byte, against the
//! snapshots in `tests/help/`. A change to a flag, a default, a value name or a help text shows
//! up here as a failing test and a reviewed snapshot diff, never silently.
//!
//! After an intended change: `DRIFTLOG_UPDATE_HELP=1 cargo test --test integration help::`
//! rewrites the snapshots (and removes those of commands that are gone); commit them with it.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// Every command path of the binary, the top level first. A command added to the binary fails
/// `the_listed_commands_are_the_binarys_commands` until it is listed here and snapshotted.
const COMMANDS: &[&[&str]] = &[
    &[],
    &["scan"],
    &["apply"],
    &["remediate"],
    &["adopt"],
    &["keygen"],
    &["verify"],
    &["log"],
    &["history"],
    &["explain"],
    &["stacks"],
    &["notify"],
    &["report"],
    &["report", "post"],
    &["report", "merge"],
];

/// The environment help is rendered in, and nothing else: clap wraps at `COLUMNS` (the
/// `wrap_help` feature) when no standard stream is a terminal, and shows the value of every
/// `env = "..."` variable (`DRIFTLOG_NO_AUDIT`, `GITHUB_API_URL`, ...) beside its flag, so the
/// developer's own environment must not reach it.
const HELP_ENV: &[(&str, &str)] = &[("COLUMNS", "100"), ("NO_COLOR", "1")];

/// `--help` (long help) and `-h` (short help), with the suffix of their snapshot files.
const HELP_FLAGS: &[(&str, &str)] = &[("--help", ".txt"), ("-h", ".short.txt")];

fn snapshot_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(SNAPSHOT_DIR)
}

/// Where the snapshots are, from the repository root (as messages name them).
const SNAPSHOT_DIR: &str = "tests/help";

/// `driftlog-report-post`: the snapshot name of `driftlog report post`.
fn snapshot_stem(path: &[&str]) -> String {
    std::iter::once("driftlog")
        .chain(path.iter().copied())
        .collect::<Vec<_>>()
        .join("-")
}

/// `driftlog report post`, for messages.
fn shown(path: &[&str]) -> String {
    std::iter::once("driftlog")
        .chain(path.iter().copied())
        .collect::<Vec<_>>()
        .join(" ")
}

fn updating() -> bool {
    std::env::var_os("DRIFTLOG_UPDATE_HELP").is_some()
}

/// What `driftlog ARGS` printed on standard output; it must exit 0 and print nothing else.
fn help_output(args: &[&str]) -> Vec<u8> {
    let cwd = tempfile::tempdir().expect("temp dir");
    let out = Command::new(env!("CARGO_BIN_EXE_driftlog"))
        .args(args)
        .current_dir(cwd.path())
        .env_clear()
        .envs(HELP_ENV.iter().copied())
        // No standard stream a terminal, or clap would take the terminal's width over COLUMNS.
        .stdin(Stdio::null())
        .output()
        .expect("run driftlog");
    let env: Vec<(String, String)> = HELP_ENV
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    crate::capture::output(args, cwd.path(), &env, &out);
    assert!(
        out.status.success() && out.stderr.is_empty(),
        "`{}` must print its help and exit 0, got {:?}:\n{}",
        shown(args),
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

/// The subcommands a help text lists under `Commands:`, without clap's own `help`.
fn listed_subcommands(help: &str) -> Vec<String> {
    help.lines()
        .skip_while(|line| *line != "Commands:")
        .skip(1)
        .take_while(|line| !line.trim().is_empty())
        // A name is indented by two spaces; wrapped descriptions by more.
        .filter(|line| line.starts_with("  ") && !line.starts_with("   "))
        .filter_map(|line| line.split_whitespace().next())
        .filter(|name| *name != "help")
        .map(str::to_owned)
        .collect()
}

/// Where `committed` and `actual` first differ, with a few lines of both around it.
fn first_difference(committed: &[u8], actual: &[u8]) -> String {
    let committed = String::from_utf8_lossy(committed);
    let actual = String::from_utf8_lossy(actual);
    let old: Vec<&str> = committed.split_inclusive('\n').collect();
    let new: Vec<&str> = actual.split_inclusive('\n').collect();
    let at = old
        .iter()
        .zip(&new)
        .position(|(a, b)| a != b)
        .unwrap_or(old.len().min(new.len()));
    let excerpt = |lines: &[&str], sign: char| -> String {
        let to = (at + 3).min(lines.len());
        let mut shown: String = lines[at.saturating_sub(2).min(to)..to]
            .iter()
            .map(|line| format!("  {sign} {line:?}\n"))
            .collect();
        if at >= lines.len() {
            shown.push_str(&format!("  {sign} (ends before line {})\n", at + 1));
        }
        shown
    };
    format!(
        "first difference at line {} (of {} committed, {} now); from line {}:\n\
         committed:\n{}now:\n{}",
        at + 1,
        old.len(),
        new.len(),
        at.saturating_sub(2) + 1,
        excerpt(&old, '-'),
        excerpt(&new, '+'),
    )
}

/// Each command's help is its committed snapshot, and every snapshot is a listed command's.
#[test]
fn help_output_matches_the_snapshots() {
    let dir = snapshot_dir();
    let update = updating();
    if update {
        std::fs::create_dir_all(&dir).expect("create tests/help");
    }
    let mut expected_files = BTreeSet::new();
    let mut problems = Vec::new();
    for path in COMMANDS {
        for (flag, suffix) in HELP_FLAGS {
            let name = format!("{}{suffix}", snapshot_stem(path));
            let file = dir.join(&name);
            let shown_file = format!("{SNAPSHOT_DIR}/{name}");
            expected_files.insert(name);
            let args: Vec<&str> = path.iter().copied().chain([*flag]).collect();
            let actual = help_output(&args);
            if update {
                if std::fs::read(&file).ok().as_deref() != Some(&actual[..]) {
                    std::fs::write(&file, &actual).expect("write the help snapshot");
                }
                continue;
            }
            match std::fs::read(&file) {
                Ok(committed) if committed == actual => {}
                Ok(committed) => problems.push(format!(
                    "`{}` differs from {}: {}",
                    shown(&args),
                    shown_file,
                    first_difference(&committed, &actual)
                )),
                Err(err) => problems.push(format!(
                    "`{}` has no snapshot {}: {err}",
                    shown(&args),
                    shown_file
                )),
            }
        }
    }
    let entries = std::fs::read_dir(&dir).expect("read tests/help");
    for entry in entries {
        let entry = entry.expect("read tests/help");
        let name = entry.file_name().to_string_lossy().into_owned();
        if expected_files.contains(&name) {
            continue;
        }
        if update {
            std::fs::remove_file(entry.path()).expect("remove a stale help snapshot");
        } else {
            problems.push(format!(
                "{SNAPSHOT_DIR}/{name} is the snapshot of no command in COMMANDS (tests/help.rs)"
            ));
        }
    }
    assert!(
        problems.is_empty(),
        "the command line changed:\n\n{}\n\nIf the change is intended, run \
         `DRIFTLOG_UPDATE_HELP=1 cargo test --test integration help::` and commit tests/help/.",
        problems.join("\n\n")
    );
}

/// The commands the binary's help lists, level by level, are exactly COMMANDS: a new
/// subcommand cannot go without a snapshot.
#[test]
fn the_listed_commands_are_the_binarys_commands() {
    let mut found = BTreeSet::new();
    let mut pending: Vec<Vec<String>> = vec![Vec::new()];
    while let Some(path) = pending.pop() {
        let args: Vec<&str> = path.iter().map(String::as_str).chain(["--help"]).collect();
        let help = String::from_utf8(help_output(&args)).expect("help is UTF-8");
        for name in listed_subcommands(&help) {
            let mut child = path.clone();
            child.push(name);
            pending.push(child);
        }
        found.insert(path);
    }
    let listed: BTreeSet<Vec<String>> = COMMANDS
        .iter()
        .map(|path| path.iter().map(|s| s.to_string()).collect())
        .collect();
    let show = |paths: Vec<&Vec<String>>| -> String {
        paths
            .iter()
            .map(|path| {
                format!(
                    "`{}`",
                    shown(&path.iter().map(String::as_str).collect::<Vec<_>>())
                )
            })
            .collect::<Vec<_>>()
            .join(", ")
    };
    let unlisted = show(found.difference(&listed).collect());
    let gone = show(listed.difference(&found).collect());
    assert!(
        unlisted.is_empty() && gone.is_empty(),
        "COMMANDS in tests/help.rs is out of date: commands not in it: [{unlisted}]; in it but \
         not in the binary's help: [{gone}]. Update COMMANDS, then run \
         `DRIFTLOG_UPDATE_HELP=1 cargo test --test integration help::` and commit tests/help/."
    );
}

/// `driftlog help PATH` (clap's `help` subcommand) prints what `driftlog PATH --help` does, so
/// the snapshots pin it too.
#[test]
fn the_help_subcommand_prints_the_long_help() {
    for path in COMMANDS {
        let via_subcommand: Vec<&str> = ["help"].into_iter().chain(path.iter().copied()).collect();
        let via_flag: Vec<&str> = path.iter().copied().chain(["--help"]).collect();
        assert_eq!(
            String::from_utf8_lossy(&help_output(&via_subcommand)),
            String::from_utf8_lossy(&help_output(&via_flag)),
            "`{}` and `{}` differ",
            shown(&via_subcommand),
            shown(&via_flag)
        );
    }
}

#[test]
fn subcommands_are_read_from_the_commands_section() {
    let help =
        "Usage: driftlog report <COMMAND>\n\nCommands:\n  post   Post a saved report\n         \
                over two lines\n  merge  Combine reports\n  help   Print this message\n\n\
                Options:\n  -h, --help  Print help\n";
    assert_eq!(listed_subcommands(help), ["post", "merge"]);
    assert!(listed_subcommands("Usage: driftlog scan [DIR]\n\nOptions:\n  -h\n").is_empty());
}

#[test]
fn a_difference_names_its_line() {
    let message = first_difference(b"a\nb\nc\n", b"a\nB\nc\n");
    assert!(message.contains("line 2"), "{message}");
    assert!(message.contains("- \"b\\n\"") && message.contains("+ \"B\\n\""));
    let shorter = first_difference(b"a\nb\n", b"a\n");
    assert!(shorter.contains("line 2"), "{shorter}");
    assert!(shorter.contains("ends before line 2"), "{shorter}");
}
