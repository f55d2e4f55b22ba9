//! The resource `filestate_object` and its backing file `<directory>/<name>.json`.

use std::collections::BTreeMap;
use std::io::ErrorKind;
use std::path::{Path, PathBuf};

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use serde_json::Number;
use tf_provider::schema::{
    Attribute, AttributeConstraint, AttributeType, Block, NestedBlock, Schema,
};
use tf_provider::value::{Value, ValueEmpty};
use tf_provider::{map, AttributePath, Diagnostics, Resource};

use crate::provider::Store;

/// A `filestate_object` as Terraform sees it: any value may also be null or unknown.
#[derive(Serialize, Deserialize)]
pub struct ObjectState {
    name: Value<String>,
    id: Value<String>,
    description: Value<String>,
    size: Value<Number>,
    enabled: Value<bool>,
    secret: Value<String>,
    tags: Value<BTreeMap<String, Value<String>>>,
    rule: Value<Vec<RuleState>>,
    /// Computed only: the provider sets it, the configuration cannot (like an instance state).
    status: Value<String>,
    /// Computed only and planned unknown whenever the object changes (like an etag).
    revision: Value<Number>,
    /// Optional and computed: `"local"` unless the configuration sets it.
    region: Value<String>,
    /// Optional and force-new: a change of it plans a replace (`requires_replace`), like an
    /// instance's availability zone. Existing configurations leave it unset.
    zone: Value<String>,
}

/// One `rule { port = .. cidr_blocks = [..] }` block.
#[derive(Serialize, Deserialize)]
pub struct RuleState {
    port: Value<Number>,
    cidr_blocks: Value<Vec<Value<String>>>,
}

/// The backing file: plain JSON with the attribute names as keys, `null` or absent when unset.
/// Tests edit it to fake drift, so unknown keys are rejected rather than silently ignored.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct ObjectFile {
    name: Option<String>,
    description: Option<String>,
    size: Option<Number>,
    enabled: Option<bool>,
    secret: Option<String>,
    tags: Option<BTreeMap<String, Option<String>>>,
    rule: Option<Vec<RuleFile>>,
    status: Option<String>,
    revision: Option<Number>,
    region: Option<String>,
    /// Left out of the file when unset, so the files of objects without a zone are as
    /// they were before it existed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    zone: Option<String>,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct RuleFile {
    port: Option<Number>,
    cidr_blocks: Option<Vec<Option<String>>>,
}

impl ObjectFile {
    /// Create and Update resolve the one unknown this resource plans (`revision`) before
    /// writing, so mapping unknown to `None` loses nothing.
    fn from_state(state: &ObjectState) -> Self {
        fn known<T: Clone>(value: &Value<T>) -> Option<T> {
            value.as_ref_option().cloned()
        }
        Self {
            name: known(&state.name),
            description: known(&state.description),
            size: known(&state.size),
            enabled: known(&state.enabled),
            secret: known(&state.secret),
            tags: state.tags.as_ref_option().map(|tags| {
                tags.iter()
                    .map(|(key, value)| (key.clone(), known(value)))
                    .collect()
            }),
            rule: Some(
                state
                    .rule
                    .iter()
                    .flatten()
                    .map(|rule| RuleFile {
                        port: known(&rule.port),
                        cidr_blocks: rule
                            .cidr_blocks
                            .as_ref_option()
                            .map(|cidrs| cidrs.iter().map(known).collect()),
                    })
                    .collect(),
            ),
            status: known(&state.status),
            revision: known(&state.revision),
            region: known(&state.region),
            zone: known(&state.zone),
        }
    }

    /// `id` is the file's identity, not part of its content. A missing `name` keeps the
    /// identity, so deleting the key is not mistaken for a rename.
    fn into_state(self, id: &str) -> ObjectState {
        ObjectState {
            name: self.name.unwrap_or_else(|| id.to_owned()).into(),
            id: Value::Value(id.to_owned()),
            description: self.description.into(),
            size: self.size.into(),
            enabled: self.enabled.into(),
            secret: self.secret.into(),
            tags: self
                .tags
                .map(|tags| tags.into_iter().map(|(k, v)| (k, v.into())).collect())
                .into(),
            // A list block is never null for Terraform: no blocks is an empty list.
            rule: Value::Value(
                self.rule
                    .unwrap_or_default()
                    .into_iter()
                    .map(|rule| RuleState {
                        port: rule.port.into(),
                        cidr_blocks: rule
                            .cidr_blocks
                            .map(|cidrs| cidrs.into_iter().map(Value::from).collect())
                            .into(),
                    })
                    .collect(),
            ),
            status: self.status.into(),
            revision: self.revision.into(),
            region: self.region.into(),
            zone: self.zone.into(),
        }
    }
}

/// What the object holds apart from `revision`, which counts writes of it.
fn content(state: &ObjectState) -> serde_json::Value {
    let mut value = serde_json::to_value(ObjectFile::from_state(state)).unwrap_or_default();
    if let Some(object) = value.as_object_mut() {
        object.remove("revision");
    }
    value
}

