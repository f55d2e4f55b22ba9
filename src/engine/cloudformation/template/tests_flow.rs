//! Secrets that flow: to nested stacks through their parameters, through `Ref` and
//! `Fn::GetAtt` of resources holding one, and dynamic references assembled from pieces.

use std::time::Instant;

use serde_json::json;

use super::tests::{assert_paths, parsed, path};
use super::*;

fn named(names: &[&str]) -> SecretParameters {
    SecretParameters::Named(names.iter().map(|&n| n.to_owned()).collect())
}

fn parsed_with(text: &str, secret_parameters: &SecretParameters) -> Template {
    Template::parse_with_secret_parameters(text, secret_parameters)
        .unwrap_or_else(|err| panic!("{err}"))
}

const PARENT: &str = "\
Parameters:
  DbPassword: {Type: String, NoEcho: true}
  Env: {Type: String}
Resources:
  Data:
    Type: AWS::CloudFormation::Stack
    Properties:
      TemplateURL: https://s3.amazonaws.com/b/data.yaml
      Parameters:
        Password: !Ref DbPassword
        Token: '{{resolve:secretsmanager:token}}'
        Url: !Sub 'postgres://app:${DbPassword}@db'
        Name: !Ref Env
        Region: !Ref AWS::Region
  Network:
    Type: AWS::CloudFormation::Stack
    Properties:
      Parameters: {Cidr: 10.0.0.0/16}
  Computed:
    Type: AWS::CloudFormation::Stack
    Properties:
      Parameters: !If [IsProd, {A: !Ref DbPassword}, {A: x}]
  Merged:
    Type: AWS::CloudFormation::Stack
    Properties:
      Parameters:
        <<: {A: !Ref DbPassword}
        B: plain
  Consumer:
    Type: AWS::Lambda::Function
    Properties:
      Environment:
        Variables:
          DB_HOST: !GetAtt Data.Outputs.Host
          VPC: !GetAtt [Network, Outputs.VpcId]
          STACK: !Ref Data
";

#[test]
fn a_parent_says_which_nested_stack_parameters_it_passes_a_secret() {
    let parent = parsed(PARENT);
    assert_eq!(
        parent.secret_parameters_of("Data"),
        named(&["Password", "Token", "Url"])
    );
    assert_eq!(parent.secret_parameters_of("Network"), named(&[]));
    // Computed parameters, merged keys, a resource not in the template: all of them.
    for id in ["Computed", "Merged", "Nope"] {
        assert_eq!(
            parent.secret_parameters_of(id),
            SecretParameters::All,
            "{id}"
        );
    }
    // The nested stack's own drift shows no more than before.
    assert_paths(
        &parent,
        "Data",
        &["/Parameters/Password", "/Parameters/Url"],
        &["/Parameters/Name", "/TemplateURL"],
    );
}

#[test]
fn outputs_and_refs_of_a_nested_stack_given_a_secret_carry_it() {
    assert_paths(
        &parsed(PARENT),
        "Consumer",
        &[
            "/Environment/Variables/DB_HOST",
            "/Environment/Variables/STACK",
        ],
        &["/Environment/Variables/VPC"],
    );
}

const CHILD: &str = "\
Parameters:
  Password: {Type: String}
  Name: {Type: String}
Resources:
  Db:
    Type: AWS::RDS::DBInstance
    Properties:
      MasterUserPassword: !Ref Password
      DBName: !Ref Name
      Region: !Ref AWS::Region
      Engine: postgres
  Check:
    Type: AWS::Lambda::Function
    Properties:
      Environment:
        Variables:
          DSN: !Sub 'postgres://app:${Password}@${Db.Endpoint.Address}'
";

#[test]
fn a_child_reads_the_parameters_its_parent_passes_a_secret_as_no_echo() {
    let plain = parsed(CHILD);
    assert_paths(&plain, "Db", &[], &["/MasterUserPassword", "/DBName"]);

    let child = parsed_with(CHILD, &named(&["Password"]));
    assert_paths(
        &child,
        "Db",
        &["/MasterUserPassword"],
        &["/DBName", "/Region", "/Engine"],
    );
    assert_paths(&child, "Check", &["/Environment/Variables/DSN"], &[]);
    assert_eq!(child.no_echo_parameters().count(), 0);

    // The parent's template unread: every parameter, never a pseudo parameter or a literal.
    let child = parsed_with(CHILD, &SecretParameters::All);
    assert_paths(
        &child,
        "Db",
        &["/MasterUserPassword", "/DBName"],
        &["/Region", "/Engine"],
    );
}

