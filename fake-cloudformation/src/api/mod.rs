//! The CloudFormation actions: parameter checks, state changes and XML answers.

mod drift;
mod stacks;

use crate::faults::ApiError;
use crate::ids;
use crate::requests::Params;
use crate::scenario::ModuleInfo;
use crate::state::{Resource, ResourceDriftStatus, State};
use crate::xml::Xml;

pub(crate) const API_VERSION: &str = "2010-05-15";

type Handler = fn(&mut State, &Params<'_>, &str) -> Result<String, ApiError>;

/// The actions the fake implements; any other is `InvalidAction`.
const ACTIONS: &[(&str, Handler)] = &[
    ("DetectStackDrift", drift::detect_stack_drift),
    (
        "DescribeStackDriftDetectionStatus",
        drift::describe_detection_status,
    ),
    (
        "DescribeStackResourceDrifts",
        drift::describe_stack_resource_drifts,
    ),
    ("DescribeStackResources", stacks::describe_stack_resources),
    ("ListStackResources", stacks::list_stack_resources),
    ("DescribeStacks", stacks::describe_stacks),
    ("GetTemplate", stacks::get_template),
];

/// Answers one request: the XML body on success. Checks run in the order AWS's would: the
/// request's form, then IAM (denied actions), then throttling, then the action itself.
pub(crate) fn handle(
    state: &mut State,
    params: &Params<'_>,
    request_id: &str,
) -> Result<String, ApiError> {
    let action = params.get("Action").ok_or_else(|| {
        ApiError::new(
            400,
            "MissingAction",
            "The request must contain the parameter Action",
        )
    })?;
    let handler = ACTIONS
        .iter()
        .find(|(name, _)| *name == action)
        .map(|(_, handler)| *handler)
        .ok_or_else(|| {
            ApiError::new(
                400,
                "InvalidAction",
                format!("Could not find operation {action} for version {API_VERSION}"),
            )
        })?;
    match params.get("Version") {
        None => {
            return Err(ApiError::new(
                400,
                "MissingParameter",
                "The request must contain the parameter Version",
            ))
        }
        Some(API_VERSION) => {}
        Some(other) => {
            return Err(ApiError::new(
                400,
                "InvalidParameterValue",
                format!("Invalid Version {other}; expected {API_VERSION}"),
            ))
        }
    }
    state
        .faults
        .check_denied(action, &denied_resource(state, action, params))?;
    state.faults.check_throttled(action)?;
    handler(state, params, request_id)
}

/// The resource ARN IAM names when it denies an action.
fn denied_resource(state: &State, action: &str, params: &Params<'_>) -> String {
    let name = match params.get("StackName") {
        Some(name) if action != "DescribeStackDriftDetectionStatus" => name,
        _ => return "*".to_owned(),
    };
    match state.stack(name) {
        Some(stack) => stack.stack_id.clone(),
        None => format!("arn:aws:cloudformation:us-east-1:123456789012:stack/{name}/*"),
    }
}

/// A resource's StackResourceDriftStatus outside a detection's results: NOT_CHECKED when its
/// type is not checked or no detection has checked it yet.
fn drift_information(xml: &mut Xml, name: &str, resource: &Resource) {
    let last_check = resource.last_check.filter(|_| resource.drift_supported);
    xml.element(name, |xml| {
        let status = last_check.map_or(ResourceDriftStatus::NotChecked, |(status, _)| status);
        xml.text("StackResourceDriftStatus", status.as_str());
        xml.optional(
            "LastCheckTimestamp",
            last_check.map(|(_, at)| ids::timestamp(at)).as_deref(),
        );
    });
}

fn module_info(xml: &mut Xml, module: Option<&ModuleInfo>) {
    if let Some(module) = module {
        xml.element("ModuleInfo", |xml| {
            xml.text("TypeHierarchy", &module.type_hierarchy);
            xml.text("LogicalIdHierarchy", &module.logical_id_hierarchy);
        });
    }
}

/// `MaxResults`: 1 to 100, `default` when absent.
fn max_results(params: &Params<'_>, default: usize) -> Result<usize, ApiError> {
    let Some(text) = params.get("MaxResults") else {
        return Ok(default);
    };
    match text.parse::<usize>() {
        Ok(n @ 1..=100) => Ok(n),
        _ => Err(ApiError::validation(format!(
            "1 validation error detected: Value '{text}' at 'maxResults' failed to satisfy \
             constraint: Member must have value between 1 and 100"
        ))),
    }
}

/// Where a page starts: 0, or the offset in a `NextToken` issued for `scope`.
fn page_start(params: &Params<'_>, scope: &str, len: usize) -> Result<usize, ApiError> {
    let Some(token) = params.get("NextToken") else {
        return Ok(0);
    };
    match ids::page_offset(token, scope) {
        Some(offset) if offset < len => Ok(offset),
        _ => Err(ApiError::validation(format!("Invalid NextToken: {token}"))),
    }
}
