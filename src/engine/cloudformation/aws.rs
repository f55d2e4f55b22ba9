//! Running `aws cloudformation …` (the AWS CLI, v1 or v2): JSON output, no pager, the
//! credentials the environment provides (driftlog never reads them), driftlog's own secrets
//! dropped, each call in its own process group under a time limit, stdout bounded, and
//! throttling retried here with jittered backoff (the CLI's own retries are turned off, so
//! an interrupt or the limit never waits on them).

use crate::digest::sha256_hex;
use std::ffi::OsString;
use std::os::unix::process::CommandExt as _;
use std::process::{Command, Stdio};
use std::time::Duration;

use backon::{BackoffBuilder, ExponentialBuilder};

use crate::drift::FailureOutput;
use crate::interrupt;
use crate::terraform::process::{read_bounded, Running, StderrTail, STOP_GRACE};

/// Most a single call may print (a page of 100 drifts with their property documents, a
/// template of 1 MB as JSON); more is refused, never read on.
pub const MAX_AWS_OUTPUT_BYTES: usize = 64 * 1024 * 1024;

/// The calls the engine makes, by their API names (which are also the IAM actions).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Operation {
    DescribeStacks,
    GetTemplate,
    DetectStackDrift,
    DescribeStackDriftDetectionStatus,
    DescribeStackResourceDrifts,
    ListStackResources,
}

impl Operation {
    pub fn api_name(self) -> &'static str {
        match self {
            Operation::DescribeStacks => "DescribeStacks",
            Operation::GetTemplate => "GetTemplate",
            Operation::DetectStackDrift => "DetectStackDrift",
            Operation::DescribeStackDriftDetectionStatus => "DescribeStackDriftDetectionStatus",
            Operation::DescribeStackResourceDrifts => "DescribeStackResourceDrifts",
            Operation::ListStackResources => "ListStackResources",
        }
    }

    /// The CLI's subcommand: the API name in kebab case.
    pub fn cli_name(self) -> String {
        let mut name = String::new();
        for (i, c) in self.api_name().char_indices() {
            if c.is_ascii_uppercase() && i > 0 {
                name.push('-');
            }
            name.push(c.to_ascii_lowercase());
        }
        name
    }
}

/// How long calls may take and how throttling is retried.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AwsLimits {
    /// One call of the CLI.
    pub call: Duration,
    /// Tries of a throttled call, the first included.
    pub attempts: usize,
    pub min_backoff: Duration,
    pub max_backoff: Duration,
}

impl Default for AwsLimits {
    fn default() -> Self {
        AwsLimits {
            call: Duration::from_secs(120),
            attempts: 6,
            min_backoff: Duration::from_millis(250),
            max_backoff: Duration::from_secs(10),
        }
    }
}

/// What the CLI printed on stderr for a failed call: described and hashed for reports, the
/// text itself only for this run's terminal (it can hold anything a profile's
/// `credential_process` printed).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CliText {
    pub tail: StderrTail,
}

impl CliText {
    pub fn output(&self) -> FailureOutput {
        FailureOutput {
            stream: "stderr".to_owned(),
            line: None,
            bytes: self.tail.bytes,
            lines: self.tail.lines,
            shown_bytes: self.tail.text.len() as u64,
            shown_sha256: sha256_hex(self.tail.text.as_bytes()),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum AwsError {
    #[error(
        "the AWS CLI `{bin}` was not found: install it (`pip install awscli`, or AWS's \
         installer) or name it with --aws-bin"
    )]
    NotFound { bin: String },
    #[error("could not run the AWS CLI `{bin}`: {source}")]
    Spawn { bin: String, source: std::io::Error },
    #[error("`aws cloudformation {operation}` took longer than {limit} and was stopped")]
    TimedOut { operation: String, limit: String },
    #[error("interrupted while `aws cloudformation {operation}` ran")]
    Interrupted { operation: String },
    #[error(
        "AWS kept throttling `{operation}` (\"Rate exceeded\", {attempts} tries with backoff): \
         scan fewer stacks at a time (-j) or try again later"
    )]
    Throttled { operation: String, attempts: usize },
    #[error(
        "access denied: the credentials may not call {action}; allow it to the role or user \
         the scan runs as (driftlog needs cloudformation:DescribeStacks, GetTemplate, \
         DetectStackDrift, DescribeStackDriftDetectionStatus, DescribeStackResourceDrifts and \
         ListStackResources)"
    )]
    AccessDenied { action: String, text: CliText },
    #[error("the stack does not exist (in this account and region)")]
    StackNotFound { text: CliText },
    #[error(
        "the AWS CLI found no valid credentials: provide them as the environment does for \
         the CLI (aws-actions/configure-aws-credentials, AWS_PROFILE, `region`/`profile` in \
         the stack's configuration)"
    )]
    Credentials { text: CliText },
    #[error("the AWS CLI could not reach CloudFormation's endpoint (network, proxy or region)")]
    Unreachable { text: CliText },
    #[error("`aws cloudformation {operation}` failed{code} (exit status {status})")]
    Failed {
        operation: String,
        /// `" (CODE)"` when AWS named an error code.
        code: String,
        status: String,
        text: CliText,
    },
    #[error("`aws cloudformation {operation}` printed more than {limit} bytes")]
    TooLarge { operation: String, limit: usize },
    #[error(
        "`aws cloudformation {operation}` printed output driftlog cannot read ({what}): is \
         `aws` the AWS CLI?"
    )]
    BadOutput { operation: String, what: String },
}

