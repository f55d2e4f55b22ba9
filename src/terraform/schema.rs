//! What `terraform providers schema -json` says of each resource type's attributes: which the
//! configuration can set (optional, required) and which only the provider sets (computed).

use std::collections::HashMap;

use serde::Deserialize;
use serde_json::Value;

use crate::drift::path::Segment;

/// One attribute's flags, as the provider declares them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
pub struct Flags {
    #[serde(default)]
    pub required: bool,
    #[serde(default)]
    pub optional: bool,
    #[serde(default)]
    pub computed: bool,
}

/// Where a drifted path leads in a resource type's schema.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Found {
    /// The attribute the path is in; `top_level` when it is an argument of the resource
    /// block itself (not inside a nested block or nested attribute); `primitive` when it
    /// holds a string, number or bool (not a collection, an object or a dynamic value).
    Attribute {
        flags: Flags,
        top_level: bool,
        primitive: bool,
    },
    /// The path names a nested block (or one of its elements) as a whole.
    Block,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct Block {
    #[serde(default)]
    attributes: HashMap<String, Attribute>,
    #[serde(default)]
    block_types: HashMap<String, NestedBlock>,
}

#[derive(Debug, Clone, Deserialize)]
struct Attribute {
    #[serde(flatten)]
    flags: Flags,
    #[serde(rename = "type", default)]
    value_type: Option<Value>,
    /// Protocol 6 nested attributes: an object (or list, set, map of objects) of attributes.
    #[serde(default)]
    nested_type: Option<NestedType>,
}

#[derive(Debug, Clone, Deserialize)]
struct NestedType {
    #[serde(default)]
    attributes: HashMap<String, Attribute>,
    #[serde(default)]
    nesting_mode: String,
}

#[derive(Debug, Clone, Deserialize)]
struct NestedBlock {
    #[serde(default)]
    nesting_mode: String,
    #[serde(default)]
    block: Block,
}

/// Every provider's resource schemas, by provider address and resource type.
#[derive(Debug, Clone, Default)]
pub struct ProviderSchemas {
    resources: HashMap<(String, String), Block>,
}

#[derive(Deserialize)]
struct Document {
    #[serde(default)]
    provider_schemas: HashMap<String, ProviderSchema>,
}

#[derive(Deserialize)]
struct ProviderSchema {
    #[serde(default)]
    resource_schemas: HashMap<String, ResourceSchema>,
}

#[derive(Deserialize)]
struct ResourceSchema {
    #[serde(default)]
    block: Block,
}

impl ProviderSchemas {
    /// Reads `terraform providers schema -json`; errors carry only a position (a schema holds
    /// no secrets, but the rule is kept everywhere).
    pub fn parse(json: &[u8]) -> Result<ProviderSchemas, super::show::MalformedShow> {
        let doc: Document = serde_json::from_slice(json).map_err(super::show::malformed)?;
        let mut resources = HashMap::new();
        for (provider, schema) in doc.provider_schemas {
            for (resource_type, resource) in schema.resource_schemas {
                resources.insert((provider.clone(), resource_type), resource.block);
            }
        }
        Ok(ProviderSchemas { resources })
    }

    /// The schema of `resource_type` from `provider` (as the plan names it:
    /// `registry.terraform.io/hashicorp/aws`).
    pub fn resource(&self, provider: &str, resource_type: &str) -> Option<&Block> {
        self.resources
            .get(&(provider.to_owned(), resource_type.to_owned()))
    }
}

