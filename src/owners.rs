//! Who owns a stack, as GitHub's CODEOWNERS says: the first of `.github/CODEOWNERS`,
//! `CODEOWNERS` and `docs/CODEOWNERS`, read with GitHub's rules. Patterns are gitignore's
//! except what GitHub documents as not working there (`!` negation, `[ ]` ranges, `\#`):
//! a line using them is skipped, with a warning, as GitHub skips it. For each file the last
//! matching line wins, and a matching line without owners leaves the file unowned. A stack's
//! owners are those of its configuration (the `.tf` and `.tf.json` files directly in its
//! directory, or a CloudFormation stack's template), each once, in the order first met.

use std::path::{Path, PathBuf};

use globset::{GlobBuilder, GlobMatcher};

/// Where GitHub looks for CODEOWNERS, in its order: the first found is the one used.
pub const LOCATIONS: [&str; 3] = [".github/CODEOWNERS", "CODEOWNERS", "docs/CODEOWNERS"];

/// GitHub ignores a CODEOWNERS file larger than this.
pub const MAX_CODEOWNERS_BYTES: u64 = 3 * 1024 * 1024;

/// Files of a stack's directory looked at, at most (its configuration is a few of them).
pub const MAX_STACK_FILES: usize = 1000;

/// An owner, as CODEOWNERS spells it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Owner {
    /// `@login`: assigned to the drift issue.
    User(String),
    /// `@org/team`: mentioned (teams cannot be assigned).
    Team(String),
    /// `someone@example.com`: named, neither assigned nor mentioned.
    Email(String),
}

impl Owner {
    /// Reads `@login`, `@org/team` or an email address; `None` for anything else.
    pub fn parse(text: &str) -> Option<Owner> {
        let login = |s: &str| {
            !s.is_empty()
                && s.len() <= 100
                && s.chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '.')
        };
        if let Some(name) = text.strip_prefix('@') {
            return match name.split_once('/') {
                Some((org, team)) if login(org) && login(team) => Some(Owner::Team(name.into())),
                None if login(name) => Some(Owner::User(name.to_owned())),
                _ => None,
            };
        }
        let (local, domain) = text.split_once('@')?;
        let plain = |s: &str| !s.is_empty() && !s.chars().any(|c| c.is_whitespace() || c == '@');
        (plain(local) && plain(domain) && domain.contains('.') && text.len() <= 254)
            .then(|| Owner::Email(text.to_owned()))
    }

    /// How GitHub text names it: `@login`, `@org/team`, or the address.
    pub fn display(&self) -> String {
        match self {
            Owner::User(name) | Owner::Team(name) => format!("@{name}"),
            Owner::Email(address) => address.clone(),
        }
    }
}

/// One usable line: what it matches and who it names.
#[derive(Debug)]
struct Rule {
    matcher: GlobMatcher,
    /// For a pattern naming a directory (or anything that may be one), what is inside it.
    inside: Option<GlobMatcher>,
    owners: Vec<Owner>,
}

/// A CODEOWNERS file, read.
#[derive(Debug, Default)]
pub struct CodeOwners {
    /// The file read, relative to the repository root.
    pub file: Option<PathBuf>,
    rules: Vec<Rule>,
    /// Lines skipped, and why (`LINE: reason`).
    pub warnings: Vec<String>,
}

impl CodeOwners {
    /// The repository's CODEOWNERS (none: no rules); what could not be read is a warning.
    pub fn load(root: &Path) -> CodeOwners {
        for location in LOCATIONS {
            let path = root.join(location);
            let Ok(meta) = std::fs::metadata(&path) else {
                continue;
            };
            if !meta.is_file() {
                continue;
            }
            let mut owners = if meta.len() > MAX_CODEOWNERS_BYTES {
                CodeOwners {
                    warnings: vec![format!(
                        "{location} is larger than GitHub reads ({MAX_CODEOWNERS_BYTES} bytes, \
                         MAX_CODEOWNERS_BYTES): no owner is taken from it"
                    )],
                    ..CodeOwners::default()
                }
            } else {
                match crate::bounded::read_to_string(
                    &path,
                    MAX_CODEOWNERS_BYTES,
                    "MAX_CODEOWNERS_BYTES",
                ) {
                    Ok(text) => CodeOwners::parse(&text),
                    Err(err) => CodeOwners {
                        warnings: vec![format!("{location} could not be read: {err}")],
                        ..CodeOwners::default()
                    },
                }
            };
            owners.file = Some(PathBuf::from(location));
            return owners;
        }
        CodeOwners::default()
    }

