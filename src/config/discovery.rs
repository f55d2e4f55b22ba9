//! Finding the root modules ("stacks") of a repository when no configuration lists them.

use std::collections::BTreeSet;
use std::io;
use std::path::{Component, Path, PathBuf};

use super::{ConfigError, StackSpec};
use crate::terraform::config::local_module_calls;

/// The stacks found under a repository root, and what could not be looked at.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Discovery {
    /// Sorted by path.
    pub stacks: Vec<StackSpec>,
    /// Directories or configuration files that could not be read or parsed, one sentence
    /// each naming the path. A module called from an unparsable file may be listed as a
    /// stack.
    pub warnings: Vec<String>,
}

/// The root modules under `root`: directories holding `*.tf` or `*.tofu` files, except
/// hidden directories (`.git`, `.terraform`, ...) and everything below them, and except
/// directories that another such directory calls as a local module (`source = "./x"` or
/// `"../x"`, relative to the caller). When `root` is a git work tree, directories git
/// ignores (build output, vendored copies) are skipped too. Symbolic links to directories
/// are not followed. Sorted by path, component by component; the root itself is `.`.
/// Directories under `cloudformation/`, where CloudFormation stacks are keyed, are left out
/// with a warning.
///
/// Fails only when `root` itself cannot be listed; other unreadable directories and files
/// are [`Discovery::warnings`].
pub fn discover(root: &Path) -> Result<Discovery, ConfigError> {
    // Only the repository whose work tree is `root`: an enclosing repository's ignore rules
    // are written for other paths.
    let repo = git2::Repository::open(root)
        .ok()
        .filter(|repo| repo.workdir().is_some());
    let (dirs, mut warnings) = config_dirs(root, repo.as_ref())?;
    let found: BTreeSet<&PathBuf> = dirs.iter().collect();
    let mut called = BTreeSet::new();
    for dir in &dirs {
        let (calls, read_warnings) = local_module_calls(&root.join(dir));
        warnings.extend(read_warnings);
        for call in calls {
            if let Some(target) = inside(&dir.join(call)) {
                if target != *dir && found.contains(&target) {
                    called.insert(target);
                }
            }
        }
    }
    let mut stacks = Vec::new();
    for dir in dirs.iter().filter(|dir| !called.contains(*dir)) {
        // Keyed there, it would mix with CloudFormation stacks: said, and left out.
        if super::cloudformation::in_cloudformation_namespace(dir) {
            warnings.push(format!(
                "{}: not scanned: {}",
                dir.display(),
                super::cloudformation::namespace_message(dir)
            ));
            continue;
        }
        stacks.push(StackSpec::at(display_path(dir)));
    }
    Ok(Discovery { stacks, warnings })
}

/// Every directory under `root` (relative, the root being the empty path) that holds
/// configuration files, sorted.
fn config_dirs(
    root: &Path,
    repo: Option<&git2::Repository>,
) -> Result<(Vec<PathBuf>, Vec<String>), ConfigError> {
    let mut dirs = Vec::new();
    let mut warnings = Vec::new();
    let mut pending = vec![PathBuf::new()];
    while let Some(rel) = pending.pop() {
        let path = root.join(&rel);
        let (subdirs, has_config) = match scan_dir(&path) {
            Ok(found) => found,
            Err(source) if rel.as_os_str().is_empty() => {
                return Err(ConfigError::Read { path, source });
            }
            Err(err) => {
                warnings.push(format!(
                    "{}: directory skipped, cannot be read ({err})",
                    path.display()
                ));
                continue;
            }
        };
        if has_config {
            dirs.push(rel.clone());
        }
        pending.extend(
            subdirs
                .into_iter()
                .map(|name| rel.join(name))
                .filter(|sub| !repo.is_some_and(|repo| repo.is_path_ignored(sub).unwrap_or(false))),
        );
    }
    dirs.sort();
    Ok((dirs, warnings))
}

/// The names of the subdirectories to walk into, and whether `dir` holds configuration.
fn scan_dir(dir: &Path) -> io::Result<(Vec<std::ffi::OsString>, bool)> {
    let mut subdirs = Vec::new();
    let mut has_config = false;
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let name = entry.file_name();
        let text = name.to_string_lossy();
        // Hidden entries and editor leftovers, which terraform skips too.
        if text.starts_with('.') || text.ends_with('~') || text.starts_with('#') {
            continue;
        }
        let file_type = entry.file_type()?;
        if file_type.is_dir() {
            subdirs.push(name);
        } else if (text.ends_with(".tf") || text.ends_with(".tofu"))
            && (file_type.is_file() || entry.path().is_file())
        {
            has_config = true;
        }
    }
    Ok((subdirs, has_config))
}

/// `path` lexically cleaned, or `None` if it leaves the root.
pub fn inside(path: &Path) -> Option<PathBuf> {
    let mut out = PathBuf::new();
    for component in path.components() {
        match component {
            Component::CurDir => {}
            Component::ParentDir => {
                if !out.pop() {
                    return None;
                }
            }
            Component::Normal(name) => out.push(name),
            Component::RootDir | Component::Prefix(_) => return None,
        }
    }
    Some(out)
}

