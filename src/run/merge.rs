//! Saved reports read back (`report post`, `report merge`) and the shards' reports merged
//! into one. A saved report is input like any other: read within
//! [`MAX_SAVED_REPORT_BYTES`], its schema version checked before its shape. With a signing
//! key, the records shards left on pending refs (the audit branch was busy) are folded into
//! the branch, and each merged stack whose record waited names its place there.

use std::io;
use std::path::{Path, PathBuf};

use crate::audit::recorder::{self, AuditOptions, RecordError};
use crate::bounded::MAX_SAVED_REPORT_BYTES;
use crate::drift::combined::{AnyReport, CombinedReport, DuplicateStack, SavedReportError};
use crate::github::Publication;
use crate::report::{self, Format};

/// Why a saved report cannot be used. Where a reason is another error, only its message is
/// shown, the way it reads on its own.
#[derive(Debug, thiserror::Error)]
pub enum ReadReportError {
    #[error("reading the report {}", path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("{}: {err}", path.display())]
    Version {
        path: PathBuf,
        err: SavedReportError,
    },
    #[error(
        "{} is not a driftlog JSON report ({err}); make one with `driftlog scan --output \
         report.json`",
        path.display()
    )]
    NotAReport {
        path: PathBuf,
        err: SavedReportError,
    },
}

/// The saved report at `path`, of one stack or combined.
pub fn read_report(path: &Path) -> Result<AnyReport, ReadReportError> {
    let text =
        crate::bounded::read_to_string(path, MAX_SAVED_REPORT_BYTES, "MAX_SAVED_REPORT_BYTES")
            .map_err(|source| ReadReportError::Read {
                path: path.to_owned(),
                source,
            })?;
    AnyReport::from_json(&text).map_err(|err| {
        let path = path.to_owned();
        match err {
            SavedReportError::Newer { .. } | SavedReportError::Older { .. } => {
                ReadReportError::Version { path, err }
            }
            _ => ReadReportError::NotAReport { path, err },
        }
    })
}

/// What posting a saved report publishes, and the exit code of the scan that made it.
pub fn publication(report: &AnyReport) -> (Publication<'_>, u8) {
    match report {
        AnyReport::Single(single) => (Publication::Single(single), single.status.exit_code()),
        AnyReport::Combined(combined) => {
            (Publication::Combined(combined), combined.status.exit_code())
        }
    }
}

