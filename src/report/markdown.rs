//! The markdown report: the body of the pull-request comment and the job summary.
//!
//! It must fit GitHub's comment limit however large the drift. The report is built from
//! pieces whose sizes add up, so fitting is arithmetic: keep every table row and as many
//! per-resource diffs as fit; if even the table does not fit, keep the rows that do and say
//! how many were left out. Whole rows and whole diffs are dropped, so no table row and no
//! UTF-8 character is ever cut.

use std::fmt::Write as _;

use super::{
    display_value, human_duration, human_time, ignored_entries, plural, shorten, tool_name,
    IgnoredEntry, SetAside,
};
use crate::drift::combined::CombinedReport;
use crate::drift::{
    Action, AttrValue, AttributeChange, DriftedResource, ScanReport, Severity, Status,
};

/// How many attribute paths a table row names before it says "+N more".
const PATHS_PER_ROW: usize = 4;
const MAX_PATH_CHARS: usize = 80;

/// Said when a scan read no resource: a wrong backend or workspace also looks clean.
pub const NOTHING_CHECKED: &str = "⚠️ The state holds no resources, so nothing was checked: is this the right backend and workspace?";

/// A table ends at a blank line; without it the next block could be read as a row.
const TABLE_END: &str = "\n";

/// A size limit in both of GitHub's measures.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Budget {
    /// Counted in UTF-16 code units: never less than the characters GitHub counts, so a
    /// body within it is within GitHub's character limit however GitHub counts astral
    /// characters such as emoji.
    pub chars: usize,
    /// GitHub also refuses bodies over 256 KiB of UTF-8.
    pub bytes: usize,
}

impl Budget {
    /// GitHub's limit for an issue or pull-request comment body.
    pub const GITHUB_COMMENT: Budget = Budget {
        chars: 65_536,
        bytes: 262_144,
    };

    /// Whether `text` fits.
    pub fn fits(&self, text: &str) -> bool {
        Size::of(text).within(self)
    }
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct Size {
    units: usize,
    bytes: usize,
}

impl Size {
    fn of(text: &str) -> Size {
        Size {
            units: text.encode_utf16().count(),
            bytes: text.len(),
        }
    }

    fn add(self, other: Size) -> Size {
        Size {
            units: self.units + other.units,
            bytes: self.bytes + other.bytes,
        }
    }

    fn within(self, budget: &Budget) -> bool {
        self.units <= budget.chars && self.bytes <= budget.bytes
    }
}

/// A link to the CI run that made the report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunLink {
    /// "run 8813".
    pub label: String,
    pub url: String,
}

/// What a posted report adds around the scan: facts from the thread it is posted in.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Frame {
    /// Invisible lines placed first (markers that let later runs find the post).
    pub hidden: String,
    /// A clean scan after drift or failure in the same thread: clean since when (RFC 3339).
    pub clean_since: Option<String>,
    /// Drift the thread has shown since an earlier scan: first seen when (RFC 3339).
    pub drifted_since: Option<String>,
    pub run: Option<RunLink>,
}

/// Renders the report so that it fits `budget`.
pub fn render(report: &ScanReport, budget: &Budget) -> String {
    render_framed(report, budget, &Frame::default())
}

/// Renders the report inside `frame` so that the whole fits `budget`.
pub fn render_framed(report: &ScanReport, budget: &Budget, frame: &Frame) -> String {
    let head = format!("{}{}", frame.hidden, head(report, frame));
    let tail = tail(report, frame);
    let counted = || report.resources.iter().filter(|r| r.counts());
    let rows: Vec<String> = counted().map(table_row).collect();
    let diffs: Vec<String> = counted()
        .map(|resource| diff_section(resource, explanation_line(report, resource)))
        .collect();
    let fixed = Size::of(&head).add(Size::of(&tail));
    let table_head = if rows.is_empty() {
        String::new()
    } else {
        "| resource | change | attributes |\n|---|---|---|\n".to_owned()
    };
    let fixed = fixed.add(Size::of(&table_head)).add(Size::of(TABLE_END));
    let row_sizes: Vec<Size> = rows.iter().map(|r| Size::of(r)).collect();
    let diff_sizes: Vec<Size> = diffs.iter().map(|d| Size::of(d)).collect();

    let (kept_rows, kept_diffs) = fit(fixed, &row_sizes, &diff_sizes, budget);

    let mut out = head;
    out.push_str(&table_head);
    for row in &rows[..kept_rows] {
        out.push_str(row);
    }
    out.push_str(&rows_note(rows.len() - kept_rows));
    out.push_str(TABLE_END);
    for diff in &diffs[..kept_diffs] {
        out.push_str(diff);
    }
    out.push_str(&diffs_note(diffs.len() - kept_diffs));
    out.push_str(&tail);
    out
}

