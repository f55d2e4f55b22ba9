//! Trailing comments realigned as `terraform fmt` aligns them.
//!
//! fmt puts the `#`/`//` comments that end consecutive lines in one column: one space after the
//! longest code of the run (counted in characters), across nesting levels. A line without such
//! a comment (blank, comment only, ending in `/* */`, or plain code) ends the run. An edit that
//! makes a commented line longer or shorter moves the column of its run, so the run is
//! realigned; nothing else is touched.

use std::collections::BTreeSet;

use super::splice::Splice;

/// What one line is to fmt's comment column.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Line {
    /// Code, then a `#`/`//` comment: the bytes where the code ends and the comment starts.
    Commented { code_end: usize, comment: usize },
    /// No trailing comment: it ends a run.
    Plain,
    /// Inside a heredoc, a block comment or a string spanning lines: not judged, so a run
    /// reaching it is left alone.
    Unknown,
}

/// Splices that realign the comment runs holding any of `lines` (1-based) of `text`.
pub(super) fn realign(text: &str, lines: &BTreeSet<usize>) -> Vec<Splice> {
    let (starts, kinds) = classify(text);
    let mut done = BTreeSet::new();
    let mut splices = Vec::new();
    for &line in lines {
        let Some(i) = line.checked_sub(1).filter(|i| *i < kinds.len()) else {
            continue;
        };
        if !matches!(kinds[i], Line::Commented { .. }) || done.contains(&i) {
            continue;
        }
        let commented = |j: usize| matches!(kinds[j], Line::Commented { .. });
        let mut first = i;
        while first > 0 && commented(first - 1) {
            first -= 1;
        }
        let mut last = i;
        while last + 1 < kinds.len() && commented(last + 1) {
            last += 1;
        }
        done.extend(first..=last);
        let unknown_edge = (first > 0 && kinds[first - 1] == Line::Unknown)
            || (last + 1 < kinds.len() && kinds[last + 1] == Line::Unknown);
        if unknown_edge {
            continue;
        }
        let run: Vec<(usize, usize, usize)> = (first..=last)
            .filter_map(|j| match kinds[j] {
                Line::Commented { code_end, comment } => {
                    Some((code_end, comment, text[starts[j]..code_end].chars().count()))
                }
                _ => None,
            })
            .collect();
        let Some(target) = run.iter().map(|(_, _, width)| width + 1).max() else {
            continue;
        };
        for (code_end, comment, width) in run {
            let pad = target - width;
            if comment - code_end != pad || text[code_end..comment].bytes().any(|b| b != b' ') {
                splices.push(Splice {
                    range: code_end..comment,
                    text: " ".repeat(pad),
                });
            }
        }
    }
    splices
}

/// Where each line starts, and what it is.
fn classify(text: &str) -> (Vec<usize>, Vec<Line>) {
    let bytes = text.as_bytes();
    let mut starts = vec![0];
    let mut kinds = Vec::new();
    // The lexer's state across lines: open strings and templates, a heredoc's terminator, an
    // open block comment.
    let mut stack: Vec<Frame> = Vec::new();
    let mut heredoc: Option<String> = None;
    let mut in_block_comment = false;
    let mut i = 0;
    while i <= bytes.len() {
        let start = i;
        let end = text[start..].find('\n').map_or(bytes.len(), |n| start + n);
        let line = &text[start..end];
        let kind = if let Some(tag) = &heredoc {
            if line.trim() == tag {
                heredoc = None;
            }
            Line::Unknown
        } else if in_block_comment || !stack.is_empty() {
            // Carried over from the line before: lex on only to keep the state right.
            let (_, opened) = lex(text, start, end, &mut stack, &mut in_block_comment);
            heredoc = opened;
            Line::Unknown
        } else {
            let (kind, opened) = lex(text, start, end, &mut stack, &mut in_block_comment);
            heredoc = opened;
            if in_block_comment || !stack.is_empty() || heredoc.is_some() {
                Line::Unknown
            } else {
                kind
            }
        };
        kinds.push(kind);
        i = end + 1;
        if i <= bytes.len() {
            starts.push(i);
        }
    }
    (starts, kinds)
}

enum Frame {
    /// Inside a quoted string.
    Str,
    /// Inside `${ }` or `%{ }`, at this depth of braces.
    Template(usize),
}

/// Lexes one line (`start..end`), updating the state; returns what the line is and the
/// terminator of a heredoc it opens.
fn lex(
    text: &str,
    start: usize,
    end: usize,
    stack: &mut Vec<Frame>,
    in_block_comment: &mut bool,
) -> (Line, Option<String>) {
    let bytes = text.as_bytes();
    let mut code_end = start;
    let mut last_is_block_comment = false;
    let mut i = start;
    while i < end {
        let b = bytes[i];
        let next = bytes.get(i + 1).copied();
        if *in_block_comment {
            if b == b'*' && next == Some(b'/') {
                *in_block_comment = false;
                last_is_block_comment = true;
                i += 2;
            } else {
                i += 1;
            }
            continue;
        }
        match stack.last_mut() {
            Some(Frame::Str) => {
                match (b, next) {
                    (b'\\', _) => i += 1,
                    (b'$', Some(b'$')) | (b'%', Some(b'%')) => i += 1,
                    (b'$' | b'%', Some(b'{')) => {
                        stack.push(Frame::Template(1));
                        i += 1;
                    }
                    (b'"', _) => {
                        stack.pop();
                    }
                    _ => {}
                }
                i += 1;
                code_end = i.min(end);
                continue;
            }
            Some(Frame::Template(depth)) => match b {
                b'{' => *depth += 1,
                b'}' => {
                    *depth -= 1;
                    if *depth == 0 {
                        stack.pop();
                    }
                }
                _ => {}
            },
            None => {}
        }
        match (b, next) {
            (b'#', _) | (b'/', Some(b'/')) => {
                if stack.is_empty() && code_end > start && !last_is_block_comment {
                    return (
                        Line::Commented {
                            code_end,
                            comment: i,
                        },
                        None,
                    );
                }
                // A comment alone on its line, or one inside a template: not in a run.
                let kind = if stack.is_empty() {
                    Line::Plain
                } else {
                    Line::Unknown
                };
                return (kind, None);
            }
            (b'/', Some(b'*')) => {
                *in_block_comment = true;
                i += 2;
                continue;
            }
            (b'<', Some(b'<')) if stack.is_empty() => {
                let rest = text[i + 2..end].trim_start_matches('-');
                let tag: String = rest
                    .chars()
                    .take_while(|c| c.is_alphanumeric() || *c == '_' || *c == '-')
                    .collect();
                if !tag.is_empty() {
                    return (Line::Unknown, Some(tag));
                }
            }
            (b'"', _) => stack.push(Frame::Str),
            _ => {}
        }
        if !b.is_ascii_whitespace() {
            last_is_block_comment = false;
            code_end = i + 1;
        }
        i += 1;
    }
    (Line::Plain, None)
}

#[cfg(test)]
mod tests;
