//! The apply stage, `driftlog apply` from its checks to its record: everything that can be
//! checked is checked before terraform changes anything (the directory, the workspace, where
//! the record goes: an apply that cannot be recorded must not start), then terraform applies
//! while its output is handed on as it comes, then the record is appended. An apply whose
//! record then fails names the changes that went unrecorded.

use std::ffi::OsString;
use std::path::PathBuf;

use crate::audit::recorder::{self, AppliedRun, AuditOptions, RecordError, RecordTarget, Subject};
use crate::drift::Severity;
use crate::report::apply as shown;
use crate::terraform::apply::{ApplyMessage, ApplyRequest};
use crate::terraform::{Terraform, TerraformError};

/// How to apply, as the command line asked.
pub struct ApplySettings {
    /// The stack (root module).
    pub dir: PathBuf,
    pub terraform_bin: OsString,
    /// The workspace to apply in (default: the selected one); it must exist.
    pub workspace: Option<String>,
    /// The `terraform apply` arguments, checked.
    pub request: ApplyRequest,
    /// Where and how to record; `None` when recording is off.
    pub audit: Option<AuditOptions>,
}

/// What a person watching the apply is shown, as it happens (terraform's progress is not
/// held back until the apply ends).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shown<'a> {
    /// A line for standard output: terraform's progress, or a line of its that was not JSON.
    Progress(&'a str),
    /// Text for standard error, as it is: diagnostics, warnings, why the apply failed, where
    /// its record went.
    Notice(&'a str),
}

/// Why an apply did not start, or was not recorded. Where a reason is another error, only its
/// message is shown, the way it reads on its own.
#[derive(Debug, thiserror::Error)]
pub enum ApplyError {
    #[error("{} is not a directory; nothing was applied", .0.display())]
    NotADirectory(PathBuf),
    #[error(transparent)]
    Workspace(TerraformError),
    #[error("the apply could not be recorded in the audit log, so it was not started: {0}")]
    NotRecordable(RecordError),
    #[error("terraform apply did not run: {0}")]
    NotRun(TerraformError),
    #[error("the apply was NOT recorded in the audit log: {0}")]
    NotRecorded(RecordError),
}

/// Applies as `settings` say, handing what a person should see to `show` as it comes, and
/// records the apply; terraform's exit code.
pub fn apply(settings: &ApplySettings, show: &mut dyn FnMut(Shown<'_>)) -> Result<u8, ApplyError> {
    if !settings.dir.is_dir() {
        return Err(ApplyError::NotADirectory(settings.dir.clone()));
    }
    let terraform = Terraform::new(
        settings.terraform_bin.clone(),
        settings.dir.clone(),
        settings.workspace.clone(),
    );
    terraform
        .ensure_workspace_exists()
        .map_err(ApplyError::Workspace)?;
    let target = match &settings.audit {
        Some(audit) => Some(
            RecordTarget::locate(&settings.dir, &terraform.workspace(), audit, Subject::Apply)
                .and_then(|target| target.check(audit).map(|()| target))
                .map_err(ApplyError::NotRecordable)?,
        ),
        None => None,
    };

    let run = terraform
        .apply(&settings.request, &mut |message| match message {
            ApplyMessage::Progress(text) | ApplyMessage::Text(text) => show(Shown::Progress(text)),
            ApplyMessage::Diagnostic(diagnostic) => {
                show(Shown::Notice(&shown::diagnostic(diagnostic)))
            }
        })
        .map_err(ApplyError::NotRun)?;
    if run.unparsed_lines > 0 {
        show(Shown::Notice(&format!(
            "driftlog: warning: {} line(s) of terraform's output were not JSON messages; they \
             were shown as they came\n",
            run.unparsed_lines
        )));
    }
    let failure = run.failure();
    if let Some(failure) = &failure {
        // terraform's error diagnostics were shown as they came; without any, the message
        // says what failed, and terraform's standard error follows it.
        let diagnostics_shown = run
            .diagnostics
            .iter()
            .any(|d| d.severity == Severity::Error);
        show(Shown::Notice(&shown::failure(failure, diagnostics_shown)));
    }
    let code = run.exit_code();
    let (Some(audit), Some(target)) = (&settings.audit, target) else {
        return Ok(code);
    };
    let applied = AppliedRun {
        failure,
        tool: run.tool.clone(),
        stream_sha256: run.stream_sha256.clone(),
        outcome: run.outcome,
    };
    match recorder::record_apply(&target, &applied, audit) {
        Ok(outcome) => {
            for line in super::record::recorded_lines(&audit.branch, &outcome) {
                show(Shown::Notice(&format!("{line}\n")));
            }
            Ok(code)
        }
        Err(err) => {
            for line in super::record::unpushed_lines(&err) {
                show(Shown::Notice(&format!("{line}\n")));
            }
            let stack = target.stack();
            show(Shown::Notice(&shown::unrecorded(
                &stack.path,
                &stack.workspace,
                &applied.outcome,
            )));
            Err(ApplyError::NotRecorded(err))
        }
    }
}
