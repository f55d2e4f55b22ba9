//! What serde_json refuses although it is valid JSON, named for what it is: input that nests
//! deeper than its recursion limit is reported by serde_json as a syntax error.

/// How deep JSON may nest in what driftlog reads (terraform's documents, saved reports, event
/// files): the deepest serde_json's recursion limit lets through. No real document comes near.
pub const MAX_JSON_NESTING: usize = 127;

/// Whether serde_json gave up at its recursion limit. It says so only in its message.
pub fn is_too_deep(err: &serde_json::Error) -> bool {
    err.to_string().starts_with("recursion limit exceeded")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn too_deep_is_told_from_broken() {
        let deep = format!(
            "{}{}",
            "[".repeat(MAX_JSON_NESTING + 1),
            "]".repeat(MAX_JSON_NESTING + 1)
        );
        let err = serde_json::from_str::<serde_json::Value>(&deep).expect_err("too deep");
        assert!(is_too_deep(&err), "{err}");
        let fits = format!(
            "{}{}",
            "[".repeat(MAX_JSON_NESTING),
            "]".repeat(MAX_JSON_NESTING)
        );
        assert!(serde_json::from_str::<serde_json::Value>(&fits).is_ok());
        let broken = serde_json::from_str::<serde_json::Value>("[").expect_err("broken");
        assert!(!is_too_deep(&broken));
    }
}
