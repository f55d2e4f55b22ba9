//! Command-line arguments, as parsed; `main` resolves them into library options.

use std::path::PathBuf;

use clap::{Parser, Subcommand, ValueEnum};

#[derive(Debug, Parser)]
#[command(
    name = "driftlog",
    version,
    about = "Detect Terraform drift and explain it per attribute"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run `terraform plan -refresh-only` in a stack and report what drifted.
    ///
    /// Exit codes mirror `terraform plan -detailed-exitcode`: 0 clean, 2 drift, 1 error.
    Scan(ScanArgs),
}

#[derive(Debug, clap::Args)]
pub struct ScanArgs {
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

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ColorArg {
    Auto,
    Always,
    Never,
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    #[test]
    fn arguments_are_consistent() {
        super::Cli::command().debug_assert();
    }
}
