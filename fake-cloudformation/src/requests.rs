//! What arrived: the request log tests read, and the query parameters handlers read.

/// One request as the fake received it, with what it answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordedRequest {
    pub method: String,
    pub path: String,
    /// The `Action` parameter, if any.
    pub action: Option<String>,
    /// Query string and form body parameters, in the order they came.
    pub params: Vec<(String, String)>,
    /// Every header, names as sent.
    pub headers: Vec<(String, String)>,
    /// The HTTP status answered.
    pub status: u16,
    /// The error code answered (`Throttling`, `ValidationError`, ...), if it was an error.
    pub error_code: Option<String>,
}

impl RecordedRequest {
    /// The first value of a parameter (`StackName`, `NextToken`, `LogicalResourceIds.member.1`).
    pub fn param(&self, name: &str) -> Option<&str> {
        first(&self.params, name)
    }

    /// The values of a query-protocol list parameter (`{name}.member.N`), in N order.
    pub fn list_param(&self, name: &str) -> Vec<&str> {
        list(&self.params, name)
    }

    /// The first value of a header, its name matched case-insensitively.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The access key id a SigV4 `Authorization` header names (`Credential=KEY/date/...`).
    pub fn access_key_id(&self) -> Option<&str> {
        let authorization = self.header("Authorization")?;
        let credential = authorization.split("Credential=").nth(1)?;
        credential.split('/').next()
    }
}

fn first<'a>(params: &'a [(String, String)], name: &str) -> Option<&'a str> {
    params
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

fn list<'a>(params: &'a [(String, String)], name: &str) -> Vec<&'a str> {
    let prefix = format!("{name}.member.");
    let mut members: Vec<(u32, &str)> = params
        .iter()
        .filter_map(|(k, v)| Some((k.strip_prefix(&prefix)?.parse().ok()?, v.as_str())))
        .collect();
    members.sort_by_key(|(index, _)| *index);
    members.into_iter().map(|(_, v)| v).collect()
}

/// A request's parameters, for the action handlers.
pub(crate) struct Params<'a>(pub &'a [(String, String)]);

impl Params<'_> {
    pub(crate) fn get(&self, name: &str) -> Option<&str> {
        first(self.0, name)
    }

    pub(crate) fn list(&self, name: &str) -> Vec<&str> {
        list(self.0, name)
    }

    /// A required, non-empty parameter.
    pub(crate) fn required(&self, name: &str) -> Result<&str, crate::faults::ApiError> {
        self.get(name)
            .filter(|v| !v.is_empty())
            .ok_or_else(|| crate::faults::ApiError::missing(name))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(items: &[(&str, &str)]) -> Vec<(String, String)> {
        items
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn list_parameters_come_in_member_order() {
        let params = pairs(&[
            ("F.member.2", "b"),
            ("F.member.10", "c"),
            ("F.member.1", "a"),
        ]);
        assert_eq!(Params(&params).list("F"), ["a", "b", "c"]);
    }

    #[test]
    fn access_key_id_from_sigv4_authorization() {
        let request = RecordedRequest {
            method: "POST".into(),
            path: "/".into(),
            action: None,
            params: Vec::new(),
            headers: pairs(&[(
                "authorization",
                "AWS4-HMAC-SHA256 Credential=testing/20240101/us-east-1/cloudformation/aws4_request, \
                 SignedHeaders=host, Signature=abc",
            )]),
            status: 200,
            error_code: None,
        };
        assert_eq!(request.access_key_id(), Some("testing"));
    }
}
