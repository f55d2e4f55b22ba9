//! What a test sets up: stacks, their resources and parameters, and faults. Serde types (the
//! binary reads them from JSON) with builder methods (Rust tests chain them).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// Everything the fake starts with. See the crate docs for a JSON example.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Scenario {
    #[serde(default)]
    pub stacks: Vec<StackSpec>,
    #[serde(default)]
    pub faults: Faults,
}

/// Faults and detection timing.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Faults {
    /// Action name -> how many of its next calls answer `Throttling` (HTTP 400).
    #[serde(default)]
    pub throttle: BTreeMap<String, u32>,
    /// Actions that answer `AccessDenied` (HTTP 403) until allowed again.
    #[serde(default)]
    pub deny: Vec<String>,
    /// Stack name -> the `DetectionStatusReason` its detections fail with.
    #[serde(default)]
    pub fail_detection: BTreeMap<String, String>,
    /// How many `DescribeStackDriftDetectionStatus` calls answer `DETECTION_IN_PROGRESS` before a
    /// detection completes.
    #[serde(default = "default_polls_in_progress")]
    pub polls_in_progress: u32,
    /// The IAM principal named in `AccessDenied` messages.
    #[serde(default = "default_principal")]
    pub principal: String,
    /// A buggy or hostile endpoint: every `DescribeStackResourceDrifts` page of a non-empty
    /// result answers the same `NextToken` (which reads its first page again).
    #[serde(default)]
    pub repeat_drift_page_token: bool,
    /// Stack name -> the `StackDriftStatus` its finished detections report, whatever their
    /// results say (a detection contradicting its own results).
    #[serde(default)]
    pub stack_drift_status: BTreeMap<String, String>,
}

impl Default for Faults {
    fn default() -> Self {
        Self {
            throttle: BTreeMap::new(),
            deny: Vec::new(),
            fail_detection: BTreeMap::new(),
            polls_in_progress: default_polls_in_progress(),
            principal: default_principal(),
            repeat_drift_page_token: false,
            stack_drift_status: BTreeMap::new(),
        }
    }
}

/// A stack as it was deployed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StackSpec {
    pub name: String,
    #[serde(default = "default_region")]
    pub region: String,
    #[serde(default = "default_account")]
    pub account: String,
    /// The id part of the StackId ARN; derived from region, account and name when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stack_uuid: Option<String>,
    #[serde(default = "default_stack_status")]
    pub status: String,
    /// The template body, JSON or YAML text, returned by GetTemplate as given.
    #[serde(default)]
    pub template: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(default)]
    pub parameters: Vec<ParameterSpec>,
    /// In template order; the APIs list them in this order.
    #[serde(default)]
    pub resources: Vec<ResourceSpec>,
}

/// A stack parameter. DescribeStacks shows a NoEcho one's value as `****`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ParameterSpec {
    pub key: String,
    pub value: String,
    #[serde(default)]
    pub no_echo: bool,
}

/// A resource of a stack: what the template set (`expected`) and what really exists (`actual`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ResourceSpec {
    pub logical_id: String,
    #[serde(rename = "type")]
    pub resource_type: String,
    /// Derived like CloudFormation's (`{stack}-{logical}-{suffix}`) when absent; for a nested
    /// stack it is always the nested stack's StackId.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub physical_id: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub physical_id_context: Vec<KeyValue>,
    /// The properties the template sets, resolved (parameters and intrinsics already applied).
    #[serde(default = "empty_object")]
    pub expected: Value,
    /// The resource's real properties; the same as `expected` when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub actual: Option<Value>,
    /// Deleted out of band: detection reports DELETED.
    #[serde(default)]
    pub deleted: bool,
    /// False for types that do not support drift detection.
    #[serde(default = "yes")]
    pub drift_supported: bool,
    /// Detection reports UNKNOWN for this resource, with this `DriftStatusReason`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unknown: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub module: Option<ModuleInfo>,
    #[serde(default = "default_resource_status")]
    pub status: String,
    /// The name of the nested stack this `AWS::CloudFormation::Stack` resource created.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nested_stack: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KeyValue {
    pub key: String,
    pub value: String,
}

/// Where a resource came from when a module created it ("/"-separated hierarchies).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModuleInfo {
    pub type_hierarchy: String,
    pub logical_id_hierarchy: String,
}

