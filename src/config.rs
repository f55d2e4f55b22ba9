//! The repository configuration, `.driftlog.toml`: which stacks to scan and which drift to
//! ignore. Without a configuration file, stacks are [discovered](discover).
//!
//! ```toml
//! [[stacks]]
//! path = "infra/prod"              # directory under the repository root, or a glob
//! name = "prod"                    # optional; not on a glob
//! workspace = "default"            # optional
//! var_files = ["prod.tfvars"]      # optional, relative to the stack directory
//! vars = { region = "eu-west-1" }  # optional, strings
//! owners = ["@acme/sre", "@alice"] # optional; default: CODEOWNERS of its files
//!
//! [[ignore]]
//! resource = "aws_autoscaling_group.web"  # address glob, default "*"
//! attribute = "desired_capacity"           # attribute path glob; absent: the whole resource
//! stack = "infra/*"                        # optional glob on the stack path
//! expires = 2026-12-31                     # optional, last day the rule applies (UTC)
//! reason = "the autoscaler owns it"        # required
//!
//! [[remediate]]
//! resource = "aws_security_group.*"   # address glob (required)
//! attribute = "ingress*"              # optional attribute path glob; absent: any managed
//!                                     # drift of the resource, a deletion included
//! stack = "infra/prod"                # optional glob on the stack path
//! action = "revert"                   # required: revert (set it back to the code) or adopt
//! reason = "security groups change only through code"   # required
//! allow_recreate = false              # optional: create a resource deleted out of band
//! max_resources = 10                  # optional: most resources one run reverts by it
//! expires = 2027-06-30                # optional, last day the rule applies (UTC)
//! ```
//!
//! Every mistake is a [`ConfigError`] naming the file, line, column and key. The library only
//! matches rules ([`IgnoreRule::matches`], [`RemediateRule::matches`]); applying them to
//! reports, or remediating, is the caller's.

mod cloudformation;
mod discovery;
mod glob;
mod ignore;
pub mod notify;
pub mod remediate;
pub use cloudformation::{check_terraform_dir, valid_profile, valid_region, valid_stack_name};

use std::collections::{BTreeMap, HashMap};
use std::io;
use std::ops::Range;
use std::path::{Component, Path, PathBuf};

use serde::Deserialize;
use toml::Spanned;

pub use discovery::{discover, inside, Discovery};
pub use ignore::IgnoreRule;
pub use remediate::RemediateRule;

/// The configuration file's name at the repository root.
pub const FILE_NAME: &str = ".driftlog.toml";

/// One stack to scan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StackSpec {
    /// Relative to the repository root, lexically normalized; `.` for the root itself.
    pub path: PathBuf,
    /// The given name, or the path.
    pub name: String,
    pub workspace: Option<String>,
    /// As written: relative to the stack directory (or absolute).
    pub var_files: Vec<PathBuf>,
    /// Sorted by name.
    pub vars: Vec<(String, String)>,
    /// Set for a CloudFormation stack (`path` is then its key, `cloudformation/…`).
    pub cloudformation: Option<CloudFormationSpec>,
    /// Who the stack's drift is routed to; empty: CODEOWNERS decides.
    pub owners: Vec<crate::owners::Owner>,
}

/// A CloudFormation stack the configuration names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CloudFormationSpec {
    pub stack_name: String,
    pub region: Option<String>,
    pub profile: Option<String>,
    /// The template file, relative to the repository root (for annotations).
    pub template: Option<PathBuf>,
}

impl StackSpec {
    /// A stack at `path` with nothing else set, named by its path.
    pub fn at(path: PathBuf) -> StackSpec {
        StackSpec {
            name: path.display().to_string(),
            path,
            workspace: None,
            var_files: Vec::new(),
            vars: Vec::new(),
            cloudformation: None,
            owners: Vec::new(),
        }
    }
}

