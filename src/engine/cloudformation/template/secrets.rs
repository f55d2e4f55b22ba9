//! Where a template's secrets are. Which values carry one is `flow`'s answer; a resource's
//! properties are reduced to the shape of the secret-carrying part, which a drift's path is
//! then followed through. Wherever the template is not what CloudFormation accepts, the
//! answer is "secret".

use std::collections::{BTreeSet, HashSet};

use super::flow::{self, Sources};
use super::tree::{NodeId, Tree, Value};
use super::{PathSegment, SecretParameters, Template, TemplateError};

pub(super) type ShapeId = usize;

/// The secret-carrying part of a value. `Map` and `Seq` list only what carries a secret.
#[derive(Debug, Clone)]
pub(super) enum Shape {
    /// The whole value: a secret itself, or a function whose result holds one.
    All,
    /// `merged` are the mappings a YAML merge key (`<<`) names: their keys may be this
    /// mapping's too, depending on the reader.
    Map {
        keys: Vec<(Box<str>, ShapeId)>,
        merged: Vec<ShapeId>,
    },
    /// Elements in no particular order: drift detection compares some lists as sets, so an
    /// index in a drift's path need not be the template's.
    Seq(Vec<ShapeId>),
}

/// `Shape::All`, always first.
const ALL: ShapeId = 0;

/// Reads the template's secrets; `passed` are the parameters a parent stack passes secrets.
pub(super) fn analyse(tree: &Tree, passed: &SecretParameters) -> Result<Template, TemplateError> {
    let root = tree.root();
    if tree.entries(root).is_none() || tree.node(root).tag.is_some() {
        return Err(invalid("is not a mapping"));
    }
    let mut parameters = Vec::new();
    let mut no_echo = BTreeSet::new();
    for section in tree.entries_named(root, "Parameters") {
        if tree.is_null(section) {
            continue;
        }
        let entries = tree
            .entries(section)
            .ok_or_else(|| invalid("has a Parameters section that is not a mapping"))?;
        for parameter in entries {
            parameters.push((&*parameter.key, parameter.value));
            if declares_no_echo(tree, parameter.value) {
                no_echo.insert(parameter.key.to_string());
            }
        }
    }
    let mut secret_parameters = no_echo.clone();
    match passed {
        SecretParameters::Named(names) => secret_parameters.extend(names.iter().cloned()),
        SecretParameters::All => {
            secret_parameters.extend(parameters.iter().map(|(name, _)| (*name).to_owned()));
        }
    }
    let mut resources = Vec::new();
    for section in tree.entries_named(root, "Resources") {
        if tree.is_null(section) {
            continue;
        }
        let entries = tree
            .entries(section)
            .ok_or_else(|| invalid("has a Resources section that is not a mapping"))?;
        resources.extend(entries.iter().map(|r| (&*r.key, r.value)));
    }
    let mappings: Vec<NodeId> = tree.entries_named(root, "Mappings").collect();
    let carrying = flow::carrying(
        tree,
        &Sources {
            parameters: &parameters,
            secret_parameters: &secret_parameters,
            resources: &resources,
            mappings: &mappings,
        },
    );

    let mut analysis = Analysis {
        tree,
        carrying: &carrying,
        shaped: vec![None; tree.len()],
        shapes: vec![Shape::All],
    };
    let shaped: Vec<_> = resources
        .iter()
        .map(|&(logical_id, declaration)| {
            let secrets = analysis.resource(declaration);
            (logical_id, secrets, passes(tree, &carrying, declaration))
        })
        .collect();
    let mut template = Template::new(
        no_echo.into_iter().collect(),
        std::mem::take(&mut analysis.shapes),
    );
    for (logical_id, secrets, passes) in shaped {
        template.add_resource(logical_id, secrets, passes);
    }
    Ok(template)
}

fn invalid(problem: &'static str) -> TemplateError {
    TemplateError::Invalid {
        problem,
        position: None,
    }
}

/// `NoEcho: true` (any case, quoted or not). Only a plain `false` turns it off: anything else
/// CloudFormation would refuse, so in doubt it is on. So is a declaration that is no mapping.
fn declares_no_echo(tree: &Tree, declaration: NodeId) -> bool {
    if tree.entries(declaration).is_none() {
        return true;
    }
    tree.entries_named(declaration, "NoEcho").any(|value| {
        !tree
            .scalar(value)
            .is_some_and(|text| text.trim().eq_ignore_ascii_case("false"))
    })
}

/// The parameters a resource's `Properties.Parameters` passes a secret (a nested stack's):
/// by name where the template spells them out, else all.
fn passes(tree: &Tree, carrying: &[bool], declaration: NodeId) -> SecretParameters {
    // A mapping written out, not computed.
    let plain = |id: NodeId| tree.entries(id).filter(|_| tree.function(id).is_none());
    let Some(declaration) = plain(declaration) else {
        return SecretParameters::All;
    };
    let mut named = BTreeSet::new();
    for properties in declaration.iter().filter(|e| &*e.key == "Properties") {
        let properties = properties.value;
        if tree.is_null(properties) {
            continue;
        }
        let Some(entries) = plain(properties) else {
            // Computed (`!If`) with a secret somewhere, or what CloudFormation refuses.
            if carrying[properties] || tree.function(properties).is_none() {
                return SecretParameters::All;
            }
            continue;
        };
        for entry in entries.iter().filter(|entry| carrying[entry.value]) {
            match &*entry.key {
                // Merged keys may be `Parameters`.
                "<<" => return SecretParameters::All,
                "Parameters" => {}
                _ => continue,
            }
            let Some(parameters) = plain(entry.value) else {
                return SecretParameters::All;
            };
            for parameter in parameters.iter().filter(|p| carrying[p.value]) {
                if &*parameter.key == "<<" {
                    return SecretParameters::All;
                }
                named.insert(parameter.key.to_string());
            }
        }
    }
    SecretParameters::Named(named)
}