/// Names become file names, so they must not be able to leave the store directory.
fn check_name(name: &str) -> Result<(), &'static str> {
    if name.is_empty() || name == "." || name == ".." {
        Err("name must not be empty, \".\" or \"..\"")
    } else if name.contains(['/', '\\', '\0']) {
        Err("name must not contain '/', '\\' or NUL: it is used as a file name")
    } else {
        Ok(())
    }
}

/// The object's identity: `id` once created, `name` before that.
fn identity(state: &ObjectState) -> Option<&str> {
    state
        .id
        .as_ref_option()
        .or(state.name.as_ref_option())
        .map(String::as_str)
}

#[derive(Debug)]
pub struct ObjectResource {
    store: Store,
}

impl ObjectResource {
    pub fn new(store: Store) -> Self {
        Self { store }
    }

    /// `<directory>/<identity>.json`, or an error diagnostic.
    fn path(&self, diags: &mut Diagnostics, state: &ObjectState) -> Option<PathBuf> {
        let dir = self.store.dir(diags)?;
        let Some(id) = identity(state) else {
            diags.root_error_short("filestate_object has neither id nor name");
            return None;
        };
        if let Err(err) = check_name(id) {
            diags.error_short(err, AttributePath::new("name"));
            return None;
        }
        Some(dir.join(format!("{id}.json")))
    }

    /// Write the file whole: to a temporary name, then rename, so a reader never sees half of it.
    fn write(&self, diags: &mut Diagnostics, path: &Path, state: &ObjectState) -> Option<()> {
        let result = (|| -> std::io::Result<()> {
            let mut text = serde_json::to_string_pretty(&ObjectFile::from_state(state))?;
            text.push('\n');
            if let Some(dir) = path.parent() {
                std::fs::create_dir_all(dir)?;
            }
            let mut tmp = path.as_os_str().to_owned();
            tmp.push(".tmp");
            std::fs::write(&tmp, text)?;
            std::fs::rename(&tmp, path)
        })();
        if let Err(err) = result {
            diags.root_error(format!("cannot write {}", path.display()), err.to_string());
            return None;
        }
        Some(())
    }
}

fn string_attr(constraint: AttributeConstraint, description: &str) -> Attribute {
    Attribute {
        attr_type: AttributeType::String,
        description: description.into(),
        constraint,
        ..Default::default()
    }
}

#[async_trait]
impl Resource for ObjectResource {
    type State<'a> = ObjectState;
    type PrivateState<'a> = ValueEmpty;
    type ProviderMetaState<'a> = ValueEmpty;

    fn schema(&self, _diags: &mut Diagnostics) -> Option<Schema> {
        use AttributeConstraint::{Computed, Optional, OptionalComputed, Required};
        let rule = Block {
            description: "A firewall-like rule, to exercise nested blocks".into(),
            attributes: map! {
                "port" => Attribute {
                    attr_type: AttributeType::Number,
                    description: "Port".into(),
                    constraint: Required,
                    ..Default::default()
                },
                "cidr_blocks" => Attribute {
                    attr_type: AttributeType::List(AttributeType::String.into()),
                    description: "CIDR blocks".into(),
                    constraint: Optional,
                    ..Default::default()
                },
            },
            ..Default::default()
        };
        Some(Schema {
            version: 0,
            block: Block {
                description: "An object whose real state is the JSON file <directory>/<name>.json"
                    .into(),
                attributes: map! {
                    "name" => string_attr(Required, "Identity and file name; changing it replaces the object"),
                    "id" => string_attr(Computed, "Same as name"),
                    "description" => string_attr(Optional, "Free text"),
                    "size" => Attribute {
                        attr_type: AttributeType::Number,
                        description: "A number".into(),
                        constraint: Optional,
                        ..Default::default()
                    },
                    "enabled" => Attribute {
                        attr_type: AttributeType::Bool,
                        description: "A flag".into(),
                        constraint: Optional,
                        ..Default::default()
                    },
                    "secret" => Attribute {
                        sensitive: true,
                        ..string_attr(Optional, "A sensitive string")
                    },
                    "status" => string_attr(Computed, "Set by the provider: \"active\" on create"),
                    "revision" => Attribute {
                        attr_type: AttributeType::Number,
                        description: "Set by the provider: 1 on create, +1 on every update".into(),
                        constraint: Computed,
                        ..Default::default()
                    },
                    "region" => string_attr(OptionalComputed, "\"local\" unless set"),
                    "zone" => string_attr(Optional, "Where the object lives; changing it replaces the object"),
                    "tags" => Attribute {
                        attr_type: AttributeType::Map(AttributeType::String.into()),
                        description: "String tags".into(),
                        constraint: Optional,
                        ..Default::default()
                    },
                },
                blocks: map! {
                    "rule" => NestedBlock::List(rule),
                },
                ..Default::default()
            },
        })
    }

