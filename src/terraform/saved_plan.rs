//! The targeted, saved plan a remediation guards and then applies, and nothing else.
//!
//! The plan file holds raw state values, secrets included: it lives in a private temp dir
//! that [`PlanFile`] removes when dropped, on every path out (errors, interrupts: terraform
//! is stopped by driftlog, so the caller unwinds). Applying consumes it, so a plan is applied
//! at most once and never re-planned in between.

use std::io::{self, Read as _};
use std::path::Path;

use super::apply::{ApplyMessage, ApplyRequest, ApplyRun};
use super::show::saved::{parse_saved_plan, PlannedAction, SavedChange, SavedPlan};
use super::stream::StreamEvent;
use super::{sha256_hex, PlanInputs, PlanMode, PlanRun, Terraform, TerraformError};

/// Most resources one remediation plan targets: each is a `-target` argument, and a
/// remediation is meant to be small (rules cap it lower).
pub const MAX_REMEDIATION_TARGETS: usize = 1000;

/// Why a remediation plan could not be made.
#[derive(Debug, thiserror::Error)]
pub enum SavedPlanError {
    #[error(
        "no resource to revert: a remediation plan is always targeted, never of the whole stack"
    )]
    NoTargets,
    #[error(
        "{count} resources to revert, more than one remediation plan targets \
         (MAX_REMEDIATION_TARGETS = {MAX_REMEDIATION_TARGETS}); revert fewer at a time"
    )]
    TooManyTargets { count: usize },
    #[error("creating a private temporary directory for the plan file: {0}")]
    TempDir(io::Error),
    #[error("the temporary directory's path is not UTF-8 ({0}); set TMPDIR to a UTF-8 path")]
    PathNotUtf8(String),
    #[error("reading the saved plan file to hash it: {0}")]
    ReadPlan(io::Error),
    #[error(transparent)]
    Terraform(#[from] TerraformError),
}

impl SavedPlanError {
    /// Whether a stop was asked for or terraform ran out of time.
    pub fn interrupted(&self) -> bool {
        matches!(self, SavedPlanError::Terraform(err) if err.ends_the_scan())
    }
}

/// A plan file driftlog saved, in a private temp dir removed when this is dropped.
#[derive(Debug)]
pub struct PlanFile {
    dir: tempfile::TempDir,
    path: String,
}

impl PlanFile {
    fn new() -> Result<PlanFile, SavedPlanError> {
        let dir = tempfile::Builder::new()
            .prefix("driftlog-remediate-")
            .tempdir()
            .map_err(SavedPlanError::TempDir)?;
        let path = dir.path().join("remediate.tfplan");
        let path = path
            .to_str()
            .ok_or_else(|| SavedPlanError::PathNotUtf8(path.display().to_string()))?
            .to_owned();
        Ok(PlanFile { dir, path })
    }

    pub fn path(&self) -> &Path {
        Path::new(&self.path)
    }

    pub(crate) fn path_str(&self) -> &str {
        &self.path
    }

    /// The private directory holding it (removed with it).
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }
}

/// A saved remediation plan: what terraform said planning it, what applying it would do,
/// and the file itself.
#[derive(Debug)]
pub struct RemediationPlan {
    pub run: PlanRun,
    /// Typed and redacted: what the guard judges.
    pub plan: SavedPlan,
    /// SHA-256 of the plan file: names exactly what is applied.
    pub plan_sha256: String,
    /// SHA-256 of its `show -json` document.
    pub show_sha256: String,
    /// Only [`Terraform::apply_saved_plan`] applies it.
    pub file: PlanFile,
}

