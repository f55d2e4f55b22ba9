//! The template as a tree of nodes, read from YAML events (JSON text is YAML's flow style) or
//! from the CLI's decoded JSON, within the limits. An alias is the very node its anchor
//! names, not a copy, so the tree is a graph no bigger than the text (no billion laughs).

use std::collections::HashMap;

use yaml_rust2::parser::{Event, Parser, Tag};
use yaml_rust2::scanner::{Marker, ScanError, TScalarStyle};

use super::{Position, TemplateError, MAX_TEMPLATE_BYTES, MAX_TEMPLATE_DEPTH, MAX_TEMPLATE_NODES};

pub(super) type NodeId = usize;

pub(super) struct Tree {
    nodes: Vec<Node>,
    root: NodeId,
}

pub(super) struct Node {
    pub(super) value: Value,
    /// The intrinsic function a short-form tag names (`!Ref` is `Ref`, `!Sub` is `Fn::Sub`).
    pub(super) tag: Option<Box<str>>,
}

pub(super) enum Value {
    /// `plain` is an unquoted YAML scalar or a JSON null, boolean or number.
    Scalar {
        text: Box<str>,
        plain: bool,
    },
    Seq(Vec<NodeId>),
    Map(Vec<Entry>),
}

pub(super) struct Entry {
    pub(super) key: Box<str>,
    /// The key's 1-based line; 0 when read from decoded JSON.
    pub(super) line: u32,
    pub(super) value: NodeId,
}

impl Tree {
    pub(super) fn from_text(text: &str) -> Result<Tree, TemplateError> {
        if text.len() > MAX_TEMPLATE_BYTES {
            return Err(TemplateError::TooLarge { bytes: text.len() });
        }
        // Editors on Windows may start a file with a byte order mark; YAML would read it as
        // part of the first key.
        let text = text.strip_prefix('\u{feff}').unwrap_or(text);
        Tree::from_yaml(text).or_else(|err| match err {
            // JSON that YAML does not take (yaml-rust2 refuses escaped surrogate pairs, as
            // "\ud83d\ude00"): read as JSON, without lines.
            TemplateError::Syntax { .. } => match serde_json::from_str(text) {
                Ok(value) => Tree::from_json(&value),
                Err(_) => Err(err),
            },
            err => Err(err),
        })
    }

    fn from_yaml(text: &str) -> Result<Tree, TemplateError> {
        let mut builder = Builder::default();
        let mut parser = Parser::new_from_str(text);
        let mut documents = 0;
        loop {
            let (event, mark) = parser.next_token().map_err(syntax_error)?;
            match event {
                Event::StreamEnd => break,
                Event::StreamStart | Event::DocumentEnd | Event::Nothing => {}
                Event::DocumentStart => {
                    documents += 1;
                    if documents > 1 {
                        return Err(invalid("holds more than one YAML document", mark));
                    }
                }
                Event::Alias(anchor) => {
                    builder.count(mark)?;
                    // An anchor is known once its node is complete: an alias inside the node
                    // it names would make the tree endless.
                    let id = *builder
                        .anchors
                        .get(&anchor)
                        .ok_or_else(|| invalid("has an alias inside the node it names", mark))?;
                    builder.attach(id, mark)?;
                }
                Event::Scalar(text, style, anchor, tag) => {
                    builder.count(mark)?;
                    let plain = style == TScalarStyle::Plain && tag.is_none();
                    let value = Value::Scalar {
                        text: text.into(),
                        plain,
                    };
                    let id = builder.push(value, tag.as_ref().and_then(function_of_tag), 0);
                    builder.complete(id, anchor, mark)?;
                }
                Event::SequenceStart(anchor, tag) => builder.open(anchor, tag, false, mark)?,
                Event::MappingStart(anchor, tag) => builder.open(anchor, tag, true, mark)?,
                Event::SequenceEnd | Event::MappingEnd => builder.close(mark)?,
            }
        }
        match builder.root {
            Some(root) => Ok(Tree {
                nodes: builder.nodes,
                root,
            }),
            None => Err(TemplateError::Invalid {
                problem: "holds no document",
                position: None,
            }),
        }
    }

