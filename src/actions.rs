//! What driftlog writes for the GitHub Actions runner itself: the job summary, step outputs
//! and workflow-command annotations.
//!
//! Everything here talks to the runner through files and strings, never the REST API: the
//! runner picks up the files named by `GITHUB_STEP_SUMMARY` and `GITHUB_OUTPUT` after the step,
//! and the caller prints [`Annotation`]s to stdout (the library itself never prints).
//! Annotations carry attribute paths only, never values, so no secret can reach them.

use std::collections::HashMap;
use std::fmt::{self, Write as _};
use std::fs::{File, OpenOptions};
use std::io::{self, Read as _, Seek as _, SeekFrom, Write as _};
use std::path::{Path, PathBuf};

use ring::rand::{SecureRandom as _, SystemRandom};

use crate::drift::{Action, DriftedResource, ScanReport, Status};
use crate::report::{plural, shorten};

/// The runner's files, from `GITHUB_STEP_SUMMARY` and `GITHUB_OUTPUT`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RunnerFiles {
    pub step_summary: Option<PathBuf>,
    pub output: Option<PathBuf>,
}

impl RunnerFiles {
    /// Reads the file names from `env`; an empty value counts as unset.
    pub fn from_env(env: &HashMap<String, String>) -> Self {
        let var = |name: &str| env.get(name).filter(|v| !v.is_empty()).map(PathBuf::from);
        RunnerFiles {
            step_summary: var("GITHUB_STEP_SUMMARY"),
            output: var("GITHUB_OUTPUT"),
        }
    }

    /// Reads the file names from this process's environment.
    pub fn detect() -> Self {
        // var_os, not vars(): a path need not be UTF-8, and vars() panics on one that is not.
        let var = |name: &str| {
            std::env::var_os(name)
                .filter(|v| !v.is_empty())
                .map(PathBuf::from)
        };
        RunnerFiles {
            step_summary: var("GITHUB_STEP_SUMMARY"),
            output: var("GITHUB_OUTPUT"),
        }
    }
}

/// A runner file could not be written.
#[derive(Debug, thiserror::Error)]
pub enum RunnerFileError {
    #[error("{doing} {}: {source}", path.display())]
    Io {
        path: PathBuf,
        /// What driftlog was doing, e.g. "appending to the job summary file".
        doing: &'static str,
        source: io::Error,
    },
    #[error(
        "cannot write step output {name:?} to {}: a name must be non-empty and use only letters, \
         digits, '_' and '-'",
        path.display()
    )]
    InvalidOutputName { path: PathBuf, name: String },
    #[error(
        "cannot write step outputs to {}: the system random generator failed while choosing a \
         delimiter for a multi-line value",
        path.display()
    )]
    NoRandomness { path: PathBuf },
}

impl RunnerFileError {
    /// The file that could not be written.
    pub fn path(&self) -> &Path {
        match self {
            RunnerFileError::Io { path, .. }
            | RunnerFileError::InvalidOutputName { path, .. }
            | RunnerFileError::NoRandomness { path } => path,
        }
    }
}

/// GitHub refuses a step's summary larger than this (bytes).
pub const STEP_SUMMARY_MAX_BYTES: u64 = 1024 * 1024;

/// Appended instead of a summary that would not fit, so a reader knows something is missing.
const SUMMARY_CUT_NOTE: &str = "> **driftlog:** a report was left out of this job summary here: \
     adding it would have exceeded GitHub's 1 MiB limit on a step's summary.\n";

/// Appends `markdown` to the job summary file at `path`, creating it if missing. A blank line
/// separates it from what the file already holds, so several stacks' summaries stay apart.
/// When the file would exceed [`STEP_SUMMARY_MAX_BYTES`], a short note saying a report was left
/// out is appended instead (or nothing, if even the note would not fit).
pub fn append_step_summary(path: &Path, markdown: &str) -> Result<(), RunnerFileError> {
    if markdown.is_empty() {
        return Ok(());
    }
    let io_error = |doing| {
        move |source| RunnerFileError::Io {
            path: path.to_owned(),
            doing,
            source,
        }
    };
    let mut file = open_for_append(path).map_err(io_error("opening the job summary file"))?;
    let (len, tail) = len_and_tail(&mut file).map_err(io_error("reading the job summary file"))?;
    let separator = if len == 0 || tail.ends_with(b"\n\n") {
        ""
    } else if tail.ends_with(b"\n") {
        "\n"
    } else {
        "\n\n"
    };
    let mut text = String::with_capacity(separator.len() + markdown.len() + 1);
    text.push_str(separator);
    text.push_str(markdown);
    if !markdown.ends_with('\n') {
        text.push('\n');
    }
    if len + text.len() as u64 > STEP_SUMMARY_MAX_BYTES {
        text = format!("{separator}{SUMMARY_CUT_NOTE}");
        if len + text.len() as u64 > STEP_SUMMARY_MAX_BYTES {
            // Even the note would make GitHub drop the whole summary; keep what is there.
            return Ok(());
        }
    }
    file.write_all(text.as_bytes())
        .map_err(io_error("appending to the job summary file"))
}

