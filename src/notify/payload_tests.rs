//! The three payloads of one [`Notification`]: Slack's escaping and limits, Teams' size and
//! envelope, the webhook body against its published schema.

use std::path::Path;

use serde_json::Value;

use super::*;

/// What a resource name or value could hold to make a message say something else.
const HOSTILE: &str =
    "<!channel> <@U123> <https://evil.example|click> `tick` *bold* _it_ [x](http://evil) & so";

fn attribute(i: usize, width: usize) -> NotifiedAttribute {
    NotifiedAttribute {
        path: format!("tags.k{i}_`*x*`"),
        before: format!("\"{}\"", "<b&".repeat(width / 3)),
        after: format!(
            "\"{HOSTILE}{}\"",
            "é".repeat(width.saturating_sub(HOSTILE.len()))
        ),
    }
}

fn resource(i: usize, attributes: usize, width: usize) -> NotifiedResource {
    NotifiedResource {
        address: format!("aws_s3_bucket.b{i}[\"{HOSTILE}\"]"),
        action: "update".into(),
        attributes: (0..attributes).map(|j| attribute(j, width)).collect(),
        more_attributes: 3,
    }
}

/// Every field set, with text that tries to mention, link and format.
pub(super) fn rich() -> Notification {
    Notification {
        transition: Transition::Changed,
        stack: "infra/<!channel>/prod".into(),
        workspace: "blue`green".into(),
        tool: "Terraform".into(),
        scanned_at: "2026-12-04T00:00:00Z".into(),
        summary: format!("{HOSTILE}\n{}", "s".repeat(5000)),
        differences: vec![
            format!("aws_s3_bucket.b0: {HOSTILE}"),
            "aws_iam_role.ci: drifted since".into(),
        ],
        more_differences: 4,
        resources: (0..3).map(|i| resource(i, 4, 120)).collect(),
        more_resources: 2,
        explanations: vec![format!(
            "aws_s3_bucket.b0: changed by {HOSTILE}\r\nin the console"
        )],
        more_explanations: 5,
        failure: Some(format!("terraform said {HOSTILE}")),
        owners: vec!["@acme/infra".into(), "<!here>".into()],
        more_owners: 6,
        record: Some(RecordPlace {
            branch: "driftlog/audit".into(),
            seq: 42,
            sha256: "ab".repeat(32),
            checkpoint: "driftlog-checkpoint v1 42 abab <@U123>".into(),
        }),
        previous_seq: Some(41),
        fingerprint: format!("sha256:{}", "cd".repeat(32)),
        key: "infra/prod#0123456789abcdef0123456789abcdef".into(),
        links: Links {
            run: Some("https://github.com/acme/infra/actions/runs/8813?a=1&b=2".into()),
            issue: Some("javascript:alert(1)".into()),
            pull_request: Some("https://github.com/acme/infra/pull/7".into()),
        },
        test: false,
    }
}

/// Far more than a notification holds, every text long and escaping to more.
pub(super) fn maximal() -> Notification {
    let long = |n: usize| format!("{HOSTILE}{}", "<&>é😀".repeat(n));
    Notification {
        stack: long(300),
        workspace: long(300),
        summary: long(2000),
        differences: (0..200).map(|_| long(200)).collect(),
        resources: (0..80).map(|i| resource(i, 30, 400)).collect(),
        more_resources: 7,
        explanations: (0..200).map(|_| long(200)).collect(),
        failure: Some(long(2000)),
        owners: (0..300).map(|_| long(30)).collect(),
        ..rich()
    }
}

pub(super) fn json(kind: Kind, notification: &Notification) -> Value {
    serde_json::from_slice(&kind.payload(notification)).expect("a payload is JSON")
}

/// Every string in `value`, with the key it is under.
fn strings<'a>(value: &'a Value, key: &'a str, out: &mut Vec<(&'a str, &'a str)>) {
    match value {
        Value::String(text) => out.push((key, text)),
        Value::Array(items) => items.iter().for_each(|v| strings(v, key, out)),
        Value::Object(map) => map.iter().for_each(|(k, v)| strings(v, k, out)),
        _ => {}
    }
}

/// Every object in `value` whose `type` is `kind`.
fn of_type<'a>(value: &'a Value, kind: &str, out: &mut Vec<&'a Value>) {
    match value {
        Value::Array(items) => items.iter().for_each(|v| of_type(v, kind, out)),
        Value::Object(map) => {
            if map.get("type").and_then(Value::as_str) == Some(kind) {
                out.push(value);
            }
            map.values().for_each(|v| of_type(v, kind, out));
        }
        _ => {}
    }
}

fn slack_texts(body: &Value) -> Vec<&str> {
    let mut all = Vec::new();
    strings(body, "", &mut all);
    all.into_iter()
        .filter(|(key, _)| *key == "text")
        .map(|(_, text)| text)
        .collect()
}

