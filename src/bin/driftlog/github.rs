//! Reporting on GitHub: the flags, and what happens after a scan inside GitHub Actions (or
//! with `--repo` by hand): job summary, step outputs, annotations, and the REST API parts.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use anyhow::Context;
use driftlog::actions::{self, RunnerFiles, MAX_WARNINGS_PER_STEP};
use driftlog::context::{pull_request_head_sha, pull_request_number};
use driftlog::drift::{ScanReport, Status};
use driftlog::github::{self, Publication, PublishOptions, Repo, RetryPolicy, Target};
use driftlog::report::markdown::{Budget, Frame, RunLink};
use driftlog::terraform::config::Declarations;

#[derive(Debug, Clone, clap::Args)]
#[command(next_help_heading = "GitHub")]
pub struct GithubArgs {
    /// Token for the GitHub API (default: DRIFTLOG_GITHUB_TOKEN, else GITHUB_TOKEN). In
    /// Actions pass `${{ github.token }}`; it needs pull-requests, issues and statuses (or
    /// checks) write permission. DRIFTLOG_GITHUB_TOKEN is taken out of driftlog's environment,
    /// so terraform's providers never see it.
    #[arg(long, value_name = "TOKEN")]
    pub github_token: Option<String>,

    /// Repository to report to (default in Actions: GITHUB_REPOSITORY). Outside Actions,
    /// giving it turns reporting on.
    #[arg(long, value_name = "OWNER/NAME")]
    pub repo: Option<Repo>,

    /// Pull request to comment on (default in Actions: the event's pull request).
    #[arg(long, value_name = "N")]
    pub pr: Option<u64>,

    /// Commit for the status (default: the pull request's head, else GITHUB_SHA).
    #[arg(long, value_name = "SHA")]
    pub sha: Option<String>,

    /// The GitHub API root (`https://HOST/api/v3` on GitHub Enterprise Server).
    #[arg(
        long,
        env = "GITHUB_API_URL",
        default_value = "https://api.github.com",
        value_name = "URL"
    )]
    pub github_api_url: String,

    /// Names this stack's comment and issue, so several stacks keep separate ones
    /// (default: the stack directory, plus the workspace when not `default`).
    #[arg(long, value_name = "ID")]
    pub report_id: Option<String>,

    /// Do not comment on the pull request.
    #[arg(long)]
    pub no_comment: bool,

    /// Do not set a commit status or check run.
    #[arg(long)]
    pub no_status: bool,

    /// Do not open, update or close the drift issue (runs without a pull request).
    #[arg(long)]
    pub no_issue: bool,

    /// Do not write the job summary.
    #[arg(long)]
    pub no_summary: bool,

    /// Do not emit workflow annotations.
    #[arg(long)]
    pub no_annotations: bool,

    /// Make the status or check fail when there is drift (otherwise it is neutral). The exit
    /// code is 2 on drift either way.
    #[arg(long)]
    pub fail_on_drift: bool,

    /// Label of drift issues (created when missing).
    #[arg(long, default_value = "drift", value_name = "NAME")]
    pub issue_label: String,

    /// The commit status context or check-run name.
    #[arg(long, default_value = "driftlog", value_name = "NAME")]
    pub status_name: String,
}

/// What to do after a scan, settled before it runs so bad flags fail first.
pub struct Reporting {
    args: GithubArgs,
    env: HashMap<String, String>,
    in_actions: bool,
    runner: RunnerFiles,
    /// The API target and token; `None` when the API is not used.
    api: Option<(Target, String)>,
    /// Why the API is not used although it would be expected.
    skipped: Option<String>,
}

impl GithubArgs {
    pub fn resolve(&self) -> anyhow::Result<Reporting> {
        let env: HashMap<String, String> = std::env::vars().collect();
        let var = |name: &str| env.get(name).filter(|v| !v.is_empty()).cloned();
        let in_actions = var("GITHUB_ACTIONS").as_deref() == Some("true");
        let event = var("GITHUB_EVENT_PATH").and_then(driftlog::context::read_event_payload);
        let repo = match (&self.repo, in_actions) {
            (Some(repo), _) => Some(repo.clone()),
            (None, true) => var("GITHUB_REPOSITORY")
                .map(|name| name.parse::<Repo>())
                .transpose()
                .map_err(|err| anyhow::anyhow!("GITHUB_REPOSITORY: {err}"))?,
            (None, false) => None,
        };
        let token = self
            .github_token
            .clone()
            .filter(|t| !t.trim().is_empty())
            .or_else(crate::secrets::github_token);
        let mut skipped = None;
        let api = match (repo, token) {
            (Some(repo), Some(token)) => {
                let pull_request = self
                    .pr
                    .or_else(|| event.as_deref().and_then(pull_request_number));
                let sha = self.sha.clone().or_else(|| {
                    event
                        .as_deref()
                        .and_then(pull_request_head_sha)
                        .or_else(|| var("GITHUB_SHA"))
                });
                let api_url = match self.github_api_url.trim() {
                    "" => "https://api.github.com".to_owned(),
                    url => url.to_owned(),
                };
                let target = Target {
                    api_url,
                    repo,
                    pull_request,
                    sha,
                    run: run_link(&env),
                };
                Some((target, token))
            }
            (Some(repo), None) if self.repo.is_some() => anyhow::bail!(
                "--repo {repo} needs a token: set GITHUB_TOKEN or pass --github-token"
            ),
            (Some(_), None) => {
                skipped = Some(
                    "no GitHub token, so no comment, status or issue: pass `github-token: ${{ \
                     github.token }}` (GITHUB_TOKEN) or --github-token"
                        .to_owned(),
                );
                None
            }
            (None, _) if self.pr.is_some() => {
                anyhow::bail!("--pr needs --repo OWNER/NAME (or GITHUB_REPOSITORY in Actions)")
            }
            (None, _) => None,
        };
        Ok(Reporting {
            args: self.clone(),
            runner: RunnerFiles::from_env(&env),
            env,
            in_actions,
            api,
            skipped,
        })
    }
}

