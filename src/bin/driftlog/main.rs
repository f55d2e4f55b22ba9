//! The driftlog command line: parses arguments, runs the library, maps outcomes to exit codes.

mod adopt;
mod apply;
mod audit_args;
mod cloudformation_args;
mod explain;
mod github;
mod history;
mod keygen;
mod log;
mod log_location;
mod notify;
mod print;
mod remediate;
mod report;
mod scan;
mod stacks;
mod terraform_args;
mod verify;
mod witnessed;

use clap::{Parser, Subcommand};
use driftlog::interrupt::{self, Mode};
use std::process::ExitCode;

// verify allocates and frees a record's worth of small objects per commit on every core;
// mimalloc's per-thread heaps make that a fraction of glibc's cost.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Debug, Parser)]
#[command(
    name = "driftlog",
    version,
    about = "Detect Terraform drift and explain it per attribute"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run `terraform plan -refresh-only` in a stack and report what drifted.
    ///
    /// Exit codes mirror `terraform plan -detailed-exitcode`: 0 clean, 2 drift, 1 error.
    Scan(Box<scan::Args>),
    /// Run `terraform apply` in a stack and record what it changed in the audit log.
    ///
    /// Exits with terraform's exit code (0 applied, 1 failed), or 1 when the record could not
    /// be written.
    Apply(Box<apply::Args>),
    /// Revert recorded drift by the configuration's `[[remediate]]` rules, through a guarded
    /// apply of a saved, targeted plan (a dry run without --apply).
    Remediate(Box<remediate::Args>),
    /// Write recorded drift the `adopt` rules take into the configuration, proven by a
    /// terraform plan: a patch, the files edited, or a pull request.
    Adopt(Box<adopt::Args>),
    /// Create an Ed25519 signing key for the audit log.
    Keygen(keygen::Args),
    /// Check the audit branch: chain, signatures, checkpoints.
    Verify(verify::Args),
    /// List audit records.
    Log(log::Args),
    /// One resource's timeline in the audit log: every scan and apply that touched it.
    History(history::Args),
    /// When and how the latest drift happened: its window, what ran in it, what changed.
    Explain(explain::Args),
    /// List the stacks a scan without DIR covers (`--format matrix` for CI fan-out).
    Stacks(stacks::Args),
    /// Check the `[[notify]]` receivers: `--test` sends each a sample message.
    Notify(notify::Args),
    /// Work with saved JSON reports.
    #[command(subcommand)]
    Report(report::Command),
}

fn main() -> ExitCode {
    // Before anything else, above all before any thread or child process exists.
    driftlog::secrets::take_from_environment();
    let cli = Cli::parse();
    // Without handlers, Ctrl-C would kill driftlog before it removes its temp files or spools
    // its record, and leave terraform (in its own process group) running. Commands that only
    // read have nothing to finish. If the handlers cannot be set, the default behaviour is
    // the best that is left.
    let mode = match cli.command {
        Command::Scan(_)
        | Command::Apply(_)
        | Command::Remediate(_)
        | Command::Adopt(_)
        | Command::Report(_) => Mode::Graceful,
        _ => Mode::Immediate,
    };
    let _ = interrupt::install(mode);
    driftlog::audit::sync::configure_transport_timeouts();
    let outcome = match cli.command {
        Command::Scan(args) => scan::run(*args),
        Command::Apply(args) => apply::run(*args),
        Command::Remediate(args) => remediate::run(*args),
        Command::Adopt(args) => adopt::run(*args),
        Command::Keygen(args) => keygen::run(args),
        Command::Verify(args) => verify::run(args),
        Command::Log(args) => log::run(args),
        Command::Report(command) => report::run(command),
        Command::Stacks(args) => stacks::run(args),
        Command::Notify(args) => notify::run(args),
        Command::History(args) => history::run(args),
        Command::Explain(args) => explain::run(args),
    };
    let code = match outcome {
        Ok(code) => code,
        Err(err) => {
            eprintln!("driftlog: error: {err:#}");
            ExitCode::from(1)
        }
    };
    // A run a signal stopped says so in its status, whatever it had found by then.
    interrupt::exit_code().map_or(code, ExitCode::from)
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    #[test]
    fn arguments_are_consistent() {
        super::Cli::command().debug_assert();
    }
}