    async fn validate<'a>(&self, diags: &mut Diagnostics, config: ObjectState) -> Option<()> {
        if let Value::Value(name) = &config.name {
            if let Err(err) = check_name(name) {
                diags.error_short(err, AttributePath::new("name"));
            }
        }
        Some(())
    }

    async fn read<'a>(
        &self,
        diags: &mut Diagnostics,
        state: ObjectState,
        private_state: ValueEmpty,
        _provider_meta_state: ValueEmpty,
    ) -> Option<(ObjectState, ValueEmpty)> {
        // Keep the prior state on errors: Terraform must not think the object is gone.
        let Some(path) = self.path(diags, &state) else {
            return Some((state, private_state));
        };
        let text = match std::fs::read_to_string(&path) {
            Ok(text) => text,
            // No file: the object was deleted behind Terraform's back.
            Err(err) if err.kind() == ErrorKind::NotFound => return None,
            Err(err) => {
                diags.root_error(format!("cannot read {}", path.display()), err.to_string());
                return Some((state, private_state));
            }
        };
        match serde_json::from_str::<ObjectFile>(&text) {
            Ok(file) => {
                let id = identity(&state).unwrap_or_default().to_owned();
                Some((file.into_state(&id), private_state))
            }
            Err(err) => {
                diags.root_error(format!("cannot parse {}", path.display()), err.to_string());
                Some((state, private_state))
            }
        }
    }

    async fn plan_create<'a>(
        &self,
        _diags: &mut Diagnostics,
        proposed_state: ObjectState,
        _config_state: ObjectState,
        _provider_meta_state: ValueEmpty,
    ) -> Option<(ObjectState, ValueEmpty)> {
        let mut state = proposed_state;
        state.id = state.name.clone();
        state.status = Value::Value("active".to_owned());
        state.revision = Value::Value(Number::from(1));
        if state.region.is_null() {
            state.region = Value::Value("local".to_owned());
        }
        Some((state, ValueEmpty::default()))
    }

    async fn plan_update<'a>(
        &self,
        _diags: &mut Diagnostics,
        prior_state: ObjectState,
        proposed_state: ObjectState,
        _config_state: ObjectState,
        prior_private_state: ValueEmpty,
        _provider_meta_state: ValueEmpty,
    ) -> Option<(ObjectState, ValueEmpty, Vec<AttributePath>)> {
        let mut state = proposed_state;
        state.id = state.name.clone();
        // Terraform proposes the prior value for computed attributes the configuration leaves
        // unset, so `status` and an unset `region` stay as they are. `revision` changes with
        // every write, as an etag does: unknown whenever anything else is planned to change.
        if content(&state) != content(&prior_state) {
            state.revision = Value::Unknown;
        }
        // The name is the file name: another name is another object. A zone cannot be
        // changed in place either (force-new), so a real zone drift plans a replace.
        let mut replace = Vec::new();
        if state.name != prior_state.name {
            replace.push(AttributePath::new("name"));
        }
        if state.zone != prior_state.zone {
            replace.push(AttributePath::new("zone"));
        }
        Some((state, prior_private_state, replace))
    }

    async fn plan_destroy<'a>(
        &self,
        _diags: &mut Diagnostics,
        _prior_state: ObjectState,
        prior_private_state: ValueEmpty,
        _provider_meta_state: ValueEmpty,
    ) -> Option<ValueEmpty> {
        Some(prior_private_state)
    }

    async fn create<'a>(
        &self,
        diags: &mut Diagnostics,
        planned_state: ObjectState,
        _config_state: ObjectState,
        planned_private_state: ValueEmpty,
        _provider_meta_state: ValueEmpty,
    ) -> Option<(ObjectState, ValueEmpty)> {
        let path = self.path(diags, &planned_state)?;
        // Like a real API: two resources claiming one name is a configuration bug.
        if path.exists() {
            diags.error(
                "object already exists",
                format!(
                    "{} exists; filestate does not import objects",
                    path.display()
                ),
                AttributePath::new("name"),
            );
            return None;
        }
        self.write(diags, &path, &planned_state)?;
        Some((planned_state, planned_private_state))
    }

    async fn update<'a>(
        &self,
        diags: &mut Diagnostics,
        prior_state: ObjectState,
        planned_state: ObjectState,
        _config_state: ObjectState,
        planned_private_state: ValueEmpty,
        _provider_meta_state: ValueEmpty,
    ) -> Option<(ObjectState, ValueEmpty)> {
        let mut state = planned_state;
        if !state.revision.is_value() {
            let prior = prior_state
                .revision
                .as_ref_option()
                .and_then(Number::as_u64);
            state.revision = Value::Value(Number::from(prior.unwrap_or(0) + 1));
        }
        let path = self.path(diags, &state)?;
        self.write(diags, &path, &state)?;
        Some((state, planned_private_state))
    }

    async fn destroy<'a>(
        &self,
        diags: &mut Diagnostics,
        prior_state: ObjectState,
        _planned_private_state: ValueEmpty,
        _provider_meta_state: ValueEmpty,
    ) -> Option<()> {
        let path = self.path(diags, &prior_state)?;
        match std::fs::remove_file(&path) {
            Ok(()) => Some(()),
            // Already gone is what destroy wants.
            Err(err) if err.kind() == ErrorKind::NotFound => Some(()),
            Err(err) => {
                diags.root_error(format!("cannot delete {}", path.display()), err.to_string());
                None
            }
        }
    }
}
