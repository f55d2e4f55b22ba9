//! The edit of `.tf` text that adopts values: byte-range replacements of the original text, so
//! every byte outside an edit (comments, blank lines, alignment) stays as it was.
//!
//! Only literals are edited. A value set by an expression (a variable, a local, a reference,
//! a function call, a template) is refused with where its value comes from: editing the
//! expression would change what it means, not adopt a value.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

use hcl_edit::structure::Body;

use super::origin::Origin;
use crate::drift::path::{self as dpath, SegmentBuf};

mod comments;
mod layout;
mod place;
mod render;
mod splice;

use splice::{apply, shift, with_comments_realigned};

/// A configuration file is far smaller; a bigger one is not read.
pub const MAX_SOURCE_FILE_BYTES: u64 = 4 << 20;
/// Configuration and variable files of one stack directory read.
pub const MAX_SOURCE_FILES: usize = 1000;
/// Nesting of a value written into the configuration (lists and objects in each other).
pub const MAX_VALUE_DEPTH: usize = 32;

/// One file of the stack directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceFile {
    /// Relative to the stack directory.
    pub path: PathBuf,
    pub text: String,
}

/// The stack directory's configuration (`*.tf`, `*.tf.json`) and variable files
/// (`terraform.tfvars`, `*.auto.tfvars`, and their `.json` forms), sorted by name.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Sources {
    pub files: Vec<SourceFile>,
}

#[derive(Debug, thiserror::Error)]
pub enum EditError {
    #[error("{}: cannot be read ({source})", path.display())]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{}: more than {MAX_SOURCE_FILES} configuration files (MAX_SOURCE_FILES)", dir.display())]
    TooManyFiles { dir: PathBuf },
}

impl Sources {
    /// Reads the files of `dir` (not recursively), each within [`MAX_SOURCE_FILE_BYTES`].
    pub fn read(dir: &Path) -> Result<Sources, EditError> {
        let read_err = |path: &Path, source| EditError::Read {
            path: path.to_path_buf(),
            source,
        };
        let mut names = Vec::new();
        for entry in std::fs::read_dir(dir).map_err(|e| read_err(dir, e))? {
            let entry = entry.map_err(|e| read_err(dir, e))?;
            let name = entry.file_name().to_string_lossy().into_owned();
            if is_source_name(&name) && entry.file_type().is_ok_and(|t| t.is_file()) {
                if names.len() >= MAX_SOURCE_FILES {
                    return Err(EditError::TooManyFiles {
                        dir: dir.to_path_buf(),
                    });
                }
                names.push(name);
            }
        }
        names.sort();
        let mut files = Vec::new();
        for name in names {
            let path = dir.join(&name);
            let text = crate::bounded::read_to_string(
                &path,
                MAX_SOURCE_FILE_BYTES,
                "MAX_SOURCE_FILE_BYTES",
            )
            .map_err(|e| read_err(&path, e))?;
            files.push(SourceFile {
                path: PathBuf::from(name),
                text,
            });
        }
        Ok(Sources { files })
    }
}

fn is_source_name(name: &str) -> bool {
    !name.starts_with('.')
        && (name.ends_with(".tf")
            || name.ends_with(".tf.json")
            || name == "terraform.tfvars"
            || name == "terraform.tfvars.json"
            || name.ends_with(".auto.tfvars")
            || name.ends_with(".auto.tfvars.json"))
}

/// What to write at a path.
#[derive(Debug, Clone, PartialEq)]
pub enum NewValue {
    Set(serde_json::Value),
    Remove,
}

/// One value to adopt.
#[derive(Debug, Clone, PartialEq)]
pub struct Wanted {
    pub resource_type: String,
    pub name: String,
    /// [`crate::drift::path`] syntax: `tags.env`, `rule[0].cidr_blocks[1]`, `tags["a b"]`.
    pub path: String,
    pub value: NewValue,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// `line` (1-based) is where the edited value is in the new text.
    Edited {
        file: PathBuf,
        line: usize,
    },
    Refused(Refusal),
}

