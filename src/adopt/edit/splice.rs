//! Splices: byte-range replacements of a text, applied together, and where offsets move.

use std::collections::BTreeSet;
use std::ops::Range;
use std::path::PathBuf;

use super::{comments, line_of};

/// One replacement in a text.
#[derive(Debug, Clone)]
pub(super) struct Splice {
    pub(super) range: Range<usize>,
    pub(super) text: String,
}

/// What one wanted value does to one file; `at` is the byte where the value is written.
pub(super) struct Plan {
    pub(super) file: PathBuf,
    pub(super) splices: Vec<Splice>,
    pub(super) at: usize,
}

/// The plan with the trailing-comment runs around its splices realigned as fmt would. The
/// realignment is computed on the spliced text and mapped back onto the original, so a plan
/// stays one set of splices of the original text.
pub(super) fn with_comments_realigned(text: &str, mut plan: Plan) -> Plan {
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
pub(super) fn unshift(range: Range<usize>, splices: &[Splice]) -> Option<Range<usize>> {
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
pub(super) fn apply(text: &str, splices: &[Splice]) -> String {
    let mut sorted: Vec<&Splice> = splices.iter().collect();
    sorted.sort_by_key(|s| std::cmp::Reverse(s.range.start));
    let mut out = text.to_owned();
    for splice in sorted {
        out.replace_range(splice.range.clone(), &splice.text);
    }
    out
}

/// Where byte `at` of the old text is in the spliced text (the start of a splice it is in).
pub(super) fn shift(at: usize, splices: &[Splice]) -> usize {
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
