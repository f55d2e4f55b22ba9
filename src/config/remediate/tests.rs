use std::path::Path;

use super::*;
use crate::config::{Config, ConfigError, FILE_NAME};

fn parse(root: &Path, text: &str) -> Result<Config, ConfigError> {
    Config::parse(root, &root.join(FILE_NAME), text)
}

/// The error's line, column, key and message.
fn invalid(text: &str) -> (usize, usize, Option<String>, String) {
    let dir = tempfile::tempdir().expect("temp dir");
    match parse(dir.path(), text) {
        Err(ConfigError::Invalid {
            line,
            column,
            key,
            message,
            ..
        }) => (line, column, key, message),
        other => panic!("expected an invalid configuration, got {other:?}"),
    }
}

fn rules(text: &str) -> Vec<RemediateRule> {
    let dir = tempfile::tempdir().expect("temp dir");
    // A stack, so discovery finds one and nothing else is at fault.
    std::fs::write(dir.path().join("main.tf"), "").expect("write");
    parse(dir.path(), text).expect("valid").remediate
}

const FULL: &str = r#"[[ignore]]
reason = "r"

[[remediate]]
resource = "aws_security_group.*"
attribute = "ingress*"
stack = "infra/prod"
action = "revert"
reason = "security groups change only through code"
allow_recreate = true
max_resources = 3
expires = 2027-06-30

[[remediate]]
resource = "*"
action = "adopt"
reason = "the console is the source of truth"
"#;

#[test]
fn a_rule_with_every_key_and_one_with_the_defaults() {
    let rules = rules(FULL);
    assert_eq!(
        rules,
        vec![
            RemediateRule {
                resource: "aws_security_group.*".into(),
                attribute: Some("ingress*".into()),
                stack: Some("infra/prod".into()),
                action: Action::Revert,
                reason: "security groups change only through code".into(),
                allow_recreate: true,
                max_resources: 3,
                expires: Some("2027-06-30".into()),
                line: 4,
            },
            RemediateRule {
                resource: "*".into(),
                attribute: None,
                stack: None,
                action: Action::Adopt,
                reason: "the console is the source of truth".into(),
                allow_recreate: false,
                max_resources: DEFAULT_MAX_RESOURCES,
                expires: None,
                line: 14,
            },
        ]
    );
    assert_eq!(Action::Revert.as_str(), "revert");
    assert_eq!(Action::Adopt.as_str(), "adopt");
}

#[test]
fn rules_are_named_by_file_and_line() {
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::write(dir.path().join("main.tf"), "").expect("write");
    let config = parse(dir.path(), FULL).expect("valid");
    assert_eq!(config.remediate[0].name(&config), ".driftlog.toml:4");
    assert_eq!(config.remediate[1].name(&config), ".driftlog.toml:14");
    // A file given outside the root keeps its whole path.
    let elsewhere = tempfile::tempdir().expect("temp dir");
    let file = elsewhere.path().join("rules.toml");
    let config = Config::parse(dir.path(), &file, FULL).expect("valid");
    assert_eq!(
        config.remediate[0].name(&config),
        format!("{}:4", file.display())
    );
}

#[test]
fn rules_match_like_ignore_rules_and_expire_inclusively() {
    let rules = rules(FULL);
    let (attribute_rule, any) = (&rules[0], &rules[1]);
    let today = "2027-06-30";
    assert!(attribute_rule.applies(
        today,
        "infra/prod",
        "aws_security_group.web",
        Some("ingress[0].cidr_blocks[1]")
    ));
    assert!(attribute_rule.applies(
        today,
        "./infra/prod/",
        "aws_security_group.web[\"a\"]",
        Some("ingress")
    ));
    // Another attribute, another stack, another type, the resource as a whole.
    assert!(!attribute_rule.applies(
        today,
        "infra/prod",
        "aws_security_group.web",
        Some("egress")
    ));
    assert!(!attribute_rule.applies(
        today,
        "infra/stage",
        "aws_security_group.web",
        Some("ingress")
    ));
    assert!(!attribute_rule.applies(today, "infra/prod", "aws_instance.web", Some("ingress")));
    assert!(!attribute_rule.applies(today, "infra/prod", "aws_security_group.web", None));
    assert!(!attribute_rule.applies(today, "infra/prod", "aws_security_group.web", Some("")));
    // Expired the day after its last day.
    assert!(attribute_rule.is_active("2027-06-30"));
    assert!(!attribute_rule.is_active("2027-07-01"));
    assert!(!attribute_rule.applies(
        "2027-07-01",
        "infra/prod",
        "aws_security_group.web",
        Some("ingress")
    ));
    // Without an attribute glob: every change, and a deleted resource.
    assert!(any.applies("2999-01-01", ".", "a.b", None));
    assert!(any.applies("2999-01-01", "x/y", "module.m.a.b[0]", Some("tags.env")));
}