/// What sets a value that is not a literal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ExpressionKind {
    Variable {
        name: String,
    },
    Local {
        name: String,
    },
    /// Another resource's or data source's attribute, `each`, `count`, `path`, ...
    Reference,
    Function {
        name: String,
    },
    /// Templates, conditionals, for expressions, operators, heredocs.
    Other,
}

/// Why a value was not written.
#[derive(Debug, Clone, PartialEq)]
pub enum Refusal {
    NotDeclared {
        address: String,
    },
    Json {
        address: String,
        file: PathBuf,
    },
    Unparsable {
        file: PathBuf,
    },
    BadPath {
        path: String,
    },
    NoSuchPath {
        address: String,
        path: String,
    },
    Dynamic {
        path: String,
        block: String,
        file: PathBuf,
        line: usize,
    },
    Expression {
        path: String,
        file: PathBuf,
        line: usize,
        expression: String,
        kind: ExpressionKind,
        origin: Option<Box<Origin>>,
    },
    /// The value there is not the shape the path needs (`why` says what it is).
    Shape {
        path: String,
        file: PathBuf,
        line: usize,
        why: &'static str,
    },
    /// The text is laid out in a way this edit does not handle (`why` says how).
    Layout {
        path: String,
        file: PathBuf,
        line: usize,
        why: &'static str,
    },
    /// An earlier wanted value of this run edits the same place.
    Conflict {
        address: String,
        path: String,
    },
    TooDeep {
        path: String,
    },
    /// The edited text would not parse: a bug here, so nothing is written.
    Invalid {
        path: String,
        file: PathBuf,
    },
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Refusal::NotDeclared { address } => write!(f, "{address} is not declared in the stack's .tf files"),
            Refusal::Json { address, file } => write!(f, "{address} is declared in {}: JSON configuration is not edited", file.display()),
            Refusal::Unparsable { file } => write!(f, "{} is not valid HCL, so it is not edited", file.display()),
            Refusal::BadPath { path } => write!(f, "`{path}` is not an attribute path"),
            Refusal::NoSuchPath { address, path } => write!(f, "`{path}` is not written in {address}'s block, and cannot be added there"),
            Refusal::Dynamic { path, block, file, line } => write!(f, "`{path}` is in the blocks `dynamic \"{block}\"` makes ({}:{line}): change its for_each or content by hand", file.display()),
            Refusal::Expression { path, file, line, expression, kind, origin } => {
                write!(f, "`{path}` is set by {expression} ({}:{line})", file.display())?;
                match (kind, origin.as_deref()) {
                    (ExpressionKind::Variable { name }, Some(Origin::Variable { default, assigned })) => {
                        match (assigned.split_last(), default) {
                            (Some((last, over)), default) => {
                                write!(f, "; its value comes from {last}")?;
                                let mut others: Vec<String> = over.iter().rev().map(ToString::to_string).collect();
                                if let Some(default) = default {
                                    others.push(format!("the default in {default}"));
                                }
                                if !others.is_empty() {
                                    write!(f, " (over {})", others.join(", "))?;
                                }
                                write!(f, ": change it there")
                            }
                            (None, Some(default)) => write!(f, "; its value comes from the default in {default}, unless -var or TF_VAR_{name} sets it: change it there"),
                            (None, None) => write!(f, "; var.{name} has no default and no variable file sets it: it comes from -var or TF_VAR_{name}"),
                        }
                    }
                    (ExpressionKind::Local { name }, Some(Origin::Local { at, expression })) => {
                        write!(f, "; local.{name} is {expression} ({at}): change it there")
                    }
                    _ => write!(f, ": an expression is not edited, change it by hand"),
                }
            }
            Refusal::Shape { path, file, line, why } => write!(f, "`{path}` cannot be written at {}:{line}: {why}", file.display()),
            Refusal::Layout { path, file, line, why } => write!(f, "`{path}` is not edited at {}:{line}: {why}", file.display()),
            Refusal::Conflict { address, path } => write!(f, "`{path}` of {address} is edited by another value of this run already"),
            Refusal::TooDeep { path } => write!(f, "the value for `{path}` is nested deeper than {MAX_VALUE_DEPTH} levels (MAX_VALUE_DEPTH)"),
            Refusal::Invalid { path, file } => write!(f, "editing `{path}` would leave {} unparsable, so it is not edited", file.display()),
        }
    }
}

