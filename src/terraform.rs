//! Running terraform (or OpenTofu) and reading what it writes.
//!
//! Only this module knows terraform's command lines and JSON formats. It streams the
//! `plan -json` output line by line as it arrives (a large plan runs for minutes and the
//! caller shows progress), drains stderr on its own thread so neither pipe can fill up and
//! deadlock, and puts the purpose of each command into its errors.

pub mod apply;
pub mod config;
pub mod schema;
pub mod show;
pub mod state;
pub mod stream;

use std::ffi::{OsStr, OsString};
use std::io::{self, BufRead, BufReader, Read};
use std::os::unix::process::CommandExt as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::thread::JoinHandle;

use crate::drift::{Diagnostic, OutputChange, Severity};
use crate::interrupt::{self, Registration};
use show::{MalformedShow, PlanDocument};
use stream::{DriftNotice, StreamEvent};

/// How much of stderr to keep for error messages: the end is where the reason is.
const STDERR_TAIL_BYTES: usize = 8 * 1024;
/// How much of an unparseable line to quote back.
const PREVIEW_CHARS: usize = 120;

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
        "{purpose}: line {line} of terraform's output is not JSON: {preview:?}. Check that `{bin}` \
         is terraform or tofu and that TF_CLI_ARGS does not add flags that change its output"
    )]
    NotJson {
        bin: String,
        purpose: &'static str,
        line: usize,
        preview: String,
    },
    #[error("{purpose} failed ({status}){}", describe_failure(diagnostics, stderr))]
    Failed {
        purpose: &'static str,
        status: String,
        diagnostics: Vec<Diagnostic>,
        stderr: String,
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
            TerraformError::Failed { purpose, .. } if purpose.starts_with("show") => "show_failed",
            TerraformError::Failed { purpose, .. } if purpose.starts_with("init") => "init_failed",
            TerraformError::Failed { .. } => "plan_failed",
            TerraformError::MalformedShow(_) => "show_malformed",
            TerraformError::WorkspaceMissing { .. } => "workspace_missing",
            TerraformError::Interrupted { .. } => "interrupted",
            TerraformError::Io { .. } => "io",
        }
    }

    /// The failure without terraform's raw output (its stderr may carry `TF_LOG` lines and
    /// values): the command's purpose and terraform's own error diagnostics.
    pub fn brief(&self) -> String {
        match self {
            TerraformError::Failed {
                purpose,
                status,
                diagnostics,
                ..
            } => format!(
                "{purpose} failed ({status}){}",
                describe_failure(diagnostics, "")
            ),
            TerraformError::NotJson { purpose, line, .. } => {
                format!("{purpose}: line {line} of terraform's output is not JSON")
            }
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
}

fn describe_failure(diagnostics: &[Diagnostic], stderr: &str) -> String {
    let errors: Vec<String> = diagnostics
        .iter()
        .filter(|d| d.severity == Severity::Error)
        .map(|d| format!("\n  {}", d.to_string().replace('\n', "\n  ")))
        .collect();
    if !errors.is_empty() {
        return format!(":{}", errors.concat());
    }
    let stderr = stderr.trim();
    if stderr.is_empty() {
        String::new()
    } else {
        format!(":\n  {}", stderr.replace('\n', "\n  "))
    }
}

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
}