/// Renders several stacks as one comment: a line per stack, then each stack that is not
/// clean, as far as the budget allows; stacks that do not fit are named and counted.
pub fn render_combined(report: &CombinedReport, budget: &Budget, frame: &Frame) -> String {
    let summary = &report.summary;
    let mut head = frame.hidden.clone();
    let _ = match report.status {
        Status::Clean if frame.clean_since.is_some() => writeln!(
            head,
            "### ✅ All {} clean again\n\nNo drift since {}.\n",
            plural(summary.stacks, "stack"),
            human_time(frame.clean_since.as_deref().unwrap_or_default())
        ),
        Status::Clean => writeln!(
            head,
            "### ✅ No drift in {} ({} checked)\n",
            plural(summary.stacks, "stack"),
            plural(summary.checked_resources, "resource")
        ),
        Status::Drifted => writeln!(
            head,
            "### ⚠️ Drift in {} of {}: {} changed outside Terraform\n",
            summary.drifted,
            plural(summary.stacks, "stack"),
            plural(summary.drifted_resources, "resource")
        ),
        Status::Failed => writeln!(
            head,
            "### ❌ {} of {} could not be scanned{}\n",
            summary.failed,
            plural(summary.stacks, "stack"),
            match summary.drifted {
                0 => String::new(),
                n => format!("; drift in {}", plural(n, "stack")),
            }
        ),
    };
    head.push_str("| stack | result | drifted | checked |\n|---|---|---|---|\n");
    for stack in &report.stacks {
        let result = match stack.status {
            Status::Clean => "✅ clean",
            Status::Drifted => "⚠️ drifted",
            Status::Failed => "❌ failed",
        };
        let _ = writeln!(
            head,
            "| {} | {result} | {} | {} |",
            table_cell(&stack_label(stack)),
            stack.summary.drifted,
            stack.summary.checked
        );
    }
    head.push_str(TABLE_END);
    let mut tail = String::from("---\n");
    let mut facts = vec![plural(summary.stacks, "stack")];
    if summary.ignored_resources > 0 {
        facts.push(format!(
            "{} changed in ways that do not count",
            plural(summary.ignored_resources, "resource")
        ));
    }
    if let Some(run) = &frame.run {
        facts.push(format!("[{}]({})", run.label, run.url));
    }
    let _ = writeln!(tail, "{}", facts.join(" · "));

    // Clean stacks get a section only to list the drift that does not count and the moves.
    let sections: Vec<&ScanReport> = report
        .stacks
        .iter()
        .filter(|s| s.status != Status::Clean || s.summary.ignored + s.summary.refactors > 0)
        .collect();
    let mut used = Size::of(&head).add(Size::of(&tail));
    let mut body = String::new();
    for (index, stack) in sections.iter().enumerate() {
        let left = sections.len() - index;
        let omitted_note = Size::of(&omitted_stacks_note(left));
        let room = Budget {
            chars: budget.chars.saturating_sub(used.units + omitted_note.units),
            bytes: budget.bytes.saturating_sub(used.bytes + omitted_note.bytes),
        };
        // An equal share of what is left, so one huge stack cannot crowd out the rest.
        let share = Budget {
            chars: room.chars / left,
            bytes: room.bytes / left,
        };
        let section = render(stack, &share);
        if !share.fits(&section) {
            body.push_str(&omitted_stacks_note(left));
            break;
        }
        used = used.add(Size::of(&section));
        body.push_str(&section);
    }
    format!("{head}{body}{tail}")
}

