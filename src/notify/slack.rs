//! The Slack payload: an incoming webhook's message in Block Kit, within Slack's limits (a
//! message over them is refused whole). Every text from the infrastructure is escaped for
//! mrkdwn, so `<!channel>` or `<https://…|…>` in a name is shown as it is, never parsed.

use serde_json::{json, Value};

use super::render::{self, fit, more, units, Detail};
use super::{Notification, NotifiedResource};

/// Slack's limits: blocks in a message, characters in a section, a header and a field, and
/// elements in a context block.
pub const MAX_BLOCKS: usize = 50;
pub const MAX_SECTION_CHARS: usize = 3000;
pub const MAX_HEADER_CHARS: usize = 150;
pub const MAX_FIELD_CHARS: usize = 2000;
pub const MAX_CONTEXT_ELEMENTS: usize = 10;
/// Slack also refuses a message whose blocks hold more than about 13,200 characters of text
/// in all (`msg_blocks_too_long`), each block within its limit or not: the blocks' texts
/// (fields and context elements included, counted as the limits above) stay under this.
pub const MAX_SLACK_TOTAL_CHARS: usize = 12_000;

/// How much a message shows. Tried from the most to the least until the blocks fit.
const DETAILS: [Detail; 8] = [
    Detail::new(
        usize::MAX,
        usize::MAX,
        usize::MAX,
        MAX_SECTION_CHARS,
        MAX_NAME,
    ),
    Detail::new(usize::MAX, 5, 10, 1000, 200),
    Detail::new(usize::MAX, 2, 10, 1000, 200),
    Detail::new(usize::MAX, 1, 5, 600, 150),
    Detail::new(usize::MAX, 0, 5, 600, 150),
    Detail::new(10, 0, 3, 600, 100),
    Detail::new(5, 0, 3, 300, 100),
    // Bounded whatever the notification holds: every text is cut, lists are only counted.
    Detail::new(0, 0, 0, 300, 80),
];

/// Room kept in a section for the lines saying what it left out.
const MORE_ROOM: usize = 80;
/// Sections each for the differences and for the explanations; resources get the rest.
const MAX_LIST_SECTIONS: usize = 3;
/// Longest address, path and value shown (escaped); values are cut at 120 already.
const MAX_NAME: usize = 300;
const MAX_VALUE: usize = 400;
/// Longest line of a list (a difference, an explanation).
const MAX_LINE: usize = 600;
/// Longest summary in the fallback `text`: a notification's preview, not the message.
const MAX_FALLBACK_SUMMARY: usize = 500;
/// Longest links section: a URL is at most 1000 bytes, but `&` escapes to five.
const MAX_LINKS: usize = 2000;

/// The request body for slack.
pub fn payload(notification: &Notification) -> Value {
    let n = notification;
    let mut blocks = Vec::new();
    for detail in DETAILS {
        blocks = self::blocks(n, detail);
        if total(&blocks) <= MAX_SLACK_TOTAL_CHARS {
            break;
        }
    }
    // The fallback shows in notifications and where blocks cannot; it is mrkdwn too.
    let fallback = format!(
        "{}: {}",
        fit(&n.title(), MAX_HEADER_CHARS, text),
        fit(&n.summary, MAX_FALLBACK_SUMMARY, text)
    );
    json!({
        "text": fallback,
        "blocks": blocks,
        "unfurl_links": false,
        "unfurl_media": false,
    })
}

fn blocks(n: &Notification, detail: Detail) -> Vec<Value> {
    let mut head = vec![
        json!({
            "type": "header",
            "text": {"type": "plain_text", "text": fit(&n.title(), MAX_HEADER_CHARS, text)},
        }),
        fields(n, detail.chars.min(MAX_FIELD_CHARS)),
    ];
    // A section's text may not be empty.
    if !n.summary.is_empty() {
        head.insert(1, section(fit(&n.summary, detail.chars, text)));
    }
    if let Some(failure) = &n.failure {
        let heading = "*Why the scan failed*\n";
        let failure = fit(failure, detail.chars - units(heading), text);
        head.push(section(format!("{heading}{failure}")));
    }
    let tail = tail(n, detail);
    let differences = list(
        "*What changed since the previous record*",
        (&n.differences, n.more_differences),
        "difference",
        detail,
    );
    let explanations = list(
        "*What the audit log says*",
        (&n.explanations, n.more_explanations),
        "explanation",
        detail,
    );
    let room = MAX_BLOCKS - head.len() - tail.len() - differences.len() - explanations.len();
    let resources = resources(n, room, detail);
    head.into_iter()
        .chain(differences)
        .chain(resources)
        .chain(explanations)
        .chain(tail)
        .collect()
}

