//! `driftlog scan`: run terraform, report drift, exit like `plan -detailed-exitcode`.

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use clap::ValueEnum;
use driftlog::audit::recorder::{self, AuditOptions};
use driftlog::audit::sshsig::SigningKey;
use driftlog::audit::store::DEFAULT_BRANCH;
use driftlog::audit::sync::RemoteChoice;
use driftlog::drift::{AuditRef, Status};
use driftlog::github::Publication;
use driftlog::report::{self, Format};
use driftlog::scan::{self, ScanOptions};
use driftlog::terraform::PlanInputs;

use crate::progress;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Directory of the root module to scan.
    #[arg(default_value = ".")]
    pub dir: PathBuf,

    /// Terraform binary to run (a name on PATH or a path); `tofu` works too.
    #[arg(
        long,
        env = "DRIFTLOG_TERRAFORM_BIN",
        default_value = "terraform",
        value_name = "PATH"
    )]
    pub terraform_bin: PathBuf,

    /// Run `terraform init -input=false` first.
    #[arg(long)]
    pub init: bool,

    /// Terraform workspace to scan (default: the selected one).
    #[arg(long, value_name = "NAME")]
    pub workspace: Option<String>,

    /// Set a variable, as `-var NAME=VALUE` to terraform. Repeatable.
    #[arg(long = "var", value_name = "NAME=VALUE")]
    pub vars: Vec<String>,

    /// Load variables from a file, as `-var-file` to terraform. Repeatable.
    #[arg(long = "var-file", value_name = "FILE")]
    pub var_files: Vec<PathBuf>,

    /// Report format on standard output.
    #[arg(long, value_enum, default_value_t = FormatArg::Terminal)]
    pub format: FormatArg,

    /// Also write the report to FILE (as JSON for `.json`, markdown for `.md`, else as --format).
    #[arg(long, short = 'o', value_name = "FILE")]
    pub output: Option<PathBuf>,

    /// When to colour the terminal report (`auto` honours NO_COLOR).
    #[arg(long, value_enum, default_value_t = ColorArg::Auto)]
    pub color: ColorArg,

    /// Do not show progress on the terminal.
    #[arg(long, short)]
    pub quiet: bool,

    /// Do not record this scan in the audit log.
    #[arg(
        long,
        env = "DRIFTLOG_NO_AUDIT",
        value_parser = clap::builder::FalseyValueParser::new()
    )]
    pub no_audit: bool,

    /// The audit log's branch.
    #[arg(long, default_value = DEFAULT_BRANCH, value_name = "NAME")]
    pub audit_branch: String,

    /// The git repository that keeps the audit log (default: the one holding DIR).
    #[arg(long, value_name = "PATH")]
    pub audit_repo: Option<PathBuf>,

    /// The remote the audit branch is pushed to (default: `origin`, when there is one).
    #[arg(long, value_name = "NAME")]
    pub audit_remote: Option<String>,

    /// OpenSSH Ed25519 private key that signs audit records (`driftlog keygen` makes one).
    /// Without it, DRIFTLOG_SIGNING_KEY may hold the key text itself (for CI secrets). One of
    /// them is required unless --no-audit.
    #[arg(long, value_name = "FILE")]
    pub signing_key: Option<PathBuf>,

    #[command(flatten)]
    pub github: crate::github::GithubArgs,

    /// Further arguments for `terraform plan`, after `--` (e.g. `-- -lock=false -parallelism=30`).
    #[arg(last = true, value_name = "PLAN_ARGS", allow_hyphen_values = true)]
    pub plan_args: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum FormatArg {
    Terminal,
    Json,
    Markdown,
}

impl From<FormatArg> for Format {
    fn from(format: FormatArg) -> Format {
        match format {
            FormatArg::Terminal => Format::Terminal,
            FormatArg::Json => Format::Json,
            FormatArg::Markdown => Format::Markdown,
        }
    }
}