impl Reporting {
    /// Whether this runs inside GitHub Actions.
    pub fn in_actions(&self) -> bool {
        self.in_actions
    }

    /// Writes the job summary, step outputs and annotations, then posts to GitHub, each
    /// whatever became of the others. Problems with permissions are warnings; every other
    /// failure comes back, in order, once everything was tried. `report_json` is where the
    /// JSON report was saved, if it was.
    pub fn report(
        &self,
        publication: Publication<'_>,
        report_json: Option<&Path>,
    ) -> Vec<anyhow::Error> {
        let mut failures = Vec::new();
        let frame = Frame {
            run: run_link(&self.env),
            ..Frame::default()
        };
        if self.in_actions {
            self.runner_files(publication, report_json, &frame, &mut failures);
            if !self.args.no_annotations {
                for annotation in self.annotations(publication) {
                    // The runner reads workflow commands from both streams; stdout keeps
                    // only the report.
                    eprintln!("{annotation}");
                }
            }
        }
        if let Some(reason) = &self.skipped {
            eprintln!("driftlog: warning: {reason}");
        }
        if driftlog::interrupt::requested() {
            // Stopped: nothing more goes out, not even a request that would be abandoned.
            if self.api.is_some() {
                eprintln!("driftlog: warning: stopped, so nothing was posted to GitHub");
            }
            return failures;
        }
        let Some((target, token)) = &self.api else {
            return failures;
        };
        let stack_ids: Vec<String> = publication
            .stacks()
            .into_iter()
            .map(|stack| default_report_id(stack, &self.env))
            .collect();
        let id = match (&self.args.report_id, publication) {
            (Some(id), _) => id.clone(),
            (None, Publication::Single(_)) => stack_ids.first().cloned().unwrap_or_default(),
            (None, Publication::Combined(_)) => "all stacks".to_owned(),
        };
        let options = PublishOptions {
            comment: !self.args.no_comment,
            status: !self.args.no_status,
            issue: !self.args.no_issue && keeps_issues(self.in_actions, &self.env),
            fail_on_drift: self.args.fail_on_drift,
            id,
            stack_ids,
            issue_label: self.args.issue_label.clone(),
            status_name: self.args.status_name.clone(),
            retry: RetryPolicy::default(),
        };
        let published = github::publish(publication, target, token, &options);
        for done in &published.done {
            eprintln!("driftlog: github: {done}");
        }
        for warning in &published.warnings {
            eprintln!("driftlog: warning: {warning}");
        }
        failures.extend(
            published
                .errors
                .into_iter()
                .map(|err| anyhow::Error::new(err).context("reporting to GitHub failed")),
        );
        failures
    }

    /// The job summary, then the step outputs: a failure of one does not keep the other.
    fn runner_files(
        &self,
        publication: Publication<'_>,
        report_json: Option<&Path>,
        frame: &Frame,
        failures: &mut Vec<anyhow::Error>,
    ) {
        if let (Some(path), false) = (&self.runner.step_summary, self.args.no_summary) {
            let summary = publication.render(&Budget::GITHUB_COMMENT, frame);
            if let Err(err) = actions::append_step_summary(path, &summary) {
                failures.push(anyhow::Error::new(err).context("writing the job summary"));
            }
        }
        if let Some(path) = &self.runner.output {
            if let Err(err) = self.step_outputs(path, publication, report_json) {
                failures.push(err.context("writing the step outputs"));
            }
        }
    }

    fn step_outputs(
        &self,
        path: &Path,
        publication: Publication<'_>,
        report_json: Option<&Path>,
    ) -> anyhow::Result<()> {
        let report_json = match report_json {
            Some(path) => std::path::absolute(path).unwrap_or_else(|_| path.to_owned()),
            None => self.save_report_json(publication)?,
        };
        let stacks = publication.stacks();
        let drifted: usize = stacks.iter().map(|s| s.summary.drifted).sum();
        // The last recorded stack's record is the audit branch's head.
        let audit = stacks.iter().rev().find_map(|s| s.audit.as_ref());
        actions::write_outputs(
            path,
            &[
                ("drift", (drifted > 0).to_string()),
                ("status", publication.status().as_str().to_owned()),
                ("drifted-resources", drifted.to_string()),
                ("report-json", report_json.display().to_string()),
                (
                    "audit-head",
                    audit.map(|a| a.commit.clone()).unwrap_or_default(),
                ),
                (
                    "audit-record",
                    audit.map(|a| a.seq.to_string()).unwrap_or_default(),
                ),
            ],
        )?;
        Ok(())
    }

