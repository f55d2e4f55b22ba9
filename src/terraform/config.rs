//! Where resources are declared in a configuration, so drift annotations can point at the
//! `.tf` line that declares each drifted resource.
//!
//! Best effort: files it cannot read or parse are skipped with a warning, and a resource it
//! cannot find is simply not located.
//!
//! It also reads each resource's `lifecycle { ignore_changes }`, so drift terraform is told
//! to ignore can be reported as such.

use std::collections::hash_map::Entry;
use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};
use std::io;
use std::ops::Range;
use std::path::{Component, Path, PathBuf};

use hcl_edit::structure::{Block, Body};
use hcl_edit::Span as _;

mod ignore;

pub use ignore::{IgnoreChanges, IgnoreStep};

/// More module directories than any real configuration has; bounds the walk if symlinks make
/// the tree of local module paths endless.
pub(crate) const MAX_MODULE_DIRS: usize = 1000;

/// Where a resource of a drift report is declared.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceLocation {
    /// The file: the directory given to [`Declarations::load`], joined with the module's
    /// directory relative to it (lexically cleaned, like terraform does) and the file name.
    pub file: PathBuf,
    /// 1-based line of the block's first line (`resource "t" "n" {`).
    pub line: u32,
    /// `true`: the resource block itself. `false`: the innermost `module "x" {}` call on the
    /// way to it, because the module's source could not be followed (a registry or git module
    /// that is not downloaded) or the module has files that could not be read.
    pub exact: bool,
}

/// The resource and module declarations of a configuration and the modules it calls.
#[derive(Debug, Clone, Default)]
pub struct Declarations {
    root: PathBuf,
    /// From `modules.json`: module key (`net.sub`) to its directory relative to `root`.
    installed: HashMap<String, PathBuf>,
    /// Every module directory read, by its lexically cleaned path relative to `root` (empty
    /// for the root module).
    dirs: HashMap<PathBuf, ModuleDir>,
    warnings: Vec<String>,
    /// Terraform itself, which never reads `*.tofu` files (OpenTofu prefers them).
    terraform_only: bool,
}

#[derive(Debug, Clone)]
struct ModuleDir {
    /// `(block keyword, type, name)`, e.g. `("resource", "aws_s3_bucket", "logs")`.
    resources: HashMap<(String, String, String), Resource>,
    /// Ordered so the walk, and so the warnings, are the same on every run.
    calls: BTreeMap<String, ModuleCall>,
    /// False when some configuration file here was not read (unreadable, unparsable or JSON):
    /// what is missing may just be unseen.
    complete: bool,
}

#[derive(Debug, Clone)]
struct Declared {
    file: PathBuf,
    line: u32,
}

#[derive(Debug, Clone)]
struct Resource {
    at: Declared,
    /// Whether a primary file declares it: override files amend only such resources (one
    /// overriding nothing is terraform's error).
    in_primary: bool,
    /// Always `None` for data sources.
    ignore_changes: Option<IgnoreChanges>,
}

#[derive(Debug, Clone)]
struct ModuleCall {
    at: Declared,
    source: Option<String>,
}

#[derive(serde::Deserialize)]
struct ModulesManifest {
    #[serde(rename = "Modules", default)]
    modules: Vec<ManifestEntry>,
}

#[derive(serde::Deserialize)]
struct ManifestEntry {
    #[serde(rename = "Key")]
    key: String,
    #[serde(rename = "Dir")]
    dir: String,
}

impl Declarations {
    /// Reads the configuration in `root` (its `*.tf` files, not recursively) and, following
    /// `module` blocks, the modules it calls; registry and git modules are found through
    /// `root/.terraform/modules/modules.json` when `terraform init` has downloaded them.
    ///
    /// Never fails: what cannot be read or parsed is skipped and described in
    /// [`warnings`](Self::warnings). JSON configuration (`*.tf.json`) is not read: its
    /// declarations are not located. OpenTofu's `*.tofu` files are read, and hide the `*.tf`
    /// file of the same name as OpenTofu does.
    pub fn load(root: &Path) -> Declarations {
        Declarations::load_with_data_dir(root, Path::new(".terraform"))
    }

    /// [`load`](Self::load) with terraform's data directory elsewhere (`TF_DATA_DIR`, which
    /// terraform resolves against `root`, as this does).
    pub fn load_with_data_dir(root: &Path, data_dir: &Path) -> Declarations {
        Declarations::load_for(root, data_dir, false)
    }

