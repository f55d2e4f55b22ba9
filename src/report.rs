//! Renders a [`ScanReport`] for people and tools. Pure functions from the model to text:
//! no parsing, no I/O.

pub mod adopt;
pub mod apply;
pub mod explanation;
pub mod log;
pub mod markdown;
pub mod progress;
pub mod remediate;
pub mod terminal;
pub mod verify;

use crate::drift::combined::CombinedReport;
use crate::drift::{AttrValue, DriftClass, ScanReport, ToolName};

/// `--format`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Terminal,
    Json,
    Markdown,
}

/// The format of an `--output` file: by extension, else the standard output's.
pub fn format_for_file(path: &std::path::Path, fallback: Format) -> Format {
    match path.extension().and_then(|e| e.to_str()) {
        Some("json") => Format::Json,
        Some("md" | "markdown") => Format::Markdown,
        _ => fallback,
    }
}

/// Renders the report in `format`; `color` applies to the terminal format only.
pub fn render(report: &ScanReport, format: Format, color: bool) -> String {
    match format {
        Format::Terminal => terminal::render(report, color),
        Format::Json => json(report),
        Format::Markdown => markdown::render(report, &markdown::Budget::GITHUB_COMMENT),
    }
}

/// Renders several stacks' reports as one.
pub fn render_combined(report: &CombinedReport, format: Format, color: bool) -> String {
    match format {
        Format::Json => {
            let mut out = serde_json::to_string_pretty(report).unwrap_or_default();
            out.push('\n');
            out
        }
        Format::Markdown => markdown::render_combined(
            report,
            &markdown::Budget::GITHUB_COMMENT,
            &markdown::Frame::default(),
        ),
        Format::Terminal => {
            let mut out = String::new();
            for stack in &report.stacks {
                out.push_str(&terminal::render(stack, color));
                out.push('\n');
            }
            let summary = &report.summary;
            out.push_str(&format!(
                "{}: {} clean, {} drifted ({}), {} failed\n",
                plural(summary.stacks, "stack"),
                summary.clean,
                summary.drifted,
                plural(summary.drifted_resources, "resource"),
                summary.failed
            ));
            out
        }
    }
}

/// The versioned JSON report, pretty-printed, newline-terminated.
pub fn json(report: &ScanReport) -> String {
    // Serializing plain data to a String cannot fail.
    let mut out = serde_json::to_string_pretty(report).unwrap_or_default();
    out.push('\n');
    out
}

/// Why a drift does not count, as the reports group it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum SetAside {
    /// `lifecycle { ignore_changes }`: the configuration says it does not manage it.
    Configuration,
    /// The configuration does not set it: changed outside Terraform, but apply leaves it.
    Unmanaged,
    /// A `.driftlog.toml` ignore rule.
    Rule,
}

impl SetAside {
    /// The heading every format lists these drifts under.
    pub fn heading(self) -> &'static str {
        match self {
            SetAside::Configuration => "Ignored by the configuration (lifecycle.ignore_changes)",
            SetAside::Unmanaged => "Changed outside Terraform, not managed by the configuration",
            SetAside::Rule => "Ignored by rules",
        }
    }

    /// A `.driftlog.toml` rule is listed as one whatever the class of what it covers.
    fn of(class: DriftClass, mark: &crate::drift::Ignored) -> SetAside {
        match class {
            _ if !mark.by_configuration() => SetAside::Rule,
            DriftClass::IgnoredByConfiguration => SetAside::Configuration,
            DriftClass::Unmanaged => SetAside::Unmanaged,
            DriftClass::Managed => SetAside::Rule,
        }
    }
}

/// One drift that does not count, as every format lists it: the resource, the attribute
/// paths (empty: the whole resource), why, and what decided it.
pub struct IgnoredEntry<'a> {
    pub address: &'a str,
    pub paths: Vec<&'a str>,
    pub rule: &'a crate::drift::Ignored,
    pub kind: SetAside,
}