/// Appends `outputs` to the step output file at `path` (`GITHUB_OUTPUT`), creating it if
/// missing: `name=value`, or `name<<DELIMITER` … `DELIMITER` for values spanning lines.
/// Every name is checked before anything is written, so a bad name writes nothing.
pub fn write_outputs(path: &Path, outputs: &[(&str, String)]) -> Result<(), RunnerFileError> {
    if let Some((name, _)) = outputs.iter().find(|(name, _)| !is_output_name(name)) {
        return Err(RunnerFileError::InvalidOutputName {
            path: path.to_owned(),
            name: (*name).to_owned(),
        });
    }
    if outputs.is_empty() {
        return Ok(());
    }
    let random = SystemRandom::new();
    let mut text = String::new();
    for (name, value) in outputs {
        // The runner reads the file line by line, and a lone '\r' ends a line for it too.
        if value.contains(['\n', '\r']) {
            let delimiter =
                choose_delimiter(value, || random_delimiter(&random)).ok_or_else(|| {
                    RunnerFileError::NoRandomness {
                        path: path.to_owned(),
                    }
                })?;
            let _ = write!(text, "{name}<<{delimiter}\n{value}\n{delimiter}\n");
        } else {
            let _ = writeln!(text, "{name}={value}");
        }
    }
    let io_error = |doing| {
        move |source| RunnerFileError::Io {
            path: path.to_owned(),
            doing,
            source,
        }
    };
    let mut file = open_for_append(path).map_err(io_error("opening the step output file"))?;
    let (len, tail) = len_and_tail(&mut file).map_err(io_error("reading the step output file"))?;
    if len > 0 && !tail.ends_with(b"\n") {
        // Whoever wrote last left a line open; ours must not be glued onto it.
        text.insert(0, '\n');
    }
    file.write_all(text.as_bytes())
        .map_err(io_error("appending to the step output file"))
}

fn is_output_name(name: &str) -> bool {
    !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

/// A heredoc delimiter from `candidates` that does not occur in `value` (a value containing
/// its delimiter would end early and leak the rest into the file as more outputs).
fn choose_delimiter(value: &str, mut candidates: impl FnMut() -> Option<String>) -> Option<String> {
    loop {
        let delimiter = candidates()?;
        if !value.contains(&delimiter) {
            return Some(delimiter);
        }
    }
}

fn random_delimiter(random: &SystemRandom) -> Option<String> {
    let mut bytes = [0u8; 16];
    random.fill(&mut bytes).ok()?;
    let mut delimiter = String::from("ghadelimiter_");
    for byte in bytes {
        let _ = write!(delimiter, "{byte:02x}");
    }
    Some(delimiter)
}

fn open_for_append(path: &Path) -> io::Result<File> {
    OpenOptions::new()
        .read(true)
        .append(true)
        .create(true)
        .open(path)
}

/// The file's length and its last (up to) two bytes, to decide on a separator.
fn len_and_tail(file: &mut File) -> io::Result<(u64, Vec<u8>)> {
    let len = file.metadata()?.len();
    let take = len.min(2);
    let mut tail = vec![0u8; take as usize];
    if take > 0 {
        file.seek(SeekFrom::Start(len - take))?;
        file.read_exact(&mut tail)?;
    }
    Ok((len, tail))
}

/// An annotation's severity.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    Notice,
    Warning,
    Error,
}

impl Level {
    /// The workflow command's name.
    pub fn as_str(self) -> &'static str {
        match self {
            Level::Notice => "notice",
            Level::Warning => "warning",
            Level::Error => "error",
        }
    }
}

