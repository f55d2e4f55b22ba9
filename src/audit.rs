//! The audit log: every scan as a signed, hash-chained record on a dedicated git branch.
//!
//! Work in progress (issue 3): the building blocks land first, each tested against the
//! standard tools that verify it; the git store, push and `verify` follow.

pub mod canonical;
pub mod merkle;
pub mod note;
pub mod record;
pub mod recorder;
pub mod sshsig;
pub mod store;
pub mod sync;
pub mod verify;
