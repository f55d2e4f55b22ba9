//! The human report printed by default: compact, coloured when asked.

use std::fmt::Write as _;

use anstyle::{AnsiColor, Style};

use super::{display_value, human_duration, plural, tool_name, SetAside};
use crate::drift::{Action, AttrValue, Failure, ScanReport, Severity, Status};

struct Palette {
    enabled: bool,
}

impl Palette {
    fn paint(&self, style: Style, text: &str) -> String {
        if self.enabled {
            format!("{}{text}{}", style.render(), style.render_reset())
        } else {
            text.to_owned()
        }
    }
}

const BOLD: Style = Style::new().bold();
const RED: Style = AnsiColor::Red.on_default();
const GREEN: Style = AnsiColor::Green.on_default();
const YELLOW: Style = AnsiColor::Yellow.on_default();
const DIM: Style = Style::new().dimmed();

/// Terraform's own text behind a failure, framed, for the run's standard error only (no
/// report, record or comment carries it: it can hold anything). The frame names the
/// SHA-256 the report carries, of exactly the text between its two lines.
pub fn failure_output(failure: &Failure) -> Option<String> {
    let (shown, output) = (failure.shown.as_ref()?, failure.output.as_ref()?);
    let stream = match output.line {
        Some(line) => format!("{} line {line}", output.stream),
        None => output.stream.clone(),
    };
    let mut out = format!(
        "driftlog: terraform's {stream} follows (SHA-256 {} of the text up to the end line):\n",
        output.shown_sha256
    );
    out.push_str(shown);
    if !shown.ends_with('\n') {
        // Not part of the hashed text.
        out.push('\n');
    }
    let _ = writeln!(out, "driftlog: end of terraform's {stream}");
    Some(out)
}

/// What terraform said about resources, which reports only describe (see
/// [`crate::drift::Diagnostic::withheld`]), framed like [`failure_output`], for the run's
/// standard error only.
pub fn withheld_diagnostics(diagnostics: &[crate::drift::Diagnostic]) -> Option<String> {
    let mut out = String::new();
    for diagnostic in diagnostics {
        let Some(text) = &diagnostic.withheld else {
            continue;
        };
        let about = diagnostic.address.as_deref().unwrap_or("the run");
        let _ = writeln!(out, "driftlog: terraform's words about {about} follow:");
        out.push_str(text);
        if !text.ends_with('\n') {
            out.push('\n');
        }
        let _ = writeln!(out, "driftlog: end of terraform's words about {about}");
    }
    (!out.is_empty()).then_some(out)
}

