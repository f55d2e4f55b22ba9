//! Several stacks in one report: a multi-stack scan, or the merge of the partial reports
//! that parallel CI jobs wrote.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::{ScanReport, Status, SCHEMA_VERSION};

/// Every stack's report, in a stable order, and their sum.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct CombinedReport {
    pub schema_version: u32,
    /// The worst status of any stack: failed, then drifted, then clean.
    pub status: Status,
    pub summary: CombinedSummary,
    /// Sorted by directory, then workspace.
    pub stacks: Vec<ScanReport>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct CombinedSummary {
    pub stacks: usize,
    pub clean: usize,
    pub drifted: usize,
    pub failed: usize,
    /// Drifted resources that count, over all stacks.
    pub drifted_resources: usize,
    /// Drifted resources ignore rules cover, over all stacks.
    pub ignored_resources: usize,
    pub checked_resources: usize,
}

/// Either shape of JSON report, as files on disk hold them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum AnyReport {
    Combined(CombinedReport),
    Single(Box<ScanReport>),
}

impl AnyReport {
    pub fn into_stacks(self) -> Vec<ScanReport> {
        match self {
            AnyReport::Combined(combined) => combined.stacks,
            AnyReport::Single(single) => vec![*single],
        }
    }
}

/// Two partial reports named the same stack.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "stack {dir} (workspace {workspace}) is in more than one report: each stack must be \
     scanned by exactly one job (check the shards)"
)]
pub struct DuplicateStack {
    pub dir: String,
    pub workspace: String,
}

impl CombinedReport {
    /// Combines stack reports; the same stack twice is an error, since one of them would
    /// silently win.
    pub fn of(mut stacks: Vec<ScanReport>) -> Result<CombinedReport, DuplicateStack> {
        stacks.sort_by(|a, b| {
            (&a.stack.dir, &a.stack.workspace).cmp(&(&b.stack.dir, &b.stack.workspace))
        });
        if let Some(pair) = stacks.windows(2).find(|w| w[0].stack == w[1].stack) {
            return Err(DuplicateStack {
                dir: pair[0].stack.dir.clone(),
                workspace: pair[0].stack.workspace.clone(),
            });
        }
        let count = |status: Status| stacks.iter().filter(|s| s.status == status).count();
        let summary = CombinedSummary {
            stacks: stacks.len(),
            clean: count(Status::Clean),
            drifted: count(Status::Drifted),
            failed: count(Status::Failed),
            drifted_resources: stacks.iter().map(|s| s.summary.drifted).sum(),
            ignored_resources: stacks.iter().map(|s| s.summary.ignored).sum(),
            checked_resources: stacks.iter().map(|s| s.summary.checked).sum(),
        };
        let status = if summary.failed > 0 {
            Status::Failed
        } else if summary.drifted > 0 {
            Status::Drifted
        } else {
            Status::Clean
        };
        Ok(CombinedReport {
            schema_version: SCHEMA_VERSION,
            status,
            summary,
            stacks,
        })
    }

    /// Merges reports of disjoint sets of stacks (the shards of one scan).
    pub fn merge(reports: Vec<AnyReport>) -> Result<CombinedReport, DuplicateStack> {
        CombinedReport::of(
            reports
                .into_iter()
                .flat_map(AnyReport::into_stacks)
                .collect(),
        )
    }
}

/// The JSON Schema of [`CombinedReport`], as committed in `docs/combined-report.schema.json`.
pub fn json_schema() -> serde_json::Value {
    let mut schema = schemars::schema_for!(CombinedReport).to_value();
    schema["$id"] =
        serde_json::Value::String(format!("urn:driftlog:combined-report:v{SCHEMA_VERSION}"));
    schema
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::drift::Stack;

    fn report(dir: &str, status: Status) -> ScanReport {
        let mut report = ScanReport::new(
            Stack {
                dir: dir.into(),
                workspace: "default".into(),
            },
            "2026-11-24T00:00:00Z".into(),
        );
        report.status = status;
        report
    }

    #[test]
    fn the_worst_status_wins_and_stacks_are_sorted() {
        let combined = CombinedReport::of(vec![
            report("b", Status::Drifted),
            report("a", Status::Clean),
        ])
        .expect("distinct stacks");
        assert_eq!(combined.status, Status::Drifted);
        assert_eq!(combined.stacks[0].stack.dir, "a");
        let with_failure = CombinedReport::of(vec![
            report("b", Status::Drifted),
            report("c", Status::Failed),
        ])
        .expect("distinct stacks");
        assert_eq!(with_failure.status, Status::Failed);
        assert_eq!(with_failure.summary.failed, 1);
        assert_eq!(with_failure.status.exit_code(), 1);
    }

    #[test]
    fn merging_partials_equals_combining_them_and_rejects_overlap() {
        let whole = CombinedReport::of(vec![
            report("a", Status::Clean),
            report("b", Status::Drifted),
            report("c", Status::Clean),
        ])
        .expect("distinct");
        let part = CombinedReport::of(vec![report("c", Status::Clean), report("a", Status::Clean)])
            .expect("distinct");
        let merged = CombinedReport::merge(vec![
            AnyReport::Combined(part),
            AnyReport::Single(Box::new(report("b", Status::Drifted))),
        ])
        .expect("disjoint");
        assert_eq!(merged, whole);
        let overlap = CombinedReport::merge(vec![
            AnyReport::Combined(whole.clone()),
            AnyReport::Single(Box::new(report("b", Status::Clean))),
        ]);
        assert!(overlap.is_err());
    }

    #[test]
    fn both_shapes_parse() {
        let single = serde_json::to_string(&report("a", Status::Clean)).expect("json");
        assert!(matches!(
            serde_json::from_str::<AnyReport>(&single),
            Ok(AnyReport::Single(_))
        ));
        let combined = serde_json::to_string(
            &CombinedReport::of(vec![report("a", Status::Clean)]).expect("one stack"),
        )
        .expect("json");
        assert!(matches!(
            serde_json::from_str::<AnyReport>(&combined),
            Ok(AnyReport::Combined(_))
        ));
    }

    /// The committed schema is what the types generate; rerun with DRIFTLOG_UPDATE_SCHEMA=1.
    #[test]
    fn committed_combined_schema_matches_the_model() {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("docs/combined-report.schema.json");
        let generated = serde_json::to_string_pretty(&json_schema()).unwrap_or_default() + "\n";
        if std::env::var_os("DRIFTLOG_UPDATE_SCHEMA").is_some() {
            std::fs::write(&path, &generated).expect("write the schema");
        }
        let committed = std::fs::read_to_string(&path).unwrap_or_default();
        assert!(
            committed == generated,
            "docs/combined-report.schema.json is stale: run DRIFTLOG_UPDATE_SCHEMA=1 cargo test --lib schema"
        );
    }
}
