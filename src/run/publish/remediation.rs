//! A remediation's report where the scan's went: a comment on the stack's open drift issue
//! (closing it when the verifying scan found the stack clean) and the job summary.

use crate::actions;
use crate::drift::Stack;
use crate::github::{self, RemediationPost, RetryPolicy};
use crate::report::markdown::{Budget, RunLink};

use super::{default_report_id, keeps_issues, run_link, PublishFailure, Published, Publisher};

/// What `driftlog remediate` reports for one stack.
#[derive(Debug, Clone, Copy)]
pub struct RemediationNotice<'a> {
    /// The stack as reports name it: its drift issue is the one the scan keeps for it.
    pub stack: &'a Stack,
    /// Markdown, already rendered and redacted: what was reverted by which rule, in which
    /// run, with the record (seq, hash), what was refused and why.
    pub markdown: &'a str,
    /// The verifying scan found the stack clean: close its drift issue (with this comment
    /// as the closing note).
    pub clean: bool,
}

/// Ends a report cut to fit GitHub's limit.
const CUT_NOTE: &str = "_The remediation report was cut to fit GitHub's limit; the remediation \
                        records on the audit branch have all of it._";

impl Publisher {
    /// Posts `remediation` on the stack's open drift issue (closing it when the stack is
    /// clean) and appends it to the job summary, each whatever became of the other. Like
    /// [`Publisher::publish`]: permission problems are warnings, other failures returned.
    /// Call it before publishing the verifying scan, which would close the issue itself.
    pub fn publish_remediation(&self, remediation: &RemediationNotice<'_>) -> Published {
        let mut published = Published::default();
        let run = run_link(&self.env);
        let body = remediation_body(remediation.markdown, run.as_ref(), &Budget::GITHUB_COMMENT);
        if let (Some(path), true, true) = (
            &self.runner.step_summary,
            self.in_actions,
            self.settings.summary,
        ) {
            if let Err(err) = actions::append_step_summary(path, &body) {
                published.failures.push(PublishFailure::JobSummary(err));
            }
        }
        published.warnings.extend(self.skipped.clone());
        let Some((target, token)) = &self.api else {
            return published;
        };
        // The same parts as the scan's issue: a push's run keeps no issue, a pull request's
        // neither.
        let issues = self.settings.issue
            && keeps_issues(self.in_actions, &self.env)
            && target.pull_request.is_none();
        if !issues {
            return published;
        }
        if crate::interrupt::requested() {
            published
                .warnings
                .push("stopped, so nothing was posted to GitHub".to_owned());
            return published;
        }
        let stack_id = default_report_id(remediation.stack, &self.env);
        let post = RemediationPost {
            stack_id: &stack_id,
            body: &body,
            close: remediation.clean,
            issue_label: &self.settings.issue_label,
            retry: RetryPolicy::default(),
        };
        let posted = github::publish_remediation(target, token, &post);
        published.done = posted.done;
        published.warnings.extend(posted.warnings);
        published
            .failures
            .extend(posted.errors.into_iter().map(PublishFailure::Github));
        published
    }
}

/// `markdown` and a line linking the run, within `budget`: cut at a line when too long, an
/// open code block closed, and a note saying so.
fn remediation_body(markdown: &str, run: Option<&RunLink>, budget: &Budget) -> String {
    let markdown = markdown.trim_end();
    let footer = match run {
        Some(run) => format!("\n\n_Remediated in [{}]({})._\n", run.label, run.url),
        None => "\n".to_owned(),
    };
    let whole = format!("{markdown}{footer}");
    if budget.fits(&whole) {
        return whole;
    }
    // Room for the kept text, less what may follow it: a fence closed, the note, the footer.
    let tail = format!("\n```\n\n{CUT_NOTE}{footer}");
    let room = Budget {
        chars: budget.chars.saturating_sub(utf16_len(&tail)),
        bytes: budget.bytes.saturating_sub(tail.len()),
    };
    let (mut units, mut end) = (0, 0);
    for (at, c) in markdown.char_indices() {
        units += c.len_utf16();
        if units > room.chars || at + c.len_utf8() > room.bytes {
            break;
        }
        end = at + c.len_utf8();
    }
    let kept = &markdown[..end];
    // A cut row or word reads as if it were whole; a line is the smallest honest unit.
    let kept = kept
        .rfind('\n')
        .map_or(kept, |line| &kept[..line])
        .trim_end();
    let fences = kept
        .lines()
        .filter(|line| line.trim_start().starts_with("```"))
        .count();
    let close = if fences % 2 == 1 { "\n```" } else { "" };
    format!("{kept}{close}\n\n{CUT_NOTE}{footer}")
}

fn utf16_len(text: &str) -> usize {
    text.encode_utf16().count()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run() -> RunLink {
        RunLink {
            label: "run 8813".into(),
            url: "https://github.com/acme/infra/actions/runs/8813".into(),
        }
    }

    #[test]
    fn a_short_report_is_kept_whole_with_the_run_linked() {
        let body = remediation_body(
            "### Reverted\n\n- `a`\n\n",
            Some(&run()),
            &Budget::GITHUB_COMMENT,
        );
        assert_eq!(
            body,
            "### Reverted\n\n- `a`\n\n_Remediated in \
             [run 8813](https://github.com/acme/infra/actions/runs/8813)._\n"
        );
        let body = remediation_body("### Reverted", None, &Budget::GITHUB_COMMENT);
        assert_eq!(body, "### Reverted\n");
    }

    #[test]
    fn a_long_report_is_cut_at_a_line_within_the_budget() {
        let markdown: String = (0..5000)
            .map(|i| format!("- reverted `res.{i}` 🔧\n"))
            .collect();
        let budget = Budget {
            chars: 4000,
            bytes: 100_000,
        };
        let body = remediation_body(&markdown, Some(&run()), &budget);
        assert!(budget.fits(&body), "{}", body.len());
        assert!(body.contains(CUT_NOTE));
        assert!(body.ends_with("(https://github.com/acme/infra/actions/runs/8813)._\n"));
        let before_note = body.split(CUT_NOTE).next().expect("text before the note");
        let last = before_note.trim_end().lines().last().expect("a kept line");
        assert!(last.ends_with("🔧"), "whole lines only: {last:?}");
        // Bytes bind too: multi-byte text under a byte budget.
        let budget = Budget {
            chars: 100_000,
            bytes: 3000,
        };
        assert!(budget.fits(&remediation_body(&markdown, None, &budget)));
    }

    #[test]
    fn a_code_block_cut_open_is_closed_before_the_note() {
        let markdown = format!("Refused:\n\n```\n{}```\n", "x = 1\n".repeat(2000));
        let budget = Budget {
            chars: 1000,
            bytes: 100_000,
        };
        let body = remediation_body(&markdown, None, &budget);
        assert!(budget.fits(&body));
        let fences = body.lines().filter(|l| l.starts_with("```")).count();
        assert_eq!(fences, 2, "{body}");
        assert!(body.trim_end().ends_with(CUT_NOTE), "{body}");
    }
}
