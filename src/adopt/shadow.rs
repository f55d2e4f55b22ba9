//! Configuration that terraform or OpenTofu reads over a `.tf` file, so that editing the
//! `.tf` file would not change what is planned: override files (`override.tf`,
//! `*_override.tf`, merged into the blocks they name, last one winning) and OpenTofu's
//! `.tofu` files (read instead of the `.tf` file of the same name). Blocks they touch are not
//! edited; the refusal says which file to change by hand.

use std::io;
use std::path::Path;

use super::edit::{parse, Sources};

/// Whether terraform merges `name` into the blocks of the other files.
pub fn is_override(name: &str) -> bool {
    let stem = name
        .strip_suffix(".tf.json")
        .or_else(|| name.strip_suffix(".tf"));
    stem.is_some_and(|stem| stem == "override" || stem.ends_with("_override"))
}

/// The OpenTofu files of `dir` (`*.tofu`, `*.tofu.json`), sorted; at most the first few,
/// enough to name them.
pub fn tofu_files(dir: &Path) -> io::Result<Vec<String>> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir(dir)? {
        let name = entry?.file_name().to_string_lossy().into_owned();
        if name.ends_with(".tofu") || name.ends_with(".tofu.json") {
            found.push(name);
        }
    }
    found.sort();
    Ok(found)
}

/// Why the block `resource "<resource_type>" "<name>"` is not edited, when an override file
/// of `sources` names it (a `.tf.json` override counts whenever it mentions the address).
pub fn overridden(sources: &Sources, resource_type: &str, name: &str) -> Option<String> {
    let address = format!("{resource_type}.{name}");
    sources.files.iter().find_map(|file| {
        let file_name = file.path.to_string_lossy();
        if !is_override(&file_name) {
            return None;
        }
        let names_it = match file_name.ends_with(".json") {
            true => file.text.contains(resource_type) && file.text.contains(name),
            false => match parse(&file.text) {
                Some((body, _)) => body.get_blocks("resource").any(|b| {
                    matches!(b.labels.as_slice(), [t, n] if t.as_str() == resource_type && n.as_str() == name)
                }),
                // Unreadable: it may override anything.
                None => true,
            },
        };
        names_it.then(|| {
            format!(
                "{file_name} overrides {address}: terraform merges override files into the \
                 block, so it is not edited; change it by hand"
            )
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::adopt::edit::SourceFile;
    use std::path::PathBuf;

    #[test]
    fn override_files_that_name_a_block_refuse_it() {
        assert!(is_override("override.tf") && is_override("db_override.tf.json"));
        assert!(!is_override("overrides.tf") && !is_override("main.tf"));
        let sources = Sources {
            files: vec![
                SourceFile {
                    path: PathBuf::from("main.tf"),
                    text:
                        "resource \"aws_x\" \"a\" {\n  size = 1\n}\nresource \"aws_x\" \"b\" {}\n"
                            .into(),
                },
                SourceFile {
                    path: PathBuf::from("z_override.tf"),
                    text: "resource \"aws_x\" \"a\" {\n  size = 2\n}\n".into(),
                },
            ],
        };
        let reason = overridden(&sources, "aws_x", "a").expect("refused");
        assert!(
            reason.starts_with("z_override.tf overrides aws_x.a"),
            "{reason}"
        );
        assert_eq!(overridden(&sources, "aws_x", "b"), None);
    }

    #[test]
    fn tofu_files_are_found() {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::write(dir.path().join("main.tf"), "").expect("write");
        assert!(tofu_files(dir.path()).expect("read").is_empty());
        std::fs::write(dir.path().join("main.tofu"), "").expect("write");
        assert_eq!(tofu_files(dir.path()).expect("read"), ["main.tofu"]);
    }
}
