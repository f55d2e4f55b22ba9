//! The edit of `.tf` text that adopts values: byte-range replacements of the original text, so
//! every byte outside an edit (comments, blank lines, alignment) stays as it was.
//!
//! Only literals are edited. A value set by an expression (a variable, a local, a reference,
//! a function call, a template) is refused with where its value comes from: editing the
//! expression would change what it means, not adopt a value.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::ops::Range;
use std::path::{Path, PathBuf};

use hcl_edit::expr::{Expression, Object, ObjectKey, TraversalOperator};
use hcl_edit::structure::{Block, Body};

use super::origin::{self, Origin};
use crate::drift::path::{self as dpath, SegmentBuf};

mod comments;
mod render;

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

/// One replacement in a text.
#[derive(Debug, Clone)]
struct Splice {
    range: Range<usize>,
    text: String,
}

/// What one wanted value does to one file; `at` is the byte where the value is written.
struct Plan {
    file: PathBuf,
    splices: Vec<Splice>,
    at: usize,
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
                let plan = plan(sources, &texts, want, &segs)?;
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

/// The plan with the trailing-comment runs around its splices realigned as fmt would. The
/// realignment is computed on the spliced text and mapped back onto the original, so a plan
/// stays one set of splices of the original text.
fn with_comments_realigned(text: &str, mut plan: Plan) -> Plan {
    let spliced = apply(text, &plan.splices);
    let mut lines = BTreeSet::new();
    for splice in &plan.splices {
        let start = shift(splice.range.start, &plan.splices);
        let end = start + splice.text.len();
        // The line before too: a removed line joins the runs on either side of it.
        lines.extend(line_of(&spliced, start.saturating_sub(1))..=line_of(&spliced, end));
    }
    let realign = comments::realign(&spliced, &lines);
    let mapped: Vec<Splice> = realign
        .into_iter()
        .filter_map(|extra| {
            unshift(extra.range, &plan.splices).map(|range| Splice {
                range,
                text: extra.text,
            })
        })
        .collect();
    plan.splices.extend(mapped);
    plan
}

/// Where a range of the spliced text was in the original one; `None` when it overlaps text a
/// splice wrote (which has no trailing comments, so this is not expected).
fn unshift(range: Range<usize>, splices: &[Splice]) -> Option<Range<usize>> {
    let mut delta = 0isize;
    for splice in splices {
        let start = shift(splice.range.start, splices);
        let end = start + splice.text.len();
        if start < range.end && range.start < end {
            return None;
        }
        if end <= range.start {
            delta += splice.text.len() as isize - splice.range.len() as isize;
        }
    }
    let start = usize::try_from(range.start as isize - delta).ok()?;
    Some(start..start + range.len())
}

/// The text with the splices applied (they do not overlap).
fn apply(text: &str, splices: &[Splice]) -> String {
    let mut sorted: Vec<&Splice> = splices.iter().collect();
    sorted.sort_by_key(|s| std::cmp::Reverse(s.range.start));
    let mut out = text.to_owned();
    for splice in sorted {
        out.replace_range(splice.range.clone(), &splice.text);
    }
    out
}

/// Where byte `at` of the old text is in the spliced text (the start of a splice it is in).
fn shift(at: usize, splices: &[Splice]) -> usize {
    let mut moved = at as isize;
    for splice in splices {
        if splice.range.end <= at && !(splice.range.is_empty() && splice.range.start == at) {
            moved += splice.text.len() as isize - splice.range.len() as isize;
        } else if splice.range.start < at {
            moved -= (at - splice.range.start) as isize;
        }
    }
    moved.max(0) as usize
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

fn plan(
    sources: &Sources,
    texts: &BTreeMap<PathBuf, String>,
    want: &Wanted,
    segs: &[SegmentBuf],
) -> Result<Plan, Refusal> {
    let address = format!("{}.{}", want.resource_type, want.name);
    for file in &sources.files {
        let name = file.path.to_string_lossy();
        if name.ends_with(".tf.json") && json_declares(&file.text, &want.resource_type, &want.name)
        {
            return Err(Refusal::Json {
                address,
                file: file.path.clone(),
            });
        }
        if !name.ends_with(".tf") {
            continue;
        }
        let text = current_text(sources, texts, &file.path).unwrap_or_default();
        let Some((body, base)) = parse(text) else {
            if text.contains(&want.name) {
                return Err(Refusal::Unparsable {
                    file: file.path.clone(),
                });
            }
            continue;
        };
        let found = body.get_blocks("resource").find(|b| {
            matches!(b.labels.as_slice(), [t, n] if t.as_str() == want.resource_type && n.as_str() == want.name)
        });
        if let Some(block) = found {
            let mut cx = Cx {
                sources,
                text,
                base,
                file: &file.path,
                want,
                address: &address,
            };
            let (splices, at) = cx.in_block(block, segs)?;
            return Ok(Plan {
                file: file.path.clone(),
                splices,
                at,
            });
        }
    }
    Err(Refusal::NotDeclared { address })
}

fn json_declares(text: &str, resource_type: &str, name: &str) -> bool {
    let Ok(value) = serde_json::from_str::<serde_json::Value>(text) else {
        return false;
    };
    let declares = |resource: &serde_json::Value| {
        resource
            .get(resource_type)
            .and_then(|t| t.get(name))
            .is_some()
    };
    match value.get("resource") {
        Some(serde_json::Value::Array(items)) => items.iter().any(declares),
        Some(resource) => declares(resource),
        None => false,
    }
}

/// One wanted value being placed in one file.
struct Cx<'a> {
    sources: &'a Sources,
    text: &'a str,
    base: usize,
    file: &'a Path,
    want: &'a Wanted,
    address: &'a str,
}

type Placed = Result<(Vec<Splice>, usize), Refusal>;

/// An assignment in a body or an object: where its key and value are.
struct Entry {
    key: Range<usize>,
    value: Range<usize>,
}

impl Cx<'_> {
    fn span(&self, item: &impl hcl_edit::Span) -> Range<usize> {
        item.span()
            .map_or(0..0, |s| self.base + s.start..self.base + s.end)
    }

