//! driftlog: detect Terraform drift, explain it per attribute, and report it.
//!
//! Data flows one way: [`terraform`] runs terraform and reads its JSON, [`scan`] turns that
//! into the redacted model in [`drift`], and [`report`] renders the model. The library never
//! prints; only the binary talks to the terminal.
#![warn(clippy::print_stdout, clippy::print_stderr)]

pub mod actions;
pub mod adopt;
pub mod audit;
pub mod batch;
pub mod bounded;
pub mod config;
pub mod context;
pub mod dashboard;
pub mod digest;
pub mod drift;
pub mod engine;
pub mod events;
pub mod explain;
pub mod github;
pub mod interrupt;
pub mod json;
pub mod notify;
pub mod owners;
pub mod remediate;
pub mod report;
pub mod retry_after;
pub mod run;
pub mod scan;
pub mod secrets;
pub mod terraform;

/// `docs/limits.md` against the constants it names.
#[cfg(test)]
mod limits_doc;
