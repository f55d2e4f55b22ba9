//! Where resources are declared in a configuration (stub, being written).