    fn line(&self, at: usize) -> usize {
        line_of(self.text, at)
    }

    fn path(&self) -> String {
        self.want.path.clone()
    }

    fn shape(&self, at: usize, why: &'static str) -> Refusal {
        Refusal::Shape {
            path: self.path(),
            file: self.file.to_path_buf(),
            line: self.line(at),
            why,
        }
    }

    fn layout(&self, at: usize, why: &'static str) -> Refusal {
        Refusal::Layout {
            path: self.path(),
            file: self.file.to_path_buf(),
            line: self.line(at),
            why,
        }
    }

    fn no_such_path(&self) -> Refusal {
        Refusal::NoSuchPath {
            address: self.address.to_owned(),
            path: self.path(),
        }
    }

    fn rendered(&self) -> Result<Option<String>, Refusal> {
        match &self.want.value {
            NewValue::Set(value) => render::value(value, MAX_VALUE_DEPTH)
                .map(Some)
                .ok_or_else(|| Refusal::TooDeep { path: self.path() }),
            NewValue::Remove => Ok(None),
        }
    }

    fn in_block(&mut self, block: &Block, segs: &[SegmentBuf]) -> Placed {
        let Some(SegmentBuf::Key(name)) = segs.first() else {
            return Err(self.shape(
                self.span(block).start,
                "a block holds attributes and blocks, not elements",
            ));
        };
        let rest = &segs[1..];
        if let Some(attr) = block.body.get_attribute(name) {
            let entry = Entry {
                key: self.span(&attr.key),
                value: self.span(&attr.value),
            };
            return self.at_entry(&entry, &attr.value, rest);
        }
        if let Some(dynamic) = block
            .body
            .get_blocks("dynamic")
            .find(|b| b.labels.first().map(|l| l.as_str()) == Some(name))
        {
            let at = self.span(dynamic).start;
            return Err(Refusal::Dynamic {
                path: self.path(),
                block: name.clone(),
                file: self.file.to_path_buf(),
                line: self.line(at),
            });
        }
        let nested: Vec<&Block> = block.body.get_blocks(name).collect();
        if !nested.is_empty() {
            return match rest.split_first() {
                Some((SegmentBuf::Index(_), [])) => Err(self.shape(
                    self.span(nested[0]).start,
                    "a whole block is not adopted; adopt its attributes",
                )),
                Some((SegmentBuf::Index(i), rest)) => match nested.get(*i) {
                    Some(inner) => self.in_block(inner, rest),
                    None => Err(self.no_such_path()),
                },
                _ => Err(self.shape(
                    self.span(nested[0]).start,
                    "nested blocks are addressed by index, as in rule[0].port",
                )),
            };
        }
        match (rest.is_empty(), self.rendered()?) {
            (true, Some(value)) => {
                let entries: Vec<Entry> = block
                    .body
                    .attributes()
                    .map(|a| Entry {
                        key: self.span(&a.key),
                        value: self.span(&a.value),
                    })
                    .collect();
                let open = self.open_brace(self.span(block));
                self.add_entry(open, &entries, &render::key_for_attribute(name), &value)
            }
            _ => Err(self.no_such_path()),
        }
    }

