use proptest::prelude::*;
use serde_json::json;

use super::*;

/// Stands for a secret in templates: no error may ever quote it.
const SECRET: &str = "hunter2-s3cr3t";

pub(super) fn path(path: &str) -> Vec<PathSegment> {
    parse_property_path(path)
}

pub(super) fn parsed(text: &str) -> Template {
    Template::parse(text).unwrap_or_else(|err| panic!("{err}"))
}

/// Asserts which paths of `logical_id` are sensitive and which are not.
pub(super) fn assert_paths(
    template: &Template,
    logical_id: &str,
    sensitive: &[&str],
    shown: &[&str],
) {
    for p in sensitive {
        assert!(
            template.is_sensitive(logical_id, &path(p)),
            "{logical_id} {p} should be sensitive"
        );
    }
    for p in shown {
        assert!(
            !template.is_sensitive(logical_id, &path(p)),
            "{logical_id} {p} should not be sensitive"
        );
    }
}

const YAML: &str = "\
AWSTemplateFormatVersion: '2010-09-09'
Parameters:
  DbPassword:
    Type: String
    NoEcho: true
  DbUser:
    Type: String
    Default: admin
Conditions:
  IsProd: !Equals [!Ref 'AWS::AccountId', '123']
Resources:
  Database:
    Type: AWS::RDS::DBInstance
    Properties:
      MasterUsername: !Ref DbUser
      MasterUserPassword: !Ref DbPassword
      DBName: app
  Function:
    Type: AWS::Lambda::Function
    Properties:
      Role: !GetAtt Role.Arn
      Environment:
        Variables:
          DB_PASSWORD: !Ref DbPassword
          DB_URL: !Sub 'postgres://${DbUser}@host/app'
          LEVEL: debug
      Tags:
        - Key: team
          Value: core
        - Key: token
          Value: !If [IsProd, !Ref DbPassword, none]
  Role:
    Type: AWS::IAM::Role
    Properties:
      RoleName: !Sub '${AWS::StackName}-role'
Outputs:
  Url:
    Value: !GetAtt Function.Arn
";

#[test]
fn a_no_echo_parameter_through_the_short_form_ref_is_secret() {
    let template = parsed(YAML);
    assert_paths(
        &template,
        "Database",
        &["/MasterUserPassword", "/MasterUserPassword/x", ""],
        &["/MasterUsername", "/DBName", "/Other"],
    );
    assert_eq!(
        template.no_echo_parameters().collect::<Vec<_>>(),
        ["DbPassword"]
    );
    assert!(template.resource_ids().eq(["Database", "Function", "Role"]));
}

#[test]
fn paths_at_under_and_above_a_nested_secret_are_sensitive_and_beside_it_not() {
    let template = parsed(YAML);
    assert_paths(
        &template,
        "Function",
        &[
            "/Environment/Variables/DB_PASSWORD",
            "/Environment/Variables/DB_PASSWORD/deeper",
            "/Environment/Variables",
            "/Environment",
            "/",
        ],
        &[
            "/Environment/Variables/LEVEL",
            "/Environment/Variables/DB_URL",
            "/Environment/Other",
            "/Role",
        ],
    );
    assert_paths(&template, "Role", &[], &["/RoleName", ""]);
}

#[test]
fn list_elements_are_followed_whatever_their_index() {
    let template = parsed(YAML);
    // The secret is in Tags[1].Value; drift detection may compare the list as a set, so an
    // index of its own says nothing: every element's Value is kept secret, no Key is.
    assert_paths(
        &template,
        "Function",
        &[
            "/Tags/1/Value",
            "/Tags/0/Value",
            "/Tags/7/Value",
            "/Tags/1",
            "/Tags",
        ],
        &["/Tags/1/Key", "/Tags/0/Key"],
    );
}

#[test]
fn a_resource_not_in_the_template_is_all_sensitive() {
    // The stack changed between get-template and detection: nothing says what it holds.
    let template = parsed(YAML);
    assert!(template.is_sensitive("Nope", &[]));
    assert!(template.is_sensitive("Nope", &path("/Tags/0/Key")));
    assert!(Template::default().is_sensitive("Database", &path("/DBName")));
    assert!(!template.is_sensitive("Database", &path("/DBName")));
}