/// What to scan in a repository and what drift to ignore.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// The configuration file read; `None` when stacks were discovered.
    pub file: Option<PathBuf>,
    /// The repository root, as given; stack paths are relative to it.
    pub root: PathBuf,
    /// In the file's order, each glob's matches sorted by path; discovered stacks sorted by
    /// path.
    pub stacks: Vec<StackSpec>,
    /// In the file's order.
    pub ignore: Vec<IgnoreRule>,
    /// In the file's order: the drift driftlog may remediate, and how.
    pub remediate: Vec<RemediateRule>,
    /// In the file's order: the receivers told when a stack's drift changes.
    pub notify: Vec<notify::NotifyRule>,
    /// `[drift] count_unmanaged`: count drift of attributes the configuration does not set
    /// (computed by the provider). Off by default: apply would leave them alone.
    pub count_unmanaged: bool,
    /// From discovery: what could not be read (see [`Discovery::warnings`]).
    pub warnings: Vec<String>,
}

/// The largest `.driftlog.toml` read: thousands of stacks and rules fit in far less, and a
/// pull request must not make the run read without end.
pub const MAX_CONFIG_BYTES: u64 = 1 << 20;

/// The configuration file's text, at most [`MAX_CONFIG_BYTES`].
fn read_config_text(file: &Path) -> Result<String, ConfigError> {
    let read_error = |source| ConfigError::Read {
        path: file.to_path_buf(),
        source,
    };
    let bytes = crate::bounded::read(file, MAX_CONFIG_BYTES)
        .map_err(read_error)?
        .ok_or_else(|| ConfigError::TooLarge {
            path: file.to_path_buf(),
        })?;
    String::from_utf8(bytes)
        .map_err(|err| read_error(io::Error::new(io::ErrorKind::InvalidData, err)))
}

/// Why the configuration could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The configuration file is larger than any configuration needs.
    #[error(
        "{}: larger than {MAX_CONFIG_BYTES} bytes (MAX_CONFIG_BYTES); a configuration lists \
         stacks and rules, and this is not one",
        path.display()
    )]
    TooLarge { path: PathBuf },
    /// The configuration file, or the repository root during discovery, cannot be read.
    #[error("{}: cannot be read: {source}", path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    /// A mistake in the configuration file.
    #[error("{}:{line}:{column}: {message}", file.display())]
    Invalid {
        file: PathBuf,
        /// 1-based.
        line: usize,
        /// 1-based, in characters.
        column: usize,
        /// The key at fault, dotted from the top (`stacks.path`, `ignore.reason`), when known.
        key: Option<String>,
        /// What is wrong, naming the key.
        message: String,
    },
    /// A Terraform stack directory given on the command line under `cloudformation/`, where
    /// CloudFormation stacks are keyed.
    #[error("{message}")]
    CloudFormationNamespace { message: String },
}

impl Config {
    /// The configuration of the repository at `root`: from `explicit` (`--config`, taken as
    /// given, not relative to `root`) if set, else from `<root>/.driftlog.toml` if it exists;
    /// without a file, discovered stacks and no ignore rules. A file without `[[stacks]]`
    /// has its stacks discovered too.
    pub fn load(root: &Path, explicit: Option<&Path>) -> Result<Config, ConfigError> {
        let file = match explicit {
            Some(path) => Some(path.to_path_buf()),
            None => Some(root.join(FILE_NAME)).filter(|path| path.exists()),
        };
        let Some(file) = file else {
            let discovery = discover(root)?;
            return Ok(Config {
                file: None,
                root: root.to_path_buf(),
                stacks: discovery.stacks,
                ignore: Vec::new(),
                remediate: Vec::new(),
                notify: Vec::new(),
                count_unmanaged: false,
                warnings: discovery.warnings,
            });
        };
        let text = read_config_text(&file)?;
        let config = Config::parse(root, &file, &text)?;
        // Known now, so taken now, whatever the command: scan, remediate and adopt all start
        // terraform, which must never inherit a receiver's URL or secret.
        let names: Vec<&str> = config
            .notify
            .iter()
            .flat_map(notify::NotifyRule::variables)
            .collect();
        crate::secrets::withhold(&names);
        Ok(config)
    }