    /// Reads CODEOWNERS text; invalid lines are skipped with a warning each.
    pub fn parse(text: &str) -> CodeOwners {
        let mut owners = CodeOwners::default();
        for (number, line) in text.lines().enumerate() {
            // A `#` after whitespace starts a comment, as on GitHub.
            let line = match line.find(" #").or_else(|| line.find("\t#")) {
                Some(at) => &line[..at],
                None => line,
            };
            let mut words = line.split_whitespace();
            let Some(pattern) = words.next().filter(|p| !p.starts_with('#')) else {
                continue;
            };
            let named: Vec<&str> = words.collect();
            match rule(pattern, &named) {
                Ok(rule) => owners.rules.push(rule),
                Err(reason) => owners.warnings.push(format!(
                    "line {}: {reason}; GitHub skips it too",
                    number + 1
                )),
            }
        }
        owners
    }

    /// The owners of `path` (relative to the repository root, `/`-separated): the last
    /// matching line's; `None` when no line matches.
    pub fn of(&self, path: &str) -> Option<&[Owner]> {
        let path = path.trim_start_matches("./");
        self.rules
            .iter()
            .rev()
            .find(|rule| {
                rule.matcher.is_match(path)
                    || rule.inside.as_ref().is_some_and(|m| m.is_match(path))
            })
            .map(|rule| rule.owners.as_slice())
    }

    /// The owners of all of `paths`, each once, in the order first met.
    pub fn of_all<'a>(&self, paths: impl IntoIterator<Item = &'a str>) -> Vec<Owner> {
        let mut found: Vec<Owner> = Vec::new();
        for path in paths {
            for owner in self.of(path).unwrap_or_default() {
                if !found.contains(owner) {
                    found.push(owner.clone());
                }
            }
        }
        found
    }
}

/// The Terraform files directly in `dir` (relative to `root`, `/`-separated, sorted), of
/// the first [`MAX_STACK_FILES`] entries: what CODEOWNERS is asked about for a stack there
/// (its state and lock files are not its configuration).
pub fn stack_files(root: &Path, dir: &str) -> Vec<String> {
    let Ok(entries) = std::fs::read_dir(root.join(dir)) else {
        return Vec::new();
    };
    let prefix = match dir.trim_start_matches("./").trim_end_matches('/') {
        "" | "." => String::new(),
        dir => format!("{dir}/"),
    };
    let mut files: Vec<String> = entries
        .filter_map(Result::ok)
        .take(MAX_STACK_FILES)
        .filter(|entry| entry.file_type().is_ok_and(|t| t.is_file()))
        .filter_map(|entry| entry.file_name().into_string().ok())
        .filter(|name| name.ends_with(".tf") || name.ends_with(".tf.json"))
        .map(|name| format!("{prefix}{name}"))
        .collect();
    files.sort();
    files
}

fn rule(pattern: &str, named: &[&str]) -> Result<Rule, String> {
    if pattern.starts_with('!') {
        return Err(format!(
            "`{pattern}`: negation (`!`) does not work in CODEOWNERS"
        ));
    }
    if pattern.contains('[') || pattern.contains(']') {
        return Err(format!(
            "`{pattern}`: character ranges (`[ ]`) do not work in CODEOWNERS"
        ));
    }
    if pattern.starts_with('\\') {
        return Err(format!("`{pattern}`: escapes do not work in CODEOWNERS"));
    }
    let mut owners = Vec::new();
    for name in named {
        match Owner::parse(name) {
            Some(owner) => owners.push(owner),
            None => return Err(format!("`{name}` is not a user, team or email address")),
        }
    }
    // gitignore: a `/` at the start or in the middle ties the pattern to the root; else it
    // matches at any depth.
    let directory = pattern.ends_with('/');
    let trimmed = pattern.trim_end_matches('/');
    let anchored = trimmed.contains('/');
    let body = trimmed.trim_start_matches('/');
    if body.is_empty() {
        return Err(format!("`{pattern}` matches nothing"));
    }
    let base = if anchored || body.starts_with("**") {
        body.to_owned()
    } else {
        format!("**/{body}")
    };
    let glob = |text: &str| {
        GlobBuilder::new(text)
            .literal_separator(true)
            .backslash_escape(false)
            .build()
            .map(|glob| glob.compile_matcher())
            .map_err(|err| format!("`{pattern}` is not a valid pattern: {}", err.kind()))
    };
    // `docs/*` owns the files in docs, not those deeper down: GitHub's one departure from
    // "a matched directory owns everything in it".
    let only_children = body == "*" || body.ends_with("/*");
    let inside = match only_children && !directory {
        true => None,
        false => Some(glob(&format!("{base}/**"))?),
    };
    let matcher = match directory {
        // `logs/` names a directory, never a file called logs.
        true => glob(&format!("{base}/**"))?,
        false => glob(&base)?,
    };
    Ok(Rule {
        matcher,
        inside,
        owners,
    })
}

#[cfg(test)]
mod tests;
