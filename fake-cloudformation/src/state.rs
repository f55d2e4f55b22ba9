//! The fake's world: stacks, their resources' expected and actual properties, drift detections
//! and their results.

use std::collections::BTreeMap;
use std::time::SystemTime;

use serde_json::Value;

use crate::diff::{property_differences, PropertyDifference};
use crate::faults::FaultState;
use crate::ids;
use crate::requests::RecordedRequest;
use crate::scenario::{KeyValue, ModuleInfo, ParameterSpec, StackSpec};
use crate::Error;

/// Stack states in which CloudFormation runs drift detection.
pub(crate) const CHECKABLE_STATUSES: [&str; 4] = [
    "CREATE_COMPLETE",
    "UPDATE_COMPLETE",
    "UPDATE_ROLLBACK_COMPLETE",
    "UPDATE_ROLLBACK_FAILED",
];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ResourceDriftStatus {
    InSync,
    Modified,
    Deleted,
    Unknown,
    NotChecked,
}

impl ResourceDriftStatus {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Self::InSync => "IN_SYNC",
            Self::Modified => "MODIFIED",
            Self::Deleted => "DELETED",
            Self::Unknown => "UNKNOWN",
            Self::NotChecked => "NOT_CHECKED",
        }
    }
}

#[derive(Debug)]
pub(crate) struct Resource {
    pub logical_id: String,
    pub resource_type: String,
    pub physical_id: String,
    pub physical_id_context: Vec<KeyValue>,
    pub expected: Value,
    /// None: deleted out of band.
    pub actual: Option<Value>,
    pub drift_supported: bool,
    pub unknown: Option<String>,
    pub module: Option<ModuleInfo>,
    pub status: String,
    pub nested_stack: Option<String>,
    pub last_check: Option<(ResourceDriftStatus, SystemTime)>,
}

/// One resource's result in a detection.
#[derive(Debug, Clone)]
pub(crate) struct ResourceDrift {
    pub logical_id: String,
    pub physical_id: String,
    pub physical_id_context: Vec<KeyValue>,
    pub resource_type: String,
    pub expected: String,
    pub actual: Option<String>,
    pub differences: Vec<PropertyDifference>,
    pub status: ResourceDriftStatus,
    pub reason: Option<String>,
    pub module: Option<ModuleInfo>,
    pub timestamp: SystemTime,
}

#[derive(Debug)]
pub(crate) struct Stack {
    pub name: String,
    pub stack_id: String,
    pub status: String,
    pub template: String,
    pub description: Option<String>,
    pub parameters: Vec<ParameterSpec>,
    pub resources: Vec<Resource>,
    pub creation_time: SystemTime,
    /// StackDriftStatus and when, from the latest finished detection.
    pub drift: Option<(&'static str, SystemTime)>,
    /// The latest finished detection's id and results (DescribeStackResourceDrifts).
    pub latest_results: Option<(String, Vec<ResourceDrift>)>,
}

#[derive(Debug, Clone)]
pub(crate) struct Outcome {
    pub failure: Option<String>,
    pub stack_drift_status: &'static str,
    pub drifted_count: usize,
}

#[derive(Debug)]
pub(crate) struct Detection {
    pub id: String,
    pub stack_id: String,
    pub logical_ids: Vec<String>,
    pub polls_left: u32,
    pub started: SystemTime,
    pub outcome: Option<Outcome>,
}

#[derive(Debug, Default)]
pub(crate) struct State {
    pub stacks: Vec<Stack>,
    pub detections: BTreeMap<String, Detection>,
    pub faults: FaultState,
    pub requests: Vec<RecordedRequest>,
    pub request_count: u64,
}

impl State {
    pub(crate) fn add_stack(&mut self, spec: StackSpec) -> Result<String, Error> {
        if self.stacks.iter().any(|s| s.name == spec.name) {
            return Err(Error::DuplicateStack(spec.name));
        }
        let uuid = spec.stack_uuid.clone().unwrap_or_else(|| {
            ids::uuid_like(&format!("{}/{}/{}", spec.region, spec.account, spec.name))
        });
        let stack_id = format!(
            "arn:aws:cloudformation:{}:{}:stack/{}/{uuid}",
            spec.region, spec.account, spec.name
        );
        let resources = spec
            .resources
            .into_iter()
            .map(|r| {
                let physical_id = r.physical_id.unwrap_or_else(|| {
                    let seed = format!("{}/{}", spec.name, r.logical_id);
                    format!(
                        "{}-{}-{}",
                        spec.name,
                        r.logical_id,
                        ids::physical_suffix(&seed)
                    )
                });
                Resource {
                    actual: (!r.deleted).then(|| r.actual.unwrap_or_else(|| r.expected.clone())),
                    logical_id: r.logical_id,
                    resource_type: r.resource_type,
                    physical_id,
                    physical_id_context: r.physical_id_context,
                    expected: r.expected,
                    drift_supported: r.drift_supported,
                    unknown: r.unknown,
                    module: r.module,
                    status: r.status,
                    nested_stack: r.nested_stack,
                    last_check: None,
                }
            })
            .collect();
        self.stacks.push(Stack {
            name: spec.name,
            stack_id: stack_id.clone(),
            status: spec.status,
            template: spec.template,
            description: spec.description,
            parameters: spec.parameters,
            resources,
            creation_time: SystemTime::now(),
            drift: None,
            latest_results: None,
        });
        Ok(stack_id)
    }

