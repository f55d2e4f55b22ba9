//! The publish stage: where a run's report goes after the scan and the record. Inside GitHub
//! Actions the runner's own channels (job summary, step outputs, annotations at each drifted
//! resource's declaration or template line); with a repository and a token (Actions, or
//! `--repo` by hand) the REST API (comment, check or status, drift issues).
//!
//! [`PublishSettings`] is what the command line asked for; [`Publisher::resolve`] settles it
//! against the environment before the scan runs, so bad settings fail first. Nothing here
//! prints: [`Publisher::publish`] returns what it did, what it left undone and what failed;
//! [`Publisher::publish_remediation`] does the same for a remediation's report.

mod adoption;
mod locate;
mod remediation;

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use crate::actions::{self, Annotation, RunnerFileError, RunnerFiles, MAX_WARNINGS_PER_STEP};
use crate::context::{pull_request_head_sha, pull_request_number};
use crate::drift::Stack;
use crate::github::{self, GithubError, Publication, PublishOptions, Repo, RetryPolicy, Target};
use crate::report::markdown::{Budget, Frame, RunLink};

use locate::Declared;

pub use adoption::AdoptionPulls;
pub use remediation::RemediationNotice;

/// What the command line asked of the publish stage, before the environment is consulted.
#[derive(Debug, Clone, Default)]
pub struct PublishSettings {
    /// The API token given on the command line (else the caller's fallback).
    pub github_token: Option<String>,
    /// The repository to report to; outside Actions, giving it turns reporting on.
    pub repo: Option<Repo>,
    pub pull_request: Option<u64>,
    pub sha: Option<String>,
    pub github_api_url: String,
    /// Names the comment and issue (default: the stack directory and workspace).
    pub report_id: Option<String>,
    pub comment: bool,
    pub status: bool,
    pub issue: bool,
    pub summary: bool,
    pub annotations: bool,
    pub fail_on_drift: bool,
    pub issue_label: String,
    pub status_name: String,
}

/// Settings that cannot work, named before the scan runs.
#[derive(Debug, thiserror::Error)]
pub enum PublishError {
    #[error("GITHUB_REPOSITORY: {0}")]
    Repository(String),
    #[error("--repo {0} needs a token: set GITHUB_TOKEN or pass --github-token")]
    NoToken(Repo),
    #[error("--pr needs --repo OWNER/NAME (or GITHUB_REPOSITORY in Actions)")]
    NoRepository,
}

