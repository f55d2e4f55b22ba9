//! A CloudFormation template, read for three answers: which resource properties carry a
//! secret (so drift values there are never shown), which parameters of a nested stack it
//! passes a secret (so the nested stack's template is read with them secret), and on which
//! line a resource is declared (for annotations).
//!
//! A value carries a secret when anything in it (any intrinsic function's arguments
//! included: `Fn::If`, `Fn::Select`, `Fn::Base64`, …) is, or names, one of:
//! - a secret parameter (`Ref`, `${Name}` in `Fn::Sub`): declared `NoEcho`, or passed a
//!   secret by the parent stack ([`SecretParameters`]; all of them when the parent's template
//!   could not be read or does not say, and for a nested stack scanned on its own);
//! - a secure dynamic reference (`{{resolve:` of any service but plain `ssm:`), also one
//!   `Fn::Join` or `Fn::Sub` assembles from pieces: the pieces are read in order, each
//!   computed piece as any text without braces (one that may hold a brace the template
//!   spells makes the value secret outright);
//! - a parameter whose declaration holds one (its `Default`);
//! - a resource whose properties carry one (`Ref`, any `Fn::GetAtt`, `${Name.Attribute}`):
//!   so a nested stack passed a secret makes all its `Outputs.*` secret;
//! - the `Mappings`, for `Fn::FindInMap`, if any value of them carries one;
//! - `Fn::Transform`, and any function CloudFormation would not take as written.
//!
//! Not tracked, since no template shows them: a secret given at deployment as the value of
//! a parameter not declared `NoEcho`, `Fn::ImportValue` (another stack's export), a nested
//! stack's outputs fed by secrets of its own, and dynamic-reference braces in values from
//! outside the template (parameter values, attributes, imports).
//! A resource the template does not declare (it changed since it was read) is all secret.
//!
//! Templates are YAML (with CloudFormation's short-form tags such as `!Ref`) or JSON, which
//! YAML reads as its flow style; anchors and aliases are followed as references, never
//! expanded. Every read is bounded ([`MAX_TEMPLATE_BYTES`], [`MAX_TEMPLATE_DEPTH`],
//! [`MAX_TEMPLATE_NODES`]; assembled references past a budget are secret), and no error
//! quotes the template: values there may be secrets.

mod flow;
mod secrets;
mod spelling;
mod tree;

#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_flow;
#[cfg(test)]
mod tests_reading;

use std::collections::{BTreeSet, HashMap};
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

/// The parameters of a stack whose values are secrets though its template need not say so:
/// those its parent stack passes a secret (in the nested stack resource's `Parameters`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SecretParameters {
    /// These, by name: none for a stack no parent passes a secret.
    Named(BTreeSet<String>),
    /// Every one: the parent's template could not say which.
    All,
}

impl Default for SecretParameters {
    fn default() -> Self {
        SecretParameters::Named(BTreeSet::new())
    }
}

impl SecretParameters {
    /// Both: all, if either is.
    fn extend(&mut self, other: SecretParameters) {
        match (&mut *self, other) {
            (SecretParameters::Named(names), SecretParameters::Named(more)) => names.extend(more),
            (this, _) => *this = SecretParameters::All,
        }
    }
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
    /// The parameters it passes a secret, as a nested stack.
    passes: SecretParameters,
}

impl Template {
    /// Reads the `TemplateBody` of `aws cloudformation get-template --output json`: an object
    /// for a JSON template the CLI decoded, or the text of any other.
    pub fn from_cli(body: &serde_json::Value) -> Result<Template, TemplateError> {
        Template::from_cli_with_secret_parameters(body, &SecretParameters::default())
    }

    /// [`Template::from_cli`] for a stack whose parent passes `secret_parameters` a secret:
    /// they count as `NoEcho`.
    pub fn from_cli_with_secret_parameters(
        body: &serde_json::Value,
        secret_parameters: &SecretParameters,
    ) -> Result<Template, TemplateError> {
        match body {
            serde_json::Value::String(text) => {
                Template::parse_with_secret_parameters(text, secret_parameters)
            }
            serde_json::Value::Object(_) => {
                secrets::analyse(&tree::Tree::from_json(body)?, secret_parameters)
            }
            _ => Err(TemplateError::Invalid {
                problem: "body is neither a template nor its text",
                position: None,
            }),
        }
    }

    /// Reads a template's text, YAML or JSON.
    pub fn parse(text: &str) -> Result<Template, TemplateError> {
        Template::parse_with_secret_parameters(text, &SecretParameters::default())
    }

    /// [`Template::parse`], with `secret_parameters` counting as `NoEcho`.
    pub fn parse_with_secret_parameters(
        text: &str,
        secret_parameters: &SecretParameters,
    ) -> Result<Template, TemplateError> {
        secrets::analyse(&tree::Tree::from_text(text)?, secret_parameters)
    }

    /// Whether a drift at `path` in the resource's properties may show a secret: the path is
    /// at, under or above a value that carries one. True for a resource not in the template
    /// (it changed since it was read): nothing says what its values are.
    pub fn is_sensitive(&self, logical_id: &str, path: &[PathSegment]) -> bool {
        self.by_id.get(logical_id).is_none_or(|&index| {
            secrets::reaches_secret(&self.shapes, &self.resources[index].secrets, path)
        })
    }

    /// The parameters of the nested stack `logical_id` declares that this template passes a
    /// secret: all of them for a resource not in the template, or one whose `Parameters`
    /// are computed with a secret somewhere in them.
    pub fn secret_parameters_of(&self, logical_id: &str) -> SecretParameters {
        self.by_id
            .get(logical_id)
            .map_or(SecretParameters::All, |&index| {
                self.resources[index].passes.clone()
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

    fn add_resource(&mut self, logical_id: &str, secrets: Vec<ShapeId>, passes: SecretParameters) {
        match self.by_id.get(logical_id) {
            // Declared twice: whichever declaration counts, both are kept secret.
            Some(&index) => {
                let resource = &mut self.resources[index];
                resource.secrets.extend(secrets);
                resource.passes.extend(passes);
            }
            None => {
                self.by_id
                    .insert(logical_id.to_owned(), self.resources.len());
                self.resources.push(Resource {
                    logical_id: logical_id.to_owned(),
                    secrets,
                    passes,
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