    /// [`load_with_data_dir`](Self::load_with_data_dir) as the tool that runs reads it:
    /// with `terraform_only`, `*.tofu` files are left out, as Terraform leaves them out.
    pub fn load_for(root: &Path, data_dir: &Path, terraform_only: bool) -> Declarations {
        let mut declarations = Declarations {
            root: root.to_path_buf(),
            terraform_only,
            ..Declarations::default()
        };
        declarations.read_manifest(&root.join(data_dir).join("modules").join("modules.json"));

        // Breadth first over directories rather than recursion over calls: each directory is
        // parsed once however many calls reach it, and a module that calls itself ends the walk
        // instead of recursing forever.
        let mut queue: VecDeque<PathBuf> = VecDeque::from([PathBuf::new()]);
        let mut installed: Vec<PathBuf> = declarations.installed.values().cloned().collect();
        installed.sort();
        queue.extend(installed);
        let mut seen = HashSet::new();
        while let Some(rel) = queue.pop_front() {
            if seen.contains(&rel) {
                continue;
            }
            if seen.len() >= MAX_MODULE_DIRS {
                declarations.warnings.push(format!(
                    "more than {MAX_MODULE_DIRS} module directories; the others are not searched"
                ));
                break;
            }
            seen.insert(rel.clone());
            let Some(dir) = declarations.read_dir(&rel, true) else {
                continue;
            };
            queue.extend(
                dir.calls
                    .values()
                    .filter_map(|call| local_source(&rel, call.source.as_deref()?)),
            );
            declarations.dirs.insert(rel, dir);
        }
        declarations
    }

    /// What could not be read, one sentence each, naming the file.
    pub fn warnings(&self) -> &[String] {
        &self.warnings
    }

    /// Where the resource is declared. `module_address` is `None` for the root module, else as
    /// terraform writes it (`module.net["a"].module.sub[0]`); instance keys are irrelevant, as
    /// all instances share one declaration. `mode` is `managed` or `data`.
    ///
    /// When a module on the way cannot be followed, this is the innermost `module` block found,
    /// with `exact: false`; a resource that is not declared anywhere it looked is `None`.
    pub fn locate(
        &self,
        module_address: Option<&str>,
        mode: &str,
        resource_type: &str,
        name: &str,
    ) -> Option<SourceLocation> {
        let keyword = match mode {
            "managed" => "resource",
            "data" => "data",
            _ => return None,
        };
        let module = self.resolve(module_address)?;
        match module
            .dir
            .and_then(|dir| dir.resource(keyword, resource_type, name))
        {
            Some(resource) => Some(resource.at.location(true)),
            None => module.fallback.map(|call| call.at.location(false)),
        }
    }

    /// The resource's `lifecycle { ignore_changes }`, override files applied; `None` when it
    /// has none or the resource is not found. Arguments as for [`locate`](Self::locate), for
    /// managed resources only: data sources have no lifecycle to ignore changes with.
    pub fn ignore_changes(
        &self,
        module_address: Option<&str>,
        resource_type: &str,
        name: &str,
    ) -> Option<&IgnoreChanges> {
        self.resolve(module_address)?
            .dir?
            .resource("resource", resource_type, name)?
            .ignore_changes
            .as_ref()
    }

