//! The driftlog command line: parses arguments, runs the library, maps outcomes to exit codes.

mod args;
mod progress;

use std::io::{IsTerminal, Write};
use std::path::Path;
use std::process::ExitCode;

use anyhow::Context;
use clap::Parser;
use driftlog::drift::Status;
use driftlog::report::{self, Format};
use driftlog::scan::{self, ScanOptions};
use driftlog::terraform::PlanInputs;

use args::{Cli, ColorArg, Command, FormatArg, ScanArgs};

fn main() -> ExitCode {
    let cli = Cli::parse();
    // Without a handler, Ctrl-C would kill driftlog before it removes its temp files, and
    // leave terraform (in its own process group) running. If the handler cannot be set, the
    // default behaviour is the best that is left.
    let _ = ctrlc::set_handler(driftlog::interrupt::request);
    let outcome = match cli.command {
        Command::Scan(args) => run_scan(args),
    };
    match outcome {
        Ok(code) => code,
        Err(err) => {
            eprintln!("driftlog: error: {err:#}");
            ExitCode::from(1)
        }
    }
}

fn run_scan(args: ScanArgs) -> anyhow::Result<ExitCode> {
    let format = match args.format {
        FormatArg::Terminal => Format::Terminal,
        FormatArg::Json => Format::Json,
        FormatArg::Markdown => Format::Markdown,
    };
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
    let report = scan::scan(&options, &mut |p| spinner.update(p));
    spinner.finish();

    let mut stdout = std::io::stdout().lock();
    let printed = stdout
        .write_all(report::render(&report, format, color).as_bytes())
        .and_then(|()| stdout.flush());
    match printed {
        // A reader that stopped early (`| head`) must not turn drift into success.
        Err(err) if err.kind() == std::io::ErrorKind::BrokenPipe => {}
        other => other.context("writing the report to standard output")?,
    }
    if let Some(path) = &args.output {
        let file_format = match path.extension().and_then(|e| e.to_str()) {
            Some("json") => Format::Json,
            Some("md" | "markdown") => Format::Markdown,
            _ => format,
        };
        std::fs::write(path, report::render(&report, file_format, false))
            .with_context(|| format!("writing the report to {}", path.display()))?;
    }
    if report.status == Status::Failed && format != Format::Terminal {
        if let Some(failure) = &report.failure {
            eprintln!("driftlog: error: {}", failure.message);
        }
    }
    Ok(ExitCode::from(report.status.exit_code()))
}

/// `--var-file` paths are relative to where driftlog runs, not to the stack directory.
fn resolve_from_cwd(path: &Path) -> std::path::PathBuf {
    if path.is_relative() && path.exists() {
        std::path::absolute(path).unwrap_or_else(|_| path.to_owned())
    } else {
        path.to_owned()
    }
}
