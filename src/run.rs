//! One run, as stages the binary calls in order, each taking settings the binary resolved
//! from its flags and returning what it did (nothing here prints):
//! [`ignore`] (the configuration's ignore rules marked on each scan), [`record`] (the audit
//! log, one push per log), [`explain`] (the log, commits and events behind each drift),
//! [`publish`] (runner files and GitHub), with [`stacks`] turning the scan settings into one
//! job per stack. The scan itself is `crate::batch`; the binary still sequences the stages
//! and prints between them.

pub mod explain;
pub mod ignore;
pub mod output;
pub mod pipeline;
pub mod publish;
pub mod record;
pub mod stacks;

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