/// A relative directory as stacks name it: `.` for the root.
pub(super) fn display_path(rel: &Path) -> PathBuf {
    if rel.as_os_str().is_empty() {
        PathBuf::from(".")
    } else {
        rel.to_path_buf()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(root: &Path, rel: &str, text: &str) {
        let path = root.join(rel);
        std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
        std::fs::write(path, text).expect("write");
    }

    fn paths(discovery: &Discovery) -> Vec<String> {
        discovery
            .stacks
            .iter()
            .map(|stack| stack.path.display().to_string())
            .collect()
    }

    #[test]
    fn finds_root_modules_only() {
        let dir = tempfile::tempdir().expect("temp dir");
        let root = dir.path();
        write(
            root,
            "infra/prod/main.tf",
            "module \"net\" {\n  source = \"../../modules/net\"\n}\n",
        );
        write(
            root,
            "infra/stage/main.tf",
            "module \"net\" {\n  source = \"./../../modules/net/\"\n}\nmodule \"r\" {\n  source = \"hashicorp/consul/aws\"\n}\n",
        );
        write(root, "apps/web/main.tofu", "resource \"a\" \"b\" {}\n");
        write(
            root,
            "bootstrap.tf",
            "module \"self\" {\n  source = \"./\"\n}\n",
        );
        // Used by two roots: a module, not a stack.
        write(root, "modules/net/main.tf", "resource \"a\" \"b\" {}\n");
        // A downloaded copy and a hidden directory.
        write(
            root,
            "infra/prod/.terraform/modules/x/main.tf",
            "resource \"a\" \"b\" {}\n",
        );
        write(root, ".github/tf/main.tf", "resource \"a\" \"b\" {}\n");
        // No configuration.
        write(root, "docs/README.md", "# docs\n");
        write(root, "json/main.tf.json", "{}\n");
        write(root, "backup/main.tf~", "x\n");
        let discovery = discover(root).expect("discover");
        assert_eq!(discovery.warnings, Vec::<String>::new());
        assert_eq!(
            paths(&discovery),
            vec![".", "apps/web", "infra/prod", "infra/stage"]
        );
        assert_eq!(discovery.stacks[0].name, ".");
        assert_eq!(discovery.stacks[2].name, "infra/prod");
        // Deterministic.
        assert_eq!(discover(root).expect("discover"), discovery);
    }

    #[test]
    fn skips_what_git_ignores() {
        let dir = tempfile::tempdir().expect("temp dir");
        let root = dir.path();
        git2::Repository::init(root).expect("git init");
        write(root, ".gitignore", "/target\nvendor/\n");
        write(root, "infra/prod/main.tf", "resource \"a\" \"b\" {}\n");
        write(
            root,
            "target/copy/infra/main.tf",
            "resource \"a\" \"b\" {}\n",
        );
        write(root, "infra/vendor/x/main.tf", "resource \"a\" \"b\" {}\n");
        // A file named like an ignored directory pattern does not hide a directory.
        write(root, "targets/main.tf", "resource \"a\" \"b\" {}\n");
        let discovery = discover(root).expect("discover");
        assert_eq!(paths(&discovery), vec!["infra/prod", "targets"]);
        // Below the repository root, the enclosing repository's rules are not applied.
        let below = discover(&root.join("target")).expect("discover");
        assert_eq!(paths(&below), vec!["copy/infra"]);
    }

    #[test]
    fn modules_calling_modules_and_escapes() {
        let dir = tempfile::tempdir().expect("temp dir");
        let root = dir.path();
        write(
            root,
            "live/main.tf",
            "module \"a\" {\n  source = \"../mods/a\"\n}\n",
        );
        write(
            root,
            "mods/a/main.tf",
            "module \"b\" {\n  source = \"../b\"\n}\n",
        );
        write(
            root,
            "mods/b/main.tf",
            "module \"out\" {\n  source = \"../../../x\"\n}\n",
        );
        write(root, "broken/main.tf", "resource \"a\" {\n");
        let discovery = discover(root).expect("discover");
        assert_eq!(paths(&discovery), vec!["broken", "live"]);
        assert_eq!(discovery.warnings.len(), 1, "{:?}", discovery.warnings);
        assert!(discovery.warnings[0].contains("main.tf"));
    }

    #[test]
    fn missing_root_is_an_error() {
        let dir = tempfile::tempdir().expect("temp dir");
        let err = discover(&dir.path().join("nope")).expect_err("missing");
        assert!(err.to_string().contains("nope"), "{err}");
    }

    #[test]
    fn cleans_and_confines_paths() {
        assert_eq!(inside(Path::new("a/./b/../c")), Some(PathBuf::from("a/c")));
        assert_eq!(inside(Path::new("a/..")), Some(PathBuf::new()));
        assert_eq!(inside(Path::new("a/../..")), None);
        assert_eq!(inside(Path::new("/a")), None);
    }
}
