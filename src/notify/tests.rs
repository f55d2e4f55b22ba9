use serde_json::{json, Value};

use super::payload_tests::{json, maximal, rich};
use super::render::{clean, fit, is_web_url};
use super::*;
use crate::drift::{Action, AttrValue, AttributeChange, DriftedResource, Failure};

#[test]
fn the_sample_is_marked_as_a_test() {
    let sample = Notification::sample("2026-12-04T00:00:00Z");
    assert!(sample.test);
    assert!(sample.title().starts_with("[test] "));
}

/// Every `text` of Slack's blocks, fields and context elements included: what Slack adds
/// up against its total.
fn block_texts(value: &Value, out: &mut Vec<String>) {
    match value {
        Value::Object(map) => map.iter().for_each(|(key, value)| match value {
            Value::String(text) if key == "text" => out.push(text.clone()),
            value => block_texts(value, out),
        }),
        Value::Array(items) => items.iter().for_each(|value| block_texts(value, out)),
        _ => {}
    }
}

fn slack_total(body: &Value) -> usize {
    let mut texts = Vec::new();
    block_texts(&body["blocks"], &mut texts);
    texts.iter().map(|text| text.encode_utf16().count()).sum()
}

/// As much as `Notification::of` lets through: every resource and attribute listed, every
/// value at its longest.
fn fullest() -> Notification {
    let attribute = |j: usize| NotifiedAttribute {
        path: format!("tags.key_{j}"),
        before: format!("\"{}\"", "b".repeat(MAX_NOTIFIED_VALUE_CHARS)),
        after: format!("\"{}\"", "a".repeat(MAX_NOTIFIED_VALUE_CHARS)),
    };
    let resource = |i: usize| NotifiedResource {
        address: format!("module.network.aws_security_group.rule_{i}"),
        action: "update".into(),
        attributes: (0..MAX_NOTIFIED_ATTRIBUTES).map(attribute).collect(),
        more_attributes: 3,
    };
    Notification {
        resources: (0..MAX_NOTIFIED_RESOURCES).map(resource).collect(),
        ..rich()
    }
}

#[test]
fn slack_keeps_the_whole_message_within_its_total_budget() {
    for notification in [fullest(), maximal(), rich()] {
        let body = json(Kind::Slack, &notification);
        let total = slack_total(&body);
        assert!(total <= slack::MAX_SLACK_TOTAL_CHARS, "{total} characters");
        let raw = body.to_string();
        for counted in [" more attributes", " more resources", " more differences"] {
            assert!(raw.contains(counted), "{counted} in {body:#}");
        }
        for counted in [" more explanations", " more owners"] {
            assert!(raw.contains(counted), "{counted} in {body:#}");
        }
        // The fallback is a preview: the title and the summary's start.
        let text = body["text"].as_str().expect("fallback");
        assert!(text.encode_utf16().count() <= slack::MAX_HEADER_CHARS + 2 + 500);
    }
    // Detail goes before resources: every resource of the fullest message is still named.
    let raw = json(Kind::Slack, &fullest()).to_string();
    assert!(raw.contains("aws_security_group.rule_19`"), "{raw}");
    assert!(raw.contains("… 12 more attributes"), "{raw}");
    // A small message loses nothing.
    let raw = json(Kind::Slack, &rich()).to_string();
    assert!(raw.contains("tags.k3_"), "{raw}");
}

#[test]
fn every_receiver_counts_what_the_notification_left_out() {
    for kind in [Kind::Slack, Kind::Teams] {
        let raw = json(kind, &rich()).to_string();
        for counted in [
            "… 4 more differences",
            "… 5 more explanations",
            "… 6 more owners",
        ] {
            assert!(raw.contains(counted), "{kind:?}: {counted} in {raw}");
        }
    }
}

fn huge_report(status: Status) -> ScanReport {
    let long = |c: &str, n: usize| c.repeat(n);
    let change = |j: usize| AttributeChange {
        class: Default::default(),
        path: format!("tags.{}{j}", long("p", 1000)),
        before: AttrValue::Known(json!(long("b", 1000))),
        after: AttrValue::Known(json!(long("\"", 1000))),
        ignored: None,
    };
    let resource = |i: usize| DriftedResource {
        previous_address: None,
        class: Default::default(),
        address: format!("aws_thing.{}{i}", long("x", 1000)),
        module_address: None,
        mode: "managed".into(),
        resource_type: "aws_thing".into(),
        name: "x".into(),
        index: None,
        provider: "p".into(),
        action: Action::Update,
        changes: (0..12).map(change).collect(),
        identifiers: Default::default(),
        ignored: None,
    };
    let explanation = |i: usize| {
        let seen = json!({"seq": 1, "commit": null, "time": "2026-11-20T01:00:00Z",
            "kind": "scan", "result": "drifted", "who": long("w", 1000), "run": null});
        serde_json::from_value(json!({"address": format!("{}{i}", long("e", 1000)),
            "stack": "infra", "workspace": "default", "first_seen": seen, "last_clean": null,
            "applies": [], "commits": null, "events": null, "changes": []}))
        .expect("an explanation")
    };
    let mut report = ScanReport::test("infra/prod", status);
    report.resources = (0..100).map(resource).collect();
    report.explanations = (0..300).map(explanation).collect();
    report.owners = (0..1000)
        .map(|i| format!("@{}{i}", long("o", 1000)))
        .collect();
    report.failure = Some(Failure::new(long("k", 100_000), long("m", 1_000_000)));
    report
}

