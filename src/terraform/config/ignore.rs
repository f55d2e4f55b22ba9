//! `lifecycle { ignore_changes = ... }`, read the way terraform reads it, so drift in an
//! attribute terraform is told to ignore can be told apart from drift it would act on.

use std::path::Path;

use hcl_edit::expr::{Expression, TraversalOperator};
use hcl_edit::structure::{Attribute, Block};
use hcl_edit::{Number, Span as _};

use super::{LineIndex, SourceLocation};
use crate::drift::path::Segment;

/// One step of an `ignore_changes` path: `tags["env"]` is [Key("tags"), Key("env")],
/// `rule[0].port` is [Key("rule"), Index(0), Key("port")], `tags.env` is [Key("tags"), Key("env")].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IgnoreStep {
    /// An attribute name or a string index.
    Key(String),
    /// A number index (`[0]`, or the legacy `.0`).
    Index(u64),
}

/// A resource's `lifecycle { ignore_changes = ... }`, as declared.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IgnoreChanges {
    /// `ignore_changes = all`.
    pub all: bool,
    /// The listed attribute paths (empty when `all`).
    pub paths: Vec<Vec<IgnoreStep>>,
    /// Where the `ignore_changes` argument is written (its first line), so a report can point
    /// at the line that makes terraform ignore the drift. Always `exact`.
    pub at: SourceLocation,
}

impl IgnoreChanges {
    /// Whether a changed attribute at `path` is covered: `all`, or one listed path is a prefix
    /// of `path` (ignoring an attribute ignores everything inside it). A number step and a key
    /// of its decimal digits match, as paths into maps and lists are written either way.
    pub fn covers(&self, path: &[Segment<'_>]) -> bool {
        self.all
            || self.paths.iter().any(|ignored| {
                ignored.len() <= path.len()
                    && ignored
                        .iter()
                        .zip(path)
                        .all(|(step, segment)| step.matches(segment))
            })
    }

    /// Applies an override file's `ignore_changes` to the primary's, as terraform merges
    /// lifecycles: a set argument replaces the primary's, except that terraform never clears an
    /// `all`, which then still wins over the override's list.
    pub(super) fn merge(primary: &mut Option<IgnoreChanges>, over: Option<IgnoreChanges>) {
        let Some(over) = over else {
            return;
        };
        match primary {
            Some(kept) if kept.all && !over.all => {}
            _ => *primary = Some(over),
        }
    }
}

impl IgnoreStep {
    fn matches(&self, segment: &Segment<'_>) -> bool {
        match (self, segment) {
            (IgnoreStep::Key(key), Segment::Key(other)) => key == other,
            (IgnoreStep::Index(index), Segment::Index(other)) => {
                u64::try_from(*other).is_ok_and(|other| other == *index)
            }
            // Terraform does not cross them either: a number step into a map (`tags[10]`)
            // ignores nothing. Erring here could only hide drift.
            (IgnoreStep::Index(_), Segment::Key(_)) | (IgnoreStep::Key(_), Segment::Index(_)) => {
                false
            }
        }
    }
}

const NOT_STATIC: &str = "only attribute names and constant indexes are allowed";
const SPLAT: &str = "splat expressions are not allowed";
const BAD_INDEX: &str = "an index must be a string or a whole number";
const QUOTED_LEGACY_INDEX: &str = "a quoted reference cannot index with `.0`, only with `[0]`";
const WILDCARD: &str =
    "terraform no longer accepts the [\"*\"] wildcard, only `ignore_changes = all`";

/// The `ignore_changes` of a `resource` block's (first) `lifecycle` block. `None` when it is
/// not set or lists nothing usable: an empty list ignores nothing, and in an override file it
/// leaves the primary's in place, so neither is worth telling apart from no list.
///
/// What terraform would reject is skipped, with a warning naming the file and line.
pub(super) fn of_resource(
    block: &Block,
    file: &Path,
    lines: &LineIndex,
    warnings: &mut Vec<String>,
) -> Option<IgnoreChanges> {
    let lifecycle = block.body.get_blocks("lifecycle").next()?;
    let attr = lifecycle.body.get_attribute("ignore_changes")?;
    read(attr, file, lines, warnings)
}

fn read(
    attr: &Attribute,
    file: &Path,
    lines: &LineIndex,
    warnings: &mut Vec<String>,
) -> Option<IgnoreChanges> {
    let line = lines.line_of(attr.span()?);
    let at = SourceLocation {
        file: file.to_path_buf(),
        line,
        exact: true,
    };
    let value = unparenthesized(&attr.value);
    // The bare keyword only: `"all"` is no keyword to terraform, and `[all]` is an attribute.
    if value
        .as_variable()
        .is_some_and(|name| name.as_str() == "all")
    {
        return Some(IgnoreChanges {
            all: true,
            paths: Vec::new(),
            at,
        });
    }
    let Some(list) = value.as_array() else {
        warnings.push(format!(
            "{}: ignore_changes skipped (line {line}: neither `all` nor a list of attributes)",
            file.display()
        ));
        return None;
    };
    let mut paths = Vec::new();
    for element in list.iter() {
        match path_of(element) {
            Ok(path) => paths.push(path),
            Err(reason) => {
                let line = element.span().map_or(line, |span| lines.line_of(span));
                warnings.push(format!(
                    "{}: ignore_changes element skipped (line {line}: {reason})",
                    file.display()
                ));
            }
        }
    }
    (!paths.is_empty()).then_some(IgnoreChanges {
        all: false,
        paths,
        at,
    })
}

/// `(x)` is `x` to terraform wherever it wants a keyword, a list or a reference.
fn unparenthesized(expr: &Expression) -> &Expression {
    match expr {
        Expression::Parenthesis(inner) => unparenthesized(inner.inner()),
        other => other,
    }
}

/// One list element as a path, or why terraform would not take it.
fn path_of(element: &Expression) -> Result<Vec<IgnoreStep>, &'static str> {
    match element {
        // Terraform 0.11's quoted references, which terraform still reads (with a warning) by
        // parsing the string as a reference, in a stricter syntax than references in code.
        Expression::String(quoted) => {
            let quoted = quoted.value().trim();
            if quoted == "*" {
                return Err(WILDCARD);
            }
            let parsed = hcl_edit::parser::parse_expr(quoted)
                .map_err(|_| "the quoted text is not a reference")?;
            steps(&parsed, true)
        }
        other => steps(other, false),
    }
}

