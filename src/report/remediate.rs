//! A remediation's result for people: text for the terminal, markdown for the drift issue
//! and the job summary. Values are the records' own, already redacted.

use std::fmt::Write as _;

use crate::audit::record::{PlannedChange, RecordRef};
use crate::run::remediate::{Remediated, RuleResult, StackResult};

use super::display_value;
use super::markdown::{code_span, table_cell};

/// Every stack's result, then what the run amounts to.
pub fn text(remediated: &Remediated) -> String {
    let mut out = String::new();
    for stack in &remediated.stacks {
        stack_text(&mut out, stack, remediated.applied);
    }
    let (mut reverted, mut refused, mut planned) = (0, 0, 0);
    for rule in remediated.stacks.iter().flat_map(|s| &s.rules) {
        planned += rule.changes.len();
        refused += rule.refusals.len();
        if rule.outcome == Some(crate::audit::record::RemediationOutcome::Reverted) {
            reverted += rule.changes.len();
        }
    }
    match remediated.applied {
        true => {
            let _ = writeln!(out, "{reverted} resource(s) reverted, {refused} refused");
        }
        false => {
            let _ = writeln!(
                out,
                "dry run: {planned} resource(s) would be reverted, {refused} refused; nothing was \
                 changed (pass --apply to revert)"
            );
        }
    }
    out
}

fn stack_text(out: &mut String, stack: &StackResult, applied: bool) {
    let _ = write!(out, "{} ({})", stack.stack.dir, stack.stack.workspace);
    match &stack.acts_on {
        Some(record) => {
            let _ = writeln!(out, ": drift of record {}", record.seq);
        }
        None => out.push('\n'),
    }
    if let Some(error) = &stack.error {
        let _ = writeln!(out, "  error: {error}");
    }
    if stack.rules.is_empty() && stack.unmatched.is_empty() && stack.error.is_none() {
        let _ = writeln!(out, "  no counted drift: nothing to revert");
    }
    for rule in &stack.rules {
        let outcome = match rule.outcome {
            Some(outcome) => outcome.as_str(),
            None if rule.changes.is_empty() => "would revert nothing",
            None => "would revert",
        };
        let _ = writeln!(
            out,
            "  rule {} ({}): {outcome}",
            rule.rule.name, rule.rule.reason
        );
        for change in &rule.changes {
            change_text(out, change);
        }
        if let Some(sha) = &rule.plan_sha256 {
            let _ = writeln!(out, "    plan sha256:{sha}");
        }
        for refusal in &rule.refusals {
            let _ = writeln!(out, "    refused {}: {}", refusal.address, refusal.reason);
        }
        if let Some(failure) = &rule.failure {
            let _ = writeln!(out, "    failed: {failure}");
        }
        if let Some(record) = &rule.record {
            let _ = writeln!(out, "    recorded as record {}", record.seq);
        }
    }
    if !stack.unmatched.is_empty() {
        let _ = writeln!(
            out,
            "  drift no rule reverts: {}",
            stack.unmatched.join(", ")
        );
    }
    if applied {
        if let Some(record) = &stack.verified_by {
            let state = if stack.clean_after {
                "clean"
            } else {
                "still drifted"
            };
            let _ = writeln!(out, "  verified by scan record {}: {state}", record.seq);
        }
    }
}

fn change_text(out: &mut String, change: &PlannedChange) {
    let verb = match change.action {
        crate::drift::Action::Create => "re-create",
        _ => "set back",
    };
    let _ = writeln!(out, "    {verb} {}", change.address);
    for attribute in &change.attributes {
        let _ = writeln!(
            out,
            "      {}: {} -> {}",
            attribute.path,
            display_value(&attribute.before),
            display_value(&attribute.after)
        );
    }
}

/// One stack's result for its drift issue and the job summary; `run_url` links the run.
pub fn markdown(stack: &StackResult, run_url: Option<&str>) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "### driftlog remediation of {}\n",
        code_span(&stack.stack.dir)
    );
    if let Some(record) = &stack.acts_on {
        let _ = writeln!(out, "Acting on the drift of {}.", record_ref(record));
    }
    if let Some(url) = run_url {
        let _ = writeln!(out, "Run: {url}");
    }
    out.push('\n');
    if let Some(error) = &stack.error {
        let _ = writeln!(out, "**Not remediated:** {}\n", table_cell(error));
    }
    let rows: Vec<String> = stack.rules.iter().flat_map(rule_rows).collect();
    if !rows.is_empty() {
        out.push_str("| Resource | Rule | Result | Attributes or reason |\n|---|---|---|---|\n");
        for row in rows {
            out.push_str(&row);
        }
        out.push('\n');
    }
    if !stack.unmatched.is_empty() {
        let listed: Vec<String> = stack.unmatched.iter().map(|a| code_span(a)).collect();
        let _ = writeln!(out, "Drift no rule reverts: {}\n", listed.join(", "));
    }
    if let Some(record) = &stack.verified_by {
        let state = match stack.clean_after {
            true => "the stack is clean",
            false => "drift remains",
        };
        let _ = writeln!(
            out,
            "Verified by the scan in {}: {state}.",
            record_ref(record)
        );
    }
    out
}

fn rule_rows(rule: &RuleResult) -> Vec<String> {
    let outcome = rule.outcome.map_or("would revert", |o| o.as_str());
    let name = table_cell(&format!("{} ({})", rule.rule.name, rule.rule.reason));
    let mut rows: Vec<String> = rule
        .changes
        .iter()
        .map(|change| {
            let attributes: Vec<String> = change
                .attributes
                .iter()
                .map(|a| {
                    format!(
                        "{}: {} → {}",
                        code_span(&a.path),
                        code_span(&display_value(&a.before)),
                        code_span(&display_value(&a.after))
                    )
                })
                .collect();
            format!(
                "| {} | {name} | {outcome} | {} |\n",
                code_span(&change.address),
                attributes.join("<br>")
            )
        })
        .collect();
    rows.extend(rule.refusals.iter().map(|refusal| {
        format!(
            "| {} | {name} | refused | {} |\n",
            code_span(&refusal.address),
            table_cell(&refusal.reason)
        )
    }));
    rows
}

fn record_ref(record: &RecordRef) -> String {
    format!(
        "record {} (sha256 {})",
        record.seq,
        record
            .record_sha256
            .get(..12)
            .unwrap_or(&record.record_sha256)
    )
}
