//! The terraform flags of `scan` (and of the commands that scan like it), as the library's
//! [`ScanSettings`].

use driftlog::run::stacks::{parse_timeout, resolve_from_cwd, ScanSettings};
use std::path::PathBuf;

#[derive(Debug, Clone, clap::Args)]
pub struct TerraformArgs {
    /// Terraform binary to run (a name on PATH or a path); `tofu` works too.
    #[arg(
        long,
        env = "DRIFTLOG_TERRAFORM_BIN",
        default_value = "terraform",
        value_name = "PATH"
    )]
    pub terraform_bin: PathBuf,
    /// Longest any one terraform command may run (`45m`, `2h`), after which driftlog stops
    /// it (SIGINT, then kill) and the scan fails. Default: 30m for init and each plan, 10m
    /// for show, providers schema and workspace list.
    #[arg(
        long,
        env = "DRIFTLOG_TERRAFORM_TIMEOUT",
        value_name = "DURATION",
        value_parser = parse_timeout
    )]
    pub terraform_timeout: Option<std::time::Duration>,
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
}

impl TerraformArgs {
    /// The flags as scan settings, `plan_args` passed on to `terraform plan`.
    pub fn settings(&self, plan_args: Vec<String>) -> ScanSettings {
        ScanSettings {
            terraform_bin: self.terraform_bin.clone().into_os_string(),
            init: self.init,
            workspace: self.workspace.clone(),
            vars: self.vars.clone(),
            var_files: self.var_files.iter().map(|f| resolve_from_cwd(f)).collect(),
            plan_args,
            terraform_timeout: self.terraform_timeout,
            ..ScanSettings::default()
        }
    }
}
