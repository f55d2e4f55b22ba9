//! The route stage: who owns each scanned stack. The configuration's `owners` of the stack
//! come with its job ([`give`]); a stack without them gets CODEOWNERS' owners of its files
//! ([`route`]): a Terraform stack's files in its directory, a CloudFormation stack's
//! template, and a nested stack its parent's owners.

use std::path::Path;

use crate::drift::ScanReport;
use crate::owners::{self, CodeOwners, Owner};

/// Marks `report` owned by `owners` (the configuration's, for its job).
pub fn give(report: &mut ScanReport, owners: &[Owner]) {
    report.owners = owners.iter().map(Owner::display).collect();
}

/// Fills in the owners of the reports the configuration gave none, from the CODEOWNERS of
/// the repository at `root`; the warnings say which of its lines were skipped.
pub fn route(reports: &mut [ScanReport], root: &Path) -> Vec<String> {
    if reports.iter().all(|report| !report.owners.is_empty()) {
        return Vec::new();
    }
    let codeowners = CodeOwners::load(root);
    let Some(file) = &codeowners.file else {
        return Vec::new();
    };
    let warnings = codeowners
        .warnings
        .iter()
        .map(|warning| format!("{}: {warning}", file.display()))
        .collect();
    for index in 0..reports.len() {
        if !reports[index].owners.is_empty() {
            continue;
        }
        let found = match &reports[index].stack.cloudformation {
            // Scanned after its parent: the parent's owners are settled.
            Some(cfn) if cfn.parent.is_some() => {
                let parent = cfn.parent.as_ref().map(|p| p.stack.as_str());
                reports[..index]
                    .iter()
                    .find(|r| Some(r.stack.dir.as_str()) == parent)
                    .map(|r| r.owners.clone())
                    .unwrap_or_default()
            }
            Some(cfn) => match &cfn.template {
                Some(template) => displayed(codeowners.of_all([template.as_str()])),
                None => Vec::new(),
            },
            None => {
                let dir = super::ignore::stack_path(root, Path::new(&reports[index].stack.dir));
                let files = owners::stack_files(root, &dir);
                displayed(codeowners.of_all(files.iter().map(String::as_str)))
            }
        };
        reports[index].owners = found;
    }
    warnings
}

fn displayed(owners: Vec<Owner>) -> Vec<String> {
    owners.iter().map(Owner::display).collect()
}
