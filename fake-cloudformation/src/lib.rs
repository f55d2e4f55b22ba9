//! A stateful fake of the AWS CloudFormation API (query protocol, API version 2010-05-15) for
//! drift detection, to test driftlog's CloudFormation engine against the real AWS CLI v1.
//!
//! The CLI is pointed at the fake with `AWS_ENDPOINT_URL` (the [`FakeCloudFormation::url`]),
//! dummy credentials and `AWS_MAX_ATTEMPTS=1`. Answers are XML shaped like AWS's (botocore parses
//! them strictly); errors are `<ErrorResponse>`s with HTTP 400 (403 for `AccessDenied`).
//!
//! # Actions
//!
//! - `DetectStackDrift` (`StackName`, `LogicalResourceIds.member.N`): the stack must exist
//!   (`ValidationError` `Stack [X] does not exist`) and be in CREATE_COMPLETE, UPDATE_COMPLETE,
//!   UPDATE_ROLLBACK_COMPLETE or UPDATE_ROLLBACK_FAILED (else a `ValidationError` naming its
//!   status). Answers a `StackDriftDetectionId`.
//! - `DescribeStackDriftDetectionStatus`: `DETECTION_IN_PROGRESS` for
//!   [`FakeCloudFormation::polls_in_progress`] calls (default 1), then `DETECTION_COMPLETE`, or
//!   `DETECTION_FAILED` with a `DetectionStatusReason` for a stack given to
//!   [`FakeCloudFormation::fail_detection`] (whose results are still recorded, as AWS keeps the
//!   resources it did check). The drift is computed when the detection completes, from the
//!   properties at that moment: DELETED (no actual properties), MODIFIED (with
//!   `PropertyDifferences`, see below), UNKNOWN (a resource made so by [`ResourceSpec::unknown`]),
//!   else IN_SYNC. Resources whose type does not support drift detection are not checked.
//! - `DescribeStackResourceDrifts` (`StackResourceDriftStatusFilters.member.N`, `MaxResults` 1 to
//!   100, default 100, `NextToken`): the latest finished detection's results, paged with an opaque
//!   token (a bogus one is a `ValidationError`). Not paginated by the CLI: callers loop.
//!   [`FakeCloudFormation::repeat_drift_page_token`] makes every page answer the same token;
//!   [`FakeCloudFormation::report_stack_drift_status`] makes a detection's `StackDriftStatus`
//!   contradict its results.
//! - `DescribeStackResources`: every resource (the first 100, as AWS) with `DriftInformation`
//!   (NOT_CHECKED for unsupported types and before a detection checked the resource).
//!   `ListStackResources` pages them by 100 with `NextToken` (the CLI follows it).
//! - `GetTemplate`: the template text as given, `StagesAvailable` Original and Processed.
//! - `DescribeStacks` (all stacks without `StackName`): parameters (NoEcho ones as `****`),
//!   `DriftInformation`, and `ParentId`/`RootId` for nested stacks.
//!
//! Other actions are `InvalidAction`; a missing `Version` is `MissingParameter`, a missing
//! required parameter a `ValidationError`. Bodies over 1 MiB get HTTP 413.
//!
//! # Property differences
//!
//! Only the properties the template sets (the top-level keys of `expected`) are compared; inside
//! them the comparison is recursive over objects and arrays (element by element). `PropertyPath`
//! is JSON-pointer-like with keys as they are (`/Tags/0/Value`); `DifferenceType` is ADD (in
//! actual only), REMOVE (in expected only) or NOT_EQUAL. `ExpectedValue`/`ActualValue` hold a
//! string as itself and anything else as compact JSON; the missing side of an ADD or REMOVE reads
//! `null`. `ExpectedProperties`/`ActualProperties` are compact JSON (no `ActualProperties` for
//! DELETED and UNKNOWN resources).
//!
//! # Nested stacks
//!
//! A resource made with [`ResourceSpec::nested_stack`] (type `AWS::CloudFormation::Stack`) names
//! another stack of the fake; its PhysicalResourceId is that stack's StackId, and that stack's
//! `ParentId`/`RootId` follow. Detection does not descend into nested stacks (as in AWS).
//!
//! # Use from Rust
//!
//! ```no_run
//! use fake_cloudformation::{FakeCloudFormation, ResourceSpec, StackSpec};
//! use serde_json::json;
//!
//! let fake = FakeCloudFormation::start()?;
//! fake.add_stack(
//!     StackSpec::new("app")
//!         .template("Resources:\n  Bucket:\n    Type: AWS::S3::Bucket\n")
//!         .parameter("Env", "prod")
//!         .resource(
//!             ResourceSpec::new("Bucket", "AWS::S3::Bucket")
//!                 .physical_id("app-bucket")
//!                 .expected(json!({"BucketName": "app-bucket", "Tags": [{"Key": "env", "Value": "prod"}]})),
//!         ),
//! )?;
//! fake.set_actual_property("app", "Bucket", "/Tags/0/Value", Some(json!("dev")))?;
//! fake.throttle("DescribeStackResourceDrifts", 1);
//! // ... run driftlog with AWS_ENDPOINT_URL=fake.url() ...
//! let detections = fake.requests().iter().filter(|r| r.action.as_deref() == Some("DetectStackDrift")).count();
//! # let _ = detections;
//! # Ok::<(), fake_cloudformation::Error>(())
//! ```
//!
//! # Scenario files
//!
//! The binary `fake-cloudformation --scenario FILE.json [--port-file FILE]` loads a [`Scenario`]
//! (the same type [`FakeCloudFormation::start_with`] takes), serves on `127.0.0.1` at a free port,
//! writes `http://127.0.0.1:PORT` to the port file (atomically), and serves until SIGTERM/SIGINT,
//! or until its standard input closes when that is a pipe. Every field but the names has a default
//! (`scenario-example.json` in this crate, parsed by its tests):
//!
#![doc = concat!("```json\n", include_str!("../scenario-example.json"), "```")]

