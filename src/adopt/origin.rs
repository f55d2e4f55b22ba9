//! Where the value of `var.x` or `local.x` comes from: the places a person would change it.

use std::fmt;
use std::path::{Path, PathBuf};

use hcl_edit::structure::Body;
use hcl_edit::Span as _;

use super::edit::{line_of, parse, Sources};

/// One place in a file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Place {
    pub file: PathBuf,
    /// 1-based.
    pub line: usize,
}

impl fmt::Display for Place {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.file.display(), self.line)
    }
}

/// Where an expression's value is written down.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    Variable {
        /// The `default` of the `variable` block.
        default: Option<Place>,
        /// Assignments in variable files, lowest precedence first (terraform.tfvars,
        /// terraform.tfvars.json, then *.auto.tfvars in lexical order): the last one wins.
        assigned: Vec<Place>,
    },
    Local {
        at: Place,
        /// The local's expression as written, shortened.
        expression: String,
    },
}

/// Where `var.name` gets its value in the root module.
pub fn variable(sources: &Sources, name: &str) -> Origin {
    let mut default = None;
    for file in sources.files.iter().filter(|f| is_tf(&f.path)) {
        let Some((body, base)) = parse(&file.text) else {
            continue;
        };
        for block in body.get_blocks("variable") {
            if block.labels.first().map(|l| l.as_str()) != Some(name) {
                continue;
            }
            if let Some(span) = block.body.get_attribute("default").and_then(|a| a.span()) {
                default = Some(Place {
                    file: file.path.clone(),
                    line: line_of(&file.text, base + span.start),
                });
            }
        }
    }
    let mut var_files: Vec<_> = sources
        .files
        .iter()
        .filter(|f| var_file_rank(&f.path).is_some())
        .collect();
    var_files.sort_by_key(|f| (var_file_rank(&f.path), file_name(&f.path)));
    let mut assigned = Vec::new();
    for file in var_files {
        let line = if file_name(&file.path).ends_with(".json") {
            json_key_line(&file.text, name)
        } else {
            parse(&file.text).and_then(|(body, base): (Body, usize)| {
                let span = body.get_attribute(name)?.span()?;
                Some(line_of(&file.text, base + span.start))
            })
        };
        if let Some(line) = line {
            assigned.push(Place {
                file: file.path.clone(),
                line,
            });
        }
    }
    Origin::Variable { default, assigned }
}

/// Where `local.name` is defined, if in a `.tf` file of the root module.
pub fn local(sources: &Sources, name: &str) -> Option<Origin> {
    for file in sources.files.iter().filter(|f| is_tf(&f.path)) {
        let Some((body, base)) = parse(&file.text) else {
            continue;
        };
        for block in body.get_blocks("locals") {
            let Some(attr) = block.body.get_attribute(name) else {
                continue;
            };
            let (Some(at), Some(value)) = (attr.span(), attr.value.span()) else {
                continue;
            };
            return Some(Origin::Local {
                at: Place {
                    file: file.path.clone(),
                    line: line_of(&file.text, base + at.start),
                },
                expression: super::edit::shorten(&file.text[base + value.start..base + value.end]),
            });
        }
    }
    None
}

fn is_tf(path: &Path) -> bool {
    file_name(path).ends_with(".tf")
}

fn file_name(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// Terraform's order of variable files; `None` for other files.
fn var_file_rank(path: &Path) -> Option<u8> {
    let name = file_name(path);
    match name.as_str() {
        "terraform.tfvars" => Some(0),
        "terraform.tfvars.json" => Some(1),
        _ if name.ends_with(".auto.tfvars") || name.ends_with(".auto.tfvars.json") => Some(2),
        _ => None,
    }
}

/// The line of a top-level key of a JSON variable file: where `"name"` is first written.
fn json_key_line(text: &str, name: &str) -> Option<usize> {
    let value: serde_json::Value = serde_json::from_str(text).ok()?;
    value.as_object()?.get(name)?;
    let quoted = serde_json::Value::String(name.to_owned()).to_string();
    text.find(&quoted).map(|at| line_of(text, at))
}
