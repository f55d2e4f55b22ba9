//! Where a wanted value goes: the resource block, then the path inside it, down to the
//! splices that write (or remove) the value.

use std::collections::BTreeMap;
use std::ops::Range;
use std::path::{Path, PathBuf};

use hcl_edit::expr::{Expression, Object, ObjectKey, TraversalOperator};
use hcl_edit::structure::Block;

use super::splice::{Plan, Splice};
use super::{
    current_text, line_of, parse, render, shorten, ExpressionKind, NewValue, Refusal, Sources,
    Wanted, MAX_VALUE_DEPTH,
};
use crate::adopt::origin;
use crate::drift::path::SegmentBuf;

pub(super) fn plan(
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

pub(super) fn json_declares(text: &str, resource_type: &str, name: &str) -> bool {
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
pub(super) struct Cx<'a> {
    pub(super) sources: &'a Sources,
    pub(super) text: &'a str,
    pub(super) base: usize,
    pub(super) file: &'a Path,
    pub(super) want: &'a Wanted,
    pub(super) address: &'a str,
}

pub(super) type Placed = Result<(Vec<Splice>, usize), Refusal>;

/// An assignment in a body or an object: where its key and value are.
pub(super) struct Entry {
    pub(super) key: Range<usize>,
    pub(super) value: Range<usize>,
}

impl Cx<'_> {
    pub(super) fn span(&self, item: &impl hcl_edit::Span) -> Range<usize> {
        item.span()
            .map_or(0..0, |s| self.base + s.start..self.base + s.end)
    }

    pub(super) fn line(&self, at: usize) -> usize {
        line_of(self.text, at)
    }

    pub(super) fn path(&self) -> String {
        self.want.path.clone()
    }

    pub(super) fn shape(&self, at: usize, why: &'static str) -> Refusal {
        Refusal::Shape {
            path: self.path(),
            file: self.file.to_path_buf(),
            line: self.line(at),
            why,
        }
    }

    pub(super) fn layout(&self, at: usize, why: &'static str) -> Refusal {
        Refusal::Layout {
            path: self.path(),
            file: self.file.to_path_buf(),
            line: self.line(at),
            why,
        }
    }

    pub(super) fn no_such_path(&self) -> Refusal {
        Refusal::NoSuchPath {
            address: self.address.to_owned(),
            path: self.path(),
        }
    }

    pub(super) fn rendered(&self) -> Result<Option<String>, Refusal> {
        match &self.want.value {
            NewValue::Set(value) => render::value(value, MAX_VALUE_DEPTH)
                .map(Some)
                .ok_or_else(|| Refusal::TooDeep { path: self.path() }),
            NewValue::Remove => Ok(None),
        }
    }

    pub(super) fn in_block(&mut self, block: &Block, segs: &[SegmentBuf]) -> Placed {
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
    pub(super) fn open_brace(&self, block: Range<usize>) -> usize {
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
    pub(super) fn at_entry(
        &mut self,
        entry: &Entry,
        expr: &Expression,
        rest: &[SegmentBuf],
    ) -> Placed {
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

    pub(super) fn at_element(
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

    pub(super) fn append(
        &mut self,
        array: &hcl_edit::expr::Array,
        items: &[&Expression],
    ) -> Placed {
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

    pub(super) fn in_object(&mut self, object: &Object, rest: &[SegmentBuf]) -> Placed {
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
    pub(super) fn literal(&self, expr: &Expression) -> Result<(), Refusal> {
        match first_non_literal(expr, MAX_VALUE_DEPTH) {
            None => Ok(()),
            Some(_) => Err(self.expression(expr)),
        }
    }

    pub(super) fn expression(&self, expr: &Expression) -> Refusal {
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