#[test]
fn required_keys_left_out_are_errors_at_the_entry() {
    for (text, key, needle) in [
        (
            "[[remediate]]\naction = \"revert\"\nreason = \"r\"\n",
            "remediate.resource",
            "no `resource`",
        ),
        (
            "[[remediate]]\nresource = \"a.b\"\nreason = \"r\"\n",
            "remediate.action",
            "no `action`",
        ),
        (
            "[[remediate]]\nresource = \"a.b\"\naction = \"revert\"\n",
            "remediate.reason",
            "no `reason`",
        ),
    ] {
        let (line, column, found, message) = invalid(&format!("\n{text}"));
        assert_eq!((line, column), (2, 1), "{message}");
        assert_eq!(found.as_deref(), Some(key), "{message}");
        assert!(message.contains(needle), "{message}");
        assert!(message.starts_with("[[remediate]] has no"), "{message}");
    }
}

#[test]
fn bad_values_are_errors_at_the_value() {
    let head = "[[remediate]]\nresource = \"a.b\"\naction = \"revert\"\nreason = \"r\"\n";
    for (extra, key, needle) in [
        (
            "max_resources = 0\n",
            "remediate.max_resources",
            "not between 1 and 1000",
        ),
        (
            "max_resources = 1001\n",
            "remediate.max_resources",
            "MAX_REMEDIATE_RESOURCES",
        ),
        ("max_resources = -3\n", "remediate.max_resources", "-3"),
        (
            "max_resources = \"10\"\n",
            "remediate.max_resources",
            "invalid type",
        ),
        (
            "max_resources = 1.5\n",
            "remediate.max_resources",
            "invalid type",
        ),
        (
            "allow_recreate = \"yes\"\n",
            "remediate.allow_recreate",
            "invalid type",
        ),
        ("expires = 2027-02-30\n", "remediate.expires", "expires"),
        (
            "expires = \"30/06/2027\"\n",
            "remediate.expires",
            "not a date",
        ),
        (
            "attribute = \"\"\n",
            "remediate.attribute",
            "`attribute` is empty",
        ),
        ("stack = \" \"\n", "remediate.stack", "`stack` is empty"),
        ("stack = 3\n", "remediate.stack", "invalid type"),
    ] {
        let (line, column, found, message) = invalid(&format!("{head}{extra}"));
        assert_eq!(line, 5, "{extra}: {message}");
        let value_column = extra.find('=').expect("=") + 3;
        assert_eq!(column, value_column, "{extra}: {message}");
        assert_eq!(found.as_deref(), Some(key), "{extra}: {message}");
        assert!(message.contains(needle), "{extra}: {message}");
    }
    let (line, column, key, message) =
        invalid("[[remediate]]\nresource = \"a.b\"\nreason = \"r\"\naction = \"rollback\"\n");
    assert_eq!((line, column), (4, 10));
    assert_eq!(key.as_deref(), Some("remediate.action"));
    assert_eq!(
        message,
        "`action` \"rollback\" is not an action (expected revert or adopt)"
    );
    let (line, _, key, message) =
        invalid("[[remediate]]\naction = \"revert\"\nreason = \"r\"\nresource = \"\"\n");
    assert_eq!(line, 4);
    assert_eq!(key.as_deref(), Some("remediate.resource"));
    assert!(message.starts_with("`resource` is empty"), "{message}");
    let (line, _, key, message) =
        invalid("[[remediate]]\nresource = \"a.b\"\naction = \"revert\"\nreason = \"  \"\n");
    assert_eq!(line, 4);
    assert_eq!(key.as_deref(), Some("remediate.reason"));
    assert!(message.starts_with("`reason` is empty"), "{message}");
}

#[test]
fn the_largest_guard_allowed_is_accepted() {
    let rules = rules(&format!(
        "[[remediate]]\nresource = \"a.b\"\naction = \"revert\"\nreason = \"r\"\n\
         max_resources = {MAX_REMEDIATE_RESOURCES}\n\n\
         [[remediate]]\nresource = \"a.c\"\naction = \"revert\"\nreason = \"r\"\n\
         max_resources = 1\n"
    ));
    assert_eq!(rules[0].max_resources, MAX_REMEDIATE_RESOURCES);
    assert_eq!(rules[1].max_resources, 1);
}

#[test]
fn unknown_keys_name_the_keys_remediate_allows() {
    let (line, column, key, message) = invalid(
        "[[remediate]]\nresource = \"a.b\"\naction = \"revert\"\nreason = \"r\"\n  max = 3\n",
    );
    assert_eq!((line, column), (5, 3));
    assert_eq!(key.as_deref(), Some("remediate"));
    assert_eq!(
        message,
        "unknown key `max` in [[remediate]] (expected resource, attribute, stack, action, \
         reason, allow_recreate, max_resources, expires)"
    );
    // serde's own list of fields, in any order, is the one the message shows.
    let err = toml::from_str::<RawRemediate>("x = 1\n")
        .err()
        .expect("unknown key");
    let mut listed: Vec<&str> = err.message().split('`').skip(3).step_by(2).collect();
    listed.sort_unstable();
    let mut keys = REMEDIATE_KEYS.to_vec();
    keys.sort_unstable();
    assert_eq!(listed, keys, "{}", err.message());
    // `[remediate]`: one table where a list of them belongs.
    let (_, _, _, message) = invalid("[remediate]\nresource = \"a.b\"\n");
    assert!(message.contains("[[remediate]]"), "{message}");
}