#[test]
fn json_templates_read_the_same_decoded_or_as_text() {
    let body = json!({
        "Parameters": {
            "Token": {"Type": "String", "NoEcho": "true"},
            "Plain": {"Type": "String"}
        },
        "Resources": {
            "Queue": {
                "Type": "AWS::SQS::Queue",
                "Properties": {
                    "QueueName": {"Ref": "Plain"},
                    "Secret": {"Fn::Join": ["", ["x", {"Ref": "Token"}]]},
                    "Sub": {"Fn::Sub": ["${X}-y", {"X": {"Ref": "Token"}}]},
                    "Literal": {"Fn::Sub": "${!Token}"},
                    "Tags": [{"Key": "a", "Value": {"Fn::Sub": "id-${Token}"}}]
                }
            }
        }
    });
    for template in [
        Template::from_cli(&body).expect("decoded"),
        Template::from_cli(&json!(body.to_string())).expect("text"),
        parsed(&serde_json::to_string_pretty(&body).expect("json")),
    ] {
        assert_paths(
            &template,
            "Queue",
            &["/Secret", "/Sub", "/Tags/0/Value"],
            &["/QueueName", "/Literal", "/Tags/0/Key"],
        );
    }
}

#[test]
fn json_that_yaml_refuses_is_read_as_json() {
    // yaml-rust2 refuses escaped surrogate pairs; a byte order mark is no part of a key.
    let text = "\u{feff}{\"Parameters\": {\"P\": {\"NoEcho\": true}}, \"Resources\": {\"A\": {\"Properties\": {\"Emoji\": \"\\ud83d\\ude00\", \"X\": {\"Ref\": \"P\"}}}}}";
    assert_paths(&parsed(text), "A", &["/X"], &["/Emoji"]);
    assert_eq!(locate(text, "A"), None);
}

#[test]
fn fn_sub_names_the_parameter_in_its_string_or_its_variables() {
    let template = parsed(
        "Parameters:
  Key: {Type: String, NoEcho: 'TRUE'}
Resources:
  Thing:
    Properties:
      InString: !Sub 'a-${Key}-b'
      Spaced: !Sub 'a-${ Key }'
      InMap: !Sub ['${Var}', {Var: !Ref Key}]
      LongForm: {'Fn::Sub': ['${Key}', {}]}
      Escaped: !Sub 'a-${!Key}'
      Other: !Sub '${AWS::Region}-${Key2}'
",
    );
    assert_paths(
        &template,
        "Thing",
        &["/InString", "/Spaced", "/InMap", "/LongForm"],
        &["/Escaped", "/Other"],
    );
}

#[test]
fn no_echo_is_any_case_quoted_or_not_and_off_only_when_false() {
    for (no_echo, secret) in [
        ("true", true),
        ("True", true),
        ("'true'", true),
        ("\"TRUE\"", true),
        ("false", false),
        ("'False'", false),
    ] {
        let template = parsed(&format!(
            "Parameters:\n  P:\n    Type: String\n    NoEcho: {no_echo}\nResources:\n  R:\n    Properties:\n      A: !Ref P\n"
        ));
        assert_eq!(template.is_sensitive("R", &path("/A")), secret, "{no_echo}");
    }
    let template = parsed(
        "Parameters:\n  P:\n    Type: String\n    Default: x\nResources:\n  R:\n    Properties:\n      A: !Ref P\n",
    );
    assert!(!template.is_sensitive("R", &path("/A")));
    assert_eq!(template.no_echo_parameters().count(), 0);
}

#[test]
fn secure_dynamic_references_are_secret_and_plain_ssm_is_not() {
    let template = parsed(
        "Resources:
  Db:
    Properties:
      Password: '{{resolve:secretsmanager:MySecret:SecretString:password}}'
      Secure: 'pre-{{resolve:ssm-secure:/db/password:1}}'
      Shouting: '{{RESOLVE:SECRETSMANAGER:x}}'
      Plain: '{{resolve:ssm:/db/name:1}}'
      Joined: !Join ['', ['{{resolve:', !Ref Service, ':x}}']]
      Nested:
        - Value: '{{resolve:secretsmanager:arn}}'
",
    );
    assert_paths(
        &template,
        "Db",
        &[
            "/Password",
            "/Secure",
            "/Shouting",
            "/Joined",
            "/Nested/0/Value",
        ],
        &["/Plain"],
    );
}

#[test]
fn properties_that_are_a_function_holding_a_secret_are_all_sensitive() {
    let template = parsed(
        "Parameters:
  P: {Type: String, NoEcho: true}
Resources:
  A:
    Properties: !If [Cond, {X: !Ref P}, {X: y}]
  B:
    Properties: {'Fn::If': [Cond, {X: a}, {X: b}]}
",
    );
    assert_paths(&template, "A", &["/Anything", "/X", ""], &[]);
    assert_paths(&template, "B", &[], &["/X", ""]);
}

