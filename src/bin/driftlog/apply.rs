//! `driftlog apply`: run `terraform apply`, show its progress, record what it changed, and
//! exit with terraform's exit code. The sequence is `driftlog::run::apply`.

use crate::audit_args::AuditArgs;
use driftlog::audit::recorder::Subject;
use driftlog::run::apply::{ApplySettings, Shown};
use driftlog::terraform::apply::ApplyRequest;
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Debug, clap::Args)]
#[command(
    after_help = "Runs `terraform apply -json -input=false APPLY_ARGS` in DIR, prints \
                  terraform's progress as it arrives, and appends a signed record of what it \
                  changed (or failed to change) to the audit branch. terraform must not need to \
                  ask: pass -auto-approve, or a plan file saved by `terraform plan -out=FILE`. \
                  Everything the record needs (the signing key, the repository) is checked \
                  before terraform runs. Exits with terraform's exit code, or 1 when the \
                  record could not be written."
)]
pub struct Args {
    /// The stack (root module) to apply.
    #[arg(value_name = "DIR", default_value = ".")]
    pub dir: PathBuf,
    /// Terraform binary to run (a name on PATH or a path); `tofu` works too.
    #[arg(
        long,
        env = "DRIFTLOG_TERRAFORM_BIN",
        default_value = "terraform",
        value_name = "PATH"
    )]
    pub terraform_bin: PathBuf,
    /// Terraform workspace to apply in (default: the selected one); it must exist.
    #[arg(long, value_name = "NAME")]
    pub workspace: Option<String>,
    #[command(flatten)]
    pub audit: AuditArgs,
    /// Arguments for `terraform apply`, after `--`: `-auto-approve` or a saved plan file,
    /// and any other flags (`-- -auto-approve -var x=1`, `-- tfplan`).
    #[arg(last = true, value_name = "APPLY_ARGS", allow_hyphen_values = true)]
    pub apply_args: Vec<String>,
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    // The apply arguments are checked first, then the audit settings (its key read), before
    // anything runs.
    let settings = ApplySettings {
        request: ApplyRequest::new(args.apply_args)?,
        audit: args.audit.options(Subject::Apply)?,
        dir: args.dir,
        terraform_bin: args.terraform_bin.into_os_string(),
        workspace: args.workspace,
    };
    let mut stdout = std::io::stdout();
    let code = driftlog::run::apply::apply(&settings, &mut |shown| match shown {
        Shown::Progress(line) => {
            // A reader that went away must not stop the apply or its record.
            let _ = writeln!(stdout, "{line}").and_then(|()| stdout.flush());
        }
        Shown::Notice(text) => eprint!("{text}"),
    })?;
    Ok(ExitCode::from(code))
}