fn default_polls_in_progress() -> u32 {
    1
}
fn default_principal() -> String {
    "arn:aws:iam::123456789012:user/ci".to_owned()
}
fn default_region() -> String {
    "us-east-1".to_owned()
}
fn default_account() -> String {
    "123456789012".to_owned()
}
fn default_stack_status() -> String {
    "CREATE_COMPLETE".to_owned()
}
fn default_resource_status() -> String {
    "CREATE_COMPLETE".to_owned()
}
fn empty_object() -> Value {
    Value::Object(serde_json::Map::new())
}
fn yes() -> bool {
    true
}

impl StackSpec {
    /// A CREATE_COMPLETE stack in us-east-1 of account 123456789012, with no template text,
    /// parameters or resources yet.
    pub fn new(name: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            region: default_region(),
            account: default_account(),
            stack_uuid: None,
            status: default_stack_status(),
            template: String::new(),
            description: None,
            parameters: Vec::new(),
            resources: Vec::new(),
        }
    }

    pub fn region(mut self, region: impl Into<String>) -> Self {
        self.region = region.into();
        self
    }

    pub fn account(mut self, account: impl Into<String>) -> Self {
        self.account = account.into();
        self
    }

    pub fn status(mut self, status: impl Into<String>) -> Self {
        self.status = status.into();
        self
    }

    pub fn template(mut self, body: impl Into<String>) -> Self {
        self.template = body.into();
        self
    }

    pub fn description(mut self, description: impl Into<String>) -> Self {
        self.description = Some(description.into());
        self
    }

    pub fn parameter(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.parameters.push(ParameterSpec {
            key: key.into(),
            value: value.into(),
            no_echo: false,
        });
        self
    }

    pub fn no_echo_parameter(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.parameters.push(ParameterSpec {
            key: key.into(),
            value: value.into(),
            no_echo: true,
        });
        self
    }

    pub fn resource(mut self, resource: ResourceSpec) -> Self {
        self.resources.push(resource);
        self
    }
}

impl ResourceSpec {
    /// An in-sync resource with no properties and a derived physical id.
    pub fn new(logical_id: impl Into<String>, resource_type: impl Into<String>) -> Self {
        Self {
            logical_id: logical_id.into(),
            resource_type: resource_type.into(),
            physical_id: None,
            physical_id_context: Vec::new(),
            expected: empty_object(),
            actual: None,
            deleted: false,
            drift_supported: true,
            unknown: None,
            module: None,
            status: default_resource_status(),
            nested_stack: None,
        }
    }

    /// The `AWS::CloudFormation::Stack` resource that created the stack named `stack_name`
    /// (add that stack too; its ParentId and RootId follow from this link).
    pub fn nested_stack(logical_id: impl Into<String>, stack_name: impl Into<String>) -> Self {
        let mut resource = Self::new(logical_id, "AWS::CloudFormation::Stack");
        resource.nested_stack = Some(stack_name.into());
        resource
    }

    pub fn physical_id(mut self, id: impl Into<String>) -> Self {
        self.physical_id = Some(id.into());
        self
    }

    pub fn context(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.physical_id_context.push(KeyValue {
            key: key.into(),
            value: value.into(),
        });
        self
    }

    pub fn expected(mut self, properties: Value) -> Self {
        self.expected = properties;
        self
    }

    pub fn actual(mut self, properties: Value) -> Self {
        self.actual = Some(properties);
        self
    }

    pub fn deleted(mut self) -> Self {
        self.deleted = true;
        self
    }

    pub fn drift_unsupported(mut self) -> Self {
        self.drift_supported = false;
        self
    }

    pub fn unknown(mut self, reason: impl Into<String>) -> Self {
        self.unknown = Some(reason.into());
        self
    }

    pub fn module(
        mut self,
        type_hierarchy: impl Into<String>,
        logical_id_hierarchy: impl Into<String>,
    ) -> Self {
        self.module = Some(ModuleInfo {
            type_hierarchy: type_hierarchy.into(),
            logical_id_hierarchy: logical_id_hierarchy.into(),
        });
        self
    }

    pub fn status(mut self, status: impl Into<String>) -> Self {
        self.status = status.into();
        self
    }
}
