//! The render stage: the run's report on standard output and in the `--output` file, each as
//! early as it can be, and what writing them cost when it failed.
//!
//! The terminal report and the file are written before recording, so that nothing later (a
//! remote that never answers, a signal) keeps the report from the user; JSON and markdown on
//! standard output wait for the record, as one document each carrying the record's place.
//! After recording the file is written again, now with the record's place.

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};

use crate::drift::combined::{CombinedReport, DuplicateStack};
use crate::drift::ScanReport;
use crate::github::Publication;
use crate::report::{self, Format};

use super::pipeline::{Observer, StageFailure};

/// How the command line asked the report to be shown.
#[derive(Debug, Clone)]
pub struct OutputSettings {
    pub format: Format,
    /// Colour the terminal report.
    pub color: bool,
    /// `--output`: also write the report there (its format by its extension).
    pub file: Option<PathBuf>,
    /// Standard output is a terminal: a failure shown in the terminal report is not repeated
    /// on standard error.
    pub stdout_is_terminal: bool,
}

impl OutputSettings {
    /// For this process's standard output: `color` forced on or off, else only on a terminal
    /// and unless NO_COLOR is set (and not empty).
    pub fn for_stdout(format: Format, color: Option<bool>, file: Option<PathBuf>) -> Self {
        let stdout_is_terminal = std::io::stdout().is_terminal();
        let color = color.unwrap_or_else(|| {
            stdout_is_terminal && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
        });
        OutputSettings {
            format,
            color,
            file,
            stdout_is_terminal,
        }
    }
}

/// The run's report as one document: one stack's, or several stacks' combined.
pub enum Document {
    Single(Box<ScanReport>),
    Combined(CombinedReport),
}

impl Document {
    /// One stack's report when `single`, else all of them combined.
    pub fn of(single: bool, mut reports: Vec<ScanReport>) -> Result<Document, DuplicateStack> {
        match (single, reports.len()) {
            (true, 1) => Ok(Document::Single(Box::new(reports.remove(0)))),
            _ => CombinedReport::of(reports).map(Document::Combined),
        }
    }

    pub fn render(&self, format: Format, color: bool) -> String {
        match self {
            Document::Single(report) => report::render(report, format, color),
            Document::Combined(combined) => report::render_combined(combined, format, color),
        }
    }

    pub fn publication(&self) -> Publication<'_> {
        match self {
            Document::Single(report) => Publication::Single(report),
            Document::Combined(combined) => Publication::Combined(combined),
        }
    }
}

/// Where the report goes, and what has been written so far.
pub struct Output<'a> {
    settings: &'a OutputSettings,
    /// The report will be rewritten after recording (it then carries the record's place).
    recording: bool,
    stdout_done: bool,
    /// The `--output` file holds the report (it was written without error).
    file_written: bool,
    pub failures: Vec<StageFailure>,
}

impl<'a> Output<'a> {
    pub fn new(settings: &'a OutputSettings, recording: bool) -> Self {
        Output {
            settings,
            recording,
            stdout_done: false,
            file_written: false,
            failures: Vec::new(),
        }
    }

    /// Before recording: the terminal report, and the `--output` file.
    pub fn early(&mut self, document: &Document, observer: &dyn Observer) {
        if self.settings.format == Format::Terminal {
            self.stdout_done = true;
            let text = document.render(Format::Terminal, self.settings.color);
            self.print(&text, observer);
        }
        self.write_file(document);
    }

    /// After recording: standard output if it waited, else the explanations recording made
    /// possible; the `--output` file again.
    pub fn late(&mut self, document: &Document, observer: &dyn Observer) {
        let text = if self.stdout_done {
            history(&document.publication().stacks())
        } else {
            document.render(self.settings.format, self.settings.color)
        };
        self.print(&text, observer);
        if self.file_written && self.recording {
            self.write_file(document);
        }
    }

    /// The `--output` file when it holds the JSON report.
    pub fn json_file(&self) -> Option<&Path> {
        self.settings.file.as_deref().filter(|path| {
            self.file_written && report::format_for_file(path, self.settings.format) == Format::Json
        })
    }

    fn print(&mut self, text: &str, observer: &dyn Observer) {
        match observer.stdout(text) {
            // A reader that stopped early (`| head`) must not turn drift into success.
            Err(err) if err.kind() == std::io::ErrorKind::BrokenPipe => {}
            Err(err) => self.failures.push(StageFailure::Stdout(err)),
            Ok(()) => {}
        }
    }

    fn write_file(&mut self, document: &Document) {
        let Some(path) = self.settings.file.as_deref() else {
            return;
        };
        let format = report::format_for_file(path, self.settings.format);
        match write_replacing(path, &document.render(format, false)) {
            Ok(()) => self.file_written = true,
            Err(source) => {
                self.file_written = false;
                self.failures.push(StageFailure::OutputFile {
                    path: path.to_owned(),
                    source,
                });
            }
        }
    }
}

/// Writes `path` whole or not at all: a run stopped while rewriting it leaves the earlier
/// report in place.
fn write_replacing(path: &Path, text: &str) -> std::io::Result<()> {
    let dir = match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent,
        _ => Path::new("."),
    };
    if path.is_dir() {
        return Err(std::io::Error::new(
            std::io::ErrorKind::IsADirectory,
            "it is a directory",
        ));
    }
    let mut file = tempfile::NamedTempFile::new_in(dir)?;
    file.write_all(text.as_bytes())?;
    file.persist(path).map(drop).map_err(|err| err.error)
}

/// The explanation lines of the terminal report, for a report printed before they existed.
fn history(reports: &[&ScanReport]) -> String {
    let mut text = String::new();
    for report in reports {
        let current = report.audit.as_ref().map(|a| a.seq);
        for explanation in &report.explanations {
            let line = report::explanation::one_line(explanation, current);
            text.push_str(&format!(
                "  {}\n      history: {line}\n",
                explanation.address
            ));
        }
    }
    if text.is_empty() {
        return text;
    }
    format!("\nFrom the audit log:\n{text}")
}