#[test]
fn the_webhook_body_is_bounded_whatever_the_report() {
    let schema = webhook::json_schema();
    let validator = jsonschema::validator_for(&schema).expect("a valid schema");
    for (status, transition) in [
        (Status::Drifted, Transition::Drifted),
        (Status::Failed, Transition::Failed),
    ] {
        let n = Notification::of(&huge_report(status), transition, None, Links::default());
        let body = Kind::Webhook.payload(&n);
        assert!(
            body.len() < 256 * 1024,
            "{transition:?}: {} bytes",
            body.len()
        );
        let body: Value = serde_json::from_slice(&body).expect("JSON");
        assert!(validator.is_valid(&body), "{transition:?}");
        assert!(n.explanations.len() == MAX_NOTIFIED_RESOURCES && n.more_explanations == 280);
        assert!(n.owners.len() == MAX_NOTIFIED_OWNERS && n.more_owners == 950);
        let chars = |text: &str| text.chars().count();
        assert!(
            chars(&n.summary) < MAX_NOTIFIED_LINE_CHARS + 40,
            "{}",
            n.summary
        );
        let lines = n.differences.iter().chain(&n.explanations);
        assert!(lines
            .map(|l| chars(l))
            .all(|c| c < MAX_NOTIFIED_LINE_CHARS + 40));
        let names = n
            .owners
            .iter()
            .chain(n.resources.iter().map(|r| &r.address));
        assert!(names
            .map(|l| chars(l))
            .all(|c| c < MAX_NOTIFIED_NAME_CHARS + 40));
        if transition == Transition::Failed {
            let failure = n.failure.as_deref().expect("the failure");
            assert!(failure.ends_with(&format!("({} more characters)", 1_000_000 - 4000)));
        } else {
            assert!(n.differences.len() == MAX_NOTIFIED_RESOURCES && n.more_differences == 80);
            assert_eq!(n.more_resources, 80);
            let paths = n
                .resources
                .iter()
                .flat_map(|r| &r.attributes)
                .map(|a| &a.path);
            assert!(paths
                .map(|p| chars(p))
                .all(|c| c < MAX_NOTIFIED_NAME_CHARS + 40));
        }
    }
}

/// Unicode's format characters (category Cf): each range's first and last.
const FORMAT_CHARS: &[char] = &[
    '\u{ad}',
    '\u{600}',
    '\u{605}',
    '\u{61c}',
    '\u{6dd}',
    '\u{70f}',
    '\u{890}',
    '\u{891}',
    '\u{8e2}',
    '\u{180e}',
    '\u{200b}',
    '\u{200c}',
    '\u{200d}',
    '\u{200e}',
    '\u{200f}',
    '\u{202a}',
    '\u{202e}',
    '\u{2060}',
    '\u{2064}',
    '\u{2066}',
    '\u{2069}',
    '\u{206f}',
    '\u{feff}',
    '\u{fff9}',
    '\u{fffb}',
    '\u{110bd}',
    '\u{110cd}',
    '\u{13430}',
    '\u{1343f}',
    '\u{1bca0}',
    '\u{1bca3}',
    '\u{1d173}',
    '\u{1d17a}',
    '\u{e0001}',
    '\u{e0020}',
    '\u{e007f}',
];

#[test]
fn format_characters_from_the_infrastructure_are_shown() {
    for &c in FORMAT_CHARS {
        let mut out = String::new();
        clean(c, &mut out);
        assert_eq!(out, "\u{fffd}", "U+{:04X}", u32::from(c));
        let mut notification = rich();
        notification.resources[0].address = format!("aws_s3_bucket.a{c}b");
        notification.owners[0] = format!("@acme/in{c}fra");
        for kind in [Kind::Slack, Kind::Teams] {
            let raw = String::from_utf8(kind.payload(&notification)).expect("UTF-8");
            assert!(!raw.contains(c), "{kind:?}: U+{:04X}", u32::from(c));
            assert!(raw.contains("aws_s3_bucket.a\u{fffd}b"), "{kind:?}");
            assert!(raw.contains("@acme/in\u{fffd}fra"), "{kind:?}");
        }
    }
    // Around them, letters, emoji and their variation selectors are left alone.
    for c in ['a', 'é', '😀', '\u{fe0f}', '\u{ffff}', '\u{1f1e6}', 'ˋ'] {
        let mut out = String::new();
        clean(c, &mut out);
        assert_eq!(out, c.to_string());
    }
}

#[test]
fn text_is_cut_between_characters_never_inside_an_escape() {
    let escape = |c: char, out: &mut String| match c {
        '&' => out.push_str("&amp;"),
        c => out.push(c),
    };
    assert_eq!(fit("a&b", 10, escape), "a&amp;b");
    // 40 units: the kept text and the longest marker this text could need.
    let cut = fit(&"é&".repeat(100), 40, escape);
    assert_eq!(cut, "é&amp;é&amp;é… (195 more characters)");
    // Astral characters count as Slack may count them: two UTF-16 units.
    assert!(fit(&"😀".repeat(50), 30, escape).encode_utf16().count() <= 30);
    assert_eq!(fit("abcdef", 3, escape).chars().count(), 3);
}

#[test]
fn only_web_urls_with_a_plain_host_are_links() {
    for good in [
        "https://github.com/a/b/actions/runs/1",
        "http://127.0.0.1:8080/x?y=1&z",
    ] {
        assert!(is_web_url(good), "{good}");
    }
    for bad in [
        "javascript:alert(1)",
        "https://",
        "https:///path",
        "ftp://example.com",
        "https://github.com@evil.example/",
        "https://evil.example|click",
        "https://a.example/<!channel>",
        "https://a.example/ spaced",
        "data:text/html,x",
    ] {
        assert!(!is_web_url(bad), "{bad}");
    }
}
