//! The three kinds of globs in `.driftlog.toml`, all with only `*` (any run of characters)
//! and `?` (one character); brackets and quotes are literal, since addresses and attribute
//! paths are full of them.
//!
//! - Path globs (`[[stacks]] path`, `[[ignore]] stack`) work per `/`-separated component: `*`
//!   and `?` stay within one component, and a component that is exactly `**` stands for any
//!   number of components, none included.
//! - Address globs match a resource instance address as terraform writes it, or one of the
//!   addresses that contain it, as `-target` does: `aws_instance.web` covers
//!   `aws_instance.web[0]`, and `module.net` covers everything inside `module.net["a"]`.
//! - Attribute globs match an attribute path as reports render it, or one of its ancestors
//!   (`tags` covers `tags.env`), with quoted keys also seen dotted, so `tags.*` covers
//!   `tags["a b"]`.

use wildmatch::WildMatch;

/// Whether the path glob `pattern` matches `path` (both relative, `/`-separated; empty and
/// `.` components are skipped, so `.` and the empty path are the root).
pub(crate) fn path_matches(pattern: &str, path: &str) -> bool {
    let pattern: Vec<&str> = components(pattern).collect();
    let path: Vec<&str> = components(path).collect();
    match_components(&pattern, &path)
}

/// Whether `text` holds `*` or `?`, so is a glob rather than a literal.
pub(crate) fn is_glob(text: &str) -> bool {
    text.contains(['*', '?'])
}

fn components(path: &str) -> impl Iterator<Item = &str> {
    path.split('/')
        .filter(|component| !component.is_empty() && *component != ".")
}

/// Components matched like characters in a glob: a `**` stands for any run of components,
/// anything else for exactly one. One pass with a single resume point (the latest `**`): a
/// later `**` can absorb whatever an earlier one would have, so going back further never
/// finds a match this misses. At most `pattern.len() * path.len()` component matches, however
/// many `**` there are (trying every split, as a plain recursion does, is exponential).
fn match_components(pattern: &[&str], path: &[&str]) -> bool {
    let globs: Vec<Option<WildMatch>> = pattern
        .iter()
        .map(|component| (*component != "**").then(|| WildMatch::new(component)))
        .collect();
    let (mut at_pattern, mut at_path) = (0, 0);
    // After the latest `**`: the pattern index following it, and the path index it has
    // absorbed up to.
    let mut resume: Option<(usize, usize)> = None;
    while at_path < path.len() {
        match globs.get(at_pattern) {
            Some(None) => {
                at_pattern += 1;
                resume = Some((at_pattern, at_path));
            }
            Some(Some(glob)) if glob.matches(path[at_path]) => {
                at_pattern += 1;
                at_path += 1;
            }
            _ => match resume {
                // The `**` takes one more component and the rest is tried again after it.
                Some((after, absorbed)) => {
                    resume = Some((after, absorbed + 1));
                    at_pattern = after;
                    at_path = absorbed + 1;
                }
                None => return false,
            },
        }
    }
    globs[at_pattern..].iter().all(Option::is_none)
}

/// Whether the address glob `pattern` matches the resource instance `address`, or a module
/// or resource that contains it.
pub(crate) fn address_matches(pattern: &str, address: &str) -> bool {
    let glob = WildMatch::new(pattern);
    address_candidates(address)
        .iter()
        .any(|candidate| glob.matches(candidate))
}

/// Whether the attribute glob `pattern` matches the attribute path `path`, or one of the
/// paths that contain it.
pub(crate) fn attribute_matches(pattern: &str, path: &str) -> bool {
    let glob = WildMatch::new(pattern);
    attribute_candidates(path)
        .iter()
        .any(|candidate| glob.matches(candidate))
}

/// One piece of an address or attribute path.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Token {
    /// A top-level `.`.
    Dot,
    /// A name between dots and keys.
    Name,
    /// An index or key in brackets; `key` is the decoded text of a quoted key.
    Key { key: Option<String> },
}