impl AwsError {
    /// The report's failure kind.
    pub fn kind(&self) -> &'static str {
        match self {
            AwsError::NotFound { .. } => "aws_not_found",
            AwsError::Spawn { .. } => "aws_failed",
            AwsError::TimedOut { .. } => "aws_timeout",
            AwsError::Interrupted { .. } => "interrupted",
            AwsError::Throttled { .. } => "throttled",
            AwsError::AccessDenied { .. } => "access_denied",
            AwsError::StackNotFound { .. } => "stack_not_found",
            AwsError::Credentials { .. } => "aws_credentials",
            AwsError::Unreachable { .. } => "aws_unreachable",
            AwsError::Failed { .. } => "aws_failed",
            AwsError::TooLarge { .. } | AwsError::BadOutput { .. } => "aws_output",
        }
    }

    /// What the CLI printed, for the terminal and (described) the report.
    pub fn text(&self) -> Option<&CliText> {
        match self {
            AwsError::AccessDenied { text, .. }
            | AwsError::StackNotFound { text, .. }
            | AwsError::Credentials { text }
            | AwsError::Unreachable { text }
            | AwsError::Failed { text, .. } => Some(text),
            _ => None,
        }
    }
}

/// The AWS CLI as one stack's scan runs it.
#[derive(Debug, Clone)]
pub struct Aws {
    pub bin: OsString,
    pub region: Option<String>,
    pub profile: Option<String>,
    pub limits: AwsLimits,
}

impl Aws {
    /// `aws --version`'s words (`aws-cli/1.46.3`), or why the CLI cannot run.
    pub fn version(&self) -> Result<String, AwsError> {
        let out = self.spawn_and_read(&["--version".into()], "--version")?;
        // v1 prints to stderr on old versions, stdout on newer ones.
        let text = String::from_utf8_lossy(&out.stdout).into_owned() + &out.stderr.text;
        text.split_whitespace()
            .find(|word| word.starts_with("aws-cli/"))
            .map(|word| word.chars().take(40).collect())
            .ok_or_else(|| AwsError::BadOutput {
                operation: "--version".to_owned(),
                what: "no `aws-cli/VERSION` in it".to_owned(),
            })
    }

    /// Calls `operation` with `options` (each `--name=value`: a value from AWS, a stack id or
    /// a page token, is never read as an option), retrying throttling; its JSON output read
    /// as `T`, and the bytes it was read from.
    pub fn call<T: serde::de::DeserializeOwned>(
        &self,
        operation: Operation,
        options: &[(&str, &str)],
    ) -> Result<(T, Vec<u8>), AwsError> {
        let name = operation.cli_name();
        let mut delays = ExponentialBuilder::default()
            .with_min_delay(self.limits.min_backoff)
            .with_max_delay(self.limits.max_backoff)
            .with_max_times(self.limits.attempts.saturating_sub(1))
            .with_jitter()
            .build();
        let mut attempts = 0;
        loop {
            attempts += 1;
            let mut argv: Vec<String> = vec!["cloudformation".into(), name.clone()];
            argv.extend(
                options
                    .iter()
                    .map(|(option, value)| format!("{option}={value}")),
            );
            let out = self.spawn_and_read(&argv, &name)?;
            if out.success {
                // Typed straight from the bytes: no tree of the whole output is built.
                let value = serde_json::from_slice(&out.stdout).map_err(|err| {
                    // Never serde's words: they could quote the document (a secret).
                    let what = if crate::json::is_too_deep(&err) {
                        "nested too deeply".to_owned()
                    } else if err.is_data() {
                        "its members are not the API's".to_owned()
                    } else {
                        format!("not JSON, line {} column {}", err.line(), err.column())
                    };
                    AwsError::BadOutput {
                        operation: name.clone(),
                        what,
                    }
                })?;
                return Ok((value, out.stdout));
            }
            let error = classify(operation, &name, &out);
            match error {
                Classified::Throttled => match delays.next() {
                    Some(delay) => {
                        if !interrupt::sleep(delay) {
                            return Err(AwsError::Interrupted { operation: name });
                        }
                    }
                    None => {
                        return Err(AwsError::Throttled {
                            operation: operation.api_name().to_owned(),
                            attempts,
                        })
                    }
                },
                Classified::Error(error) => return Err(*error),
            }
        }
    }

