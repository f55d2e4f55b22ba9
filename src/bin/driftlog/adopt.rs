//! `driftlog adopt`: write recorded drift the `[[remediate]]` rules with `action = "adopt"`
//! take into the configuration, proven by terraform (`driftlog::run::adopt`).

use crate::audit_args::AuditArgs;
use crate::log_location::FormatArg;
use crate::print::{eprint_line, eprint_lines, write_format, write_stdout};
use crate::terraform_args::TerraformArgs;
use driftlog::audit::recorder::Subject;
use driftlog::run::adopt::{self, AdoptSettings, Delivery};
use driftlog::run::stacks::{repository_root, working_dir};
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Debug, clap::Args)]
#[command(
    after_help = "Acts only on recorded drift: the latest scan record of each stack on the audit \
                  branch. Where the drifted attribute is a literal in the resource's block, the \
                  literal is replaced with the real value as terraform fmt writes it, every other \
                  byte of the file kept; a value set by an expression is not edited (the message \
                  says which expression, where, and where a variable's value comes from). \
                  Sensitive values and deleted resources are never adopted. A terraform plan of \
                  the edited configuration, targeted at the adopted resources, must show no \
                  change to what was adopted; an edit that fails it is dropped. Then: --patch \
                  prints the change, --write edits the files, and --pull-request (the default in \
                  GitHub Actions) pushes a signed commit on driftlog/adopt/<stack> and opens or \
                  updates its pull request (closed when the drift is gone). Writing and \
                  proposing are recorded in the audit log. Exit 0 when everything was adopted or \
                  nothing needed it, 2 when some drift was refused, 1 on error or when nothing \
                  could be adopted."
)]
pub struct Args {
    /// Stacks to adopt into (default: the stacks of `.driftlog.toml`).
    #[arg(value_name = "DIR")]
    pub dirs: Vec<PathBuf>,
    /// The configuration file (default: `.driftlog.toml` at the repository root).
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Print the change as a unified diff; write nothing (the default outside GitHub Actions).
    #[arg(long, conflicts_with_all = ["write", "pull_request"])]
    pub patch: bool,
    /// Edit the files in place.
    #[arg(long, conflicts_with = "pull_request")]
    pub write: bool,
    /// Push the change on driftlog/adopt/<stack> and open a pull request (the default in
    /// GitHub Actions).
    #[arg(long)]
    pub pull_request: bool,
    /// The branch the pull request goes into (default: the repository's default branch).
    #[arg(long, value_name = "BRANCH")]
    pub base: Option<String>,
    /// Cloud audit events for the pull request's explanation of each drift: AWS CloudTrail
    /// log files, `aws cloudtrail lookup-events` output, or Google Cloud audit log entries
    /// (repeatable).
    #[arg(long = "events", value_name = "FILE")]
    pub events: Vec<PathBuf>,
    #[command(flatten)]
    pub terraform: TerraformArgs,
    #[command(flatten)]
    pub audit: AuditArgs,
    #[command(flatten)]
    pub github: crate::github::GithubArgs,
    /// `text` for people; `json`: every stack's result (adopted, refused, files, proof, pull
    /// request, records).
    #[arg(long, value_enum, default_value_t = FormatArg::Text)]
    pub format: FormatArg,
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let publisher = args.github.publisher()?;
    let delivery = match (args.patch, args.write, args.pull_request) {
        (true, _, _) => Delivery::Patch,
        (_, true, _) => Delivery::Write,
        (_, _, true) => Delivery::PullRequest,
        _ if publisher.in_actions() => Delivery::PullRequest,
        _ => Delivery::Patch,
    };
    // Bad flags and an unreadable key fail before terraform runs.
    let audit = (delivery != Delivery::Patch).then(|| args.audit.options(Subject::Adoption));
    let audit = audit.transpose()?.flatten();
    let events = match args.events.as_slice() {
        [] => None,
        paths => Some(driftlog::events::EventLog::load(paths)?),
    };
    let settings = AdoptSettings {
        // The user's extra plan arguments never reach the proof plan.
        scan: args.terraform.settings(Vec::new()),
        dirs: args.dirs,
        config_file: args.config,
        root: repository_root(),
        cwd: working_dir(),
        delivery,
        branch: args.audit.audit_branch.clone(),
        log_repo: args.audit.audit_repo.clone(),
        audit,
        today: driftlog::run::ignore::today(),
        base: args.base,
        events,
    };
    let adopted = adopt::adopt(&settings, &publisher, &mut eprint_line)?;
    match (delivery, args.format) {
        (Delivery::Patch, FormatArg::Text) => {
            eprint!("{}", driftlog::report::adopt::text(&adopted));
            let patches: String = adopted
                .stacks
                .iter()
                .filter_map(|s| s.patch.as_deref())
                .collect();
            write_stdout(&patches)?;
        }
        (_, format) => write_format(format, &adopted, || driftlog::report::adopt::text(&adopted))?,
    }
    let mut publish_failed = false;
    for stack in adopted.stacks.iter().filter(|s| s.outcome.is_some()) {
        let markdown = driftlog::report::adopt::markdown(stack);
        let heading = format!(
            "### driftlog adoption of `{}`\n\n{markdown}",
            stack.stack.dir
        );
        if let Some(failure) = publisher.publish_adoption_summary(&heading) {
            eprint_lines(&[format!("driftlog: error: {failure}")]);
            publish_failed = true;
        }
    }
    if let Some(first) = adopted.not_recorded.first() {
        anyhow::bail!("the adoption was NOT recorded in the audit log: {first}");
    }
    Ok(ExitCode::from(
        adopted.exit_code().max(u8::from(publish_failed)),
    ))
}
