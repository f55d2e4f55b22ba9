//! Fake GitHub REST API (stub, being written).
