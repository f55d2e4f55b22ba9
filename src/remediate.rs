//! Remediation: reverting recorded drift through a guarded, targeted apply of a saved plan.
//!
//! [`guard`] decides, from typed data only, whether applying a saved plan would revert
//! exactly the recorded drift and nothing else. Running terraform lives in
//! [`crate::terraform`] (`Terraform::plan_remediation`, `Terraform::apply_saved_plan`).

pub mod guard;
pub mod select;
