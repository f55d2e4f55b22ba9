//! Why a terraform command failed, and terraform's own text behind a failure: described,
//! hashed and kept for the terminal, never quoted in reports or records.

use std::io;
use std::time::Duration;

use crate::drift::{Diagnostic, FailureOutput, Severity};

use super::process::{self, StderrTail};
use super::show::MalformedShow;
use super::{sha256_hex, stream};

#[derive(Debug, thiserror::Error)]
pub enum TerraformError {
    #[error(
        "terraform binary `{bin}` was not found. Install Terraform, or point driftlog at \
         another binary with --terraform-bin PATH or DRIFTLOG_TERRAFORM_BIN (for example `tofu`)"
    )]
    NotFound { bin: String },
    #[error("could not start `{bin}` to {purpose}: {source}")]
    Spawn {
        bin: String,
        purpose: &'static str,
        source: io::Error,
    },
    #[error(
        "{purpose}: line {} of terraform's output {problem} ({}). Check that `{bin}` is \
         terraform or tofu and that TF_CLI_ARGS does not add flags that change its output",
        raw.line.unwrap_or_default(),
        raw.describe()
    )]
    NotJson {
        bin: String,
        purpose: &'static str,
        /// What is wrong with the line.
        problem: stream::LineError,
        raw: Box<RawText>,
    },
    #[error(
        "{purpose}: line {line} of terraform's output is longer than driftlog reads \
         ({} MiB, MAX_STREAM_LINE_BYTES); terraform's own messages are far shorter, so check \
         that `{bin}` is terraform or tofu",
        process::MAX_STREAM_LINE_BYTES >> 20
    )]
    LineTooLong {
        bin: String,
        purpose: &'static str,
        line: usize,
    },
    #[error(
        "{purpose}: terraform printed nothing driftlog understands ({lines} line(s) of JSON, \
         none of them the `version` message terraform and tofu always start with), so \
         driftlog cannot tell whether the stack drifted. Check that `{bin}` is terraform or \
         tofu, and that no wrapper swallows its output"
    )]
    NothingUnderstood {
        bin: String,
        purpose: &'static str,
        lines: usize,
    },
    #[error(
        "{purpose}: terraform wrote more than {} MiB ({limit_name}), more than driftlog reads",
        limit >> 20
    )]
    TooLarge {
        purpose: &'static str,
        limit: usize,
        limit_name: &'static str,
    },
    #[error(
        "{purpose} did not finish within {}: driftlog asked terraform to stop (SIGINT), and \
         ended it if it did not. Find what it waits for (a state lock, a provider that does \
         not answer), or allow more time with --terraform-timeout",
        humantime::format_duration(*limit)
    )]
    TimedOut {
        purpose: &'static str,
        limit: Duration,
    },
    #[error("{purpose} failed ({status}){}", describe_failure(diagnostics, stderr))]
    Failed {
        purpose: &'static str,
        status: String,
        diagnostics: Vec<Diagnostic>,
        /// Terraform's stderr: described in the message, shown on the terminal only.
        stderr: Option<Box<RawText>>,
    },
    #[error(
        "workspace `{name}` does not exist in this stack (it has: {}); a missing workspace \
         would scan an empty state and look clean",
        available.join(", ")
    )]
    WorkspaceMissing {
        name: String,
        available: Vec<String>,
    },
    #[error("interrupted during {purpose}: terraform was asked to stop gracefully")]
    Interrupted { purpose: &'static str },
    #[error("terraform show -json wrote a document driftlog cannot read: {0}")]
    MalformedShow(#[from] MalformedShow),
    #[error("reading terraform's output to {purpose}: {source}")]
    Io {
        purpose: &'static str,
        source: io::Error,
    },
}

impl TerraformError {
    /// A stable name for the failure, for the JSON report.
    pub fn kind(&self) -> &'static str {
        match self {
            TerraformError::NotFound { .. } => "terraform_not_found",
            TerraformError::Spawn { .. } => "terraform_not_runnable",
            TerraformError::NotJson { .. } => "output_not_json",
            TerraformError::LineTooLong { .. } | TerraformError::TooLarge { .. } => {
                "output_too_large"
            }
            TerraformError::NothingUnderstood { .. } => "output_not_understood",
            TerraformError::TimedOut { .. } => "timed_out",
            TerraformError::Failed { purpose, .. } if purpose.starts_with("show") => "show_failed",
            TerraformError::Failed { purpose, .. } if purpose.starts_with("init") => "init_failed",
            TerraformError::Failed { .. } => "plan_failed",
            TerraformError::MalformedShow(_) => "show_malformed",
            TerraformError::WorkspaceMissing { .. } => "workspace_missing",
            TerraformError::Interrupted { .. } => "interrupted",
            TerraformError::Io { .. } => "io",
        }
    }

    /// The failure in one line or a few: the command's purpose and terraform's own error
    /// diagnostics. Like the whole message, it never quotes terraform's raw output.
    /// Nothing of terraform's raw text is shown with it, and it says so.
    pub fn brief(&self) -> String {
        match self {
            TerraformError::Failed {
                purpose,
                status,
                diagnostics,
                stderr,
            } if !diagnostics.iter().any(|d| d.severity == Severity::Error) => match stderr {
                Some(raw) => format!(
                    "{purpose} failed ({status}); terraform gave no error diagnostic, and wrote \
                     {} bytes to its standard error (not kept)",
                    raw.bytes
                ),
                None => format!(
                    "{purpose} failed ({status}); terraform gave no error diagnostic and wrote \
                     nothing to its standard error"
                ),
            },
            TerraformError::Failed {
                purpose,
                status,
                diagnostics,
                ..
            } => format!(
                "{purpose} failed ({status}){}",
                describe_failure(diagnostics, &None)
            ),
            TerraformError::NotJson {
                purpose,
                problem,
                raw,
                ..
            } => format!(
                "{purpose}: line {} of terraform's output {problem} ({} bytes, not kept)",
                raw.line.unwrap_or_default(),
                raw.bytes
            ),
            other => other.to_string(),
        }
    }

    /// The diagnostics terraform gave for the failure, if any.
    pub fn diagnostics(&self) -> &[Diagnostic] {
        match self {
            TerraformError::Failed { diagnostics, .. } => diagnostics,
            _ => &[],
        }
    }

    /// Terraform's raw text behind the failure, for the terminal only.
    pub fn raw_text(&self) -> Option<&RawText> {
        match self {
            TerraformError::NotJson { raw, .. } => Some(raw),
            TerraformError::Failed { stderr, .. } => stderr.as_deref(),
            _ => None,
        }
    }

    /// Whether the scan must end here rather than carry on without what this command would
    /// have told: a stop was asked for, or terraform ran out of time.
    pub fn ends_the_scan(&self) -> bool {
        matches!(
            self,
            TerraformError::Interrupted { .. } | TerraformError::TimedOut { .. }
        )
    }
}

