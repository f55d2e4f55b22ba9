use super::*;
use serde_json::json;

fn rule(resource: &str, attribute: Option<&str>, action: RuleAction, line: usize) -> RemediateRule {
    RemediateRule {
        resource: resource.into(),
        attribute: attribute.map(str::to_owned),
        stack: None,
        action,
        reason: "the console is right".into(),
        allow_recreate: false,
        max_resources: 3,
        expires: None,
        line,
    }
}

fn known(value: serde_json::Value) -> AttrValue {
    AttrValue::Known(value)
}

fn instance(
    address: &str,
    name: &str,
    changes: Vec<(&str, AttrValue, AttrValue)>,
) -> DriftedResource {
    let mut resource = DriftedResource::test(address, Action::Update, changes);
    resource.name = name.into();
    resource
}

const TODAY: &str = "2026-12-03";

#[test]
fn the_first_covering_rule_decides_and_only_adopt_rules_take() {
    let rules = [
        rule("aws_x.reverted", None, RuleAction::Revert, 1),
        rule("aws_x.*", Some("size"), RuleAction::Adopt, 2),
    ];
    let resources = [
        instance(
            "aws_x.reverted",
            "reverted",
            vec![("size", known(json!(1)), known(json!(2)))],
        ),
        instance(
            "aws_x.kept",
            "kept",
            vec![
                ("size", known(json!(1)), known(json!(5))),
                ("tags.env", known(json!("a")), known(json!("b"))),
            ],
        ),
    ];
    let taken = select(&rules, TODAY, ".", &resources);
    assert_eq!(taken.len(), 1);
    assert_eq!(taken[0].rule.line, 2);
    let wanted: Vec<_> = taken[0].candidates.iter().map(|c| &c.wanted).collect();
    assert_eq!(
        wanted,
        vec![&Wanted {
            resource_type: "aws_x".into(),
            name: "kept".into(),
            path: "size".into(),
            value: NewValue::Set(json!(5)),
        }],
        "only the path the rule names, and not the resource a revert rule took"
    );
    assert_eq!(taken[0].candidates[0].target, "aws_x.kept");
}

#[test]
fn secrets_deletions_modules_and_unknowns_are_refused_with_reasons() {
    let rules = [rule("*", None, RuleAction::Adopt, 1)];
    let mut in_module = instance(
        "module.m.aws_x.y",
        "y",
        vec![("a", known(json!(1)), known(json!(2)))],
    );
    in_module.module_address = Some("module.m".into());
    let resources = [
        instance(
            "aws_x.s",
            "s",
            vec![
                ("password", AttrValue::Sensitive, AttrValue::Sensitive),
                ("arn", known(json!("a")), AttrValue::Unknown),
                ("gone", known(json!("x")), AttrValue::Absent),
            ],
        ),
        DriftedResource::test("aws_x.deleted", Action::Delete, []),
        in_module,
    ];
    let taken = select(&rules, TODAY, ".", &resources);
    let reasons: Vec<(String, Option<String>, bool)> = taken[0]
        .refusals
        .iter()
        .map(|r| (r.address.clone(), r.path.clone(), !r.reason.is_empty()))
        .collect();
    assert_eq!(
        reasons,
        vec![
            ("aws_x.s".into(), Some("password".into()), true),
            ("aws_x.s".into(), Some("arn".into()), true),
            ("aws_x.deleted".into(), None, true),
            ("module.m.aws_x.y".into(), None, true),
        ]
    );
    assert!(taken[0].refusals[0].reason.contains("sensitive"));
    assert!(taken[0].refusals[2].reason.contains("deleted"));
    assert!(taken[0].refusals[3].reason.contains("module.m"));
    assert_eq!(taken[0].candidates.len(), 1);
    assert_eq!(taken[0].candidates[0].wanted.value, NewValue::Remove);
}

#[test]
fn instances_of_one_block_are_adopted_only_when_they_agree() {
    let rules = [rule("*", None, RuleAction::Adopt, 1)];
    let resources = [
        instance(
            "aws_x.n[0]",
            "n",
            vec![("size", known(json!(1)), known(json!(4)))],
        ),
        instance(
            "aws_x.n[1]",
            "n",
            vec![("size", known(json!(1)), known(json!(4)))],
        ),
        instance(
            "aws_x.m[\"a\"]",
            "m",
            vec![("size", known(json!(1)), known(json!(4)))],
        ),
        instance(
            "aws_x.m[\"b\"]",
            "m",
            vec![("size", known(json!(1)), known(json!(5)))],
        ),
    ];
    let taken = select(&rules, TODAY, ".", &resources);
    let adopted: Vec<(&str, usize)> = taken[0]
        .candidates
        .iter()
        .map(|c| (c.target.as_str(), c.instances.len()))
        .collect();
    assert_eq!(adopted, vec![("aws_x.n", 2)]);
    assert_eq!(taken[0].refusals.len(), 2);
    assert!(
        taken[0].refusals[0].reason.contains("different values"),
        "{}",
        taken[0].refusals[0].reason
    );
}

#[test]
fn a_rule_over_its_limit_adopts_nothing() {
    let rules = [rule("*", None, RuleAction::Adopt, 1)];
    let resources: Vec<DriftedResource> = (0..4)
        .map(|i| {
            instance(
                &format!("aws_x.r{i}"),
                &format!("r{i}"),
                vec![("size", known(json!(1)), known(json!(2)))],
            )
        })
        .collect();
    let taken = select(&rules, TODAY, ".", &resources);
    assert!(taken[0].candidates.is_empty());
    assert_eq!(taken[0].refusals.len(), 4);
    assert!(taken[0].refusals[0].reason.contains("max_resources"));
}