#[test]
fn a_secret_passed_on_through_every_level_of_nesting_stays_secret() {
    let middle = "\
Parameters:
  Password: {Type: String}
Resources:
  Inner:
    Type: AWS::CloudFormation::Stack
    Properties:
      Parameters: {Secret: !Ref Password, Other: x}
";
    assert_eq!(parsed(middle).secret_parameters_of("Inner"), named(&[]));
    let decoded = json!({
        "Parameters": {"Password": {"Type": "String"}},
        "Resources": {"Inner": {"Type": "AWS::CloudFormation::Stack",
            "Properties": {"Parameters": {"Secret": {"Ref": "Password"}, "Other": "x"}}}}
    });
    for template in [
        parsed_with(middle, &named(&["Password"])),
        Template::from_cli_with_secret_parameters(&decoded, &named(&["Password"]))
            .expect("decoded"),
    ] {
        assert_eq!(template.secret_parameters_of("Inner"), named(&["Secret"]));
    }
}

#[test]
fn ref_and_get_att_of_a_resource_holding_a_secret_carry_it() {
    let template = parsed(
        "Parameters:
  Key: {Type: String, NoEcho: true}
Resources:
  Secret:
    Type: AWS::SecretsManager::Secret
    Properties: {SecretString: !Ref Key, Name: app}
  Bucket:
    Type: AWS::S3::Bucket
    Properties: {BucketName: logs}
  Fn:
    Type: AWS::Lambda::Function
    Properties:
      Short: !GetAtt Secret.Arn
      Long: {'Fn::GetAtt': [Secret, Arn]}
      Listed: !GetAtt [Secret, Arn]
      Ref: !Ref Secret
      Sub: !Sub 'arn-${Secret}'
      SubAttribute: !Sub '${Secret.Arn}'
      Chained: !GetAtt Wrapper.Arn
      Plain: !GetAtt Bucket.Arn
      PlainRef: !Ref Bucket
      Computed: !GetAtt [!Ref Name, Arn]
  Wrapper:
    Type: AWS::IAM::Role
    Properties: {Policy: !Ref Secret}
",
    );
    assert_paths(
        &template,
        "Fn",
        &[
            "/Short",
            "/Long",
            "/Listed",
            "/Ref",
            "/Sub",
            "/SubAttribute",
            "/Chained",
            "/Computed",
        ],
        &["/Plain", "/PlainRef"],
    );
    assert_paths(&template, "Wrapper", &["/Policy"], &[]);
    assert_paths(&template, "Secret", &["/SecretString"], &["/Name"]);
}

#[test]
fn resources_naming_each_other_in_a_cycle_end() {
    let template = parsed(
        "Parameters: {P: {NoEcho: true}}
Resources:
  A: {Properties: {X: !GetAtt B.Arn, Y: y}}
  B: {Properties: {X: !Ref A}}
  C: {Properties: {X: !Ref D, S: !Ref P}}
  D: {Properties: {X: !GetAtt C.Arn}}
",
    );
    assert_paths(&template, "A", &[], &["/X", "/Y"]);
    assert_paths(&template, "B", &[], &["/X"]);
    assert_paths(&template, "C", &["/X", "/S"], &[]);
    assert_paths(&template, "D", &["/X"], &[]);
}

#[test]
fn functions_picking_among_values_still_carry_a_chosen_secret() {
    let template = parsed(
        "Parameters:
  P: {NoEcho: true}
  Zone: {Type: String}
Mappings:
  Secrets: {prod: {Key: '{{resolve:ssm-secure:/k}}'}}
Resources:
  A:
    Properties:
      If: !If [IsProd, !Ref P, none]
      Select: !Select [1, [a, !Ref P]]
      Base64: !Base64 {'Fn::Sub': '${P}'}
      FindInMap: !FindInMap [Secrets, prod, Key]
      Split: !Select [0, !Split [',', !Ref P]]
      Plain: !Select [0, [a, !Ref Zone]]
      Import: !ImportValue network-vpc
  Instance:
    Properties:
      UserData: !Base64
        Fn::Sub: |
          echo ${P} > /etc/app
      Other: !Base64 {'Fn::Sub': 'zone ${Zone}'}
",
    );
    assert_paths(
        &template,
        "A",
        &["/If", "/Select", "/Base64", "/FindInMap", "/Split"],
        &["/Plain", "/Import"],
    );
    // A short-form tag over a long-form function: both functions.
    assert_paths(&template, "Instance", &["/UserData"], &["/Other"]);
}

#[test]
fn a_parameter_whose_declaration_holds_a_secure_reference_carries_it() {
    let template = parsed(
        "Parameters:\n  P: {Type: String, Default: '{{resolve:secretsmanager:x}}'}\nResources:\n  A: {Properties: {X: !Ref P, Y: !Sub '${P}'}}\n",
    );
    assert_paths(&template, "A", &["/X", "/Y"], &[]);
}