    /// Follows a module address (`None` for the root module) through the module calls to the
    /// module's directory; `None` if it is not a module address.
    fn resolve(&self, module_address: Option<&str>) -> Option<Resolved<'_>> {
        let calls = module_address.map_or(Some(Vec::new()), module_call_names)?;
        let mut rel = PathBuf::new();
        let mut key = String::new();
        let mut enclosing: Option<&ModuleCall> = None;
        for call_name in calls {
            let dir = self.dirs.get(&rel);
            let Some(call) = dir.and_then(|dir| dir.calls.get(call_name)) else {
                return Some(Resolved::new(None, enclosing, dir));
            };
            if !key.is_empty() {
                key.push('.');
            }
            key.push_str(call_name);
            enclosing = Some(call);
            // terraform's own record of where it put the module wins, local modules included.
            let next = match self.installed.get(&key) {
                Some(dir) => Some(dir.clone()),
                None => call
                    .source
                    .as_deref()
                    .and_then(|source| local_source(&rel, source)),
            };
            match next {
                Some(next) => rel = next,
                None => return Some(Resolved::new(None, enclosing, None)),
            }
        }
        let dir = self.dirs.get(&rel);
        Some(Resolved::new(dir, enclosing, dir))
    }

    fn read_manifest(&mut self, path: &Path) {
        let text = match std::fs::read_to_string(path) {
            Ok(text) => text,
            // No manifest: nothing was installed, local modules are still followed.
            Err(err) if err.kind() == io::ErrorKind::NotFound => return,
            Err(err) => {
                self.warnings
                    .push(format!("{}: cannot be read ({err})", path.display()));
                return;
            }
        };
        match serde_json::from_str::<ModulesManifest>(&text) {
            Ok(manifest) => {
                for entry in manifest.modules {
                    if !entry.key.is_empty() {
                        self.installed
                            .insert(entry.key, clean(Path::new(&entry.dir)));
                    }
                }
            }
            // Position only: the document is not worth quoting.
            Err(err) => self.warnings.push(format!(
                "{}: ignored, not a module manifest (line {}, column {})",
                path.display(),
                err.line(),
                err.column()
            )),
        }
    }

    fn dir_path(&self, rel: &Path) -> PathBuf {
        if rel.as_os_str().is_empty() {
            self.root.clone()
        } else {
            self.root.join(rel)
        }
    }

    /// The declarations in one module directory; `None` (with a warning) if it cannot be listed.
    /// `lifecycles`: whether to read `ignore_changes` too, and warn about what is wrong in it.
    fn read_dir(&mut self, rel: &Path, lifecycles: bool) -> Option<ModuleDir> {
        let path = self.dir_path(rel);
        let (files, has_json) = match config_files(&path, self.terraform_only) {
            Ok(found) => found,
            Err(err) => {
                self.warnings.push(format!(
                    "{}: module directory cannot be read ({err})",
                    path.display()
                ));
                return None;
            }
        };
        let mut dir = ModuleDir {
            resources: HashMap::new(),
            calls: BTreeMap::new(),
            complete: !has_json,
        };
        for (name, is_override) in files {
            let file = path.join(&name);
            let text = match std::fs::read_to_string(&file) {
                Ok(text) => text,
                Err(err) => {
                    self.warnings.push(format!(
                        "{}: skipped, cannot be read ({err})",
                        file.display()
                    ));
                    dir.complete = false;
                    continue;
                }
            };
            // hcl-edit rejects a byte order mark; it sits before the first line break, so
            // dropping it changes no line number.
            let text = text.strip_prefix('\u{feff}').unwrap_or(&text);
            match hcl_edit::parser::parse_body(text) {
                Ok(body) => dir.add(
                    &body,
                    &file,
                    &LineIndex::new(text),
                    is_override,
                    lifecycles.then_some(&mut self.warnings),
                ),
                Err(err) => {
                    self.warnings.push(format!(
                        "{}: skipped, not valid HCL (line {}, column {}: {})",
                        file.display(),
                        err.location().line(),
                        err.location().column(),
                        err.message()
                    ));
                    dir.complete = false;
                }
            }
        }
        Some(dir)
    }
}

/// Where a module address leads.
struct Resolved<'a> {
    /// The module's directory, if the address leads to one that was read.
    dir: Option<&'a ModuleDir>,
    /// What to point at instead when what is sought is not in `dir`: the innermost call on the
    /// way, unless the walk ended in a directory read completely, where a miss is a true miss
    /// rather than our blind spot.
    fallback: Option<&'a ModuleCall>,
}

impl<'a> Resolved<'a> {
    /// `ended` is the directory where the walk ended, `None` if it was not read or the module
    /// could not be followed to one.
    fn new(
        dir: Option<&'a ModuleDir>,
        enclosing: Option<&'a ModuleCall>,
        ended: Option<&ModuleDir>,
    ) -> Resolved<'a> {
        let fallback = if ended.is_some_and(|ended| ended.complete) {
            None
        } else {
            enclosing
        };
        Resolved { dir, fallback }
    }
}

impl Declared {
    fn location(&self, exact: bool) -> SourceLocation {
        SourceLocation {
            file: self.file.clone(),
            line: self.line,
            exact,
        }
    }
}