/// Renders the report for a terminal or a CI log.
pub fn render(report: &ScanReport, color: bool) -> String {
    let palette = Palette { enabled: color };
    let mut out = String::new();
    let mut stack = report.stack.dir.clone();
    if report.stack.workspace != "default" {
        let _ = write!(stack, " (workspace {})", report.stack.workspace);
    }
    match report.status {
        Status::Clean => {
            let _ = writeln!(
                out,
                "{} {stack} ({} checked)",
                palette.paint(GREEN.bold(), "No drift in"),
                plural(report.summary.checked, "resource")
            );
            if report.summary.checked == 0 {
                let warning = super::markdown::NOTHING_CHECKED.trim_start_matches("⚠️ ");
                let _ = writeln!(out, "  {}", palette.paint(YELLOW, warning));
            }
        }
        Status::Drifted => {
            let _ = writeln!(
                out,
                "{} {stack}: {} changed outside {}",
                palette.paint(YELLOW.bold(), "Drift in"),
                plural(report.summary.drifted, "resource"),
                tool_name(report)
            );
        }
        Status::Failed => {
            let _ = writeln!(
                out,
                "{} {stack}",
                palette.paint(RED.bold(), "Scan failed for")
            );
            if let Some(failure) = &report.failure {
                let _ = writeln!(out, "  {}", failure.message.replace('\n', "\n  "));
            }
        }
    }
    for resource in report.resources.iter().filter(|r| r.counts()) {
        let (sign, style) = match resource.action {
            Action::Delete => ("-", RED),
            Action::Create => ("+", GREEN),
            _ => ("~", YELLOW),
        };
        let how = match &resource.previous_address {
            Some(previous) => format!("({}; moved from {previous})", resource.action.describe()),
            None => format!("({})", resource.action.describe()),
        };
        let _ = writeln!(
            out,
            "  {} {} {}",
            palette.paint(style, sign),
            palette.paint(BOLD, &resource.address),
            palette.paint(DIM, &how)
        );
        if let Some(explanation) = report
            .explanations
            .iter()
            .find(|e| e.address == resource.address)
        {
            let line =
                super::explanation::one_line(explanation, report.audit.as_ref().map(|a| a.seq));
            let _ = writeln!(
                out,
                "      {}",
                palette.paint(DIM, &format!("history: {line}"))
            );
        }
        if resource.action == Action::Delete {
            continue;
        }
        for change in resource.counted_changes() {
            let _ = write!(out, "      {}: ", change.path);
            if change.is_sensitive() {
                let _ = writeln!(out, "{}", palette.paint(DIM, "(sensitive value changed)"));
                continue;
            }
            let side = |value: &AttrValue, style| match value {
                AttrValue::Known(_) => palette.paint(style, &display_value(value)),
                _ => palette.paint(DIM, &display_value(value)),
            };
            let _ = writeln!(
                out,
                "{} -> {}",
                side(&change.before, RED),
                side(&change.after, GREEN)
            );
        }
    }
    let ignored = super::ignored_entries(report);
    let mut heading = None;
    for entry in &ignored {
        if heading != Some(entry.kind) {
            heading = Some(entry.kind);
            let text = format!("{} (recorded, not counted):", entry.kind.heading());
            let _ = writeln!(out, "  {}", palette.paint(DIM, &text));
        }
        let what = if entry.paths.is_empty() {
            "whole resource".to_owned()
        } else {
            entry.paths.join(", ")
        };
        let why = match entry.kind {
            SetAside::Configuration => format!("declared at {}", entry.rule.rule),
            SetAside::Unmanaged => entry.rule.reason.clone(),
            SetAside::Rule => format!("{} ({})", entry.rule.reason, entry.rule.rule),
        };
        let line = format!("{} {what}: {why}", entry.address);
        let _ = writeln!(out, "    {}", palette.paint(DIM, &line));
    }
    if !report.refactors.is_empty() {
        let _ = writeln!(
            out,
            "  {}",
            palette.paint(DIM, "Moved in code (not drift):")
        );
        for refactor in &report.refactors {
            let line = match &refactor.previous_address {
                Some(previous) => format!("{previous} -> {}", refactor.address),
                None => format!("{} ({})", refactor.address, refactor.action),
            };
            let _ = writeln!(out, "    {}", palette.paint(DIM, &line));
        }
    }
    if !report.not_checked.is_empty() {
        let _ = writeln!(
            out,
            "  {}",
            palette.paint(YELLOW, "Not checked for drift (neither drifted nor clean):")
        );
        for unchecked in &report.not_checked {
            let mut line = format!(
                "{} ({}): {}",
                unchecked.address, unchecked.resource_type, unchecked.status
            );
            if let Some(reason) = &unchecked.reason {
                line.push_str(&format!(" ({reason})"));
            }
            let _ = writeln!(out, "    {}", palette.paint(DIM, &line));
        }
    }
    if !report.output_changes.is_empty() {
        let names: Vec<&str> = report
            .output_changes
            .iter()
            .map(|o| o.name.as_str())
            .collect();
        let _ = writeln!(
            out,
            "  Output-only changes (not drift): {}",
            names.join(", ")
        );
    }
    for diagnostic in &report.diagnostics {
        let style = match diagnostic.severity {
            Severity::Error => RED,
            Severity::Warning => YELLOW,
        };
        if report.status != Status::Failed || diagnostic.severity == Severity::Warning {
            let text = diagnostic.to_string().replace('\n', "\n  ");
            let _ = writeln!(out, "  {}", palette.paint(style, &text));
        }
    }
    let mut facts = Vec::new();
    if let Some(tool) = &report.tool {
        facts.push(tool.to_string());
    }
    facts.push(format!("scanned in {}", human_duration(report.duration_ms)));
    let _ = writeln!(out, "{}", palette.paint(DIM, &facts.join(" · ")));
    out
}
