//! Where a template's secrets are. A value carries a secret when anything in it refers to a
//! `NoEcho` parameter or is a secure dynamic reference; a resource's properties are reduced to
//! the shape of the secret-carrying part, which a drift's path is then followed through.
//! Wherever the template is not what CloudFormation accepts, the answer is "secret".

use std::collections::{BTreeSet, HashSet};

use super::tree::{NodeId, Tree, Value};
use super::{PathSegment, Template, TemplateError};

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

pub(super) fn analyse(tree: &Tree) -> Result<Template, TemplateError> {
    let root = tree.root();
    if tree.entries(root).is_none() || tree.node(root).tag.is_some() {
        return Err(invalid("is not a mapping"));
    }
    let mut analysis = Analysis {
        tree,
        no_echo: BTreeSet::new(),
        mappings_carry: false,
        carries: vec![None; tree.len()],
        shaped: vec![None; tree.len()],
        shapes: vec![Shape::All],
    };
    for parameters in tree.entries_named(root, "Parameters") {
        if tree.is_null(parameters) {
            continue;
        }
        let entries = tree
            .entries(parameters)
            .ok_or_else(|| invalid("has a Parameters section that is not a mapping"))?;
        for parameter in entries {
            if declares_no_echo(tree, parameter.value) {
                analysis.no_echo.insert(parameter.key.to_string());
            }
        }
    }
    // `Fn::FindInMap` may pick any value of the mappings: if one carries a secret, all may.
    analysis.mappings_carry = tree
        .entries_named(root, "Mappings")
        .any(|mappings| analysis.carries(mappings));

    let mut resources = Vec::new();
    for section in tree.entries_named(root, "Resources") {
        if tree.is_null(section) {
            continue;
        }
        let entries = tree
            .entries(section)
            .ok_or_else(|| invalid("has a Resources section that is not a mapping"))?;
        for resource in entries {
            resources.push((&*resource.key, analysis.resource(resource.value)));
        }
    }
    let mut template = Template::new(
        analysis.no_echo.iter().cloned().collect(),
        std::mem::take(&mut analysis.shapes),
    );
    for (logical_id, secrets) in resources {
        template.add_resource(logical_id, secrets);
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

/// A secure dynamic reference: `{{resolve:` of any service but plain `ssm:` (also a partial
/// one, as `Fn::Join` and `Fn::Sub` build them).
fn is_secure_dynamic_reference(text: &str) -> bool {
    const RESOLVE: &str = "{{resolve:";
    if !text.contains("{{") {
        return false;
    }
    let lower = text.to_ascii_lowercase();
    lower
        .match_indices(RESOLVE)
        .any(|(at, _)| !lower[at + RESOLVE.len()..].starts_with("ssm:"))
}

/// Whether an `Fn::Sub` string names a variable `is_secret` says is (`${Name}`, or
/// `${Name.Attribute}`); `${!Literal}` names none.
fn sub_names_secret(template: &str, is_secret: impl Fn(&str) -> bool) -> bool {
    let mut rest = template;
    while let Some(start) = rest.find("${") {
        rest = &rest[start + 2..];
        if rest.starts_with('!') {
            continue;
        }
        let Some(end) = rest.find('}') else {
            return false;
        };
        let name = rest[..end].trim();
        let base = name.split('.').next().unwrap_or(name).trim();
        if is_secret(name) || is_secret(base) {
            return true;
        }
        rest = &rest[end + 1..];
    }
    false
}

struct Analysis<'t> {
    tree: &'t Tree,
    no_echo: BTreeSet<String>,
    mappings_carry: bool,
    /// Per node: whether it carries a secret, once known. Nodes are shared through aliases.
    carries: Vec<Option<bool>>,
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

    fn carries(&mut self, id: NodeId) -> bool {
        if let Some(known) = self.carries[id] {
            return known;
        }
        let tree = self.tree;
        let carries = tree
            .function(id)
            .is_some_and(|(name, argument)| self.function_carries(name, argument))
            || match &tree.node(id).value {
                Value::Scalar { text, .. } => is_secure_dynamic_reference(text),
                Value::Seq(items) => items.iter().any(|&item| self.carries(item)),
                Value::Map(entries) => entries.iter().any(|entry| self.carries(entry.value)),
            };
        self.carries[id] = Some(carries);
        carries
    }

    /// Whether the function itself brings a secret in; its arguments are looked into apart.
    fn function_carries(&self, name: &str, argument: NodeId) -> bool {
        let tree = self.tree;
        match name {
            "Ref" => tree
                .scalar(argument)
                .is_some_and(|name| self.no_echo.contains(name.trim())),
            "Fn::Sub" => {
                let template = match &tree.node(argument).value {
                    Value::Seq(items) => items.first().and_then(|&first| tree.scalar(first)),
                    _ => tree.scalar(argument),
                };
                template.is_some_and(|template| {
                    sub_names_secret(template, |name| self.no_echo.contains(name))
                })
            }
            "Fn::FindInMap" => self.mappings_carry,
            // Whatever a macro makes of it is unknown.
            "Fn::Transform" => true,
            _ => false,
        }
    }

    fn shape(&mut self, id: NodeId) -> Option<ShapeId> {
        if let Some(known) = self.shaped[id] {
            return known;
        }
        let tree = self.tree;
        let shape = if tree.function(id).is_some() {
            // A function's arguments are not the shape of its result: all of it is secret.
            self.carries(id).then_some(ALL)
        } else {
            match &tree.node(id).value {
                Value::Scalar { text, .. } => is_secure_dynamic_reference(text).then_some(ALL),
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
