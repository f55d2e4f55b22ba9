//! Running terraform (or OpenTofu) and reading what it writes.
//!
//! Only this module knows terraform's command lines and JSON formats. It streams the
//! `plan -json` output line by line as it arrives (a large plan runs for minutes and the
//! caller shows progress), drains stderr on its own thread so neither pipe can fill up and
//! deadlock, and puts the purpose of each command into its errors.

pub mod apply;
pub mod config;
mod error;
#[cfg(test)]
mod fuzz;
pub mod process;
pub mod saved_plan;
pub mod schema;
pub mod show;
pub mod state;
pub mod stream;

use crate::digest::{hex, sha256_hex};
use std::ffi::{OsStr, OsString};
use std::io;
use std::os::unix::ffi::OsStrExt as _;
use std::os::unix::process::CommandExt as _;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};
use std::time::Duration;

use crate::drift::{Diagnostic, OutputChange, Severity, Tool};
use crate::interrupt;
use process::{Line, Running, StderrTail, Timeouts};
use show::PlanDocument;
use stream::{DriftNotice, StreamEvent};

use error::describe_failure;
pub use error::{RawText, TerraformError};

/// Extra inputs passed through to `plan`.
#[derive(Debug, Clone, Default)]
pub struct PlanInputs {
    /// `NAME=VALUE` pairs for `-var`.
    pub vars: Vec<String>,
    pub var_files: Vec<PathBuf>,
    /// Passed through last, as given (`-lock=false`, `-parallelism=N`, `-target=...`).
    pub extra_args: Vec<String>,
}

/// Which plan to run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PlanMode {
    /// `-refresh-only`: what changed outside terraform.
    RefreshOnly,
    /// A normal plan, to learn what apply would do to the drifted resources; targeted at
    /// these addresses (all resources when empty).
    Classify { targets: Vec<String> },
    /// A normal plan of exactly these resources (never empty), saved to be guarded and
    /// applied: the user's extra arguments are left out (`-destroy`, `-refresh=false` or
    /// another `-target` would change what it reverts).
    Remediate { targets: Vec<String> },
    /// `-refresh=false` of exactly these resources: what the configuration changes against
    /// the state alone, which is code never applied (sensitive attributes included). A
    /// revert must find none. Leaves out the user's extra arguments, as `Remediate` does.
    UnappliedCode { targets: Vec<String> },
}

impl PlanMode {
    fn purpose(&self) -> &'static str {
        match self {
            PlanMode::RefreshOnly => "terraform plan -refresh-only",
            PlanMode::Classify { .. } => {
                "terraform plan (to learn which drift the configuration manages)"
            }
            PlanMode::Remediate { .. } => "terraform plan (of the drift to revert)",
            PlanMode::UnappliedCode { .. } => {
                "terraform plan -refresh=false (of the code the revert would apply)"
            }
        }
    }
}

/// What a streamed `plan -json` said.
#[derive(Debug, Clone, Default)]
pub struct PlanRun {
    pub exit_code: i32,
    /// SHA-256 of terraform's whole `-json` output, as evidence of what it said.
    pub stream_sha256: String,
    /// From the `version` message; a plan without one fails.
    pub tool: Option<Tool>,
    pub drift: Vec<DriftNotice>,
    pub output_changes: Vec<OutputChange>,
    pub diagnostics: Vec<Diagnostic>,
    /// Lines of JSON read (empty lines left out).
    pub lines: usize,
}

/// A terraform binary bound to one working directory and workspace.
#[derive(Debug, Clone)]
pub struct Terraform {
    bin: OsString,
    dir: PathBuf,
    workspace: Option<String>,
    timeouts: Timeouts,
}

impl Terraform {
    /// A `bin` given as a relative path (`./tf`, `bin/terraform`) is taken from the directory
    /// driftlog runs in, as a user typing it expects, not from the stack directory terraform
    /// runs in; a bare name is looked up on PATH.
    pub fn new(
        bin: impl Into<OsString>,
        dir: impl Into<PathBuf>,
        workspace: Option<String>,
    ) -> Self {
        Terraform {
            bin: from_cwd(bin.into()),
            dir: dir.into(),
            workspace,
            timeouts: Timeouts::default(),
        }
    }

    /// The time limits of the commands a scan runs (not of apply, which has none).
    pub fn with_timeouts(mut self, timeouts: Timeouts) -> Self {
        self.timeouts = timeouts;
        self
    }