/// A workflow-command annotation; its [`Display`](fmt::Display) is the command line to print,
/// e.g. `::warning file=infra/main.tf,line=12,title=Drift%3A aws_s3_bucket.logs::updated …`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Annotation {
    pub level: Level,
    /// Repository-relative path; without it Actions shows the annotation on the run.
    pub file: Option<String>,
    /// 1-based.
    pub line: Option<u32>,
    pub title: Option<String>,
    pub message: String,
}

impl fmt::Display for Annotation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let line = self.line.map(|line| line.to_string());
        let properties = [
            ("file", self.file.as_deref()),
            ("line", line.as_deref()),
            ("title", self.title.as_deref()),
        ];
        write!(f, "::{}", self.level.as_str())?;
        let mut first = true;
        for (key, value) in properties {
            let Some(value) = value else { continue };
            let separator = if first { ' ' } else { ',' };
            first = false;
            write!(f, "{separator}{key}={}", escape_property(value))?;
        }
        write!(f, "::{}", escape_data(&self.message))
    }
}

/// Escapes a command's message the way the runner's toolkit does (the runner unescapes it).
fn escape_data(text: &str) -> String {
    text.replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

/// Escapes a property value: `:` and `,` would otherwise end the value early.
fn escape_property(text: &str) -> String {
    escape_data(text).replace(':', "%3A").replace(',', "%2C")
}

/// Actions shows at most 10 warning annotations per step.
pub const MAX_WARNINGS_PER_STEP: usize = 10;

/// Attribute paths named in a per-resource message before "+N more".
const PATHS_PER_MESSAGE: usize = 5;
/// Longest path shown; `tags["…"]` keys can be arbitrarily long.
const MAX_PATH_CHARS: usize = 80;
/// Longest failure message; Actions shows annotations in full, and a terraform error can be
/// pages long (the job summary has the rest).
const MAX_FAILURE_CHARS: usize = 4000;

/// The annotations for `report`: one warning per drifted resource, placed where `locate`
/// finds its declaration (repository-relative file, 1-based line), at most `limit` in all;
/// with more resources, the first `limit - 1` and one warning counting the rest. A failed
/// scan gives a single error; a clean one gives none. Messages name attribute paths, never
/// values.
pub fn drift_annotations(
    report: &ScanReport,
    locate: &dyn Fn(&DriftedResource) -> Option<(String, u32)>,
    limit: usize,
) -> Vec<Annotation> {
    let stack = stack_label(report);
    match report.status {
        Status::Clean => Vec::new(),
        Status::Failed => {
            let message = match &report.failure {
                Some(failure) => shorten(&failure.message, MAX_FAILURE_CHARS),
                None => "the scan failed without saying why".to_owned(),
            };
            vec![Annotation {
                level: Level::Error,
                file: None,
                line: None,
                title: Some(format!("driftlog: scan failed for {stack}")),
                message,
            }]
        }
        Status::Drifted => {
            let resources: Vec<&DriftedResource> =
                report.resources.iter().filter(|r| r.counts()).collect();
            if limit == 0 || resources.is_empty() {
                return Vec::new();
            }
            let shown = if resources.len() > limit {
                limit - 1
            } else {
                resources.len()
            };
            let mut annotations: Vec<Annotation> = resources[..shown]
                .iter()
                .map(|resource| {
                    resource_annotation(resource, &stack, crate::report::tool_name(report), locate)
                })
                .collect();
            let rest = resources.len() - shown;
            if rest > 0 {
                let counted = plural(rest, "more drifted resource");
                let message = if shown == 0 {
                    format!(
                        "{} in stack {stack}: see the job summary",
                        plural(rest, "drifted resource")
                    )
                } else {
                    format!("…and {counted} in stack {stack}: see the job summary")
                };
                annotations.push(Annotation {
                    level: Level::Warning,
                    file: None,
                    line: None,
                    title: Some(format!("Drift: {}", plural(rest, "more resource"))),
                    message,
                });
            }
            annotations
        }
    }
}

fn resource_annotation(
    resource: &DriftedResource,
    stack: &str,
    tool: &str,
    locate: &dyn Fn(&DriftedResource) -> Option<(String, u32)>,
) -> Annotation {
    let (file, line) = match locate(resource) {
        // Line 0 is not a line; the file alone still places the annotation.
        Some((file, line)) => (Some(file), (line > 0).then_some(line)),
        None => (None, None),
    };
    let mut message = format!(
        "{} outside {tool} in stack {stack}",
        resource.action.describe()
    );
    if resource.action == Action::Delete {
        // Every attribute went with the resource; listing them says nothing more.
    } else if resource.counted_changes().next().is_none() {
        message.push_str(" (no attribute-level difference)");
    } else {
        let changes: Vec<_> = resource.counted_changes().collect();
        // Paths only: a value, even a "known" one, has no place in an annotation.
        let mut paths: Vec<String> = changes
            .iter()
            .take(PATHS_PER_MESSAGE)
            .map(|change| {
                let path = shorten(&change.path, MAX_PATH_CHARS);
                if change.is_sensitive() {
                    format!("{path} (sensitive)")
                } else {
                    path
                }
            })
            .collect();
        if changes.len() > PATHS_PER_MESSAGE {
            paths.push(format!("+{} more", changes.len() - PATHS_PER_MESSAGE));
        }
        let _ = write!(message, "; changed: {}", paths.join(", "));
    }
    Annotation {
        level: Level::Warning,
        file,
        line,
        title: Some(format!("Drift: {}", resource.address)),
        message,
    }
}

/// `infra/prod`, or `infra/prod (workspace staging)` outside the default workspace.
fn stack_label(report: &ScanReport) -> String {
    let mut label = report.stack.dir.clone();
    if report.stack.workspace != "default" {
        let _ = write!(label, " (workspace {})", report.stack.workspace);
    }
    label
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::drift::{AttrValue, AttributeChange, Failure, Stack, Summary};
    use serde_json::json;

    fn annotation(message: &str) -> Annotation {
        Annotation {
            level: Level::Warning,
            file: None,
            line: None,
            title: None,
            message: message.to_owned(),
        }
    }

    #[test]
    fn message_escapes_percent_and_newlines_only() {
        let a = annotation("100% done\r\nnext: a,b");
        assert_eq!(a.to_string(), "::warning::100%25 done%0D%0Anext: a,b");
    }

    #[test]
    fn properties_escape_colons_and_commas_too() {
        let a = Annotation {
            level: Level::Error,
            file: Some("infra/a,b:c.tf".into()),
            line: Some(12),
            title: Some("Drift: 50%\nx".into()),
            message: "m".into(),
        };
        assert_eq!(
            a.to_string(),
            "::error file=infra/a%2Cb%3Ac.tf,line=12,title=Drift%3A 50%25%0Ax::m"
        );
    }

    #[test]
    fn absent_properties_are_omitted_without_stray_commas() {
        let mut a = annotation("m");
        a.level = Level::Notice;
        a.title = Some("t".into());
        assert_eq!(a.to_string(), "::notice title=t::m");
        a.file = Some("main.tf".into());
        assert_eq!(a.to_string(), "::notice file=main.tf,title=t::m");
    }

    #[test]
    fn runner_files_treat_empty_values_as_unset() {
        let env: HashMap<String, String> = [
            ("GITHUB_STEP_SUMMARY".to_owned(), "/tmp/summary".to_owned()),
            ("GITHUB_OUTPUT".to_owned(), String::new()),
        ]
        .into();
        let files = RunnerFiles::from_env(&env);
        assert_eq!(files.step_summary, Some(PathBuf::from("/tmp/summary")));
        assert_eq!(files.output, None);
    }

    fn read(path: &Path) -> String {
        std::fs::read_to_string(path).expect("read back")
    }

    #[test]
    fn outputs_use_name_value_and_heredocs() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("output");
        write_outputs(
            &path,
            &[
                ("status", "drifted".to_owned()),
                ("summary", "line one\nline two".to_owned()),
            ],
        )
        .expect("write outputs");
        let text = read(&path);
        let mut lines = text.lines();
        assert_eq!(lines.next(), Some("status=drifted"));
        let opening = lines.next().expect("heredoc line");
        let delimiter = opening
            .strip_prefix("summary<<ghadelimiter_")
            .map(|hex| format!("ghadelimiter_{hex}"))
            .expect("heredoc form");
        assert_eq!(delimiter.len(), "ghadelimiter_".len() + 32);
        assert_eq!(lines.next(), Some("line one"));
        assert_eq!(lines.next(), Some("line two"));
        assert_eq!(lines.next(), Some(delimiter.as_str()));
        assert_eq!(lines.next(), None);
        assert!(text.ends_with('\n'));
    }

    #[test]
    fn delimiter_never_occurs_in_the_value() {
        let value = "a\nghadelimiter_00\nb";
        let mut candidates = ["ghadelimiter_00", "ghadelimiter_01"].into_iter();
        let chosen = choose_delimiter(value, || candidates.next().map(str::to_owned));
        assert_eq!(chosen.as_deref(), Some("ghadelimiter_01"));

        let random = SystemRandom::new();
        let chosen = choose_delimiter(value, || random_delimiter(&random)).expect("delimiter");
        assert!(!value.contains(&chosen));
    }

    #[test]
    fn invalid_output_names_are_rejected_before_writing() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("output");
        for bad in ["", "a=b", "a b", "x<<y", "é"] {
            let error = write_outputs(&path, &[("ok", "1".into()), (bad, "2".into())])
                .expect_err("bad name");
            assert!(
                matches!(&error, RunnerFileError::InvalidOutputName { name, .. } if name == bad),
                "{error}"
            );
            assert_eq!(error.path(), path);
        }
        assert!(!path.exists(), "nothing written");
        write_outputs(&path, &[("Drift-count_2", "3".into())]).expect("valid name");
    }

    #[test]
    fn outputs_append_to_an_existing_file() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("output");
        std::fs::write(&path, "earlier=1").expect("seed");
        write_outputs(&path, &[("status", "clean".into())]).expect("first");
        write_outputs(&path, &[("count", "0".into())]).expect("second");
        assert_eq!(read(&path), "earlier=1\nstatus=clean\ncount=0\n");
    }

    #[test]
    fn step_summaries_append_with_a_blank_line_between() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("summary.md");
        append_step_summary(&path, "### Stack a").expect("first");
        append_step_summary(&path, "### Stack b\n").expect("second");
        assert_eq!(read(&path), "### Stack a\n\n### Stack b\n");

        std::fs::write(&path, "someone else's text").expect("seed");
        append_step_summary(&path, "### Stack c\n").expect("third");
        assert_eq!(read(&path), "someone else's text\n\n### Stack c\n");
    }

    #[test]
    fn a_summary_past_one_mib_is_replaced_by_a_note() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("summary.md");
        let big = format!("{}\n", "x".repeat(700 * 1024));
        append_step_summary(&path, &big).expect("first fits");
        append_step_summary(&path, &big).expect("second is cut");
        let text = read(&path);
        assert_eq!(text, format!("{big}\n{SUMMARY_CUT_NOTE}"));
        assert!(text.contains("1 MiB"));

        // Exactly at the limit still fits; one byte more does not.
        let exact = dir.path().join("exact.md");
        let fill = "y".repeat(STEP_SUMMARY_MAX_BYTES as usize - 1);
        append_step_summary(&exact, &fill).expect("fits exactly");
        assert_eq!(read(&exact).len() as u64, STEP_SUMMARY_MAX_BYTES);
        append_step_summary(&exact, "more").expect("no room even for the note");
        assert_eq!(read(&exact).len() as u64, STEP_SUMMARY_MAX_BYTES);
    }

    fn resource(i: usize, changes: Vec<AttributeChange>) -> DriftedResource {
        DriftedResource {
            previous_address: None,
            class: Default::default(),
            address: format!("aws_security_group.web{i}"),
            module_address: None,
            mode: "managed".into(),
            resource_type: "aws_security_group".into(),
            name: format!("web{i}"),
            index: None,
            provider: "registry.terraform.io/hashicorp/aws".into(),
            action: Action::Update,
            changes,
            identifiers: Default::default(),
            ignored: None,
        }
    }

    fn change(path: &str, before: AttrValue, after: AttrValue) -> AttributeChange {
        AttributeChange {
            class: Default::default(),
            path: path.into(),
            before,
            after,
            ignored: None,
        }
    }

    fn drifted(resources: Vec<DriftedResource>, workspace: &str) -> ScanReport {
        let mut report = ScanReport::new(
            Stack {
                dir: "infra/prod".into(),
                workspace: workspace.into(),
                cloudformation: None,
            },
            "2026-01-01T00:00:00Z".into(),
        );
        report.status = Status::Drifted;
        report.summary = Summary::of(resources.len(), &resources, &[], &[]);
        report.resources = resources;
        report
    }

    fn at_line(resource: &DriftedResource) -> Option<(String, u32)> {
        let n: u32 = resource.name.trim_start_matches("web").parse().ok()?;
        Some(("infra/prod/main.tf".into(), 10 * n + 1))
    }

    #[test]
    fn three_resources_get_one_located_warning_each() {
        let known = |v| AttrValue::Known(json!(v));
        let mut resources: Vec<DriftedResource> = (0..3)
            .map(|i| {
                let changes = (0..7)
                    .map(|k| change(&format!("tags.k{k}"), known("a"), known("b")))
                    .collect();
                resource(i, changes)
            })
            .collect();
        resources[1].action = Action::Delete;
        resources[2].changes.truncate(1);
        let report = drifted(resources, "staging");
        let annotations = drift_annotations(&report, &at_line, MAX_WARNINGS_PER_STEP);
        assert_eq!(annotations.len(), 3);
        assert!(annotations.iter().all(|a| a.level == Level::Warning));
        assert_eq!(annotations[0].file.as_deref(), Some("infra/prod/main.tf"));
        assert_eq!(annotations[1].line, Some(11));
        assert_eq!(
            annotations[0].title.as_deref(),
            Some("Drift: aws_security_group.web0")
        );
        assert_eq!(
            annotations[0].message,
            "updated outside Terraform in stack infra/prod (workspace staging); changed: \
             tags.k0, tags.k1, tags.k2, tags.k3, tags.k4, +2 more"
        );
        assert_eq!(
            annotations[1].message,
            "deleted outside Terraform in stack infra/prod (workspace staging)"
        );
        assert!(annotations[2].message.ends_with("; changed: tags.k0"));
        assert!(annotations.iter().all(|a| !a.message.contains('\n')));
        assert!(annotations[0]
            .to_string()
            .starts_with("::warning file=infra/prod/main.tf,line=1,title=Drift%3A "));
    }

    #[test]
    fn twenty_five_resources_give_nine_and_a_summary() {
        let resources = (0..25).map(|i| resource(i, Vec::new())).collect();
        let report = drifted(resources, "default");
        let annotations = drift_annotations(&report, &at_line, MAX_WARNINGS_PER_STEP);
        let lines: Vec<String> = annotations.iter().map(ToString::to_string).collect();
        assert_eq!(lines.len(), 10);
        assert!(lines[..9].iter().all(|l| l.contains("file=")));
        let last = &annotations[9];
        assert_eq!(last.level, Level::Warning);
        assert_eq!(last.file, None);
        assert!(
            last.message.contains("16 more drifted resources"),
            "{}",
            last.message
        );
        assert!(last.message.contains("see the job summary"));
        assert!(!annotations[0].message.contains("workspace"));
    }

    #[test]
    fn a_failed_scan_gives_one_error() {
        let mut report = drifted(vec![resource(0, Vec::new())], "default");
        report.status = Status::Failed;
        report.failure = Some(Failure::new(
            "plan_failed",
            "terraform plan failed: no credentials",
        ));
        let annotations = drift_annotations(&report, &at_line, MAX_WARNINGS_PER_STEP);
        assert_eq!(
            annotations,
            vec![Annotation {
                level: Level::Error,
                file: None,
                line: None,
                title: Some("driftlog: scan failed for infra/prod".into()),
                message: "terraform plan failed: no credentials".into(),
            }]
        );
    }

    #[test]
    fn a_clean_scan_gives_none() {
        let mut report = drifted(Vec::new(), "default");
        report.status = Status::Clean;
        assert!(drift_annotations(&report, &at_line, MAX_WARNINGS_PER_STEP).is_empty());
    }

    #[test]
    fn sensitive_values_never_reach_an_annotation() {
        let secret = "hunter2-known-value";
        let changes = vec![
            change(
                "password",
                AttrValue::Sensitive,
                AttrValue::Known(json!(secret)),
            ),
            change(
                "description",
                AttrValue::Known(json!(secret)),
                AttrValue::Absent,
            ),
        ];
        let report = drifted(vec![resource(0, changes)], "default");
        let annotations = drift_annotations(&report, &|_| None, MAX_WARNINGS_PER_STEP);
        assert_eq!(annotations.len(), 1);
        let line = annotations[0].to_string();
        assert!(!line.contains(secret), "{line}");
        assert!(line.contains("password (sensitive)"), "{line}");
        assert!(line.contains("description"), "{line}");
        assert!(!line.contains("file="), "unlocated: {line}");
    }
}
