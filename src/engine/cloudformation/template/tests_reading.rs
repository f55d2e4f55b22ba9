//! Reading templates: limits, errors that quote nothing, short-form tags, property paths,
//! lines, and fuzzing.

use proptest::prelude::*;
use serde_json::json;

use super::tests::{assert_paths, parsed, path, SECRET, YAML};
use super::*;

#[test]
fn templates_beyond_the_limits_are_refused_saying_which_limit() {
    let huge = format!("a: '{}'\n", "x".repeat(MAX_TEMPLATE_BYTES));
    assert!(matches!(
        Template::parse(&huge),
        Err(TemplateError::TooLarge { .. })
    ));
    assert_eq!(locate(&huge, "a"), None);

    let nested = |levels: usize| format!("{}{}", "[".repeat(levels), "]".repeat(levels));
    let fits = format!(
        "Resources: {{}}\nMetadata: {}\n",
        nested(MAX_TEMPLATE_DEPTH - 1)
    );
    assert!(Template::parse(&fits).is_ok());
    let deep = format!("Metadata: {}\n", nested(MAX_TEMPLATE_DEPTH));
    let err = Template::parse(&deep).expect_err("too deep");
    assert!(
        matches!(err, TemplateError::TooDeep { position: Some(p) } if p.line == 1),
        "{err}"
    );
    assert!(err.to_string().contains("128"), "{err}");
    // Deep through aliases, though shallow in the text.
    let mut chain = String::from("a0: &a0 [x]\n");
    for level in 1..=MAX_TEMPLATE_DEPTH {
        chain.push_str(&format!("a{level}: &a{level} [*a{}]\n", level - 1));
    }
    let err = Template::parse(&chain).expect_err("too deep");
    assert!(matches!(err, TemplateError::TooDeep { .. }), "{err}");

    let many = format!("[{}]", "0,".repeat(MAX_TEMPLATE_NODES));
    assert!(many.len() <= MAX_TEMPLATE_BYTES);
    let err = Template::parse(&many).expect_err("too many");
    assert!(matches!(err, TemplateError::TooManyNodes { .. }), "{err}");

    let mut deep_json = json!("x");
    for _ in 0..=MAX_TEMPLATE_DEPTH {
        deep_json = json!({ "a": deep_json });
    }
    let err = Template::from_cli(&deep_json).expect_err("too deep");
    assert!(
        matches!(err, TemplateError::TooDeep { position: None }),
        "{err}"
    );
    let big_json = json!({"a": "x".repeat(MAX_TEMPLATE_BYTES + 1)});
    assert!(matches!(
        Template::from_cli(&big_json),
        Err(TemplateError::TooLarge { .. })
    ));
}

#[test]
fn unreadable_yaml_is_an_error_at_a_position_that_quotes_nothing() {
    let cases = [
        (format!("a: `{SECRET}\n"), 1),
        (format!("Resources:\n  A:\n\tB: {SECRET}\n"), 3),
        (format!("a: [{SECRET}\n"), 2),
        (format!("a: \"{SECRET}\\q\"\n"), 1),
        (format!("a: *{SECRET}\n"), 1),
        (format!("a: b\n---\nc: {SECRET}\n"), 2),
        (format!("a: &x [*x, {SECRET}]\n"), 1),
        (format!("? [{SECRET}]\n: b\n"), 1),
        (String::new(), 0),
    ];
    for (text, line) in cases {
        let err = Template::parse(&text).expect_err(&text);
        let message = err.to_string();
        assert!(!message.contains(SECRET), "{message}");
        assert!(!message.contains('`'), "{message}");
        let at = match &err {
            TemplateError::Syntax { position, .. } => Some(*position),
            TemplateError::Invalid { position, .. } => *position,
            _ => panic!("{message}"),
        };
        assert_eq!(at.map_or(0, |p| p.line), line, "{message}");
        assert_eq!(locate(&text, "A"), None);
    }
    let tabs = Template::parse("a:\n\tb: c\n").expect_err("tabs");
    assert!(tabs.to_string().contains("tabs disallowed"), "{tabs}");
}

