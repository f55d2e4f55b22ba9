//! Where a resource or an event lives, so a name that is only unique inside an account or a
//! region matches only events from there.
//!
//! The rule: an identifier that spells out its place (an ARN `arn:aws:ec2:REGION:ACCOUNT:…`,
//! a Google self link or resource name `…projects/PROJECT/…`) matches only itself, which
//! carries its place. A bare one (`sg-0abc`, `allow-ssh`, a bucket name) matches an event
//! only if the event is of the same provider, account and region as the resource, as far as
//! both are known: the resource's place comes from the scoped identifiers it has besides the
//! bare ones; the event's from its record (CloudTrail `recipientAccountId` and `awsRegion`,
//! Google's project in the log name or resource labels). Unknown on either side does not
//! exclude: a resource known only by bare names matches any event naming them. Google
//! locations are not compared: zones, regions and `global` name one resource's place in
//! several ways.

use super::AuditEvent;

/// A place: provider (`aws`, `gcp`), account (AWS account id, Google project id) and region
/// (AWS only); `None` where unknown.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(super) struct Scope<'a> {
    pub provider: Option<&'static str>,
    pub account: Option<&'a str>,
    pub region: Option<&'a str>,
}

impl<'a> Scope<'a> {
    /// The place an identifier spells out, if it spells one out.
    pub fn of_identifier(identifier: &'a str) -> Option<Scope<'a>> {
        if let Some(rest) = identifier.strip_prefix("arn:") {
            // arn:PARTITION:SERVICE:REGION:ACCOUNT:RESOURCE
            let mut parts = rest.splitn(5, ':');
            let (_partition, _service) = (parts.next()?, parts.next()?);
            let (region, account) = (parts.next()?, parts.next()?);
            parts.next()?;
            return Some(Scope {
                provider: Some("aws"),
                account: (!account.is_empty()).then_some(account),
                region: (!region.is_empty()).then_some(region),
            });
        }
        let project = google_project(identifier)?;
        Some(Scope {
            provider: Some("gcp"),
            account: Some(project).filter(|p| *p != "_" && !p.is_empty()),
            region: None,
        })
    }

    /// The resource's place, from the scoped ones among its identifiers (the first that
    /// names each part).
    pub fn of_resource(identifiers: &[&'a str]) -> Scope<'a> {
        let mut scope = Scope::default();
        for found in identifiers.iter().filter_map(|id| Scope::of_identifier(id)) {
            scope.provider = scope.provider.or(found.provider);
            if found.provider == scope.provider {
                scope.account = scope.account.or(found.account);
                scope.region = scope.region.or(found.region);
            }
        }
        scope
    }

    /// Whether an event found by a bare name may be about a resource of this place.
    pub fn admits(&self, event: &AuditEvent) -> bool {
        let agrees = |ours: Option<&str>, theirs: Option<&str>| match (ours, theirs) {
            (Some(ours), Some(theirs)) => ours == theirs,
            _ => true,
        };
        agrees(self.provider, Some(&event.provider))
            && agrees(self.account, event.account.as_deref())
            && (event.provider != "aws" || agrees(self.region, event.region.as_deref()))
    }
}

/// `PROJECT` of `projects/PROJECT/...` at the start of a resource name or after a `/`.
pub(super) fn google_project(text: &str) -> Option<&str> {
    let at = if text.starts_with("projects/") {
        0
    } else {
        text.find("/projects/")? + 1
    };
    let rest = text.get(at + "projects/".len()..)?;
    let project = rest.split('/').next()?;
    (!project.is_empty()).then_some(project)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arns_and_google_names_spell_out_their_place() {
        let sg = "arn:aws:ec2:eu-west-1:123456789012:security-group/sg-0abc";
        assert_eq!(
            Scope::of_identifier(sg),
            Some(Scope {
                provider: Some("aws"),
                account: Some("123456789012"),
                region: Some("eu-west-1"),
            })
        );
        let bucket = Scope::of_identifier("arn:aws:s3:::acme-logs").expect("an arn");
        assert_eq!((bucket.account, bucket.region), (None, None));
        let role = Scope::of_identifier("arn:aws:iam::123456789012:role/x").expect("an arn");
        assert_eq!((role.account, role.region), (Some("123456789012"), None));
        let link = "https://www.googleapis.com/compute/v1/projects/acme-prod/global/firewalls/a";
        assert_eq!(
            Scope::of_identifier(link).and_then(|s| s.account),
            Some("acme-prod")
        );
        assert_eq!(
            Scope::of_identifier("projects/_/buckets/x").map(|s| s.account),
            Some(None)
        );
        for bare in ["sg-0abc", "allow-ssh", "arn:aws:s3", "myprojects/x", "ééé"] {
            assert_eq!(Scope::of_identifier(bare), None, "{bare}");
        }
    }
}
