//! `driftlog stacks`: the stacks a scan without DIR would scan, for people and for CI
//! fan-out (`--format matrix` is a GitHub Actions `strategy.matrix`); the listing is
//! `driftlog::run::stacks::listing`.

use clap::ValueEnum;
use driftlog::config::Config;
use driftlog::run::stacks::Listing;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The configuration file (default: `.driftlog.toml` at the repository root).
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// `list`: one stack per line (a Terraform stack's path; a CloudFormation stack's key,
    /// then its settings); `json`: every stack's settings; `matrix`: a `strategy.matrix`
    /// with one entry per stack, or per shard with --shards.
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
    let root = driftlog::run::stacks::repository_root();
    let config = Config::load(&root, args.config.as_deref())?;
    crate::print::eprint_warnings(&config.warnings);
    let listing = match (args.format, args.shards) {
        (StacksFormat::Matrix, Some(0)) => anyhow::bail!("--shards must be at least 1"),
        (StacksFormat::Matrix, Some(n)) => Listing::Shards(n),
        (_, Some(_)) => anyhow::bail!("--shards goes with --format matrix"),
        (StacksFormat::Matrix, None) => Listing::Matrix,
        (StacksFormat::Json, None) => Listing::Json,
        (StacksFormat::List, None) => Listing::Paths,
    };
    println!("{}", driftlog::run::stacks::listing(&config, listing));
    Ok(ExitCode::SUCCESS)
}
