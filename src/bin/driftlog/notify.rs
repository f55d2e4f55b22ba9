//! `driftlog notify --test`: a sample message to every `[[notify]]` receiver, so a team
//! knows its webhook works before drift depends on it.

use driftlog::config::Config;
use driftlog::run::notify::{send_test, Notifier};
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Send a sample message, marked as a test, to each configured receiver.
    #[arg(long)]
    pub test: bool,
    /// The configuration file (default: `.driftlog.toml` at the repository root).
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    if !args.test {
        anyhow::bail!(
            "notifications are sent by `driftlog scan` when a stack's drift changes; \
             `driftlog notify --test` sends a sample to each receiver"
        );
    }
    let root = driftlog::run::stacks::repository_root();
    let config = Config::load(&root, args.config.as_deref())?;
    crate::print::eprint_warnings(&config.warnings);
    let notifier = Notifier::resolve(&config);
    let now = humantime::format_rfc3339_seconds(std::time::SystemTime::now()).to_string();
    let results = send_test(&notifier, &now);
    if results.is_empty() {
        anyhow::bail!(
            "no [[notify]] receivers in {}: add one with kind and url_env (see docs/notifications.md)",
            config
                .file
                .as_deref()
                .map_or_else(|| ".driftlog.toml (none found)".to_owned(), |f| f.display().to_string())
        );
    }
    let mut failed = 0;
    for result in &results {
        match result {
            Ok(line) => println!("{line}"),
            Err(line) => {
                failed += 1;
                eprintln!("error: {line}");
            }
        }
    }
    match failed {
        0 => Ok(ExitCode::SUCCESS),
        n => {
            eprintln!(
                "{n} of {} receivers did not get the test message",
                results.len()
            );
            Ok(ExitCode::FAILURE)
        }
    }
}
