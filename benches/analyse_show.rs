//! Parse-and-analyse throughput of driftlog on a `terraform show -json` document.
//!
//! `cargo bench --bench analyse_show -- FILE` (bench/scan-overhead.sh passes a real one).
//! Prints MB/s over repeated runs; asserts nothing.

use std::time::{Duration, Instant};

fn main() {
    let Some(path) = std::env::args().skip(1).find(|a| !a.starts_with("--")) else {
        eprintln!("usage: cargo bench --bench analyse_show -- SHOW_JSON_FILE");
        std::process::exit(2);
    };
    let json = match std::fs::read(&path) {
        Ok(json) => json,
        Err(err) => {
            eprintln!("reading {path}: {err}");
            std::process::exit(1);
        }
    };
    let mut runs = 0u32;
    let mut resources = 0;
    let started = Instant::now();
    while runs < 3 || started.elapsed() < Duration::from_secs(3) {
        match driftlog::scan::analyse_show_json(&json) {
            Ok(drifted) => resources = drifted.len(),
            Err(err) => {
                eprintln!("{path}: {err}");
                std::process::exit(1);
            }
        }
        runs += 1;
    }
    let seconds = started.elapsed().as_secs_f64() / f64::from(runs);
    let megabytes = json.len() as f64 / 1e6;
    println!(
        "driftlog parse+analyse: {megabytes:.2} MB, {resources} drifted resources, {:.1} ms/run, {:.1} MB/s ({runs} runs)",
        seconds * 1e3,
        megabytes / seconds
    );
}
