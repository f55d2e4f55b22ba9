//! OpenSSH allowed signers files: each line parsed up front (principal patterns, options, the
//! key), which line lets a key sign as a principal in a namespace at a time (the most
//! specific refusal otherwise), and the line `driftlog keygen` writes for a key.

use std::str::FromStr;
use std::time::SystemTime;

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;

use super::{
    ed25519_blob, fingerprint_of_blob, looks_like_key_type, to_array, unix_seconds, SigningKey,
    VerifyError, DRIFTLOG_NAMESPACE, ED25519_KEY_TYPE, GIT_NAMESPACE,
};

/// The line to add to an allowed signers file so that `key` is trusted as `principal` for
/// driftlog records and git commits, e.g.
/// `driftlog@ci namespaces="git,driftlog" ssh-ed25519 AAAA...`.
///
/// A principal containing spaces is quoted (ssh-keygen accepts that). Check a principal from
/// outside with [`check_principal`] first: one that fails it does not name exactly itself
/// on one line.
pub fn allowed_signers_line(principal: &str, key: &SigningKey) -> String {
    let principal = if principal.contains([' ', '\t']) {
        format!("\"{principal}\"")
    } else {
        principal.to_string()
    };
    format!(
        "{principal} namespaces=\"{GIT_NAMESPACE},{DRIFTLOG_NAMESPACE}\" {}",
        key.public_key_openssh("")
    )
}

/// A parsed OpenSSH allowed signers file (`man ssh-keygen`, ALLOWED SIGNERS).
///
/// Supported: `#` comments and blank lines; principals as a comma-separated pattern list
/// (`*`, `?`, `!negation`, optionally in double quotes); the options `namespaces="..."`,
/// `valid-after="..."`, `valid-before="..."` (timestamps `YYYYMMDD[Z]` or
/// `YYYYMMDDHHMM[SS][Z]`, local time unless suffixed with `Z`) and `cert-authority`; any key
/// type. Only plain `ssh-ed25519` keys ever match a signature: lines with other key types and
/// `cert-authority` lines are kept but never match, because driftlog signs with plain Ed25519
/// keys, not certificates.
///
/// Unlike ssh-keygen, which reads the file lazily and only complains about lines it gets to,
/// every line is checked up front: a broken trust file is an error, not a partial match.
#[derive(Debug, Clone, Default)]
pub struct AllowedSigners {
    entries: Vec<AllowedSigner>,
}

/// One line of an allowed signers file.
#[derive(Debug, Clone)]
pub struct AllowedSigner {
    line: usize,
    principals: String,
    namespaces: Option<String>,
    valid_after: Option<Timestamp>,
    valid_before: Option<Timestamp>,
    cert_authority: bool,
    key_type: String,
    key_blob: Vec<u8>,
    ed25519: Option<[u8; 32]>,
}

/// A `valid-after`/`valid-before` value: as written (for messages) and in Unix seconds.
#[derive(Debug, Clone)]
struct Timestamp {
    text: String,
    seconds: i64,
}

/// A malformed allowed signers line.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("allowed signers line {line}: {reason}")]
pub struct AllowedSignersError {
    pub line: usize,
    pub reason: String,
}

impl FromStr for AllowedSigners {
    type Err = AllowedSignersError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        Self::parse(text)
    }
}

impl AllowedSigners {
    /// Parses the whole file; the first bad line is an error naming its 1-based number.
    pub fn parse(text: &str) -> Result<Self, AllowedSignersError> {
        let mut entries = Vec::new();
        for (index, raw) in text.lines().enumerate() {
            let line = index + 1;
            let content = raw.trim_matches([' ', '\t', '\r']);
            if content.is_empty() || content.starts_with('#') {
                continue;
            }
            let entry = AllowedSigner::parse(line, content)
                .map_err(|reason| AllowedSignersError { line, reason })?;
            entries.push(entry);
        }
        Ok(Self { entries })
    }

