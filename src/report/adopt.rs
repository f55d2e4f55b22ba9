//! An adoption for people: text for the terminal, markdown for the pull request and the job
//! summary. Values are the scan record's own, already redacted; no sensitive value is ever
//! adopted.

use std::fmt::Write as _;

use crate::drift::explanation::Explanation;
use crate::run::adopt::{Adopted, Delivery, StackAdoption};

use super::display_value;
use super::markdown::{code_span, table_cell};

/// Every stack's result, then what the run amounts to.
pub fn text(adopted: &Adopted) -> String {
    let mut out = String::new();
    for stack in &adopted.stacks {
        stack_text(&mut out, stack);
    }
    let count: usize = adopted.stacks.iter().map(|s| s.adopted().count()).sum();
    let refused: usize = adopted.stacks.iter().map(|s| s.refusals().count()).sum();
    let _ = match adopted.delivery {
        Delivery::Patch => writeln!(
            out,
            "{count} attribute(s) would be adopted, {refused} refused; nothing was written (use \
             --write or a pull request to adopt)"
        ),
        Delivery::Write | Delivery::PullRequest => {
            writeln!(out, "{count} attribute(s) adopted, {refused} refused")
        }
    };
    out
}

fn stack_text(out: &mut String, stack: &StackAdoption) {
    let _ = write!(out, "{} ({})", stack.stack.dir, stack.stack.workspace);
    let _ = match &stack.acts_on {
        Some(record) => writeln!(out, ": drift of record {}", record.seq),
        None => writeln!(out),
    };
    if let Some(error) = &stack.error {
        let _ = writeln!(out, "  error: {error}");
    }
    if stack
        .rules
        .iter()
        .all(|r| r.adopted.is_empty() && r.refusals.is_empty())
        && stack.error.is_none()
        && stack.pull_request.is_none()
    {
        let _ = writeln!(out, "  no drift an adopt rule takes: nothing to adopt");
    }
    for attribute in stack.adopted() {
        let _ = writeln!(
            out,
            "  adopt {} {}: {} -> {} ({}:{})",
            attribute.address,
            attribute.path,
            display_value(&attribute.before),
            display_value(&attribute.after),
            attribute.file,
            attribute.line
        );
    }
    for refusal in stack.refusals() {
        let what = match &refusal.path {
            Some(path) => format!("{} {path}", refusal.address),
            None => refusal.address.clone(),
        };
        let _ = writeln!(out, "  refused {what}: {}", refusal.reason);
    }
    if let Some(proof) = &stack.proof {
        let _ = writeln!(
            out,
            "  proof: terraform plan -target={}: {}",
            proof.targets.join(" -target="),
            proof.summary
        );
    }
    if let Some(outcome) = stack.outcome {
        let _ = write!(out, "  outcome: {}", outcome.as_str());
        let _ = match &stack.pull_request {
            Some(pull) => writeln!(
                out,
                ": pull request #{} {} ({})",
                pull.number, pull.url, pull.branch
            ),
            None => writeln!(out),
        };
    }
}

/// The pull request's body: what is adopted (before and after), from which record, why it
/// drifted as far as the log tells, what was refused, and the proof.
pub fn pull_body(stack: &StackAdoption, explanations: &[Explanation]) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "driftlog adopts drift of {} into code: the values below were changed outside \
         terraform, and this change makes the configuration say what the real resources hold, \
         so the next apply keeps them instead of reverting them.\n",
        code_span(&stack.stack.dir)
    );
    if let Some(record) = &stack.acts_on {
        let _ = writeln!(
            out,
            "From the scan in record {} (sha256 `{}`) of the audit log.\n",
            record.seq, record.record_sha256
        );
    }
    out.push_str(&markdown(stack));
    if !explanations.is_empty() {
        out.push_str("\n#### When it drifted\n\n");
        for explanation in explanations {
            let line = super::explanation::one_line(explanation, None);
            let _ = writeln!(
                out,
                "- {}: {}",
                code_span(&explanation.address),
                table_cell(&line)
            );
        }
    }
    out.push_str(
        "\nMerging this changes no infrastructure: the code now matches it. Apply after merging \
         as usual; the plan shows no change to these attributes.\n",
    );
    out
}

/// The adopted attributes, the refusals and the proof, as markdown.
pub fn markdown(stack: &StackAdoption) -> String {
    let mut out = String::new();
    if let Some(error) = &stack.error {
        let _ = writeln!(out, "**Not adopted:** {}\n", table_cell(error));
    }
    let adopted: Vec<_> = stack.adopted().collect();
    if !adopted.is_empty() {
        out.push_str("| Resource | Attribute | In code before | Now (real) | File |\n|---|---|---|---|---|\n");
        for a in adopted {
            let _ = writeln!(
                out,
                "| {} | {} | {} | {} | {} |",
                code_span(&a.address),
                code_span(&a.path),
                code_span(&display_value(&a.before)),
                code_span(&display_value(&a.after)),
                code_span(&format!("{}:{}", a.file, a.line))
            );
        }
        out.push('\n');
    }
    let refusals: Vec<_> = stack.refusals().collect();
    if !refusals.is_empty() {
        out.push_str("Not adopted:\n\n");
        for refusal in refusals {
            let what = match &refusal.path {
                Some(path) => format!("{} {}", code_span(&refusal.address), code_span(path)),
                None => code_span(&refusal.address),
            };
            let _ = writeln!(out, "- {what}: {}", table_cell(&refusal.reason));
        }
        out.push('\n');
    }
    if let Some(proof) = &stack.proof {
        let targets: Vec<String> = proof.targets.iter().map(|t| code_span(t)).collect();
        let _ = writeln!(
            out,
            "**Proof:** `terraform plan` of the edited configuration, targeted at {}: {} \
             (plan sha256 `{}`).",
            targets.join(", "),
            table_cell(&proof.summary),
            proof.show_sha256
        );
    }
    out
}
