//! The driftlog command line: parses arguments, runs the library, maps outcomes to exit codes.

mod github;
mod keygen;
mod log;
mod progress;
mod report;
mod scan;
mod stacks;
mod verify;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

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
    /// Create an Ed25519 signing key for the audit log.
    Keygen(keygen::Args),
    /// Check the audit branch: chain, signatures, checkpoints.
    Verify(verify::Args),
    /// List audit records.
    Log(log::Args),
    /// List the stacks a scan without DIR covers (`--format matrix` for CI fan-out).
    Stacks(stacks::Args),
    /// Work with saved JSON reports.
    #[command(subcommand)]
    Report(report::Command),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    // Without a handler, Ctrl-C would kill driftlog before it removes its temp files, and
    // leave terraform (in its own process group) running. If the handler cannot be set, the
    // default behaviour is the best that is left.
    let _ = ctrlc::set_handler(driftlog::interrupt::request);
    let outcome = match cli.command {
        Command::Scan(args) => scan::run(*args),
        Command::Keygen(args) => keygen::run(args),
        Command::Verify(args) => verify::run(args),
        Command::Log(args) => log::run(args),
        Command::Report(command) => report::run(command),
        Command::Stacks(args) => stacks::run(args),
    };
    match outcome {
        Ok(code) => code,
        Err(err) => {
            eprintln!("driftlog: error: {err:#}");
            ExitCode::from(1)
        }
    }
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    #[test]
    fn arguments_are_consistent() {
        super::Cli::command().debug_assert();
    }
}