fn omitted_stacks_note(left_out: usize) -> String {
    format!(
        "…{} not shown in detail: this comment would exceed GitHub's size limit. The JSON \
         report has every stack.\n\n",
        plural(left_out, "more stack")
    )
}

/// How many rows and diffs to keep. Diffs are dropped first, then rows.
fn fit(fixed: Size, rows: &[Size], diffs: &[Size], budget: &Budget) -> (usize, usize) {
    let all_rows = rows.iter().fold(fixed, |acc, s| acc.add(*s));
    let mut total = all_rows;
    let mut kept_diffs = 0;
    for (index, diff) in diffs.iter().enumerate() {
        let with_diff = total.add(*diff);
        let note = Size::of(&diffs_note(diffs.len() - index - 1));
        if !with_diff.add(note).within(budget) {
            break;
        }
        total = with_diff;
        kept_diffs += 1;
    }
    if kept_diffs > 0
        || all_rows
            .add(Size::of(&diffs_note(diffs.len())))
            .within(budget)
    {
        return (rows.len(), kept_diffs);
    }
    let diffs_gone = Size::of(&diffs_note(diffs.len()));
    let mut total = fixed.add(diffs_gone);
    let mut kept_rows = 0;
    for (index, row) in rows.iter().enumerate() {
        let with_row = total.add(*row);
        let note = Size::of(&rows_note(rows.len() - index - 1));
        if !with_row.add(note).within(budget) {
            break;
        }
        total = with_row;
        kept_rows += 1;
    }
    (kept_rows, 0)
}

fn rows_note(left_out: usize) -> String {
    if left_out == 0 {
        return String::new();
    }
    format!(
        "\n…{} not shown: this comment would exceed GitHub's size limit. The JSON report and \
         the job log list every resource.\n",
        plural(left_out, "more drifted resource")
    )
}

fn diffs_note(left_out: usize) -> String {
    match left_out {
        0 => String::new(),
        _ => format!(
            "Attribute diffs for {} are left out to fit GitHub's size limit; the table \
             counts their changed attributes and the JSON report has them all.\n\n",
            plural(left_out, "resource")
        ),
    }
}

fn head(report: &ScanReport, frame: &Frame) -> String {
    let stack = stack_label(report);
    let mut out = String::new();
    match report.status {
        Status::Clean if frame.clean_since.is_some() => {
            let since = frame.clean_since.as_deref().unwrap_or_default();
            let _ = writeln!(out, "### ✅ {stack} is clean again\n");
            let _ = writeln!(
                out,
                "No drift since {} ({} checked): the earlier drift was resolved.\n",
                human_time(since),
                plural(report.summary.checked, "resource")
            );
        }
        Status::Clean => {
            let _ = writeln!(out, "### ✅ No drift in {stack}\n");
            if report.summary.ignored + report.summary.refactors > 0 {
                let _ = writeln!(
                    out,
                    "Nothing the configuration manages changed ({} checked); what changed \
                     otherwise is listed below and does not count.\n",
                    plural(report.summary.checked, "resource")
                );
            } else {
                let _ = writeln!(
                    out,
                    "Real infrastructure matches the {} state ({} checked).\n",
                    tool_name(report),
                    plural(report.summary.checked, "resource")
                );
            }
            if report.summary.checked == 0 {
                out.push_str(NOTHING_CHECKED);
                out.push_str("\n\n");
            }
        }
        Status::Drifted => {
            let _ = writeln!(
                out,
                "### ⚠️ Drift in {stack}: {} changed outside {}\n",
                plural(report.summary.drifted, "resource"),
                tool_name(report)
            );
            out.push_str(
                "Applying this configuration would also overwrite these out-of-band changes.",
            );
            match &frame.drifted_since {
                Some(since) if since != &report.started_at => {
                    let _ = write!(out, " First reported here {}.", human_time(since));
                }
                _ => {}
            }
            out.push_str("\n\n");
            if let Some(owners) = owners_line(&report.owners) {
                let _ = writeln!(out, "{owners}\n");
            }
        }
        Status::Failed => {
            let _ = writeln!(out, "### ❌ Drift scan failed for {stack}\n");
            if let Some(failure) = &report.failure {
                out.push_str(&fenced("text", &shorten(&failure.message, 4000)));
                out.push('\n');
            }
        }
    }
    out
}