impl Terraform {
    /// `terraform plan -json -input=false -detailed-exitcode -out=FILE -target=ADDR...` of
    /// the resources to revert (with the stack's `-var`s and var files, never the user's
    /// extra arguments), then `show -json FILE` read into a [`SavedPlan`].
    pub fn plan_remediation(
        &self,
        targets: &[String],
        inputs: &PlanInputs,
        on_event: &mut dyn FnMut(&StreamEvent),
    ) -> Result<RemediationPlan, SavedPlanError> {
        check_targets(targets)?;
        let file = PlanFile::new()?;
        let mode = PlanMode::Remediate {
            targets: targets.to_vec(),
        };
        let run = self.plan(&mode, inputs, file.path(), on_event)?;
        let json = self.show_json(file.path())?;
        let show_sha256 = sha256_hex(&json);
        let plan = parse_saved_plan(&json).map_err(TerraformError::from)?;
        let plan_sha256 = file_sha256(file.path()).map_err(SavedPlanError::ReadPlan)?;
        Ok(RemediationPlan {
            run,
            plan,
            plan_sha256,
            show_sha256,
            file,
        })
    }

    /// What the configuration would change of `targets` against the state alone
    /// (`plan -refresh=false`, targeted, never the user's extra arguments): code changed and
    /// never applied, sensitive attributes included, since no value needs comparing. Its
    /// plan file is removed before this returns.
    pub fn unapplied_code(
        &self,
        targets: &[String],
        inputs: &PlanInputs,
    ) -> Result<Vec<SavedChange>, SavedPlanError> {
        check_targets(targets)?;
        let file = PlanFile::new()?;
        let mode = PlanMode::UnappliedCode {
            targets: targets.to_vec(),
        };
        self.plan(&mode, inputs, file.path(), &mut |_| {})?;
        let plan = parse_saved_plan(&self.show_json(file.path())?).map_err(TerraformError::from)?;
        Ok(plan
            .changes
            .into_iter()
            .filter(|c| c.action != PlannedAction::NoOp)
            .collect())
    }

    /// `terraform apply -json -input=false FILE` of exactly that saved plan, its stream read
    /// as [`Terraform::apply`] reads it (one SIGINT on a stop; `interrupted` set). The plan
    /// file is removed when this returns, whatever happened.
    pub fn apply_saved_plan(
        &self,
        file: PlanFile,
        on_message: &mut dyn FnMut(ApplyMessage<'_>),
    ) -> Result<SavedApply, TerraformError> {
        let run = self.apply(&ApplyRequest::saved_plan(&file), on_message)?;
        drop(file);
        let outcome = if run.interrupted {
            SavedApplyOutcome::Interrupted
        } else if run.succeeded() {
            SavedApplyOutcome::Applied
        } else {
            SavedApplyOutcome::Failed
        };
        Ok(SavedApply { outcome, run })
    }
}

/// How the apply of a saved plan ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SavedApplyOutcome {
    /// Terraform applied it and said so.
    Applied,
    /// A stop was asked for while it ran: whatever terraform's exit code, the revert is not
    /// known to be complete (a failed remediation).
    Interrupted,
    /// Terraform said it failed (some changes may have been made: see the run).
    Failed,
}

/// The apply of a saved plan: how it ended, and what terraform's stream said.
#[derive(Debug, Clone, PartialEq)]
pub struct SavedApply {
    pub outcome: SavedApplyOutcome,
    pub run: ApplyRun,
}

/// A remediation's plans are targeted, at a bounded number of resources.
fn check_targets(targets: &[String]) -> Result<(), SavedPlanError> {
    match targets.len() {
        0 => Err(SavedPlanError::NoTargets),
        count if count > MAX_REMEDIATION_TARGETS => Err(SavedPlanError::TooManyTargets { count }),
        _ => Ok(()),
    }
}

/// SHA-256 of a file, read in pieces (a plan of a large stack is large).
fn file_sha256(path: &Path) -> io::Result<String> {
    let mut file = std::fs::File::open(path)?;
    let mut context = ring::digest::Context::new(&ring::digest::SHA256);
    let mut buffer = vec![0; 64 * 1024];
    loop {
        let read = file.read(&mut buffer)?;
        if read == 0 {
            break;
        }
        context.update(&buffer[..read]);
    }
    Ok(super::hex(context.finish().as_ref()))
}