    /// A template the CLI decoded from JSON. serde_json bounds the nesting of what it parses;
    /// this bounds a value built any other way too.
    pub(super) fn from_json(value: &serde_json::Value) -> Result<Tree, TemplateError> {
        let mut builder = JsonBuilder::default();
        let root = builder.node(value, 0)?;
        Ok(Tree {
            nodes: builder.nodes,
            root,
        })
    }

    pub(super) fn root(&self) -> NodeId {
        self.root
    }

    pub(super) fn len(&self) -> usize {
        self.nodes.len()
    }

    pub(super) fn node(&self, id: NodeId) -> &Node {
        &self.nodes[id]
    }

    pub(super) fn scalar(&self, id: NodeId) -> Option<&str> {
        match &self.nodes[id].value {
            Value::Scalar { text, .. } => Some(text),
            _ => None,
        }
    }

    /// An absent value: `null`, `~` or nothing, unquoted and untagged.
    pub(super) fn is_null(&self, id: NodeId) -> bool {
        match &self.nodes[id].value {
            Value::Scalar { text, plain: true } => {
                matches!(&**text, "" | "~" | "null" | "Null" | "NULL")
            }
            _ => false,
        }
    }

    pub(super) fn entries(&self, id: NodeId) -> Option<&[Entry]> {
        match &self.nodes[id].value {
            Value::Map(entries) => Some(entries),
            _ => None,
        }
    }

    /// The values of a mapping's entries named `key` (a key may be written twice).
    pub(super) fn entries_named<'t>(
        &'t self,
        id: NodeId,
        key: &'t str,
    ) -> impl Iterator<Item = NodeId> + 't {
        self.entries(id)
            .unwrap_or_default()
            .iter()
            .filter(move |entry| &*entry.key == key)
            .map(|entry| entry.value)
    }

    /// The intrinsic function a node is, with its argument: a tagged node (its own content
    /// is the argument) or a mapping of one key, `Ref`, `Condition` or `Fn::…`.
    pub(super) fn function(&self, id: NodeId) -> Option<(&str, NodeId)> {
        let node = &self.nodes[id];
        if let Some(name) = &node.tag {
            return Some((name, id));
        }
        match &node.value {
            Value::Map(entries) => match entries.as_slice() {
                [entry] if is_function_name(&entry.key) => Some((&entry.key, entry.value)),
                _ => None,
            },
            _ => None,
        }
    }
}

impl Tree {
    /// The long-form function a short-form tag's mapping is (`!Base64 {Fn::Sub: …}`): the
    /// tagged node is both.
    pub(super) fn inner_function(&self, id: NodeId) -> Option<(&str, NodeId)> {
        let node = &self.nodes[id];
        node.tag.as_ref()?;
        match &node.value {
            Value::Map(entries) => match entries.as_slice() {
                [entry] if is_function_name(&entry.key) => Some((&entry.key, entry.value)),
                _ => None,
            },
            _ => None,
        }
    }
}

fn is_function_name(key: &str) -> bool {
    key == "Ref" || key == "Condition" || key.starts_with("Fn::")
}

/// The function a short-form tag stands for. YAML's own tags (`!!str`) and the non-specific
/// `!` are plain data; a tag of any other handle is a function of no known kind.
fn function_of_tag(tag: &Tag) -> Option<Box<str>> {
    match (tag.handle.as_str(), tag.suffix.as_str()) {
        ("tag:yaml.org,2002:", _) | ("", "!") => None,
        ("!", name @ ("Ref" | "Condition")) => Some(name.into()),
        ("!", name) => Some(format!("Fn::{name}").into()),
        (handle, suffix) => Some(format!("{handle}{suffix}").into()),
    }
}