    /// Without `--output`, the JSON report still needs a home for the `report-json` output.
    fn save_report_json(&self, publication: Publication<'_>) -> anyhow::Result<PathBuf> {
        let dir = self
            .env
            .get("RUNNER_TEMP")
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
            .unwrap_or_else(std::env::temp_dir)
            .join("driftlog");
        std::fs::create_dir_all(&dir)
            .with_context(|| format!("creating {} for the JSON report", dir.display()))?;
        let (name, json) = match publication {
            Publication::Single(report) => (
                default_report_id(report, &self.env),
                driftlog::report::json(report),
            ),
            Publication::Combined(report) => (
                "all-stacks".to_owned(),
                driftlog::report::render_combined(report, driftlog::report::Format::Json, false),
            ),
        };
        let name: String = name
            .chars()
            .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
            .collect();
        let path = dir.join(format!("{name}.json"));
        std::fs::write(&path, json)
            .with_context(|| format!("writing the JSON report to {}", path.display()))?;
        Ok(path)
    }

    /// Warnings at each drifted resource's declaration, at most ten in all (what Actions
    /// shows per step).
    fn annotations(&self, publication: Publication<'_>) -> Vec<actions::Annotation> {
        let workspace = self
            .env
            .get("GITHUB_WORKSPACE")
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
            .or_else(|| std::env::current_dir().ok())
            .and_then(|dir| dir.canonicalize().ok());
        let mut annotations = Vec::new();
        for report in publication.stacks() {
            let room = MAX_WARNINGS_PER_STEP.saturating_sub(annotations.len());
            if room == 0 {
                break;
            }
            let declarations = (report.status == Status::Drifted)
                .then(|| Declarations::load(Path::new(&report.stack.dir)));
            let locate = |resource: &driftlog::drift::DriftedResource| {
                let found = declarations.as_ref()?.locate(
                    resource.module_address.as_deref(),
                    &resource.mode,
                    &resource.resource_type,
                    &resource.name,
                )?;
                let file = found.file.canonicalize().ok()?;
                let relative = file.strip_prefix(workspace.as_ref()?).ok()?;
                Some((relative.to_string_lossy().into_owned(), found.line))
            };
            annotations.extend(actions::drift_annotations(report, &locate, room));
        }
        annotations
    }
}

/// The first failure as the error, the others printed.
pub fn first_failure(failures: Vec<anyhow::Error>) -> anyhow::Result<()> {
    let mut failures = failures.into_iter();
    let Some(first) = failures.next() else {
        return Ok(());
    };
    for err in failures {
        eprintln!("driftlog: error: {err:#}");
    }
    Err(first)
}

/// "run 8813" linking the Actions run, when the environment names it.
fn run_link(env: &HashMap<String, String>) -> Option<RunLink> {
    let var = |name: &str| env.get(name).filter(|v| !v.is_empty());
    let server = var("GITHUB_SERVER_URL").map_or("https://github.com", |s| s.as_str());
    let repo = var("GITHUB_REPOSITORY")?;
    let run = var("GITHUB_RUN_ID")?;
    Some(RunLink {
        label: format!("run {run}"),
        url: format!("{}/{repo}/actions/runs/{run}", server.trim_end_matches('/')),
    })
}

/// The stack directory relative to the checkout (`infra/prod`, so `scan .` inside it and
/// `scan infra/prod` at the root name the same stack), with the workspace when not `default`.
fn default_report_id(report: &ScanReport, env: &HashMap<String, String>) -> String {
    let relative = env
        .get("GITHUB_WORKSPACE")
        .filter(|v| !v.is_empty())
        .and_then(|workspace| {
            let workspace = Path::new(workspace).canonicalize().ok()?;
            let dir = Path::new(&report.stack.dir).canonicalize().ok()?;
            Some(
                dir.strip_prefix(workspace)
                    .ok()?
                    .to_string_lossy()
                    .into_owned(),
            )
        });
    let dir = relative.unwrap_or_else(|| report.stack.dir.clone());
    let dir = dir.trim_end_matches('/');
    let dir = dir.strip_prefix("./").unwrap_or(dir);
    let dir = if dir.is_empty() { "." } else { dir };
    match report.stack.workspace.as_str() {
        "default" => dir.to_owned(),
        workspace => format!("{dir}@{workspace}"),
    }
}

/// Drift issues belong to scheduled and manual runs; a push to a branch only sets its status.
fn keeps_issues(in_actions: bool, env: &HashMap<String, String>) -> bool {
    !in_actions
        || matches!(
            env.get("GITHUB_EVENT_NAME").map(String::as_str),
            Some("schedule" | "workflow_dispatch" | "repository_dispatch")
        )
}