    /// Where `{` of a block is (its body follows it).
    fn open_brace(&self, block: Range<usize>) -> usize {
        // Labels are quoted strings without braces in any real configuration; the first `{`
        // after the last label is the body's. Scan to it, skipping quoted text.
        let bytes = self.text.as_bytes();
        let mut i = block.start;
        let mut quoted = false;
        while i < block.end {
            match bytes[i] {
                b'"' => quoted = !quoted,
                b'\\' if quoted => i += 1,
                b'{' if !quoted => return i,
                _ => {}
            }
            i += 1;
        }
        block.start
    }

    /// The value at `expr` (an entry's value) and the path below it.
    fn at_entry(&mut self, entry: &Entry, expr: &Expression, rest: &[SegmentBuf]) -> Placed {
        if rest.is_empty() {
            return match self.rendered()? {
                Some(value) => {
                    self.literal(expr)?;
                    Ok((
                        vec![Splice {
                            range: entry.value.clone(),
                            text: value,
                        }],
                        entry.value.start,
                    ))
                }
                None => self.remove_lines(entry.key.start, entry.value.end),
            };
        }
        match expr {
            Expression::Object(object) => self.in_object(object, rest),
            Expression::Array(array) => {
                let Some((SegmentBuf::Index(i), below)) = rest.split_first() else {
                    return Err(self.shape(entry.value.start, "a list has elements, not keys"));
                };
                let items: Vec<&Expression> = array.iter().collect();
                match items.get(*i) {
                    Some(item) if below.is_empty() => self.at_element(array, &items, *i, item),
                    Some(item) => {
                        let span = self.span(*item);
                        self.at_entry(
                            &Entry {
                                key: span.clone(),
                                value: span,
                            },
                            item,
                            below,
                        )
                    }
                    None if *i == items.len() && below.is_empty() => self.append(array, &items),
                    None => Err(self.no_such_path()),
                }
            }
            Expression::Null(_)
            | Expression::Bool(_)
            | Expression::Number(_)
            | Expression::String(_) => {
                Err(self.shape(entry.value.start, "the value there is not a list or a map"))
            }
            other => Err(self.expression(other)),
        }
    }