/// `Owners: @acme/sre, @alice`: users and teams as mentions (GitHub tells them), addresses
/// as code; `None` when the stack has no owners.
fn owners_line(owners: &[String]) -> Option<String> {
    if owners.is_empty() {
        return None;
    }
    let named: Vec<String> = owners
        .iter()
        .map(|owner| match crate::owners::Owner::parse(owner) {
            Some(crate::owners::Owner::User(_) | crate::owners::Owner::Team(_)) => owner.clone(),
            _ => code_span(owner),
        })
        .collect();
    Some(format!("Owners: {}", named.join(", ")))
}

fn stack_label(report: &ScanReport) -> String {
    let mut label = code_span(&report.stack.dir);
    if report.stack.workspace != "default" {
        let _ = write!(label, " (workspace {})", code_span(&report.stack.workspace));
    }
    label
}

fn table_row(resource: &DriftedResource) -> String {
    let changes: Vec<&AttributeChange> = resource.counted_changes().collect();
    let attributes = if resource.action == Action::Delete {
        "whole resource".to_owned()
    } else if changes.is_empty() {
        "(no attribute-level difference)".to_owned()
    } else {
        let mut names: Vec<String> = changes
            .iter()
            .take(PATHS_PER_ROW)
            .map(|c| code_span(&shorten(&c.path, MAX_PATH_CHARS)))
            .collect();
        if changes.len() > PATHS_PER_ROW {
            names.push(format!("+{} more", changes.len() - PATHS_PER_ROW));
        }
        names.join(", ")
    };
    format!(
        "| {} | {} | {} |\n",
        table_cell(&code_span(&resource.address)),
        resource.action.describe(),
        table_cell(&attributes)
    )
}

/// What the audit log says of how `resource` drifted, as one line, when it says anything.
fn explanation_line(report: &ScanReport, resource: &DriftedResource) -> Option<String> {
    let explanation = report
        .explanations
        .iter()
        .find(|e| e.address == resource.address)?;
    Some(super::explanation::one_line(
        explanation,
        report.audit.as_ref().map(|a| a.seq),
    ))
}

fn diff_section(resource: &DriftedResource, explanation: Option<String>) -> String {
    let changes: Vec<&AttributeChange> = resource.counted_changes().collect();
    let sensitive = resource.sensitive_changes();
    let mut counts = plural(changes.len() - sensitive, "attribute");
    if sensitive > 0 {
        counts = if sensitive == changes.len() {
            plural(sensitive, "sensitive attribute")
        } else {
            format!("{counts}, {}", plural(sensitive, "sensitive attribute"))
        };
    }
    if resource.action == Action::Delete {
        counts = format!("deleted, {counts} before");
    }
    let mut diff = String::new();
    let mut sensitive_lines = String::new();
    for change in changes {
        if change.is_sensitive() {
            let _ = writeln!(
                sensitive_lines,
                "{}: (sensitive value changed)\n",
                code_span(&change.path)
            );
            continue;
        }
        let _ = writeln!(diff, "  {}", change.path);
        if change.before != AttrValue::Absent {
            let _ = writeln!(diff, "- {}", display_value(&change.before));
        }
        if change.after != AttrValue::Absent {
            let _ = writeln!(diff, "+ {}", display_value(&change.after));
        }
    }
    let body = match (diff.is_empty(), sensitive_lines.is_empty()) {
        (true, true) => "Terraform reported drift but no attribute-level difference.\n".to_owned(),
        (true, false) => sensitive_lines,
        (false, _) => format!("{}{sensitive_lines}", fenced("diff", &diff)),
    };
    let history = explanation
        .map(|line| format!("<sub>History: {}</sub>\n\n", html_escape(&line)))
        .unwrap_or_default();
    format!(
        "<details><summary><code>{}</code>: {counts}</summary>\n\n{body}</details>\n\n{history}",
        html_escape(&resource.address)
    )
}

/// At most this many ignored drifts are listed; the JSON report has them all.
const IGNORED_LISTED: usize = 30;

