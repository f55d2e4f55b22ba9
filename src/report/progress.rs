//! Progress as words: what a spinner says while one stack is scanned, and the line a finished
//! stack of many gets.

use crate::drift::{ScanReport, Status};
use crate::engine::Progress;

use super::{human_duration, plural};

/// Where one stack's scan is.
pub fn step(progress: &Progress<'_>) -> String {
    match progress {
        Progress::Initializing => "terraform init".to_owned(),
        Progress::Planning => "terraform plan -refresh-only: starting".to_owned(),
        Progress::RefreshStarted { address } => format!("refreshing {address}"),
        Progress::RefreshCompleted { address, refreshed } => {
            format!(
                "refreshed {} (last: {address})",
                plural(*refreshed, "resource")
            )
        }
        Progress::Drift { address } => format!("drift: {address}"),
        Progress::Classifying { drifted } => {
            format!("terraform plan: which drift of {drifted} resources the configuration manages")
        }
        Progress::ReadingPlan { drifted } => {
            format!("reading values of {drifted} drifted resources")
        }
    }
}

/// `[done/total] name: result in duration`, for the stack of many that just finished.
pub fn stack_finished(done: usize, total: usize, name: &str, report: &ScanReport) -> String {
    let result = match report.status {
        Status::Clean => "clean".to_owned(),
        Status::Drifted => format!("drifted ({})", plural(report.summary.drifted, "resource")),
        Status::Failed => "FAILED".to_owned(),
    };
    format!(
        "[{done}/{total}] {name}: {result} in {}",
        human_duration(report.duration_ms)
    )
}

#[cfg(test)]
mod tests {
    use crate::drift::{ScanReport, Status};
    use crate::engine::Progress;

    #[test]
    fn a_finished_stack_says_its_place_result_and_time() {
        let mut report = ScanReport::test("infra", Status::Drifted);
        report.summary.drifted = 2;
        report.duration_ms = 1_500;
        let line = super::stack_finished(3, 7, "infra/prod", &report);
        assert_eq!(line, "[3/7] infra/prod: drifted (2 resources) in 1.5 s");
        let step = super::step(&Progress::RefreshCompleted {
            address: "aws_s3_bucket.logs",
            refreshed: 1,
        });
        assert_eq!(step, "refreshed 1 resource (last: aws_s3_bucket.logs)");
    }
}
