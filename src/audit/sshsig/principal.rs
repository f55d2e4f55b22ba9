//! Which principals `driftlog keygen` writes into an allowed signers line: only those the line
//! holds as exactly themselves, as `ssh-keygen -Y verify -I PRINCIPAL` will look them up.

/// A principal that an allowed signers line cannot hold as itself.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "the principal {principal:?} cannot be written in an allowed signers file: {reason}; use a \
     plain name such as driftlog@ci or \"CI bot\""
)]
pub struct InvalidPrincipal {
    pub principal: String,
    pub reason: &'static str,
}

/// Whether `principal` can stand in an allowed signers line as exactly itself: one line
/// (no control characters), whitespace only as inner spaces (the line is then quoted, and a
/// quote cannot be escaped), and none of the pattern syntax (`,` separates principals, `*`
/// and `?` match others, a leading `!` negates, a leading `#` makes the line a comment).
pub fn check_principal(principal: &str) -> Result<(), InvalidPrincipal> {
    let reason = if principal.trim().is_empty() {
        Some("it is empty")
    } else if principal.chars().any(char::is_control) {
        Some("it holds a control character (a newline, a tab or the like), and a line holds one principal")
    } else if principal.chars().any(|c| c.is_whitespace() && c != ' ') {
        Some("it holds whitespace other than plain spaces")
    } else if principal.starts_with(' ') || principal.ends_with(' ') {
        Some("it starts or ends with a space")
    } else if principal.contains('"') {
        Some("it holds a double quote, which cannot be escaped there")
    } else if principal.contains(',') {
        Some("it holds a comma, which separates principals")
    } else if principal.contains(['*', '?']) {
        Some("it holds `*` or `?`, which would make it a pattern matching other principals")
    } else if principal.starts_with('!') {
        Some("it starts with `!`, which negates a pattern")
    } else if principal.starts_with('#') {
        Some("it starts with `#`, which makes the line a comment")
    } else {
        None
    };
    match reason {
        Some(reason) => Err(InvalidPrincipal {
            principal: principal.to_owned(),
            reason,
        }),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::super::{allowed_signers_line, AllowedSigners, SigningKey};
    use super::*;

    #[test]
    fn principals_that_would_break_the_line_are_refused() {
        for good in [
            "driftlog",
            "driftlog@ci",
            "CI bot",
            "ci-bot.prod",
            "équipe@ci",
            "a!b",
        ] {
            assert_eq!(check_principal(good), Ok(()), "{good:?}");
        }
        let refusals = [
            ("", "empty"),
            ("   ", "empty"),
            ("ci\nssh-ed25519 AAAA", "control character"),
            ("ci\r", "control character"),
            ("ci\tbot", "control character"),
            ("ci\0", "control character"),
            ("ci\u{2028}bot", "whitespace other than plain spaces"),
            ("ci\u{a0}bot", "whitespace other than plain spaces"),
            (" ci", "starts or ends with a space"),
            ("ci ", "starts or ends with a space"),
            ("ci\"bot", "double quote"),
            ("ci,other", "comma"),
            ("ci*", "pattern"),
            ("c?", "pattern"),
            ("!ci", "negates"),
            ("#ci", "comment"),
        ];
        for (bad, why) in refusals {
            let error = check_principal(bad).expect_err(bad);
            assert!(error.to_string().contains(why), "{bad:?}: {error}");
            assert!(error.to_string().contains(&format!("{bad:?}")), "{error}");
        }
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig { cases: 256, ..Default::default() })]

        /// A principal that passes makes a line naming exactly it; the rest are refused.
        #[test]
        fn fuzz_principal(principal in "[a-c ,*?!#\"@.\t\n\r\u{a0}\u{2028}é-]{0,8}") {
            let Ok(()) = check_principal(&principal) else {
                return Ok(());
            };
            let key = SigningKey::generate().expect("key");
            let line = allowed_signers_line(&principal, &key);
            proptest::prop_assert!(!line.contains('\n'), "{:?}", line);
            let signers = AllowedSigners::parse(&line).expect("the line parses");
            proptest::prop_assert_eq!(signers.entries().len(), 1);
            let entry = &signers.entries()[0];
            proptest::prop_assert_eq!(entry.principals(), principal.as_str());
            proptest::prop_assert!(entry.matches_principal(&principal));
            let longer = format!("{principal}x");
            proptest::prop_assert!(!entry.matches_principal(&longer));
        }
    }
}
