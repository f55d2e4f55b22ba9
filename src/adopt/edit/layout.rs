//! Lines added and removed as `terraform fmt` lays them out: indented as their neighbours,
//! with the `=` of their group aligned.

use super::place::{Cx, Entry, Placed};
use super::splice::Splice;

impl Cx<'_> {
    /// Removes whole lines from the one of `start` to the one of `end`, when nothing else is on
    /// them.
    pub(super) fn remove_lines(&self, start: usize, end: usize) -> Placed {
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

    pub(super) fn remove_entry(&self, entries: &[Entry], index: usize) -> Placed {
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
    pub(super) fn add_entry(
        &self,
        open: usize,
        entries: &[Entry],
        key: &str,
        value: &str,
    ) -> Placed {
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
    pub(super) fn group_before<'e>(
        &self,
        entries: &'e [Entry],
        mut next_line: usize,
    ) -> Vec<&'e Entry> {
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

    pub(super) fn group_after<'e>(
        &self,
        entries: &'e [Entry],
        mut prev_line: usize,
    ) -> Vec<&'e Entry> {
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
    pub(super) fn equals(&self, entry: &Entry) -> usize {
        self.text[entry.key.end..entry.value.start]
            .find(['=', ':'])
            .map_or(entry.key.end, |i| entry.key.end + i)
    }

    /// The 0-based column (in characters) of byte `at`.
    pub(super) fn column(&self, at: usize) -> usize {
        let line_start = self.text[..at].rfind('\n').map_or(0, |i| i + 1);
        self.text[line_start..at].chars().count()
    }

    /// Whitespace between each key and its `=` so that every `=` is at `target`.
    pub(super) fn align(&self, group: &[&Entry], target: usize) -> Vec<Splice> {
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