    /// The stack with this name or StackId.
    pub(crate) fn stack(&self, name_or_id: &str) -> Option<&Stack> {
        self.stacks
            .iter()
            .find(|s| s.name == name_or_id || s.stack_id == name_or_id)
    }

    pub(crate) fn stack_mut(&mut self, name_or_id: &str) -> Option<&mut Stack> {
        self.stacks
            .iter_mut()
            .find(|s| s.name == name_or_id || s.stack_id == name_or_id)
    }

    pub(crate) fn resource_mut(
        &mut self,
        stack: &str,
        logical_id: &str,
    ) -> Result<&mut Resource, Error> {
        let found = self
            .stack_mut(stack)
            .ok_or_else(|| Error::UnknownStack(stack.to_owned()))?;
        found
            .resources
            .iter_mut()
            .find(|r| r.logical_id == logical_id)
            .ok_or_else(|| Error::UnknownResource {
                stack: stack.to_owned(),
                logical_id: logical_id.to_owned(),
            })
    }

    /// A resource's PhysicalResourceId: a nested stack's is its StackId, looked up when asked so
    /// that stacks can be added in any order.
    pub(crate) fn physical_id(&self, resource: &Resource) -> String {
        match resource
            .nested_stack
            .as_deref()
            .and_then(|name| self.stack(name))
        {
            Some(nested) => nested.stack_id.clone(),
            None => resource.physical_id.clone(),
        }
    }

    /// The StackId of the stack whose resource created this one, if it is nested.
    pub(crate) fn parent_id(&self, stack: &Stack) -> Option<String> {
        self.stacks
            .iter()
            .find(|s| {
                s.resources
                    .iter()
                    .any(|r| r.nested_stack.as_deref() == Some(&stack.name))
            })
            .map(|s| s.stack_id.clone())
    }

    /// The top of a nested stack's parent chain (bounded, in case a scenario made a cycle).
    pub(crate) fn root_id(&self, stack: &Stack) -> Option<String> {
        let mut root = self.parent_id(stack)?;
        for _ in 0..self.stacks.len() {
            match self.stack(&root).and_then(|s| self.parent_id(s)) {
                Some(parent) => root = parent,
                None => break,
            }
        }
        Some(root)
    }

    /// Finishes a detection: compares expected with actual properties now and records the
    /// results on the stack and its resources.
    pub(crate) fn complete_detection(&mut self, detection_id: &str) -> Option<Outcome> {
        let detection = self.detections.get(detection_id)?;
        let (stack_id, logical_ids) = (detection.stack_id.clone(), detection.logical_ids.clone());
        let failure = self
            .stack(&stack_id)
            .and_then(|s| self.faults.detection_failure(&s.name));
        let now = SystemTime::now();
        let stack = self.stacks.iter().position(|s| s.stack_id == stack_id)?;
        let checked: Vec<usize> = (0..self.stacks[stack].resources.len())
            .filter(|&i| {
                let resource = &self.stacks[stack].resources[i];
                resource.drift_supported
                    && (logical_ids.is_empty() || logical_ids.contains(&resource.logical_id))
            })
            .collect();
        let drifts: Vec<ResourceDrift> = checked
            .iter()
            .map(|&i| {
                let resource = &self.stacks[stack].resources[i];
                resource_drift(resource, self.physical_id(resource), now)
            })
            .collect();
        for (&i, drift) in checked.iter().zip(&drifts) {
            self.stacks[stack].resources[i].last_check = Some((drift.status, now));
        }
        let drifted_count = drifts
            .iter()
            .filter(|d| {
                matches!(
                    d.status,
                    ResourceDriftStatus::Modified | ResourceDriftStatus::Deleted
                )
            })
            .count();
        let stack_drift_status = if drifted_count > 0 {
            "DRIFTED"
        } else if drifts
            .iter()
            .any(|d| d.status == ResourceDriftStatus::Unknown)
        {
            "UNKNOWN"
        } else {
            "IN_SYNC"
        };
        let outcome = Outcome {
            failure,
            stack_drift_status,
            drifted_count,
        };
        let target = &mut self.stacks[stack];
        target.drift = Some((stack_drift_status, now));
        target.latest_results = Some((detection_id.to_owned(), drifts));
        if let Some(detection) = self.detections.get_mut(detection_id) {
            detection.outcome = Some(outcome.clone());
        }
        Some(outcome)
    }
}

fn resource_drift(resource: &Resource, physical_id: String, now: SystemTime) -> ResourceDrift {
    let (status, differences) = match (&resource.unknown, &resource.actual) {
        (Some(_), _) => (ResourceDriftStatus::Unknown, Vec::new()),
        (None, None) => (ResourceDriftStatus::Deleted, Vec::new()),
        (None, Some(actual)) => {
            let differences = property_differences(&resource.expected, actual);
            let status = if differences.is_empty() {
                ResourceDriftStatus::InSync
            } else {
                ResourceDriftStatus::Modified
            };
            (status, differences)
        }
    };
    ResourceDrift {
        logical_id: resource.logical_id.clone(),
        physical_id,
        physical_id_context: resource.physical_id_context.clone(),
        resource_type: resource.resource_type.clone(),
        expected: resource.expected.to_string(),
        actual: match status {
            ResourceDriftStatus::Unknown | ResourceDriftStatus::Deleted => None,
            _ => resource.actual.as_ref().map(Value::to_string),
        },
        differences,
        status,
        reason: resource.unknown.clone(),
        module: resource.module.clone(),
        timestamp: now,
    }
}
