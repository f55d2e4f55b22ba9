use super::*;

#[test]
fn the_sample_is_marked_as_a_test() {
    let sample = Notification::sample("2026-12-04T00:00:00Z");
    assert!(sample.test);
    assert!(sample.title().starts_with("[test] "));
}
