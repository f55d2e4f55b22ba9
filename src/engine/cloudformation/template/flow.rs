//! Which values of a template carry a secret. A value carries one when anything it is made of
//! is a secret (a secure dynamic reference, a secret parameter's `Ref` or `${Name}`, a
//! `Fn::Transform`, a Join or Sub that may spell a secure reference), or when it names
//! something that carries one: a parameter whose declaration does, a resource whose
//! properties do (`Ref`, `Fn::GetAtt`, `${Name.Attribute}`: conservatively, any attribute of
//! it, a nested stack's `Outputs.*` included), the mappings (`Fn::FindInMap` may pick any
//! value of them).
//!
//! Resources name each other, in cycles too where the template is not what CloudFormation
//! takes, and aliases share nodes: so this is reachability in a graph, found backwards from
//! the secrets with each vertex seen once.

use std::collections::{BTreeSet, HashMap};

use super::spelling::{sub_pieces, Spelling, SubPiece};
use super::tree::{NodeId, Tree, Value};
use super::MAX_TEMPLATE_BYTES;

/// Characters and pieces read for assembled references, in all; past it every further Join
/// and Sub carries a secret. Aliases could otherwise make the reading endless.
const SPELLING_BUDGET: usize = 8 * MAX_TEMPLATE_BYTES;

/// What the template declares, for the graph.
pub(super) struct Sources<'a, 't> {
    /// Each parameter's declaration, by name (a name may be declared twice).
    pub(super) parameters: &'a [(&'t str, NodeId)],
    /// The parameters whose values are secrets (declared `NoEcho`, or passed one by a parent).
    pub(super) secret_parameters: &'a BTreeSet<String>,
    /// Each resource's declaration, by logical id.
    pub(super) resources: &'a [(&'t str, NodeId)],
    /// The `Mappings` sections.
    pub(super) mappings: &'a [NodeId],
}

/// Per node of the tree: whether its value carries a secret.
pub(super) fn carrying(tree: &Tree, sources: &Sources<'_, '_>) -> Vec<bool> {
    let mut resources: HashMap<&str, usize> = HashMap::new();
    let mut declarations: Vec<Vec<NodeId>> = Vec::new();
    for &(logical_id, declaration) in sources.resources {
        let index = *resources.entry(logical_id).or_insert_with(|| {
            declarations.push(Vec::new());
            declarations.len() - 1
        });
        declarations[index].push(declaration);
    }
    let mut parameters: HashMap<&str, Vec<NodeId>> = HashMap::new();
    for &(name, declaration) in sources.parameters {
        parameters.entry(name).or_default().push(declaration);
    }
    let nodes = tree.len();
    let vertices = nodes + declarations.len() + 1;
    let mut graph = Graph {
        tree,
        secret_parameters: sources.secret_parameters,
        parameters,
        resources,
        mappings: sources.mappings,
        mappings_vertex: vertices - 1,
        edges: Vec::new(),
        secret: vec![false; vertices],
        braced: vec![None; nodes],
        raw_braced: vec![None; nodes],
        budget: SPELLING_BUDGET,
    };
    for id in 0..nodes {
        graph.node(id);
    }
    for (index, declarations) in declarations.iter().enumerate() {
        graph.resource(nodes + index, declarations);
    }
    for &mappings in sources.mappings {
        graph.edge(graph.mappings_vertex, mappings);
    }
    let mut carrying = graph.mark();
    carrying.truncate(nodes);
    carrying
}

/// Vertices are the tree's nodes, then one per resource, then one for all the mappings.
struct Graph<'a, 't> {
    tree: &'t Tree,
    secret_parameters: &'a BTreeSet<String>,
    parameters: HashMap<&'t str, Vec<NodeId>>,
    resources: HashMap<&'t str, usize>,
    mappings: &'a [NodeId],
    mappings_vertex: usize,
    /// `(from, to)`: `from` carries a secret if `to` does.
    edges: Vec<(usize, usize)>,
    /// The vertices that are a secret themselves.
    secret: Vec<bool>,
    /// Per node: whether its value may hold a brace from the template.
    braced: Vec<Option<bool>>,
    /// Per node: whether any text under it holds a brace, functions or not.
    raw_braced: Vec<Option<bool>>,
    budget: usize,
}