    fn spawn_and_read(&self, args: &[String], operation: &str) -> Result<CliOutput, AwsError> {
        let bin = self.bin.to_string_lossy().into_owned();
        if interrupt::requested() {
            return Err(AwsError::Interrupted {
                operation: operation.to_owned(),
            });
        }
        let mut command = Command::new(&self.bin);
        if let Some(region) = &self.region {
            command.args(["--region", region]);
        }
        if let Some(profile) = &self.profile {
            command.args(["--profile", profile]);
        }
        if args.first().map(String::as_str) != Some("--version") {
            command.args(["--output", "json"]);
        }
        command
            .args(args)
            .env("AWS_PAGER", "")
            .env("AWS_MAX_ATTEMPTS", "1")
            .env("AWS_CLI_AUTO_PROMPT", "off")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            // Its own group: a Ctrl-C reaches it through driftlog, which then stops it.
            .process_group(0);
        for name in crate::secrets::variables() {
            command.env_remove(name);
        }
        let child = command.spawn().map_err(|source| match source.kind() {
            std::io::ErrorKind::NotFound => AwsError::NotFound { bin: bin.clone() },
            _ => AwsError::Spawn {
                bin: bin.clone(),
                source,
            },
        })?;
        let mut running = Running::new(child, Some((self.limits.call, STOP_GRACE)));
        let stdout = running.stdout();
        let read = match stdout {
            Some(stdout) => read_bounded(stdout, MAX_AWS_OUTPUT_BYTES),
            None => Ok(Ok(Vec::new())),
        };
        let read = match read {
            Ok(Ok(bytes)) => Ok(bytes),
            Ok(Err(())) => {
                running.kill();
                Err(AwsError::TooLarge {
                    operation: operation.to_owned(),
                    limit: MAX_AWS_OUTPUT_BYTES,
                })
            }
            Err(source) => {
                running.kill();
                Err(AwsError::Spawn {
                    bin: bin.clone(),
                    source,
                })
            }
        };
        let ended = running.wait().map_err(|source| AwsError::Spawn {
            bin: bin.clone(),
            source,
        })?;
        let stdout = read?;
        if ended.timed_out {
            return Err(AwsError::TimedOut {
                operation: operation.to_owned(),
                limit: humantime::format_duration(self.limits.call).to_string(),
            });
        }
        if interrupt::requested() {
            return Err(AwsError::Interrupted {
                operation: operation.to_owned(),
            });
        }
        Ok(CliOutput {
            success: ended.status.success(),
            status: ended
                .status
                .code()
                .map_or_else(|| "killed".to_owned(), |c| c.to_string()),
            stdout,
            stderr: ended.stderr,
        })
    }
}

struct CliOutput {
    success: bool,
    status: String,
    stdout: Vec<u8>,
    stderr: StderrTail,
}

enum Classified {
    Throttled,
    Error(Box<AwsError>),
}

/// AWS's error code in the CLI's `An error occurred (CODE) when calling …` line, if it is
/// one (a word of letters, digits and dots).
pub fn error_code(stderr: &str) -> Option<&str> {
    let start = stderr.find("An error occurred (")? + "An error occurred (".len();
    let len = stderr[start..].find(')')?;
    let code = &stderr[start..start + len];
    let word = !code.is_empty()
        && code.len() <= 64
        && code
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '_');
    word.then_some(code)
}

