//! The engine seam: scanning one stack, whatever describes it. An engine turns a stack into
//! a [`ScanReport`] (drifted, clean or failed, never an error); nothing after the scan knows
//! which engine ran. Terraform (and OpenTofu) is [`terraform::TerraformEngine`]; a new
//! engine is a file here implementing [`Engine`], and the line in `run::stacks` that builds
//! it for the stacks it describes.

pub mod cloudformation;
pub mod terraform;

use std::path::Path;

use crate::drift::{ScanReport, Stack};

pub use crate::scan::Progress;

/// Scans one stack.
pub trait Engine: Send + Sync + std::fmt::Debug {
    /// The directory ignore rules, the audit log and reports place the stack at.
    fn dir(&self) -> &Path;

    /// The stack as it is known before any scan (for a report of a stack never scanned).
    fn stack(&self) -> Stack;

    /// Scans the stack, telling `progress` where it is: its report first, then those of the
    /// stacks it holds, each its own stack (CloudFormation's nested stacks). Never fails: a
    /// scan that cannot tell whether a stack drifted returns a failed report saying why.
    fn scan(&self, progress: &mut dyn FnMut(Progress<'_>)) -> Vec<ScanReport>;
}