impl PlanMode {
    fn purpose(&self) -> &'static str {
        match self {
            PlanMode::RefreshOnly => "terraform plan -refresh-only",
            PlanMode::Classify { .. } => {
                "terraform plan (to learn which drift the configuration manages)"
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
    pub drift: Vec<DriftNotice>,
    pub output_changes: Vec<OutputChange>,
    pub diagnostics: Vec<Diagnostic>,
}

/// A terraform binary bound to one working directory and workspace.
#[derive(Debug, Clone)]
pub struct Terraform {
    bin: OsString,
    dir: PathBuf,
    workspace: Option<String>,
}

impl Terraform {
    pub fn new(
        bin: impl Into<OsString>,
        dir: impl Into<PathBuf>,
        workspace: Option<String>,
    ) -> Self {
        Terraform {
            bin: bin.into(),
            dir: dir.into(),
            workspace,
        }
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
        let data_dir = std::env::var_os("TF_DATA_DIR")
            .map_or_else(|| self.dir.join(".terraform"), PathBuf::from);
        std::fs::read_to_string(data_dir.join("environment"))
            .ok()
            .map(|w| w.trim().to_owned())
            .filter(|w| !w.is_empty())
            .unwrap_or_else(|| "default".to_owned())
    }

    fn command(&self, args: &[&OsStr]) -> Command {
        let mut command = Command::new(&self.bin);
        command
            .args(args)
            .current_dir(&self.dir)
            .stdin(Stdio::null())
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

    fn spawn(
        &self,
        mut command: Command,
        purpose: &'static str,
    ) -> Result<(Child, Registration), TerraformError> {
        if interrupt::requested() {
            return Err(TerraformError::Interrupted { purpose });
        }
        let child = command
            .spawn()
            .map_err(|source| self.spawn_error(source, purpose))?;
        let registration = Registration::new(child.id());
        Ok((child, registration))
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
        let stdout = self.stdout_of(command, PURPOSE)?;
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
        self.stdout_of(command, PURPOSE).map(drop)
    }

    /// Runs a command to completion; its stdout if it succeeded, else an error with the end
    /// of its stderr.
    fn stdout_of(
        &self,
        command: Command,
        purpose: &'static str,
    ) -> Result<Vec<u8>, TerraformError> {
        let output = self.output(command, purpose)?;
        if !output.status.success() {
            return Err(TerraformError::Failed {
                purpose,
                status: describe_status(output.status),
                diagnostics: Vec::new(),
                stderr: tail(&output.stderr),
            });
        }
        Ok(output.stdout)
    }

    /// Runs a command to completion, capturing its output.
    fn output(
        &self,
        mut command: Command,
        purpose: &'static str,
    ) -> Result<Output, TerraformError> {
        command.stdout(Stdio::piped()).stderr(Stdio::piped());
        let (child, registration) = self.spawn(command, purpose)?;
        let output = child
            .wait_with_output()
            .map_err(|source| TerraformError::Io { purpose, source })?;
        drop(registration);
        if !output.status.success() && interrupt::requested() {
            return Err(TerraformError::Interrupted { purpose });
        }
        Ok(output)
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
        let mut out_flag = OsString::from("-out=");
        out_flag.push(plan_file);
        let mut args: Vec<OsString> = vec![OsString::from("plan")];
        if *mode == PlanMode::RefreshOnly {
            args.push(OsString::from("-refresh-only"));
        }
        args.extend(
            ["-json", "-input=false", "-detailed-exitcode"]
                .iter()
                .map(OsString::from),
        );
        args.push(out_flag);
        if let PlanMode::Classify { targets } = mode {
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
        args.extend(inputs.extra_args.iter().map(OsString::from));
        let args: Vec<&OsStr> = args.iter().map(OsString::as_os_str).collect();
        let mut command = self.command(&args);
        command.stdout(Stdio::piped()).stderr(Stdio::piped());
        let (mut child, registration) = self.spawn(command, purpose)?;
        let stderr = drain_stderr(&mut child);

        let mut run = PlanRun::default();
        let streamed = self.read_stream(&mut child, purpose, &mut |event| {
            match event {
                StreamEvent::ResourceDrift(notice) => run.drift.push(notice.clone()),
                StreamEvent::Outputs(changes) => run.output_changes = changes.clone(),
                StreamEvent::Diagnostic(diagnostic) => run.diagnostics.push(diagnostic.clone()),
                _ => {}
            }
            on_event(event);
        });
        let stream_sha256 = match streamed {
            Ok(sha256) => sha256,
            Err(err) => {
                // Output we cannot read means terraform (or whatever runs as terraform) is not
                // in a state worth shutting down gracefully: end its whole process group, plugins
                // included, so nothing keeps running or holding our pipes.
                interrupt::kill_process_group(child.id());
                let _ = child.wait();
                let _ = stderr.join();
                return Err(err);
            }
        };
        let status = child
            .wait()
            .map_err(|source| TerraformError::Io { purpose, source })?;
        drop(registration);
        let stderr = stderr.join().unwrap_or_default();
        if interrupt::requested() {
            return Err(TerraformError::Interrupted { purpose });
        }
        match status.code() {
            Some(code @ (0 | 2)) => {
                run.exit_code = code;
                run.stream_sha256 = stream_sha256;
                Ok(run)
            }
            _ => Err(TerraformError::Failed {
                purpose,
                status: describe_status(status),
                diagnostics: run.diagnostics,
                stderr,
            }),
        }
    }

    /// Reads the stream to its end, returning the SHA-256 of every byte it carried.
    fn read_stream(
        &self,
        child: &mut Child,
        purpose: &'static str,
        on_event: &mut dyn FnMut(&StreamEvent),
    ) -> Result<String, TerraformError> {
        read_lines(child, purpose, &mut |number, text| {
            match stream::parse_line(text) {
                Ok(event) => on_event(&event),
                Err(stream::NotJson) => {
                    return Err(TerraformError::NotJson {
                        bin: self.bin.to_string_lossy().into_owned(),
                        purpose,
                        line: number,
                        preview: text.chars().take(PREVIEW_CHARS).collect(),
                    })
                }
            }
            Ok(())
        })
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
        let json = self.stdout_of(command, PURPOSE)?;
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
        self.stdout_of(command, PURPOSE)
    }
}

/// SHA-256 of a document terraform wrote, as the evidence names it.
fn sha256_hex(bytes: &[u8]) -> String {
    hex(ring::digest::digest(&ring::digest::SHA256, bytes).as_ref())
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Reads a child's stdout line by line as it arrives, handing each non-empty line (trimmed,
/// with its 1-based number) to `on_line`, until the end or `on_line`'s first error; returns
/// the SHA-256 of every byte read.
fn read_lines(
    child: &mut Child,
    purpose: &'static str,
    on_line: &mut dyn FnMut(usize, &str) -> Result<(), TerraformError>,
) -> Result<String, TerraformError> {
    let mut digest = ring::digest::Context::new(&ring::digest::SHA256);
    let Some(stdout) = child.stdout.take() else {
        return Ok(hex(digest.finish().as_ref()));
    };
    let mut reader = BufReader::new(stdout);
    let mut line = Vec::new();
    let mut number = 0;
    loop {
        line.clear();
        let read = reader
            .read_until(b'\n', &mut line)
            .map_err(|source| TerraformError::Io { purpose, source })?;
        if read == 0 {
            return Ok(hex(digest.finish().as_ref()));
        }
        digest.update(&line);
        number += 1;
        let text = String::from_utf8_lossy(&line);
        let text = text.trim();
        if !text.is_empty() {
            on_line(number, text)?;
        }
    }
}

fn drain_stderr(child: &mut Child) -> JoinHandle<String> {
    let stderr = child.stderr.take();
    std::thread::spawn(move || {
        let mut buffer = Vec::new();
        if let Some(mut stderr) = stderr {
            let _ = stderr.read_to_end(&mut buffer);
        }
        tail(&buffer)
    })
}

fn tail(bytes: &[u8]) -> String {
    let start = bytes.len().saturating_sub(STDERR_TAIL_BYTES);
    String::from_utf8_lossy(&bytes[start..]).into_owned()
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