/// One part of publishing that failed; the others were still tried.
#[derive(Debug, thiserror::Error)]
pub enum PublishFailure {
    #[error("writing the job summary")]
    JobSummary(#[source] RunnerFileError),
    #[error("writing the step outputs")]
    StepOutputs(#[source] OutputsError),
    #[error("reporting to GitHub failed")]
    Github(#[source] GithubError),
}

/// Why the step outputs could not be written.
#[derive(Debug, thiserror::Error)]
pub enum OutputsError {
    #[error(transparent)]
    File(#[from] RunnerFileError),
    #[error("creating {} for the JSON report", path.display())]
    ReportDir {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("writing the JSON report to {}", path.display())]
    Report {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

/// What publishing did: for the caller to show, in this order.
#[derive(Debug, Default)]
pub struct Published {
    /// Workflow commands for the runner (annotations), one line each.
    pub annotations: Vec<Annotation>,
    /// One line per thing done on GitHub.
    pub done: Vec<String>,
    /// Things left undone that must not fail the job (no token, missing permissions, a stop).
    pub warnings: Vec<String>,
    pub failures: Vec<PublishFailure>,
    /// Each stack's drift issue page, by the stack's index in the publication.
    pub issues: Vec<(usize, String)>,
}

impl Published {
    /// What publishing did, a line each for standard error: annotations (the runner reads
    /// workflow commands from both streams; stdout keeps only the report), what was done,
    /// warnings.
    pub fn lines(&self) -> Vec<String> {
        let annotations = self.annotations.iter().map(ToString::to_string);
        let done = self
            .done
            .iter()
            .map(|done| format!("driftlog: github: {done}"));
        let warnings = self
            .warnings
            .iter()
            .map(|w| format!("driftlog: warning: {w}"));
        annotations.chain(done).chain(warnings).collect()
    }

    /// [`Published::lines`] and a line for each failure but the first, which is returned:
    /// for the commands that publish and stop at a failure.
    pub fn conclude(self) -> (Vec<String>, Option<PublishFailure>) {
        let mut lines = self.lines();
        let mut failures = self.failures.into_iter();
        let first = failures.next();
        let others = failures.map(|err| format!("driftlog: error: {}", super::full_chain(&err)));
        lines.extend(others);
        (lines, first)
    }
}

/// The publish stage, settled against the environment.
pub struct Publisher {
    settings: PublishSettings,
    env: HashMap<String, String>,
    in_actions: bool,
    runner: RunnerFiles,
    /// The API target and token; `None` when the API is not used.
    api: Option<(Target, String)>,
    /// Why the API is not used although it would be expected.
    skipped: Option<String>,
}

impl Publisher {
    /// Settles `settings` against `env` (the process environment): in Actions the repository,
    /// pull request and commit come from the runner's variables and event payload.
    /// `fallback_token` is used when the settings name none.
    pub fn resolve(
        settings: PublishSettings,
        env: HashMap<String, String>,
        fallback_token: Option<String>,
    ) -> Result<Publisher, PublishError> {
        let var = |name: &str| env.get(name).filter(|v| !v.is_empty()).cloned();
        let in_actions = var("GITHUB_ACTIONS").as_deref() == Some("true");
        let event = var("GITHUB_EVENT_PATH").and_then(crate::context::read_event_payload);
        let repo = match (&settings.repo, in_actions) {
            (Some(repo), _) => Some(repo.clone()),
            (None, true) => var("GITHUB_REPOSITORY")
                .map(|name| name.parse::<Repo>())
                .transpose()
                .map_err(|err| PublishError::Repository(err.to_string()))?,
            (None, false) => None,
        };
        let token = settings
            .github_token
            .clone()
            .filter(|t| !t.trim().is_empty())
            .or(fallback_token);
        let mut skipped = None;
        let api = match (repo, token) {
            (Some(repo), Some(token)) => {
                let pull_request = settings
                    .pull_request
                    .or_else(|| event.as_deref().and_then(pull_request_number));
                let sha = settings.sha.clone().or_else(|| {
                    event
                        .as_deref()
                        .and_then(pull_request_head_sha)
                        .or_else(|| var("GITHUB_SHA"))
                });
                let api_url = match settings.github_api_url.trim() {
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
            (Some(repo), None) if settings.repo.is_some() => {
                return Err(PublishError::NoToken(repo))
            }
            (Some(_), None) => {
                skipped = Some(
                    "no GitHub token, so no comment, status or issue: pass `github-token: ${{ \
                     github.token }}` (GITHUB_TOKEN) or --github-token"
                        .to_owned(),
                );
                None
            }
            (None, _) if settings.pull_request.is_some() => return Err(PublishError::NoRepository),
            (None, _) => None,
        };
        Ok(Publisher {
            settings,
            runner: RunnerFiles::from_env(&env),
            env,
            in_actions,
            api,
            skipped,
        })
    }

    /// Whether this runs inside GitHub Actions.
    pub fn in_actions(&self) -> bool {
        self.in_actions
    }

    /// Adds `markdown` to the job summary, when there is one and it is on.
    pub fn append_summary(&self, markdown: &str) -> Result<(), RunnerFileError> {
        match &self.runner.step_summary {
            Some(path) if self.in_actions && self.settings.summary && !markdown.is_empty() => {
                actions::append_step_summary(path, markdown)
            }
            _ => Ok(()),
        }
    }

    /// The pages a notification about the publication's stack `index` links: the workflow
    /// run, the pull request checked, and the stack's drift issue (from `issues`).
    pub fn links(&self, index: usize, issues: &[(usize, String)]) -> crate::notify::Links {
        let server = self
            .env
            .get("GITHUB_SERVER_URL")
            .filter(|v| !v.is_empty())
            .map_or("https://github.com", String::as_str)
            .trim_end_matches('/');
        let pull_request = self.api.as_ref().and_then(|(target, _)| {
            let number = target.pull_request?;
            Some(format!("{server}/{}/pull/{number}", target.repo))
        });
        crate::notify::Links {
            run: run_link(&self.env).map(|link| link.url),
            issue: issues
                .iter()
                .find(|(at, url)| *at == index && !url.is_empty())
                .map(|(_, url)| url.clone()),
            pull_request,
        }
    }

    /// Writes the job summary, step outputs and annotations, then posts to GitHub, each
    /// whatever became of the others. Problems with permissions are warnings; every other
    /// failure is returned, in order, once everything was tried. `report_json` is where the
    /// JSON report was saved, if it was.
    pub fn publish(&self, publication: Publication<'_>, report_json: Option<&Path>) -> Published {
        let mut published = Published::default();
        let frame = Frame {
            run: run_link(&self.env),
            ..Frame::default()
        };
        if self.in_actions {
            self.runner_files(publication, report_json, &frame, &mut published.failures);
            if self.settings.annotations {
                published.annotations = self.annotations(publication);
            }
        }
        published.warnings.extend(self.skipped.clone());
        if crate::interrupt::requested() {
            // Stopped: nothing more goes out, not even a request that would be abandoned.
            if self.api.is_some() {
                published
                    .warnings
                    .push("stopped, so nothing was posted to GitHub".to_owned());
            }
            return published;
        }
        let Some((target, token)) = &self.api else {
            return published;
        };
        let stack_ids: Vec<String> = publication
            .stacks()
            .into_iter()
            .map(|report| default_report_id(&report.stack, &self.env))
            .collect();
        let id = match (&self.settings.report_id, publication) {
            (Some(id), _) => id.clone(),
            (None, Publication::Single(_)) => stack_ids.first().cloned().unwrap_or_default(),
            (None, Publication::Combined(_)) => "all stacks".to_owned(),
        };
        let options = PublishOptions {
            comment: self.settings.comment,
            status: self.settings.status,
            issue: self.settings.issue && keeps_issues(self.in_actions, &self.env),
            fail_on_drift: self.settings.fail_on_drift,
            id,
            stack_ids,
            issue_label: self.settings.issue_label.clone(),
            status_name: self.settings.status_name.clone(),
            retry: RetryPolicy::default(),
        };
        let posted = github::publish(publication, target, token, &options);
        published.done = posted.done;
        published.issues = posted.issues;
        published.warnings.extend(posted.warnings);
        published
            .failures
            .extend(posted.errors.into_iter().map(PublishFailure::Github));
        published
    }

    /// The job summary, then the step outputs: a failure of one does not keep the other.
    fn runner_files(
        &self,
        publication: Publication<'_>,
        report_json: Option<&Path>,
        frame: &Frame,
        failures: &mut Vec<PublishFailure>,
    ) {
        if let (Some(path), true) = (&self.runner.step_summary, self.settings.summary) {
            let summary = publication.render(&Budget::GITHUB_COMMENT, frame);
            if let Err(err) = actions::append_step_summary(path, &summary) {
                failures.push(PublishFailure::JobSummary(err));
            }
        }
        if let Some(path) = &self.runner.output {
            if let Err(err) = self.step_outputs(path, publication, report_json) {
                failures.push(PublishFailure::StepOutputs(err));
            }
        }
    }

    fn step_outputs(
        &self,
        path: &Path,
        publication: Publication<'_>,
        report_json: Option<&Path>,
    ) -> Result<(), OutputsError> {
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
    fn save_report_json(&self, publication: Publication<'_>) -> Result<PathBuf, OutputsError> {
        let dir = self
            .env
            .get("RUNNER_TEMP")
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
            .unwrap_or_else(std::env::temp_dir)
            .join("driftlog");
        std::fs::create_dir_all(&dir).map_err(|source| OutputsError::ReportDir {
            path: dir.clone(),
            source,
        })?;
        let (name, json) = match publication {
            Publication::Single(report) => (
                default_report_id(&report.stack, &self.env),
                crate::report::json(report),
            ),
            Publication::Combined(report) => (
                "all-stacks".to_owned(),
                crate::report::render_combined(report, crate::report::Format::Json, false),
            ),
        };
        let name: String = name
            .chars()
            .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
            .collect();
        let path = dir.join(format!("{name}.json"));
        std::fs::write(&path, json).map_err(|source| OutputsError::Report {
            path: path.clone(),
            source,
        })?;
        Ok(path)
    }

    /// Warnings at each drifted resource's declaration (a Terraform block, a resource of a
    /// CloudFormation template), at most ten in all (what Actions shows per step).
    fn annotations(&self, publication: Publication<'_>) -> Vec<Annotation> {
        let workspace = self
            .env
            .get("GITHUB_WORKSPACE")
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
            .or_else(|| std::env::current_dir().ok())
            .and_then(|dir| dir.canonicalize().ok());
        // Where the configuration was read, which template paths are relative to.
        let root = super::stacks::repository_root();
        let mut annotations = Vec::new();
        for report in publication.stacks() {
            let room = MAX_WARNINGS_PER_STEP.saturating_sub(annotations.len());
            if room == 0 {
                break;
            }
            let declared = Declared::load(report, &root, workspace.as_deref());
            // Called for the annotated resources only, so a template is parsed at most ten
            // times.
            let locate = |resource: &crate::drift::DriftedResource| {
                declared.locate(resource, workspace.as_deref())
            };
            annotations.extend(actions::drift_annotations(report, &locate, room));
        }
        annotations
    }
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
fn default_report_id(stack: &Stack, env: &HashMap<String, String>) -> String {
    let relative = env
        .get("GITHUB_WORKSPACE")
        .filter(|v| !v.is_empty())
        .and_then(|workspace| {
            let workspace = Path::new(workspace).canonicalize().ok()?;
            let dir = Path::new(&stack.dir).canonicalize().ok()?;
            Some(
                dir.strip_prefix(workspace)
                    .ok()?
                    .to_string_lossy()
                    .into_owned(),
            )
        });
    let dir = relative.unwrap_or_else(|| stack.dir.clone());
    let dir = dir.trim_end_matches('/');
    let dir = dir.strip_prefix("./").unwrap_or(dir);
    let dir = if dir.is_empty() { "." } else { dir };
    match stack.workspace.as_str() {
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
