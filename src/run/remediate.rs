//! The remediation stage, `driftlog remediate`: recorded drift reverted by predefined rules
//! through a guarded, targeted apply of a saved plan, and every attempt recorded.
//!
//! It acts only on drift that was recorded (the latest scan record of each stack), and only
//! after a fresh scan shows the same drift: a forged or stale record can at worst name drift
//! that is really there and that a rule allows reverting. Per stack and rule: a targeted
//! plan, the guard ([`crate::remediate::guard`]), the saved plan applied exactly, a scan to
//! verify, and the records. Without `apply` it stops after the guard: a dry run writes
//! nothing, not even the state.

mod gates;
mod stack;

use std::collections::HashMap;
use std::path::PathBuf;

use crate::audit::record::{PlannedChange, RecordRef, Refusal, RemediationOutcome, RuleRef};
use crate::audit::recorder::{AuditOptions, RecordError};
use crate::config::{Config, ConfigError, StackSpec};
use crate::drift::Stack;
use crate::run::pipeline::Line;
use crate::run::publish::{Published, Publisher, RemediationNotice};
use crate::run::stacks::{
    only_cloudformation_line, skipped_line, without_cloudformation, ScanSettings,
};

pub use gates::GateError;

/// How to remediate, as the command line asked.
pub struct RemediateSettings {
    /// Stacks to remediate; none: the configuration's.
    pub dirs: Vec<PathBuf>,
    pub config_file: Option<PathBuf>,
    /// The repository root (where `.driftlog.toml` is).
    pub root: PathBuf,
    pub cwd: PathBuf,
    /// Terraform, as for scans (`plan_args` are never passed to the remediation's plan).
    pub scan: ScanSettings,
    /// Apply the guarded plans; without it, a dry run.
    pub apply: bool,
    /// The most resources this run may revert, over every stack and rule.
    pub max_resources: usize,
    /// The audit branch the scan records are read from.
    pub branch: String,
    /// The repository holding it (default: the one holding each stack).
    pub log_repo: Option<PathBuf>,
    /// Where to record; required with `apply`.
    pub audit: Option<AuditOptions>,
    /// `YYYY-MM-DD` (UTC), for rules' `expires`.
    pub today: String,
    /// The process's environment, for the safety gates.
    pub env: HashMap<String, String>,
}

/// Most resources one run reverts when `--max-resources` is not given.
pub const DEFAULT_MAX_RUN_RESOURCES: usize = 25;

/// What one rule did (or, in a dry run, would do) in one stack.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct RuleResult {
    pub rule: RuleRef,
    /// What the guarded plan changes: the reverts.
    pub changes: Vec<PlannedChange>,
    pub plan_sha256: Option<String>,
    pub refusals: Vec<Refusal>,
    /// `None` in a dry run.
    pub outcome: Option<RemediationOutcome>,
    /// Why it failed, for a failed or interrupted outcome.
    pub failure: Option<String>,
    /// Its record, when it was written.
    pub record: Option<RecordRef>,
}

/// What happened in one stack.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct StackResult {
    pub stack: Stack,
    /// The scan record acted on.
    pub acts_on: Option<RecordRef>,
    pub rules: Vec<RuleResult>,
    /// Resources with counted drift no rule reverts.
    pub unmatched: Vec<String>,
    /// The scan after the applies, when it was recorded.
    pub verified_by: Option<RecordRef>,
    /// The stack could not be remediated at all.
    pub error: Option<String>,
    /// The scan after the applies found no counted drift left.
    pub clean_after: bool,
}

impl StackResult {
    fn new(stack: Stack) -> StackResult {
        StackResult {
            stack,
            acts_on: None,
            rules: Vec::new(),
            unmatched: Vec::new(),
            verified_by: None,
            error: None,
            clean_after: false,
        }
    }

    /// Whether any drift is left that a rule was meant to, or could not, revert.
    pub fn drift_remains(&self) -> bool {
        !self.unmatched.is_empty() || self.rules.iter().any(|r| !r.refusals.is_empty())
    }

    pub fn failed(&self) -> bool {
        self.error.is_some()
            || self.rules.iter().any(|r| {
                matches!(
                    r.outcome,
                    Some(RemediationOutcome::Failed | RemediationOutcome::Interrupted)
                )
            })
    }
}

/// The run's result.
#[derive(Debug, serde::Serialize)]
pub struct Remediated {
    pub applied: bool,
    pub stacks: Vec<StackResult>,
    /// Records that could not be written: the run fails.
    #[serde(skip)]
    pub not_recorded: Vec<RecordError>,
}