    fn at_element(
        &mut self,
        array: &hcl_edit::expr::Array,
        items: &[&Expression],
        i: usize,
        item: &Expression,
    ) -> Placed {
        let span = self.span(item);
        match self.rendered()? {
            Some(value) => {
                self.literal(item)?;
                Ok((
                    vec![Splice {
                        range: span.clone(),
                        text: value,
                    }],
                    span.start,
                ))
            }
            None if i + 1 == items.len() => {
                let whole = self.span(array);
                if self.text[whole.clone()].contains('\n') {
                    return Err(self.layout(
                        span.start,
                        "only elements of a list written on one line are removed",
                    ));
                }
                let start = match i.checked_sub(1) {
                    Some(prev) => self.span(items[prev]).end,
                    None => whole.start + 1,
                };
                let end = if i == 0 { whole.end - 1 } else { span.end };
                Ok((
                    vec![Splice {
                        range: start..end,
                        text: String::new(),
                    }],
                    start,
                ))
            }
            None => Err(self.layout(
                span.start,
                "only the last element of a list is removed (the others would move)",
            )),
        }
    }

    fn append(&mut self, array: &hcl_edit::expr::Array, items: &[&Expression]) -> Placed {
        let whole = self.span(array);
        let Some(value) = self.rendered()? else {
            return Err(self.no_such_path());
        };
        if self.text[whole.clone()].contains('\n') {
            return Err(self.layout(
                whole.start,
                "elements are appended only to a list written on one line",
            ));
        }
        match items.last() {
            Some(last) => {
                let end = self.span(*last).end;
                Ok((
                    vec![Splice {
                        range: end..end,
                        text: format!(", {value}"),
                    }],
                    end + 2,
                ))
            }
            None => Ok((
                vec![Splice {
                    range: whole.clone(),
                    text: format!("[{value}]"),
                }],
                whole.start + 1,
            )),
        }
    }

    fn in_object(&mut self, object: &Object, rest: &[SegmentBuf]) -> Placed {
        let whole = self.span(object);
        let Some((SegmentBuf::Key(key), below)) = rest.split_first() else {
            return Err(self.shape(whole.start, "a map has keys, not elements"));
        };
        let mut entries = Vec::new();
        let mut found = None;
        for (k, v) in object.iter() {
            let name = match k {
                ObjectKey::Ident(ident) => ident.as_str().to_owned(),
                ObjectKey::Expression(Expression::String(s)) => s.as_str().to_owned(),
                ObjectKey::Expression(other) => return Err(self.expression(other)),
            };
            let entry = Entry {
                key: self.span(k),
                value: self.span(v.expr()),
            };
            if name == *key {
                found = Some((entries.len(), v.expr()));
            }
            entries.push(entry);
        }
        if let Some((index, expr)) = found {
            if below.is_empty() && matches!(self.want.value, NewValue::Remove) {
                return self.remove_entry(&entries, index);
            }
            return self.at_entry(&entries[index], expr, below);
        }
        match (below.is_empty(), self.rendered()?) {
            (true, Some(value)) => {
                let key = render::key(key);
                if !self.text[whole.clone()].contains('\n') {
                    return Ok(match entries.last() {
                        Some(last) => (
                            vec![Splice {
                                range: last.value.end..last.value.end,
                                text: format!(", {key} = {value}"),
                            }],
                            last.value.end + 2,
                        ),
                        None => (
                            vec![Splice {
                                range: whole.clone(),
                                text: format!("{{ {key} = {value} }}"),
                            }],
                            whole.start + 2,
                        ),
                    });
                }
                self.add_entry(whole.start, &entries, &key, &value)
            }
            _ => Err(self.no_such_path()),
        }
    }

    /// Refuses anything that is not a literal.
    fn literal(&self, expr: &Expression) -> Result<(), Refusal> {
        match first_non_literal(expr, MAX_VALUE_DEPTH) {
            None => Ok(()),
            Some(_) => Err(self.expression(expr)),
        }
    }

    fn expression(&self, expr: &Expression) -> Refusal {
        let span = self.span(expr);
        let kind = kind_of(expr);
        let origin = match &kind {
            ExpressionKind::Variable { name } => Some(origin::variable(self.sources, name)),
            ExpressionKind::Local { name } => origin::local(self.sources, name),
            _ => None,
        };
        Refusal::Expression {
            path: self.path(),
            file: self.file.to_path_buf(),
            line: self.line(span.start),
            expression: shorten(&self.text[span]),
            kind,
            origin: origin.map(Box::new),
        }
    }