    /// The configuration file as rules are named after it (`.driftlog.toml` in
    /// `.driftlog.toml:12`): relative to the repository root, or [`FILE_NAME`] without a file.
    pub fn file_label(&self) -> String {
        let Some(file) = self.file.as_deref() else {
            return FILE_NAME.to_owned();
        };
        file.strip_prefix(&self.root)
            .unwrap_or(file)
            .display()
            .to_string()
    }

    /// The configuration in `text`, read from `file` (named in errors), for the repository at
    /// `root` (globs are expanded and literal paths checked there).
    pub fn parse(root: &Path, file: &Path, text: &str) -> Result<Config, ConfigError> {
        // A byte order mark sits before the first line: no line number moves.
        let text = text.strip_prefix('\u{feff}').unwrap_or(text);
        let doc = Document { file, text };
        let raw: RawFile = toml::from_str(text).map_err(|err| doc.toml_error(&err))?;
        let mut warnings = Vec::new();
        let mut discovered: Option<Vec<StackSpec>> = None;
        let mut discovered_roots =
            |warnings: &mut Vec<String>| -> Result<Vec<StackSpec>, ConfigError> {
                if discovered.is_none() {
                    let discovery = discover(root)?;
                    warnings.extend(discovery.warnings);
                    discovered = Some(discovery.stacks);
                }
                Ok(discovered.clone().unwrap_or_default())
            };

        let mut stacks = Vec::new();
        // Path and name to the span of the entry that first gave them.
        let mut paths: HashMap<PathBuf, Range<usize>> = HashMap::new();
        let mut names: HashMap<String, Range<usize>> = HashMap::new();
        for entry in &raw.stacks {
            let entry_span = entry.span();
            let entry = entry.get_ref();
            let owners = doc.owners(entry)?;
            let expanded = match &entry.cloudformation {
                Some(name) => vec![doc.cloudformation_entry(root, entry, name)?],
                None => doc.stack_entry(
                    root,
                    entry,
                    entry_span.clone(),
                    &mut warnings,
                    &mut discovered_roots,
                )?,
            };
            for mut stack in expanded {
                stack.owners = owners.clone();
                let span = entry
                    .path
                    .as_ref()
                    .or(entry.cloudformation.as_ref())
                    .map_or(entry_span.clone(), Spanned::span);
                if let Some(first) = paths.get(&stack.path) {
                    return Err(doc.error(
                        span,
                        "stacks.path",
                        format!(
                            "stack `{}` is listed twice (first at line {})",
                            stack.path.display(),
                            doc.position(first.start).0
                        ),
                    ));
                }
                let name_span = entry.name.as_ref().map_or(span.clone(), Spanned::span);
                if let Some(first) = names.get(&stack.name) {
                    return Err(doc.error(
                        name_span,
                        "stacks.name",
                        format!(
                            "stack name `{}` is used twice (first at line {})",
                            stack.name,
                            doc.position(first.start).0
                        ),
                    ));
                }
                paths.insert(stack.path.clone(), span.clone());
                names.insert(stack.name.clone(), name_span);
                stacks.push(stack);
            }
        }
        if raw.stacks.is_empty() {
            stacks = discovered_roots(&mut warnings)?;
        }

        let mut ignore = Vec::new();
        let mut ids: HashMap<String, usize> = HashMap::new();
        for entry in &raw.ignore {
            let mut rule = doc.ignore_entry(entry)?;
            let count = ids.entry(rule.id.clone()).or_insert(0);
            *count += 1;
            if *count > 1 {
                rule.id = format!("{}#{count}", rule.id);
            }
            ignore.push(rule);
        }

        let remediate = raw
            .remediate
            .iter()
            .map(|entry| doc.remediate_entry(entry))
            .collect::<Result<Vec<_>, _>>()?;

        if let Some(extra) = raw.notify.get(notify::MAX_NOTIFY_TARGETS) {
            return Err(doc.error(
                extra.span(),
                "notify",
                format!(
                    "more than {} [[notify]] entries (MAX_NOTIFY_TARGETS): each is a request \
                     per change, and a scan must stay short",
                    notify::MAX_NOTIFY_TARGETS
                ),
            ));
        }
        let notify = raw
            .notify
            .iter()
            .map(|entry| doc.notify_entry(entry))
            .collect::<Result<Vec<_>, _>>()?;

        Ok(Config {
            file: Some(file.to_path_buf()),
            root: root.to_path_buf(),
            stacks,
            ignore,
            remediate,
            notify,
            count_unmanaged: raw
                .drift
                .and_then(|drift| drift.count_unmanaged)
                .unwrap_or(false),
            warnings,
        })
    }
}

