//! Errors the API answers with, and the faults a test configures (throttling, access denied,
//! failed detections).

use std::collections::{BTreeMap, BTreeSet};

use crate::scenario::Faults;

/// An error response: HTTP status, AWS error code and message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ApiError {
    pub status: u16,
    pub code: &'static str,
    pub message: String,
}

impl ApiError {
    pub(crate) fn new(status: u16, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
        }
    }

    /// CloudFormation's catch-all for bad input (HTTP 400 `ValidationError`).
    pub(crate) fn validation(message: impl Into<String>) -> Self {
        Self::new(400, "ValidationError", message)
    }

    /// A required parameter is absent, worded like CloudFormation's input validation.
    pub(crate) fn missing(parameter: &str) -> Self {
        let member = lower_first(parameter);
        Self::validation(format!(
            "1 validation error detected: Value null at '{member}' failed to satisfy constraint: \
             Member must not be null"
        ))
    }

    /// DescribeStacks, DescribeStackResources, ListStackResources and GetTemplate word a missing
    /// stack like this.
    pub(crate) fn no_stack_with_id(name: &str) -> Self {
        Self::validation(format!("Stack with id {name} does not exist"))
    }

    /// The drift operations word a missing stack like this.
    pub(crate) fn no_stack(name: &str) -> Self {
        Self::validation(format!("Stack [{name}] does not exist"))
    }
}

fn lower_first(name: &str) -> String {
    let mut chars = name.chars();
    match chars.next() {
        Some(first) => first.to_lowercase().chain(chars).collect(),
        None => String::new(),
    }
}

/// The faults in force.
#[derive(Debug)]
pub(crate) struct FaultState {
    pub throttle: BTreeMap<String, u32>,
    pub deny: BTreeSet<String>,
    pub fail_detection: BTreeMap<String, String>,
    pub polls_in_progress: u32,
    pub principal: String,
    pub repeat_drift_page_token: bool,
    pub stack_drift_status: BTreeMap<String, String>,
}

impl Default for FaultState {
    fn default() -> Self {
        Self::from(Faults::default())
    }
}

impl From<Faults> for FaultState {
    fn from(faults: Faults) -> Self {
        Self {
            throttle: faults.throttle,
            deny: faults.deny.into_iter().collect(),
            fail_detection: faults.fail_detection,
            polls_in_progress: faults.polls_in_progress,
            principal: faults.principal,
            repeat_drift_page_token: faults.repeat_drift_page_token,
            stack_drift_status: faults.stack_drift_status,
        }
    }
}

impl FaultState {
    /// Merges a scenario's faults into these.
    pub(crate) fn merge(&mut self, faults: Faults) {
        self.throttle.extend(faults.throttle);
        self.deny.extend(faults.deny);
        self.fail_detection.extend(faults.fail_detection);
        self.polls_in_progress = faults.polls_in_progress;
        self.principal = faults.principal;
        self.repeat_drift_page_token |= faults.repeat_drift_page_token;
        self.stack_drift_status.extend(faults.stack_drift_status);
    }

    /// `AccessDenied` when this action is denied; `resource` is the ARN IAM evaluated.
    pub(crate) fn check_denied(&self, action: &str, resource: &str) -> Result<(), ApiError> {
        if !self.deny.contains(action) {
            return Ok(());
        }
        Err(ApiError::new(
            403,
            "AccessDenied",
            format!(
                "User: {} is not authorized to perform: cloudformation:{action} on resource: \
                 {resource} because no identity-based policy allows the cloudformation:{action} \
                 action",
                self.principal
            ),
        ))
    }

    /// `Throttling` while this action has throttled calls left; each call uses one.
    pub(crate) fn check_throttled(&mut self, action: &str) -> Result<(), ApiError> {
        match self.throttle.get_mut(action) {
            Some(left) if *left > 0 => {
                *left -= 1;
                Err(ApiError::new(400, "Throttling", "Rate exceeded"))
            }
            _ => Ok(()),
        }
    }

    pub(crate) fn detection_failure(&self, stack_name: &str) -> Option<String> {
        self.fail_detection.get(stack_name).cloned()
    }
}
