//! `driftlog stacks`: the stacks a scan without DIR would scan, for people and for CI
//! fan-out (`--format matrix` is a GitHub Actions `strategy.matrix`).

use std::path::PathBuf;
use std::process::ExitCode;

use clap::ValueEnum;
use driftlog::config::{self, Config};
use serde_json::json;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The configuration file (default: `.driftlog.toml` at the repository root).
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,

    /// `list`: one path per line; `json`: every stack's settings; `matrix`: a
    /// `strategy.matrix` with one entry per stack, or per shard with --shards.
    #[arg(long, value_enum, default_value_t = StacksFormat::List)]
    pub format: StacksFormat,

    /// With `--format matrix`: N entries `shard: K/N` instead of one per stack, for
    /// `driftlog scan --shard ${{ matrix.shard }}`.
    #[arg(long, value_name = "N")]
    pub shards: Option<usize>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum StacksFormat {
    List,
    Json,
    Matrix,
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let root = crate::scan::repository_root();
    let config = Config::load(&root, args.config.as_deref())?;
    for warning in &config.warnings {
        eprintln!("driftlog: warning: {warning}");
    }
    let path = |spec: &config::StackSpec| spec.path.display().to_string();
    let output = match (args.format, args.shards) {
        (StacksFormat::Matrix, Some(0)) => anyhow::bail!("--shards must be at least 1"),
        (StacksFormat::Matrix, Some(n)) => {
            let shards: Vec<String> = (1..=n).map(|k| format!("{k}/{n}")).collect();
            json!({ "shard": shards }).to_string()
        }
        (_, Some(_)) => anyhow::bail!("--shards goes with --format matrix"),
        (StacksFormat::Matrix, None) => {
            let include: Vec<_> = config
                .stacks
                .iter()
                .map(|spec| json!({ "stack": path(spec), "name": spec.name }))
                .collect();
            json!({ "include": include }).to_string()
        }
        (StacksFormat::Json, None) => {
            let stacks: Vec<_> = config
                .stacks
                .iter()
                .map(|spec| {
                    json!({
                        "path": path(spec),
                        "name": spec.name,
                        "workspace": spec.workspace,
                        "var_files": spec.var_files,
                        "vars": spec.vars.iter().cloned().collect::<std::collections::BTreeMap<_, _>>(),
                    })
                })
                .collect();
            serde_json::to_string_pretty(&json!({ "stacks": stacks }))?
        }
        (StacksFormat::List, None) => config
            .stacks
            .iter()
            .map(path)
            .collect::<Vec<_>>()
            .join("\n"),
    };
    println!("{output}");
    Ok(ExitCode::SUCCESS)
}