/// Shard `k` of `n` (1-based) of `stacks`: sorted by path, every `n`th from the `k`th. The
/// `n` shards hold every stack exactly once, their sizes differ by at most one, and the same
/// stacks give the same shards whatever their order. Empty when `k` is not in `1..=n`.
pub fn shard(stacks: &[StackSpec], k: usize, n: usize) -> Vec<StackSpec> {
    if k == 0 || k > n {
        return Vec::new();
    }
    let mut sorted: Vec<&StackSpec> = stacks.iter().collect();
    sorted.sort_by(|a, b| (&a.path, &a.name).cmp(&(&b.path, &b.name)));
    sorted.into_iter().skip(k - 1).step_by(n).cloned().collect()
}

/// `"2/3"` as `(2, 3)`: shard 2 of 3. The message of an error says what is wrong.
pub fn parse_shard(text: &str) -> Result<(usize, usize), String> {
    let text = text.trim();
    let parsed = text.split_once('/').and_then(|(k, n)| {
        Some((
            k.trim().parse::<usize>().ok()?,
            n.trim().parse::<usize>().ok()?,
        ))
    });
    match parsed {
        None => Err(format!(
            "shard `{text}` is not K/N (shard K of N, like 2/3)"
        )),
        Some((_, 0)) => Err(format!("shard `{text}`: there must be at least 1 shard")),
        Some((0, _)) => Err(format!("shard `{text}`: shards are numbered from 1")),
        Some((k, n)) if k > n => Err(format!(
            "shard `{text}`: there are only {n} shards, numbered 1 to {n}"
        )),
        Some(shard) => Ok(shard),
    }
}

