//! Facts read from a condition message: the Azure error inside it and known phrases.
//!
//! Messages are matched after [`normalize`], so case, line folding and indentation from
//! `kubectl -o yaml` do not matter. Every pattern is a `regex` crate pattern, which runs
//! in time linear in the message length, so a 32 KiB message costs microseconds.

use std::sync::LazyLock;

use regex::Regex;

/// Lower-cases a message and folds every run of white space into one space.
pub fn normalize(message: &str) -> String {
    let mut out = String::with_capacity(message.len());
    for word in message.split_whitespace() {
        if !out.is_empty() {
            out.push(' ');
        }
        for c in word.chars() {
            out.extend(c.to_lowercase());
        }
    }
    out
}

/// The Azure error embedded in a message, as the Azure SDK for Go prints it: a request
/// line, `RESPONSE <status>: <status> <text>`, `ERROR CODE: <code>` and a JSON body.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AzureErrorFacts {
    /// HTTP status of the Azure response, such as 403.
    pub http_status: Option<u16>,
    /// Error codes found, lower-cased, in order of appearance and without repeats.
    pub codes: Vec<String>,
}

impl AzureErrorFacts {
    /// Extracts the HTTP status and error codes from a normalized message.
    pub fn parse(normalized: &str) -> AzureErrorFacts {
        static STATUS: LazyLock<Regex> = LazyLock::new(|| {
            Regex::new(r"(?:response|status ?code)[ =:]+(\d{3})\b").expect("valid regex")
        });
        static CODE: LazyLock<Regex> = LazyLock::new(|| {
            Regex::new(r#"(?:error code: ?|"code" ?: ?")([a-z][a-z0-9_.]*)"#).expect("valid regex")
        });

        let http_status = STATUS
            .captures(normalized)
            .and_then(|c| c[1].parse::<u16>().ok());
        let mut codes: Vec<String> = Vec::new();
        for capture in CODE.captures_iter(normalized) {
            let code = &capture[1];
            if !codes.iter().any(|c| c == code) {
                codes.push(code.to_owned());
            }
        }
        AzureErrorFacts { http_status, codes }
    }

    pub fn is_empty(&self) -> bool {
        self.http_status.is_none() && self.codes.is_empty()
    }

    /// Reports an authorization failure: HTTP 401 or 403, or an Azure code that names
    /// authorization, such as `AuthorizationFailed` or `LinkedAuthorizationFailed`.
    pub fn is_authorization_failure(&self) -> bool {
        matches!(self.http_status, Some(401 | 403))
            || self.codes.iter().any(|c| c.contains("authorization"))
    }

    /// Reports that the resource group or subscription named in the request does not exist.
    pub fn is_scope_not_found(&self) -> bool {
        self.codes
            .iter()
            .any(|c| c == "resourcegroupnotfound" || c == "subscriptionnotfound")
    }

    /// Reports an Azure code that names a quota or limit as exceeded.
    pub fn is_limit(&self) -> bool {
        self.codes.iter().any(|c| {
            c.contains("limitexceeded")
                || c.contains("limitreached")
                || c.contains("quotaexceeded")
                || c.contains("maxnumberof")
        })
    }
}

macro_rules! phrase {
    ($name:ident, $pattern:expr) => {
        pub fn $name(normalized: &str) -> bool {
            static PATTERN: LazyLock<Regex> =
                LazyLock::new(|| Regex::new($pattern).expect("valid regex"));
            PATTERN.is_match(normalized)
        }
    };
}

// Phrases of the fleet-networking controller's condition messages.
phrase!(
    embeds_profile_failure,
    r#"invalid trafficmanagerprofile "|trafficmanagerprofile "[^"]*" is not found"#
);
phrase!(
    azure_profile_not_found,
    r#"azure traffic manager profile "[^"]*" under "[^"]*" is not found"#
);
phrase!(
    service_import_not_found,
    r#"serviceimport "[^"]*" is not found"#
);
phrase!(
    exported_service_invalid,
    r"service\(s\) exported from clusters cannot be exposed|service exported from \S+ is invalid"
);
phrase!(endpoint_failure, r"endpoint\(s\) failed to be");
phrase!(
    limit_reached,
    r"\blimits?(?: of \w+(?: \w+)?)? (?:has been |have been |was |were |is |are )?(?:reached|exceeded)|maximum number of|quota (?:has been |was )?exceeded"
);
phrase!(
    dns_name_not_available,
    r"domain name is not available|dns name (?:is )?(?:not available|already (?:in use|taken))"
);
phrase!(invalid_profile_prefix, r"^invalid profile:");
phrase!(
    mentions_azure,
    r"azure traffic manager|trafficmanagerprofiles|management\.(?:azure\.com|chinacloudapi\.cn|usgovcloudapi\.net)|\bresponse \d{3}\b|\berror code:"
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalize_folds_lines_and_case() {
        let folded = "Invalid   trafficManagerProfile\n        \"p\":\tDomain";
        assert_eq!(
            normalize(folded),
            "invalid trafficmanagerprofile \"p\": domain"
        );
    }

    #[test]
    fn azure_dump_status_and_code() {
        let message = normalize(
            "GET https://management.azure.com/x\n----\nRESPONSE 403: 403 Forbidden\nERROR CODE: AuthorizationFailed\n----\n{\"error\": {\"code\": \"AuthorizationFailed\"}}",
        );
        let facts = AzureErrorFacts::parse(&message);
        assert_eq!(facts.http_status, Some(403));
        assert_eq!(facts.codes, vec!["authorizationfailed".to_owned()]);
        assert!(facts.is_authorization_failure());
    }

    #[test]
    fn json_code_with_spacing() {
        let facts = AzureErrorFacts::parse(&normalize("{\"code\"  :  \"QuotaExceeded\"}"));
        assert_eq!(facts.codes, vec!["quotaexceeded".to_owned()]);
        assert!(facts.is_limit());
    }

    #[test]
    fn limit_phrase_forms() {
        for text in [
            "azure traffic manager profile limits reached.",
            "the limit has been exceeded",
            "maximum number of endpoints",
            "the limit of endpoints has been reached",
        ] {
            assert!(limit_reached(text), "{text}");
        }
        assert!(!limit_reached("no limits here"));
    }
}