#[derive(Default)]
struct Builder {
    nodes: Vec<Node>,
    /// Per node, the levels of mappings and sequences at and under it, through aliases.
    heights: Vec<usize>,
    anchors: HashMap<usize, NodeId>,
    stack: Vec<Open>,
    root: Option<NodeId>,
    events: usize,
}

/// A mapping or sequence being read.
struct Open {
    anchor: usize,
    tag: Option<Box<str>>,
    height: usize,
    content: Content,
}

enum Content {
    Seq(Vec<NodeId>),
    /// A mapping's entries, and its key (with its line) awaiting a value.
    Map(Vec<Entry>, Option<(Box<str>, u32)>),
}

impl Builder {
    fn count(&mut self, mark: Marker) -> Result<(), TemplateError> {
        self.events += 1;
        if self.events > MAX_TEMPLATE_NODES {
            return Err(TemplateError::TooManyNodes {
                position: Some(position(mark)),
            });
        }
        Ok(())
    }

    fn push(&mut self, value: Value, tag: Option<Box<str>>, height: usize) -> NodeId {
        self.nodes.push(Node { value, tag });
        self.heights.push(height);
        self.nodes.len() - 1
    }

    fn open(
        &mut self,
        anchor: usize,
        tag: Option<Tag>,
        is_map: bool,
        mark: Marker,
    ) -> Result<(), TemplateError> {
        self.count(mark)?;
        if self.stack.len() >= MAX_TEMPLATE_DEPTH {
            return Err(TemplateError::TooDeep {
                position: Some(position(mark)),
            });
        }
        self.stack.push(Open {
            anchor,
            tag: tag.as_ref().and_then(function_of_tag),
            height: 0,
            content: if is_map {
                Content::Map(Vec::new(), None)
            } else {
                Content::Seq(Vec::new())
            },
        });
        Ok(())
    }

    fn close(&mut self, mark: Marker) -> Result<(), TemplateError> {
        let open = self
            .stack
            .pop()
            .ok_or_else(|| invalid("ends a collection it never began", mark))?;
        let value = match open.content {
            Content::Map(entries, _) => Value::Map(entries),
            Content::Seq(items) => Value::Seq(items),
        };
        let id = self.push(value, open.tag, open.height + 1);
        self.complete(id, open.anchor, mark)
    }

    /// A node is read: its anchor now names it, and it joins its parent.
    fn complete(&mut self, id: NodeId, anchor: usize, mark: Marker) -> Result<(), TemplateError> {
        if anchor != 0 {
            self.anchors.insert(anchor, id);
        }
        self.attach(id, mark)
    }

    fn attach(&mut self, id: NodeId, mark: Marker) -> Result<(), TemplateError> {
        let (node, height) = (&self.nodes[id], self.heights[id]);
        let Some(parent) = self.stack.last_mut() else {
            self.root = Some(id);
            return Ok(());
        };
        // An alias deepens its parent by all it names.
        if height >= MAX_TEMPLATE_DEPTH {
            return Err(TemplateError::TooDeep {
                position: Some(position(mark)),
            });
        }
        parent.height = parent.height.max(height);
        match &mut parent.content {
            Content::Seq(items) => items.push(id),
            Content::Map(entries, key) => match key.take() {
                Some((key, line)) => entries.push(Entry {
                    key,
                    line,
                    value: id,
                }),
                None => match &node.value {
                    Value::Scalar { text, .. } => {
                        let line = u32::try_from(mark.line()).unwrap_or(u32::MAX);
                        *key = Some((text.clone(), line));
                    }
                    _ => return Err(invalid("has a mapping key that is not a scalar", mark)),
                },
            },
        }
        Ok(())
    }
}

#[derive(Default)]
struct JsonBuilder {
    nodes: Vec<Node>,
    bytes: usize,
}