#[test]
fn mappings_holding_a_secret_make_find_in_map_secret() {
    let template = parsed(
        "Mappings:
  Env:
    prod: {Key: '{{resolve:secretsmanager:k}}'}
Resources:
  A:
    Properties:
      K: !FindInMap [Env, prod, Key]
",
    );
    assert_paths(&template, "A", &["/K"], &[]);
    let template = parsed(
        "Mappings:\n  Env:\n    prod: {Key: v}\nResources:\n  A:\n    Properties:\n      K: !FindInMap [Env, prod, Key]\n",
    );
    assert_paths(&template, "A", &[], &["/K"]);
}

#[test]
fn a_transform_inside_properties_is_secret() {
    let template = parsed(
        "Resources:\n  A:\n    Properties:\n      Body:\n        Fn::Transform: {Name: AWS::Include, Parameters: {Location: s3://b/k}}\n      Name: n\n",
    );
    assert_paths(&template, "A", &["/Body"], &["/Name"]);
}

#[test]
fn an_alias_to_a_secret_carries_it() {
    let template = parsed(
        "Parameters:
  P: {Type: String, NoEcho: true}
Metadata:
  Shared:
    Env: &env
      Variables: {TOKEN: !Ref P, MODE: fast}
    Safe: &safe {Variables: {MODE: fast}}
    Secret: &secret !Ref P
Resources:
  A:
    Properties:
      Environment: *env
      Other: *safe
      Direct: *secret
      Merged:
        <<: *env
        Own: x
",
    );
    assert_paths(
        &template,
        "A",
        &[
            "/Environment/Variables/TOKEN",
            "/Environment",
            "/Direct",
            "/Merged/Variables/TOKEN",
        ],
        &[
            "/Environment/Variables/MODE",
            "/Other/Variables/MODE",
            "/Merged/Own",
            "/Merged/Variables/MODE",
        ],
    );
}

#[test]
fn aliases_are_never_expanded() {
    // Ten levels of ten aliases each: a billion nodes if expanded.
    let mut text = String::from("Parameters: {P: {NoEcho: true}}\nMetadata:\n  l0: &l0 [!Ref P]\n");
    for level in 1..10 {
        let previous = format!("*l{}", level - 1);
        let items = [previous.as_str(); 10].join(", ");
        text.push_str(&format!("  l{level}: &l{level} [{items}]\n"));
    }
    text.push_str("Resources:\n  A:\n    Properties:\n      Deep: *l9\n      Shallow: x\n");
    let template = parsed(&text);
    assert_paths(
        &template,
        "A",
        &["/Deep/3/4/5/6/7/8/9/0/1/2", "/Deep"],
        &["/Shallow"],
    );
}

#[test]
fn duplicate_declarations_keep_every_secret() {
    let template = parsed(
        "Parameters:\n  P: {NoEcho: true}\nResources:\n  A:\n    Properties: {X: !Ref P}\n  A:\n    Properties: {Y: !Ref P}\n",
    );
    assert_paths(&template, "A", &["/X", "/Y"], &["/Z"]);
    assert_eq!(template.resource_ids().count(), 1);
}

#[test]
fn malformed_resources_are_refused_or_kept_secret() {
    let err = Template::parse("Resources:\n  - A\n  - B\n").expect_err("a list");
    assert!(matches!(err, TemplateError::Invalid { .. }), "{err}");
    let err = Template::parse("Parameters: [P]\nResources: {}\n").expect_err("a list");
    assert!(matches!(err, TemplateError::Invalid { .. }), "{err}");
    for top in ["just text", "- a\n- b", "!Ref x"] {
        let err = Template::parse(top).expect_err(top);
        assert!(matches!(err, TemplateError::Invalid { .. }), "{err}");
    }
    let template = parsed(
        "Resources:\n  S:\n    Properties: a string\n  L:\n    Properties: [1]\n  N:\n    Properties:\n  T: text\n  E: {Type: x}\n",
    );
    assert_paths(&template, "S", &["", "/A"], &[]);
    assert_paths(&template, "L", &["/A"], &[]);
    assert_paths(&template, "N", &[], &["", "/A"]);
    assert_paths(&template, "T", &["/A"], &[]);
    assert_paths(&template, "E", &[], &["/A"]);
    assert!(parsed("Resources:\n").resource_ids().next().is_none());
    let err = Template::from_cli(&json!(3)).expect_err("a number");
    assert!(matches!(err, TemplateError::Invalid { .. }), "{err}");
}

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