#[test]
fn slack_shows_hostile_text_and_makes_only_web_links() {
    let body = json(Kind::Slack, &rich());
    let raw = body.to_string();
    for hostile in [
        "<!channel>",
        "<!here>",
        "<@U123>",
        "<https://evil",
        "javascript:",
    ] {
        assert!(!raw.contains(hostile), "{hostile} in {body:#}");
    }
    assert!(raw.contains("&lt;!channel&gt;"), "shown, escaped");
    let link = "<https://github.com/acme/infra/actions/runs/8813?a=1&amp;b=2|Workflow run>";
    let pull = "<https://github.com/acme/infra/pull/7|Pull request>";
    for text in slack_texts(&body) {
        // Angle brackets only in the links made.
        let rest = text.replace(link, "").replace(pull, "");
        assert!(!rest.contains(['<', '>']), "{text}");
        assert!(!text.contains('\r'), "{text}");
    }
    assert!(raw.contains(link) && raw.contains(pull), "{body:#}");
    // A backtick in a value cannot close the code span it is shown in.
    assert!(raw.contains("`blueˋgreen`"), "{body:#}");
    assert!(raw.contains("• `tags.k0_ˋ*x*ˋ`: `"), "{body:#}");
    assert!(raw.contains("… 2 more resources"), "{body:#}");
    assert!(raw.contains("… 3 more attributes"), "{body:#}");
    assert!(
        raw.contains("Record 42") && raw.contains("abababababab"),
        "{body:#}"
    );
    let text = body["text"].as_str().expect("fallback text");
    assert!(text.starts_with("Drift changed in infra/&lt;!channel&gt;/prod (workspace "));
    assert!(!text.contains("\n"), "values stay on one line: {text}");
}

#[test]
fn slack_stays_within_its_limits_whatever_the_notification() {
    const LISTS: [&str; 5] = [
        "resources",
        "differences",
        "explanations",
        "attributes",
        "owners",
    ];
    for notification in [rich(), maximal(), Notification::sample("now")] {
        let body = json(Kind::Slack, &notification);
        let blocks = body["blocks"].as_array().expect("blocks");
        assert!((1..=slack::MAX_BLOCKS).contains(&blocks.len()));
        for block in blocks {
            let limit = match block["type"].as_str() {
                Some("header") => slack::MAX_HEADER_CHARS,
                _ => slack::MAX_SECTION_CHARS,
            };
            if let Some(text) = block["text"]["text"].as_str() {
                assert!(!text.is_empty());
                assert!(text.encode_utf16().count() <= limit, "{}", text.len());
            }
            for field in block["fields"].as_array().into_iter().flatten() {
                let text = field["text"].as_str().expect("field text");
                assert!(text.encode_utf16().count() <= slack::MAX_FIELD_CHARS);
            }
            if block["type"] == "context" {
                let elements = block["elements"].as_array().expect("elements");
                assert!(elements.len() <= slack::MAX_CONTEXT_ELEMENTS);
            }
        }
    }
    let raw = json(Kind::Slack, &maximal()).to_string();
    // 80 resources listed as far as the blocks go, the rest (and the 7 unlisted) counted.
    for noun in LISTS {
        assert!(raw.contains(&format!(" more {noun}")), "{noun}");
    }
    assert!(!raw.contains("<!channel>"));
}

#[test]
fn teams_is_an_adaptive_card_in_the_workflows_envelope() {
    let body = json(Kind::Teams, &rich());
    assert_eq!(body["type"], "message");
    let attachment = &body["attachments"][0];
    assert_eq!(
        attachment["contentType"],
        "application/vnd.microsoft.card.adaptive"
    );
    assert!(attachment["contentUrl"].is_null());
    let card = &attachment["content"];
    assert_eq!(card["type"], "AdaptiveCard");
    assert_eq!(card["version"], "1.4");
    assert_eq!(
        card["$schema"],
        "http://adaptivecards.io/schemas/adaptive-card.json"
    );
    assert!(card["body"].as_array().is_some_and(|b| b.len() > 4));
    let urls: Vec<&Value> = card["actions"]
        .as_array()
        .expect("actions")
        .iter()
        .map(|action| {
            assert_eq!(action["type"], "Action.OpenUrl");
            &action["url"]
        })
        .collect();
    assert_eq!(
        urls,
        [
            "https://github.com/acme/infra/actions/runs/8813?a=1&b=2",
            "https://github.com/acme/infra/pull/7"
        ]
    );
    assert!(!body.to_string().contains("javascript:"));
    // Infrastructure text only in runs, never in an element that renders Markdown.
    let mut markdown = Vec::new();
    of_type(card, "TextBlock", &mut markdown);
    of_type(card, "FactSet", &mut markdown);
    for element in markdown {
        let mut texts = Vec::new();
        strings(element, "", &mut texts);
        for (_, text) in texts {
            assert!(!text.contains(['<', '`', '*', '[', '_']), "{text}");
        }
    }
    let mut runs = Vec::new();
    of_type(card, "TextRun", &mut runs);
    assert!(runs
        .iter()
        .any(|run| run["text"] == "infra/<!channel>/prod"));
    assert!(runs.iter().any(|run| run["text"] == "… 2 more resources"));
    assert!(runs
        .iter()
        .all(|run| !run["text"].as_str().unwrap_or("\n").contains(['\n', '\r'])));
}