impl ModuleDir {
    /// `lifecycle_warnings`: where problems in `ignore_changes` go; `None` to not read
    /// lifecycles at all.
    fn add(
        &mut self,
        body: &Body,
        file: &Path,
        lines: &LineIndex,
        is_override: bool,
        mut lifecycle_warnings: Option<&mut Vec<String>>,
    ) {
        let declared = |block: &Block| {
            Some(Declared {
                file: file.to_path_buf(),
                line: lines.line_of(block.span()?),
            })
        };
        let resource = |block: &Block, ignore_changes: Option<IgnoreChanges>| {
            Some(Resource {
                at: declared(block)?,
                in_primary: !is_override,
                ignore_changes,
            })
        };
        for block in body.blocks() {
            match (block.ident.as_str(), block.labels.as_slice()) {
                ("resource", [resource_type, name]) => {
                    let ignore_changes = lifecycle_warnings
                        .as_deref_mut()
                        .and_then(|warnings| ignore::of_resource(block, file, lines, warnings));
                    let found = resource(block, ignore_changes);
                    self.add_resource("resource", resource_type, name, found);
                }
                ("data", [resource_type, name]) => {
                    self.add_resource("data", resource_type, name, resource(block, None));
                }
                // Data sources scoped to a check block are addressed like any other.
                ("check", [_]) => {
                    for nested in block.body.get_blocks("data") {
                        if let [resource_type, name] = nested.labels.as_slice() {
                            let found = resource(nested, None);
                            self.add_resource("data", resource_type, name, found);
                        }
                    }
                }
                ("module", [name]) => {
                    let source = block
                        .body
                        .get_attribute("source")
                        .and_then(|attr| attr.value.as_str())
                        .map(str::to_owned);
                    match self.calls.get_mut(name.as_str()) {
                        // An override keeps the call where it is but may change its source.
                        Some(call) if is_override => {
                            if source.is_some() {
                                call.source = source;
                            }
                        }
                        // A second primary declaration is terraform's error; keep the first.
                        Some(_) => {}
                        None => {
                            if let Some(at) = declared(block) {
                                self.calls
                                    .insert(name.as_str().to_owned(), ModuleCall { at, source });
                            }
                        }
                    }
                }
                _ => {}
            }
        }
    }

    /// The first declaration wins: primary files are added before override files, whose
    /// blocks only amend those, and only their lifecycle is of interest here.
    fn add_resource(
        &mut self,
        keyword: &str,
        resource_type: &str,
        name: &str,
        found: Option<Resource>,
    ) {
        let Some(found) = found else {
            return;
        };
        let key = (
            keyword.to_owned(),
            resource_type.to_owned(),
            name.to_owned(),
        );
        match self.resources.entry(key) {
            Entry::Occupied(mut entry) => {
                let resource = entry.get_mut();
                // A second primary declaration is terraform's error; keep the first.
                if !found.in_primary && resource.in_primary {
                    IgnoreChanges::merge(&mut resource.ignore_changes, found.ignore_changes);
                }
            }
            // Overriding nothing is terraform's error: still located, but its lifecycle is
            // not trusted.
            Entry::Vacant(entry) => {
                entry.insert(Resource {
                    ignore_changes: found.ignore_changes.filter(|_| found.in_primary),
                    ..found
                });
            }
        }
    }

    fn resource(&self, keyword: &str, resource_type: &str, name: &str) -> Option<&Resource> {
        self.resources.get(&(
            keyword.to_owned(),
            resource_type.to_owned(),
            name.to_owned(),
        ))
    }
}

/// The local modules (`source = "./x"`, `"../x"`) the configuration in `dir` calls: each
/// source joined to the empty path and lexically cleaned, so relative to `dir` (`modules/net`,
/// `../shared`, or the empty path for `./`), sorted and deduplicated. Only `dir` itself is
/// read, as [`Declarations::load`] reads a module (override files may change a source); the
/// modules are not followed. What cannot be read or parsed is skipped and described in the
/// second element, one sentence each, naming the file.
pub fn local_module_calls(dir: &Path) -> (Vec<PathBuf>, Vec<String>) {
    let mut declarations = Declarations {
        root: dir.to_path_buf(),
        ..Declarations::default()
    };
    let here = Path::new("");
    let mut calls: Vec<PathBuf> = declarations
        .read_dir(here, false)
        .map(|module| {
            module
                .calls
                .values()
                .filter_map(|call| local_source(here, call.source.as_deref()?))
                .collect()
        })
        .unwrap_or_default();
    calls.sort();
    calls.dedup();
    (calls, declarations.warnings)
}

