//! Where each drifted resource of a stack is declared, for its annotation: a Terraform
//! resource at its block in the stack's configuration, a CloudFormation resource at its
//! logical id in the template file the configuration names. Files are given relative to the
//! workspace, as GitHub places annotations by repository path.

use std::path::{Path, PathBuf};

use crate::drift::{DriftedResource, ScanReport, Status};
use crate::engine::cloudformation::template::{self, MAX_TEMPLATE_BYTES};
use crate::terraform::config::Declarations;

/// A stack's declarations, read once for all of its resources.
pub(super) enum Declared {
    Terraform(Declarations),
    /// The template's text and its path relative to the workspace.
    Template {
        file: String,
        text: String,
    },
    /// Nothing to read (a clean or failed scan, a stack without a template file, or a
    /// template outside the workspace or unreadable): annotations go on the run.
    Nowhere,
}

impl Declared {
    /// Reads what `report`'s drifted resources are declared in. A CloudFormation template
    /// path is relative to `root`, the repository the configuration was read in.
    pub(super) fn load(report: &ScanReport, root: &Path, workspace: Option<&Path>) -> Declared {
        if report.status != Status::Drifted {
            return Declared::Nowhere;
        }
        let Some(cfn) = &report.stack.cloudformation else {
            return Declared::Terraform(Declarations::load(Path::new(&report.stack.dir)));
        };
        let Some(template) = &cfn.template else {
            return Declared::Nowhere;
        };
        let path = root.join(template);
        let (Some(file), Ok(text)) = (
            relative_to(&path, workspace),
            // Bounded like the templates the engine reads: a pull request can name any file.
            crate::bounded::read_to_string(&path, MAX_TEMPLATE_BYTES as u64, "MAX_TEMPLATE_BYTES"),
        ) else {
            return Declared::Nowhere;
        };
        Declared::Template { file, text }
    }

    /// The file and 1-based line `resource` is declared at, as far as it is known.
    pub(super) fn locate(
        &self,
        resource: &DriftedResource,
        workspace: Option<&Path>,
    ) -> Option<(String, u32)> {
        match self {
            Declared::Terraform(declarations) => {
                let found = declarations.locate(
                    resource.module_address.as_deref(),
                    &resource.mode,
                    &resource.resource_type,
                    &resource.name,
                )?;
                Some((relative_to(&found.file, workspace)?, found.line))
            }
            Declared::Template { file, text } => {
                // A resource a CloudFormation module made is not in the repository's
                // template; the module is, as the outermost of its logical id hierarchy
                // (listed innermost first): like a Terraform module call, it stands in.
                let outermost_module = resource
                    .module_address
                    .as_deref()
                    .and_then(|hierarchy| hierarchy.rsplit('/').next());
                let line = template::locate(text, &resource.name)
                    .or_else(|| template::locate(text, outermost_module?))?;
                Some((file.clone(), line))
            }
            Declared::Nowhere => None,
        }
    }
}

/// `path` relative to the workspace, if it is a file inside it.
fn relative_to(path: &Path, workspace: Option<&Path>) -> Option<String> {
    let file: PathBuf = path.canonicalize().ok()?;
    let relative = file.strip_prefix(workspace?).ok()?;
    Some(relative.to_string_lossy().into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::drift::{Action, CloudFormationStack};

    fn cloudformation_report(template: Option<&str>) -> ScanReport {
        let mut report = ScanReport::test("cloudformation/app", Status::Drifted);
        report.stack.cloudformation = Some(CloudFormationStack {
            name: "app".into(),
            template: template.map(str::to_owned),
            ..Default::default()
        });
        report
    }

    fn resource(logical_id: &str, module: Option<&str>) -> DriftedResource {
        let mut resource = DriftedResource::test(logical_id, Action::Update, []);
        resource.name = logical_id.to_owned();
        resource.module_address = module.map(str::to_owned);
        resource
    }

    #[test]
    fn template_resources_and_module_resources_are_placed_at_their_lines() {
        let dir = tempfile::tempdir().expect("temp dir");
        let workspace = dir.path().canonicalize().expect("canonical");
        std::fs::create_dir(workspace.join("cfn")).expect("mkdir");
        let text = "Resources:\n  Web:\n    Type: AWS::EC2::Instance\n  Storage:\n    Type: \
                    Org::Storage::MODULE\n";
        std::fs::write(workspace.join("cfn/app.yaml"), text).expect("write");
        let report = cloudformation_report(Some("cfn/app.yaml"));
        let declared = Declared::load(&report, &workspace, Some(&workspace));
        let at = |resource: &DriftedResource| declared.locate(resource, Some(&workspace));
        assert_eq!(
            at(&resource("Web", None)),
            Some(("cfn/app.yaml".to_owned(), 2))
        );
        // Innermost module first: the template declares the outermost one.
        assert_eq!(
            at(&resource("StorageBucket", Some("Bucket/Storage"))),
            Some(("cfn/app.yaml".to_owned(), 4))
        );
        assert_eq!(at(&resource("Ghost", None)), None);
    }

    #[test]
    fn no_template_one_outside_the_workspace_or_one_too_large_places_nothing() {
        let dir = tempfile::tempdir().expect("temp dir");
        let root = dir.path().canonicalize().expect("canonical");
        let workspace = root.join("checkout");
        std::fs::create_dir(&workspace).expect("mkdir");
        std::fs::write(root.join("outside.yaml"), "Resources:\n  Web: {}\n").expect("write");
        let huge = format!(
            "Resources:\n  Web: {{}}\n#{}\n",
            "x".repeat(MAX_TEMPLATE_BYTES)
        );
        std::fs::write(workspace.join("huge.yaml"), huge).expect("write");
        for (template, root) in [
            (None, &workspace),
            (Some("outside.yaml"), &root),
            (Some("huge.yaml"), &workspace),
            (Some("missing.yaml"), &workspace),
        ] {
            let report = cloudformation_report(template);
            let declared = Declared::load(&report, root, Some(&workspace));
            assert!(matches!(declared, Declared::Nowhere), "{template:?}");
            assert_eq!(
                declared.locate(&resource("Web", None), Some(&workspace)),
                None
            );
        }
    }
}