/// The text Slack counts against [`MAX_SLACK_TOTAL_CHARS`]: every `text` in the blocks.
fn total(value: &[Value]) -> usize {
    fn of(value: &Value) -> usize {
        match value {
            Value::Object(map) => map
                .iter()
                .map(|(key, value)| match value {
                    Value::String(text) if key == "text" => units(text),
                    value => of(value),
                })
                .sum(),
            Value::Array(items) => items.iter().map(of).sum(),
            _ => 0,
        }
    }
    value.iter().map(of).sum()
}

/// Escapes `c` for mrkdwn (Slack decodes these three and nothing else), on one line.
fn text(c: char, out: &mut String) {
    match c {
        '&' => out.push_str("&amp;"),
        '<' => out.push_str("&lt;"),
        '>' => out.push_str("&gt;"),
        c => render::clean(c, out),
    }
}

/// `raw` in a code span, which shows `*bold*` or `_x_` as it is: a backtick in it becomes a
/// look-alike so it cannot close the span.
fn code(raw: &str, max: usize) -> String {
    if raw.is_empty() {
        return "(empty)".to_owned();
    }
    let inner = fit(raw, max.saturating_sub(2), |c, out| match c {
        '`' => out.push('ˋ'),
        c => text(c, out),
    });
    format!("`{inner}`")
}

/// A mrkdwn section; `verbatim` keeps Slack from turning bare names and URLs into links.
fn section(text: String) -> Value {
    json!({"type": "section", "text": {"type": "mrkdwn", "text": text, "verbatim": true}})
}

fn mrkdwn(text: String) -> Value {
    json!({"type": "mrkdwn", "text": text, "verbatim": true})
}

fn fields(n: &Notification, max: usize) -> Value {
    let field = |label: &str, value: &str| {
        mrkdwn(format!("*{label}*\n{}", code(value, max - label.len() - 3)))
    };
    json!({
        "type": "section",
        "fields": [
            field("Stack", &n.stack),
            field("Workspace", &n.workspace),
            field("Tool", &n.tool),
            field("Transition", n.transition.as_str()),
        ],
    })
}

/// `lines` under `heading`, packed into at most [`MAX_LIST_SECTIONS`] sections; those left
/// out here and the `more` the notification left out are counted.
fn list(
    heading: &str,
    (lines, more_lines): (&[String], usize),
    noun: &str,
    detail: Detail,
) -> Vec<Value> {
    if lines.is_empty() && more_lines == 0 {
        return Vec::new();
    }
    let unlisted = more_lines + lines.len().saturating_sub(detail.lines);
    let lines: Vec<String> = lines
        .iter()
        .take(detail.lines)
        .map(|line| format!("• {}", fit(line, MAX_LINE.min(detail.chars), text)))
        .collect();
    let mut sections = vec![heading.to_owned()];
    let mut shown = 0;
    for line in &lines {
        let last = sections.last_mut().expect("one section at least");
        if units(last) + 1 + units(line) + MORE_ROOM <= MAX_SECTION_CHARS {
            last.push('\n');
            last.push_str(line);
        } else if sections.len() < MAX_LIST_SECTIONS {
            sections.push(line.clone());
        } else {
            break;
        }
        shown += 1;
    }
    let left_out = lines.len() - shown + unlisted;
    if left_out > 0 {
        let last = sections.last_mut().expect("one section at least");
        last.push('\n');
        last.push_str(&more(left_out, noun));
    }
    sections.into_iter().map(section).collect()
}

