//! DetectStackDrift, DescribeStackDriftDetectionStatus and DescribeStackResourceDrifts.

use std::time::SystemTime;

use super::{max_results, module_info, page_start};
use crate::faults::ApiError;
use crate::ids;
use crate::requests::Params;
use crate::state::{Detection, ResourceDrift, State, CHECKABLE_STATUSES};
use crate::xml::{self, Xml};

/// The StackResourceDriftStatus values a filter may name.
const FILTER_VALUES: [&str; 6] = [
    "IN_SYNC",
    "MODIFIED",
    "DELETED",
    "NOT_CHECKED",
    "UNKNOWN",
    "UNSUPPORTED",
];

pub(super) fn detect_stack_drift(
    state: &mut State,
    params: &Params<'_>,
    request_id: &str,
) -> Result<String, ApiError> {
    let name = params.required("StackName")?;
    let stack = state.stack(name).ok_or_else(|| ApiError::no_stack(name))?;
    if !CHECKABLE_STATUSES.contains(&stack.status.as_str()) {
        return Err(ApiError::validation(format!(
            "Stack [{}] is in {} state and cannot be checked for drift; drift detection needs \
             one of: {}",
            stack.name,
            stack.status,
            CHECKABLE_STATUSES.join(", ")
        )));
    }
    let logical_ids: Vec<String> = params
        .list("LogicalResourceIds")
        .into_iter()
        .map(str::to_owned)
        .collect();
    let missing: Vec<&str> = logical_ids
        .iter()
        .filter(|id| !stack.resources.iter().any(|r| &r.logical_id == *id))
        .map(String::as_str)
        .collect();
    if !missing.is_empty() {
        return Err(ApiError::validation(format!(
            "Resources [{}] do not exist in stack [{}]",
            missing.join(", "),
            stack.name
        )));
    }
    let stack_id = stack.stack_id.clone();
    let id = ids::uuid_like(&format!("{stack_id}/detection/{}", state.detections.len()));
    state.detections.insert(
        id.clone(),
        Detection {
            id: id.clone(),
            stack_id,
            logical_ids,
            polls_left: state.faults.polls_in_progress,
            started: SystemTime::now(),
            outcome: None,
        },
    );
    Ok(xml::response("DetectStackDrift", request_id, |xml| {
        xml.text("StackDriftDetectionId", &id)
    }))
}

pub(super) fn describe_detection_status(
    state: &mut State,
    params: &Params<'_>,
    request_id: &str,
) -> Result<String, ApiError> {
    let id = params.required("StackDriftDetectionId")?;
    let detection = state.detections.get_mut(id).ok_or_else(|| {
        ApiError::validation(format!("Stack drift detection [{id}] does not exist"))
    })?;
    if detection.outcome.is_none() {
        if detection.polls_left > 0 {
            detection.polls_left -= 1;
        } else {
            state.complete_detection(id);
        }
    }
    let Some(detection) = state.detections.get(id) else {
        return Err(ApiError::validation(format!(
            "Stack drift detection [{id}] does not exist"
        )));
    };
    let reported_status = state
        .stack(&detection.stack_id)
        .and_then(|stack| state.faults.stack_drift_status.get(&stack.name));
    Ok(xml::response(
        "DescribeStackDriftDetectionStatus",
        request_id,
        |xml| {
            xml.text("StackId", &detection.stack_id);
            xml.text("StackDriftDetectionId", &detection.id);
            match &detection.outcome {
                None => xml.text("DetectionStatus", "DETECTION_IN_PROGRESS"),
                Some(outcome) => {
                    let status = reported_status.map_or(outcome.stack_drift_status, String::as_str);
                    xml.text("StackDriftStatus", status);
                    match &outcome.failure {
                        None => xml.text("DetectionStatus", "DETECTION_COMPLETE"),
                        Some(reason) => {
                            xml.text("DetectionStatus", "DETECTION_FAILED");
                            xml.text("DetectionStatusReason", reason);
                        }
                    }
                    xml.text(
                        "DriftedStackResourceCount",
                        &outcome.drifted_count.to_string(),
                    );
                }
            }
            xml.text("Timestamp", &ids::timestamp(detection.started));
        },
    ))
}

pub(super) fn describe_stack_resource_drifts(
    state: &mut State,
    params: &Params<'_>,
    request_id: &str,
) -> Result<String, ApiError> {
    let name = params.required("StackName")?;
    let filters = params.list("StackResourceDriftStatusFilters");
    if let Some(bad) = filters.iter().find(|f| !FILTER_VALUES.contains(f)) {
        return Err(ApiError::validation(format!(
            "1 validation error detected: Value '[{bad}]' at 'stackResourceDriftStatusFilters' \
             failed to satisfy constraint: Member must satisfy constraint: [Member must satisfy \
             enum value set: [{}]]",
            FILTER_VALUES.join(", ")
        )));
    }
    let max = max_results(params, 100)?;
    let stack = state.stack(name).ok_or_else(|| ApiError::no_stack(name))?;
    let (scope, results): (&str, Vec<&ResourceDrift>) = match &stack.latest_results {
        Some((detection_id, drifts)) => (
            detection_id,
            drifts
                .iter()
                .filter(|d| filters.is_empty() || filters.contains(&d.status.as_str()))
                .collect(),
        ),
        None => ("", Vec::new()),
    };
    let start = page_start(params, scope, results.len())?;
    let end = results.len().min(start + max);
    let next = match state.faults.repeat_drift_page_token {
        true => (!results.is_empty()).then(|| ids::page_token(scope, start)),
        false => (end < results.len()).then(|| ids::page_token(scope, end)),
    };
    Ok(xml::response(
        "DescribeStackResourceDrifts",
        request_id,
        |xml| {
            xml.list("StackResourceDrifts", &results[start..end], |xml, drift| {
                stack_resource_drift(xml, &stack.stack_id, drift);
            });
            xml.optional("NextToken", next.as_deref());
        },
    ))
}

fn stack_resource_drift(xml: &mut Xml, stack_id: &str, drift: &ResourceDrift) {
    xml.text("StackId", stack_id);
    xml.text("LogicalResourceId", &drift.logical_id);
    xml.text("PhysicalResourceId", &drift.physical_id);
    if !drift.physical_id_context.is_empty() {
        xml.list(
            "PhysicalResourceIdContext",
            &drift.physical_id_context,
            |xml, pair| {
                xml.text("Key", &pair.key);
                xml.text("Value", &pair.value);
            },
        );
    }
    xml.text("ResourceType", &drift.resource_type);
    xml.text("ExpectedProperties", &drift.expected);
    xml.optional("ActualProperties", drift.actual.as_deref());
    if !drift.differences.is_empty() {
        xml.list(
            "PropertyDifferences",
            &drift.differences,
            |xml, difference| {
                xml.text("PropertyPath", &difference.path);
                xml.text("ExpectedValue", &difference.expected);
                xml.text("ActualValue", &difference.actual);
                xml.text("DifferenceType", difference.kind.as_str());
            },
        );
    }
    xml.text("StackResourceDriftStatus", drift.status.as_str());
    xml.text("Timestamp", &ids::timestamp(drift.timestamp));
    module_info(xml, drift.module.as_ref());
    xml.optional("DriftStatusReason", drift.reason.as_deref());
}