/// Why the reports were not merged.
#[derive(Debug, thiserror::Error)]
pub enum MergeError {
    #[error(transparent)]
    Read(#[from] ReadReportError),
    #[error(transparent)]
    Duplicate(#[from] DuplicateStack),
}

/// The reports at `paths`, merged into one.
pub fn combine(paths: &[PathBuf]) -> Result<CombinedReport, MergeError> {
    let partials = paths
        .iter()
        .map(|path| read_report(path))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(CombinedReport::merge(partials)?)
}

/// The pending refs could not be folded; the records are safe where they were (the warnings
/// of [`super::record::unpushed_lines`] say what else happened).
#[derive(Debug, thiserror::Error)]
#[error("folding the shards' pending audit records: {0}")]
pub struct FoldError(pub RecordError);

/// With `audit` (a signing key was given), folds the pending refs of the audit branch into it
/// and names the place of each stack of `merged` whose record waited on one; without, warns
/// of the records that wait. What a person should know, a line each for standard error.
pub fn fold_pending(
    merged: &mut CombinedReport,
    audit: Option<&AuditOptions>,
) -> Result<Vec<String>, FoldError> {
    let waiting = merged
        .stacks
        .iter()
        .filter(|stack| stack.audit_pending.is_some())
        .count();
    match audit {
        Some(options) => fold_into_branch(options, merged),
        None if waiting > 0 => Ok(vec![format!(
            "driftlog: warning: {waiting} shard record(s) wait on pending refs; give `report \
             merge` the signing key (--signing-key or DRIFTLOG_SIGNING_KEY) to fold them into \
             the audit branch now, or the next run that records does"
        )]),
        None => Ok(Vec::new()),
    }
}

/// Folds the audit branch's pending refs, then each stack of `merged` whose record waited on
/// a pending ref names its place on the branch. A failure to fold fails the merge: the
/// records are safe where they were, and it says so.
fn fold_into_branch(
    options: &AuditOptions,
    merged: &mut CombinedReport,
) -> Result<Vec<String>, FoldError> {
    let start = options.repo.clone().unwrap_or_else(|| PathBuf::from("."));
    let outcome = recorder::fold(&start, options).map_err(FoldError)?;
    let mut notices = super::record::recorded_lines(&options.branch, &outcome);
    let waiting: Vec<usize> = (0..merged.stacks.len())
        .filter(|&i| merged.stacks[i].audit_pending.is_some())
        .collect();
    let entries: Vec<&str> = waiting
        .iter()
        .filter_map(|&i| merged.stacks[i].audit_pending.as_ref())
        .map(|pending| pending.entry.as_str())
        .collect();
    match recorder::find_folded(&start, options, &entries) {
        Ok(found) => {
            for (i, found) in waiting.into_iter().zip(found) {
                if let Some(head) = found {
                    let stack = &mut merged.stacks[i];
                    stack.audit = Some(super::record::audit_ref(&options.branch, &head));
                    stack.audit_pending = None;
                }
            }
        }
        Err(err) => notices.push(format!(
            "driftlog: warning: the folded records were not looked up: {err}"
        )),
    }
    Ok(notices)
}

/// Why the merged report could not be written.
#[derive(Debug, thiserror::Error)]
pub enum WriteError {
    #[error("writing the merged report to standard output")]
    Stdout(#[source] io::Error),
    #[error("writing the merged report to {}", path.display())]
    File {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
}

/// The merged report in `format` on `stdout` (a reader that stopped early, `| head`, is no
/// error) and, when given, in `file` (its format by its extension). Returns the file when it
/// holds the JSON report, for publishing.
pub fn write<'a>(
    merged: &CombinedReport,
    format: Format,
    stdout: &mut dyn io::Write,
    file: Option<&'a Path>,
) -> Result<Option<&'a Path>, WriteError> {
    let printed = stdout
        .write_all(report::render_combined(merged, format, false).as_bytes())
        .and_then(|()| stdout.flush());
    match printed {
        Err(err) if err.kind() == io::ErrorKind::BrokenPipe => {}
        other => other.map_err(WriteError::Stdout)?,
    }
    let Some(path) = file else { return Ok(None) };
    let file_format = report::format_for_file(path, format);
    std::fs::write(path, report::render_combined(merged, file_format, false)).map_err(
        |source| WriteError::File {
            path: path.to_owned(),
            source,
        },
    )?;
    Ok((file_format == Format::Json).then_some(path))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::drift::{PendingAuditRef, ScanReport, Status};

    fn saved(dir: &tempfile::TempDir, name: &str, text: &str) -> PathBuf {
        let path = dir.path().join(name);
        std::fs::write(&path, text).expect("write the report");
        path
    }

    fn waiting(dir: &str) -> ScanReport {
        let mut report = ScanReport::test(dir, Status::Clean);
        report.audit_pending = Some(PendingAuditRef {
            branch: "driftlog".into(),
            pending_ref: "refs/driftlog/pending/driftlog/run-1".into(),
            entry: "0123abcd".into(),
        });
        report
    }

    #[test]
    fn a_file_that_is_no_report_says_how_to_make_one() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = saved(&dir, "r.json", "[1, 2]");
        let err = read_report(&path).expect_err("not a report");
        assert!(matches!(err, ReadReportError::NotAReport { .. }), "{err:?}");
        assert!(err
            .to_string()
            .ends_with("; make one with `driftlog scan --output report.json`"));
    }

    #[test]
    fn a_report_of_another_schema_version_is_named_by_its_path() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = saved(&dir, "r.json", r#"{"schema_version": 999999}"#);
        let err = read_report(&path).expect_err("newer");
        assert!(matches!(err, ReadReportError::Version { .. }), "{err:?}");
        assert!(err
            .to_string()
            .starts_with(&format!("{}: ", path.display())));
    }

    #[test]
    fn shards_are_merged_and_one_stack_twice_is_refused() {
        let dir = tempfile::tempdir().expect("temp dir");
        let a = saved(&dir, "a.json", &crate::report::json(&waiting("a")));
        let b = saved(
            &dir,
            "b.json",
            &crate::report::json(&ScanReport::test("b", Status::Clean)),
        );
        let merged = combine(&[a.clone(), b]).expect("merged");
        assert_eq!(merged.stacks.len(), 2);
        let err = combine(&[a.clone(), a]).expect_err("a twice");
        assert!(matches!(err, MergeError::Duplicate(_)), "{err:?}");
    }

    #[test]
    fn without_a_key_the_waiting_records_are_warned_of_and_left_waiting() {
        let mut merged =
            CombinedReport::of(vec![waiting("a"), ScanReport::test("b", Status::Clean)])
                .expect("combined");
        let notices = fold_pending(&mut merged, None).expect("no fold");
        assert_eq!(notices.len(), 1);
        assert!(notices[0].starts_with("driftlog: warning: 1 shard record(s) wait on pending refs"));
        assert!(merged
            .stacks
            .iter()
            .any(|stack| stack.audit_pending.is_some()));

        let mut clean =
            CombinedReport::of(vec![ScanReport::test("b", Status::Clean)]).expect("combined");
        assert!(fold_pending(&mut clean, None).expect("no fold").is_empty());
    }
}
