//! What every command prints the same way: messages on standard error, text on standard
//! output.

use crate::log_location::FormatArg;
use anyhow::Context;
use driftlog::run::pipeline::Line;
use std::io::Write;

/// A message for standard error, as every command words it.
pub fn eprint_line(line: Line<'_>) {
    eprint!("{line}");
}

/// Warnings for standard error, each as every command words one.
pub fn eprint_warnings(warnings: &[String]) {
    warnings.iter().for_each(|w| eprint_line(Line::Warning(w)));
}

/// Lines for standard error, a newline after each.
pub fn eprint_lines(lines: &[String]) {
    lines.iter().for_each(|line| eprintln!("{line}"));
}

/// Writes `text` to standard output and flushes it.
pub fn stdout(text: &str) -> std::io::Result<()> {
    let mut out = std::io::stdout().lock();
    out.write_all(text.as_bytes()).and_then(|()| out.flush())
}

/// Writes `text` to standard output; a reader that stopped early (`| head`) is no error.
pub fn write_stdout(text: &str) -> anyhow::Result<()> {
    match stdout(text) {
        Err(err) if err.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        result => result.context("writing to standard output"),
    }
}

/// Writes `value` as pretty JSON, or `text()`, to standard output as `format` asks.
pub fn write_format<T: serde::Serialize>(
    format: FormatArg,
    value: &T,
    text: impl FnOnce() -> String,
) -> anyhow::Result<()> {
    write_stdout(&match format {
        FormatArg::Json => serde_json::to_string_pretty(value)? + "\n",
        FormatArg::Text => text(),
    })
}