/// Splits `text` into tokens with their byte ranges; `None` if brackets or quotes do not
/// balance. Quoted keys use backslash escapes and may hold `.`, `[`, `]` and `"`.
fn tokenize(text: &str) -> Option<Vec<(usize, usize, Token)>> {
    let mut tokens = Vec::new();
    let bytes = text.as_bytes();
    let mut at = 0;
    while at < bytes.len() {
        match bytes[at] {
            b'.' => {
                tokens.push((at, at + 1, Token::Dot));
                at += 1;
            }
            b'[' => {
                let start = at;
                at += 1;
                let quoted = bytes.get(at) == Some(&b'"');
                if quoted {
                    at += 1;
                    loop {
                        match bytes.get(at)? {
                            b'\\' => at += 2,
                            b'"' => break,
                            _ => at += 1,
                        }
                    }
                    at += 1;
                    if bytes.get(at) != Some(&b']') {
                        return None;
                    }
                } else {
                    while *bytes.get(at)? != b']' {
                        at += 1;
                    }
                }
                at += 1;
                let key = quoted
                    .then(|| text.get(start + 1..at - 1))
                    .flatten()
                    .and_then(|literal| serde_json::from_str::<String>(literal).ok());
                tokens.push((start, at, Token::Key { key }));
            }
            _ => {
                let start = at;
                while at < bytes.len() && !matches!(bytes[at], b'.' | b'[') {
                    at += 1;
                }
                tokens.push((start, at, Token::Name));
            }
        }
    }
    Some(tokens)
}

/// The address itself and the addresses containing it: each module call on the way with and
/// without its instance key, and the resource without its instance key.
/// `module.a["x"].aws_b.c[0]` gives `module.a`, `module.a["x"]`, `module.a["x"].aws_b.c` and
/// itself. An address that does not parse is only itself.
fn address_candidates(address: &str) -> Vec<&str> {
    let mut candidates = vec![address];
    let Some(tokens) = tokenize(address) else {
        return candidates;
    };
    // Parts between top-level dots: a name and at most one key each.
    let mut parts: Vec<(usize, usize, usize, bool)> = Vec::new(); // (start, name end, end, keyed)
    let mut iter = tokens.iter().peekable();
    while let Some((start, name_end, token)) = iter.next() {
        if *token != Token::Name {
            return candidates;
        }
        let (end, keyed) = match iter.peek() {
            Some((_, end, Token::Key { .. })) => {
                let end = *end;
                iter.next();
                (end, true)
            }
            _ => (*name_end, false),
        };
        parts.push((*start, *name_end, end, keyed));
        match iter.next() {
            None => {}
            Some((_, _, Token::Dot)) if iter.peek().is_some() => {}
            Some(_) => return candidates,
        }
    }
    let name = |index: usize| &address[parts[index].0..parts[index].1];
    let mut index = 0;
    while index + 2 < parts.len() && name(index) == "module" {
        let (_, name_end, end, keyed) = parts[index + 1];
        candidates.push(&address[..name_end]);
        if keyed {
            candidates.push(&address[..end]);
        }
        index += 2;
    }
    let resource = &parts[index..];
    let is_resource = match resource {
        [_, _] => true,
        [first, _, _] => &address[first.0..first.1] == "data",
        _ => false,
    };
    if let (true, Some(&(_, name_end, _, true))) = (is_resource, resource.last()) {
        candidates.push(&address[..name_end]);
    }
    candidates
}

