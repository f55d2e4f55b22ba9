//! `driftlog apply`: run `terraform apply`, show its progress, record what it changed, and
//! exit with terraform's exit code.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use driftlog::audit::record::{ApplyOutcome, ChangeOutcome};
use driftlog::audit::recorder::{self, AppliedRun, RecordTarget, Subject};
use driftlog::drift::{Action, Diagnostic, Severity};
use driftlog::terraform::apply::{ApplyMessage, ApplyRequest};
use driftlog::terraform::Terraform;

use crate::audit_args::{print_recorded, print_unpushed_warnings, AuditArgs};

#[derive(Debug, clap::Args)]
#[command(
    after_help = "Runs `terraform apply -json -input=false APPLY_ARGS` in DIR, prints \
                  terraform's progress as it arrives, and appends a signed record of what it \
                  changed (or failed to change) to the audit branch. terraform must not need to \
                  ask: pass -auto-approve, or a plan file saved by `terraform plan -out=FILE`. \
                  Everything the record needs (the signing key, the repository) is checked \
                  before terraform runs. Exits with terraform's exit code, or 1 when the \
                  record could not be written."
)]
pub struct Args {
    /// The stack (root module) to apply.
    #[arg(value_name = "DIR", default_value = ".")]
    pub dir: PathBuf,

    /// Terraform binary to run (a name on PATH or a path); `tofu` works too.
    #[arg(
        long,
        env = "DRIFTLOG_TERRAFORM_BIN",
        default_value = "terraform",
        value_name = "PATH"
    )]
    pub terraform_bin: PathBuf,

    /// Terraform workspace to apply in (default: the selected one); it must exist.
    #[arg(long, value_name = "NAME")]
    pub workspace: Option<String>,

    #[command(flatten)]
    pub audit: AuditArgs,

    /// Arguments for `terraform apply`, after `--`: `-auto-approve` or a saved plan file,
    /// and any other flags (`-- -auto-approve -var x=1`, `-- tfplan`).
    #[arg(last = true, value_name = "APPLY_ARGS", allow_hyphen_values = true)]
    pub apply_args: Vec<String>,
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    // Everything that can be checked is checked before terraform changes anything: an
    // apply that cannot be recorded must not start.
    let request = ApplyRequest::new(args.apply_args.clone())?;
    let audit = args.audit.options(Subject::Apply)?;
    if !args.dir.is_dir() {
        anyhow::bail!(
            "{} is not a directory; nothing was applied",
            args.dir.display()
        );
    }
    let terraform = Terraform::new(
        args.terraform_bin.clone().into_os_string(),
        args.dir.clone(),
        args.workspace.clone(),
    );
    terraform.ensure_workspace_exists()?;
    let target = match &audit {
        Some(audit) => {
            let target =
                RecordTarget::locate(&args.dir, &terraform.workspace(), audit, Subject::Apply)
                    .and_then(|target| target.check(audit).map(|()| target))
                    .map_err(|err| {
                        anyhow::anyhow!("{err}").context(
                            "the apply could not be recorded in the audit log, so it was not \
                             started",
                        )
                    })?;
            Some(target)
        }
        None => None,
    };

    let mut stdout = std::io::stdout();
    let run = terraform
        .apply(&request, &mut |message| match message {
            ApplyMessage::Progress(text) | ApplyMessage::Text(text) => {
                // A reader that went away must not stop the apply or its record.
                let _ = writeln!(stdout, "{text}").and_then(|()| stdout.flush());
            }
            ApplyMessage::Diagnostic(diagnostic) => eprint!("{}", show_diagnostic(diagnostic)),
        })
        .map_err(|err| anyhow::anyhow!("{err}").context("terraform apply did not run"))?;
    if run.unparsed_lines > 0 {
        eprintln!(
            "driftlog: warning: {} line(s) of terraform's output were not JSON messages; they \
             were shown as they came",
            run.unparsed_lines
        );
    }
    let failure = run.failure();
    if let Some(failure) = &failure {
        // terraform's error diagnostics were shown as they came; without any, the message
        // says what failed, and terraform's standard error follows it.
        let shown = run
            .diagnostics
            .iter()
            .any(|d| d.severity == Severity::Error);
        let message = match shown {
            true => failure
                .message
                .lines()
                .next()
                .unwrap_or_default()
                .trim_end_matches(':'),
            false => failure.message.as_str(),
        };
        eprintln!("driftlog: {message}");
        if let Some(text) = driftlog::report::terminal::failure_output(failure) {
            eprint!("{text}");
        }
    }
    let code = run.exit_code();
    let (Some(audit), Some(target)) = (audit, target) else {
        return Ok(ExitCode::from(code));
    };
    let applied = AppliedRun {
        failure,
        tool: run.tool.clone(),
        stream_sha256: run.stream_sha256.clone(),
        outcome: run.outcome,
    };
    match recorder::record_apply(&target, &applied, &audit) {
        Ok(outcome) => {
            print_recorded(&audit.branch, &outcome);
            Ok(ExitCode::from(code))
        }
        Err(err) => {
            print_unpushed_warnings(&err);
            // terraform's changes are real either way: say exactly which ones went unrecorded.
            eprintln!(
                "driftlog: terraform apply in {} ({}) {}; these changes were NOT recorded:\n{}",
                target.stack().path,
                target.stack().workspace,
                match applied.outcome.exit_code {
                    Some(0) => "succeeded".to_owned(),
                    Some(code) => format!("failed with exit code {code}"),
                    None => "was killed by a signal".to_owned(),
                },
                describe_changes(&applied.outcome)
            );
            Err(anyhow::anyhow!("{err}").context("the apply was NOT recorded in the audit log"))
        }
    }
}

