//! The adoption stage, `driftlog adopt`: recorded drift the `adopt` rules take is written into
//! the configuration, proven by a Terraform plan of the edited code, and delivered as a
//! patch, as edited files, or as a pull request; every delivery that changes code is recorded.
//!
//! Like remediation it acts only on the latest scan record of each stack. Unlike it, it
//! needs no fresh scan first: the proof plan compares the edited code with the real
//! resources, so a value a record names that is not real fails the proof and is dropped.

mod deliver;
mod stack;

use std::path::PathBuf;

use crate::audit::record::{
    AdoptedAttribute, AdoptedFile, AdoptionOutcome, AdoptionProof, AdoptionRefusal,
    PullRequestLink, RecordRef, RuleRef,
};
use crate::audit::recorder::{AuditOptions, RecordError};
use crate::config::remediate::Action as RuleAction;
use crate::config::{Config, ConfigError, StackSpec};
use crate::drift::Stack;
use crate::run::pipeline::Line;
use crate::run::publish::Publisher;
use crate::run::stacks::{
    only_cloudformation_line, skipped_line, without_cloudformation, ScanSettings,
};

/// Where an adoption's edit goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Delivery {
    /// Printed as a unified diff; nothing written, nothing recorded.
    Patch,
    /// Written to the files in place.
    Write,
    /// A commit on `driftlog/adopt/<stack>` and a pull request into the default branch.
    PullRequest,
}

/// How to adopt, as the command line asked.
pub struct AdoptSettings {
    /// Stacks to adopt into; none: the configuration's.
    pub dirs: Vec<PathBuf>,
    pub config_file: Option<PathBuf>,
    /// The repository root (where `.driftlog.toml` is).
    pub root: PathBuf,
    pub cwd: PathBuf,
    /// Terraform, as for scans (`plan_args` never reach the proof plan).
    pub scan: ScanSettings,
    pub delivery: Delivery,
    /// The audit branch the scan records are read from.
    pub branch: String,
    /// The repository holding it (default: the one holding each stack).
    pub log_repo: Option<PathBuf>,
    /// Where to record; required to write or to propose.
    pub audit: Option<AuditOptions>,
    /// `YYYY-MM-DD` (UTC), for rules' `expires`.
    pub today: String,
    /// The branch pull requests go into (default: the repository's default branch).
    pub base: Option<String>,
    /// Cloud audit events for the pull request's explanations (`--events`).
    pub events: Option<crate::events::EventLog>,
}

/// One rule's share of a stack's adoption.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct RuleAdopted {
    pub rule: RuleRef,
    pub adopted: Vec<AdoptedAttribute>,
    pub refusals: Vec<AdoptionRefusal>,
}

/// What happened in one stack.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct StackAdoption {
    pub stack: Stack,
    /// The scan record adopted from.
    pub acts_on: Option<RecordRef>,
    pub rules: Vec<RuleAdopted>,
    pub files: Vec<AdoptedFile>,
    /// The unified diff of `files`.
    pub patch: Option<String>,
    pub proof: Option<AdoptionProof>,
    /// `None`: nothing was delivered (a patch, or nothing to adopt).
    pub outcome: Option<AdoptionOutcome>,
    pub pull_request: Option<PullRequestLink>,
    /// The records written, one per rule.
    pub records: Vec<RecordRef>,
    /// The stack could not be adopted into at all.
    pub error: Option<String>,
}

impl StackAdoption {
    fn new(stack: Stack) -> StackAdoption {
        StackAdoption {
            stack,
            acts_on: None,
            rules: Vec::new(),
            files: Vec::new(),
            patch: None,
            proof: None,
            outcome: None,
            pull_request: None,
            records: Vec::new(),
            error: None,
        }
    }

    pub fn adopted(&self) -> impl Iterator<Item = &AdoptedAttribute> {
        self.rules.iter().flat_map(|r| &r.adopted)
    }

    pub fn refusals(&self) -> impl Iterator<Item = &AdoptionRefusal> {
        self.rules.iter().flat_map(|r| &r.refusals)
    }

    pub fn failed(&self) -> bool {
        self.error.is_some() || self.outcome == Some(AdoptionOutcome::Failed)
    }
}

/// The run's result.
#[derive(Debug, serde::Serialize)]
pub struct Adopted {
    pub delivery: Delivery,
    pub stacks: Vec<StackAdoption>,
    /// Records that could not be written: the run fails.
    #[serde(skip)]
    pub not_recorded: Vec<RecordError>,
}

impl Adopted {
    /// 1 an error, or drift selected for adoption of which nothing could be adopted; 2 some
    /// of it refused; 0 all of it adopted, or nothing to adopt.
    pub fn exit_code(&self) -> u8 {
        let adopted = self.stacks.iter().any(|s| s.adopted().next().is_some());
        let refused = self.stacks.iter().any(|s| s.refusals().next().is_some());
        let failed = !self.not_recorded.is_empty() || self.stacks.iter().any(StackAdoption::failed);
        if failed || (refused && !adopted) {
            1
        } else if refused {
            2
        } else {
            0
        }
    }
}

