//! What every command prints the same way: messages on standard error, text on standard
//! output.

use std::io::Write;

use anyhow::Context;
use driftlog::run::pipeline::Line;

/// A message for standard error, as every command words it.
pub fn eprint_line(line: Line<'_>) {
    eprint!("{line}");
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