/// A section per resource, at most `room` of them; the last says how many were left out.
fn resources(n: &Notification, room: usize, detail: Detail) -> Vec<Value> {
    let total = n.resources.len() + n.more_resources;
    let shown = n.resources.len().min(room).min(detail.resources);
    let mut texts: Vec<String> = n.resources[..shown]
        .iter()
        .map(|r| resource(r, detail))
        .collect();
    let left_out = total - shown;
    if left_out > 0 {
        let line = more(left_out, "resource");
        match texts.last_mut() {
            Some(last) => {
                last.push('\n');
                last.push_str(&line);
            }
            None if room > 0 => texts.push(line),
            None => {}
        }
    }
    if let Some(first) = texts.first_mut() {
        let heading = format!("*Drifted resources ({total})*\n");
        if units(&heading) + units(first) <= MAX_SECTION_CHARS {
            first.insert_str(0, &heading);
        }
    }
    texts.into_iter().map(section).collect()
}

/// The resource and as many of its attributes as fit, with room left for two "more" lines.
fn resource(resource: &NotifiedResource, detail: Detail) -> String {
    let mut out = format!(
        "*{}* ({})",
        code(&resource.address, detail.name),
        fit(&resource.action, 40, text)
    );
    let budget = MAX_SECTION_CHARS - 2 * MORE_ROOM;
    let mut shown = 0;
    for attribute in resource.attributes.iter().take(detail.attributes) {
        let line = format!(
            "\n• {}: {} → {}",
            code(&attribute.path, detail.name),
            code(&attribute.before, MAX_VALUE),
            code(&attribute.after, MAX_VALUE)
        );
        if units(&out) + units(&line) > budget {
            break;
        }
        out.push_str(&line);
        shown += 1;
    }
    let left_out = resource.attributes.len() - shown + resource.more_attributes;
    if left_out > 0 {
        out.push('\n');
        out.push_str(&more(left_out, "attribute"));
    }
    out
}

/// Owners, links and the record's place: the blocks after the lists.
fn tail(n: &Notification, detail: Detail) -> Vec<Value> {
    let mut blocks = Vec::new();
    let all_owners = n.owners.len() + n.more_owners;
    if all_owners > 0 {
        let mut owners = "*Owners*:".to_owned();
        let mut shown = 0;
        for owner in n.owners.iter().take(detail.lines) {
            let owner = code(owner, detail.name);
            if units(&owners) + units(&owner) + 2 + MORE_ROOM > MAX_SECTION_CHARS {
                break;
            }
            owners.push_str(if shown == 0 { " " } else { ", " });
            owners.push_str(&owner);
            shown += 1;
        }
        if shown < all_owners {
            owners.push(' ');
            owners.push_str(&more(all_owners - shown, "owner"));
        }
        blocks.push(section(owners));
    }
    let mut links = String::new();
    for (label, url) in render::links(n) {
        let link = format!("<{}|{label}>", url.replace('&', "&amp;"));
        let gap = if links.is_empty() { "" } else { "  ·  " };
        if units(&links) + units(gap) + units(&link) <= MAX_LINKS {
            links.push_str(gap);
            links.push_str(&link);
        }
    }
    if !links.is_empty() {
        blocks.push(section(links));
    }
    let mut context = Vec::new();
    if let Some(record) = &n.record {
        context.push(format!(
            "Record {} on {}",
            record.seq,
            code(&record.branch, detail.name)
        ));
        context.push(format!(
            "sha256 {}",
            code(render::short_sha(&record.sha256), 40)
        ));
        context.push(format!("checkpoint {}", code(&record.checkpoint, 600)));
    }
    if let Some(previous) = n.previous_seq {
        context.push(format!("compared with record {previous}"));
    }
    context.push(format!("scanned {}", fit(&n.scanned_at, 60, text)));
    context.push(format!("key {}", code(&n.key, detail.name)));
    context.truncate(MAX_CONTEXT_ELEMENTS);
    let elements: Vec<Value> = context.into_iter().map(mrkdwn).collect();
    blocks.push(json!({"type": "context", "elements": elements}));
    blocks
}
