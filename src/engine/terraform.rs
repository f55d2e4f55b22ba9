//! Terraform and OpenTofu as an engine: `plan -refresh-only`, classified (see `crate::scan`).

use std::path::Path;

use crate::drift::{ScanReport, Stack};
use crate::scan::{self, Progress, ScanOptions};

use super::Engine;

/// One root module, scanned with the options given.
#[derive(Debug, Clone)]
pub struct TerraformEngine {
    pub options: ScanOptions,
}

impl Engine for TerraformEngine {
    fn dir(&self) -> &Path {
        &self.options.dir
    }

    fn stack(&self) -> Stack {
        let workspace = self.options.workspace.as_deref().unwrap_or("default");
        Stack::terraform(self.options.dir.display().to_string(), workspace)
    }

    fn scan(&self, progress: &mut dyn FnMut(Progress<'_>)) -> Vec<ScanReport> {
        vec![scan::scan(&self.options, progress)]
    }
}
