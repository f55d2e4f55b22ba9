//! The fake against the real AWS CLI v1: botocore must parse every answer, and the CLI's output
//! and errors are what driftlog's engine will read.

mod support;

use fake_cloudformation::{FakeCloudFormation, ResourceSpec, Scenario, StackSpec};
use serde_json::{json, Value};
use support::{cloudformation, text};

const JSON_TEMPLATE: &str = r#"{"Resources": {"Bucket0": {"Type": "AWS::S3::Bucket"}}}"#;

/// A stack of 150 buckets whose tag drifted, and one resource of a type drift detection skips.
fn big_drifted_stack() -> StackSpec {
    let mut stack = StackSpec::new("big")
        .template(JSON_TEMPLATE)
        .parameter("Env", "prod")
        .no_echo_parameter("DbPassword", "hunter2");
    for i in 0..150 {
        let expected =
            json!({"BucketName": format!("b{i}"), "Tags": [{"Key": "env", "Value": "prod"}]});
        let actual =
            json!({"BucketName": format!("b{i}"), "Tags": [{"Key": "env", "Value": "dev"}]});
        stack = stack.resource(
            ResourceSpec::new(format!("Bucket{i}"), "AWS::S3::Bucket")
                .expected(expected)
                .actual(actual),
        );
    }
    stack.resource(
        ResourceSpec::new("Handle", "AWS::CloudFormation::WaitConditionHandle").drift_unsupported(),
    )
}

fn array<'a>(value: &'a Value, pointer: &str) -> &'a Vec<Value> {
    value
        .pointer(pointer)
        .and_then(Value::as_array)
        .unwrap_or_else(|| panic!("no array at {pointer} in {value}"))
}

#[test]
fn detection_status_resource_drifts_over_two_pages_resources_template_and_stacks() {
    let fake = FakeCloudFormation::start().expect("start");
    let stack_id = fake.add_stack(big_drifted_stack()).expect("add stack");

    let detection = cloudformation(&fake, &["detect-stack-drift", "--stack-name", "big"]).json();
    let id = text(&detection, "/StackDriftDetectionId").to_owned();

    let status = cloudformation(
        &fake,
        &[
            "describe-stack-drift-detection-status",
            "--stack-drift-detection-id",
            &id,
        ],
    )
    .json();
    assert_eq!(text(&status, "/DetectionStatus"), "DETECTION_IN_PROGRESS");
    assert_eq!(text(&status, "/StackId"), stack_id);
    assert!(
        status.get("DriftedStackResourceCount").is_none(),
        "{status}"
    );
    let status = cloudformation(
        &fake,
        &[
            "describe-stack-drift-detection-status",
            "--stack-drift-detection-id",
            &id,
        ],
    )
    .json();
    assert_eq!(text(&status, "/DetectionStatus"), "DETECTION_COMPLETE");
    assert_eq!(text(&status, "/StackDriftStatus"), "DRIFTED");
    assert_eq!(status["DriftedStackResourceCount"], 150);

    let args = [
        "describe-stack-resource-drifts",
        "--stack-name",
        "big",
        "--max-results",
        "100",
    ];
    let first = cloudformation(&fake, &args).json();
    assert_eq!(array(&first, "/StackResourceDrifts").len(), 100);
    let drift = &first["StackResourceDrifts"][0];
    assert_eq!(text(drift, "/LogicalResourceId"), "Bucket0");
    assert_eq!(text(drift, "/StackResourceDriftStatus"), "MODIFIED");
    assert_eq!(
        drift["PropertyDifferences"],
        json!([{"PropertyPath": "/Tags/0/Value", "ExpectedValue": "prod", "ActualValue": "dev", "DifferenceType": "NOT_EQUAL"}])
    );
    let expected: Value =
        serde_json::from_str(text(drift, "/ExpectedProperties")).expect("JSON string");
    assert_eq!(expected["BucketName"], "b0");
    let token = text(&first, "/NextToken").to_owned();
    let second = cloudformation(&fake, &[&args[..], &["--next-token", &token]].concat()).json();
    let drifts = array(&second, "/StackResourceDrifts");
    assert_eq!(drifts.len(), 50);
    assert_eq!(text(&drifts[49], "/LogicalResourceId"), "Bucket149");
    assert!(second.get("NextToken").is_none(), "{second}");
    let pages = fake.requests_for("DescribeStackResourceDrifts");
    assert_eq!(
        pages
            .iter()
            .map(|r| r.param("NextToken"))
            .collect::<Vec<_>>(),
        [None, Some(token.as_str())]
    );
    assert_eq!(pages[0].param("MaxResults"), Some("100"));
    assert_eq!(pages[0].access_key_id(), Some("testing"));

    // DescribeStackResources stops at 100 resources, as AWS does; ListStackResources has all.
    let resources =
        cloudformation(&fake, &["describe-stack-resources", "--stack-name", "big"]).json();
    let resources = array(&resources, "/StackResources");
    assert_eq!(resources.len(), 100);
    assert_eq!(
        text(&resources[0], "/DriftInformation/StackResourceDriftStatus"),
        "MODIFIED"
    );
    assert!(resources[0]
        .pointer("/DriftInformation/LastCheckTimestamp")
        .is_some());
    let summaries = cloudformation(&fake, &["list-stack-resources", "--stack-name", "big"]).json();
    let summaries = array(&summaries, "/StackResourceSummaries");
    assert_eq!(
        summaries.len(),
        151,
        "the CLI follows ListStackResources' NextToken"
    );
    assert_eq!(text(&summaries[150], "/LogicalResourceId"), "Handle");
    assert_eq!(
        text(
            &summaries[150],
            "/DriftInformation/StackResourceDriftStatus"
        ),
        "NOT_CHECKED"
    );

    // The CLI decodes a JSON TemplateBody into an object.
    let template = cloudformation(&fake, &["get-template", "--stack-name", "big"]).json();
    assert_eq!(
        template["TemplateBody"]["Resources"]["Bucket0"]["Type"],
        "AWS::S3::Bucket"
    );
    assert_eq!(
        template["StagesAvailable"],
        json!(["Original", "Processed"])
    );

    let stacks = cloudformation(&fake, &["describe-stacks", "--stack-name", "big"]).json();
    let stack = &stacks["Stacks"][0];
    assert_eq!(text(stack, "/StackId"), stack_id);
    assert_eq!(text(stack, "/StackStatus"), "CREATE_COMPLETE");
    assert_eq!(
        stack["Parameters"],
        json!([{"ParameterKey": "Env", "ParameterValue": "prod"}, {"ParameterKey": "DbPassword", "ParameterValue": "****"}])
    );
    assert_eq!(text(stack, "/DriftInformation/StackDriftStatus"), "DRIFTED");
    assert!(stack.get("ParentId").is_none());
}

