//! Every input limit is stated once, in `docs/limits.md`; this keeps that page and the
//! constants in step: each constant's value appears on its row, and the page names no
//! constant that is not listed here.

const DOC: &str = include_str!("../docs/limits.md");

fn limits() -> Vec<(&'static str, u64)> {
    use crate::audit::verify::read;
    use crate::terraform::process;
    vec![
        ("MAX_RECORD_BYTES", read::MAX_RECORD_BYTES as u64),
        ("MAX_SMALL_FILE_BYTES", read::MAX_SMALL_FILE_BYTES as u64),
        ("MAX_TREE_BYTES", read::MAX_TREE_BYTES as u64),
        ("MAX_COMMIT_BYTES", read::MAX_COMMIT_BYTES as u64),
        ("MAX_TREE_DEPTH", read::MAX_TREE_DEPTH as u64),
        ("MAX_CHANGES", read::MAX_CHANGES as u64),
        ("MAX_PARSED_TREE_BYTES", read::MAX_PARSED_TREE_BYTES as u64),
        ("MAX_PROBLEMS", crate::audit::verify::MAX_PROBLEMS as u64),
        ("MAX_SIGNATURES", crate::audit::note::MAX_SIGNATURES as u64),
        (
            "TIME_BOUND_SECONDS",
            crate::audit::verify::TIME_BOUND_SECONDS as u64,
        ),
        (
            "MAX_SPOOL_FILE_BYTES",
            crate::audit::spool::MAX_SPOOL_FILE_BYTES,
        ),
        (
            "MIN_IDENTIFIER_LEN",
            crate::events::MIN_IDENTIFIER_LEN as u64,
        ),
        (
            "MAX_IDENTIFIER_LEN",
            crate::events::MAX_IDENTIFIER_LEN as u64,
        ),
        (
            "MAX_EVENT_PAYLOAD_BYTES",
            crate::context::MAX_EVENT_PAYLOAD_BYTES,
        ),
        (
            "MAX_MODULE_DIRS",
            crate::terraform::config::MAX_MODULE_DIRS as u64,
        ),
        (
            "STEP_SUMMARY_MAX_BYTES",
            crate::actions::STEP_SUMMARY_MAX_BYTES,
        ),
        (
            "MAX_WARNINGS_PER_STEP",
            crate::actions::MAX_WARNINGS_PER_STEP as u64,
        ),
        ("MAX_CHECK_SUMMARY", crate::github::MAX_CHECK_SUMMARY as u64),
        (
            "MAX_STREAM_LINE_BYTES",
            process::MAX_STREAM_LINE_BYTES as u64,
        ),
        ("MAX_SHOW_JSON_BYTES", process::MAX_SHOW_JSON_BYTES as u64),
        (
            "MAX_SCHEMA_JSON_BYTES",
            process::MAX_SCHEMA_JSON_BYTES as u64,
        ),
        (
            "MAX_WORKSPACE_LIST_BYTES",
            process::MAX_WORKSPACE_LIST_BYTES as u64,
        ),
        (
            "MAX_JSON_DEPTH",
            crate::terraform::show::MAX_JSON_DEPTH as u64,
        ),
        ("STDERR_TAIL_BYTES", process::STDERR_TAIL_BYTES as u64),
        ("SHOWN_LINE_CHARS", process::SHOWN_LINE_CHARS as u64),
        (
            "DEFAULT_PLAN_TIMEOUT",
            process::DEFAULT_PLAN_TIMEOUT.as_secs(),
        ),
        (
            "DEFAULT_READ_TIMEOUT",
            process::DEFAULT_READ_TIMEOUT.as_secs(),
        ),
        ("STOP_GRACE", process::STOP_GRACE.as_secs()),
    ]
}

/// The table row naming `constant`.
fn row(constant: &str) -> Option<&'static str> {
    let quoted = format!("`{constant}`");
    DOC.lines()
        .find(|line| line.starts_with('|') && line.contains(&quoted))
}

#[test]
fn limits_doc_lists_every_limit() {
    for (constant, value) in limits() {
        let row =
            row(constant).unwrap_or_else(|| panic!("docs/limits.md has no row for {constant}"));
        let numbers: Vec<&str> = row
            .split(|c: char| !c.is_ascii_digit())
            .filter(|n| !n.is_empty())
            .collect();
        assert!(
            numbers.contains(&value.to_string().as_str()),
            "docs/limits.md says `{row}`, but {constant} is {value}"
        );
    }
    let listed: Vec<&str> = limits().iter().map(|(name, _)| *name).collect();
    // The third column of every table row names the constants.
    let rows = DOC
        .lines()
        .filter(|l| l.starts_with('|') && !l.starts_with("|---"));
    for column in rows.filter_map(|row| row.split('|').nth(3)) {
        for name in column.split('`').skip(1).step_by(2) {
            if name != "constant" {
                assert!(
                    listed.contains(&name),
                    "docs/limits.md names {name}, which the test does not check"
                );
            }
        }
    }
}