fn classify(operation: Operation, name: &str, out: &CliOutput) -> Classified {
    let stderr = out.stderr.text.as_str();
    let code = error_code(stderr);
    let text = CliText {
        tail: out.stderr.clone(),
    };
    let error = match code {
        Some(
            "Throttling"
            | "ThrottlingException"
            | "RequestLimitExceeded"
            | "TooManyRequestsException"
            | "RequestThrottled",
        ) => return Classified::Throttled,
        Some("AccessDenied" | "AccessDeniedException" | "UnauthorizedOperation") => {
            AwsError::AccessDenied {
                action: format!("cloudformation:{}", operation.api_name()),
                text,
            }
        }
        Some("ValidationError") if stderr.contains("does not exist") => {
            AwsError::StackNotFound { text }
        }
        Some(
            "InvalidClientTokenId"
            | "UnrecognizedClientException"
            | "ExpiredToken"
            | "ExpiredTokenException"
            | "SignatureDoesNotMatch",
        ) => AwsError::Credentials { text },
        None if stderr.contains("Unable to locate credentials")
            || stderr.contains("Error when retrieving credentials")
            || stderr.contains("The config profile") =>
        {
            AwsError::Credentials { text }
        }
        None if stderr.contains("Could not connect to the endpoint URL")
            || stderr.contains("Connect timeout on endpoint URL") =>
        {
            AwsError::Unreachable { text }
        }
        code => AwsError::Failed {
            operation: name.to_owned(),
            code: code.map(|c| format!(" ({c})")).unwrap_or_default(),
            status: out.status.clone(),
            text,
        },
    };
    Classified::Error(Box::new(error))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn operations_are_named_as_the_cli_spells_them() {
        assert_eq!(
            Operation::DescribeStackDriftDetectionStatus.cli_name(),
            "describe-stack-drift-detection-status"
        );
        assert_eq!(Operation::GetTemplate.cli_name(), "get-template");
    }

    #[test]
    fn error_codes_are_read_only_when_they_are_words() {
        let line = "\nAn error occurred (Throttling) when calling the DetectStackDrift \
                    operation (reached max retries: 0): Rate exceeded\n";
        assert_eq!(error_code(line), Some("Throttling"));
        assert_eq!(error_code("An error occurred (a b) when"), None);
        assert_eq!(error_code("An error occurred (Throttling"), None);
        assert_eq!(error_code("nothing"), None);
    }

    /// An `aws` that prints `output` (with `ARGS` replaced by its arguments as JSON).
    fn fake_cli(dir: &std::path::Path, output: &str) -> Aws {
        let bin = dir.join("aws");
        let script = format!(
            "#!/bin/sh\nargs=$(python3 -c 'import json,sys; print(json.dumps(sys.argv[1:]))' \"$@\")\n\
             printf '%s\\n' '{}' | sed \"s|ARGS|$args|\"\n",
            output
        );
        std::fs::write(&bin, script).expect("script");
        std::fs::set_permissions(&bin, std::os::unix::fs::PermissionsExt::from_mode(0o755))
            .expect("chmod");
        Aws {
            bin: bin.into_os_string(),
            region: Some("eu-west-1".into()),
            profile: None,
            limits: AwsLimits::default(),
        }
    }

    #[test]
    fn values_from_aws_are_never_read_as_options() {
        let dir = tempfile::tempdir().expect("tempdir");
        let aws = fake_cli(dir.path(), "ARGS");
        let (argv, _): (Vec<String>, _) = aws
            .call(
                Operation::DescribeStackResourceDrifts,
                &[
                    ("--stack-name", "--debug"),
                    ("--next-token", "--endpoint-url=x y"),
                ],
            )
            .expect("the fake answers");
        assert_eq!(
            argv,
            [
                "--region",
                "eu-west-1",
                "--output",
                "json",
                "cloudformation",
                "describe-stack-resource-drifts",
                "--stack-name=--debug",
                "--next-token=--endpoint-url=x y",
            ]
        );
    }

    #[test]
    fn output_that_does_not_fit_the_api_is_refused_without_quoting_it() {
        #[derive(Debug, serde::Deserialize)]
        #[allow(dead_code)]
        struct Stacks {
            #[serde(rename = "Stacks")]
            stacks: Vec<String>,
        }
        let dir = tempfile::tempdir().expect("tempdir");
        let aws = fake_cli(dir.path(), r#"{"Stacks": "s3cr3t-value"}"#);
        let err = aws
            .call::<Stacks>(Operation::DescribeStacks, &[])
            .expect_err("a string is no list");
        let text = err.to_string();
        assert!(text.contains("its members are not the API's"), "{text}");
        assert!(!text.contains("s3cr3t"), "{text}");
        let aws = fake_cli(dir.path(), "{\"Stacks\": [");
        let text = aws
            .call::<Stacks>(Operation::DescribeStacks, &[])
            .expect_err("cut short")
            .to_string();
        assert!(text.contains("not JSON"), "{text}");
    }
}
