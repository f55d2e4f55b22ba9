//! driftlog's own secrets (see `driftlog::secrets`).

pub use driftlog::secrets::github_token;
