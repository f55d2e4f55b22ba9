//! What the AWS CLI prints for the calls the engine makes (`--output json`: the API's
//! members, PascalCase), typed. Only this module and `aws` know those shapes. Optional
//! members are optional here too: the CLI leaves out what AWS did not send.

use serde::Deserialize;
use serde_json::Value;

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct DescribeStacks {
    #[serde(default)]
    pub stacks: Vec<StackDescription>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct StackDescription {
    pub stack_id: Option<String>,
    pub stack_name: String,
    pub stack_status: String,
    pub parent_id: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct GetTemplate {
    /// An object when the CLI could decode the template as JSON, else its text.
    pub template_body: Option<Value>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct DetectStackDrift {
    pub stack_drift_detection_id: String,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct DetectionStatus {
    pub detection_status: String,
    pub detection_status_reason: Option<String>,
    pub stack_drift_status: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ResourceDrifts {
    #[serde(default)]
    pub stack_resource_drifts: Vec<ResourceDrift>,
    pub next_token: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ResourceDrift {
    pub logical_resource_id: String,
    pub physical_resource_id: Option<String>,
    #[serde(default)]
    pub physical_resource_id_context: Vec<KeyValue>,
    pub resource_type: String,
    /// JSON text, parsed only to type the differences' values.
    pub expected_properties: Option<String>,
    pub actual_properties: Option<String>,
    #[serde(default)]
    pub property_differences: Vec<PropertyDifference>,
    pub stack_resource_drift_status: String,
    pub module_info: Option<ModuleInfo>,
    pub drift_status_reason: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct KeyValue {
    pub key: String,
    pub value: String,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct PropertyDifference {
    pub property_path: String,
    pub expected_value: Option<String>,
    pub actual_value: Option<String>,
    pub difference_type: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ModuleInfo {
    pub logical_id_hierarchy: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ListStackResources {
    #[serde(default)]
    pub stack_resource_summaries: Vec<ResourceSummary>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ResourceSummary {
    pub logical_resource_id: String,
    pub physical_resource_id: Option<String>,
    pub resource_type: String,
    pub drift_information: Option<DriftInformation>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct DriftInformation {
    pub stack_resource_drift_status: String,
}
