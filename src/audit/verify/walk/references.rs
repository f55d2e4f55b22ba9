//! A remediation names two other records of the log by seq and SHA-256: the scan whose drift
//! it acted on and the scan that verified it; an adoption names the scan whose drift it
//! adopts. Each must be that record, a scan of the same stack, as the walk read it. A record before the walk's start (`--since`) was not read, so
//! a reference to it is proven only by the checkpoint the walk started from.

use super::Walk;
use crate::audit::record::{Record, RecordKind, RecordRef, StackRef};
use crate::audit::verify::tree::short_hash;

/// What a later remediation's reference is checked against.
pub(super) struct Referable {
    sha256: String,
    kind: RecordKind,
    stack: StackRef,
}

impl Walk<'_, '_> {
    /// Checks the references of `record` (seq `seq`, read with SHA-256 `sha256`), then keeps
    /// it for the records after it to reference.
    pub(super) fn check_references(
        &mut self,
        seq: u64,
        sha256: &str,
        record: &Record,
        problems: &mut Vec<String>,
    ) {
        if let Some(remediation) = &record.remediation {
            let named = [
                ("acts on", Some(&remediation.acts_on)),
                ("is verified by", remediation.verified_by.as_ref()),
            ];
            for (how, reference) in named {
                if let Some(why) = reference.and_then(|r| self.refused(r, &record.stack)) {
                    problems.push(format!("the remediation {how} {why}"));
                }
            }
        }
        if let Some(adoption) = &record.adoption {
            if let Some(why) = self.refused(&adoption.acts_on, &record.stack) {
                problems.push(format!("the adoption adopts {why}"));
            }
        }
        self.referable.insert(
            seq,
            Referable {
                sha256: sha256.to_owned(),
                kind: record.kind,
                stack: record.stack.clone(),
            },
        );
    }

    /// Why `reference` does not name a scan of `stack` as read, if it does not.
    fn refused(&self, reference: &RecordRef, stack: &StackRef) -> Option<String> {
        let seq = reference.seq;
        let read = self.referable.get(&seq)?;
        if read.sha256 != reference.record_sha256 {
            return Some(format!(
                "record {seq} as sha256:{}, but record {seq} is sha256:{}: it names other \
                 content than the log holds",
                short_hash(&reference.record_sha256),
                short_hash(&read.sha256)
            ));
        }
        if read.kind != RecordKind::Scan || read.stack != *stack {
            return Some(format!(
                "record {seq}, which is {} {} record of {} ({}), not a scan of {} ({})",
                read.kind.article(),
                read.kind.as_str(),
                read.stack.path,
                read.stack.workspace,
                stack.path,
                stack.workspace
            ));
        }
        None
    }
}