    /// Removes whole lines from the one of `start` to the one of `end`, when nothing else is on
    /// them.
    fn remove_lines(&self, start: usize, end: usize) -> Placed {
        let line_start = self.text[..start].rfind('\n').map_or(0, |i| i + 1);
        let after = &self.text[end..];
        let line_end = after.find('\n').map_or(self.text.len(), |i| end + i + 1);
        let tail = self.text[end..line_end].trim_start_matches([' ', '\t', ',']);
        let tail_ok = tail.trim().is_empty() || tail.starts_with('#') || tail.starts_with("//");
        if !self.text[line_start..start].trim().is_empty() || !tail_ok {
            return Err(self.layout(start, "only a value on lines of its own is removed"));
        }
        Ok((
            vec![Splice {
                range: line_start..line_end,
                text: String::new(),
            }],
            line_start,
        ))
    }

    fn remove_entry(&self, entries: &[Entry], index: usize) -> Placed {
        let entry = &entries[index];
        let (mut splices, at) = self.remove_lines(entry.key.start, entry.value.end)?;
        // The entries around it close up into one aligned group: align it as fmt would.
        let before = self.group_before(&entries[..index], self.line(entry.key.start));
        let after = self.group_after(&entries[index + 1..], self.line(entry.value.end));
        let group: Vec<&Entry> = before.into_iter().chain(after).collect();
        if let Some(target) = group.iter().map(|e| self.column(e.key.end) + 1).max() {
            splices.extend(self.align(&group, target));
        }
        Ok((splices, at))
    }

    /// A new `key = value` line after the last entry (or after `open`, the `{`, when there are
    /// none), indented and aligned as its neighbours.
    fn add_entry(&self, open: usize, entries: &[Entry], key: &str, value: &str) -> Placed {
        let (insert, indent, group) = match entries.last() {
            Some(last) => {
                let line_start = self.text[..last.key.start].rfind('\n').map_or(0, |i| i + 1);
                let indent = self.text[line_start..last.key.start].to_owned();
                if !indent.trim().is_empty() {
                    return Err(self.layout(last.key.start, "the last entry shares its line"));
                }
                let Some(nl) = self.text[last.value.end..].find('\n') else {
                    return Err(self.layout(
                        last.value.end,
                        "the block does not end on a line of its own",
                    ));
                };
                let rest = self.text[last.value.end..last.value.end + nl]
                    .trim_start_matches([' ', '\t', ',']);
                if !(rest.trim().is_empty() || rest.starts_with('#') || rest.starts_with("//")) {
                    return Err(self.layout(
                        last.value.end,
                        "something follows the last entry on its line",
                    ));
                }
                let next_line = self.line(last.value.end) + 1;
                (
                    last.value.end + nl + 1,
                    indent,
                    self.group_before(entries, next_line),
                )
            }
            None => {
                let Some(nl) = self.text[open..].find('\n') else {
                    return Err(self.layout(open, "the block is written on one line"));
                };
                let line_start = self.text[..open].rfind('\n').map_or(0, |i| i + 1);
                let outer: String = self.text[line_start..]
                    .chars()
                    .take_while(|c| *c == ' ' || *c == '\t')
                    .collect();
                (open + nl + 1, format!("{outer}  "), Vec::new())
            }
        };
        let width = indent.chars().count() + key.chars().count();
        let column = group.iter().map(|e| self.column(self.equals(e))).max();
        let mut splices = Vec::new();
        let pad = match column {
            Some(column) if width < column => column - width,
            Some(_) => {
                splices.extend(self.align(&group, width + 1));
                1
            }
            None => 1,
        };
        splices.push(Splice {
            range: insert..insert,
            text: format!("{indent}{key}{}= {value}\n", " ".repeat(pad)),
        });
        Ok((splices, insert + indent.len() + key.len() + pad + 2))
    }