#[test]
fn the_yaml_parser_s_own_words_are_shown_and_nothing_else() {
    for message in [
        "while parsing a block mapping, did not find expected key",
        "while parsing a flow sequence, expected ',' or ']'",
        "tabs disallowed within this context (block indentation)",
        "plain scalar cannot start with '-' followed by ,[]{}",
        "mapping values are not allowed in this context",
        "the handle wasn't declared",
        "while scanning an anchor or alias, did not find expected alphabetic or numeric character",
        "while parsing a tag, found an incorrect leading UTF-8 octet",
        "did not find expected <document-start>",
    ] {
        assert_eq!(tree::reason_without_content(message), message);
    }
    for quoting in [
        "unexpected character: `@'",
        "found unknown tag hunter2",
        "é",
    ] {
        assert_eq!(
            tree::reason_without_content(quoting),
            "the YAML parser stopped here"
        );
    }
}

#[test]
fn inputs_that_crashed_other_yaml_parsers_are_errors() {
    for text in [
        "{-",
        "[!,",
        "a: ''|\n 0",
        ">\n@",
        "0000: 000000000000\n-000000000/000: >",
        "\n    a {\n        ",
        "!",
        "&a",
        "*",
        "? ? ?",
        "- - -",
        "%YAML 1.2\n%YAML 1.2\n---\n",
        "--- |\n\t",
        "'\\",
        "{a: [}",
        "]",
    ] {
        let _ = Template::parse(text);
        let _ = locate(text, "a");
    }
}

#[test]
fn short_form_tags_are_the_long_form_functions() {
    let text =
        "A: !GetAtt a.b\nB: !Ref x\nC: !Condition c\nD: !Base64 d\nE: !!str e\nF: ! f\nG: e\n";
    let tree = tree::Tree::from_text(text).expect("tree");
    let functions: Vec<Option<&str>> = tree
        .entries(tree.root())
        .expect("a mapping")
        .iter()
        .map(|entry| tree.function(entry.value).map(|(name, _)| name))
        .collect();
    assert_eq!(
        functions,
        [
            Some("Fn::GetAtt"),
            Some("Ref"),
            Some("Condition"),
            Some("Fn::Base64"),
            None,
            None,
            None
        ]
    );
}

#[test]
fn property_paths_split_like_json_pointers() {
    use PathSegment::{Index, Key};
    let key = |k: &str| Key(k.to_owned());
    assert_eq!(
        parse_property_path("/Tags/0/Value"),
        [key("Tags"), Index(0), key("Value")]
    );
    assert_eq!(
        parse_property_path("/a~1b/~01/12a"),
        [key("a/b"), key("~1"), key("12a")]
    );
    assert_eq!(parse_property_path(""), []);
    assert_eq!(parse_property_path("/"), []);
    let huge = "9".repeat(40);
    assert_eq!(parse_property_path(&format!("/{huge}")), [key(&huge)]);
    // An index into a mapping is its key of those digits.
    let template = parsed("Parameters: {P: {NoEcho: true}}\nResources:\n  A:\n    Properties: {M: {'0': !Ref P, '1': x}}\n");
    assert_paths(&template, "A", &["/M/0"], &["/M/1"]);
}

#[test]
fn locate_finds_the_key_in_resources_not_earlier_mentions() {
    let line = |id| locate(YAML, id);
    assert_eq!(line("Database"), Some(12));
    assert_eq!(line("Function"), Some(18));
    // Named first by a `!GetAtt` in Function, and in Outputs.
    assert_eq!(line("Role"), Some(32));
    assert_eq!(line("DbPassword"), None);
    assert_eq!(line("Url"), None);
    assert_eq!(line("Nope"), None);

    let json = "{\n  \"Parameters\": {\"Role\": {\"Type\": \"String\"}},\n  \"Outputs\": {\n    \"Bucket\": {\"Value\": {\"Ref\": \"Bucket\"}}\n  },\n  \"Resources\": {\n    \"Role\":\n      {\"Type\": \"AWS::IAM::Role\"},\n\t\t\"Bucket\":{\"Type\":\"AWS::S3::Bucket\"}\n  }\n}\n";
    assert_eq!(locate(json, "Role"), Some(7));
    assert_eq!(locate(json, "Bucket"), Some(9));
    assert_eq!(locate("{\"Resources\":{\"A\":{},\"B\":{}}}", "B"), Some(1));
    assert_eq!(locate("\u{feff}Resources:\n  A: {}\n", "A"), Some(2));
    assert_eq!(locate("Resources: [A]\n", "A"), None);
    assert_eq!(locate("Resources:\n  Inner:\n    A: 1\n", "A"), None);
}