fn tail(report: &ScanReport, frame: &Frame) -> String {
    let mut out = ignored_section(report);
    if !report.output_changes.is_empty() {
        let names: Vec<String> = report
            .output_changes
            .iter()
            .map(|o| code_span(&o.name))
            .collect();
        let _ = writeln!(
            out,
            "Output-only changes (not drift): {} ({}).\n",
            report.output_changes.len(),
            shorten(&names.join(", "), 500)
        );
    }
    let errors: Vec<String> = report
        .diagnostics
        .iter()
        .filter(|d| d.severity == Severity::Error)
        .take(5)
        .map(|d| shorten(&d.to_string(), 1000))
        .collect();
    if !errors.is_empty() && report.status == Status::Failed {
        let _ = write!(out, "{}'s errors:\n\n", tool_name(report));
        out.push_str(&fenced("text", &errors.join("\n")));
        out.push('\n');
    }
    out.push_str("---\n");
    let mut facts = Vec::new();
    if let Some(tool) = &report.tool {
        facts.push(tool.to_string());
    }
    facts.push(format!("scanned in {}", human_duration(report.duration_ms)));
    facts.push(format!("at {}", human_time(&report.started_at)));
    if let Some(run) = &frame.run {
        facts.push(format!("[{}]({})", run.label, run.url));
    }
    let _ = writeln!(out, "{}", facts.join(" · "));
    if let Some(audit) = &report.audit {
        let _ = writeln!(
            out,
            "\nAudit log {} · record {} · `sha256:{}…` · verify with `driftlog verify`\n",
            code_span(&audit.branch),
            audit.seq,
            super::first_chars(&audit.record_sha256, 12)
        );
        out.push_str(&fenced("text", &audit.checkpoint));
    }
    if let Some(pending) = &report.audit_pending {
        let _ = writeln!(
            out,
            "\nAudit log {} · the record waits on the remote in {} (the branch was busy); the \
             next run that records folds it in",
            code_span(&pending.branch),
            code_span(&pending.pending_ref)
        );
    }
    out
}

/// Drift that does not count, collapsed by why: listed so nobody wonders, not counted. Then
/// the moves, which are not drift at all.
fn ignored_section(report: &ScanReport) -> String {
    let entries = ignored_entries(report);
    let mut out = String::new();
    for kind in [SetAside::Configuration, SetAside::Unmanaged, SetAside::Rule] {
        let of_kind: Vec<&IgnoredEntry<'_>> = entries.iter().filter(|e| e.kind == kind).collect();
        if !of_kind.is_empty() {
            out.push_str(&set_aside_table(kind, &of_kind));
        }
    }
    let moves = report
        .refactors
        .iter()
        .map(|refactor| match &refactor.previous_address {
            Some(previous) => format!(
                "{} → {}",
                code_span(&shorten(previous, MAX_PATH_CHARS)),
                code_span(&shorten(&refactor.address, MAX_PATH_CHARS))
            ),
            None => code_span(&shorten(&refactor.address, MAX_PATH_CHARS)),
        });
    out.push_str(&listing("Moved in code (a refactor, not drift)", moves));
    // The status is the engine's word (CloudFormation's): a code span, like the address.
    let unchecked = report.not_checked.iter().map(|unchecked| {
        format!(
            "{} ({})",
            code_span(&shorten(&unchecked.address, MAX_PATH_CHARS)),
            code_span(&shorten(&unchecked.status, MAX_PATH_CHARS))
        )
    });
    out.push_str(&listing(
        "Not checked for drift (neither drifted nor clean)",
        unchecked,
    ));
    out
}

/// `title: a, b, c and N more.` of at most [`IGNORED_LISTED`] items; nothing when there
/// are none.
fn listing(title: &str, items: impl ExactSizeIterator<Item = String>) -> String {
    let total = items.len();
    if total == 0 {
        return String::new();
    }
    let listed: Vec<String> = items.take(IGNORED_LISTED).collect();
    let more = match total.saturating_sub(IGNORED_LISTED) {
        0 => String::new(),
        more => format!(" and {more} more"),
    };
    format!("{title}: {}{more}.\n\n", listed.join(", "))
}

