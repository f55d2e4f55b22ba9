//! What `driftlog apply` shows on the terminal: terraform's diagnostics as terraform shows
//! them, why an apply failed, and the changes an apply made that its record did not keep.

use crate::audit::record::{ApplyOutcome, ChangeOutcome};
use crate::drift::{Action, Diagnostic, Failure, Severity};

/// A diagnostic as terraform shows one: severity and summary, where, then the detail.
pub fn diagnostic(diagnostic: &Diagnostic) -> String {
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

/// Why the apply failed, for standard error: `driftlog: <message>`, then terraform's own text
/// behind it, if any. When terraform's error diagnostics were shown as they came
/// (`diagnostics_shown`), only the message's first line, which they explain.
pub fn failure(failure: &Failure, diagnostics_shown: bool) -> String {
    let message = match diagnostics_shown {
        true => failure
            .message
            .lines()
            .next()
            .unwrap_or_default()
            .trim_end_matches(':'),
        false => failure.message.as_str(),
    };
    let mut text = format!("driftlog: {message}\n");
    text.push_str(&super::terminal::failure_output(failure).unwrap_or_default());
    text
}

/// The changes of an apply whose record could not be written, for standard error: terraform's
/// changes are real either way, so it says exactly which ones went unrecorded.
pub fn unrecorded(stack: &str, workspace: &str, outcome: &ApplyOutcome) -> String {
    let result = match outcome.exit_code {
        Some(0) => "succeeded".to_owned(),
        Some(code) => format!("failed with exit code {code}"),
        None => "was killed by a signal".to_owned(),
    };
    format!(
        "driftlog: terraform apply in {stack} ({workspace}) {result}; these changes were NOT \
         recorded:\n{}\n",
        changes(outcome)
    )
}

/// One line per change: `  + address [id=...]`, `  ! address (create errored)`.
pub fn changes(outcome: &ApplyOutcome) -> String {
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

/// The sign terraform's plan shows an action with.
fn symbol(action: Action) -> &'static str {
    match action {
        Action::Create => "+",
        Action::Delete => "-",
        Action::Update => "~",
        Action::Replace => "-/+",
        Action::Read | Action::Unknown => "*",
    }
}

/// The action as a verb: `create`, `replace`; `change` when terraform did not say.
fn verb(action: Action) -> &'static str {
    match action {
        Action::Unknown => "change",
        known => known.as_str(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audit::record::AppliedChange;

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
            changes(&outcome),
            "  + x.a created [id=a-1]\n  ! x.b replace errored: it may be partly applied"
        );
    }

    #[test]
    fn diagnostics_read_like_terraform_s() {
        let text = diagnostic(&Diagnostic {
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