/// The keys each table allows, in the order error messages list them.
const TOP_KEYS: &[&str] = &["stacks", "ignore", "remediate", "notify", "drift"];
/// Top-level keys that hold a list of tables (`[[stacks]]`), not one table (`[drift]`).
const LIST_KEYS: &[&str] = &["stacks", "ignore", "remediate", "notify"];
const DRIFT_KEYS: &[&str] = &["count_unmanaged"];
const STACK_KEYS: &[&str] = &[
    "path",
    "name",
    "workspace",
    "var_files",
    "vars",
    "cloudformation",
    "region",
    "profile",
    "template",
    "owners",
];
const IGNORE_KEYS: &[&str] = &["resource", "attribute", "stack", "expires", "reason"];

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFile {
    #[serde(default)]
    stacks: Vec<Spanned<RawStack>>,
    #[serde(default)]
    ignore: Vec<Spanned<RawIgnore>>,
    #[serde(default)]
    remediate: Vec<Spanned<remediate::RawRemediate>>,
    #[serde(default)]
    notify: Vec<Spanned<notify::RawNotify>>,
    drift: Option<RawDrift>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawDrift {
    count_unmanaged: Option<bool>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawStack {
    path: Option<Spanned<String>>,
    cloudformation: Option<Spanned<String>>,
    region: Option<Spanned<String>>,
    profile: Option<Spanned<String>>,
    template: Option<Spanned<String>>,
    name: Option<Spanned<String>>,
    workspace: Option<Spanned<String>>,
    #[serde(default)]
    var_files: Vec<Spanned<String>>,
    #[serde(default)]
    vars: BTreeMap<String, Spanned<String>>,
    #[serde(default)]
    owners: Vec<Spanned<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawIgnore {
    resource: Option<Spanned<String>>,
    attribute: Option<Spanned<String>>,
    stack: Option<Spanned<String>>,
    expires: Option<Spanned<toml::Value>>,
    reason: Option<Spanned<String>>,
}

/// The file being read, for positions in errors.
struct Document<'a> {
    file: &'a Path,
    text: &'a str,
}

impl Document<'_> {
    /// 1-based line and column (in characters) of a byte offset.
    fn position(&self, offset: usize) -> (usize, usize) {
        let offset = offset.min(self.text.len());
        let before = self.text.get(..offset).unwrap_or(self.text);
        let line_start = before.rfind('\n').map_or(0, |at| at + 1);
        let line = before.matches('\n').count() + 1;
        let column = before
            .get(line_start..)
            .map_or(0, |rest| rest.chars().count())
            + 1;
        (line, column)
    }

    fn error(&self, span: Range<usize>, key: &str, message: String) -> ConfigError {
        let (line, column) = self.position(span.start);
        ConfigError::Invalid {
            file: self.file.to_path_buf(),
            line,
            column,
            key: Some(key.to_owned()),
            message,
        }
    }

    /// A toml or serde error, reworded to name the key and its table.
    fn toml_error(&self, err: &toml::de::Error) -> ConfigError {
        let span = err.span().unwrap_or(0..0);
        let (line, column) = self.position(span.start);
        let keys = error_keys(err).unwrap_or_else(|| self.key_on_line(line));
        let message = err.message().trim_end();
        let (table, key) = match keys.split_first() {
            Some((first, rest)) if LIST_KEYS.contains(&first.as_str()) => {
                (format!("[[{first}]]"), rest.first().cloned())
            }
            Some((first, rest)) if TOP_KEYS.contains(&first.as_str()) => {
                (format!("[{first}]"), rest.first().cloned())
            }
            _ => ("the top level".to_owned(), keys.first().cloned()),
        };
        let allowed = match table.as_str() {
            "[[stacks]]" => STACK_KEYS,
            "[[ignore]]" => IGNORE_KEYS,
            "[[remediate]]" => remediate::REMEDIATE_KEYS,
            "[[notify]]" => notify::NOTIFY_KEYS,
            "[drift]" => DRIFT_KEYS,
            _ => TOP_KEYS,
        };
        let message = if let Some(unknown) = quoted_after(message, "unknown field ") {
            let place = if table == "the top level" {
                "at the top level".to_owned()
            } else {
                format!("in {table}")
            };
            format!(
                "unknown key `{unknown}` {place} (expected {})",
                allowed.join(", ")
            )
        } else if let Some(missing) = quoted_after(message, "missing field ") {
            format!("missing key `{missing}` in {table}")
        } else {
            match (&key, keys.len()) {
                (_, 0) => message.to_owned(),
                (Some(key), _) if keys.len() > 2 => {
                    format!("`{key}.{}` in {table}: {message}", keys[2..].join("."))
                }
                (Some(key), _) => format!("`{key}` in {table}: {message}"),
                // `[stacks]` or `stacks = {...}`: a table where a list of tables belongs.
                (None, 1) if LIST_KEYS.contains(&keys[0].as_str()) => format!(
                    "`{0}`: {message} (write each entry as a [[{0}]] table)",
                    keys[0]
                ),
                (None, _) => format!("`{}`: {message}", keys.join(".")),
            }
        };
        ConfigError::Invalid {
            file: self.file.to_path_buf(),
            line,
            column,
            key: (!keys.is_empty()).then(|| keys.join(".")),
            message,
        }
    }

    /// The key assigned on a line (`expires = 2026-13-01`), as the key of a parse error
    /// that does not carry one; with the table the line is in.
    fn key_on_line(&self, line: usize) -> Vec<String> {
        let Some(text) = self.text.lines().nth(line.saturating_sub(1)) else {
            return Vec::new();
        };
        let Some((key, _)) = text.split_once('=') else {
            return Vec::new();
        };
        let key = key.trim();
        let is_bare = !key.is_empty()
            && key
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
        if !is_bare {
            return Vec::new();
        }
        let table = self
            .text
            .lines()
            .take(line.saturating_sub(1))
            .filter_map(|text| {
                let text = text.trim();
                text.strip_prefix("[[")
                    .and_then(|rest| rest.split_once("]]"))
                    .map(|(name, _)| name.trim().to_owned())
            })
            .last();
        table.into_iter().chain([key.to_owned()]).collect()
    }

    /// The stacks one `[[stacks]]` entry stands for.
    /// `owners = [...]`: users (`@login`), teams (`@org/team`) or email addresses, as
    /// CODEOWNERS spells them.
    fn owners(&self, entry: &RawStack) -> Result<Vec<crate::owners::Owner>, ConfigError> {
        let mut owners = Vec::new();
        for given in &entry.owners {
            let Some(owner) = crate::owners::Owner::parse(given.get_ref()) else {
                return Err(self.error(
                    given.span(),
                    "stacks.owners",
                    format!(
                        "`owners` entry \"{}\" is not a user (`@login`), a team (`@org/team`) \
                         or an email address",
                        given.get_ref().escape_debug()
                    ),
                ));
            };
            if !owners.contains(&owner) {
                owners.push(owner);
            }
        }
        Ok(owners)
    }

    fn stack_entry(
        &self,
        root: &Path,
        entry: &RawStack,
        entry_span: Range<usize>,
        warnings: &mut Vec<String>,
        discovered_roots: &mut impl FnMut(&mut Vec<String>) -> Result<Vec<StackSpec>, ConfigError>,
    ) -> Result<Vec<StackSpec>, ConfigError> {
        let Some(path) = &entry.path else {
            return Err(self.error(
                entry_span,
                "stacks.path",
                "a stack needs `path` (a Terraform directory) or `cloudformation` (a \
                 CloudFormation stack's name)"
                    .to_owned(),
            ));
        };
        for (key, given) in [
            ("region", &entry.region),
            ("profile", &entry.profile),
            ("template", &entry.template),
        ] {
            if let Some(given) = given {
                return Err(self.error(
                    given.span(),
                    &format!("stacks.{key}"),
                    format!("`{key}` is for CloudFormation stacks (`cloudformation = \"NAME\"`)"),
                ));
            }
        }
        let path_text = path.get_ref();
        let path_span = path.span();
        if path_text.trim().is_empty() {
            return Err(self.error(path_span, "stacks.path", "`path` is empty".to_owned()));
        }
        let relative = Path::new(path_text);
        if relative.is_absolute() {
            return Err(self.error(
                path_span,
                "stacks.path",
                format!("`path` \"{path_text}\" must be relative to the repository root"),
            ));
        }
        let is_glob = glob::is_glob(path_text);
        // In a glob, `..` could cancel a wildcard: not allowed at all.
        if is_glob && relative.components().any(|c| c == Component::ParentDir) {
            return Err(self.error(
                path_span,
                "stacks.path",
                format!("`path` glob \"{path_text}\" cannot use `..`"),
            ));
        }
        if discovery::inside(relative).is_none() {
            return Err(self.error(
                path_span,
                "stacks.path",
                format!("`path` \"{path_text}\" leaves the repository (`..`)"),
            ));
        }

        let non_empty = |value: &Spanned<String>, key: &str| {
            if value.get_ref().trim().is_empty() {
                Err(self.error(
                    value.span(),
                    &format!("stacks.{key}"),
                    format!("`{key}` is empty"),
                ))
            } else {
                Ok(value.get_ref().clone())
            }
        };
        let name = entry
            .name
            .as_ref()
            .map(|name| non_empty(name, "name"))
            .transpose()?;
        let workspace = entry
            .workspace
            .as_ref()
            .map(|workspace| non_empty(workspace, "workspace"))
            .transpose()?;
        let var_files = entry
            .var_files
            .iter()
            .map(|file| non_empty(file, "var_files").map(PathBuf::from))
            .collect::<Result<Vec<_>, _>>()?;
        let mut vars = Vec::new();
        for (key, value) in &entry.vars {
            if key.trim().is_empty() {
                return Err(self.error(
                    value.span(),
                    "stacks.vars",
                    "a variable in `vars` has an empty name".to_owned(),
                ));
            }
            vars.push((key.clone(), value.get_ref().clone()));
        }
        let spec = |path: PathBuf, name: Option<String>| StackSpec {
            name: name.unwrap_or_else(|| path.display().to_string()),
            path,
            workspace: workspace.clone(),
            var_files: var_files.clone(),
            vars: vars.clone(),
            cloudformation: None,
            owners: Vec::new(),
        };

        if !is_glob {
            let path = discovery::display_path(&discovery::inside(relative).unwrap_or_default());
            if cloudformation::in_cloudformation_namespace(&path) {
                return Err(self.error(
                    path_span,
                    "stacks.path",
                    cloudformation::namespace_message(&path),
                ));
            }
            if !root.join(&path).is_dir() {
                return Err(self.error(
                    path_span,
                    "stacks.path",
                    format!(
                        "`path` \"{path_text}\" is not a directory in {}",
                        root.display()
                    ),
                ));
            }
            return Ok(vec![spec(path, name)]);
        }
        if let Some(name) = &entry.name {
            return Err(self.error(
                name.span(),
                "stacks.name",
                format!(
                    "`name` cannot be given for the glob `{path_text}`: each stack it matches is named by its path"
                ),
            ));
        }
        let matched: Vec<StackSpec> = discovered_roots(warnings)?
            .into_iter()
            .filter(|stack| glob::path_matches(path_text, &stack.path.to_string_lossy()))
            .map(|stack| spec(stack.path, None))
            .collect();
        if matched.is_empty() {
            return Err(self.error(
                path_span,
                "stacks.path",
                format!(
                    "`path` glob `{path_text}` matches no directory with Terraform files (*.tf, *.tofu) that is not a module of another"
                ),
            ));
        }
        Ok(matched)
    }

    /// The rule one `[[ignore]]` entry makes, with its unnumbered id.
    fn ignore_entry(&self, entry: &Spanned<RawIgnore>) -> Result<IgnoreRule, ConfigError> {
        let span = entry.span();
        let entry = entry.get_ref();
        let resource = self
            .rule_glob(
                "ignore",
                "resource",
                &entry.resource,
                " (leave it out for every resource)",
            )?
            .unwrap_or_else(|| "*".to_owned());
        let attribute = self.rule_glob(
            "ignore",
            "attribute",
            &entry.attribute,
            " (leave it out for the whole resource)",
        )?;
        let stack = self.rule_glob(
            "ignore",
            "stack",
            &entry.stack,
            " (leave it out for every stack)",
        )?;
        let expires = self.rule_expires("ignore", &entry.expires)?;
        let reason = self.rule_reason(
            "ignore",
            span.clone(),
            &entry.reason,
            "ignored drift stays in the audit log, so say why",
        )?;
        Ok(IgnoreRule {
            id: ignore::base_id(&resource, attribute.as_deref(), stack.as_deref()),
            resource,
            attribute,
            stack,
            expires,
            reason,
            line: self.position(span.start).0,
        })
    }

    /// A glob of a rule in `[[table]]`: `None` when left out, an error when empty (`why`
    /// says what leaving it out means).
    fn rule_glob(
        &self,
        table: &str,
        key: &str,
        value: &Option<Spanned<String>>,
        why: &str,
    ) -> Result<Option<String>, ConfigError> {
        match value {
            Some(value) if value.get_ref().trim().is_empty() => Err(self.error(
                value.span(),
                &format!("{table}.{key}"),
                format!("`{key}` is empty{why}"),
            )),
            Some(value) => Ok(Some(value.get_ref().clone())),
            None => Ok(None),
        }
    }

    /// The `expires` day of a rule in `[[table]]`, as `YYYY-MM-DD`.
    fn rule_expires(
        &self,
        table: &str,
        value: &Option<Spanned<toml::Value>>,
    ) -> Result<Option<String>, ConfigError> {
        value
            .as_ref()
            .map(|value| {
                parse_date(value.get_ref()).map_err(|why| {
                    self.error(
                        value.span(),
                        &format!("{table}.expires"),
                        format!("`expires` {why}"),
                    )
                })
            })
            .transpose()
    }

    /// The required `reason` of a rule in `[[table]]` (the entry at `entry`); `why` says why
    /// it is required.
    fn rule_reason(
        &self,
        table: &str,
        entry: Range<usize>,
        value: &Option<Spanned<String>>,
        why: &str,
    ) -> Result<String, ConfigError> {
        let key = format!("{table}.reason");
        match value {
            None => Err(self.error(entry, &key, format!("[[{table}]] has no `reason`: {why}"))),
            Some(reason) if reason.get_ref().trim().is_empty() => {
                Err(self.error(reason.span(), &key, format!("`reason` is empty: {why}")))
            }
            Some(reason) => Ok(reason.get_ref().clone()),
        }
    }
}

/// The first backquoted name of a serde message after its `prefix`: `pth` in
/// "unknown field `pth`, expected one of ...".
fn quoted_after<'m>(message: &'m str, prefix: &str) -> Option<&'m str> {
    let rest = message.strip_prefix(prefix)?.strip_prefix('`')?;
    rest.split_once('`').map(|(name, _)| name)
}

