//! (in progress) `driftlog verify` and `driftlog log` against tampered logs.
