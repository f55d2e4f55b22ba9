use super::*;

fn realigned(text: &str, line: usize) -> String {
    let splices = realign(text, &BTreeSet::from([line]));
    super::super::splice::apply(text, &splices)
}

#[test]
fn a_run_moves_to_one_space_after_its_longest_code() {
    let text = "a {\n  x = \"longer\" # one\n  y = 1 # two\n\n  z = 2  # three\n}\n";
    assert_eq!(
        realigned(text, 2),
        "a {\n  x = \"longer\" # one\n  y = 1        # two\n\n  z = 2  # three\n}\n"
    );
}

#[test]
fn characters_not_bytes_count() {
    let text = "a {\n  x = \"éé\" # one\n  y = \"aaaa\" # two\n}\n";
    assert_eq!(
        realigned(text, 2),
        "a {\n  x = \"éé\"   # one\n  y = \"aaaa\" # two\n}\n"
    );
}

#[test]
fn hashes_in_strings_and_block_comments_are_not_trailing_comments() {
    let text = "a {\n  x = \"a#b\" // one\n  y = 1 /* c */\n  z = 2 # two\n}\n";
    assert_eq!(
        realigned(text, 2),
        "a {\n  x = \"a#b\" // one\n  y = 1 /* c */\n  z = 2 # two\n}\n"
    );
}

#[test]
fn a_run_next_to_a_heredoc_is_left_alone() {
    let text = "a {\n  x = <<EOT\n  # not a comment\nEOT\n  y = 1   # one\n}\n";
    assert_eq!(realigned(text, 5), text);
}