#[test]
fn nested_stacks_yaml_templates_unsupported_types_and_out_of_band_changes() {
    let scenario: Scenario = serde_json::from_value(json!({
        "stacks": [
            {
                "name": "root",
                "template": "Resources:\n  Child:\n    Type: AWS::CloudFormation::Stack\n",
                "resources": [
                    {"logical_id": "Child", "type": "AWS::CloudFormation::Stack", "nested_stack": "root-Child-1"},
                    {"logical_id": "Queue", "type": "AWS::SQS::Queue", "expected": {"DelaySeconds": 5}},
                    {"logical_id": "Handle", "type": "AWS::CloudFormation::WaitConditionHandle", "drift_supported": false}
                ]
            },
            {
                "name": "root-Child-1",
                "resources": [
                    {"logical_id": "Topic", "type": "AWS::SNS::Topic", "physical_id": "arn:aws:sns:us-east-1:123456789012:t",
                     "physical_id_context": [{"key": "Owner", "value": "team"}],
                     "module": {"type_hierarchy": "Org::Mod::MODULE/AWS::SNS::Topic", "logical_id_hierarchy": "Mod/Topic"},
                     "expected": {"TopicName": "t"}}
                ]
            }
        ],
        "faults": {"polls_in_progress": 0}
    }))
    .expect("scenario");
    let fake = FakeCloudFormation::start_with(scenario).expect("start");
    let root_id = fake.stack_id("root").expect("root");
    let child_id = fake.stack_id("root-Child-1").expect("child");

    // Before any detection every resource is NOT_CHECKED; the nested stack's physical id is its StackId.
    let resources =
        cloudformation(&fake, &["describe-stack-resources", "--stack-name", "root"]).json();
    assert_eq!(
        text(&resources, "/StackResources/0/PhysicalResourceId"),
        child_id
    );
    for resource in array(&resources, "/StackResources") {
        assert_eq!(
            text(resource, "/DriftInformation/StackResourceDriftStatus"),
            "NOT_CHECKED"
        );
    }
    let stacks = cloudformation(&fake, &["describe-stacks", "--stack-name", &child_id]).json();
    assert_eq!(text(&stacks, "/Stacks/0/ParentId"), root_id);
    assert_eq!(text(&stacks, "/Stacks/0/RootId"), root_id);
    assert_eq!(
        text(&stacks, "/Stacks/0/DriftInformation/StackDriftStatus"),
        "NOT_CHECKED"
    );
    assert!(stacks.pointer("/Stacks/0/Parameters").is_none());

    // A YAML TemplateBody stays a string.
    let template = cloudformation(
        &fake,
        &[
            "get-template",
            "--stack-name",
            "root",
            "--template-stage",
            "Original",
        ],
    )
    .json();
    assert_eq!(
        text(&template, "/TemplateBody"),
        "Resources:\n  Child:\n    Type: AWS::CloudFormation::Stack\n"
    );

    // Reality changes, then the nested stack is checked by its StackId.
    fake.set_actual("root-Child-1", "Topic", None)
        .expect("delete topic");
    let detection =
        cloudformation(&fake, &["detect-stack-drift", "--stack-name", &child_id]).json();
    let id = text(&detection, "/StackDriftDetectionId");
    let status = cloudformation(
        &fake,
        &[
            "describe-stack-drift-detection-status",
            "--stack-drift-detection-id",
            id,
        ],
    )
    .json();
    assert_eq!(text(&status, "/DetectionStatus"), "DETECTION_COMPLETE");
    assert_eq!(status["DriftedStackResourceCount"], 1);
    let drifts = cloudformation(
        &fake,
        &["describe-stack-resource-drifts", "--stack-name", &child_id],
    )
    .json();
    let topic = &drifts["StackResourceDrifts"][0];
    assert_eq!(text(topic, "/StackResourceDriftStatus"), "DELETED");
    assert!(topic.get("ActualProperties").is_none(), "{topic}");
    assert_eq!(
        topic["PhysicalResourceIdContext"],
        json!([{"Key": "Owner", "Value": "team"}])
    );
    assert_eq!(text(topic, "/ModuleInfo/LogicalIdHierarchy"), "Mod/Topic");

    fake.set_actual_property("root", "Queue", "/DelaySeconds", Some(json!(10)))
        .expect("modify");
    fake.set_actual_property(
        "root",
        "Queue",
        "/RedrivePolicy",
        Some(json!({"maxReceiveCount": 3})),
    )
    .expect("add");
    let detection = cloudformation(
        &fake,
        &[
            "detect-stack-drift",
            "--stack-name",
            "root",
            "--logical-resource-ids",
            "Queue",
        ],
    )
    .json();
    let id = text(&detection, "/StackDriftDetectionId");
    let status = cloudformation(
        &fake,
        &[
            "describe-stack-drift-detection-status",
            "--stack-drift-detection-id",
            id,
        ],
    )
    .json();
    assert_eq!(text(&status, "/StackDriftStatus"), "DRIFTED");
    let filter = [
        "--stack-resource-drift-status-filters",
        "MODIFIED",
        "DELETED",
    ];
    let drifts = cloudformation(
        &fake,
        &[
            &["describe-stack-resource-drifts", "--stack-name", "root"][..],
            &filter,
        ]
        .concat(),
    )
    .json();
    let queue = &drifts["StackResourceDrifts"];
    assert_eq!(
        array(&drifts, "/StackResourceDrifts").len(),
        1,
        "only the Queue was checked: {drifts}"
    );
    // Properties the template does not set are not compared.
    assert_eq!(
        queue[0]["PropertyDifferences"],
        json!([{"PropertyPath": "/DelaySeconds", "ExpectedValue": "5", "ActualValue": "10", "DifferenceType": "NOT_EQUAL"}])
    );
    assert_eq!(
        text(&queue[0], "/ActualProperties"),
        r#"{"DelaySeconds":10,"RedrivePolicy":{"maxReceiveCount":3}}"#
    );
    let detect = fake.requests_for("DetectStackDrift");
    assert_eq!(detect[0].param("StackName"), Some(child_id.as_str()));
    assert_eq!(detect[1].list_param("LogicalResourceIds"), ["Queue"]);
}