impl Block {
    /// Follows a drifted path into the schema: through nested blocks and nested attributes
    /// (skipping their element index or key), to the attribute that holds the value. `None`
    /// when the path leaves the schema.
    pub fn find(&self, path: &[Segment<'_>]) -> Option<Found> {
        let mut block = self;
        let mut rest = path;
        let mut top_level = true;
        loop {
            let (Segment::Key(name), tail) = rest.split_first()? else {
                return None;
            };
            if let Some(attribute) = block.attributes.get(*name) {
                return attribute.find(tail, top_level);
            }
            let nested = block.block_types.get(*name)?;
            rest = skip_element(&nested.nesting_mode, tail);
            if rest.is_empty() {
                return Some(Found::Block);
            }
            block = &nested.block;
            top_level = false;
        }
    }
}

impl Attribute {
    fn find(&self, path: &[Segment<'_>], top_level: bool) -> Option<Found> {
        let primitive = self.nested_type.is_none()
            && matches!(
                self.value_type.as_ref().and_then(Value::as_str),
                Some("string" | "number" | "bool")
            );
        let here = Found::Attribute {
            flags: self.flags,
            top_level,
            primitive,
        };
        let Some(nested) = &self.nested_type else {
            // A primitive, list, map or object type: the whole value is this attribute's.
            return Some(here);
        };
        let rest = skip_element(&nested.nesting_mode, path);
        let Some((Segment::Key(name), tail)) = rest.split_first() else {
            return Some(here);
        };
        nested.attributes.get(*name)?.find(tail, false)
    }
}

/// A list, set or map of blocks (or nested objects) is indexed before its attributes.
fn skip_element<'p, 's>(nesting_mode: &str, path: &'p [Segment<'s>]) -> &'p [Segment<'s>] {
    match (nesting_mode, path.split_first()) {
        ("list" | "set" | "map", Some((_, rest))) => rest,
        _ => path,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use Segment::{Index, Key};

    const SCHEMA: &[u8] = br#"{"format_version": "1.0", "provider_schemas": {
      "registry.terraform.io/example/x": {"resource_schemas": {"x_thing": {"block": {
        "attributes": {
          "id": {"type": "string", "computed": true},
          "region": {"type": "string", "optional": true, "computed": true},
          "tags": {"type": ["map", "string"], "optional": true},
          "settings": {"nested_type": {"nesting_mode": "single", "attributes": {
            "mode": {"type": "string", "optional": true},
            "etag": {"type": "string", "computed": true}}}}
        },
        "block_types": {"rule": {"nesting_mode": "list", "block": {"attributes": {
          "port": {"type": "number", "required": true},
          "rule_id": {"type": "string", "computed": true}}}}}
      }}}}}}"#;

    #[test]
    fn paths_are_followed_through_blocks_and_nested_attributes() {
        let schemas = ProviderSchemas::parse(SCHEMA).unwrap_or_default();
        let thing = schemas
            .resource("registry.terraform.io/example/x", "x_thing")
            .cloned()
            .unwrap_or_default();
        let flags = |path: &[Segment<'_>]| match thing.find(path) {
            Some(Found::Attribute {
                flags, top_level, ..
            }) => Some((flags, top_level)),
            _ => None,
        };
        assert!(matches!(
            thing.find(&[Key("region")]),
            Some(Found::Attribute {
                primitive: true,
                ..
            })
        ));
        assert!(matches!(
            thing.find(&[Key("tags"), Key("env")]),
            Some(Found::Attribute {
                primitive: false,
                ..
            })
        ));
        let computed = Flags {
            computed: true,
            ..Flags::default()
        };
        assert_eq!(flags(&[Key("id")]), Some((computed, true)));
        assert_eq!(
            flags(&[Key("tags"), Key("env")]).map(|f| f.0.optional),
            Some(true)
        );
        assert_eq!(
            flags(&[Key("rule"), Index(0), Key("rule_id")]),
            Some((computed, false))
        );
        assert_eq!(
            flags(&[Key("settings"), Key("etag")]),
            Some((computed, false))
        );
        assert_eq!(thing.find(&[Key("rule"), Index(1)]), Some(Found::Block));
        assert_eq!(thing.find(&[Key("nope")]), None);
        assert!(schemas
            .resource("registry.terraform.io/example/x", "other")
            .is_none());
    }

    #[test]
    fn a_malformed_schema_is_an_error_with_a_position() {
        let err = ProviderSchemas::parse(br#"{"provider_schemas": [1]}"#)
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(err.starts_with("structure error at line 1"), "{err}");
    }
}