/// The format of an `--output` file: by extension, else the standard output's.
pub fn format_for_file(path: &Path, fallback: Format) -> Format {
    match path.extension().and_then(|e| e.to_str()) {
        Some("json") => Format::Json,
        Some("md" | "markdown") => Format::Markdown,
        _ => fallback,
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ColorArg {
    Auto,
    Always,
    Never,
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    // A bad key fails before terraform runs, not after a long scan.
    let audit = audit_options(&args)?;
    let reporting = args.github.resolve()?;
    let format = Format::from(args.format);
    let color = match args.color {
        ColorArg::Always => true,
        ColorArg::Never => false,
        ColorArg::Auto => {
            std::io::stdout().is_terminal()
                && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
        }
    };
    let options = ScanOptions {
        dir: args.dir,
        terraform_bin: args.terraform_bin.into_os_string(),
        init: args.init,
        workspace: args.workspace,
        init_gate: None,
        inputs: PlanInputs {
            vars: args.vars,
            extra_args: args.plan_args,
            var_files: args
                .var_files
                .into_iter()
                .map(|f| resolve_from_cwd(&f))
                .collect(),
        },
    };

    let spinner = progress::Spinner::new(!args.quiet);
    let mut report = scan::scan(&options, &mut |p| spinner.update(p));
    spinner.finish();
    let recorded = audit
        .as_ref()
        .map(|audit| recorder::record_scan(&report, &options.dir, audit));
    if let Some(Ok(outcome)) = &recorded {
        report.audit = Some(AuditRef {
            branch: args.audit_branch.clone(),
            seq: outcome.head.seq,
            record_sha256: outcome.head.record_sha256.clone(),
            commit: outcome.head.commit.clone(),
            checkpoint: outcome.checkpoint_line().to_owned(),
        });
    }

    let mut stdout = std::io::stdout().lock();
    let printed = stdout
        .write_all(report::render(&report, format, color).as_bytes())
        .and_then(|()| stdout.flush());
    match printed {
        // A reader that stopped early (`| head`) must not turn drift into success.
        Err(err) if err.kind() == std::io::ErrorKind::BrokenPipe => {}
        other => other.context("writing the report to standard output")?,
    }
    let mut report_json = None;
    if let Some(path) = &args.output {
        let file_format = format_for_file(path, format);
        std::fs::write(path, report::render(&report, file_format, false))
            .with_context(|| format!("writing the report to {}", path.display()))?;
        report_json = (file_format == Format::Json).then_some(path.as_path());
    }
    if report.status == Status::Failed && format != Format::Terminal {
        if let Some(failure) = &report.failure {
            eprintln!("driftlog: error: {}", failure.message);
        }
    }
    // GitHub hears about the scan even when recording failed: the drift is real either way.
    let reported = reporting.report(Publication::Single(&report), report_json);
    match recorded {
        None => {}
        Some(Ok(outcome)) => {
            for warning in &outcome.warnings {
                eprintln!("driftlog: warning: {warning}");
            }
            let head = &outcome.head;
            let place = match &outcome.remote {
                Some(remote) => format!("pushed to {remote}"),
                None => "local only: the repository has no remote".to_owned(),
            };
            eprintln!(
                "driftlog: recorded as audit record {} (sha256:{}) on {} ({place}), Merkle root {}",
                head.seq, head.record_sha256, args.audit_branch, head.merkle_root
            );
            if outcome.from_spool() > 0 {
                eprintln!(
                    "driftlog: also pushed {} earlier record(s) from the spool",
                    outcome.from_spool()
                );
            }
            eprintln!("{}", outcome.checkpoint_line());
        }
        // The report is out; the missing record must still fail the job.
        Some(Err(err)) => {
            if let Err(github) = reported {
                eprintln!("driftlog: error: {github:#}");
            }
            return Err(
                anyhow::Error::new(err).context("the scan was NOT recorded in the audit log")
            );
        }
    }
    reported?;
    Ok(ExitCode::from(report.status.exit_code()))
}

/// The audit settings, with the signing key loaded; `None` when recording is off.
fn audit_options(args: &Args) -> anyhow::Result<Option<AuditOptions>> {
    if args.no_audit {
        return Ok(None);
    }
    let key_text = match (&args.signing_key, std::env::var("DRIFTLOG_SIGNING_KEY")) {
        (Some(path), _) => std::fs::read_to_string(path)
            .with_context(|| format!("reading the signing key {}", path.display()))?,
        (None, Ok(text)) if !text.trim().is_empty() => text,
        (None, _) => anyhow::bail!(
            "no signing key for the audit log: pass --signing-key FILE or put the key in \
             DRIFTLOG_SIGNING_KEY (`driftlog keygen` makes one), or scan without recording with \
             --no-audit"
        ),
    };
    let key = SigningKey::from_openssh(&key_text).context(match &args.signing_key {
        Some(path) => format!("the signing key {} cannot be used", path.display()),
        None => "the signing key in DRIFTLOG_SIGNING_KEY cannot be used".to_owned(),
    })?;
    Ok(Some(AuditOptions {
        repo: args.audit_repo.clone(),
        branch: args.audit_branch.clone(),
        key,
        remote: args
            .audit_remote
            .clone()
            .map_or(RemoteChoice::Default, RemoteChoice::Named),
    }))
}

/// `--var-file` paths are relative to where driftlog runs, not to the stack directory.
fn resolve_from_cwd(path: &Path) -> std::path::PathBuf {
    if path.is_relative() && path.exists() {
        std::path::absolute(path).unwrap_or_else(|_| path.to_owned())
    } else {
        path.to_owned()
    }
}