/// The path and its ancestors (`rule`, `rule[0]`, `rule[0].port`), each also with its quoted
/// keys written dotted (`tags["a b"]` as `tags.a b`). A path that does not parse is only
/// itself.
fn attribute_candidates(path: &str) -> Vec<String> {
    let mut candidates = vec![path.to_owned()];
    let Some(tokens) = tokenize(path) else {
        return candidates;
    };
    let mut dotted = String::new();
    for (index, (start, end, token)) in tokens.iter().enumerate() {
        match token {
            Token::Key { key: Some(key) } => {
                if !dotted.is_empty() {
                    dotted.push('.');
                }
                dotted.push_str(key);
            }
            _ => dotted.push_str(&path[*start..*end]),
        }
        let at_boundary = matches!(
            tokens.get(index + 1),
            None | Some((_, _, Token::Dot | Token::Key { .. }))
        );
        if at_boundary && !matches!(token, Token::Dot) {
            candidates.push(path[..*end].to_owned());
            candidates.push(dotted.clone());
        }
    }
    candidates.sort();
    candidates.dedup();
    candidates
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn path_globs_work_per_component() {
        assert!(path_matches("infra/*/live", "infra/prod/live"));
        assert!(!path_matches("infra/*/live", "infra/a/b/live"));
        assert!(!path_matches("infra/*", "infra"));
        assert!(path_matches("infra/*", "./infra/prod/"));
        assert!(path_matches("envs/**", "envs"));
        assert!(path_matches("envs/**", "envs/a/b"));
        assert!(!path_matches("envs/**", "other/a"));
        assert!(path_matches("**/live", "live"));
        assert!(path_matches("**/live", "a/b/live"));
        assert!(path_matches("**", "."));
        assert!(!path_matches("*", "."));
        assert!(path_matches("env?", "env1"));
        assert!(!path_matches("env?", "env10"));
        assert!(path_matches("a[1]", "a[1]"));
        assert!(!path_matches("a[1]", "a1"));
    }

    /// Many `**` against a long path: once exponential (25 of them took 104 s), now at most
    /// pattern × path component matches.
    #[test]
    fn many_double_stars_against_a_long_path() {
        let long_path = vec!["a"; 200].join("/");
        let stars = vec!["**"; 30].join("/");
        assert!(!path_matches(&format!("{stars}/b"), &long_path));
        assert!(path_matches(&format!("{stars}/a"), &long_path));
        assert!(path_matches(&format!("{stars}/a/**/a/{stars}"), &long_path));
        let alternating = vec!["**/a"; 40].join("/");
        assert!(path_matches(&alternating, &long_path));
        assert!(!path_matches(&format!("{alternating}/b"), &long_path));
        assert!(!path_matches(&vec!["**/a"; 201].join("/"), &long_path));
        let mut with_end = vec!["a"; 200];
        with_end.push("end");
        assert!(path_matches(&format!("{stars}/e*"), &with_end.join("/")));
    }

    /// `*` and `?` within one component, by trying every split: only for small inputs.
    fn reference_component(pattern: &[char], text: &[char]) -> bool {
        match pattern.split_first() {
            None => text.is_empty(),
            Some(('*', rest)) => {
                (0..=text.len()).any(|skip| reference_component(rest, &text[skip..]))
            }
            Some((&first, rest)) => match text.split_first() {
                Some((&c, text_rest)) => {
                    (first == '?' || first == c) && reference_component(rest, text_rest)
                }
                None => false,
            },
        }
    }

    /// Path globs by trying every split at every `**`: only for small inputs.
    fn reference_path(pattern: &[String], path: &[String]) -> bool {
        match pattern.split_first() {
            None => path.is_empty(),
            Some((first, rest)) if first == "**" => {
                (0..=path.len()).any(|skip| reference_path(rest, &path[skip..]))
            }
            Some((first, rest)) => match path.split_first() {
                Some((component, path_rest)) => {
                    let first: Vec<char> = first.chars().collect();
                    let component: Vec<char> = component.chars().collect();
                    reference_component(&first, &component) && reference_path(rest, path_rest)
                }
                None => false,
            },
        }
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig { cases: 256, ..Default::default() })]

        #[test]
        fn fuzz_glob(
            pattern in proptest::collection::vec(
                proptest::sample::select(vec!["**", "*", "a", "b", "?", "a*", "*b", "a?", "*a*", "ab", "", "."]),
                0..7,
            ),
            path in proptest::collection::vec(
                proptest::sample::select(vec!["a", "b", "ab", "ba", "aab", "", "."]),
                0..7,
            ),
        ) {
            let pattern_text = pattern.join("/");
            let path_text = path.join("/");
            let kept = |parts: &[&str]| -> Vec<String> {
                parts.iter().filter(|p| !p.is_empty() && **p != ".").map(|p| p.to_string()).collect()
            };
            let expected = reference_path(&kept(&pattern), &kept(&path));
            proptest::prop_assert_eq!(
                path_matches(&pattern_text, &path_text),
                expected,
                "pattern {:?} path {:?}",
                pattern_text,
                path_text
            );
        }
    }

    #[test]
    fn address_candidates_are_the_containing_modules_and_resource() {
        assert_eq!(
            address_candidates(r#"module.a["x"].aws_b.c[0]"#),
            vec![
                r#"module.a["x"].aws_b.c[0]"#,
                "module.a",
                r#"module.a["x"]"#,
                r#"module.a["x"].aws_b.c"#
            ]
        );
        assert_eq!(
            address_candidates("module.a.module.b[1].data.t.n"),
            vec![
                "module.a.module.b[1].data.t.n",
                "module.a",
                "module.a.module.b",
                "module.a.module.b[1]",
            ]
        );
        assert_eq!(
            address_candidates(r#"t.n["a.b]c\"d"]"#),
            vec![r#"t.n["a.b]c\"d"]"#, "t.n"]
        );
        // Not addresses: nothing but themselves.
        for odd in ["t.n[", "t..n", "t.n.", "[0]", "a.b.c.d[0]", r#"t.n["x]"#] {
            assert_eq!(address_candidates(odd), vec![odd]);
        }
    }

    #[test]
    fn address_globs() {
        let pattern = r#"module.a["x"].aws_b.c[*]"#;
        assert!(address_matches(pattern, r#"module.a["x"].aws_b.c[0]"#));
        assert!(address_matches(pattern, r#"module.a["x"].aws_b.c["k"]"#));
        assert!(!address_matches(pattern, r#"module.a["x"].aws_b.c"#));
        assert!(!address_matches(pattern, r#"module.a["y"].aws_b.c[0]"#));
        // Brackets are literal, not character classes.
        assert!(!address_matches(
            r#"module.a["x"].aws_b.c[0]"#,
            "module.a[x].aws_b.c0"
        ));

        let any_asg = "aws_autoscaling_group.*";
        assert!(address_matches(any_asg, "aws_autoscaling_group.web"));
        assert!(address_matches(any_asg, "aws_autoscaling_group.web[2]"));
        assert!(!address_matches(
            any_asg,
            "module.m.aws_autoscaling_group.web"
        ));
        assert!(!address_matches(any_asg, "aws_autoscaling_groups.web"));

        assert!(address_matches("aws_instance.web", "aws_instance.web[0]"));
        assert!(address_matches(
            "aws_instance.web",
            r#"aws_instance.web["a"]"#
        ));
        assert!(!address_matches("aws_instance.web", "aws_instance.web2"));
        assert!(address_matches(
            "module.net",
            r#"module.net["a"].aws_subnet.x"#
        ));
        assert!(address_matches(
            r#"module.net["a"]"#,
            r#"module.net["a"].module.s.t.n"#
        ));
        assert!(!address_matches(
            r#"module.net["a"]"#,
            r#"module.net["b"].t.n"#
        ));
        assert!(address_matches("module.?et.*", "module.net.t.n"));
        assert!(address_matches("*", r#"module.a["x"].t.n"#));
    }

    #[test]
    fn attribute_globs() {
        assert!(attribute_matches("tags.LastScanned", "tags.LastScanned"));
        assert!(!attribute_matches("tags.LastScanned", "tags.LastScannedAt"));
        assert!(!attribute_matches("tags.LastScanned", "tags"));
        assert!(attribute_matches("tags.*", "tags.env"));
        assert!(attribute_matches("tags.*", r#"tags["a b"]"#));
        assert!(attribute_matches(r#"tags["a b"]"#, r#"tags["a b"]"#));
        assert!(!attribute_matches("tags.*", "tags"));
        assert!(!attribute_matches("tags.*", "tags_all.env"));
        assert!(attribute_matches("tags", "tags.env"));
        assert!(!attribute_matches("tag", "tags.env"));
        assert!(attribute_matches("rule[*].port", "rule[0].port"));
        assert!(attribute_matches("rule[*].port", "rule[12].port.from"));
        assert!(!attribute_matches("rule[*].port", "rule[0].ports"));
        assert!(attribute_matches("rule", "rule[3]"));
        assert!(attribute_matches("rule[3]", "rule[3].cidr_blocks[0]"));
        assert!(attribute_matches("desired_capacity", "desired_capacity"));
    }
}