/// `quoted`: parsed from a string, where terraform allows neither parentheses nor `.0`.
fn steps(expr: &Expression, quoted: bool) -> Result<Vec<IgnoreStep>, &'static str> {
    match expr {
        Expression::Variable(name) => Ok(vec![IgnoreStep::Key(name.as_str().to_owned())]),
        Expression::Parenthesis(_) if !quoted => steps(unparenthesized(expr), quoted),
        Expression::Traversal(traversal) => {
            let mut steps = steps(&traversal.expr, quoted)?;
            for operator in &traversal.operators {
                steps.push(step(operator.value(), quoted)?);
            }
            Ok(steps)
        }
        _ => Err(NOT_STATIC),
    }
}

fn step(operator: &TraversalOperator, quoted: bool) -> Result<IgnoreStep, &'static str> {
    match operator {
        TraversalOperator::GetAttr(name) => Ok(IgnoreStep::Key(name.as_str().to_owned())),
        TraversalOperator::LegacyIndex(index) if !quoted => Ok(IgnoreStep::Index(*index.value())),
        TraversalOperator::LegacyIndex(_) => Err(QUOTED_LEGACY_INDEX),
        TraversalOperator::Index(Expression::String(key)) => {
            Ok(IgnoreStep::Key(key.value().clone()))
        }
        TraversalOperator::Index(Expression::Number(number)) => whole(number.value())
            .map(IgnoreStep::Index)
            .ok_or(BAD_INDEX),
        TraversalOperator::Index(Expression::Bool(_) | Expression::Null(_)) => Err(BAD_INDEX),
        TraversalOperator::Index(_) => Err(NOT_STATIC),
        TraversalOperator::AttrSplat(_) | TraversalOperator::FullSplat(_) => Err(SPLAT),
    }
}