// --- fuzzing ---

fn seeds() -> Vec<String> {
    let json = json!({
        "Parameters": {"P": {"Type": "String", "NoEcho": true, "Default": SECRET}},
        "Resources": {"R": {"Type": "T", "Properties": {
            "A": {"Ref": "P"}, "B": [{"Fn::Sub": "${P}"}, SECRET], "C": {"D": SECRET}}}}
    });
    vec![
        YAML.replace("admin", SECRET),
        serde_json::to_string_pretty(&json).unwrap_or_default(),
        json.to_string(),
        format!("Parameters:\n  P: &p {{NoEcho: true, Default: '{SECRET}'}}\nResources:\n  R:\n    Properties:\n      A: !Sub ['${{X}}', {{X: !Ref P}}]\n      B: *p\n      C: '{{{{resolve:ssm-secure:{SECRET}}}}}'\n"),
    ]
}

#[derive(Debug, Clone)]
enum Edit {
    Insert(usize, String),
    Delete(usize, usize),
    Duplicate(usize, usize),
}

fn edit() -> impl Strategy<Value = Edit> {
    let hostile = "[\\[\\]{}:,&*!|>'\"\\-?#%@`\t\n ~\\\\${}a0.]{1,6}";
    prop_oneof![
        (any::<usize>(), hostile).prop_map(|(at, text)| Edit::Insert(at, text)),
        (any::<usize>(), 0..16usize).prop_map(|(at, len)| Edit::Delete(at, len)),
        (any::<usize>(), 0..64usize).prop_map(|(at, len)| Edit::Duplicate(at, len)),
    ]
}

/// A byte offset into `text` moved back to a character boundary.
fn boundary(text: &str, at: usize) -> usize {
    let mut at = at % (text.len() + 1);
    while !text.is_char_boundary(at) {
        at -= 1;
    }
    at
}

fn mutate(seed: &str, edits: &[Edit]) -> String {
    let mut text = seed.to_owned();
    for edit in edits {
        match edit {
            Edit::Insert(at, insert) => text.insert_str(boundary(&text, *at), insert),
            Edit::Delete(at, len) => {
                let start = boundary(&text, *at);
                let end = boundary(&text, start + len).max(start);
                text.replace_range(start..end, "");
            }
            Edit::Duplicate(at, len) => {
                let start = boundary(&text, *at);
                let end = boundary(&text, start + len).max(start);
                let copy = text[start..end].to_owned();
                text.insert_str(end, &copy);
            }
        }
    }
    text
}

/// Whatever the text, reading it ends in a template or an error quoting nothing of it.
fn check(text: &str) -> Result<(), TestCaseError> {
    match Template::parse(text) {
        Ok(template) => {
            let ids: Vec<&str> = template.resource_ids().collect();
            for id in ids.iter().copied().chain(["R", ""]) {
                for p in ["", "/A", "/B/0", "/B/1/x", "/C/D", "/Tags/0/Value"] {
                    let _ = template.is_sensitive(id, &path(p));
                }
            }
        }
        Err(err) => prop_assert!(!err.to_string().contains(SECRET), "{err}"),
    }
    let lines = text.lines().count() + 1;
    for id in ["R", "Role", "Database", ""] {
        if let Some(line) = locate(text, id) {
            prop_assert!(line as usize <= lines, "{line} of {lines}");
        }
    }
    let _ = Template::from_cli(&json!(text));
    Ok(())
}

#[test]
fn the_seeds_keep_their_secrets() {
    for seed in seeds() {
        let template = parsed(&seed);
        assert!(
            template
                .resource_ids()
                .any(|id| template.is_sensitive(id, &[])),
            "{seed}"
        );
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn fuzz_cloudformation_template(
        noise in "(?s).{0,200}",
        seed in prop::sample::select(seeds()),
        edits in prop::collection::vec(edit(), 1..8),
    ) {
        check(&noise)?;
        check(&mutate(&seed, &edits))?;
    }
}