fn set_aside_table(kind: SetAside, entries: &[&IgnoredEntry<'_>]) -> String {
    let resources: std::collections::BTreeSet<&str> = entries.iter().map(|e| e.address).collect();
    let why = match kind {
        SetAside::Configuration => "declared at",
        SetAside::Unmanaged => "why apply leaves it",
        SetAside::Rule => "rule",
    };
    let mut out = format!(
        "<details><summary>{}: {} (recorded in the audit log, not counted)</summary>\n\n\
         | resource | attributes | {why} |\n|---|---|---|\n",
        kind.heading(),
        plural(resources.len(), "resource")
    );
    for entry in entries.iter().take(IGNORED_LISTED) {
        let paths = if entry.paths.is_empty() {
            "whole resource".to_owned()
        } else {
            shorten(&entry.paths.join(", "), 200)
        };
        let rule = match kind {
            SetAside::Configuration => code_span(&entry.rule.rule),
            SetAside::Unmanaged => shorten(&entry.rule.reason, 200),
            SetAside::Rule => {
                let mut rule = format!("{} ({}", shorten(&entry.rule.reason, 200), entry.rule.rule);
                if let Some(expires) = &entry.rule.expires {
                    let _ = write!(rule, ", until {expires}");
                }
                rule.push(')');
                rule
            }
        };
        let _ = writeln!(
            out,
            "| {} | {} | {} |",
            table_cell(&code_span(&shorten(entry.address, MAX_PATH_CHARS))),
            table_cell(&code_span(&paths)),
            table_cell(&rule)
        );
    }
    if entries.len() > IGNORED_LISTED {
        let _ = writeln!(
            out,
            "\n…and {} more; the JSON report lists them all.",
            entries.len() - IGNORED_LISTED
        );
    }
    out.push_str("\n</details>\n\n");
    out
}

/// A fenced code block whose fence is longer than any backtick run inside.
fn fenced(info: &str, body: &str) -> String {
    let fence = "`".repeat(longest_backtick_run(body).max(2) + 1);
    let newline = if body.ends_with('\n') { "" } else { "\n" };
    format!("{fence}{info}\n{body}{newline}{fence}\n")
}

/// An inline code span that survives backticks in the text.
pub(crate) fn code_span(text: &str) -> String {
    let ticks = "`".repeat(longest_backtick_run(text) + 1);
    let pad = if text.starts_with('`') || text.ends_with('`') {
        " "
    } else {
        ""
    };
    format!("{ticks}{pad}{text}{pad}{ticks}")
}

fn longest_backtick_run(text: &str) -> usize {
    text.split(|c| c != '`').map(str::len).max().unwrap_or(0)
}

/// GitHub tables split on `|` even inside code spans; newlines end a row.
pub(crate) fn table_cell(text: &str) -> String {
    text.replace('|', "\\|").replace(['\n', '\r'], " ")
}

fn html_escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::drift::{AttributeChange, Stack, Summary, SCHEMA_VERSION};
    use serde_json::json;

    fn report(resources: usize, attributes: usize, value_len: usize) -> ScanReport {
        let resources: Vec<DriftedResource> = (0..resources)
            .map(|i| DriftedResource {
                previous_address: None,
                class: Default::default(),
                address: format!("module.m.aws_thing.x[\"clé {i}\"]"),
                module_address: Some("module.m".into()),
                mode: "managed".into(),
                resource_type: "aws_thing".into(),
                name: "x".into(),
                index: Some(json!(format!("clé {i}"))),
                provider: "p".into(),
                action: Action::Update,
                changes: (0..attributes)
                    .map(|a| AttributeChange {
                        class: Default::default(),
                        path: format!("tags.k{a}"),
                        before: AttrValue::Known(json!("é".repeat(value_len))),
                        after: AttrValue::Known(json!("🌈".repeat(value_len))),
                        ignored: None,
                    })
                    .collect(),
                identifiers: Default::default(),
                ignored: None,
            })
            .collect();
        ScanReport {
            schema_version: SCHEMA_VERSION,
            stack: Stack {
                dir: "infra/prod".into(),
                workspace: "default".into(),
                cloudformation: None,
            },
            tool: Some(crate::drift::Tool {
                name: crate::drift::ToolName::Terraform,
                version: "1.15.5".into(),
            }),
            status: Status::Drifted,
            started_at: "2026-11-24T00:00:00Z".into(),
            duration_ms: 1200,
            summary: Summary::of(resources.len(), &resources, &[], &[]),
            resources,
            refactors: Vec::new(),
            output_changes: Vec::new(),
            not_checked: Vec::new(),
            diagnostics: Vec::new(),
            failure: None,
            evidence: Default::default(),
            audit: None,
            audit_pending: None,
            explanations: Vec::new(),
            owners: Vec::new(),
        }
    }

    fn rows(body: &str) -> Vec<&str> {
        body.lines().filter(|l| l.starts_with("| `")).collect()
    }

    #[test]
    fn a_small_drift_keeps_every_row_and_diff() {
        let body = render(&report(3, 2, 10), &Budget::GITHUB_COMMENT);
        assert_eq!(rows(&body).len(), 3);
        assert_eq!(body.matches("<details>").count(), 3);
        assert!(!body.contains("left out") && !body.contains("not shown"));
    }

    #[test]
    fn diffs_are_dropped_before_rows() {
        let body = render(&report(200, 6, 200), &Budget::GITHUB_COMMENT);
        assert!(Budget::GITHUB_COMMENT.fits(&body));
        assert_eq!(rows(&body).len(), 200, "every row stays");
        let kept = body.matches("<details>").count();
        assert!(kept > 0 && kept < 200, "{kept} diffs kept");
        assert!(
            body.contains(&format!(
                "Attribute diffs for {} resources are left out",
                200 - kept
            )),
            "{body}"
        );
        assert!(
            body.contains("+2 more"),
            "rows collapse attributes into counts"
        );
    }

    #[test]
    fn rows_are_dropped_last_and_counted() {
        let body = render(&report(3000, 1, 1), &Budget::GITHUB_COMMENT);
        assert!(Budget::GITHUB_COMMENT.fits(&body));
        let kept = rows(&body).len();
        assert!(kept > 100 && kept < 3000, "{kept} rows kept");
        assert!(
            body.contains(&format!(
                "…{} more drifted resources not shown",
                3000 - kept
            )),
            "{body}"
        );
        assert!(body.contains("Attribute diffs for 3000 resources are left out"));
        assert!(
            body.ends_with('\n') && body.contains("Terraform 1.15.5"),
            "the footer survives"
        );
    }

    #[test]
    fn a_framed_report_fits_with_its_markers_and_audit_footer() {
        let mut full = report(400, 6, 40);
        full.audit = Some(crate::drift::AuditRef {
            branch: "driftlog/audit".into(),
            seq: 1204,
            record_sha256: "9f2c".repeat(16),
            commit: "ab".repeat(20),
            checkpoint: "c".repeat(400),
        });
        let frame = Frame {
            hidden: format!("<!-- {} -->\n", "x".repeat(3000)),
            clean_since: None,
            drifted_since: Some("2026-11-20T03:00:00Z".into()),
            run: Some(RunLink {
                label: "run 8813".into(),
                url: "https://github.com/acme/infra/actions/runs/8813".into(),
            }),
        };
        let body = render_framed(&full, &Budget::GITHUB_COMMENT, &frame);
        assert!(Budget::GITHUB_COMMENT.fits(&body));
        assert!(body.starts_with(&frame.hidden));
        assert!(body.contains("First reported here 2026-11-20 03:00 UTC."));
        assert!(body.contains("[run 8813](https://github.com/acme/infra/actions/runs/8813)"));
        assert!(body.contains("record 1204 · `sha256:9f2c9f2c9f2c…`"));
        assert!(body.contains(&"c".repeat(400)), "the whole checkpoint line");
    }

    #[test]
    fn a_combined_report_lists_every_stack_and_fits() {
        let mut stacks = Vec::new();
        for i in 0..30 {
            let mut stack = report(if i % 3 == 0 { 200 } else { 0 }, 4, 60);
            stack.stack.dir = format!("infra/stack-{i:02}");
            if i % 3 != 0 {
                stack.status = Status::Clean;
            }
            stacks.push(stack);
        }
        let combined = CombinedReport::of(stacks).expect("distinct stacks");
        let body = render_combined(&combined, &Budget::GITHUB_COMMENT, &Frame::default());
        assert!(Budget::GITHUB_COMMENT.fits(&body));
        assert!(body.starts_with("### ⚠️ Drift in 10 of 30 stacks: 2000 resources"));
        for i in 0..30 {
            assert!(
                body.contains(&format!("| `infra/stack-{i:02}` |")),
                "stack {i} listed"
            );
        }
        assert!(
            body.contains("### ⚠️ Drift in `infra/stack-00`"),
            "details of the first"
        );
    }

    #[test]
    fn a_clean_scan_after_drift_says_since_when() {
        let mut clean = report(0, 0, 0);
        clean.status = Status::Clean;
        let frame = Frame {
            clean_since: Some("2026-11-24T10:03:00Z".into()),
            ..Frame::default()
        };
        let body = render_framed(&clean, &Budget::GITHUB_COMMENT, &frame);
        assert!(
            body.starts_with("### ✅ `infra/prod` is clean again"),
            "{body}"
        );
        assert!(
            body.contains("No drift since 2026-11-24 10:03 UTC"),
            "{body}"
        );
        assert!(!body.contains("| resource |"));
    }

    #[test]
    fn every_budget_is_respected_without_cutting_rows() {
        let full = report(40, 3, 30);
        for chars in (800..20_000).step_by(397) {
            let budget = Budget {
                chars,
                bytes: chars * 2,
            };
            let body = render(&full, &budget);
            assert!(
                budget.fits(&body),
                "budget {chars}: {} units",
                body.encode_utf16().count()
            );
            for row in rows(&body) {
                assert!(row.ends_with(" |"), "a cut row: {row}");
            }
        }
    }

    #[test]
    fn code_spans_and_fences_survive_backticks() {
        assert_eq!(code_span("a.b"), "`a.b`");
        assert_eq!(code_span("a`b"), "``a`b``");
        assert_eq!(code_span("`x"), "`` `x ``");
        assert!(fenced("diff", "```\n").starts_with("````diff\n"));
    }

    #[test]
    fn table_cells_escape_pipes_and_newlines() {
        assert_eq!(table_cell("`a|b`\nc"), "`a\\|b` c");
    }

    #[test]
    fn budget_counts_astral_characters_twice_and_bytes() {
        let budget = Budget {
            chars: 4,
            bytes: 100,
        };
        assert!(budget.fits("🌈🌈"));
        assert!(!budget.fits("🌈🌈a"));
        let budget = Budget {
            chars: 100,
            bytes: 5,
        };
        assert!(!budget.fits("ééé"));
    }

    #[test]
    fn what_was_not_checked_is_listed_as_inert_text() {
        let mut report = report(1, 1, 5);
        let hostile = "<img src=x onerror=alert(1)> @acme/platform";
        report.not_checked = (0..IGNORED_LISTED + 5)
            .map(|i| crate::drift::NotChecked {
                address: format!("Wait{i:02}"),
                resource_type: "AWS::CloudFormation::WaitConditionHandle".into(),
                status: hostile.into(),
                reason: None,
            })
            .collect();
        let body = render(&report, &Budget::GITHUB_COMMENT);
        let line = body
            .lines()
            .find(|l| l.starts_with("Not checked for drift"))
            .unwrap_or_else(|| panic!("{body}"));
        assert!(line.contains(&format!("`Wait00` (`{hostile}`)")), "{line}");
        assert!(line.ends_with(" and 5 more."), "{line}");
        assert_eq!(body.matches("<img").count(), body.matches("`<img").count());
    }

    #[test]
    fn a_drifted_stack_names_its_owners() {
        let mut report = report(1, 1, 5);
        report.owners = vec![
            "@acme/sre".into(),
            "@alice".into(),
            "ops_<b>@acme.example".into(),
        ];
        let body = render(&report, &Budget::GITHUB_COMMENT);
        assert!(
            body.contains("Owners: @acme/sre, @alice, `ops_<b>@acme.example`"),
            "{body}"
        );
        report.owners.clear();
        assert!(!render(&report, &Budget::GITHUB_COMMENT).contains("Owners:"));
    }
}
