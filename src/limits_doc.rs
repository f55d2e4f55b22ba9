//! Every input limit is stated once, in `docs/limits.md`; this keeps that page and the
//! constants in step: each constant's value appears on its row, and the page names no
//! constant that is not listed here.

const DOC: &str = include_str!("../docs/limits.md");

/// `(NAME, value)` of each constant, named by its path's last segment.
macro_rules! constants {
    ($($path:path),* $(,)?) => {
        vec![$((
            stringify!($path).rsplit("::").next().unwrap_or_default().trim(),
            $path as u64,
        )),*]
    };
}

fn limits() -> Vec<(&'static str, u64)> {
    use crate::audit::verify::read;
    use crate::engine::cloudformation;
    use crate::terraform::process;
    let mut limits = constants![
        read::MAX_RECORD_BYTES,
        read::MAX_SMALL_FILE_BYTES,
        read::MAX_TREE_BYTES,
        read::MAX_COMMIT_BYTES,
        read::MAX_TREE_DEPTH,
        read::MAX_CHANGES,
        read::MAX_PARSED_TREE_BYTES,
        crate::audit::verify::MAX_PROBLEMS,
        crate::audit::note::MAX_SIGNATURES,
        crate::audit::verify::TIME_BOUND_SECONDS,
        crate::audit::spool::MAX_SPOOL_FILE_BYTES,
        crate::audit::pending::MAX_PENDING_REFS,
        crate::audit::pending::MAX_ENTRIES_PER_REF,
        crate::audit::pending::MAX_ENTRY_BYTES,
        crate::audit::pending::MAX_PENDING_REF_BYTES,
        crate::audit::sync::MAX_FOLD_LOOKBACK,
        crate::audit::sync::MAX_FOLD_BYTES,
        crate::audit::sync::FOLD_CLOCK_SLACK_SECONDS,
        crate::json::MAX_JSON_NESTING,
        crate::events::MAX_EVENT_FILE_BYTES,
        crate::events::MIN_IDENTIFIER_LEN,
        crate::events::MAX_IDENTIFIER_LEN,
        crate::context::MAX_EVENT_PAYLOAD_BYTES,
        crate::terraform::config::MAX_MODULE_DIRS,
        crate::config::MAX_CONFIG_BYTES,
        crate::config::remediate::MAX_REMEDIATE_RESOURCES,
        crate::config::notify::MAX_NOTIFY_TARGETS,
        crate::notify::MAX_NOTIFIED_RESOURCES,
        crate::notify::MAX_NOTIFIED_ATTRIBUTES,
        crate::notify::MAX_NOTIFIED_VALUE_CHARS,
        crate::notify::MAX_NOTIFIED_OWNERS,
        crate::notify::MAX_NOTIFIED_NAME_CHARS,
        crate::notify::MAX_NOTIFIED_LINE_CHARS,
        crate::notify::MAX_NOTIFIED_FAILURE_CHARS,
        crate::notify::slack::MAX_SLACK_TOTAL_CHARS,
        crate::notify::deliver::NOTIFY_ATTEMPTS,
        crate::notify::deliver::MAX_NOTIFY_RESPONSE_BYTES,
        crate::notify::deliver::MAX_NOTIFY_ERROR_CHARS,
        crate::adopt::edit::MAX_SOURCE_FILE_BYTES,
        crate::adopt::edit::MAX_SOURCE_FILES,
        crate::adopt::edit::MAX_VALUE_DEPTH,
        crate::adopt::proof::MAX_MIRROR_ENTRIES,
        crate::terraform::saved_plan::MAX_REMEDIATION_TARGETS,
        crate::run::remediate::DEFAULT_MAX_RUN_RESOURCES,
        crate::bounded::MAX_SAVED_REPORT_BYTES,
        crate::bounded::MAX_KEY_FILE_BYTES,
        crate::bounded::MAX_ALLOWED_SIGNERS_BYTES,
        crate::actions::STEP_SUMMARY_MAX_BYTES,
        crate::actions::MAX_WARNINGS_PER_STEP,
        crate::github::MAX_CHECK_SUMMARY,
        crate::github::MAX_PULL_BODY_CHARS,
        process::MAX_STREAM_LINE_BYTES,
        process::MAX_SHOW_JSON_BYTES,
        process::MAX_SCHEMA_JSON_BYTES,
        process::MAX_WORKSPACE_LIST_BYTES,
        process::STDERR_TAIL_BYTES,
        process::SHOWN_LINE_CHARS,
        cloudformation::template::MAX_TEMPLATE_BYTES,
        cloudformation::template::MAX_TEMPLATE_DEPTH,
        cloudformation::template::MAX_TEMPLATE_NODES,
        cloudformation::aws::MAX_AWS_OUTPUT_BYTES,
        cloudformation::MAX_DRIFT_PAGES,
        cloudformation::MAX_NESTING_DEPTH,
        cloudformation::MAX_NESTED_STACKS,
    ];
    // Time limits, in seconds.
    for (name, limit) in [
        ("DEFAULT_PLAN_TIMEOUT", process::DEFAULT_PLAN_TIMEOUT),
        ("DEFAULT_READ_TIMEOUT", process::DEFAULT_READ_TIMEOUT),
        ("STOP_GRACE", process::STOP_GRACE),
        ("CONNECT_TIMEOUT", crate::github::CONNECT_TIMEOUT),
        (
            "DEFAULT_REQUEST_TIMEOUT",
            crate::github::DEFAULT_REQUEST_TIMEOUT,
        ),
        (
            "DEFAULT_REQUEST_DEADLINE",
            crate::github::DEFAULT_REQUEST_DEADLINE,
        ),
        (
            "DEFAULT_TRANSPORT_TIMEOUT",
            crate::audit::sync::DEFAULT_TRANSPORT_TIMEOUT,
        ),
        ("DEFAULT_DEADLINE", crate::audit::sync::DEFAULT_DEADLINE),
        ("FOLD_PATIENCE", crate::audit::sync::FOLD_PATIENCE),
        (
            "NOTIFY_ATTEMPT_TIMEOUT",
            crate::notify::deliver::NOTIFY_ATTEMPT_TIMEOUT,
        ),
        (
            "NOTIFY_STAGE_DEADLINE",
            crate::run::notify::NOTIFY_STAGE_DEADLINE,
        ),
        (
            "MAX_NOTIFY_RETRY_AFTER",
            crate::notify::deliver::MAX_NOTIFY_RETRY_AFTER,
        ),
        (
            "DEFAULT_DETECTION_TIMEOUT",
            cloudformation::DEFAULT_DETECTION_TIMEOUT,
        ),
    ] {
        limits.push((name, limit.as_secs()));
    }
    limits
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
