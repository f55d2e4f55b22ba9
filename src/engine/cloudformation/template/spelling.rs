//! Secure dynamic references that `Fn::Join` or `Fn::Sub` assemble out of pieces, none of
//! which holds one whole: `!Join ['', ['{{resolve:secrets', 'manager:db}}']]`. CloudFormation
//! resolves references after the functions, so the assembled text counts.
//!
//! The pieces are read in order as literal text and gaps: what another function or a Sub
//! variable computes. A gap stands for any text without braces, of any length; one that may
//! hold a brace is the caller's to judge (it counts as a secret outright). The value may carry
//! a secret when `{{resolve:` followed by anything but `ssm:` can be spelled so.

/// `{{resolve:`, matched in any case.
const OPENING: &[u8] = b"{{resolve:";
/// The one service whose references are not secret.
const PLAIN: &[u8] = b"ssm:";
/// States below this have read no more than the first brace: a gap can only be empty there.
const BEFORE_BOTH_BRACES: u16 = 0b11;

/// What has been read so far. State `s` up to `OPENING.len()` has read `OPENING[..s]`; above,
/// `OPENING` and then `PLAIN[..s - OPENING.len()]`. A reference may begin at any character.
#[derive(Debug, Default, Clone, Copy)]
pub(super) struct Spelling {
    states: u16,
    found: bool,
}

impl Spelling {
    pub(super) fn text(&mut self, text: &str) {
        for c in text.chars() {
            if self.found {
                return;
            }
            self.char(c.to_ascii_lowercase());
        }
    }

    /// A computed piece: once both braces are read, it may spell the rest of `{{resolve:`
    /// and any service.
    pub(super) fn gap(&mut self) {
        if self.states & !BEFORE_BOTH_BRACES != 0 {
            self.found = true;
        }
        self.states &= BEFORE_BOTH_BRACES;
    }

    /// Whether a secure dynamic reference may be spelled by what was read.
    pub(super) fn found(&self) -> bool {
        self.found
    }

    fn char(&mut self, c: char) {
        let mut next = 0u16;
        let states = self.states | 1;
        for state in (0..OPENING.len() + PLAIN.len()).filter(|s| states & (1 << s) != 0) {
            if let Some(&expected) = OPENING.get(state) {
                if char::from(expected) == c {
                    next |= 1 << (state + 1);
                }
                continue;
            }
            let read = state - OPENING.len();
            if char::from(PLAIN[read]) != c {
                // Another service than plain `ssm:` (`ssm-secure:`, `secretsmanager:`, …).
                self.found = true;
            } else if read + 1 < PLAIN.len() {
                next |= 1 << (state + 1);
            }
            // All of `ssm:` read: a plain parameter, not a secret.
        }
        self.states = next;
    }
}

/// A piece of an `Fn::Sub` string.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum SubPiece<'t> {
    Text(&'t str),
    /// `${Name}` or `${Name.Attribute}`, trimmed.
    Variable(&'t str),
}

/// An `Fn::Sub` string's pieces: `${!Literal}` is the text `${Literal}`, and a `${` never
/// closed is text too.
pub(super) fn sub_pieces(template: &str) -> Vec<SubPiece<'_>> {
    let mut pieces = Vec::new();
    let mut rest = template;
    while let Some(start) = rest.find("${") {
        pieces.push(SubPiece::Text(&rest[..start]));
        let after = &rest[start + 2..];
        if let Some(literal) = after.strip_prefix('!') {
            pieces.push(SubPiece::Text("${"));
            rest = literal;
        } else if let Some(end) = after.find('}') {
            pieces.push(SubPiece::Variable(after[..end].trim()));
            rest = &after[end + 1..];
        } else {
            pieces.push(SubPiece::Text(&rest[start..]));
            rest = "";
        }
    }
    pieces.push(SubPiece::Text(rest));
    pieces.retain(|piece| *piece != SubPiece::Text(""));
    pieces
}

#[cfg(test)]
mod tests {
    use super::*;

    enum Piece {
        T(&'static str),
        Gap,
    }
    use Piece::{Gap, T};

    fn spells(pieces: &[Piece]) -> bool {
        let mut spelling = Spelling::default();
        for piece in pieces {
            match piece {
                T(text) => spelling.text(text),
                Gap => spelling.gap(),
            }
        }
        spelling.found()
    }

    #[test]
    fn references_split_across_literal_pieces_are_spelled() {
        assert!(spells(&[T("{{resolve:secrets"), T("manager:db}}")]));
        assert!(spells(&[
            T("{"),
            T("{res"),
            T("olve:ssm-"),
            T("secure:x}}")
        ]));
        assert!(spells(&[T("a {{RESOLVE:SecretsManager:x}} b")]));
        assert!(spells(&[T("{{resolve:ssm"), T("-secure:/p}}")]));
        assert!(!spells(&[T("{{resolve:ssm:"), T("/plain}}")]));
        assert!(!spells(&[T("{{resolve:ss"), T("m:/plain}}")]));
        assert!(!spells(&[
            T("{\"a\": 1}"),
            T("{{mustache}}"),
            T("{{resol}}")
        ]));
        assert!(!spells(&[T("{{resolve")]));
    }

    #[test]
    fn a_computed_piece_may_spell_the_rest_once_both_braces_are_read() {
        // The service from a parameter: `{{resolve:` + !Ref Service.
        assert!(spells(&[T("{{resolve:"), Gap, T(":db}}")]));
        assert!(spells(&[T("{{res"), Gap, T(":x}}")]));
        assert!(spells(&[T("{{"), Gap]));
        assert!(spells(&[T("{{resolve:ssm"), Gap]));
        // An empty piece between the braces.
        assert!(spells(&[T("{"), Gap, T("{resolve:secretsmanager:x}}")]));
        // A piece without braces cannot make them.
        assert!(!spells(&[T("{"), Gap, T("resolve:secretsmanager:x}}")]));
        assert!(!spells(&[Gap, T("resolve:secretsmanager:x}}")]));
        assert!(!spells(&[T("{{resolve:ssm:"), Gap, T("}}")]));
        assert!(!spells(&[T("arn:"), Gap, T(":role/x")]));
    }

    #[test]
    fn sub_strings_split_into_text_and_variables() {
        use SubPiece::{Text, Variable};
        assert_eq!(
            sub_pieces("a${X}b${ Y.Arn }${!Z}${open"),
            [
                Text("a"),
                Variable("X"),
                Text("b"),
                Variable("Y.Arn"),
                Text("${"),
                Text("Z}"),
                Text("${open")
            ]
        );
        assert_eq!(sub_pieces(""), []);
        assert_eq!(sub_pieces("${A}${B}"), [Variable("A"), Variable("B")]);
    }
}
