//! GitHub Actions runner files (stub, being written).