struct Analysis<'t> {
    tree: &'t Tree,
    /// Per node: whether it carries a secret.
    carrying: &'t [bool],
    /// Per node: the shape of its secret-carrying part, once known.
    shaped: Vec<Option<Option<ShapeId>>>,
    shapes: Vec<Shape>,
}

impl Analysis<'_> {
    /// The shapes of a resource's properties.
    fn resource(&mut self, declaration: NodeId) -> Vec<ShapeId> {
        let tree = self.tree;
        if tree.entries(declaration).is_none() || tree.function(declaration).is_some() {
            // Not a declaration CloudFormation takes: in doubt, all of it is secret.
            return vec![ALL];
        }
        tree.entries_named(declaration, "Properties")
            .filter_map(|properties| {
                if tree.is_null(properties) {
                    None
                } else if tree.entries(properties).is_some() || tree.function(properties).is_some()
                {
                    self.shape(properties)
                } else {
                    Some(ALL)
                }
            })
            .collect()
    }

    fn shape(&mut self, id: NodeId) -> Option<ShapeId> {
        if let Some(known) = self.shaped[id] {
            return known;
        }
        let tree = self.tree;
        let shape = if tree.function(id).is_some() {
            // A function's arguments are not the shape of its result: all of it is secret.
            self.carrying[id].then_some(ALL)
        } else {
            match &tree.node(id).value {
                Value::Scalar { .. } => self.carrying[id].then_some(ALL),
                Value::Seq(items) => {
                    let mut elements: Vec<ShapeId> =
                        items.iter().filter_map(|&item| self.shape(item)).collect();
                    elements.sort_unstable();
                    elements.dedup();
                    (!elements.is_empty()).then(|| self.add(Shape::Seq(elements)))
                }
                Value::Map(entries) => {
                    let mut keys = Vec::new();
                    let mut merged = Vec::new();
                    for entry in entries {
                        if &*entry.key == "<<" {
                            merged.extend(self.merge_sources(entry.value));
                        }
                        if let Some(shape) = self.shape(entry.value) {
                            keys.push((entry.key.clone(), shape));
                        }
                    }
                    (!keys.is_empty() || !merged.is_empty())
                        .then(|| self.add(Shape::Map { keys, merged }))
                }
            }
        };
        self.shaped[id] = Some(shape);
        shape
    }

    /// What a merge key's value merges: a mapping, or a sequence of them.
    fn merge_sources(&mut self, value: NodeId) -> Vec<ShapeId> {
        let tree = self.tree;
        match &tree.node(value).value {
            Value::Seq(items) if tree.function(value).is_none() => {
                items.iter().filter_map(|&item| self.shape(item)).collect()
            }
            _ => self.shape(value).into_iter().collect(),
        }
    }

    fn add(&mut self, shape: Shape) -> ShapeId {
        self.shapes.push(shape);
        self.shapes.len() - 1
    }
}

/// Whether `path` leads to, into or above a secret of the shapes `roots`.
pub(super) fn reaches_secret(shapes: &[Shape], roots: &[ShapeId], path: &[PathSegment]) -> bool {
    // Shapes are shared (aliases, unordered elements), so each (shape, depth) is seen once.
    let mut pending: Vec<(ShapeId, usize)> = roots.iter().map(|&root| (root, 0)).collect();
    let mut seen = HashSet::new();
    while let Some((id, depth)) = pending.pop() {
        if !seen.insert((id, depth)) {
            continue;
        }
        let Some(shape) = shapes.get(id) else {
            return true;
        };
        let Some(segment) = path.get(depth) else {
            // The path ends at or above a secret.
            return true;
        };
        match shape {
            Shape::All => return true,
            Shape::Map { keys, merged } => {
                for (key, child) in keys {
                    if key_matches(key, segment) {
                        pending.push((*child, depth + 1));
                    }
                }
                pending.extend(merged.iter().map(|&source| (source, depth)));
            }
            Shape::Seq(elements) => match segment {
                PathSegment::Index(_) => {
                    pending.extend(elements.iter().map(|&element| (element, depth + 1)));
                }
                // A name where the template has a list: the shapes differ, so in doubt.
                PathSegment::Key(_) => return true,
            },
        }
    }
    false
}

fn key_matches(key: &str, segment: &PathSegment) -> bool {
    match segment {
        PathSegment::Key(name) => key == name.as_str(),
        PathSegment::Index(index) => {
            key.bytes().all(|byte| byte.is_ascii_digit()) && key.parse() == Ok(*index)
        }
    }
}