    /// The workspace commands run in: the one asked for, else `TF_WORKSPACE`, else the one
    /// `terraform workspace select` recorded in the data dir, else `default`.
    pub fn workspace(&self) -> String {
        if let Some(workspace) = &self.workspace {
            return workspace.clone();
        }
        if let Some(workspace) = std::env::var("TF_WORKSPACE").ok().filter(|w| !w.is_empty()) {
            return workspace;
        }
        std::fs::read_to_string(self.data_dir().join("environment"))
            .ok()
            .map(|w| w.trim().to_owned())
            .filter(|w| !w.is_empty())
            .unwrap_or_else(|| "default".to_owned())
    }

    /// Terraform's data directory, as terraform finds it: `TF_DATA_DIR` (a relative one from
    /// the stack directory, where terraform runs), else `.terraform` there.
    pub fn data_dir(&self) -> PathBuf {
        let data_dir = std::env::var_os("TF_DATA_DIR")
            .filter(|dir| !dir.is_empty())
            .unwrap_or_else(|| ".terraform".into());
        // `join` keeps an absolute TF_DATA_DIR as it is.
        self.dir.join(data_dir)
    }

    fn command(&self, args: &[&OsStr]) -> Command {
        let mut command = Command::new(&self.bin);
        command
            .args(args)
            .current_dir(&self.dir)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .env("TF_IN_AUTOMATION", "1")
            .env("TF_INPUT", "0")
            // Its own process group: a terminal's Ctrl-C reaches driftlog only, which then
            // stops terraform exactly once (see `interrupt`).
            .process_group(0);
        if let Some(workspace) = &self.workspace {
            command.env("TF_WORKSPACE", workspace);
        }
        // Every provider plugin and `local-exec` inherits terraform's environment.
        for name in crate::secrets::variables() {
            command.env_remove(name);
        }
        command
    }

    /// Starts a command with piped stdout and stderr, held to `limit` when given.
    fn spawn(
        &self,
        mut command: Command,
        purpose: &'static str,
        limit: Option<Duration>,
    ) -> Result<Running, TerraformError> {
        if interrupt::requested() {
            return Err(TerraformError::Interrupted { purpose });
        }
        let child = command
            .spawn()
            .map_err(|source| self.spawn_error(source, purpose))?;
        Ok(Running::new(
            child,
            limit.map(|limit| (limit, self.timeouts.grace)),
        ))
    }

    fn spawn_error(&self, source: io::Error, purpose: &'static str) -> TerraformError {
        let bin = self.bin.to_string_lossy().into_owned();
        if source.kind() == io::ErrorKind::NotFound {
            TerraformError::NotFound { bin }
        } else {
            TerraformError::Spawn {
                bin,
                purpose,
                source,
            }
        }
    }

    /// Fails unless the requested workspace exists: terraform would otherwise plan against
    /// a new, empty state and every typo would look like a clean stack.
    pub fn ensure_workspace_exists(&self) -> Result<(), TerraformError> {
        const PURPOSE: &str = "terraform workspace list";
        let Some(name) = &self.workspace else {
            return Ok(());
        };
        let mut command = self.command(&[OsStr::new("workspace"), OsStr::new("list")]);
        // Listing must not depend on the workspace being listed.
        command.env_remove("TF_WORKSPACE");
        let stdout = self.stdout_of(
            command,
            PURPOSE,
            self.timeouts.read,
            Limit::new(
                process::MAX_WORKSPACE_LIST_BYTES,
                "MAX_WORKSPACE_LIST_BYTES",
            ),
        )?;
        let available: Vec<String> = String::from_utf8_lossy(&stdout)
            .lines()
            .map(|line| line.trim_start_matches('*').trim().to_owned())
            .filter(|line| !line.is_empty())
            .collect();
        if available.iter().any(|w| w == name) {
            Ok(())
        } else {
            Err(TerraformError::WorkspaceMissing {
                name: name.clone(),
                available,
            })
        }
    }

    /// `terraform init -input=false`.
    pub fn init(&self) -> Result<(), TerraformError> {
        const PURPOSE: &str = "terraform init";
        let command = self.command(&[
            OsStr::new("init"),
            OsStr::new("-input=false"),
            OsStr::new("-no-color"),
        ]);
        self.run_to_end(command, PURPOSE, self.timeouts.plan, None)
            .map(drop)
    }

