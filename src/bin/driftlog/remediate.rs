//! `driftlog remediate`: revert recorded drift by the configuration's `[[remediate]]` rules,
//! through a guarded apply of a saved, targeted plan (`driftlog::run::remediate`).

use crate::audit_args::AuditArgs;
use crate::log_location::FormatArg;
use crate::print::{eprint_line, eprint_lines, write_format};
use crate::terraform_args::TerraformArgs;
use driftlog::audit::recorder::Subject;
use driftlog::run::remediate::{self, RemediateSettings, DEFAULT_MAX_RUN_RESOURCES};
use driftlog::run::stacks::{repository_root, working_dir};
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Debug, clap::Args)]
#[command(
    after_help = "Acts only on recorded drift: the latest scan record of each stack on the audit \
                  branch. Per stack: a fresh scan must show the same drift as the record; then, \
                  per rule, a targeted plan of the resources it reverts, saved to a file and \
                  guarded (only those resources, only in-place updates, or a re-create where \
                  allow_recreate, and only the recorded drift's attributes); with --apply, that \
                  saved plan is applied, the stack is scanned again, and every attempt is a \
                  signed record. Without --apply nothing is changed. Exit 0 when everything was \
                  reverted or nothing needed it, 2 when drift remains (refused or matched by no \
                  rule), 1 on error."
)]
pub struct Args {
    /// Stacks to remediate (default: the stacks of `.driftlog.toml`).
    #[arg(value_name = "DIR")]
    pub dirs: Vec<PathBuf>,
    /// The configuration file (default: `.driftlog.toml` at the repository root).
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Apply the guarded plans (default: a dry run that changes nothing).
    #[arg(long)]
    pub apply: bool,
    /// The most resources this run reverts, over every stack and rule (each rule's own
    /// max_resources applies too).
    #[arg(long, value_name = "N", default_value_t = DEFAULT_MAX_RUN_RESOURCES)]
    pub max_resources: usize,
    #[command(flatten)]
    pub terraform: TerraformArgs,
    #[command(flatten)]
    pub audit: AuditArgs,
    #[command(flatten)]
    pub github: crate::github::GithubArgs,
    /// `text` for people; `json`: every stack's result (rules, changes, refusals, records).
    #[arg(long, value_enum, default_value_t = FormatArg::Text)]
    pub format: FormatArg,
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    // Bad flags and an unreadable key fail before terraform runs.
    let audit = args.apply.then(|| args.audit.options(Subject::Remediation));
    let audit = audit.transpose()?.flatten();
    let publisher = args.github.publisher()?;
    let settings = RemediateSettings {
        // The user's extra plan arguments never reach a remediation.
        scan: args.terraform.settings(Vec::new()),
        dirs: args.dirs,
        config_file: args.config,
        root: repository_root(),
        cwd: working_dir(),
        apply: args.apply,
        max_resources: args.max_resources,
        branch: args.audit.audit_branch.clone(),
        log_repo: args.audit.audit_repo.clone(),
        audit,
        today: driftlog::run::ignore::today(),
        env: std::env::vars().collect(),
    };
    let remediated = remediate::remediate(&settings, &mut eprint_line)?;
    write_format(args.format, &remediated, || {
        driftlog::report::remediate::text(&remediated)
    })?;
    let (lines, publish_failed) = remediate::publish_lines(&remediated, &publisher);
    eprint_lines(&lines);
    if let Some(first) = remediated.not_recorded.first() {
        anyhow::bail!("the remediation was NOT recorded in the audit log: {first}");
    }
    // A failed publication fails an otherwise clean run; drift remaining (2) says more.
    Ok(ExitCode::from(
        remediated.exit_code().max(u8::from(publish_failed)),
    ))
}
