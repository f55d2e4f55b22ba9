//! `terraform-provider-filestate`: the Terraform provider `example/filestate`, a test double for
//! driftlog.
//!
//! Its only resource, `filestate_object`, keeps its "real" attributes in a JSON file per object,
//! `<directory>/<name>.json`. Read reports whatever that file says, so a test makes real drift by
//! editing a file (an `update` drift) or deleting it (a `delete` drift), with no cloud involved.
//!
//! ```hcl
//! provider "filestate" { directory = "store" } # relative to Terraform's working directory
//! resource "filestate_object" "web" {
//!   name = "web"          # required; the file is store/web.json; a new name replaces the object
//!   description = "..."   # optional string
//!   size = 3              # optional number
//!   enabled = true        # optional bool
//!   secret = "..."        # optional string, sensitive
//!   tags = { env = "prod" }
//!   rule {                # zero or more
//!     port = 22           # required number
//!     cidr_blocks = ["10.0.0.0/8"]
//!   }
//!   region = "eu"         # optional and computed: "local" when unset
//!   zone = "z1"           # optional, force-new: a change plans a replace (requires_replace)
//! }                       # computed only: id (= name), status ("active" on create),
//!                         # revision (1 on create, +1 per update; planned unknown, like an etag)
//! ```
//!
//! `store/web.json` holds the same keys, `null` (or absent) when unset, `"rule": []` without
//! blocks: `{"name": "web", "description": "...", "size": 3, "enabled": true, "secret": "...",
//! "tags": {"env": "prod"}, "rule": [{"port": 22, "cidr_blocks": ["10.0.0.0/8"]}],
//! "status": "active", "revision": 1, "region": "local"}`, and `"zone": "z1"` only when set.
//! Unknown keys are an error, so a typo in a test cannot go unnoticed.

mod object;
mod provider;

fn main() -> anyhow::Result<()> {
    // tf-provider appends a backtrace to every diagnostic when backtraces are enabled, and
    // RUST_BACKTRACE=1 is common in CI and test runs: keep diagnostics short and stable.
    // Panics still honour RUST_BACKTRACE. Set before any thread exists.
    std::env::set_var("RUST_LIB_BACKTRACE", "0");
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?
        // "filestate" prefixes the resource names: `object` is served as `filestate_object`.
        .block_on(tf_provider::serve(
            "filestate",
            provider::FileStateProvider::default(),
        ))
}