    /// The entries that end a run of one-line entries on consecutive lines, the last of which is
    /// on the line before `next_line`.
    fn group_before<'e>(&self, entries: &'e [Entry], mut next_line: usize) -> Vec<&'e Entry> {
        let mut group = Vec::new();
        for entry in entries.iter().rev() {
            let (first, last) = (self.line(entry.key.start), self.line(entry.value.end));
            if first != last || last + 1 != next_line {
                break;
            }
            group.push(entry);
            next_line = first;
        }
        group.reverse();
        group
    }

    fn group_after<'e>(&self, entries: &'e [Entry], mut prev_line: usize) -> Vec<&'e Entry> {
        let mut group = Vec::new();
        for entry in entries {
            let (first, last) = (self.line(entry.key.start), self.line(entry.value.end));
            if first != last || first != prev_line + 1 {
                break;
            }
            group.push(entry);
            prev_line = last;
        }
        group
    }

    /// Where the entry's `=` (or `:`) is.
    fn equals(&self, entry: &Entry) -> usize {
        self.text[entry.key.end..entry.value.start]
            .find(['=', ':'])
            .map_or(entry.key.end, |i| entry.key.end + i)
    }

    /// The 0-based column (in characters) of byte `at`.
    fn column(&self, at: usize) -> usize {
        let line_start = self.text[..at].rfind('\n').map_or(0, |i| i + 1);
        self.text[line_start..at].chars().count()
    }

    /// Whitespace between each key and its `=` so that every `=` is at `target`.
    fn align(&self, group: &[&Entry], target: usize) -> Vec<Splice> {
        group
            .iter()
            .filter_map(|entry| {
                let eq = self.equals(entry);
                let between = &self.text[entry.key.end..eq];
                if !between.trim().is_empty() {
                    return None;
                }
                let pad = target.saturating_sub(self.column(entry.key.end)).max(1);
                (between.len() != pad).then(|| Splice {
                    range: entry.key.end..eq,
                    text: " ".repeat(pad),
                })
            })
            .collect()
    }
}

/// The first part of `expr` that is not a literal (the expression itself at too deep a level).
fn first_non_literal(expr: &Expression, depth: usize) -> Option<&Expression> {
    if depth == 0 {
        return Some(expr);
    }
    match expr {
        Expression::Null(_)
        | Expression::Bool(_)
        | Expression::Number(_)
        | Expression::String(_) => None,
        Expression::Array(array) => array.iter().find_map(|e| first_non_literal(e, depth - 1)),
        Expression::Object(object) => object.iter().find_map(|(k, v)| match k {
            ObjectKey::Ident(_) | ObjectKey::Expression(Expression::String(_)) => {
                first_non_literal(v.expr(), depth - 1)
            }
            ObjectKey::Expression(other) => Some(other),
        }),
        other => Some(other),
    }
}

fn kind_of(expr: &Expression) -> ExpressionKind {
    match expr {
        Expression::Traversal(traversal) => match (
            &traversal.expr,
            traversal.operators.first().map(|o| o.value()),
        ) {
            (Expression::Variable(root), Some(TraversalOperator::GetAttr(attr))) => {
                match root.as_str() {
                    "var" => ExpressionKind::Variable {
                        name: attr.as_str().to_owned(),
                    },
                    "local" => ExpressionKind::Local {
                        name: attr.as_str().to_owned(),
                    },
                    _ => ExpressionKind::Reference,
                }
            }
            _ => ExpressionKind::Reference,
        },
        Expression::Variable(_) => ExpressionKind::Reference,
        Expression::FuncCall(call) => ExpressionKind::Function {
            name: call.name.name.as_str().to_owned(),
        },
        _ => ExpressionKind::Other,
    }
}

#[cfg(test)]
mod tests;

#[cfg(test)]
mod golden;
