//! What driftlog reads of `terraform show -json <plan>`: the drift entries, and for a normal
//! plan what apply would do to each resource and which attributes the configuration sets.

pub mod saved;

use std::collections::{BTreeMap, HashMap};

use serde::Deserialize;
use serde_json::Value;

use crate::drift::analysis::Sides;

/// One entry of `resource_drift[]`, values still raw: sensitive ones included. Only the
/// drift analysis may look inside `before`/`after`.
#[derive(Debug, Clone, Deserialize)]
pub struct ResourceDriftEntry {
    pub address: String,
    /// Set when a `moved` block changed the address since the last apply.
    #[serde(default)]
    pub previous_address: Option<String>,
    #[serde(default)]
    pub module_address: Option<String>,
    #[serde(default)]
    pub mode: String,
    #[serde(rename = "type", default)]
    pub resource_type: String,
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub index: Option<Value>,
    #[serde(default)]
    pub provider_name: String,
    pub change: RawChange,
}

/// A `resource_changes[]` entry (or a `deferred_changes[].resource_change`): what applying
/// the configuration would do to one resource instance. Values raw, as in the drift entries.
#[derive(Debug, Clone, Deserialize)]
pub struct PlannedChangeEntry {
    pub address: String,
    #[serde(default)]
    pub module_address: Option<String>,
    #[serde(default)]
    pub mode: String,
    #[serde(rename = "type", default)]
    pub resource_type: String,
    #[serde(default)]
    pub name: String,
    /// Set for a change to a deposed object, not the current one.
    #[serde(default)]
    pub deposed: Option<String>,
    /// Why terraform chose the action (`replace_because_cannot_update`), when it says.
    #[serde(default)]
    pub action_reason: Option<String>,
    pub change: RawChange,
}

#[derive(Debug, Clone, Deserialize)]
pub struct RawChange {
    pub actions: Vec<String>,
    #[serde(default)]
    pub before: Value,
    #[serde(default)]
    pub after: Value,
    #[serde(default)]
    pub before_sensitive: Value,
    #[serde(default)]
    pub after_sensitive: Value,
    #[serde(default)]
    pub after_unknown: Value,
    /// Terraform 1.12+: the resource identity (never sensitive), when the provider has one.
    #[serde(default)]
    pub before_identity: Value,
    #[serde(default)]
    pub after_identity: Value,
    /// Of a replace: the paths (arrays of steps) that force it.
    #[serde(default)]
    pub replace_paths: Value,
}

impl RawChange {
    /// Its values and masks, for the drift analysis.
    pub fn sides(&self) -> Sides<'_> {
        Sides {
            before: &self.before,
            after: &self.after,
            before_sensitive: &self.before_sensitive,
            after_sensitive: &self.after_sensitive,
            after_unknown: &self.after_unknown,
        }
    }
}

/// The parts of a plan document driftlog uses.
#[derive(Debug, Clone, Default)]
pub struct PlanDocument {
    pub resource_drift: Vec<ResourceDriftEntry>,
    /// Current objects only (changes to deposed objects are left out), by address.
    pub planned: HashMap<String, PlannedChangeEntry>,
    /// Changes terraform deferred to a later plan, by address.
    pub deferred: HashMap<String, PlannedChangeEntry>,
    configured: HashMap<ConfigKey, BTreeMap<String, Argument>>,
    /// Resource identities (Terraform 1.12+) in the plan's prior state, by address.
    identities: HashMap<String, Value>,
}

/// How the configuration writes one argument of a resource block.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Argument {
    /// A literal that is not null.
    Constant,
    /// `= null`: as if unset.
    Null,
    /// An expression (references, functions): its value is known only to terraform.
    Expression,
    /// A nested block (or several).
    Block,
}

/// A resource block: the module call names on the way to it, its type and name.
type ConfigKey = (Vec<String>, String, String);

impl PlanDocument {
    /// The top-level arguments and nested block types the configuration writes for the
    /// resource block that `module_address`, `resource_type` and `name` instantiate (from
    /// the plan's `configuration` section); `None` when the block is not in it.
    pub fn configured(
        &self,
        module_address: Option<&str>,
        resource_type: &str,
        name: &str,
    ) -> Option<&BTreeMap<String, Argument>> {
        let calls = match module_address {
            None => Vec::new(),
            Some(address) => super::config::module_call_names(address)?
                .into_iter()
                .map(str::to_owned)
                .collect(),
        };
        self.configured
            .get(&(calls, resource_type.to_owned(), name.to_owned()))
    }