    /// Runs a command to completion within `timeout`; its stdout (at most `limit` bytes)
    /// if it succeeded, else an error with a description of its stderr.
    fn stdout_of(
        &self,
        command: Command,
        purpose: &'static str,
        timeout: Duration,
        limit: Limit,
    ) -> Result<Vec<u8>, TerraformError> {
        self.run_to_end(command, purpose, timeout, Some(limit))
    }

    /// Runs a command to completion within `timeout`, keeping its stdout (at most `limit`
    /// bytes; none kept without a limit) and failing unless it exits 0.
    fn run_to_end(
        &self,
        command: Command,
        purpose: &'static str,
        timeout: Duration,
        limit: Option<Limit>,
    ) -> Result<Vec<u8>, TerraformError> {
        let mut running = self.spawn(command, purpose, Some(timeout))?;
        let io_error = |source| TerraformError::Io { purpose, source };
        let stdout = match running.stdout() {
            None => Vec::new(),
            Some(stdout) => match limit {
                None => {
                    io::copy(&mut { stdout }, &mut io::sink()).map_err(io_error)?;
                    Vec::new()
                }
                Some(limit) => {
                    match process::read_bounded(stdout, limit.bytes).map_err(io_error)? {
                        Ok(bytes) => bytes,
                        Err(()) => {
                            running.kill();
                            let ended = running.wait().map_err(io_error)?;
                            if ended.timed_out {
                                return Err(TerraformError::TimedOut {
                                    purpose,
                                    limit: timeout,
                                });
                            }
                            return Err(TerraformError::TooLarge {
                                purpose,
                                limit: limit.bytes,
                                limit_name: limit.name,
                            });
                        }
                    }
                }
            },
        };
        let ended = running.wait().map_err(io_error)?;
        if ended.timed_out {
            return Err(TerraformError::TimedOut {
                purpose,
                limit: timeout,
            });
        }
        if !ended.status.success() {
            if interrupt::requested() {
                return Err(TerraformError::Interrupted { purpose });
            }
            return Err(TerraformError::Failed {
                purpose,
                status: describe_status(ended.status),
                diagnostics: Vec::new(),
                stderr: RawText::of_stderr(ended.stderr),
            });
        }
        Ok(stdout)
    }

    /// Runs `terraform plan [-refresh-only] -json -detailed-exitcode -out=PLAN`, handing each
    /// stream event to `on_event` as it arrives.
    pub fn plan(
        &self,
        mode: &PlanMode,
        inputs: &PlanInputs,
        plan_file: &Path,
        on_event: &mut dyn FnMut(&StreamEvent),
    ) -> Result<PlanRun, TerraformError> {
        let purpose = mode.purpose();
        let args = plan_args(mode, inputs, plan_file);
        let args: Vec<&OsStr> = args.iter().map(OsString::as_os_str).collect();
        let command = self.command(&args);
        let limit = self.timeouts.plan;
        let mut running = self.spawn(command, purpose, Some(limit))?;
        let bin = self.bin.to_string_lossy();
        let streamed = match running.stdout() {
            Some(stdout) => read_plan_stream(&bin, purpose, stdout, on_event),
            None => Ok(PlanRun::default()),
        };
        let run = match streamed {
            Ok(run) => run,
            Err(err) => {
                // Output we cannot read means terraform (or whatever runs as terraform) is not
                // in a state worth shutting down gracefully: end its whole process group,
                // plugins included, so nothing keeps running or holding our pipes.
                running.kill();
                let ended = running
                    .wait()
                    .map_err(|source| TerraformError::Io { purpose, source })?;
                if ended.timed_out {
                    return Err(TerraformError::TimedOut { purpose, limit });
                }
                return Err(err);
            }
        };
        let ended = running
            .wait()
            .map_err(|source| TerraformError::Io { purpose, source })?;
        if ended.timed_out {
            return Err(TerraformError::TimedOut { purpose, limit });
        }
        if interrupt::requested() {
            return Err(TerraformError::Interrupted { purpose });
        }
        judge_plan(&bin, purpose, run, ended.status, ended.stderr)
    }

    /// `terraform show -json PLAN` of a normal plan: drift, planned changes and what the
    /// configuration sets, with the SHA-256 of the whole document.
    pub fn show_plan(&self, plan_file: &Path) -> Result<(PlanDocument, String), TerraformError> {
        let json = self.show_json(plan_file)?;
        let sha256 = sha256_hex(&json);
        Ok((show::parse_plan(&json)?, sha256))
    }