impl JsonBuilder {
    fn node(&mut self, value: &serde_json::Value, depth: usize) -> Result<NodeId, TemplateError> {
        use serde_json::Value as Json;
        if self.nodes.len() >= MAX_TEMPLATE_NODES {
            return Err(TemplateError::TooManyNodes { position: None });
        }
        let scalar = |text: String, plain: bool| Value::Scalar {
            text: text.into(),
            plain,
        };
        let value = match value {
            Json::Null => scalar("null".to_owned(), true),
            Json::Bool(value) => scalar(value.to_string(), true),
            Json::Number(value) => scalar(value.to_string(), true),
            Json::String(text) => {
                self.add_bytes(text.len())?;
                scalar(text.clone(), false)
            }
            Json::Array(items) => {
                self.descend(depth)?;
                let items = items
                    .iter()
                    .map(|item| self.node(item, depth + 1))
                    .collect::<Result<_, _>>()?;
                Value::Seq(items)
            }
            Json::Object(map) => {
                self.descend(depth)?;
                let mut entries = Vec::with_capacity(map.len());
                for (key, value) in map {
                    self.add_bytes(key.len())?;
                    entries.push(Entry {
                        key: key.as_str().into(),
                        line: 0,
                        value: self.node(value, depth + 1)?,
                    });
                }
                Value::Map(entries)
            }
        };
        self.nodes.push(Node { value, tag: None });
        Ok(self.nodes.len() - 1)
    }

    fn descend(&self, depth: usize) -> Result<(), TemplateError> {
        if depth >= MAX_TEMPLATE_DEPTH {
            return Err(TemplateError::TooDeep { position: None });
        }
        Ok(())
    }

    fn add_bytes(&mut self, bytes: usize) -> Result<(), TemplateError> {
        self.bytes = self.bytes.saturating_add(bytes);
        if self.bytes > MAX_TEMPLATE_BYTES {
            return Err(TemplateError::TooLarge { bytes: self.bytes });
        }
        Ok(())
    }
}

fn position(mark: Marker) -> Position {
    Position {
        line: mark.line(),
        column: mark.col() + 1,
    }
}

fn invalid(problem: &'static str, mark: Marker) -> TemplateError {
    TemplateError::Invalid {
        problem,
        position: Some(position(mark)),
    }
}

fn syntax_error(err: ScanError) -> TemplateError {
    TemplateError::Syntax {
        position: position(*err.marker()),
        reason: reason_without_content(err.info()),
    }
}

/// The words yaml-rust2's messages are made of. A message of these words alone quotes no
/// template content (one does quote a character, in backticks): it is shown as it is.
const MESSAGE_WORDS: &str = "\
    a after alias allowed alphabetic alphabetical an anchor are as at be before block break \
    by cannot character code codepoint collection comment construct content context could \
    declared did digit directive disallowed document double duplicate duplicated end entry \
    eof equal escape escaped expected explicit extremely find flow followed for found given \
    handle hexadecimal illegal in incompatible incorrect indentation indicator invalid is \
    key keys leading line long mapping marker missing most must name node non not number \
    numeric octet of once only or parsing per placement plain quoted same scalar scanning \
    sequence simple start stream t tab tabs tag the this to trailing unexpected unicode \
    unknown uri used utf valid value values verbatim version wasn while whitespace with \
    within yaml 0 8";

pub(super) fn reason_without_content(info: &str) -> String {
    let known = !info.contains('`')
        && info
            .split(|c: char| !c.is_ascii_alphanumeric())
            .filter(|word| !word.is_empty())
            .all(|word| {
                MESSAGE_WORDS
                    .split_ascii_whitespace()
                    .any(|known| known.eq_ignore_ascii_case(word))
            });
    if known && info.is_ascii() {
        info.to_owned()
    } else {
        "the YAML parser stopped here".to_owned()
    }
}