/// The configuration files of a directory as `(name, is_override)`, primary files first, each
/// group by name (terraform's merge order), and whether JSON configuration was left out.
fn config_files(dir: &Path, terraform_only: bool) -> io::Result<(Vec<(String, bool)>, bool)> {
    let mut names = Vec::new();
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let Ok(name) = entry.file_name().into_string() else {
            continue;
        };
        // Follows symlinks: a linked file is configuration too.
        if is_ignored(&name) || !entry.path().is_file() {
            continue;
        }
        if terraform_only && (name.ends_with(".tofu") || name.ends_with(".tofu.json")) {
            continue;
        }
        names.push(name);
    }
    let has_json = names
        .iter()
        .any(|name| name.ends_with(".tf.json") || name.ends_with(".tofu.json"));
    let mut files: Vec<(String, bool)> = names
        .iter()
        .filter_map(|name| {
            let stem = name
                .strip_suffix(".tofu")
                .or_else(|| name.strip_suffix(".tf"))?;
            let hidden_by_tofu =
                name.ends_with(".tf") && names.iter().any(|other| *other == format!("{stem}.tofu"));
            let is_override = stem == "override" || stem.ends_with("_override");
            (!hidden_by_tofu).then(|| (name.clone(), is_override))
        })
        .collect();
    files.sort_by(|a, b| (a.1, &a.0).cmp(&(b.1, &b.0)));
    Ok((files, has_json))
}

/// Editor backups and hidden files, which terraform does not read either.
fn is_ignored(name: &str) -> bool {
    name.starts_with('.') || name.ends_with('~') || (name.starts_with('#') && name.ends_with('#'))
}

/// The module directory a local `source` (`./x`, `../x`) names, relative to the root module.
fn local_source(caller: &Path, source: &str) -> Option<PathBuf> {
    let is_local =
        source.starts_with("./") || source.starts_with("../") || source == "." || source == "..";
    is_local.then(|| clean(&caller.join(source)))
}

/// Lexically resolves `.` and `..`, as terraform does for module paths; without it, paths
/// like `a/../a/../a` would make every visit of a cycle look like a new directory.
fn clean(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for component in path.components() {
        match component {
            Component::CurDir => {}
            Component::ParentDir => match out.components().next_back() {
                Some(Component::Normal(_)) => {
                    out.pop();
                }
                // `/..` is `/`.
                Some(Component::RootDir | Component::Prefix(_)) => {}
                _ => out.push(".."),
            },
            other => out.push(other.as_os_str()),
        }
    }
    out
}

/// The module call names of a module address, instance keys dropped:
/// `module.a["x.y]z"].module.b[0]` is `["a", "b"]`. `None` if it is not a module address.
pub(crate) fn module_call_names(address: &str) -> Option<Vec<&str>> {
    let mut names = Vec::new();
    let mut rest = address;
    while !rest.is_empty() {
        rest = rest.strip_prefix("module.")?;
        let end = rest.find(['.', '[']).unwrap_or(rest.len());
        let (name, tail) = rest.split_at(end);
        if name.is_empty() {
            return None;
        }
        names.push(name);
        rest = skip_instance_key(tail)?;
        if !rest.is_empty() {
            rest = rest.strip_prefix('.').filter(|next| !next.is_empty())?;
        }
    }
    Some(names)
}

/// `s` after a leading instance key (`[0]`, `["k"]`), if any. String keys are quoted with
/// backslash escapes and may hold any character, `"]` and `.` included.
fn skip_instance_key(s: &str) -> Option<&str> {
    let Some(key) = s.strip_prefix('[') else {
        return Some(s);
    };
    let Some(quoted) = key.strip_prefix('"') else {
        let end = key.find(']')?;
        return key.get(end + 1..);
    };
    let mut escaped = false;
    for (i, c) in quoted.char_indices() {
        match c {
            _ if escaped => escaped = false,
            '\\' => escaped = true,
            '"' => return quoted.get(i + 1..)?.strip_prefix(']'),
            _ => {}
        }
    }
    None
}

/// Byte offset to line number, by binary search over the line breaks.
struct LineIndex {
    breaks: Vec<usize>,
}

impl LineIndex {
    fn new(text: &str) -> LineIndex {
        LineIndex {
            breaks: text.match_indices('\n').map(|(at, _)| at).collect(),
        }
    }

    fn line_of(&self, span: Range<usize>) -> u32 {
        let line = self.breaks.partition_point(|&at| at < span.start) + 1;
        u32::try_from(line).unwrap_or(u32::MAX)
    }
}

#[cfg(test)]
mod tests;
