//! The proof of an adoption: the edited configuration, planned by Terraform against the real
//! resources, must not change what was adopted. [`Mirror`] is where that plan runs without
//! touching the user's files; [`judge`] reads its plan.

use std::collections::BTreeMap;
use std::io;
use std::path::{Path, PathBuf};

use crate::drift::path as dpath;
use crate::terraform::show::saved::{PlannedAction, SavedPlan};

/// Entries of a stack directory a mirror links; a stack directory holds far fewer.
pub const MAX_MIRROR_ENTRIES: usize = 10_000;

/// A copy of a stack directory with the edited files written and every other entry a
/// symbolic link to the original, so terraform sees the edited configuration with the
/// stack's state, providers, modules and files. It sits beside the stack directory, so
/// relative module sources (`../modules/x`) resolve as they do from the stack. Removed on drop.
pub struct Mirror {
    dir: tempfile::TempDir,
}

impl Mirror {
    /// `files`: the edited texts by name relative to `stack_dir` (not in subdirectories).
    pub fn new(stack_dir: &Path, files: &BTreeMap<PathBuf, String>) -> io::Result<Mirror> {
        let parent = match stack_dir.parent() {
            Some(parent) if !parent.as_os_str().is_empty() => parent.to_path_buf(),
            _ => PathBuf::from("."),
        };
        let source = std::fs::canonicalize(stack_dir)?;
        // Beside the stack when its parent can be written to, else inside it (a module
        // source relative to the stack then resolves one level off, and its plan says so).
        let dir = tempfile::Builder::new()
            .prefix(".driftlog-adopt-")
            .tempdir_in(parent)
            .or_else(|_| {
                tempfile::Builder::new()
                    .prefix(".driftlog-adopt-")
                    .tempdir_in(&source)
            })?;
        let own = dir.path().file_name().map(ToOwned::to_owned);
        let mut entries = 0;
        for entry in std::fs::read_dir(&source)? {
            let name = entry?.file_name();
            if Some(&name) == own.as_ref() {
                continue;
            }
            entries += 1;
            if entries > MAX_MIRROR_ENTRIES {
                return Err(io::Error::other(format!(
                    "{} has more than {MAX_MIRROR_ENTRIES} entries (MAX_MIRROR_ENTRIES)",
                    stack_dir.display()
                )));
            }
            // A lock of the original state is not this plan's.
            if files.contains_key(Path::new(&name)) || name == ".terraform.tfstate.lock.info" {
                continue;
            }
            std::os::unix::fs::symlink(source.join(&name), dir.path().join(&name))?;
        }
        for (name, text) in files {
            if name.components().count() != 1 {
                return Err(io::Error::other(format!(
                    "{} is not a file of the stack directory",
                    name.display()
                )));
            }
            std::fs::write(dir.path().join(name), text)?;
        }
        Ok(Mirror { dir })
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }
}

/// One adopted value, as the proof checks it: the resource without an instance key, so every
/// instance of the edited block is checked, and the attribute path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Claim<'a> {
    pub target: &'a str,
    pub path: &'a str,
}

/// Why the plan fails some claims: by index into the claims, the reason. `Err`: the plan as a
/// whole proves nothing (it errored).
pub fn judge(plan: &SavedPlan, claims: &[Claim<'_>]) -> Result<BTreeMap<usize, String>, String> {
    if plan.errored {
        return Err("terraform reported the plan as errored, so it proves nothing".into());
    }
    let mut failed = BTreeMap::new();
    for change in plan.changes.iter().filter(|c| c.deposed.is_none()) {
        for (index, claim) in claims.iter().enumerate() {
            if failed.contains_key(&index) || !is_instance_of(&change.address, claim.target) {
                continue;
            }
            let reason = match change.action {
                PlannedAction::NoOp | PlannedAction::Read => None,
                PlannedAction::Update => change
                    .changed_paths()
                    .find(|path| overlaps(path, claim.path))
                    .map(|path| {
                        format!(
                            "the edited configuration still changes `{path}` of {}: the \
                             plan does not agree the code now matches it",
                            change.address
                        )
                    }),
                action => Some(format!(
                    "the edited configuration's plan would {} {}",
                    verb(action),
                    change.address
                )),
            };
            if let Some(reason) = reason {
                failed.insert(index, reason);
            }
        }
    }
    Ok(failed)
}

/// Terraform's own words for a plan's changes: `0 to add, 1 to change, 0 to destroy`.
pub fn summary(plan: &SavedPlan) -> String {
    let (mut add, mut change, mut destroy) = (0, 0, 0);
    for planned in &plan.changes {
        match planned.action {
            PlannedAction::Create => add += 1,
            PlannedAction::Update => change += 1,
            PlannedAction::Delete => destroy += 1,
            PlannedAction::DeleteThenCreate | PlannedAction::CreateThenDelete => {
                add += 1;
                destroy += 1;
            }
            PlannedAction::CreateThenForget => add += 1,
            PlannedAction::NoOp
            | PlannedAction::Read
            | PlannedAction::Forget
            | PlannedAction::Unrecognized => {}
        }
    }
    format!("{add} to add, {change} to change, {destroy} to destroy")
}

fn verb(action: PlannedAction) -> &'static str {
    match action {
        PlannedAction::Create => "create",
        PlannedAction::Delete => "destroy",
        PlannedAction::DeleteThenCreate
        | PlannedAction::CreateThenDelete
        | PlannedAction::CreateThenForget => "replace",
        PlannedAction::Forget => "forget",
        _ => "change",
    }
}

/// `aws_x.a` itself, or one of its instances (`aws_x.a[0]`, `aws_x.a["k"]`).
fn is_instance_of(address: &str, target: &str) -> bool {
    address
        .strip_prefix(target)
        .is_some_and(|rest| rest.is_empty() || rest.starts_with('['))
}

/// One path is the other or inside it (`tags` and `tags.env`).
fn overlaps(a: &str, b: &str) -> bool {
    match (dpath::parse(a), dpath::parse(b)) {
        (Some(a), Some(b)) => a.starts_with(&b) || b.starts_with(&a),
        // An unreadable path is taken to overlap: the proof must not pass by not reading.
        _ => true,
    }
}

#[cfg(test)]
mod tests;
