//! What the Slack and Teams renderers share: cutting text to a receiver's limits, keeping
//! text from the infrastructure on one readable line, and the links worth making.

use super::Notification;

/// How much a message shows: one rung of a receiver's ladder, tried from the most detail to
/// the least until the message fits.
#[derive(Debug, Clone, Copy)]
pub(super) struct Detail {
    pub resources: usize,
    pub attributes: usize,
    /// Lines each of differences, explanations and owners.
    pub lines: usize,
    /// Longest summary, failure, field or list line.
    pub chars: usize,
    /// Longest address, path, owner or other name.
    pub name: usize,
}

impl Detail {
    pub(super) const fn new(
        resources: usize,
        attributes: usize,
        lines: usize,
        chars: usize,
        name: usize,
    ) -> Detail {
        Detail {
            resources,
            attributes,
            lines,
            chars,
            name,
        }
    }
}

/// How a receiver measures text: Slack's limits are safest counted in UTF-16 units (never
/// fewer than characters); Teams' limit is on the body's bytes.
pub(crate) fn units(text: &str) -> usize {
    text.encode_utf16().count()
}

/// `c` as text from the infrastructure may show it: a line break or other control character
/// (a value is one line from the redacting display, but a name might not be) would break
/// the layout, and a format character (a bidi override, a zero-width space) could make one
/// address read as another, so it is shown as `�`.
pub(crate) fn clean(c: char, out: &mut String) {
    match c {
        c if is_format(c) => out.push('\u{fffd}'),
        c if c.is_control() || c == '\u{2028}' || c == '\u{2029}' => out.push(' '),
        c => out.push(c),
    }
}

/// Unicode's format characters (general category Cf, as of Unicode 16): invisible, or
/// changing how the text around them shows. Listed here rather than taken from a crate: the
/// category gains a character or two in some releases, and none is in common text.
pub(crate) const FORMAT: [(char, char); 21] = [
    ('\u{ad}', '\u{ad}'),
    ('\u{600}', '\u{605}'),
    ('\u{61c}', '\u{61c}'),
    ('\u{6dd}', '\u{6dd}'),
    ('\u{70f}', '\u{70f}'),
    ('\u{890}', '\u{891}'),
    ('\u{8e2}', '\u{8e2}'),
    ('\u{180e}', '\u{180e}'),
    ('\u{200b}', '\u{200f}'),
    ('\u{202a}', '\u{202e}'),
    ('\u{2060}', '\u{2064}'),
    ('\u{2066}', '\u{206f}'),
    ('\u{feff}', '\u{feff}'),
    ('\u{fff9}', '\u{fffb}'),
    ('\u{110bd}', '\u{110bd}'),
    ('\u{110cd}', '\u{110cd}'),
    ('\u{13430}', '\u{1343f}'),
    ('\u{1bca0}', '\u{1bca3}'),
    ('\u{1d173}', '\u{1d17a}'),
    ('\u{e0001}', '\u{e0001}'),
    ('\u{e0020}', '\u{e007f}'),
];

fn is_format(c: char) -> bool {
    FORMAT
        .iter()
        .any(|(first, last)| (*first..=*last).contains(&c))
}

/// `text` passed through `escape` a character at a time, at most `max` UTF-16 units out.
/// A longer text is cut between characters (so never inside an escape such as `&amp;`),
/// saying how many characters were left out.
pub(crate) fn fit(text: &str, max: usize, escape: impl Fn(char, &mut String)) -> String {
    let mut out = String::new();
    let mut kept = Vec::new(); // (byte end in `out`, units so far) after each character
    let mut total = 0;
    for c in text.chars() {
        let start = out.len();
        escape(c, &mut out);
        total += units(&out[start..]);
        kept.push((out.len(), total));
    }
    if total <= max {
        return out;
    }
    // The longest marker this text could need, so the cut text plus its marker fits.
    let longest = more_chars(kept.len());
    let (budget, long) = match max.checked_sub(units(&longest)) {
        Some(budget) => (budget, true),
        None => (max.saturating_sub(1), false),
    };
    let count = kept
        .iter()
        .take_while(|(_, units)| *units <= budget)
        .count();
    let end = count.checked_sub(1).map_or(0, |last| kept[last].0);
    out.truncate(end);
    if long {
        out.push_str(&more_chars(kept.len() - count));
    } else if max > 0 {
        out.push('…');
    }
    out
}

fn more_chars(count: usize) -> String {
    let noun = if count == 1 {
        "character"
    } else {
        "characters"
    };
    format!("… ({count} more {noun})")
}

/// "… 3 more resources": a line saying what a list left out.
pub(crate) fn more(count: usize, noun: &str) -> String {
    let s = if count == 1 { "" } else { "s" };
    format!("… {count} more {noun}{s}")
}

/// The pages a message links to, in the order shown: only `http(s)` URLs with a host, so a
/// field holding `javascript:…` or anything odd makes no link at all.
pub(crate) fn links(notification: &Notification) -> Vec<(&'static str, &str)> {
    let links = &notification.links;
    [
        ("Workflow run", &links.run),
        ("Drift issue", &links.issue),
        ("Pull request", &links.pull_request),
    ]
    .into_iter()
    .filter_map(|(label, url)| Some((label, url.as_deref().filter(|u| is_web_url(u))?)))
    .collect()
}

/// An `http(s)` URL with a plain host (no user info, which could pass for the host) and
/// nothing that could end a Slack `<url|label>` or a quoted attribute early.
pub(crate) fn is_web_url(url: &str) -> bool {
    let lower = url.to_ascii_lowercase();
    let Some(rest) = lower
        .strip_prefix("https://")
        .or_else(|| lower.strip_prefix("http://"))
    else {
        return false;
    };
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    let host = match authority.rsplit_once(':') {
        Some((host, port)) if port.chars().all(|c| c.is_ascii_digit()) => host,
        _ => authority,
    };
    let plain = |c: char| !c.is_control() && !c.is_whitespace() && !"<>|\"'`\\".contains(c);
    url.len() <= 1000
        && url.chars().all(plain)
        && !host.is_empty()
        && host
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '-')
}

/// The first characters of a SHA-256, as a record is usually named.
pub(crate) fn short_sha(sha256: &str) -> &str {
    crate::report::first_chars(sha256, 12)
}