#[test]
fn teams_drops_resource_details_until_the_body_fits() {
    let long_address = |i: usize| format!("module.{}.aws_instance.i{i}", "m".repeat(150));
    let huge = Notification {
        resources: (0..MAX_NOTIFIED_RESOURCES)
            .map(|i| NotifiedResource {
                address: long_address(i),
                ..resource(i, MAX_NOTIFIED_ATTRIBUTES, MAX_NOTIFIED_VALUE_CHARS)
            })
            .collect(),
        ..rich()
    };
    let body = Kind::Teams.payload(&huge);
    assert!(body.len() < teams::MAX_BYTES, "{} bytes", body.len());
    let text = String::from_utf8(body).expect("utf-8");
    assert!(text.contains(&long_address(0)), "the first resources stay");
    assert!(text.contains(" more attributes"), "what went is counted");
    // Even far beyond what a notification holds, the card still fits and says so.
    let body = Kind::Teams.payload(&maximal());
    assert!(body.len() < teams::MAX_BYTES, "{} bytes", body.len());
    let card: Value = serde_json::from_slice(&body).expect("JSON");
    assert!(card.to_string().contains(" more resources"), "{card:#}");
}

#[test]
fn the_webhook_body_is_the_notification_and_validates_against_its_schema() {
    let notification = rich();
    let body = json(Kind::Webhook, &notification);
    assert_eq!(body["schema"], "driftlog.notification/v1");
    assert_eq!(body["title"], notification.title());
    assert_eq!(body["record"]["seq"], 42);
    assert_eq!(
        body["resources"][0]["attributes"][0]["after"],
        notification.resources[0].attributes[0].after
    );
    assert_eq!(
        body["links"]["issue"], "javascript:alert(1)",
        "data, as it is"
    );
    let schema = webhook::json_schema();
    let validator = jsonschema::validator_for(&schema).expect("a valid schema");
    for body in [
        body.clone(),
        json(Kind::Webhook, &Notification::sample("now")),
    ] {
        let errors: Vec<_> = validator
            .iter_errors(&body)
            .map(|e| e.to_string())
            .collect();
        assert!(errors.is_empty(), "{errors:#?}");
    }
    // Both added properties are required, and the schema's name is fixed.
    for (key, value) in [
        ("schema", None),
        ("title", None),
        ("schema", Some("other/v2")),
    ] {
        let mut broken = body.clone();
        match value {
            Some(value) => broken[key] = value.into(),
            None => drop(broken.as_object_mut().and_then(|o| o.remove(key))),
        }
        assert!(!validator.is_valid(&broken), "{key} {value:?}");
    }
}

/// The committed schema is what the types generate; rerun with DRIFTLOG_UPDATE_SCHEMA=1
/// after changing [`Notification`] (and bump `webhook::SCHEMA` if it can break a receiver).
#[test]
fn committed_notification_schema_matches_the_model() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/notification.schema.json");
    let generated =
        serde_json::to_string_pretty(&webhook::json_schema()).unwrap_or_default() + "\n";
    if std::env::var_os("DRIFTLOG_UPDATE_SCHEMA").is_some() {
        std::fs::write(&path, &generated).expect("write the schema");
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        committed == generated,
        "{} is out of date: run `DRIFTLOG_UPDATE_SCHEMA=1 cargo test --lib notification_schema`",
        path.display()
    );
}

#[test]
fn the_sample_renders_for_every_kind() {
    let sample = Notification::sample("2026-12-04T00:00:00Z");
    let slack = json(Kind::Slack, &sample);
    assert!(slack["text"]
        .as_str()
        .is_some_and(|t| t.starts_with("[test] Drift detected in driftlog-test")));
    assert_eq!(slack["blocks"][0]["type"], "header");
    let teams = json(Kind::Teams, &sample);
    assert_eq!(teams["attachments"][0]["content"]["type"], "AdaptiveCard");
    assert!(teams.to_string().contains("example_resource.sample"));
    let webhook = json(Kind::Webhook, &sample);
    assert_eq!(webhook["test"], true);
    assert_eq!(webhook["title"], sample.title());
}
