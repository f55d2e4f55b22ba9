//! What driftlog reads of `terraform show -json` of a state: each resource instance's values
//! and sensitivity masks, only to tell which ids an apply's record may name.

use std::collections::HashMap;

use serde::Deserialize;
use serde_json::Value;

/// The resource instances of a state, values still raw: only the drift analysis looks inside.
#[derive(Debug, Default)]
pub struct StateValues {
    by_address: HashMap<String, StateResource>,
}

/// One resource instance's values and its mask (`sensitive_values`).
#[derive(Debug, Clone, Deserialize)]
pub struct StateResource {
    pub address: String,
    #[serde(default)]
    pub values: Value,
    #[serde(default)]
    pub sensitive_values: Value,
}

#[derive(Deserialize)]
struct StateDocument {
    #[serde(default)]
    values: Option<StateModules>,
}

#[derive(Deserialize)]
struct StateModules {
    #[serde(default)]
    root_module: Module,
}

#[derive(Default, Deserialize)]
struct Module {
    #[serde(default)]
    resources: Vec<StateResource>,
    #[serde(default)]
    child_modules: Vec<Module>,
}

impl StateValues {
    /// Reads the document; an empty state (no `values`) has no resources.
    pub fn parse(json: &[u8]) -> Result<StateValues, serde_json::Error> {
        let document: StateDocument = serde_json::from_slice(json)?;
        let mut by_address = HashMap::new();
        let mut pending: Vec<Module> = document
            .values
            .map(|values| vec![values.root_module])
            .unwrap_or_default();
        while let Some(module) = pending.pop() {
            for resource in module.resources {
                by_address.insert(resource.address.clone(), resource);
            }
            pending.extend(module.child_modules);
        }
        Ok(StateValues { by_address })
    }

    pub fn resource(&self, address: &str) -> Option<&StateResource> {
        self.by_address.get(address)
    }
}