    /// The resource's identity in the plan's prior state (a refresh-only plan's refreshed
    /// state), when its provider has one.
    pub fn identity(&self, address: &str) -> Option<&Value> {
        self.identities.get(address)
    }
}

#[derive(Deserialize)]
struct ShowDocument {
    #[serde(default)]
    resource_drift: Vec<ResourceDriftEntry>,
    #[serde(default)]
    resource_changes: Vec<PlannedChangeEntry>,
    #[serde(default)]
    deferred_changes: Vec<DeferredChange>,
    #[serde(default)]
    configuration: Option<Configuration>,
    #[serde(default)]
    prior_state: Option<PriorState>,
}

#[derive(Deserialize)]
struct PriorState {
    #[serde(default)]
    values: Option<StateValues>,
}

#[derive(Deserialize)]
struct StateValues {
    #[serde(default)]
    root_module: Option<StateModule>,
}

/// Only addresses and identities are built; attribute values are skipped.
#[derive(Deserialize)]
struct StateModule {
    #[serde(default)]
    resources: Vec<StateResource>,
    #[serde(default)]
    child_modules: Vec<StateModule>,
}

#[derive(Deserialize)]
struct StateResource {
    #[serde(default)]
    address: String,
    #[serde(default)]
    identity: Option<Value>,
}

#[derive(Deserialize)]
struct DeferredChange {
    #[serde(default)]
    reason: Option<String>,
    resource_change: PlannedChangeEntry,
}

#[derive(Deserialize)]
struct Configuration {
    #[serde(default)]
    root_module: Option<ConfigModule>,
}

#[derive(Deserialize)]
struct ConfigModule {
    #[serde(default)]
    resources: Vec<ConfigResource>,
    #[serde(default)]
    module_calls: HashMap<String, ConfigModuleCall>,
}

#[derive(Deserialize)]
struct ConfigModuleCall {
    #[serde(default)]
    module: Option<ConfigModule>,
}

#[derive(Deserialize)]
struct ConfigResource {
    #[serde(default)]
    mode: String,
    #[serde(rename = "type", default)]
    resource_type: String,
    #[serde(default)]
    name: String,
    /// Keyed by argument or nested block type. Values may quote secrets: only their shape
    /// is kept.
    #[serde(default)]
    expressions: HashMap<String, Value>,
}

fn argument(expression: &Value) -> Argument {
    match expression.get("constant_value") {
        _ if expression.is_array() => Argument::Block,
        // JSON configuration gives a template both its text and its references.
        _ if expression.get("references").is_some() => Argument::Expression,
        Some(Value::Null) => Argument::Null,
        Some(_) => Argument::Constant,
        None => Argument::Expression,
    }
}

/// Where a show document stopped making sense. Deliberately carries no text from the
/// document itself: serde's messages quote offending values, which may be secrets.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{category} at line {line}, column {column}")]
pub struct MalformedShow {
    pub category: &'static str,
    pub line: usize,
    pub column: usize,
}

/// Reads the drift entries of a plan's JSON representation. Other members are skipped
/// without being built, which keeps this fast on plans of thousands of resources.
pub fn parse_resource_drift(json: &[u8]) -> Result<Vec<ResourceDriftEntry>, MalformedShow> {
    parse_plan(json).map(|doc| doc.resource_drift)
}

/// Reads what driftlog uses of a plan's JSON representation: drift entries, planned and
/// deferred changes, and which arguments each resource block sets.
pub fn parse_plan(json: &[u8]) -> Result<PlanDocument, MalformedShow> {
    let doc = serde_json::from_slice::<ShowDocument>(json).map_err(malformed)?;
    let current = |entry: &PlannedChangeEntry| entry.deposed.is_none();
    let mut configured = HashMap::new();
    if let Some(module) = doc.configuration.and_then(|c| c.root_module) {
        collect_configured(module, &mut Vec::new(), &mut configured);
    }
    let mut identities = HashMap::new();
    if let Some(module) = doc
        .prior_state
        .and_then(|s| s.values)
        .and_then(|v| v.root_module)
    {
        collect_identities(module, &mut identities);
    }
    Ok(PlanDocument {
        resource_drift: doc.resource_drift,
        identities,
        planned: doc
            .resource_changes
            .into_iter()
            .filter(current)
            .map(|entry| (entry.address.clone(), entry))
            .collect(),
        deferred: doc
            .deferred_changes
            .into_iter()
            .map(|deferred| deferred.resource_change)
            .filter(current)
            .map(|entry| (entry.address.clone(), entry))
            .collect(),
        configured,
    })
}

