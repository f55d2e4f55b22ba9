//! `driftlog remediate`: revert recorded drift by the configuration's `[[remediate]]` rules,
//! through a guarded apply of a saved, targeted plan (`driftlog::run::remediate`).

use std::path::PathBuf;
use std::process::ExitCode;

use driftlog::audit::recorder::Subject;
use driftlog::run::remediate::{remediate, RemediateSettings, DEFAULT_MAX_RUN_RESOURCES};
use driftlog::run::stacks::ScanSettings;

use crate::audit_args::AuditArgs;
use crate::log_location::FormatArg;
use crate::verify::{eprint_line, write_stdout};

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

    /// Terraform workspace (default: the selected one).
    #[arg(long, value_name = "NAME")]
    pub workspace: Option<String>,

    /// Set a variable, as `-var NAME=VALUE` to terraform. Repeatable.
    #[arg(long = "var", value_name = "NAME=VALUE")]
    pub vars: Vec<String>,

    /// Load variables from a file, as `-var-file` to terraform. Repeatable.
    #[arg(long = "var-file", value_name = "FILE")]
    pub var_files: Vec<PathBuf>,

    #[command(flatten)]
    pub audit: AuditArgs,

    #[command(flatten)]
    pub github: crate::github::GithubArgs,

    /// `text` for people; `json`: every stack's result (rules, changes, refusals, records).
    #[arg(long, value_enum, default_value_t = FormatArg::Text)]
    pub format: FormatArg,
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let format = args.format;
    let audit = match args.apply {
        true => args.audit.options(Subject::Remediation)?,
        false => None,
    };
    let publisher = args.github.publisher()?;
    let root = crate::scan::repository_root();
    let today = humantime::format_rfc3339_seconds(std::time::SystemTime::now()).to_string();
    let settings = RemediateSettings {
        dirs: args.dirs,
        config_file: args.config,
        root,
        cwd: std::env::current_dir()?,
        scan: ScanSettings {
            terraform_bin: args.terraform_bin.into_os_string(),
            init: args.init,
            workspace: args.workspace,
            vars: args.vars,
            var_files: args.var_files,
            plan_args: Vec::new(),
            terraform_timeout: None,
        },
        apply: args.apply,
        max_resources: args.max_resources,
        branch: args.audit.audit_branch.clone(),
        log_repo: args.audit.audit_repo.clone(),
        audit,
        today: today.get(..10).unwrap_or_default().to_owned(),
        env: std::env::vars().collect(),
    };
    let remediated = remediate(&settings, &mut eprint_line)?;
    write_stdout(&match format {
        FormatArg::Text => driftlog::report::remediate::text(&remediated),
        FormatArg::Json => serde_json::to_string_pretty(&remediated)? + "\n",
    })?;
    let published = driftlog::run::remediate::publish(&remediated, &publisher);
    published.iter().for_each(crate::github::print_published);
    let publish_failed = published.iter().any(|p| !p.failures.is_empty());
    for failure in published.into_iter().flat_map(|p| p.failures) {
        eprintln!("driftlog: error: {:#}", anyhow::Error::new(failure));
    }
    if let Some(first) = remediated.not_recorded.first() {
        anyhow::bail!("the remediation was NOT recorded in the audit log: {first}");
    }
    Ok(ExitCode::from(
        match (remediated.exit_code(), publish_failed) {
            (0, true) => 1,
            (code, _) => code,
        },
    ))
}