impl Graph<'_, '_> {
    fn edge(&mut self, from: usize, to: usize) {
        self.edges.push((from, to));
    }

    fn node(&mut self, id: NodeId) {
        let tree = self.tree;
        match &tree.node(id).value {
            Value::Scalar { text, .. } => self.secret[id] |= is_secure_dynamic_reference(text),
            Value::Seq(items) => {
                for &item in items {
                    self.edge(id, item);
                }
            }
            Value::Map(entries) => {
                for entry in entries {
                    self.edge(id, entry.value);
                }
            }
        }
        if let Some((name, argument)) = tree.function(id) {
            self.function(id, name, argument);
        }
        if let Some((name, argument)) = tree.inner_function(id) {
            self.function(id, name, argument);
        }
    }

    /// What the function itself brings in; its arguments are linked as any node's content.
    fn function(&mut self, id: NodeId, name: &str, argument: NodeId) {
        let tree = self.tree;
        match name {
            "Ref" => match tree.scalar(argument) {
                Some(name) => self.named(id, name.trim()),
                // CloudFormation takes only a name: in doubt, a secret.
                None => self.secret[id] = true,
            },
            "Fn::GetAtt" => match self.get_att_resource(id, argument) {
                Some(name) => {
                    if let Some(&resource) = self.resources.get(name) {
                        self.edge(id, tree.len() + resource);
                    }
                }
                None => self.secret[id] = true,
            },
            "Fn::Sub" => {
                let carries = self.sub_carries(id, argument);
                self.secret[id] |= carries;
            }
            "Fn::Join" => {
                let carries = self.join_carries(id, argument);
                self.secret[id] |= carries;
            }
            "Fn::FindInMap" => self.edge(id, self.mappings_vertex),
            // Whatever a macro makes of it is unknown.
            "Fn::Transform" => self.secret[id] = true,
            _ => {}
        }
    }

    /// `Ref Name` or `${Name}`: a secret parameter, a parameter's declaration, a resource.
    fn named(&mut self, id: NodeId, name: &str) {
        if self.secret_parameters.contains(name) {
            self.secret[id] = true;
        }
        if let Some(declarations) = self.parameters.get(name).cloned() {
            for declaration in declarations {
                self.edge(id, declaration);
            }
        }
        if let Some(&resource) = self.resources.get(name) {
            self.edge(id, self.tree.len() + resource);
        }
    }

    /// `A.B` or `[A, B]`: `A`, when written out.
    fn get_att_resource(&self, id: NodeId, argument: NodeId) -> Option<&str> {
        let tree = self.tree;
        let name = match &tree.node(argument).value {
            Value::Scalar { text, .. } => text.split('.').next().unwrap_or(text),
            Value::Seq(items) if self.is_own_content(id, argument) => {
                literal(tree, *items.first()?)?
            }
            _ => return None,
        };
        Some(name.trim())
    }

    /// A function's argument that is plain content: its own (a short-form tag), or no
    /// function of its own.
    fn is_own_content(&self, id: NodeId, argument: NodeId) -> bool {
        argument == id || self.tree.function(argument).is_none()
    }

    fn resource(&mut self, vertex: usize, declarations: &[NodeId]) {
        let tree = self.tree;
        for &declaration in declarations {
            if tree.entries(declaration).is_none() || tree.function(declaration).is_some() {
                // Not a declaration CloudFormation takes: in doubt, all of it is secret.
                self.secret[vertex] = true;
                continue;
            }
            for properties in tree.entries_named(declaration, "Properties") {
                if tree.is_null(properties) {
                    continue;
                }
                if tree.entries(properties).is_some() || tree.function(properties).is_some() {
                    self.edge(vertex, properties);
                } else {
                    self.secret[vertex] = true;
                }
            }
        }
    }

