//! The Teams payload: an Adaptive Card 1.4 in a Workflows webhook's message envelope, under
//! [`MAX_BYTES`]. A `TextBlock` (and a `FactSet`) renders Markdown, and Teams' clients do not
//! agree on escapes, so text from the infrastructure goes only in `TextRun`s, which are
//! never read as Markdown: `[x](http://evil)` in a name is shown, not linked.

use serde_json::{json, Value};

use super::render::{self, fit, more, Detail};
use super::{Notification, NotifiedResource};

/// Teams refuses a message over about 28 KB; the whole serialized body stays under this.
pub const MAX_BYTES: usize = 28_000;

/// How much a card lists. Tried from the most to the least until the body fits. Names are
/// cut at [`MAX_NAME`] at every level: Teams' limit is the body's bytes, which lists dominate.
const DETAILS: [Detail; 8] = [
    Detail::new(usize::MAX, usize::MAX, 20, 2000, MAX_NAME),
    Detail::new(usize::MAX, 5, 10, 1000, MAX_NAME),
    Detail::new(usize::MAX, 2, 10, 1000, MAX_NAME),
    Detail::new(usize::MAX, 1, 10, 1000, MAX_NAME),
    Detail::new(usize::MAX, 0, 5, 600, MAX_NAME),
    Detail::new(10, 0, 5, 600, MAX_NAME),
    Detail::new(5, 0, 3, 300, MAX_NAME),
    // Bounded whatever the notification holds: every text is cut, no list is shown.
    Detail::new(0, 0, 0, 300, MAX_NAME),
];

/// Longest name (stack, address, path, owner) and value shown.
const MAX_NAME: usize = 300;
const MAX_VALUE: usize = 200;

/// The request body for teams.
pub fn payload(notification: &Notification) -> Value {
    let mut body = Value::Null;
    for detail in DETAILS {
        body = envelope(card(notification, detail));
        let size = serde_json::to_vec(&body).map_or(usize::MAX, |bytes| bytes.len());
        if size < MAX_BYTES {
            break;
        }
    }
    body
}

fn envelope(card: Value) -> Value {
    json!({
        "type": "message",
        "attachments": [{
            "contentType": "application/vnd.microsoft.card.adaptive",
            "contentUrl": null,
            "content": card,
        }],
    })
}

fn card(n: &Notification, detail: Detail) -> Value {
    let title = run(&n.title(), MAX_NAME)
        .with("weight", "Bolder")
        .with("size", "Medium");
    let mut body = vec![
        rich(vec![title]),
        rich(vec![label("Stack: "), code(&n.stack, MAX_NAME)]),
        rich(vec![label("Workspace: "), code(&n.workspace, MAX_NAME)]),
        facts(n),
    ];
    if !n.summary.is_empty() {
        body.push(rich(vec![run(&n.summary, detail.chars)]));
    }
    if let Some(failure) = &n.failure {
        let failure = run(failure, detail.chars).with("color", "Attention");
        body.push(rich(vec![label("Why the scan failed: "), failure]));
    }
    let differences = "What changed since the previous record";
    body.extend(list(
        differences,
        (&n.differences, n.more_differences),
        detail.lines,
        "difference",
    ));
    body.extend(resources(n, detail));
    let explanations = "What the audit log says";
    body.extend(list(
        explanations,
        (&n.explanations, n.more_explanations),
        detail.lines,
        "explanation",
    ));
    let all_owners = n.owners.len() + n.more_owners;
    if all_owners > 0 {
        let shown = n.owners.len().min(detail.lines.max(1));
        let mut owners = vec![label("Owners: ")];
        for (i, owner) in n.owners[..shown].iter().enumerate() {
            if i > 0 {
                owners.push(plain(", "));
            }
            owners.push(code(owner, MAX_NAME));
        }
        if shown < all_owners {
            owners.push(plain(&format!(" {}", more(all_owners - shown, "owner"))));
        }
        body.push(rich(owners));
    }
    body.push(footer(n));
    let actions: Vec<Value> = render::links(n)
        .into_iter()
        .map(|(title, url)| json!({"type": "Action.OpenUrl", "title": title, "url": url}))
        .collect();
    json!({
        "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
        "type": "AdaptiveCard",
        "version": "1.4",
        "body": body,
        "actions": actions,
        "msteams": {"width": "Full"},
    })
}

/// The tool, transition and record: driftlog's own words, so a `FactSet` may show them;
/// each value is still kept to characters Markdown does nothing with.
fn facts(n: &Notification) -> Value {
    let mut facts = vec![
        ("Tool", inert(&n.tool)),
        ("Transition", n.transition.as_str().to_owned()),
        ("Scanned", inert(&n.scanned_at)),
    ];
    if let Some(record) = &n.record {
        let sha = inert(render::short_sha(&record.sha256));
        facts.push(("Record", format!("seq {} (sha256 {sha})", record.seq)));
    }
    if let Some(previous) = n.previous_seq {
        facts.push(("Compared with", format!("seq {previous}")));
    }
    let facts: Vec<Value> = facts
        .into_iter()
        .map(|(title, value)| json!({"title": title, "value": value}))
        .collect();
    json!({"type": "FactSet", "facts": facts})
}