/// Why the run could not start.
#[derive(Debug, thiserror::Error)]
pub enum AdoptError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error(
        "no [[remediate]] rule with action = \"adopt\" in {0}: adoption writes into code only \
         what a predefined rule names (see docs/adopt.md)"
    )]
    NoRules(String),
    #[error(
        "no stacks to adopt into: no directory given and none in the configuration (add \
         [[stacks]] to .driftlog.toml or name the directories)"
    )]
    NoStacks,
    #[error(
        "an adoption that writes files or opens a pull request is recorded: give a signing key \
         (--signing-key or DRIFTLOG_SIGNING_KEY), or use --patch to only print the change"
    )]
    NoAudit,
    #[error(
        "a pull request needs the GitHub API: {0} (or use --write to edit the files, --patch \
         to print the change)"
    )]
    NoGithub(String),
}

/// Adopts as `settings` say, telling `show` what it does as it goes.
pub fn adopt(
    settings: &AdoptSettings,
    publisher: &Publisher,
    show: &mut dyn FnMut(Line<'_>),
) -> Result<Adopted, AdoptError> {
    let mut config = Config::load(&settings.root, settings.config_file.as_deref())?;
    if !settings.dirs.is_empty() {
        config.stacks.clear();
    }
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
        show(Line::Warning(&skipped_line("adopt", key)));
    }
    if specs.is_empty() && !skipped.is_empty() {
        show(Line::Note(&only_cloudformation_line("adopt")));
        return Ok(Adopted {
            delivery: settings.delivery,
            stacks: Vec::new(),
            not_recorded: Vec::new(),
        });
    }
    if !config
        .remediate
        .iter()
        .any(|r| r.action == RuleAction::Adopt)
    {
        return Err(AdoptError::NoRules(config.file_label()));
    }
    if specs.is_empty() {
        return Err(AdoptError::NoStacks);
    }
    if settings.delivery != Delivery::Patch && settings.audit.is_none() {
        return Err(AdoptError::NoAudit);
    }
    let pulls = match settings.delivery {
        Delivery::PullRequest => Some(publisher.adoption_pulls().map_err(AdoptError::NoGithub)?),
        _ => None,
    };
    let stacks =
        settings
            .scan
            .stack_options(&config, &specs, &settings.cwd, !settings.dirs.is_empty());
    let mut result = Adopted {
        delivery: settings.delivery,
        stacks: Vec::new(),
        not_recorded: Vec::new(),
    };
    for (_, options) in &stacks {
        if crate::interrupt::requested() {
            break;
        }
        let mut run = stack::StackRun {
            settings,
            config: &config,
            options,
            pulls: pulls.as_ref(),
            not_recorded: Vec::new(),
        };
        let adoption = run.adopt(show);
        result.not_recorded.append(&mut run.not_recorded);
        result.stacks.push(adoption);
    }
    Ok(result)
}

/// The branch a stack's adoption is proposed on: `driftlog/adopt/<stack>`, the stack path's
/// `/` as `-` (one ref per stack, never one inside another), the workspace appended when it
/// is not `default`; anything git would refuse in a ref name becomes `_`.
pub fn branch_name(stack_path: &str, workspace: &str) -> String {
    let mut name = match stack_path.trim_matches('/') {
        "" | "." => "root".to_owned(),
        path => path.replace('/', "-"),
    };
    if workspace != "default" {
        name.push_str("--");
        name.push_str(workspace);
    }
    let clean: String = name
        .chars()
        .map(|c| match c {
            'a'..='z' | 'A'..='Z' | '0'..='9' | '-' | '_' => c,
            '.' => '.',
            _ => '_',
        })
        .collect();
    // `..`, a leading `.` and a trailing `.lock` are not allowed in a ref's part.
    let clean = clean.replace("..", "__");
    let clean = clean.trim_start_matches('.').to_owned();
    let clean = match clean.strip_suffix(".lock") {
        Some(stem) => format!("{stem}_lock"),
        None => clean,
    };
    format!("driftlog/adopt/{clean}")
}

#[cfg(test)]
mod tests {
    use super::branch_name;

    #[test]
    fn branch_names_are_one_valid_ref_part_per_stack() {
        assert_eq!(branch_name(".", "default"), "driftlog/adopt/root");
        assert_eq!(
            branch_name("infra/prod", "default"),
            "driftlog/adopt/infra-prod"
        );
        assert_eq!(
            branch_name("infra/prod", "blue"),
            "driftlog/adopt/infra-prod--blue"
        );
        for hostile in ["a/../b", ".hidden", "x.lock", "sp ace/~^:?*[\\", "a..b"] {
            let name = branch_name(hostile, "w@{1}");
            assert!(
                git2::Reference::is_valid_name(&format!("refs/heads/{name}")),
                "{hostile}: {name}"
            );
        }
    }
}