    /// `terraform providers schema -json`: which attributes of each resource type the
    /// configuration can set, with the SHA-256 of the document.
    pub fn providers_schema(&self) -> Result<(schema::ProviderSchemas, String), TerraformError> {
        const PURPOSE: &str = "read the provider schemas (terraform providers schema -json)";
        let command = self.command(&[
            OsStr::new("providers"),
            OsStr::new("schema"),
            OsStr::new("-json"),
        ]);
        let json = self.stdout_of(
            command,
            PURPOSE,
            self.timeouts.read,
            Limit::new(process::MAX_SCHEMA_JSON_BYTES, "MAX_SCHEMA_JSON_BYTES"),
        )?;
        let sha256 = sha256_hex(&json);
        Ok((schema::ProviderSchemas::parse(&json)?, sha256))
    }

    /// The raw bytes of `terraform show -json PLAN`.
    pub fn show_json(&self, plan_file: &Path) -> Result<Vec<u8>, TerraformError> {
        const PURPOSE: &str = "show the plan as JSON (terraform show -json)";
        let command = self.command(&[
            OsStr::new("show"),
            OsStr::new("-json"),
            plan_file.as_os_str(),
        ]);
        self.stdout_of(
            command,
            PURPOSE,
            self.timeouts.read,
            Limit::new(process::MAX_SHOW_JSON_BYTES, "MAX_SHOW_JSON_BYTES"),
        )
    }
}

/// A relative path with a directory in it, from driftlog's working directory; a bare name
/// (looked up on PATH) or an absolute path as it is.
fn from_cwd(bin: OsString) -> OsString {
    let path = Path::new(&bin);
    if path.is_absolute() || !bin.as_bytes().contains(&b'/') {
        return bin;
    }
    match std::env::current_dir() {
        Ok(cwd) => cwd.join(path).into_os_string(),
        Err(_) => bin,
    }
}

/// How much of a command's stdout driftlog reads, and the constant that says so.
#[derive(Debug, Clone, Copy)]
struct Limit {
    bytes: usize,
    name: &'static str,
}

impl Limit {
    fn new(bytes: usize, name: &'static str) -> Self {
        Limit { bytes, name }
    }
}

fn plan_args(mode: &PlanMode, inputs: &PlanInputs, plan_file: &Path) -> Vec<OsString> {
    let mut out_flag = OsString::from("-out=");
    out_flag.push(plan_file);
    let mut args: Vec<OsString> = vec![OsString::from("plan")];
    match mode {
        PlanMode::RefreshOnly => args.push(OsString::from("-refresh-only")),
        PlanMode::UnappliedCode { .. } => args.push(OsString::from("-refresh=false")),
        PlanMode::Classify { .. } | PlanMode::Remediate { .. } => {}
    }
    args.extend(
        ["-json", "-input=false", "-detailed-exitcode"]
            .iter()
            .map(OsString::from),
    );
    args.push(out_flag);
    if let PlanMode::Classify { targets }
    | PlanMode::Remediate { targets }
    | PlanMode::UnappliedCode { targets } = mode
    {
        args.extend(
            targets
                .iter()
                .map(|target| OsString::from(format!("-target={target}"))),
        );
    }
    for var in &inputs.vars {
        args.push(OsString::from("-var"));
        args.push(OsString::from(var));
    }
    for file in &inputs.var_files {
        let mut flag = OsString::from("-var-file=");
        flag.push(file);
        args.push(flag);
    }
    if !matches!(
        mode,
        PlanMode::Remediate { .. } | PlanMode::UnappliedCode { .. }
    ) {
        args.extend(inputs.extra_args.iter().map(OsString::from));
    }
    args
}