    /// Whether the Sub brings a secret in: it names a secret parameter, its text may spell a
    /// secure reference, or a variable's value may hold a brace. Names are linked.
    fn sub_carries(&mut self, id: NodeId, argument: NodeId) -> bool {
        let tree = self.tree;
        let (template, variables) = match &tree.node(argument).value {
            Value::Scalar { .. } if self.is_own_content(id, argument) => (argument, None),
            Value::Seq(items) if self.is_own_content(id, argument) => match items.as_slice() {
                [template] => (*template, None),
                [template, variables] => (*template, Some(*variables)),
                _ => return true,
            },
            _ => return true,
        };
        // A short-form `!Sub 'text'` is a function itself.
        let text = if template == id {
            tree.scalar(template)
        } else {
            literal(tree, template)
        };
        let Some(text) = text else {
            return true;
        };
        if !self.charge(text.len()) {
            return true;
        }
        let mut carries = variables.is_some_and(|variables| self.braced(variables));
        let mut spelling = Spelling::default();
        for piece in sub_pieces(text) {
            match piece {
                SubPiece::Text(text) => spelling.text(text),
                SubPiece::Variable(name) => {
                    let base = name.split('.').next().unwrap_or(name).trim();
                    self.named(id, name);
                    carries |= self.parameter_braced(name);
                    if base != name {
                        self.named(id, base);
                        carries |= self.parameter_braced(base);
                    }
                    spelling.gap();
                }
            }
        }
        carries || spelling.found()
    }

    /// Whether `[Delimiter, [Pieces…]]` may spell a secure reference, or holds a computed
    /// piece that may hold a brace.
    fn join_carries(&mut self, id: NodeId, argument: NodeId) -> bool {
        let tree = self.tree;
        let (delimiter, list) = match &tree.node(argument).value {
            Value::Seq(items) if self.is_own_content(id, argument) => match items.as_slice() {
                [delimiter, list] => (*delimiter, *list),
                _ => return true,
            },
            _ => return true,
        };
        let delimiter_text = literal(tree, delimiter);
        if delimiter_text.is_none() && self.braced(delimiter) {
            return true;
        }
        let pieces = match &tree.node(list).value {
            Value::Seq(items) if tree.function(list).is_none() => items,
            // A computed list: one gap, with the delimiter inside it.
            _ => {
                return self.braced(list) || delimiter_text.is_some_and(|d| d.contains('{'));
            }
        };
        let cost = pieces.iter().fold(pieces.len(), |cost, &piece| {
            let text = literal(tree, piece).unwrap_or_default();
            cost.saturating_add(text.len() + delimiter_text.unwrap_or_default().len())
        });
        if !self.charge(cost) {
            return true;
        }
        let mut spelling = Spelling::default();
        for (index, &piece) in pieces.iter().enumerate() {
            if index > 0 {
                match delimiter_text {
                    Some(text) => spelling.text(text),
                    None => spelling.gap(),
                }
            }
            match literal(tree, piece) {
                Some(text) => spelling.text(text),
                None if self.braced(piece) => return true,
                None => spelling.gap(),
            }
        }
        spelling.found()
    }

    fn charge(&mut self, cost: usize) -> bool {
        match self.budget.checked_sub(cost) {
            Some(left) => {
                self.budget = left;
                true
            }
            None => {
                self.budget = 0;
                false
            }
        }
    }

    /// Whether the node's value may hold a brace the template spells: text of its own, a
    /// parameter's declaration, the mappings. Values from outside (parameter values given
    /// at deployment, resource attributes, imports) are not known.
    fn braced(&mut self, id: NodeId) -> bool {
        if let Some(known) = self.braced[id] {
            return known;
        }
        let tree = self.tree;
        let braced = match tree.function(id) {
            Some(("Ref", argument)) => match tree.scalar(argument) {
                Some(name) => self.parameter_braced(name.trim()),
                None => self.raw_braced(id),
            },
            Some(("Fn::Sub", argument)) => self.sub_braced(id, argument),
            Some(("Fn::FindInMap", _)) => {
                self.raw_braced(id) || self.mappings.iter().any(|&m| self.raw_braced(m))
            }
            _ => match &tree.node(id).value {
                Value::Scalar { text, .. } => text.contains('{'),
                Value::Seq(items) => items.iter().any(|&item| self.braced(item)),
                Value::Map(entries) => entries.iter().any(|entry| self.braced(entry.value)),
            },
        };
        self.braced[id] = Some(braced);
        braced
    }

