//! An adoption's change as a unified diff (`git apply` and `patch -p1` take it), paths
//! relative to the repository root.

use similar::TextDiff;

/// One changed file: its repository-relative, `/`-separated path and both texts.
pub struct FileChange<'a> {
    pub path: &'a str,
    pub before: &'a str,
    pub after: &'a str,
}

/// The diff of every file, in the order given, with three lines of context.
pub fn unified(files: &[FileChange<'_>]) -> String {
    let mut out = String::new();
    for file in files {
        let diff = TextDiff::from_lines(file.before, file.after);
        let text = diff
            .unified_diff()
            .context_radius(3)
            .header(&format!("a/{}", file.path), &format!("b/{}", file.path))
            .to_string();
        // similar marks a last line without a newline as `diff` does.
        out.push_str(&text);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_changed_lines_and_their_context_are_in_the_diff() {
        let before = "a\nb\nc\nd\ne\nf\ng\nh\n";
        let after = "a\nb\nc\nd\nE\nf\ng\nh\n";
        let diff = unified(&[FileChange {
            path: "infra/main.tf",
            before,
            after,
        }]);
        assert_eq!(
            diff,
            "--- a/infra/main.tf\n+++ b/infra/main.tf\n@@ -2,7 +2,7 @@\n b\n c\n d\n-e\n+E\n f\n g\n h\n"
        );
        assert_eq!(
            unified(&[FileChange {
                path: "x",
                before,
                after: before
            }]),
            ""
        );
    }
}