/// A diagnostic as terraform shows one: severity and summary, where, then the detail.
fn show_diagnostic(diagnostic: &Diagnostic) -> String {
    let severity = match diagnostic.severity {
        Severity::Error => "Error",
        Severity::Warning => "Warning",
    };
    // The terminal shows what reports and records only describe.
    let (summary, detail) = match &diagnostic.withheld {
        Some(text) => text.split_once('\n').unwrap_or((text, "")),
        None => (diagnostic.summary.as_str(), diagnostic.detail.as_str()),
    };
    let mut text = format!("\n{severity}: {summary}\n");
    let place: Vec<String> = [
        diagnostic.address.as_ref().map(|a| format!("with {a}")),
        diagnostic.location.as_ref().map(|l| format!("on {l}")),
    ]
    .into_iter()
    .flatten()
    .collect();
    if !place.is_empty() {
        text.push_str(&format!("  {}\n", place.join(", ")));
    }
    if !detail.is_empty() {
        text.push_str(&format!("\n  {}\n", detail.replace('\n', "\n  ")));
    }
    text.push('\n');
    text
}

/// One line per change: `  + address [id=...]`, `  ! address (create errored)`.
fn describe_changes(outcome: &ApplyOutcome) -> String {
    if outcome.changes.is_empty() {
        return "  (terraform reported no changes)".to_owned();
    }
    outcome
        .changes
        .iter()
        .map(|change| {
            let id = change
                .id
                .as_deref()
                .map(|id| format!(" [id={id}]"))
                .unwrap_or_default();
            match change.outcome {
                ChangeOutcome::Complete => format!(
                    "  {} {} {}{id}",
                    symbol(change.action),
                    change.address,
                    change.action.describe()
                ),
                ChangeOutcome::Errored => format!(
                    "  ! {} {} errored: it may be partly applied",
                    change.address,
                    verb(change.action)
                ),
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
}

fn symbol(action: Action) -> &'static str {
    match action {
        Action::Create => "+",
        Action::Delete => "-",
        Action::Update => "~",
        Action::Replace => "-/+",
        Action::Read | Action::Unknown => "*",
    }
}

fn verb(action: Action) -> &'static str {
    match action {
        Action::Create => "create",
        Action::Delete => "delete",
        Action::Update => "update",
        Action::Replace => "replace",
        Action::Read => "read",
        Action::Unknown => "change",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use driftlog::audit::record::AppliedChange;

    #[test]
    fn unrecorded_changes_are_listed_one_per_line() {
        let outcome = ApplyOutcome {
            exit_code: Some(1),
            changes: vec![
                AppliedChange {
                    address: "x.a".into(),
                    action: Action::Create,
                    outcome: ChangeOutcome::Complete,
                    id: Some("a-1".into()),
                },
                AppliedChange {
                    address: "x.b".into(),
                    action: Action::Replace,
                    outcome: ChangeOutcome::Errored,
                    id: None,
                },
            ],
            summary: None,
        };
        assert_eq!(
            describe_changes(&outcome),
            "  + x.a created [id=a-1]\n  ! x.b replace errored: it may be partly applied"
        );
    }

    #[test]
    fn diagnostics_read_like_terraform_s() {
        let text = show_diagnostic(&Diagnostic {
            severity: Severity::Error,
            summary: "object already exists".into(),
            detail: "store/dup.json exists".into(),
            address: Some("x.d".into()),
            location: Some("main.tf:14".into()),
            withheld: None,
        });
        assert_eq!(
            text,
            "\nError: object already exists\n  with x.d, on main.tf:14\n\n  store/dup.json exists\n\n"
        );
    }
}