fn collect_identities(module: StateModule, into: &mut HashMap<String, Value>) {
    for resource in module.resources {
        if let Some(identity) = resource.identity.filter(|i| !i.is_null()) {
            into.insert(resource.address, identity);
        }
    }
    for child in module.child_modules {
        collect_identities(child, into);
    }
}

/// Where a document stopped making sense, without quoting it.
pub(crate) fn malformed(err: serde_json::Error) -> MalformedShow {
    MalformedShow {
        category: match err.classify() {
            serde_json::error::Category::Syntax if crate::json::is_too_deep(&err) => {
                "nesting deeper than driftlog reads (127 levels)"
            }
            serde_json::error::Category::Io => "read error",
            serde_json::error::Category::Syntax => "syntax error",
            serde_json::error::Category::Data => "structure error",
            serde_json::error::Category::Eof => "unexpected end of document",
        },
        line: err.line(),
        column: err.column(),
    }
}

fn collect_configured(
    module: ConfigModule,
    calls: &mut Vec<String>,
    into: &mut HashMap<ConfigKey, BTreeMap<String, Argument>>,
) {
    for resource in module.resources {
        if resource.mode == "managed" {
            let arguments = resource
                .expressions
                .iter()
                .map(|(name, expression)| (name.clone(), argument(expression)))
                .collect();
            into.insert(
                (calls.clone(), resource.resource_type, resource.name),
                arguments,
            );
        }
    }
    for (name, call) in module.module_calls {
        if let Some(module) = call.module {
            calls.push(name);
            collect_configured(module, calls, into);
            calls.pop();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn structure_errors_never_quote_the_document() {
        let doc = br#"{"resource_drift":[{"address":"a.b","change":{"actions":"s3cr3t"}}]}"#;
        let err = parse_resource_drift(doc)
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(err.starts_with("structure error"), "{err}");
        assert!(!err.contains("s3cr3t"));
    }

    #[test]
    fn a_plan_without_drift_has_no_entries() {
        let parsed = parse_resource_drift(br#"{"format_version":"1.2","planned_values":{}}"#);
        assert!(parsed.map(|e| e.is_empty()).unwrap_or(false));
    }

    #[test]
    fn planned_deferred_and_configured_are_read() {
        let doc = br#"{
          "resource_changes": [
            {"address": "a.x", "mode": "managed", "type": "a", "name": "x",
             "change": {"actions": ["update"], "before": {"v": 1}, "after": {"v": 2}}},
            {"address": "a.x", "deposed": "00000001",
             "change": {"actions": ["delete"], "before": {"v": 0}, "after": null}}
          ],
          "deferred_changes": [
            {"reason": "resource_config_unknown",
             "resource_change": {"address": "a.y", "change": {"actions": ["update"]}}}
          ],
          "configuration": {"root_module": {
            "resources": [{"address": "a.x", "mode": "managed", "type": "a", "name": "x",
                           "expressions": {"v": {"constant_value": "hunter2"}, "rule": [{}]}}],
            "module_calls": {"net": {"module": {"resources": [
              {"address": "a.z", "mode": "managed", "type": "a", "name": "z", "expressions": {}}
            ]}}}
          }}
        }"#;
        let Ok(plan) = parse_plan(doc) else {
            panic!("parses")
        };
        assert_eq!(plan.planned.len(), 1);
        assert_eq!(
            plan.planned["a.x"].change.after["v"], 2,
            "the current object"
        );
        assert!(plan.deferred.contains_key("a.y"));
        let root = plan.configured(None, "a", "x").cloned().unwrap_or_default();
        assert_eq!(
            root.into_iter().collect::<Vec<_>>(),
            [
                ("rule".to_owned(), Argument::Block),
                ("v".to_owned(), Argument::Constant)
            ]
        );
        assert!(plan
            .configured(Some("module.net[\"k\"]"), "a", "z")
            .is_some_and(BTreeMap::is_empty));
        assert!(plan.configured(Some("module.other"), "a", "z").is_none());
    }
}
