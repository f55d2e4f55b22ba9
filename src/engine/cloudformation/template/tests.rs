use serde_json::json;

use super::*;

/// Stands for a secret in templates: no error may ever quote it.
pub(super) const SECRET: &str = "hunter2-s3cr3t";

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

pub(super) const YAML: &str = "\
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
