//! The provider block: `provider "filestate" { directory = "..." }`.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use tf_provider::schema::{Attribute, AttributeConstraint, AttributeType, Block, Schema};
use tf_provider::value::{Value, ValueEmpty};
use tf_provider::{map, AttributePath, Diagnostics, DynamicDataSource, DynamicResource, Provider};

use crate::object::ObjectResource;

/// The store directory, shared by the provider and its resource.
///
/// tf-provider asks for the resources once at startup, before Terraform sends the provider
/// configuration, so the resource gets this handle and reads the directory when it needs it.
/// Terraform starts one plugin process per provider configuration, so it is set at most once.
#[derive(Clone, Debug, Default)]
pub struct Store(Arc<OnceLock<PathBuf>>);

impl Store {
    /// The configured directory, or an error diagnostic if the provider is not configured yet.
    pub fn dir(&self, diags: &mut Diagnostics) -> Option<&Path> {
        let dir = self.0.get().map(PathBuf::as_path);
        if dir.is_none() {
            diags.root_error_short("provider filestate is not configured");
        }
        dir
    }
}

#[derive(Debug, Default)]
pub struct FileStateProvider {
    store: Store,
}

#[derive(Serialize, Deserialize)]
pub struct ProviderConfig {
    directory: Value<String>,
}

#[async_trait]
impl Provider for FileStateProvider {
    type Config<'a> = ProviderConfig;
    type MetaState<'a> = ValueEmpty;

    fn schema(&self, _diags: &mut Diagnostics) -> Option<Schema> {
        Some(Schema {
            version: 0,
            block: Block {
                description: "Objects stored as JSON files in a local directory".into(),
                attributes: map! {
                    "directory" => Attribute {
                        attr_type: AttributeType::String,
                        description: "Directory holding one <name>.json file per object; \
                            relative to Terraform's working directory"
                            .into(),
                        constraint: AttributeConstraint::Required,
                        ..Default::default()
                    },
                },
                ..Default::default()
            },
        })
    }

    async fn validate<'a>(&self, diags: &mut Diagnostics, config: ProviderConfig) -> Option<()> {
        if matches!(&config.directory, Value::Value(dir) if dir.is_empty()) {
            diags.error_short(
                "directory must not be empty",
                AttributePath::new("directory"),
            );
        }
        Some(())
    }

    async fn configure<'a>(
        &self,
        diags: &mut Diagnostics,
        _terraform_version: String,
        config: ProviderConfig,
    ) -> Option<()> {
        let Value::Value(dir) = config.directory else {
            diags.error_short("directory must be known", AttributePath::new("directory"));
            return Some(());
        };
        // Resolve it now: the plugin inherits Terraform's working directory (after -chdir).
        match std::env::current_dir() {
            Ok(cwd) => {
                // A second configure in the same process would be a Terraform change; keep the first.
                let _ = self.store.0.set(cwd.join(dir));
            }
            Err(err) => diags.root_error("cannot read the working directory", err.to_string()),
        }
        Some(())
    }

    fn get_resources(
        &self,
        _diags: &mut Diagnostics,
    ) -> Option<HashMap<String, Box<dyn DynamicResource>>> {
        Some(map! {
            "object" => ObjectResource::new(self.store.clone()),
        })
    }

    fn get_data_sources(
        &self,
        _diags: &mut Diagnostics,
    ) -> Option<HashMap<String, Box<dyn DynamicDataSource>>> {
        Some(HashMap::new())
    }
}