/// Reads a plan's `-json` stream to its end: every line a JSON message within bounds,
/// handed to `on_event` as it arrives.
fn read_plan_stream(
    bin: &str,
    purpose: &'static str,
    stdout: impl io::Read,
    on_event: &mut dyn FnMut(&StreamEvent),
) -> Result<PlanRun, TerraformError> {
    let mut run = PlanRun::default();
    let read = process::read_lines(stdout, &mut |line| {
        let (number, text) = match line {
            Line::Text(number, text) => (number, text),
            Line::TooLong(line) => {
                return Err(TerraformError::LineTooLong {
                    bin: bin.to_owned(),
                    purpose,
                    line,
                })
            }
        };
        let event = stream::parse_line(text).map_err(|problem| TerraformError::NotJson {
            bin: bin.to_owned(),
            purpose,
            problem,
            raw: RawText::of_line(number, text),
        })?;
        run.lines += 1;
        match &event {
            StreamEvent::Version(tool) => run.tool = Some(tool.clone()),
            StreamEvent::ResourceDrift(notice) => run.drift.push(notice.clone()),
            StreamEvent::Outputs(changes) => run.output_changes = changes.clone(),
            StreamEvent::Diagnostic(diagnostic) => run.diagnostics.push(diagnostic.clone()),
            _ => {}
        }
        on_event(&event);
        Ok(())
    });
    run.stream_sha256 = read.map_err(|source| TerraformError::Io { purpose, source })??;
    Ok(run)
}

/// What a plan that ran to its end says: its run when terraform exited 0 or 2 (the
/// `-detailed-exitcode` convention) with no error diagnostic and a `version` message; else
/// why the stack's state is unknown.
fn judge_plan(
    bin: &str,
    purpose: &'static str,
    mut run: PlanRun,
    status: ExitStatus,
    stderr: StderrTail,
) -> Result<PlanRun, TerraformError> {
    let exit_code = status.code();
    let has_errors = run
        .diagnostics
        .iter()
        .any(|d| d.severity == Severity::Error);
    match exit_code {
        // An error diagnostic means terraform did not finish the plan, whatever a wrapper
        // made of its exit code (a var file it could not read, say).
        Some(code @ (0 | 2)) if has_errors => Err(TerraformError::Failed {
            purpose,
            status: format!("exit code {code}, yet terraform reported errors"),
            diagnostics: run.diagnostics,
            stderr: RawText::of_stderr(stderr),
        }),
        Some(0 | 2) if run.tool.is_none() => Err(TerraformError::NothingUnderstood {
            bin: bin.to_owned(),
            purpose,
            lines: run.lines,
        }),
        Some(code @ (0 | 2)) => {
            run.exit_code = code;
            Ok(run)
        }
        _ => Err(TerraformError::Failed {
            purpose,
            status: describe_status(status),
            diagnostics: run.diagnostics,
            stderr: RawText::of_stderr(stderr),
        }),
    }
}

fn describe_status(status: ExitStatus) -> String {
    match status.code() {
        Some(code) => format!("exit code {code}"),
        None => "killed by a signal".to_owned(),
    }
}

/// Whether DIR holds a terraform configuration at all, so a typo fails fast and clearly.
pub fn has_configuration(dir: &Path) -> io::Result<bool> {
    for entry in std::fs::read_dir(dir)? {
        let name = entry?.file_name();
        let name = name.to_string_lossy();
        if [".tf", ".tf.json", ".tofu", ".tofu.json"]
            .iter()
            .any(|ext| name.ends_with(ext))
        {
            return Ok(true);
        }
    }
    Ok(false)
}

#[cfg(test)]
mod brief_tests {
    use super::*;

    fn raw(stream: &'static str, line: Option<usize>) -> Box<RawText> {
        Box::new(RawText {
            stream,
            line,
            bytes: 42,
            lines: 2,
            shown: "s3cr3t-in-terraforms-words".into(),
        })
    }

    /// A warning carries the brief form, and nothing shows terraform's text beside it: the
    /// brief form must not say it was shown, nor quote it.
    #[test]
    fn the_brief_form_neither_quotes_terraform_nor_claims_its_text_was_shown() {
        let failed = TerraformError::Failed {
            purpose: "terraform providers schema -json",
            status: "exit code 1".into(),
            diagnostics: Vec::new(),
            stderr: Some(raw("stderr", None)),
        };
        let not_json = TerraformError::NotJson {
            bin: "terraform".into(),
            purpose: "terraform plan -json",
            problem: stream::LineError::NotJson,
            raw: raw("stdout", Some(3)),
        };
        for (error, expected) in [
            (&failed, "wrote 42 bytes to its standard error (not kept)"),
            (
                &not_json,
                "line 3 of terraform's output is not JSON (42 bytes, not kept)",
            ),
        ] {
            let brief = error.brief();
            assert!(brief.contains(expected), "{brief}");
            assert!(
                !brief.contains("shown") && !brief.contains("s3cr3t"),
                "{brief}"
            );
        }
    }
}
