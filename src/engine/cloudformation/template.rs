//! A CloudFormation template, read for two answers: which resource properties carry a secret
//! (so drift values there are never shown), and on which line a resource is declared (for
//! annotations).
//!
//! A property carries a secret when its template value comes from a parameter declared
//! `NoEcho` (through `Ref`, a `${Name}` in `Fn::Sub`, or any intrinsic function holding one)
//! or from a secure dynamic reference (`{{resolve:secretsmanager:…}}`,
//! `{{resolve:ssm-secure:…}}`). Templates are YAML (with CloudFormation's short-form tags such
//! as `!Ref`) or JSON, which YAML reads as its flow style; anchors and aliases are followed as
//! references, never expanded. Every read is bounded ([`MAX_TEMPLATE_BYTES`],
//! [`MAX_TEMPLATE_DEPTH`], [`MAX_TEMPLATE_NODES`]), and no error quotes the template: values
//! there may be secrets.

mod secrets;
mod tree;

#[cfg(test)]
mod tests;

use std::collections::HashMap;
use std::fmt;

use secrets::{Shape, ShapeId};

/// The longest template text read, in bytes (CloudFormation itself takes at most 1 MB).
pub const MAX_TEMPLATE_BYTES: usize = 2 << 20;

/// How deeply mappings and sequences may nest, counting through aliases.
pub const MAX_TEMPLATE_DEPTH: usize = 128;

/// The most nodes (scalars, mappings, sequences, keys and aliases) a template may hold.
pub const MAX_TEMPLATE_NODES: usize = 1_000_000;

/// One step of a drift's `PropertyPath`, relative to the resource's `Properties`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum PathSegment {
    Key(String),
    Index(usize),
}

/// Splits a drift's `PropertyPath` (`/Tags/0/Value`): JSON-pointer-like, `~1` is `/` and `~0`
/// is `~`; a segment of digits only is an index.
pub fn parse_property_path(path: &str) -> Vec<PathSegment> {
    path.split('/')
        .filter(|segment| !segment.is_empty())
        .map(|segment| {
            let index = segment
                .bytes()
                .all(|byte| byte.is_ascii_digit())
                .then(|| segment.parse().ok())
                .flatten();
            match index {
                Some(index) => PathSegment::Index(index),
                None => PathSegment::Key(segment.replace("~1", "/").replace("~0", "~")),
            }
        })
        .collect()
}

/// Where in the template text something is (1-based line and column).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Position {
    pub line: usize,
    pub column: usize,
}

impl fmt::Display for Position {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}, column {}", self.line, self.column)
    }
}

/// " at line L, column C", or nothing for a template the CLI already decoded (no text).
fn at(position: &Option<Position>) -> String {
    position.map(|p| format!(" at {p}")).unwrap_or_default()
}

/// Why a template could not be read. Never quotes the template.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TemplateError {
    #[error("the template is {bytes} bytes, more than the {MAX_TEMPLATE_BYTES} driftlog reads")]
    TooLarge { bytes: usize },
    #[error("the template nests deeper than {MAX_TEMPLATE_DEPTH} levels{}", at(.position))]
    TooDeep { position: Option<Position> },
    #[error("the template has more than {MAX_TEMPLATE_NODES} nodes{}", at(.position))]
    TooManyNodes { position: Option<Position> },
    #[error("the template is not valid YAML or JSON at {position}: {reason}")]
    Syntax { position: Position, reason: String },
    #[error("the template {problem}{}", at(.position))]
    Invalid {
        problem: &'static str,
        position: Option<Position>,
    },
}

/// A parsed template: the names of its `NoEcho` parameters and, per resource, where in its
/// properties secrets are. No other value of the template is kept.
#[derive(Debug, Clone, Default)]
pub struct Template {
    no_echo: Vec<String>,
    resources: Vec<Resource>,
    by_id: HashMap<String, usize>,
    /// The shapes of secret-carrying values, shared between resources (aliases).
    shapes: Vec<Shape>,
}

#[derive(Debug, Clone)]
struct Resource {
    logical_id: String,
    /// The shapes of its `Properties` (more than one if the template declares it twice).
    secrets: Vec<ShapeId>,
}

impl Template {
    /// Reads the `TemplateBody` of `aws cloudformation get-template --output json`: an object
    /// for a JSON template the CLI decoded, or the text of any other.
    pub fn from_cli(body: &serde_json::Value) -> Result<Template, TemplateError> {
        match body {
            serde_json::Value::String(text) => Template::parse(text),
            serde_json::Value::Object(_) => secrets::analyse(&tree::Tree::from_json(body)?),
            _ => Err(TemplateError::Invalid {
                problem: "body is neither a template nor its text",
                position: None,
            }),
        }
    }

    /// Reads a template's text, YAML or JSON.
    pub fn parse(text: &str) -> Result<Template, TemplateError> {
        secrets::analyse(&tree::Tree::from_text(text)?)
    }

    /// Whether a drift at `path` in the resource's properties may show a secret: the path is
    /// at, under or above a value that carries one. False for a resource not in the template.
    pub fn is_sensitive(&self, logical_id: &str, path: &[PathSegment]) -> bool {
        self.by_id.get(logical_id).is_some_and(|&index| {
            secrets::reaches_secret(&self.shapes, &self.resources[index].secrets, path)
        })
    }

    /// The logical ids of the template's resources, in template order.
    pub fn resource_ids(&self) -> impl Iterator<Item = &str> {
        self.resources
            .iter()
            .map(|resource| resource.logical_id.as_str())
    }

    /// The parameters declared `NoEcho`, sorted: their values are secrets wherever they show.
    pub fn no_echo_parameters(&self) -> impl Iterator<Item = &str> {
        self.no_echo.iter().map(String::as_str)
    }

    fn new(no_echo: Vec<String>, shapes: Vec<Shape>) -> Template {
        Template {
            no_echo,
            shapes,
            ..Template::default()
        }
    }

    fn add_resource(&mut self, logical_id: &str, secrets: Vec<ShapeId>) {
        match self.by_id.get(logical_id) {
            // Declared twice: whichever declaration counts, both are kept secret.
            Some(&index) => self.resources[index].secrets.extend(secrets),
            None => {
                self.by_id
                    .insert(logical_id.to_owned(), self.resources.len());
                self.resources.push(Resource {
                    logical_id: logical_id.to_owned(),
                    secrets,
                });
            }
        }
    }
}

/// The 1-based line of `logical_id`'s key in the template's top-level `Resources` mapping;
/// `None` if it is not there or the text is unreadable (or beyond the limits).
pub fn locate(text: &str, logical_id: &str) -> Option<u32> {
    let tree = tree::Tree::from_text(text).ok()?;
    let line = tree
        .entries_named(tree.root(), "Resources")
        .filter_map(|resources| tree.entries(resources))
        .flatten()
        .find(|entry| &*entry.key == logical_id)?
        .line;
    (line > 0).then_some(line)
}