/// The result of [`edit`].
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Edits {
    /// One per wanted value, in the same order.
    pub outcomes: Vec<Outcome>,
    /// The new full text of each changed file.
    pub files: BTreeMap<PathBuf, String>,
}

/// Writes each wanted value into the configuration, or says why not. Values are applied one
/// after another, each to the text the previous ones left, so several values of one file make
/// one consistent text.
pub fn edit(sources: &Sources, wanted: &[Wanted]) -> Edits {
    let mut texts: BTreeMap<PathBuf, String> = BTreeMap::new();
    let mut outcomes: Vec<Result<(PathBuf, usize), Refusal>> = Vec::new();
    let mut done: Vec<(String, Vec<SegmentBuf>)> = Vec::new();
    for want in wanted {
        let address = format!("{}.{}", want.resource_type, want.name);
        let result = dpath::parse(&want.path)
            .filter(|segs| !segs.is_empty())
            .ok_or_else(|| Refusal::BadPath {
                path: want.path.clone(),
            })
            .and_then(|segs| {
                // A path within or around one already edited: the texts would disagree.
                if done
                    .iter()
                    .any(|(a, d)| *a == address && (d.starts_with(&segs) || segs.starts_with(d)))
                {
                    return Err(Refusal::Conflict {
                        address: address.clone(),
                        path: want.path.clone(),
                    });
                }
                let plan = place::plan(sources, &texts, want, &segs)?;
                done.push((address.clone(), segs));
                Ok(plan)
            })
            .and_then(|plan| {
                let current = current_text(sources, &texts, &plan.file).unwrap_or_default();
                let plan = with_comments_realigned(current, plan);
                let new = apply(current, &plan.splices);
                if parse(&new).is_none() {
                    return Err(Refusal::Invalid {
                        path: want.path.clone(),
                        file: plan.file,
                    });
                }
                // Earlier values' offsets in this file move with the text around them.
                for (file, at) in outcomes.iter_mut().flatten() {
                    if *file == plan.file {
                        *at = shift(*at, &plan.splices);
                    }
                }
                let at = shift(plan.at, &plan.splices);
                texts.insert(plan.file.clone(), new);
                Ok((plan.file, at))
            });
        outcomes.push(result);
    }
    let outcomes = outcomes
        .into_iter()
        .map(|result| match result {
            Ok((file, at)) => {
                let line = texts.get(&file).map_or(1, |t| line_of(t, at));
                Outcome::Edited { file, line }
            }
            Err(refusal) => Outcome::Refused(refusal),
        })
        .collect();
    Edits {
        outcomes,
        files: texts,
    }
}

fn current_text<'a>(
    sources: &'a Sources,
    texts: &'a BTreeMap<PathBuf, String>,
    file: &Path,
) -> Option<&'a str> {
    texts.get(file).map(String::as_str).or_else(|| {
        sources
            .files
            .iter()
            .find(|f| f.path == file)
            .map(|f| f.text.as_str())
    })
}

/// A body and the offset of its text in the file (a byte order mark is skipped).
pub(crate) fn parse(text: &str) -> Option<(Body, usize)> {
    let base = if text.starts_with('\u{feff}') { 3 } else { 0 };
    hcl_edit::parser::parse_body(&text[base..])
        .ok()
        .map(|body| (body, base))
}

/// The 1-based line of byte `at`.
pub(crate) fn line_of(text: &str, at: usize) -> usize {
    text.as_bytes()[..at.min(text.len())]
        .iter()
        .filter(|b| **b == b'\n')
        .count()
        + 1
}

/// An expression's text, cut to about 120 characters.
pub(crate) fn shorten(text: &str) -> String {
    let one_line: String = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if one_line.chars().count() <= 120 {
        one_line
    } else {
        let cut: String = one_line.chars().take(117).collect();
        format!("{cut}...")
    }
}

#[cfg(test)]
mod tests;

#[cfg(test)]
mod golden;