    fn sub_braced(&mut self, id: NodeId, argument: NodeId) -> bool {
        let tree = self.tree;
        let (template, variables) = match &tree.node(argument).value {
            Value::Scalar { .. } => (argument, None),
            Value::Seq(items) => (items.first().copied().unwrap_or(argument), items.get(1)),
            Value::Map(_) => return self.raw_braced(id),
        };
        let Some(text) = literal(tree, template).or_else(|| tree.scalar(template)) else {
            return self.raw_braced(id);
        };
        if variables.is_some_and(|&variables| self.braced(variables)) {
            return true;
        }
        sub_pieces(text).into_iter().any(|piece| match piece {
            SubPiece::Text(text) => text.contains('{'),
            SubPiece::Variable(name) => {
                let base = name.split('.').next().unwrap_or(name).trim();
                self.parameter_braced(name) || self.parameter_braced(base)
            }
        })
    }

    fn parameter_braced(&mut self, name: &str) -> bool {
        let declarations = self.parameters.get(name).cloned().unwrap_or_default();
        declarations
            .into_iter()
            .any(|declaration| self.raw_braced(declaration))
    }

    fn raw_braced(&mut self, id: NodeId) -> bool {
        if let Some(known) = self.raw_braced[id] {
            return known;
        }
        let braced = match &self.tree.node(id).value {
            Value::Scalar { text, .. } => text.contains('{'),
            Value::Seq(items) => items.iter().any(|&item| self.raw_braced(item)),
            Value::Map(entries) => entries.iter().any(|entry| self.raw_braced(entry.value)),
        };
        self.raw_braced[id] = Some(braced);
        braced
    }

    /// Every vertex a secret is reachable from.
    fn mark(self) -> Vec<bool> {
        let vertices = self.secret.len();
        // Edges reversed, grouped by target: `starts[to]..starts[to + 1]` index `from_of`.
        let mut starts = vec![0usize; vertices + 1];
        for &(_, to) in &self.edges {
            starts[to + 1] += 1;
        }
        for vertex in 0..vertices {
            starts[vertex + 1] += starts[vertex];
        }
        let mut filled = starts.clone();
        let mut from_of = vec![0usize; self.edges.len()];
        for &(from, to) in &self.edges {
            from_of[filled[to]] = from;
            filled[to] += 1;
        }
        let mut marked = self.secret;
        let mut pending: Vec<usize> = (0..vertices).filter(|&v| marked[v]).collect();
        while let Some(vertex) = pending.pop() {
            for &from in &from_of[starts[vertex]..starts[vertex + 1]] {
                if !marked[from] {
                    marked[from] = true;
                    pending.push(from);
                }
            }
        }
        marked
    }
}

/// Text written out: a scalar that is no function.
fn literal(tree: &Tree, id: NodeId) -> Option<&str> {
    if tree.function(id).is_some() {
        return None;
    }
    tree.scalar(id)
}

/// A secure dynamic reference: `{{resolve:` of any service but plain `ssm:` (also a partial
/// one, as `Fn::Join` and `Fn::Sub` build them).
pub(super) fn is_secure_dynamic_reference(text: &str) -> bool {
    const RESOLVE: &str = "{{resolve:";
    if !text.contains("{{") {
        return false;
    }
    let lower = text.to_ascii_lowercase();
    lower
        .match_indices(RESOLVE)
        .any(|(at, _)| !lower[at + RESOLVE.len()..].starts_with("ssm:"))
}
