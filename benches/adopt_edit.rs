//! `adopt::edit` on a large configuration file: 2,000 resource blocks (comments, maps, nested
//! blocks) in one file, adopting 1, 10, 100 and 500 values into it. Prints each time and the
//! time per value relative to one value; every value re-parses the edited text (nothing
//! invalid is ever written), so the time grows with values × file size. Asserts nothing.
//!
//! `cargo bench --bench adopt_edit` (ADOPT_BENCH_RESOURCES changes the file's size).

use std::path::PathBuf;
use std::time::Instant;

use driftlog::adopt::edit::{edit, NewValue, Outcome, SourceFile, Sources, Wanted};
use serde_json::json;

fn main() {
    let resources: usize = std::env::var("ADOPT_BENCH_RESOURCES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(2_000);
    let mut text = String::new();
    for i in 0..resources {
        text.push_str(&format!(
            "# Object {i}.\nresource \"filestate_object\" \"o{i}\" {{\n  name = \"o{i}\" # its name\n  size = {i}\n  tags = {{\n    env  = \"prod\"\n    team = \"t{i}\"\n  }}\n\n  rule {{\n    port        = 22\n    cidr_blocks = [\"10.0.0.0/8\"]\n  }}\n}}\n\n"
        ));
    }
    let sources = Sources {
        files: vec![SourceFile {
            path: PathBuf::from("main.tf"),
            text,
        }],
    };
    println!(
        "one file of {resources} resource blocks, {:.1} MB",
        sources.files[0].text.len() as f64 / 1e6
    );
    let mut per_value_of_one = None;
    for count in [1usize, 10, 100, 500] {
        let step = (resources / count).max(1);
        let wanted: Vec<Wanted> = (0..count)
            .map(|n| Wanted {
                resource_type: "filestate_object".into(),
                name: format!("o{}", (n * step) % resources),
                path: if n % 2 == 0 {
                    "size".into()
                } else {
                    "tags.team".into()
                },
                value: NewValue::Set(if n % 2 == 0 {
                    json!(n + 100_000)
                } else {
                    json!("adopted")
                }),
            })
            .collect();
        let t = Instant::now();
        let edits = edit(&sources, &wanted);
        let elapsed = t.elapsed().as_secs_f64();
        let edited = edits
            .outcomes
            .iter()
            .filter(|o| matches!(o, Outcome::Edited { .. }))
            .count();
        let per_value = elapsed / count as f64;
        let base = *per_value_of_one.get_or_insert(per_value);
        println!(
            "{count:>4} values ({edited} edited): {:>8.3} s, {:>7.2} ms per value, {:>6.2}x one value's",
            elapsed,
            per_value * 1e3,
            per_value / base
        );
    }
}
