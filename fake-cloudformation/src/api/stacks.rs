//! DescribeStacks, DescribeStackResources, ListStackResources and GetTemplate.

use super::{drift_information, module_info, page_start};
use crate::faults::ApiError;
use crate::ids;
use crate::requests::Params;
use crate::state::{Stack, State};
use crate::xml;

/// DescribeStackResources answers with the first 100 resources only (AWS's documented limit:
/// larger stacks need ListStackResources); ListStackResources pages by the same number.
const RESOURCES_PER_ANSWER: usize = 100;

pub(super) fn describe_stacks(
    state: &mut State,
    params: &Params<'_>,
    request_id: &str,
) -> Result<String, ApiError> {
    let stacks: Vec<&Stack> = match params.get("StackName") {
        Some(name) => vec![state
            .stack(name)
            .ok_or_else(|| ApiError::no_stack_with_id(name))?],
        None => state.stacks.iter().collect(),
    };
    Ok(xml::response("DescribeStacks", request_id, |xml| {
        xml.list("Stacks", &stacks, |xml, stack| {
            xml.text("StackId", &stack.stack_id);
            xml.text("StackName", &stack.name);
            xml.optional("Description", stack.description.as_deref());
            if !stack.parameters.is_empty() {
                xml.list("Parameters", &stack.parameters, |xml, parameter| {
                    xml.text("ParameterKey", &parameter.key);
                    let value = if parameter.no_echo {
                        "****"
                    } else {
                        &parameter.value
                    };
                    xml.text("ParameterValue", value);
                });
            }
            xml.text("CreationTime", &ids::timestamp(stack.creation_time));
            xml.text("StackStatus", &stack.status);
            xml.text("DisableRollback", "false");
            xml.optional("ParentId", state.parent_id(stack).as_deref());
            xml.optional("RootId", state.root_id(stack).as_deref());
            xml.element("DriftInformation", |xml| {
                xml.text(
                    "StackDriftStatus",
                    stack.drift.map_or("NOT_CHECKED", |(status, _)| status),
                );
                xml.optional(
                    "LastCheckTimestamp",
                    stack.drift.map(|(_, at)| ids::timestamp(at)).as_deref(),
                );
            });
        });
    }))
}

pub(super) fn describe_stack_resources(
    state: &mut State,
    params: &Params<'_>,
    request_id: &str,
) -> Result<String, ApiError> {
    let stack = match (params.get("StackName"), params.get("PhysicalResourceId")) {
        (Some(name), _) => state
            .stack(name)
            .ok_or_else(|| ApiError::no_stack_with_id(name))?,
        (None, Some(physical_id)) => state
            .stacks
            .iter()
            .find(|s| {
                s.resources
                    .iter()
                    .any(|r| state.physical_id(r) == physical_id)
            })
            .ok_or_else(|| {
                ApiError::validation(format!("Stack for {physical_id} does not exist"))
            })?,
        (None, None) => {
            return Err(ApiError::validation(
                "Either StackName or PhysicalResourceId must be specified",
            ))
        }
    };
    let logical_id = params.get("LogicalResourceId");
    let resources: Vec<_> = stack
        .resources
        .iter()
        .filter(|r| logical_id.is_none_or(|id| r.logical_id == id))
        .take(RESOURCES_PER_ANSWER)
        .collect();
    let timestamp = ids::timestamp(stack.creation_time);
    Ok(xml::response("DescribeStackResources", request_id, |xml| {
        xml.list("StackResources", &resources, |xml, resource| {
            xml.text("StackName", &stack.name);
            xml.text("StackId", &stack.stack_id);
            xml.text("LogicalResourceId", &resource.logical_id);
            xml.text("PhysicalResourceId", &state.physical_id(resource));
            xml.text("ResourceType", &resource.resource_type);
            xml.text("Timestamp", &timestamp);
            xml.text("ResourceStatus", &resource.status);
            drift_information(xml, "DriftInformation", resource);
            module_info(xml, resource.module.as_ref());
        });
    }))
}

pub(super) fn list_stack_resources(
    state: &mut State,
    params: &Params<'_>,
    request_id: &str,
) -> Result<String, ApiError> {
    let name = params.required("StackName")?;
    let stack = state
        .stack(name)
        .ok_or_else(|| ApiError::no_stack_with_id(name))?;
    let start = page_start(params, &stack.stack_id, stack.resources.len())?;
    let end = stack.resources.len().min(start + RESOURCES_PER_ANSWER);
    let next = (end < stack.resources.len()).then(|| ids::page_token(&stack.stack_id, end));
    let timestamp = ids::timestamp(stack.creation_time);
    Ok(xml::response("ListStackResources", request_id, |xml| {
        xml.list(
            "StackResourceSummaries",
            &stack.resources[start..end],
            |xml, resource| {
                xml.text("LogicalResourceId", &resource.logical_id);
                xml.text("PhysicalResourceId", &state.physical_id(resource));
                xml.text("ResourceType", &resource.resource_type);
                xml.text("LastUpdatedTimestamp", &timestamp);
                xml.text("ResourceStatus", &resource.status);
                drift_information(xml, "DriftInformation", resource);
                module_info(xml, resource.module.as_ref());
            },
        );
        xml.optional("NextToken", next.as_deref());
    }))
}

pub(super) fn get_template(
    state: &mut State,
    params: &Params<'_>,
    request_id: &str,
) -> Result<String, ApiError> {
    let name = params.required("StackName")?;
    match params.get("TemplateStage") {
        None | Some("Original" | "Processed") => {}
        Some(other) => {
            return Err(ApiError::validation(format!(
                "1 validation error detected: Value '{other}' at 'templateStage' failed to satisfy \
                 constraint: Member must satisfy enum value set: [Original, Processed]"
            )))
        }
    }
    let stack = state
        .stack(name)
        .ok_or_else(|| ApiError::no_stack_with_id(name))?;
    Ok(xml::response("GetTemplate", request_id, |xml| {
        xml.text("TemplateBody", &stack.template);
        xml.string_list("StagesAvailable", &["Original", "Processed"]);
    }))
}