mod api;
mod diff;
mod faults;
mod ids;
mod requests;
mod scenario;
mod server;
mod state;
mod xml;

use std::sync::{Arc, Mutex};

use serde_json::Value;

pub use requests::RecordedRequest;
pub use scenario::{
    Faults, KeyValue, ModuleInfo, ParameterSpec, ResourceSpec, Scenario, StackSpec,
};
pub use server::MAX_BODY_BYTES;

use server::{lock, Running};
use state::State;

/// What the fake's own API refuses.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("could not start the fake CloudFormation server: {0}")]
    Start(#[source] std::io::Error),
    #[error("a stack named {0} already exists")]
    DuplicateStack(String),
    #[error("no stack named {0}")]
    UnknownStack(String),
    #[error("stack {stack} has no resource {logical_id}")]
    UnknownResource { stack: String, logical_id: String },
    #[error("no property at {pointer} in the actual properties of {logical_id}")]
    UnknownProperty { logical_id: String, pointer: String },
}

/// A running fake. Its server stops when this is dropped.
pub struct FakeCloudFormation {
    state: Arc<Mutex<State>>,
    url: String,
    // Stops and joins the serving thread when dropped.
    _running: Running,
}

impl FakeCloudFormation {
    /// An empty fake on 127.0.0.1 at a free port.
    pub fn start() -> Result<Self, Error> {
        Self::start_with(Scenario::default())
    }

    /// A fake with a scenario's stacks and faults.
    pub fn start_with(scenario: Scenario) -> Result<Self, Error> {
        let state = Arc::new(Mutex::new(State::default()));
        let running = Running::start(Arc::clone(&state), "127.0.0.1:0").map_err(Error::Start)?;
        let port = running
            .server
            .server_addr()
            .to_ip()
            .map(|a| a.port())
            .ok_or_else(|| Error::Start(std::io::Error::other("the server has no IP address")))?;
        let fake = Self {
            state,
            url: format!("http://127.0.0.1:{port}"),
            _running: running,
        };
        fake.load(scenario)?;
        Ok(fake)
    }

    /// `http://127.0.0.1:PORT`, for `AWS_ENDPOINT_URL`.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Adds a scenario's stacks, and its faults (which replace the detection timing and
    /// principal, and add to the throttled, denied and failing sets).
    pub fn load(&self, scenario: Scenario) -> Result<(), Error> {
        let mut state = lock(&self.state);
        for stack in scenario.stacks {
            state.add_stack(stack)?;
        }
        state.faults.merge(scenario.faults);
        Ok(())
    }

    /// Adds a stack; answers its StackId.
    pub fn add_stack(&self, stack: StackSpec) -> Result<String, Error> {
        lock(&self.state).add_stack(stack)
    }

    /// The StackId of the stack with this name.
    pub fn stack_id(&self, stack: &str) -> Option<String> {
        lock(&self.state).stack(stack).map(|s| s.stack_id.clone())
    }