impl Remediated {
    /// 0 all reverted or nothing to do, 2 drift remains (refused or not matched), 1 error.
    pub fn exit_code(&self) -> u8 {
        if !self.not_recorded.is_empty() || self.stacks.iter().any(StackResult::failed) {
            1
        } else if self.stacks.iter().any(StackResult::drift_remains) {
            2
        } else {
            0
        }
    }
}

/// Why the run could not start.
#[derive(Debug, thiserror::Error)]
pub enum RemediateError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error(
        "no [[remediate]] rule with action = \"revert\" in {0}: remediation reverts only what a \
         predefined rule names (see docs/remediation.md)"
    )]
    NoRules(String),
    #[error(
        "no stacks to remediate: no directory given and none in the configuration (add \
         [[stacks]] to .driftlog.toml or name the directories)"
    )]
    NoStacks,
    #[error("remediation with --apply records every attempt: give a signing key (--signing-key or DRIFTLOG_SIGNING_KEY), or leave out --apply for a dry run")]
    NoAudit,
    #[error("remediation refused: {0}")]
    Gate(#[from] GateError),
}

/// Remediates as `settings` say, telling `show` what it does as it goes.
pub fn remediate(
    settings: &RemediateSettings,
    show: &mut dyn FnMut(Line<'_>),
) -> Result<Remediated, RemediateError> {
    let config = load_config(settings)?;
    for warning in &config.warnings {
        show(Line::Warning(warning));
    }
    for dir in &settings.dirs {
        crate::config::check_terraform_dir(&settings.root, &settings.cwd, dir)?;
    }
    let specs: Vec<StackSpec> = match settings.dirs.is_empty() {
        true => config.stacks.clone(),
        false => settings
            .dirs
            .iter()
            .map(|d| StackSpec::at(d.clone()))
            .collect(),
    };
    let (specs, skipped) = without_cloudformation(specs);
    for key in &skipped {
        show(Line::Warning(&skipped_line("remediate", key)));
    }
    if specs.is_empty() && !skipped.is_empty() {
        show(Line::Note(&only_cloudformation_line("remediate")));
        return Ok(Remediated {
            applied: settings.apply,
            stacks: Vec::new(),
            not_recorded: Vec::new(),
        });
    }
    if !config
        .remediate
        .iter()
        .any(|r| r.action == crate::config::remediate::Action::Revert)
    {
        return Err(RemediateError::NoRules(config.file_label()));
    }
    if specs.is_empty() {
        return Err(RemediateError::NoStacks);
    }
    let stacks =
        settings
            .scan
            .stack_options(&config, &specs, &settings.cwd, !settings.dirs.is_empty());
    if settings.apply {
        if settings.audit.is_none() {
            return Err(RemediateError::NoAudit);
        }
        gates::check_environment(&settings.env)?;
        for (_, options) in &stacks {
            gates::check_checkout(&options.dir)?;
        }
    }
    let mut result = Remediated {
        applied: settings.apply,
        stacks: Vec::new(),
        not_recorded: Vec::new(),
    };
    let mut budget = settings.max_resources;
    for (_, options) in &stacks {
        if crate::interrupt::requested() {
            break;
        }
        let mut run = stack::StackRun::new(settings, &config, options, &mut budget);
        let stack_result = run.remediate(show);
        result.not_recorded.append(&mut run.not_recorded);
        result.stacks.push(stack_result);
    }
    Ok(result)
}

/// The publish stage of an applied remediation: each stack's result on its drift issue
/// (closed when the stack is clean) and in the job summary. A dry run publishes nothing.
pub fn publish(remediated: &Remediated, publisher: &Publisher) -> Vec<Published> {
    if !remediated.applied {
        return Vec::new();
    }
    remediated
        .stacks
        .iter()
        .filter(|stack| stack.acts_on.is_some())
        .map(|stack| {
            let markdown = crate::report::remediate::markdown(stack, None);
            publisher.publish_remediation(&RemediationNotice {
                stack: &stack.stack,
                markdown: &markdown,
                clean: stack.clean_after,
            })
        })
        .collect()
}

/// [`publish`], worded: each stack's lines and each failure as an error line, and whether
/// any failed (which fails an otherwise clean run).
pub fn publish_lines(remediated: &Remediated, publisher: &Publisher) -> (Vec<String>, bool) {
    let mut lines = Vec::new();
    let mut failed = false;
    for published in publish(remediated, publisher) {
        let (more, failure) = published.conclude();
        lines.extend(more);
        if let Some(failure) = failure {
            lines.push(format!("driftlog: error: {}", super::full_chain(&failure)));
            failed = true;
        }
    }
    (lines, failed)
}

fn load_config(settings: &RemediateSettings) -> Result<Config, ConfigError> {
    let mut config = Config::load(&settings.root, settings.config_file.as_deref())?;
    if !settings.dirs.is_empty() {
        config.stacks.clear();
    }
    Ok(config)
}
