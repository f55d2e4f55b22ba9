//! Integration tests: real terraform, real provider.