#[test]
fn throttling_fails_the_call_without_retries() {
    let fake = FakeCloudFormation::start().expect("start");
    fake.add_stack(StackSpec::new("app")).expect("add stack");
    fake.throttle("DescribeStacks", 1);
    let throttled = cloudformation(&fake, &["describe-stacks", "--stack-name", "app"]);
    assert_eq!(
        throttled.failure(),
        "\nAn error occurred (Throttling) when calling the DescribeStacks operation \
         (reached max retries: 0): Rate exceeded\n"
    );
    let stacks = cloudformation(&fake, &["describe-stacks", "--stack-name", "app"]).json();
    assert_eq!(text(&stacks, "/Stacks/0/StackName"), "app");
    let calls = fake.requests_for("DescribeStacks");
    assert_eq!(
        calls.iter().map(|r| r.status).collect::<Vec<_>>(),
        [400, 200],
        "one call each, no retries"
    );
    assert_eq!(calls[0].error_code.as_deref(), Some("Throttling"));
}

#[test]
fn access_denied_names_the_principal_action_and_stack() {
    let fake = FakeCloudFormation::start().expect("start");
    let stack_id = fake.add_stack(StackSpec::new("app")).expect("add stack");
    fake.deny("DetectStackDrift");
    let denied = cloudformation(&fake, &["detect-stack-drift", "--stack-name", "app"]);
    assert_eq!(
        denied.failure(),
        format!(
            "\nAn error occurred (AccessDenied) when calling the DetectStackDrift operation: User: \
             arn:aws:iam::123456789012:user/ci is not authorized to perform: \
             cloudformation:DetectStackDrift on resource: {stack_id} because no identity-based \
             policy allows the cloudformation:DetectStackDrift action\n"
        )
    );
    assert_eq!(fake.requests_for("DetectStackDrift")[0].status, 403);
    fake.allow("DetectStackDrift");
    cloudformation(&fake, &["detect-stack-drift", "--stack-name", "app"]).json();
}