/// Letters, digits and `.:+-/ ` only (at most 60): no Markdown can be made of these.
fn inert(text: &str) -> String {
    text.chars()
        .take(60)
        .map(|c| match c {
            c if c.is_alphanumeric() || ".:+-/ ".contains(c) => c,
            _ => '?',
        })
        .collect()
}

/// `lines` under `heading`, at most `shown` of them, then how many were left out (here and
/// by the notification).
fn list(
    heading: &str,
    (lines, more_lines): (&[String], usize),
    shown: usize,
    noun: &str,
) -> Vec<Value> {
    if lines.is_empty() || shown == 0 {
        return Vec::new();
    }
    let left_out = lines.len().saturating_sub(shown) + more_lines;
    let mut blocks = vec![heading_block(heading)];
    for line in lines.iter().take(shown) {
        blocks.push(rich(vec![plain("• "), run(line, 600)]).with("spacing", "None"));
    }
    if left_out > 0 {
        blocks.push(self::left_out(more(left_out, noun)));
    }
    blocks
}

fn resources(n: &Notification, detail: Detail) -> Vec<Value> {
    let total = n.resources.len() + n.more_resources;
    if total == 0 {
        return Vec::new();
    }
    let mut blocks = vec![heading_block(&format!("Drifted resources ({total})"))];
    let shown = n.resources.len().min(detail.resources);
    for resource in &n.resources[..shown] {
        blocks.extend(one_resource(resource, detail.attributes));
    }
    if total > shown {
        blocks.push(left_out(more(total - shown, "resource")));
    }
    blocks
}

fn one_resource(resource: &NotifiedResource, attributes: usize) -> Vec<Value> {
    let address = code(&resource.address, MAX_NAME).with("weight", "Bolder");
    let action = plain(&format!(" ({})", fit(&resource.action, 40, render::clean)));
    let mut blocks = vec![rich(vec![address, action])];
    let shown = resource.attributes.len().min(attributes);
    for attribute in &resource.attributes[..shown] {
        let line = vec![
            plain("• "),
            code(&attribute.path, MAX_NAME),
            plain(": "),
            code(&attribute.before, MAX_VALUE),
            plain(" → "),
            code(&attribute.after, MAX_VALUE),
        ];
        blocks.push(rich(line).with("spacing", "None"));
    }
    let left = resource.attributes.len() - shown + resource.more_attributes;
    if left > 0 {
        blocks.push(left_out(more(left, "attribute")));
    }
    blocks
}

/// The record's place and the key, small: for whoever checks the audit log.
fn footer(n: &Notification) -> Value {
    let mut runs = Vec::new();
    if let Some(record) = &n.record {
        runs.extend([
            plain("Record on "),
            code(&record.branch, MAX_NAME),
            plain(", checkpoint "),
            code(&record.checkpoint, 600),
            plain(". "),
        ]);
    }
    runs.extend([plain("Key "), code(&n.key, MAX_NAME)]);
    let runs = runs
        .into_iter()
        .map(|run| run.with("size", "Small").with("isSubtle", true))
        .collect();
    rich(runs)
}

/// Our own words in a `TextBlock` (Markdown, but of nothing from the infrastructure).
fn heading_block(text: &str) -> Value {
    json!({"type": "TextBlock", "text": text, "weight": "Bolder", "wrap": true})
}

fn left_out(text: String) -> Value {
    rich(vec![plain(&text)
        .with("italic", true)
        .with("isSubtle", true)])
    .with("spacing", "None")
}

fn rich(inlines: Vec<Value>) -> Value {
    json!({"type": "RichTextBlock", "inlines": inlines})
}

/// Text from the infrastructure, on one line and cut to `max`, in a run (never Markdown).
fn run(text: &str, max: usize) -> Value {
    let text = fit(text, max, render::clean);
    json!({"type": "TextRun", "text": if text.is_empty() { "(empty)".into() } else { text }})
}

fn code(text: &str, max: usize) -> Value {
    run(text, max).with("fontType", "Monospace")
}

fn plain(text: &str) -> Value {
    json!({"type": "TextRun", "text": text})
}

fn label(text: &str) -> Value {
    plain(text).with("weight", "Bolder")
}

/// Sets one property of a card element.
trait With {
    fn with(self, key: &str, value: impl Into<Value>) -> Value;
}

impl With for Value {
    fn with(mut self, key: &str, value: impl Into<Value>) -> Value {
        self[key] = value.into();
        self
    }
}