/// The drift that does not count, resource by resource: resources set aside whole, and the
/// attributes set aside of the others; sorted by kind, then as the report lists resources.
pub fn ignored_entries(report: &ScanReport) -> Vec<IgnoredEntry<'_>> {
    let mut entries = Vec::new();
    for resource in &report.resources {
        if let Some(rule) = &resource.ignored {
            let paths = resource.changes.iter().map(|c| c.path.as_str()).collect();
            entries.push(IgnoredEntry {
                address: &resource.address,
                paths,
                rule,
                kind: SetAside::of(resource.class, rule),
            });
            continue;
        }
        let mut by_rule: Vec<IgnoredEntry<'_>> = Vec::new();
        for change in &resource.changes {
            let Some(rule) = &change.ignored else {
                continue;
            };
            let kind = SetAside::of(change.class, rule);
            match by_rule
                .iter_mut()
                .find(|e| e.rule == rule && e.kind == kind)
            {
                Some(entry) => entry.paths.push(&change.path),
                None => by_rule.push(IgnoredEntry {
                    address: &resource.address,
                    paths: vec![&change.path],
                    rule,
                    kind,
                }),
            }
        }
        entries.extend(by_rule);
    }
    entries.sort_by_key(|entry| entry.kind);
    entries
}

/// The tool's name for the report's prose: "Terraform" unless the report says otherwise.
pub fn tool_name(report: &ScanReport) -> &'static str {
    report
        .tool
        .as_ref()
        .map_or(ToolName::Terraform, |tool| tool.name)
        .display()
}

/// Marker shown instead of a sensitive value, in every format.
pub const SENSITIVE_MARKER: &str = "(sensitive value)";

/// Longest value shown inline; longer values are cut with a count of what was left out.
const MAX_VALUE_CHARS: usize = 300;

/// A value as one line of text: JSON for known values, a marker otherwise.
pub fn display_value(value: &AttrValue) -> String {
    match value {
        AttrValue::Known(value) => shorten(&value.to_string(), MAX_VALUE_CHARS),
        AttrValue::Absent => "(absent)".to_owned(),
        AttrValue::Sensitive => SENSITIVE_MARKER.to_owned(),
        AttrValue::Unknown => "(known after apply)".to_owned(),
    }
}

/// Cuts `text` to at most `max` characters (never inside a character), saying how much went.
pub fn shorten(text: &str, max: usize) -> String {
    match text.char_indices().nth(max) {
        None => text.to_owned(),
        Some((cut, _)) => {
            let left_out = text[cut..].chars().count();
            format!("{}… ({left_out} more characters)", &text[..cut])
        }
    }
}

/// The first `count` characters of `text` (all of it when shorter): for shortening ids
/// such as commit shas, which a saved report may spell with any characters.
pub fn first_chars(text: &str, count: usize) -> &str {
    match text.char_indices().nth(count) {
        Some((end, _)) => &text[..end],
        None => text,
    }
}

/// "1 resource", "3 resources".
pub fn plural(count: usize, noun: &str) -> String {
    if count == 1 {
        format!("{count} {noun}")
    } else {
        format!("{count} {noun}s")
    }
}

/// "41 s", "2.3 s", "380 ms".
pub fn human_duration(ms: u64) -> String {
    match ms {
        0..=999 => format!("{ms} ms"),
        1000..=9_999 => format!("{:.1} s", ms as f64 / 1000.0),
        _ => format!("{} s", ms / 1000),
    }
}

/// "2026-11-24 10:00 UTC" from RFC 3339 UTC; other text is shown as it is.
pub fn human_time(rfc3339: &str) -> String {
    human_time_to(rfc3339, 16)
}

/// "2026-11-24 10:00:07 UTC", where times seconds apart are compared.
pub fn human_time_seconds(rfc3339: &str) -> String {
    human_time_to(rfc3339, 19)
}

/// The date and the time of day up to byte `end` of the RFC 3339 text.
fn human_time_to(rfc3339: &str, end: usize) -> String {
    match (rfc3339.get(..10), rfc3339.get(10..11), rfc3339.get(11..end)) {
        (Some(date), Some("T"), Some(time)) if rfc3339.ends_with('Z') => {
            format!("{date} {time} UTC")
        }
        _ => rfc3339.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shorten_cuts_on_character_boundaries() {
        assert_eq!(shorten("héllo", 10), "héllo");
        assert_eq!(shorten("ééééé", 2), "éé… (3 more characters)");
    }

    #[test]
    fn first_chars_counts_characters() {
        assert_eq!(first_chars("ééé", 2), "éé");
        assert_eq!(first_chars("ab", 5), "ab");
        assert_eq!(first_chars("", 3), "");
    }

    #[test]
    fn durations_read_naturally() {
        assert_eq!(human_duration(380), "380 ms");
        assert_eq!(human_duration(2345), "2.3 s");
        assert_eq!(human_duration(41_000), "41 s");
    }

    #[test]
    fn times_read_naturally() {
        assert_eq!(human_time("2026-11-24T10:03:59Z"), "2026-11-24 10:03 UTC");
        assert_eq!(human_time("yesterday"), "yesterday");
    }
}