/// `1.0` and `1e3` are whole numbers to terraform too.
fn whole(number: &Number) -> Option<u64> {
    number.as_u64().or_else(|| {
        let float = number.as_f64()?;
        // Below 2^53 every whole float is exact, so the cast neither rounds nor saturates.
        (float >= 0.0 && float.fract() == 0.0 && float < 9_007_199_254_740_992.0)
            .then_some(float as u64)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;
    use IgnoreStep::{Index, Key};

    fn key(name: &str) -> IgnoreStep {
        Key(name.to_owned())
    }

    fn ignoring(paths: Vec<Vec<IgnoreStep>>) -> IgnoreChanges {
        IgnoreChanges {
            all: false,
            paths,
            at: SourceLocation {
                file: PathBuf::from("main.tf"),
                line: 1,
                exact: true,
            },
        }
    }

    /// The paths of `ignore_changes = <list>` and the warnings.
    fn parse(list: &str) -> (Vec<Vec<IgnoreStep>>, Vec<String>) {
        let text = format!(
            "resource \"a\" \"b\" {{\n  lifecycle {{\n    ignore_changes = {list}\n  }}\n}}\n"
        );
        let body = hcl_edit::parser::parse_body(&text).expect("valid HCL");
        let block = body.blocks().next().expect("a block");
        let mut warnings = Vec::new();
        let found = of_resource(
            block,
            Path::new("main.tf"),
            &LineIndex::new(&text),
            &mut warnings,
        );
        (found.map(|found| found.paths).unwrap_or_default(), warnings)
    }

    #[test]
    fn covers_prefixes_step_by_step() {
        let rule = ignoring(vec![vec![key("rule"), Index(0), key("cidr_blocks")]]);
        use Segment as S;
        assert!(rule.covers(&[S::Key("rule"), S::Index(0), S::Key("cidr_blocks")]));
        assert!(rule.covers(&[
            S::Key("rule"),
            S::Index(0),
            S::Key("cidr_blocks"),
            S::Index(1)
        ]));
        assert!(!rule.covers(&[S::Key("rule"), S::Index(1), S::Key("port")]));
        assert!(!rule.covers(&[S::Key("rule"), S::Index(0)]));
        assert!(!rule.covers(&[]));

        let mut all = ignoring(Vec::new());
        all.all = true;
        assert!(all.covers(&[]));
        assert!(all.covers(&[S::Key("anything")]));
    }

    #[test]
    fn numbers_match_indexes_and_names_match_keys_only() {
        use Segment as S;
        // Terraform's `tags[10]` on a map ignores nothing: driftlog must not ignore more.
        let by_index = ignoring(vec![vec![key("tags"), Index(10)]]);
        assert!(!by_index.covers(&[S::Key("tags"), S::Key("10")]));
        assert!(by_index.covers(&[S::Key("tags"), S::Index(10)]));
        let by_key = ignoring(vec![vec![key("rule"), key("2")]]);
        assert!(!by_key.covers(&[S::Key("rule"), S::Index(2), S::Key("port")]));
        assert!(by_key.covers(&[S::Key("rule"), S::Key("2")]));
    }

    #[test]
    fn reads_references_in_every_form_terraform_accepts() {
        let (paths, warnings) = parse(
            "[tags, tags[\"env\"], tags.env, rule[0].port, rule.0.port, (tags)[\"x\"], \
             tags[1.0], \"tags.Name\", \"rule[1][\\\"a b\\\"]\"]",
        );
        assert_eq!(warnings, Vec::<String>::new());
        assert_eq!(
            paths,
            vec![
                vec![key("tags")],
                vec![key("tags"), key("env")],
                vec![key("tags"), key("env")],
                vec![key("rule"), Index(0), key("port")],
                vec![key("rule"), Index(0), key("port")],
                vec![key("tags"), key("x")],
                vec![key("tags"), Index(1)],
                vec![key("tags"), key("Name")],
                vec![key("rule"), Index(1), key("a b")],
            ]
        );
    }

    #[test]
    fn skips_what_terraform_rejects_with_the_element_line() {
        let (paths, warnings) = parse(
            "[\n      rule[*].port, rule.*.port, tags[var.k], tags[-1], tags[true],\n      \
             \"*\", \"rule.0\", \"${tags}\", upper(tags), [tags],\n      ok\n    ]",
        );
        assert_eq!(paths, vec![vec![key("ok")]]);
        assert_eq!(warnings.len(), 10, "{warnings:#?}");
        assert!(
            warnings[..5]
                .iter()
                .all(|warning| warning
                    .starts_with("main.tf: ignore_changes element skipped (line 4: ")),
            "{warnings:#?}"
        );
        assert!(warnings[0].contains(SPLAT), "{warnings:#?}");
        assert!(warnings[3].contains(BAD_INDEX), "{warnings:#?}");
        assert!(warnings[6].contains(QUOTED_LEGACY_INDEX), "{warnings:#?}");
        assert!(
            warnings[5].contains("line 5") && warnings[5].contains(WILDCARD),
            "{warnings:#?}"
        );
    }

    #[test]
    fn not_a_list_is_a_warning_and_empty_lists_are_nothing() {
        for value in ["\"all\"", "tags", "var.ignored"] {
            let (paths, warnings) = parse(value);
            assert_eq!(paths, Vec::<Vec<IgnoreStep>>::new(), "{value}");
            assert_eq!(warnings.len(), 1, "{value}: {warnings:?}");
            assert!(warnings[0].contains("line 3"), "{warnings:?}");
        }
        assert_eq!(parse("[]"), (Vec::new(), Vec::new()));
    }

    #[test]
    fn override_merge_follows_terraform() {
        let paths = |line: u32| {
            let mut found = ignoring(vec![vec![key("tags")]]);
            found.at.line = line;
            found
        };
        let all = |line: u32| {
            let mut found = ignoring(Vec::new());
            found.all = true;
            found.at.line = line;
            found
        };
        let mut primary = Some(paths(1));
        IgnoreChanges::merge(&mut primary, None);
        assert_eq!(primary, Some(paths(1)));
        IgnoreChanges::merge(&mut primary, Some(paths(2)));
        assert_eq!(primary, Some(paths(2)));
        IgnoreChanges::merge(&mut primary, Some(all(3)));
        assert_eq!(primary, Some(all(3)));
        IgnoreChanges::merge(&mut primary, Some(paths(4)));
        assert_eq!(primary, Some(all(3)));
        let mut none = None;
        IgnoreChanges::merge(&mut none, Some(paths(5)));
        assert_eq!(none, Some(paths(5)));
    }
}