/// The keys toml attached to a deserialization error (`stacks.workspace`); `None` when it
/// attached none. toml renders them only when the error has no input to quote.
fn error_keys(err: &toml::de::Error) -> Option<Vec<String>> {
    let mut bare = err.clone();
    bare.set_input(None);
    let rendered = bare.to_string();
    let keys = rendered
        .lines()
        .rev()
        .find_map(|line| line.strip_prefix("in `")?.strip_suffix('`'))?;
    Some(keys.split('.').map(str::to_owned).collect())
}

/// An `expires` value as `YYYY-MM-DD`: a TOML local date, or a string holding one.
fn parse_date(value: &toml::Value) -> Result<String, String> {
    let datetime = match value {
        toml::Value::Datetime(datetime) => *datetime,
        toml::Value::String(text) => {
            let well_formed = text.len() == 10
                && text.bytes().enumerate().all(|(at, byte)| {
                    if at == 4 || at == 7 {
                        byte == b'-'
                    } else {
                        byte.is_ascii_digit()
                    }
                });
            if !well_formed {
                return Err(format!("\"{text}\" is not a date like 2026-12-31"));
            }
            text.parse::<toml::value::Datetime>()
                .map_err(|err| format!("\"{text}\" is not a valid date ({err})"))?
        }
        other => {
            return Err(format!(
                "must be a date like 2026-12-31, not a {}",
                other.type_str()
            ))
        }
    };
    match (datetime.date, datetime.time, datetime.offset) {
        (Some(date), None, None) => Ok(format!(
            "{:04}-{:02}-{:02}",
            date.year, date.month, date.day
        )),
        _ => Err(format!("must be a date like 2026-12-31, not {datetime}")),
    }
}

#[cfg(test)]
mod fuzz;
#[cfg(test)]
mod tests;