    /// The key lines, in file order.
    pub fn entries(&self) -> &[AllowedSigner] {
        &self.entries
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Whether a key whose signature already verified may sign in `namespace` at `time` (any
    /// principal): a record's own time, checked after the record is read. Returns the principal.
    pub fn authorize_at(
        &self,
        key: &[u8; 32],
        namespace: &str,
        time: SystemTime,
    ) -> Result<String, VerifyError> {
        self.authorize(key, namespace, None, unix_seconds(time))
            .map_err(|refusal| {
                refusal.into_error(fingerprint_of_blob(&ed25519_blob(key)), namespace, None)
            })
    }

    /// The principal to report if some line accepts the Ed25519 `key` for `principal` (or
    /// any principal) in `namespace` at `now`; otherwise the most specific reason not to.
    pub(super) fn authorize(
        &self,
        key: &[u8; 32],
        namespace: &str,
        principal: Option<&str>,
        now: i64,
    ) -> Result<String, Refusal> {
        let with_key: Vec<&AllowedSigner> = self
            .entries
            .iter()
            .filter(|e| !e.cert_authority && e.ed25519.as_ref() == Some(key))
            .collect();
        if with_key.is_empty() {
            return Err(Refusal::UnknownKey);
        }
        let for_principal: Vec<&AllowedSigner> = with_key
            .iter()
            .copied()
            .filter(|e| principal.is_none_or(|p| e.matches_principal(p)))
            .collect();
        if for_principal.is_empty() {
            return Err(Refusal::Principal(
                with_key.iter().map(|e| e.line).collect(),
            ));
        }
        let in_namespace: Vec<&AllowedSigner> = for_principal
            .iter()
            .copied()
            .filter(|e| e.permits_namespace(namespace))
            .collect();
        if in_namespace.is_empty() {
            return Err(Refusal::Namespace(
                for_principal.iter().map(|e| e.line).collect(),
            ));
        }
        let mut reasons = Vec::new();
        for entry in in_namespace {
            match entry.validity_problem(now) {
                None => {
                    return Ok(principal.map_or_else(|| entry.principals.clone(), str::to_string))
                }
                Some(reason) => reasons.push(reason),
            }
        }
        Err(Refusal::Validity(reasons.join("; ")))
    }
}

/// Why [`AllowedSigners::authorize`] said no, before the fingerprint is attached.
pub(super) enum Refusal {
    UnknownKey,
    Principal(Vec<usize>),
    Namespace(Vec<usize>),
    Validity(String),
}

impl Refusal {
    pub(super) fn into_error(
        self,
        fingerprint: String,
        namespace: &str,
        principal: Option<&str>,
    ) -> VerifyError {
        match self {
            Refusal::UnknownKey => VerifyError::UnknownKey { fingerprint },
            Refusal::Principal(lines) => VerifyError::PrincipalNotAllowed {
                fingerprint,
                principal: principal.unwrap_or_default().to_string(),
                lines,
            },
            Refusal::Namespace(lines) => VerifyError::NamespaceNotPermitted {
                fingerprint,
                namespace: namespace.to_string(),
                lines,
            },
            Refusal::Validity(reason) => VerifyError::OutsideValidity {
                fingerprint,
                reason,
            },
        }
    }
}

impl AllowedSigner {
    /// The 1-based line number in the file.
    pub fn line(&self) -> usize {
        self.line
    }

    /// The principals pattern list, as written (without surrounding quotes).
    pub fn principals(&self) -> &str {
        &self.principals
    }

    /// The `namespaces=` pattern list, if the line restricts namespaces.
    pub fn namespaces(&self) -> Option<&str> {
        self.namespaces.as_deref()
    }

    pub fn is_cert_authority(&self) -> bool {
        self.cert_authority
    }

    /// The key type, e.g. `ssh-ed25519` or `ssh-rsa`.
    pub fn key_type(&self) -> &str {
        &self.key_type
    }

    /// The `SHA256:` fingerprint of the line's key, whatever its type.
    pub fn fingerprint(&self) -> String {
        fingerprint_of_blob(&self.key_blob)
    }

    /// The raw public key, for `ssh-ed25519` lines.
    pub fn ed25519_key(&self) -> Option<[u8; 32]> {
        self.ed25519
    }

    /// Whether `principal` matches the principals pattern list (case-sensitive, as ssh-keygen).
    pub fn matches_principal(&self, principal: &str) -> bool {
        match_pattern_list(principal, &self.principals)
    }

    /// Whether the line lets its key sign in `namespace` (no `namespaces=` means any).
    pub fn permits_namespace(&self, namespace: &str) -> bool {
        self.namespaces
            .as_deref()
            .is_none_or(|list| match_pattern_list(namespace, list))
    }

    fn validity_problem(&self, now: i64) -> Option<String> {
        if let Some(after) = self.valid_after.as_ref().filter(|t| now < t.seconds) {
            return Some(format!(
                "line {} says valid-after=\"{}\"",
                self.line, after.text
            ));
        }
        if let Some(before) = self.valid_before.as_ref().filter(|t| now > t.seconds) {
            return Some(format!(
                "line {} says valid-before=\"{}\"",
                self.line, before.text
            ));
        }
        None
    }

    /// `principals [options] keytype base64 [comment]`, already trimmed, not a comment.
    fn parse(line: usize, content: &str) -> Result<Self, String> {
        let (principals, rest) = if let Some(quoted) = content.strip_prefix('"') {
            let end = quoted
                .find('"')
                .ok_or("unterminated quote in the principals")?;
            let after = &quoted[end + 1..];
            if !after.is_empty() && !after.starts_with([' ', '\t']) {
                return Err("missing space after the quoted principals".to_string());
            }
            (&quoted[..end], after)
        } else {
            split_field(content)
        };
        if principals.is_empty() {
            return Err("empty principals".to_string());
        }
        let rest = rest.trim_start_matches([' ', '\t']);
        if rest.is_empty() {
            return Err("missing key".to_string());
        }

        // The options field is optional; a key type is recognisable by its prefix, so
        // anything else in second position is read (and checked) as options.
        let mut entry = Self {
            line,
            principals: principals.to_string(),
            namespaces: None,
            valid_after: None,
            valid_before: None,
            cert_authority: false,
            key_type: String::new(),
            key_blob: Vec::new(),
            ed25519: None,
        };
        let (first, _) = split_field(rest);
        let key_part = if looks_like_key_type(first) {
            rest
        } else {
            let (options, after_options) = split_options(rest)?;
            entry.parse_options(options)?;
            after_options.trim_start_matches([' ', '\t'])
        };

        let (key_type, after_type) = split_field(key_part);
        let (base64, _comment) = split_field(after_type.trim_start_matches([' ', '\t']));
        if key_type.is_empty() || base64.is_empty() {
            return Err("missing key".to_string());
        }
        let blob = STANDARD
            .decode(base64)
            .map_err(|_| format!("invalid {key_type} key: bad base64"))?;
        let mut reader = blob.as_slice();
        let embedded = read_string(&mut reader)
            .ok_or_else(|| format!("invalid {key_type} key: truncated key blob"))?;
        if embedded != key_type.as_bytes() {
            return Err(format!(
                "invalid key: the key type is {key_type} but the key data is {}",
                String::from_utf8_lossy(embedded)
            ));
        }
        if key_type == ED25519_KEY_TYPE {
            let key = read_string(&mut reader)
                .filter(|key| key.len() == 32 && reader.is_empty())
                .ok_or("invalid ssh-ed25519 key: not a 32-byte public key")?;
            entry.ed25519 = Some(to_array(key));
        }
        entry.key_type = key_type.to_string();
        entry.key_blob = blob;
        Ok(entry)
    }

    /// `opt[,opt...]`: keywords case-insensitive; values double-quoted, as ssh-keygen insists.
    fn parse_options(&mut self, options: &str) -> Result<(), String> {
        for option in split_unquoted_commas(options) {
            let (name, value) = match option.split_once('=') {
                Some((name, value)) => (name, Some(value)),
                None => (option, None),
            };
            let name = name.to_ascii_lowercase();
            let quoted = || -> Result<String, String> {
                let value = value.ok_or_else(|| format!("option {name} needs a value"))?;
                value
                    .strip_prefix('"')
                    .and_then(|v| v.strip_suffix('"'))
                    .filter(|v| !v.contains('"'))
                    .map(str::to_string)
                    .ok_or_else(|| format!("the value of option {name} must be in double quotes"))
            };
            let duplicate = || format!("option {name} is given more than once");
            match name.as_str() {
                "cert-authority" => {
                    if value.is_some() {
                        return Err("option cert-authority takes no value".to_string());
                    }
                    if self.cert_authority {
                        return Err(duplicate());
                    }
                    self.cert_authority = true;
                }
                "namespaces" => {
                    if self.namespaces.is_some() {
                        return Err(duplicate());
                    }
                    self.namespaces = Some(quoted()?);
                }
                "valid-after" | "valid-before" => {
                    let text = quoted()?;
                    let seconds = parse_timestamp(&text).ok_or_else(|| {
                        format!("invalid {name} time {text:?} (expected YYYYMMDD[Z] or YYYYMMDDHHMM[SS][Z])")
                    })?;
                    let slot = if name == "valid-after" {
                        &mut self.valid_after
                    } else {
                        &mut self.valid_before
                    };
                    if slot.is_some() {
                        return Err(duplicate());
                    }
                    *slot = Some(Timestamp { text, seconds });
                }
                "" => return Err("empty option".to_string()),
                _ => return Err(format!("unknown option {option:?}")),
            }
        }
        Ok(())
    }
}

/// Splits off the first space/tab-delimited field.
fn split_field(text: &str) -> (&str, &str) {
    match text.find([' ', '\t']) {
        Some(end) => (&text[..end], &text[end..]),
        None => (text, ""),
    }
}

/// Splits off the options field: up to the first space/tab outside double quotes.
fn split_options(text: &str) -> Result<(&str, &str), String> {
    let mut in_quotes = false;
    for (index, c) in text.char_indices() {
        match c {
            '"' => in_quotes = !in_quotes,
            ' ' | '\t' if !in_quotes => return Ok((&text[..index], &text[index..])),
            _ => {}
        }
    }
    if in_quotes {
        Err("unterminated quote in the options".to_string())
    } else {
        Err("missing key".to_string())
    }
}

/// Splits on commas outside double quotes (`namespaces="git,driftlog",cert-authority`).
fn split_unquoted_commas(text: &str) -> Vec<&str> {
    let mut parts = Vec::new();
    let mut in_quotes = false;
    let mut start = 0;
    for (index, c) in text.char_indices() {
        match c {
            '"' => in_quotes = !in_quotes,
            ',' if !in_quotes => {
                parts.push(&text[start..index]);
                start = index + 1;
            }
            _ => {}
        }
    }
    parts.push(&text[start..]);
    parts
}

/// ssh's pattern-list: comma-separated `*`/`?` globs; a matching `!pattern` vetoes the match.
fn match_pattern_list(text: &str, list: &str) -> bool {
    let mut matched = false;
    for pattern in list.split(',') {
        match pattern.strip_prefix('!') {
            Some(negated) if glob_match(text, negated) => return false,
            Some(_) => {}
            None if glob_match(text, pattern) => matched = true,
            None => {}
        }
    }
    matched
}

/// `*` matches any run of characters, `?` exactly one; everything else literally.
fn glob_match(text: &str, pattern: &str) -> bool {
    let text: Vec<char> = text.chars().collect();
    let pattern: Vec<char> = pattern.chars().collect();
    let (mut t, mut p) = (0, 0);
    // Where the last `*` was and the text position it is currently assumed to cover up to.
    let mut star: Option<(usize, usize)> = None;
    while t < text.len() {
        match pattern.get(p) {
            Some('*') => {
                star = Some((p, t));
                p += 1;
            }
            Some(&c) if c == '?' || c == text[t] => {
                p += 1;
                t += 1;
            }
            _ => match star {
                Some((star_p, star_t)) => {
                    star = Some((star_p, star_t + 1));
                    p = star_p + 1;
                    t = star_t + 1;
                }
                None => return false,
            },
        }
    }
    pattern[p..].iter().all(|&c| c == '*')
}

/// `YYYYMMDD[Z]` or `YYYYMMDDHHMM[SS][Z]` as Unix seconds; local time unless `Z`.
fn parse_timestamp(text: &str) -> Option<i64> {
    let (digits, utc) = match text.strip_suffix(['Z', 'z']) {
        Some(digits) => (digits, true),
        None => (text, false),
    };
    if !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let field = |from: usize, to: usize| digits.get(from..to)?.parse::<i64>().ok();
    let (hour, minute, second) = match digits.len() {
        8 => (0, 0, 0),
        12 => (field(8, 10)?, field(10, 12)?, 0),
        14 => (field(8, 10)?, field(10, 12)?, field(12, 14)?),
        _ => return None,
    };
    let (year, month, day) = (field(0, 4)?, field(4, 6)?, field(6, 8)?);
    // The ranges strptime accepts; like mktime, a day past the month's end rolls over.
    if !(1..=12).contains(&month)
        || !(1..=31).contains(&day)
        || hour > 23
        || minute > 59
        || second > 60
    {
        return None;
    }
    if utc {
        Some(days_from_civil(year, month, day) * 86_400 + hour * 3_600 + minute * 60 + second)
    } else {
        local_to_unix(year, month, day, hour, minute, second)
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (March-based era arithmetic).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let year_of_era = year - era * 400;
    let month_from_march = (month + 9) % 12;
    let day_of_year = (153 * month_from_march + 2) / 5 + day - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

/// Local wall-clock time to Unix seconds, with the system's time zone rules (as ssh-keygen).
fn local_to_unix(
    year: i64,
    month: i64,
    day: i64,
    hour: i64,
    minute: i64,
    second: i64,
) -> Option<i64> {
    let int = |v: i64| i32::try_from(v).ok();
    // SAFETY: `tm` is plain data; all-zero is a valid value (a null `tm_zone` included).
    let mut tm: libc::tm = unsafe { std::mem::zeroed() };
    tm.tm_year = int(year - 1900)?;
    tm.tm_mon = int(month - 1)?;
    tm.tm_mday = int(day)?;
    tm.tm_hour = int(hour)?;
    tm.tm_min = int(minute)?;
    tm.tm_sec = int(second)?;
    tm.tm_isdst = -1; // let the time zone rules decide whether DST applies
                      // SAFETY: `tm` is a valid, exclusively borrowed `struct tm`; mktime is thread-safe.
    let seconds = unsafe { libc::mktime(&mut tm) };
    // time_t is i64 here but i32 on some 32-bit targets.
    #[allow(clippy::useless_conversion)]
    (seconds != -1).then_some(i64::from(seconds))
}

/// Reads one SSH `string` (u32 big-endian length, then bytes) off the front of `input`.
fn read_string<'a>(input: &mut &'a [u8]) -> Option<&'a [u8]> {
    let (length, rest) = input.split_first_chunk::<4>()?;
    let length = usize::try_from(u32::from_be_bytes(*length)).ok()?;
    let value = rest.get(..length)?;
    *input = &rest[length..];
    Some(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::audit::sshsig::test_support::{allowed, key};

    #[test]
    fn allowed_signers_line_is_parseable() {
        let key = key();
        let line = allowed_signers_line("driftlog@ci", &key);
        assert_eq!(
            line,
            format!(
                "driftlog@ci namespaces=\"git,driftlog\" {}",
                key.public_key_openssh("")
            )
        );
        let signers = allowed(&line);
        let entry = &signers.entries()[0];
        assert_eq!(entry.principals(), "driftlog@ci");
        assert_eq!(entry.namespaces(), Some("git,driftlog"));
        assert_eq!(entry.ed25519_key(), Some(key.public_key_bytes()));
        assert_eq!(entry.fingerprint(), key.fingerprint());

        let spaced = allowed(&allowed_signers_line("CI bot", &key));
        assert_eq!(spaced.entries()[0].principals(), "CI bot");
    }

    #[test]
    fn allowed_signers_parse_edge_cases() {
        let key = key().public_key_openssh("");
        let text = format!(
            "# comment\n\
             \n\
             \t  # indented comment\n\
             a@b,c@d {key} trailing comment words\n\
             \"x y\"\tNAMESPACES=\"git,a b\",Cert-Authority {key}\n\
             e@f namespaces=\"git\",valid-before=\"20300101\" {key}\r\n"
        );
        let signers = allowed(&text);
        let entries = signers.entries();
        assert_eq!(entries.len(), 3);
        assert_eq!(entries[0].line(), 4);
        assert!(entries[0].matches_principal("c@d"));
        assert!(!entries[0].matches_principal("C@D"));
        assert_eq!(entries[0].namespaces(), None);
        assert!(entries[0].permits_namespace("anything"));
        assert_eq!(entries[1].principals(), "x y");
        assert_eq!(entries[1].namespaces(), Some("git,a b"));
        assert!(entries[1].is_cert_authority());
        assert!(entries[1].permits_namespace("a b"));
        assert!(!entries[1].permits_namespace("a"));
        assert_eq!(entries[2].line(), 6);
        assert!(entries[2].valid_before.is_some());
    }

    #[test]
    fn allowed_signers_bad_lines_name_their_number() {
        let key = key().public_key_openssh("");
        let cases = [
            ("a@b".to_string(), "missing key"),
            ("a@b ssh-ed25519".to_string(), "missing key"),
            (format!("a@b foo {key}"), "unknown option"),
            (format!("a@b namespaces=git {key}"), "double quotes"),
            (format!("a@b namespaces=\"git {key}"), "unterminated quote"),
            (
                format!("a@b namespaces=\"a\",namespaces=\"b\" {key}"),
                "more than once",
            ),
            (
                format!("a@b valid-after=\"2020010112\" {key}"),
                "invalid valid-after",
            ),
            (
                format!("a@b valid-before=\"20201301Z\" {key}"),
                "invalid valid-before",
            ),
            ("a@b ssh-ed25519 not!base64".to_string(), "bad base64"),
            (
                "a@b ssh-rsa AAAAC3NzaC1lZDI1NTE5AAAAIA==".to_string(),
                "key type is ssh-rsa",
            ),
            (
                "a@b ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAAA==".to_string(),
                "32-byte",
            ),
            (format!("\"a@b {key}"), "unterminated quote"),
        ];
        for (line, expected) in cases {
            let text = format!("# first\n{line}\n");
            let error = AllowedSigners::parse(&text).expect_err(&line);
            assert_eq!(error.line, 2, "{line}");
            assert!(
                error.to_string().starts_with("allowed signers line 2: "),
                "{error}"
            );
            assert!(error.reason.contains(expected), "{line}: {error}");
        }
    }

    #[test]
    fn pattern_lists_follow_ssh() {
        assert!(match_pattern_list("git", "git,driftlog"));
        assert!(match_pattern_list("driftlog", "git,drift*"));
        assert!(match_pattern_list("a@b", "?@b"));
        assert!(!match_pattern_list("ab@b", "?@b"));
        assert!(match_pattern_list("x.y@b", "*.*@*"));
        assert!(!match_pattern_list("root@b", "*@b,!root@*"));
        assert!(!match_pattern_list("git", ""));
        assert!(glob_match("", "*"));
        assert!(glob_match("abcabd", "*abd"));
        assert!(!glob_match("abc", "a*d"));
    }

    #[test]
    fn timestamps() {
        assert_eq!(parse_timestamp("19700101Z"), Some(0));
        assert_eq!(parse_timestamp("20000301Z"), Some(951_868_800));
        assert_eq!(parse_timestamp("202401021304Z"), Some(1_704_200_640));
        assert_eq!(parse_timestamp("20240102130405z"), Some(1_704_200_645));
        // Day overflow rolls over like mktime, as ssh-keygen accepts it.
        assert_eq!(parse_timestamp("20230229Z"), parse_timestamp("20230301Z"));
        for bad in [
            "2024",
            "2024010",
            "2024010212",
            "20241301",
            "20240100",
            "2024010225",
            "x0240101",
        ] {
            assert_eq!(parse_timestamp(bad), None, "{bad}");
        }
        assert!(parse_timestamp("20240101").is_some(), "local time");
    }
}