#[test]
fn missing_stacks_bad_states_and_bad_tokens_are_validation_errors() {
    let fake = FakeCloudFormation::start().expect("start");
    fake.add_stack(StackSpec::new("busy").status("UPDATE_IN_PROGRESS"))
        .expect("add stack");
    let missing = cloudformation(&fake, &["detect-stack-drift", "--stack-name", "nope"]);
    assert_eq!(
        missing.failure(),
        "\nAn error occurred (ValidationError) when calling the DetectStackDrift operation: Stack [nope] does not exist\n"
    );
    let missing = cloudformation(&fake, &["describe-stacks", "--stack-name", "nope"]);
    assert!(missing.failure().contains("(ValidationError) when calling the DescribeStacks operation: Stack with id nope does not exist"));
    let busy = cloudformation(&fake, &["detect-stack-drift", "--stack-name", "busy"]);
    assert!(
        busy.failure()
            .contains("Stack [busy] is in UPDATE_IN_PROGRESS state"),
        "{}",
        busy.stderr
    );
    let args = [
        "describe-stack-resource-drifts",
        "--stack-name",
        "busy",
        "--next-token",
        "bogus",
    ];
    let bogus = cloudformation(&fake, &args);
    assert!(bogus
        .failure()
        .contains("(ValidationError) when calling the DescribeStackResourceDrifts operation"));
}

#[test]
fn failed_detection_reports_its_reason() {
    let fake = FakeCloudFormation::start().expect("start");
    fake.add_stack(
        StackSpec::new("app")
            .resource(ResourceSpec::new("Topic", "AWS::SNS::Topic").unknown("Rate exceeded"))
            .resource(ResourceSpec::new("Queue", "AWS::SQS::Queue")),
    )
    .expect("add stack");
    fake.fail_detection(
        "app",
        Some("Failed to detect drift on resource [Topic]: Rate exceeded"),
    );
    fake.polls_in_progress(0);
    let detection = cloudformation(&fake, &["detect-stack-drift", "--stack-name", "app"]).json();
    let id = text(&detection, "/StackDriftDetectionId");
    let status = cloudformation(
        &fake,
        &[
            "describe-stack-drift-detection-status",
            "--stack-drift-detection-id",
            id,
        ],
    )
    .json();
    assert_eq!(text(&status, "/DetectionStatus"), "DETECTION_FAILED");
    assert_eq!(
        text(&status, "/DetectionStatusReason"),
        "Failed to detect drift on resource [Topic]: Rate exceeded"
    );
    assert_eq!(text(&status, "/StackDriftStatus"), "UNKNOWN");
    let drifts = cloudformation(
        &fake,
        &["describe-stack-resource-drifts", "--stack-name", "app"],
    )
    .json();
    let statuses: Vec<(&str, &str)> = array(&drifts, "/StackResourceDrifts")
        .iter()
        .map(|d| {
            (
                text(d, "/LogicalResourceId"),
                text(d, "/StackResourceDriftStatus"),
            )
        })
        .collect();
    assert_eq!(statuses, [("Topic", "UNKNOWN"), ("Queue", "IN_SYNC")]);
    assert_eq!(
        text(&drifts, "/StackResourceDrifts/0/DriftStatusReason"),
        "Rate exceeded"
    );
}