    /// Changes a stack's StackStatus (e.g. to UPDATE_IN_PROGRESS, which detection refuses).
    pub fn set_stack_status(&self, stack: &str, status: &str) -> Result<(), Error> {
        let mut state = lock(&self.state);
        let found = state
            .stack_mut(stack)
            .ok_or_else(|| Error::UnknownStack(stack.to_owned()))?;
        found.status = status.to_owned();
        Ok(())
    }

    /// Changes reality: a resource's actual properties, or `None` to delete it out of band.
    pub fn set_actual(
        &self,
        stack: &str,
        logical_id: &str,
        actual: Option<Value>,
    ) -> Result<(), Error> {
        lock(&self.state).resource_mut(stack, logical_id)?.actual = actual;
        Ok(())
    }

    /// Sets (`Some`) or removes (`None`) one actual property, addressed by a JSON pointer
    /// (`/Tags/0/Value`); setting needs the parent to exist, removing needs the property to.
    pub fn set_actual_property(
        &self,
        stack: &str,
        logical_id: &str,
        pointer: &str,
        value: Option<Value>,
    ) -> Result<(), Error> {
        let mut state = lock(&self.state);
        let resource = state.resource_mut(stack, logical_id)?;
        let missing = || Error::UnknownProperty {
            logical_id: logical_id.to_owned(),
            pointer: pointer.to_owned(),
        };
        let actual = resource.actual.as_mut().ok_or_else(missing)?;
        let (parent_pointer, key) = pointer.rsplit_once('/').ok_or_else(missing)?;
        let parent = actual.pointer_mut(parent_pointer).ok_or_else(missing)?;
        match (parent, value) {
            (Value::Object(map), Some(value)) => {
                map.insert(key.to_owned(), value);
            }
            (Value::Object(map), None) => {
                map.remove(key).ok_or_else(missing)?;
            }
            (Value::Array(items), value) => {
                let index: usize = key.parse().map_err(|_| missing())?;
                match value {
                    Some(value) if index == items.len() => items.push(value),
                    Some(value) => *items.get_mut(index).ok_or_else(missing)? = value,
                    None if index < items.len() => {
                        items.remove(index);
                    }
                    None => return Err(missing()),
                }
            }
            _ => return Err(missing()),
        }
        Ok(())
    }

    /// The next `calls` calls of `action` answer `Throttling` ("Rate exceeded", HTTP 400).
    pub fn throttle(&self, action: &str, calls: u32) {
        lock(&self.state)
            .faults
            .throttle
            .insert(action.to_owned(), calls);
    }

    /// Calls of `action` answer `AccessDenied` (HTTP 403) until [`Self::allow`].
    pub fn deny(&self, action: &str) {
        lock(&self.state).faults.deny.insert(action.to_owned());
    }

    pub fn allow(&self, action: &str) {
        lock(&self.state).faults.deny.remove(action);
    }

    /// Detections of this stack end `DETECTION_FAILED` with this reason (`None`: complete again).
    pub fn fail_detection(&self, stack: &str, reason: Option<&str>) {
        let mut state = lock(&self.state);
        match reason {
            Some(reason) => state
                .faults
                .fail_detection
                .insert(stack.to_owned(), reason.to_owned()),
            None => state.faults.fail_detection.remove(stack),
        };
    }

    /// Every `DescribeStackResourceDrifts` page answers the same `NextToken` (`true`), as a
    /// buggy or hostile endpoint might, or pages normally again (`false`).
    pub fn repeat_drift_page_token(&self, repeat: bool) {
        lock(&self.state).faults.repeat_drift_page_token = repeat;
    }

    /// Finished detections of this stack report this `StackDriftStatus` whatever their results
    /// (`None`: the one the results give).
    pub fn report_stack_drift_status(&self, stack: &str, status: Option<&str>) {
        let mut state = lock(&self.state);
        match status {
            Some(status) => state
                .faults
                .stack_drift_status
                .insert(stack.to_owned(), status.to_owned()),
            None => state.faults.stack_drift_status.remove(stack),
        };
    }

    /// How many status polls answer `DETECTION_IN_PROGRESS` for detections started from now on.
    pub fn polls_in_progress(&self, polls: u32) {
        lock(&self.state).faults.polls_in_progress = polls;
    }

    /// Every request so far, oldest first.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        lock(&self.state).requests.clone()
    }

    /// The requests for one action, oldest first.
    pub fn requests_for(&self, action: &str) -> Vec<RecordedRequest> {
        lock(&self.state)
            .requests
            .iter()
            .filter(|r| r.action.as_deref() == Some(action))
            .cloned()
            .collect()
    }

    pub fn clear_requests(&self) {
        lock(&self.state).requests.clear();
    }
}