#[test]
fn dynamic_references_split_across_join_pieces_are_secret() {
    let template = parsed(
        "Parameters:
  Service: {Type: String}
  Open: {Type: String, Default: '{{'}
  Name: {Type: String}
Mappings:
  Braces: {a: {b: '{'}}
Resources:
  A:
    Properties:
      Split: !Join ['', ['{{resolve:secrets', 'manager:MySecret}}']]
      Braces: !Join ['', ['{', '{res', 'olve:ssm-', 'secure:x}}']]
      Delimited: !Join ['{', ['', '', 'resolve:secretsmanager:x}}']]
      Service: !Join ['', ['{{resolve:', !Ref Service, ':x}}']]
      Empty: !Join ['', ['{', !Ref Name, '{resolve:secretsmanager:x}}']]
      FromDefault: !Join ['', [!Ref Open, 'resolve:secretsmanager:x}}']]
      FromMapping: !Join ['', [!FindInMap [Braces, a, b], '{resolve:secretsmanager:x}}']]
      Chosen: !Join ['', [!If [C, '{{', x], 'resolve:secretsmanager:x}}']]
      Resplit: !Join ['', !Split ['|', '{{res|olve:secretsmanager:x}}']]
      Nested: !Join ['', ['{{reso', !Join ['', [lve, ':secretsmanager:x}}']]]]
      Long: {'Fn::Join': ['', ['{{resolve:secrets', 'manager:x}}']]}
      Plain: !Join ['', ['{{resolve:ssm:', !Ref Name, '}}']]
      Stack: !Join ['-', [!Ref 'AWS::StackName', bucket]]
      Policy: !Join ['', ['{\"Resource\": \"', !Ref Name, '\"}']]
      Listed: !Join [',', !Split [',', 'a,b']]
",
    );
    assert_paths(
        &template,
        "A",
        &[
            "/Split",
            "/Braces",
            "/Delimited",
            "/Service",
            "/Empty",
            "/FromDefault",
            "/FromMapping",
            "/Chosen",
            "/Resplit",
            "/Nested",
            "/Long",
        ],
        &["/Plain", "/Stack", "/Policy", "/Listed"],
    );
    let decoded = json!({"Resources": {"A": {"Properties": {
        "X": {"Fn::Join": ["", ["{{resolve:secrets", "manager:x}}"]]},
        "Y": {"Fn::Join": ["-", [{"Ref": "AWS::StackName"}, "y"]]}
    }}}});
    let template = Template::from_cli(&decoded).expect("decoded");
    assert_paths(&template, "A", &["/X"], &["/Y"]);
}

#[test]
fn dynamic_references_split_across_sub_text_and_variables_are_secret() {
    let template = parsed(
        "Parameters:
  Service: {Type: String}
  Name: {Type: String}
Resources:
  A:
    Properties:
      Service: !Sub '{{resolve:${Service}:db}}'
      Variable: !Sub ['{{${Rest}', {Rest: 'resolve:secretsmanager:x'}]
      BracedVariable: !Sub ['${Open}resolve:secretsmanager:x}}', {Open: '{{'}]
      Escaped: !Sub '{${!x}{resolve:secretsmanager:y}}'
      Plain: !Sub '{{resolve:ssm:${Name}}}'
      Stack: !Sub '${AWS::StackName}-${Name}'
",
    );
    assert_paths(
        &template,
        "A",
        &["/Service", "/Variable", "/BracedVariable"],
        &["/Plain", "/Stack"],
    );
    // `${!x}` is the text `${x}`: no two braces in a row.
    assert!(!template.is_sensitive("A", &path("/Escaped")));
}

#[test]
fn assembling_through_aliases_is_bounded_and_then_secret() {
    let piece = "x".repeat(100_000);
    let join = |count: usize| {
        let items = vec!["*s"; count].join(", ");
        format!(
            "Metadata: {{s: &s '{piece}'}}\nResources:\n  A: {{Properties: {{J: !Join ['', [{items}]], K: k}}}}\n"
        )
    };
    assert_paths(&parsed(&join(10)), "A", &[], &["/J"]);
    // 400 aliases of 100 kB: more than driftlog reads, quickly, and in doubt a secret.
    let started = Instant::now();
    assert_paths(&parsed(&join(400)), "A", &["/J"], &["/K"]);
    assert!(started.elapsed().as_secs() < 20, "{:?}", started.elapsed());
}

#[test]
fn malformed_functions_are_secret() {
    let template = parsed(
        "Resources:
  A:
    Properties:
      Ref: {Ref: [a]}
      Join: !Join [only-one]
      JoinOfRef: {'Fn::Join': !Ref X}
      Sub: !Sub [a, b, c]
      SubOfRef: {'Fn::Sub': !Ref X}
      GetAtt: {'Fn::GetAtt': {A: B}}
",
    );
    assert_paths(
        &template,
        "A",
        &[
            "/Ref",
            "/Join",
            "/JoinOfRef",
            "/Sub",
            "/SubOfRef",
            "/GetAtt",
        ],
        &[],
    );
}
