//! One run of `driftlog scan`: [`pipeline::run`] sequences the stages, each a function with
//! typed input and output (nothing here prints; the binary's observer does):
//! [`stacks`] (the scan settings made into one job per stack, each with its engine, see
//! `crate::engine`), the scan (`crate::batch` for many), [`ignore`] (the configuration's
//! ignore rules marked on each scan), [`output`] (the report rendered to standard output and
//! the `--output` file, before and after recording), [`record`] (the audit log, one push per
//! log), [`explain`] (the log, commits and events behind each drift), [`publish`] (runner
//! files and GitHub), and the outcome with its exit code.
//!
//! The other commands that run something: [`apply`] (`driftlog apply`, from its checks to its
//! record) and [`merge`] (saved reports read back and merged, for `report post` and `report
//! merge`).

pub mod adopt;
pub mod apply;
pub mod explain;
pub mod ignore;
pub mod latest;
pub mod merge;
pub mod notify;
pub mod output;
pub mod owners;
pub mod pipeline;
pub mod publish;
pub mod record;
pub mod remediate;
pub mod stacks;
pub mod verify;
pub mod witnessed;

/// An error and every one of its sources, as the binary prints errors (`{:#}` of anyhow).
pub(crate) fn full_chain(err: &dyn std::error::Error) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(inner) = source {
        text.push_str(&format!(": {inner}"));
        source = inner.source();
    }
    text
}

/// An error and its sources on one line, as a warning shows it; a source whose words the
/// message already holds is not repeated.
pub(crate) fn error_chain(err: &dyn std::error::Error) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(inner) = source {
        let inner_text = inner.to_string();
        if !text.contains(&inner_text) {
            text.push_str(": ");
            text.push_str(&inner_text);
        }
        source = inner.source();
    }
    text
}
