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
const MAX_MODULE_DIRS: usize = 1000;

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
        let mut declarations = Declarations {
            root: root.to_path_buf(),
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
        let (files, has_json) = match config_files(&path) {
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
fn config_files(dir: &Path) -> io::Result<(Vec<(String, bool)>, bool)> {
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
mod tests {
    use super::*;
    use crate::drift::path::Segment;

    fn write(root: &Path, rel: &str, text: &str) {
        let path = root.join(rel);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).expect("create dirs");
        }
        std::fs::write(path, text).expect("write file");
    }

    fn at(file: PathBuf, line: u32, exact: bool) -> Option<SourceLocation> {
        Some(SourceLocation { file, line, exact })
    }

    #[test]
    fn root_resource_line_skips_comments_heredocs_and_other_blocks() {
        let dir = tempfile::tempdir().expect("temp dir");
        let root = dir.path();
        write(
            root,
            "main.tf",
            "# A comment\n\
             \n\
             terraform {\n  required_version = \">= 1.5\"\n}\n\
             \n\
             /* a block comment\n   resource \"aws_s3_bucket\" \"logs\" {\n*/\n\
             locals {\n  policy = <<-EOT\n    resource \"aws_s3_bucket\" \"logs\" {\n    EOT\n}\n\
             \n\
             // the real one\n\
             resource \"aws_s3_bucket\" \"logs\" {\n  bucket = \"logs\"\n}\n",
        );
        let declarations = Declarations::load(root);
        assert_eq!(declarations.warnings(), &[] as &[String]);
        assert_eq!(
            declarations.locate(None, "managed", "aws_s3_bucket", "logs"),
            at(root.join("main.tf"), 17, true)
        );
    }

    #[test]
    fn crlf_bom_and_one_line_blocks() {
        let dir = tempfile::tempdir().expect("temp dir");
        let root = dir.path();
        write(
            root,
            "main.tf",
            "\u{feff}# x\r\n\r\nresource \"a\" \"one\" {}\r\nresource a two { x = 1 }\r\n",
        );
        let declarations = Declarations::load(root);
        assert_eq!(declarations.warnings(), &[] as &[String]);
        assert_eq!(
            declarations.locate(None, "managed", "a", "one"),
            at(root.join("main.tf"), 3, true)
        );
        assert_eq!(
            declarations.locate(None, "managed", "a", "two"),
            at(root.join("main.tf"), 4, true)
        );
    }

    #[test]
    fn data_source_and_managed_resource_are_told_apart() {
        let dir = tempfile::tempdir().expect("temp dir");
        let root = dir.path();
        write(
            root,
            "main.tf",
            "data \"aws_vpc\" \"main\" {\n  default = true\n}\n\nresource \"aws_vpc\" \"main\" {\n}\n",
        );
        write(
            root,
            "checks.tf",
            "check \"health\" {\n  data \"http\" \"site\" {\n    url = \"x\"\n  }\n}\n",
        );
        let declarations = Declarations::load(root);
        let main = root.join("main.tf");
        assert_eq!(
            declarations.locate(None, "data", "aws_vpc", "main"),
            at(main.clone(), 1, true)
        );
        assert_eq!(
            declarations.locate(None, "managed", "aws_vpc", "main"),
            at(main, 5, true)
        );
        assert_eq!(
            declarations.locate(None, "data", "http", "site"),
            at(root.join("checks.tf"), 2, true)
        );
        assert_eq!(declarations.locate(None, "managed", "http", "site"), None);
        assert_eq!(declarations.locate(None, "other", "aws_vpc", "main"), None);
    }

    #[test]
    fn resources_in_local_and_nested_modules_with_instance_keys() {
        let dir = tempfile::tempdir().expect("temp dir");
        let root = dir.path();
        write(
            root,
            "main.tf",
            "module \"a\" {\n  source   = \"./modules/a\"\n  for_each = toset([\"x\"])\n}\n",
        );
        write(
            root,
            "modules/a/main.tf",
            "resource \"null_resource\" \"in_a\" {}\n\nmodule \"b\" {\n  source = \"../b\"\n  count  = 2\n}\n",
        );
        write(
            root,
            "modules/b/main.tf",
            "variable \"v\" {}\n\nresource \"null_resource\" \"in_b\" {\n}\n",
        );
        let declarations = Declarations::load(root);
        assert_eq!(declarations.warnings(), &[] as &[String]);
        let in_a = at(root.join("modules/a").join("main.tf"), 1, true);
        let in_b = at(root.join("modules/b").join("main.tf"), 3, true);
        for address in ["module.a", "module.a[\"x\"]", "module.a[\"x.y]z\"]"] {
            assert_eq!(
                declarations.locate(Some(address), "managed", "null_resource", "in_a"),
                in_a,
                "{address}"
            );
        }
        for address in [
            "module.a.module.b",
            "module.a[\"x\"].module.b[1]",
            "module.a[\"x.y]z\"].module.b[0]",
            "module.a[\"q\\\"].module.c\"].module.b",
            "module.a[\"\\\\\"].module.b",
        ] {
            assert_eq!(
                declarations.locate(Some(address), "managed", "null_resource", "in_b"),
                in_b,
                "{address}"
            );
        }
        // Wrong module, or not a module address at all.
        assert_eq!(
            declarations.locate(Some("module.a"), "managed", "null_resource", "in_b"),
            None
        );
        assert_eq!(
            declarations.locate(None, "managed", "null_resource", "in_a"),
            None
        );
        for address in ["module.a[\"x]", "module.a.", "module.", "a", "module.a[0]x"] {
            assert_eq!(
                declarations.locate(Some(address), "managed", "null_resource", "in_a"),
                None,
                "{address}"
            );
        }
    }

    #[test]
    fn registry_module_found_through_modules_json() {
        let dir = tempfile::tempdir().expect("temp dir");
        let root = dir.path();
        write(
            root,
            "main.tf",
            "module \"net\" {\n  source  = \"terraform-aws-modules/vpc/aws\"\n  version = \"5.0.0\"\n}\n",
        );
        write(
            root,
            ".terraform/modules/modules.json",
            r#"{"Modules":[{"Key":"","Source":"","Dir":"."},
                {"Key":"net","Source":"registry.terraform.io/terraform-aws-modules/vpc/aws","Version":"5.0.0","Dir":".terraform/modules/net"},
                {"Key":"net.sub","Source":"./modules/sub","Dir":".terraform/modules/net/modules/sub"}]}"#,
        );
        write(
            root,
            ".terraform/modules/net/main.tf",
            "resource \"aws_vpc\" \"this\" {}\nmodule \"sub\" {\n  source = \"./modules/sub\"\n}\n",
        );
        write(
            root,
            ".terraform/modules/net/modules/sub/main.tf",
            "\nresource \"aws_subnet\" \"this\" {}\n",
        );
        let declarations = Declarations::load(root);
        assert_eq!(declarations.warnings(), &[] as &[String]);
        assert_eq!(
            declarations.locate(Some("module.net"), "managed", "aws_vpc", "this"),
            at(root.join(".terraform/modules/net/main.tf"), 1, true)
        );
        assert_eq!(
            declarations.locate(
                Some("module.net.module.sub"),
                "managed",
                "aws_subnet",
                "this"
            ),
            at(
                root.join(".terraform/modules/net/modules/sub/main.tf"),
                2,
                true
            )
        );
    }

    #[test]
    fn data_dir_elsewhere_is_relative_to_root() {
        let dir = tempfile::tempdir().expect("temp dir");
        let root = dir.path();
        write(
            root,
            "main.tf",
            "module \"net\" {\n  source = \"x/net\"\n}\n",
        );
        write(
            root,
            "tfdata/modules/modules.json",
            r#"{"Modules":[{"Key":"net","Source":"x/net","Dir":"tfdata/modules/net"}]}"#,
        );
        write(
            root,
            "tfdata/modules/net/main.tf",
            "resource \"r\" \"x\" {}\n",
        );
        let declarations = Declarations::load_with_data_dir(root, Path::new("tfdata"));
        assert_eq!(declarations.warnings(), &[] as &[String]);
        assert_eq!(
            declarations.locate(Some("module.net"), "managed", "r", "x"),
            at(root.join("tfdata/modules/net/main.tf"), 1, true)
        );
    }

    #[test]
    fn unresolvable_module_points_at_the_innermost_call() {
        let dir = tempfile::tempdir().expect("temp dir");
        let root = dir.path();
        write(
            root,
            "main.tf",
            "module \"local\" {\n  source = \"./local\"\n}\n",
        );
        write(
            root,
            "local/main.tf",
            "\n\nmodule \"remote\" {\n  source = \"git::https://example.com/m.git\"\n}\n",
        );
        let declarations = Declarations::load(root);
        assert_eq!(declarations.warnings(), &[] as &[String]);
        let call = at(root.join("local").join("main.tf"), 3, false);
        assert_eq!(
            declarations.locate(Some("module.local.module.remote"), "managed", "x", "y"),
            call
        );
        assert_eq!(
            declarations.locate(
                Some("module.local.module.remote[0].module.deeper"),
                "data",
                "x",
                "y"
            ),
            call
        );
    }

    #[test]
    fn unparsable_file_is_a_warning_and_others_are_still_read() {
        let dir = tempfile::tempdir().expect("temp dir");
        let root = dir.path();
        write(root, "broken.tf", "resource \"a\" \"b\" {\n  x = \n");
        write(root, "good.tf", "resource \"a\" \"c\" {}\n");
        write(root, "ignored.tf.json", "{}");
        write(root, "module.tf", "module \"m\" {\n  source = \"./m\"\n}\n");
        write(root, "m/broken.tf", "}\n");
        write(root, "m/ok.tf", "resource \"a\" \"d\" {}\n");
        let declarations = Declarations::load(root);
        let warnings = declarations.warnings();
        assert_eq!(warnings.len(), 2, "{warnings:?}");
        let broken = root.join("broken.tf");
        assert!(
            warnings[0].starts_with(&format!("{}: ", broken.display())),
            "{warnings:?}"
        );
        assert!(warnings[0].contains("line 2"), "{warnings:?}");
        assert!(warnings[1].contains("broken.tf"), "{warnings:?}");
        assert_eq!(
            declarations.locate(None, "managed", "a", "c"),
            at(root.join("good.tf"), 1, true)
        );
        assert_eq!(declarations.locate(None, "managed", "a", "b"), None);
        assert_eq!(
            declarations.locate(Some("module.m"), "managed", "a", "d"),
            at(root.join("m").join("ok.tf"), 1, true)
        );
        // Possibly in the file that could not be parsed: the call is the best guess.
        assert_eq!(
            declarations.locate(Some("module.m"), "managed", "a", "gone"),
            at(root.join("module.tf"), 1, false)
        );
    }

    #[test]
    fn module_cycles_terminate() {
        let dir = tempfile::tempdir().expect("temp dir");
        let root = dir.path();
        write(
            root,
            "main.tf",
            "module \"self\" {\n  source = \"./\"\n}\nmodule \"dot\" {\n  source = \".\"\n}\n\
             module \"a\" {\n  source = \"./a\"\n}\nresource \"r\" \"x\" {}\n",
        );
        write(
            root,
            "a/main.tf",
            "module \"back\" {\n  source = \"../a/../\"\n}\n",
        );
        let declarations = Declarations::load(root);
        assert_eq!(declarations.warnings(), &[] as &[String]);
        assert_eq!(
            declarations.locate(
                Some("module.self.module.dot[0].module.a.module.back.module.self"),
                "managed",
                "r",
                "x"
            ),
            at(root.join("main.tf"), 10, true)
        );
    }

    #[test]
    fn override_files_do_not_move_declarations_but_may_change_sources() {
        let dir = tempfile::tempdir().expect("temp dir");
        let root = dir.path();
        write(
            root,
            "a_override.tf",
            "resource \"r\" \"x\" {\n  y = 1\n}\nmodule \"m\" {\n  source = \"./real\"\n}\n",
        );
        write(
            root,
            "main.tf",
            "\nresource \"r\" \"x\" {}\nmodule \"m\" {\n  source = \"./stale\"\n}\n",
        );
        write(root, "real/main.tf", "resource \"r\" \"z\" {}\n");
        let declarations = Declarations::load(root);
        assert_eq!(
            declarations.locate(None, "managed", "r", "x"),
            at(root.join("main.tf"), 2, true)
        );
        assert_eq!(
            declarations.locate(Some("module.m"), "managed", "r", "z"),
            at(root.join("real").join("main.tf"), 1, true)
        );
    }

    #[test]
    fn unknown_resources_and_missing_root_are_none() {
        let dir = tempfile::tempdir().expect("temp dir");
        let root = dir.path();
        write(root, "main.tf", "resource \"r\" \"x\" {}\n");
        let declarations = Declarations::load(root);
        assert_eq!(declarations.locate(None, "managed", "r", "y"), None);
        assert_eq!(declarations.locate(None, "managed", "q", "x"), None);
        assert_eq!(
            declarations.locate(Some("module.nope"), "managed", "r", "x"),
            None
        );

        let missing = Declarations::load(&root.join("missing"));
        assert_eq!(missing.warnings().len(), 1);
        assert_eq!(missing.locate(None, "managed", "r", "x"), None);
    }

    #[test]
    fn tofu_files_hide_their_tf_twins_and_editor_files_are_ignored() {
        let dir = tempfile::tempdir().expect("temp dir");
        let root = dir.path();
        write(root, "main.tf", "resource \"r\" \"x\" {}\n");
        write(root, "main.tofu", "\nresource \"r\" \"x\" {}\n");
        write(root, ".#main.tf", "not hcl {{{");
        write(root, "main.tf~", "not hcl {{{");
        let declarations = Declarations::load(root);
        assert_eq!(declarations.warnings(), &[] as &[String]);
        assert_eq!(
            declarations.locate(None, "managed", "r", "x"),
            at(root.join("main.tofu"), 2, true)
        );
    }

    #[test]
    fn missing_module_dir_and_bad_manifest_are_warnings() {
        let dir = tempfile::tempdir().expect("temp dir");
        let root = dir.path();
        write(
            root,
            "main.tf",
            "module \"m\" {\n  source = \"./nope\"\n}\n",
        );
        write(root, ".terraform/modules/modules.json", "{\"Modules\": 3}");
        let declarations = Declarations::load(root);
        let warnings = declarations.warnings();
        assert_eq!(warnings.len(), 2, "{warnings:?}");
        assert!(warnings[0].contains("modules.json"), "{warnings:?}");
        assert!(warnings[1].contains("nope"), "{warnings:?}");
        assert_eq!(
            declarations.locate(Some("module.m"), "managed", "r", "x"),
            at(root.join("main.tf"), 1, false)
        );
    }

    fn key(name: &str) -> IgnoreStep {
        IgnoreStep::Key(name.to_owned())
    }

    fn ignoring(file: PathBuf, line: u32, paths: Vec<Vec<IgnoreStep>>) -> IgnoreChanges {
        IgnoreChanges {
            all: false,
            paths,
            at: SourceLocation {
                file,
                line,
                exact: true,
            },
        }
    }

    #[test]
    fn ignore_changes_of_a_root_resource_points_at_its_own_line() {
        let dir = tempfile::tempdir().expect("temp dir");
        let root = dir.path();
        write(
            root,
            "main.tf",
            "resource \"aws_instance\" \"web\" {\n  ami = \"x\"\n\n  lifecycle {\n    \
             create_before_destroy = true\n    ignore_changes = [\n      tags[\"env\"],\n    ]\n  \
             }\n}\n\nresource \"aws_instance\" \"all\" {\n  lifecycle {\n    ignore_changes = all\n  \
             }\n}\n",
        );
        let declarations = Declarations::load(root);
        assert_eq!(declarations.warnings(), &[] as &[String]);
        let main = root.join("main.tf");
        assert_eq!(
            declarations.ignore_changes(None, "aws_instance", "web"),
            Some(&ignoring(
                main.clone(),
                6,
                vec![vec![key("tags"), key("env")]]
            ))
        );
        let all = declarations.ignore_changes(None, "aws_instance", "all");
        assert_eq!(
            all,
            Some(&IgnoreChanges {
                all: true,
                paths: Vec::new(),
                at: SourceLocation {
                    file: main,
                    line: 14,
                    exact: true
                },
            })
        );
        assert!(all.is_some_and(|all| all.covers(&[Segment::Key("ami")])));
    }

    #[test]
    fn ignore_changes_paths_cover_what_is_inside_them() {
        let dir = tempfile::tempdir().expect("temp dir");
        let root = dir.path();
        write(
            root,
            "main.tf",
            "resource \"aws_security_group\" \"sg\" {\n  lifecycle {\n    \
             ignore_changes = [rule[0].cidr_blocks]\n  }\n}\n\
             resource \"aws_instance\" \"dotted\" {\n  lifecycle {\n    \
             ignore_changes = [tags.env]\n  }\n}\n\
             resource \"aws_instance\" \"indexed\" {\n  lifecycle {\n    \
             ignore_changes = [tags[\"env\"]]\n  }\n}\n",
        );
        let declarations = Declarations::load(root);
        assert_eq!(declarations.warnings(), &[] as &[String]);
        let sg = declarations
            .ignore_changes(None, "aws_security_group", "sg")
            .expect("sg ignores changes");
        use Segment::{Index, Key};
        assert!(sg.covers(&[Key("rule"), Index(0), Key("cidr_blocks"), Index(1)]));
        assert!(!sg.covers(&[Key("rule"), Index(1), Key("port")]));
        assert!(!sg.covers(&[Key("rule")]));

        let dotted = declarations.ignore_changes(None, "aws_instance", "dotted");
        let indexed = declarations.ignore_changes(None, "aws_instance", "indexed");
        assert_eq!(
            dotted.map(|found| &found.paths),
            indexed.map(|found| &found.paths)
        );
        for found in [dotted, indexed] {
            let found = found.expect("ignores changes");
            assert!(found.covers(&[Key("tags"), Key("env")]));
            assert!(!found.covers(&[Key("tags"), Key("Name")]));
        }
    }

    #[test]
    fn ignore_changes_in_local_and_registry_modules() {
        let dir = tempfile::tempdir().expect("temp dir");
        let root = dir.path();
        write(
            root,
            "main.tf",
            "module \"local\" {\n  source   = \"./modules/local\"\n  for_each = toset([\"a\"])\n}\n\
             module \"net\" {\n  source = \"terraform-aws-modules/vpc/aws\"\n}\n",
        );
        write(
            root,
            "modules/local/main.tf",
            "resource \"r\" \"x\" {\n  lifecycle {\n    ignore_changes = [a]\n  }\n}\n",
        );
        write(
            root,
            ".terraform/modules/modules.json",
            r#"{"Modules":[{"Key":"net","Source":"registry.terraform.io/terraform-aws-modules/vpc/aws","Dir":".terraform/modules/net"},
                {"Key":"net.sub","Source":"./sub","Dir":".terraform/modules/net/sub"}]}"#,
        );
        write(
            root,
            ".terraform/modules/net/main.tf",
            "module \"sub\" {\n  source = \"./sub\"\n  count  = 2\n}\n",
        );
        write(
            root,
            ".terraform/modules/net/sub/main.tf",
            "\nresource \"aws_subnet\" \"this\" {\n  lifecycle {\n    ignore_changes = [b]\n  }\n}\n",
        );
        let declarations = Declarations::load(root);
        assert_eq!(declarations.warnings(), &[] as &[String]);
        let local = Some(ignoring(
            root.join("modules/local").join("main.tf"),
            3,
            vec![vec![key("a")]],
        ));
        for address in ["module.local", "module.local[\"a\"]"] {
            assert_eq!(
                declarations
                    .ignore_changes(Some(address), "r", "x")
                    .cloned(),
                local,
                "{address}"
            );
        }
        assert_eq!(declarations.ignore_changes(None, "r", "x"), None);
        assert_eq!(
            declarations
                .ignore_changes(Some("module.net.module.sub[1]"), "aws_subnet", "this")
                .cloned(),
            Some(ignoring(
                root.join(".terraform/modules/net/sub/main.tf"),
                4,
                vec![vec![key("b")]]
            ))
        );
        assert_eq!(
            declarations.ignore_changes(Some("module.nope"), "aws_subnet", "this"),
            None
        );
        assert_eq!(
            declarations.ignore_changes(Some("not an address"), "r", "x"),
            None
        );
    }

    #[test]
    fn override_files_replace_ignore_changes() {
        let dir = tempfile::tempdir().expect("temp dir");
        let root = dir.path();
        write(
            root,
            "main.tf",
            "resource \"r\" \"replaced\" {\n  lifecycle {\n    ignore_changes = [a]\n  }\n}\n\
             resource \"r\" \"kept\" {\n  lifecycle {\n    ignore_changes = [a]\n  }\n}\n\
             resource \"r\" \"added\" {}\n",
        );
        write(
            root,
            "override.tf",
            "resource \"r\" \"replaced\" {\n  lifecycle {\n    ignore_changes = [b]\n  }\n}\n\
             resource \"r\" \"kept\" {\n  lifecycle {\n    prevent_destroy = true\n  }\n}\n\
             resource \"r\" \"added\" {\n  lifecycle {\n    ignore_changes = all\n  }\n}\n\
             resource \"r\" \"orphan\" {\n  lifecycle {\n    ignore_changes = [c]\n  }\n}\n",
        );
        write(
            root,
            "z_override.tf",
            "resource \"r\" \"replaced\" {\n  lifecycle {\n    ignore_changes = [\"c\"]\n  }\n}\n",
        );
        let declarations = Declarations::load(root);
        assert_eq!(declarations.warnings(), &[] as &[String]);
        assert_eq!(
            declarations.ignore_changes(None, "r", "replaced").cloned(),
            Some(ignoring(
                root.join("z_override.tf"),
                3,
                vec![vec![key("c")]]
            ))
        );
        assert_eq!(
            declarations.ignore_changes(None, "r", "kept").cloned(),
            Some(ignoring(root.join("main.tf"), 8, vec![vec![key("a")]]))
        );
        let added = declarations.ignore_changes(None, "r", "added");
        assert!(added.is_some_and(|added| added.all && added.at.line == 13));
        assert_eq!(declarations.ignore_changes(None, "r", "orphan"), None);
        // The declaration stays where the primary file has it.
        assert_eq!(
            declarations.locate(None, "managed", "r", "replaced"),
            at(root.join("main.tf"), 1, true)
        );
    }

    #[test]
    fn no_ignore_changes_is_none() {
        let dir = tempfile::tempdir().expect("temp dir");
        let root = dir.path();
        write(
            root,
            "main.tf",
            "resource \"r\" \"bare\" {}\n\
             resource \"r\" \"other_lifecycle\" {\n  lifecycle {\n    prevent_destroy = true\n  }\n}\n\
             resource \"r\" \"empty\" {\n  lifecycle {\n    ignore_changes = []\n  }\n}\n\
             data \"r\" \"read\" {\n  lifecycle {\n    postcondition {\n      condition = true\n      \
             error_message = \"x\"\n    }\n  }\n}\n",
        );
        let declarations = Declarations::load(root);
        assert_eq!(declarations.warnings(), &[] as &[String]);
        for name in ["bare", "other_lifecycle", "empty", "read", "missing"] {
            assert_eq!(declarations.ignore_changes(None, "r", name), None, "{name}");
        }
    }

    #[test]
    fn unparsable_ignore_changes_element_is_skipped_with_a_warning() {
        let dir = tempfile::tempdir().expect("temp dir");
        let root = dir.path();
        write(
            root,
            "main.tf",
            "resource \"r\" \"x\" {\n  lifecycle {\n    ignore_changes = [\n      tags,\n      \
             rule[*].port,\n      lookup(tags, \"a\"),\n    ]\n  }\n}\n",
        );
        let declarations = Declarations::load(root);
        let warnings = declarations.warnings();
        assert_eq!(warnings.len(), 2, "{warnings:?}");
        let main = root.join("main.tf");
        for (warning, line) in warnings.iter().zip([5, 6]) {
            assert!(
                warning.starts_with(&format!(
                    "{}: ignore_changes element skipped (line {line}: ",
                    main.display()
                )),
                "{warnings:?}"
            );
        }
        assert_eq!(
            declarations.ignore_changes(None, "r", "x").cloned(),
            Some(ignoring(main, 3, vec![vec![key("tags")]]))
        );
        // Only module calls are wanted there: lifecycles are not read.
        let (calls, warnings) = local_module_calls(root);
        assert_eq!((calls, warnings), (Vec::new(), Vec::new()));
    }

    #[test]
    fn for_each_resources_share_their_declaration_s_ignore_changes() {
        let dir = tempfile::tempdir().expect("temp dir");
        let root = dir.path();
        write(
            root,
            "main.tf",
            "resource \"aws_s3_bucket\" \"b\" {\n  for_each = toset([\"a\", \"b\"])\n  \
             bucket   = each.key\n  lifecycle {\n    ignore_changes = [tags]\n  }\n}\n",
        );
        let declarations = Declarations::load(root);
        // `aws_s3_bucket.b["a"]` and `aws_s3_bucket.b["b"]` are looked up by type and name.
        let found = declarations.ignore_changes(None, "aws_s3_bucket", "b");
        assert_eq!(
            found.cloned(),
            Some(ignoring(root.join("main.tf"), 5, vec![vec![key("tags")]]))
        );
        assert!(found.is_some_and(|found| found.covers(&[Segment::Key("tags"), Segment::Key("x")])));
    }

    #[test]
    fn cleans_paths_lexically() {
        assert_eq!(clean(Path::new("a/./b/../c")), PathBuf::from("a/c"));
        assert_eq!(clean(Path::new("a/../../b")), PathBuf::from("../b"));
        assert_eq!(clean(Path::new("./")), PathBuf::new());
        assert_eq!(clean(Path::new("/../x")), PathBuf::from("/x"));
    }
}