/// Text terraform printed: its stderr, or a line of stdout that was not JSON. It can hold
/// anything (`TF_LOG` lines, values from the configuration), so errors, reports and
/// records describe it and hash it, and only the terminal shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawText {
    /// `stderr` or `stdout`.
    pub stream: &'static str,
    /// The line of stdout.
    pub line: Option<usize>,
    /// Of all terraform wrote there.
    pub bytes: u64,
    pub lines: u64,
    /// What the terminal shows: the end of stderr, the start of a line.
    pub shown: String,
}

impl RawText {
    pub(super) fn of_stderr(tail: StderrTail) -> Option<Box<RawText>> {
        (tail.bytes > 0).then(|| {
            Box::new(RawText {
                stream: "stderr",
                line: None,
                bytes: tail.bytes,
                lines: tail.lines,
                shown: tail.text,
            })
        })
    }

    pub(super) fn of_line(number: usize, line: &str) -> Box<RawText> {
        Box::new(RawText {
            stream: "stdout",
            line: Some(number),
            bytes: line.len() as u64,
            lines: 1,
            shown: line.chars().take(process::SHOWN_LINE_CHARS).collect(),
        })
    }

    /// SHA-256 of the text shown.
    pub fn shown_sha256(&self) -> String {
        sha256_hex(self.shown.as_bytes())
    }

    /// The description a report carries.
    pub fn output(&self) -> FailureOutput {
        FailureOutput {
            stream: self.stream.to_owned(),
            line: self.line.map(|line| line as u64),
            bytes: self.bytes,
            lines: self.lines,
            shown_bytes: self.shown.len() as u64,
            shown_sha256: self.shown_sha256(),
        }
    }

    /// How much there was and where it is shown, in words.
    fn describe(&self) -> String {
        let shown = if self.shown.len() as u64 == self.bytes {
            "shown".to_owned()
        } else if self.stream == "stderr" {
            format!("the last {} bytes shown", self.shown.len())
        } else {
            format!("its first {} bytes shown", self.shown.len())
        };
        let lines = match self.stream {
            "stderr" => format!("{} line(s), ", self.lines),
            _ => String::new(),
        };
        format!(
            "{lines}{} bytes; {shown} on driftlog's standard error, SHA-256 {}",
            self.bytes,
            self.shown_sha256()
        )
    }
}

pub(super) fn describe_failure(
    diagnostics: &[Diagnostic],
    stderr: &Option<Box<RawText>>,
) -> String {
    let errors: Vec<String> = diagnostics
        .iter()
        .filter(|d| d.severity == Severity::Error)
        .map(|d| format!("\n  {}", d.to_string().replace('\n', "\n  ")))
        .collect();
    if !errors.is_empty() {
        return format!(":{}", errors.concat());
    }
    match stderr {
        Some(raw) => format!(
            "; terraform gave no error diagnostic, and wrote to its standard error ({})",
            raw.describe()
        ),
        None => "; terraform gave no error diagnostic and wrote nothing to its standard error"
            .to_owned(),
    }
}
