//! The dashboard of drift over time, built from the verified audit log only. [`model`] turns
//! the log's records into typed series (per stack, per resource type and attribute); the
//! pages and charts render those and never read a record themselves.

pub mod model;
