//! Classification of profile and backend conditions into troubleshooting cases.
//!
//! [`classify`] is a pure function of one object. It decides by the condition's status and
//! reason first, then by the Azure error code and HTTP status inside the message, then by
//! the controller's phrases, and returns every problem it finds.

pub mod message;

use crate::catalogue::{Ineligibility, Kind, Problem, Scenario};
use crate::objects::{
    Condition, ConditionStatus, HubObject, InternalServiceExport, TrafficManagerBackend,
    TrafficManagerProfile,
};
use message::AzureErrorFacts;

/// Maximum length, in characters, of the condition reason in the `reason` label. The CRD
/// allows 1,024, but a reason is an identifier and anything longer is not one.
pub const MAX_REASON_LABEL_CHARS: usize = 128;

/// The classified state of one profile or backend.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Classification {
    pub scenario: Scenario,
    /// Sorted and without repeats; empty when the object is healthy.
    pub problems: Vec<Problem>,
    /// The condition's reason, cut to [`MAX_REASON_LABEL_CHARS`]; empty without a condition.
    pub reason: String,
    /// The condition the classification was read from, if the object has one.
    pub condition: Option<ConditionState>,
}

/// Fields of the classified condition that the metrics need.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConditionState {
    pub type_: String,
    /// `None` when the status field contains a value other than True, False or Unknown.
    pub status: Option<ConditionStatus>,
    pub last_transition_seconds: Option<i64>,
    /// The condition's observedGeneration is lower than the object's metadata.generation.
    pub stale: bool,
}

impl Classification {
    pub fn is_healthy(&self) -> bool {
        self.problems.is_empty()
    }
}

/// Classifies a profile or backend; returns `None` for the kinds that have no scenario.
pub fn classify(object: &HubObject) -> Option<Classification> {
    match object {
        HubObject::Profile(profile) => Some(classify_profile(profile)),
        HubObject::Backend(backend) => Some(classify_backend(backend)),
        HubObject::Import(_) | HubObject::Export(_) => None,
    }
}

/// Returns the condition a profile is classified by: its Programmed condition.
pub fn profile_condition(profile: &TrafficManagerProfile) -> Option<&Condition> {
    let conditions = profile
        .status
        .as_ref()
        .and_then(|s| s.conditions.as_deref())
        .unwrap_or_default();
    conditions
        .iter()
        .find(|c| c.type_str().eq_ignore_ascii_case("Programmed"))
}

/// Returns the condition a backend is classified by: Accepted, or its first condition.
pub fn backend_condition(backend: &TrafficManagerBackend) -> Option<&Condition> {
    let conditions = backend
        .status
        .as_ref()
        .and_then(|s| s.conditions.as_deref())
        .unwrap_or_default();
    // The controller sets Accepted; one documented sample shows Programmed, so any
    // condition type is taken when Accepted is absent.
    conditions
        .iter()
        .find(|c| c.type_str().eq_ignore_ascii_case("Accepted"))
        .or_else(|| conditions.first())
}

pub fn classify_profile(profile: &TrafficManagerProfile) -> Classification {
    let condition = profile_condition(profile);
    classify_condition(
        Kind::TrafficManagerProfile,
        condition,
        profile.generation(),
        profile.decode_errors.iter().any(|e| e.part == "status"),
        profile_failure,
    )
}

pub fn classify_backend(backend: &TrafficManagerBackend) -> Classification {
    let condition = backend_condition(backend);
    classify_condition(
        Kind::TrafficManagerBackend,
        condition,
        backend.generation(),
        backend.decode_errors.iter().any(|e| e.part == "status"),
        backend_failure,
    )
}

fn classify_condition(
    kind: Kind,
    condition: Option<&Condition>,
    generation: Option<i64>,
    status_undecodable: bool,
    failure_rules: fn(&Condition) -> Vec<Problem>,
) -> Classification {
    let scenario = kind
        .scenario()
        .expect("only profiles and backends are classified");

    // A status that did not decode hides the condition; report it rather than guess.
    if status_undecodable {
        return Classification {
            scenario,
            problems: vec![Problem::Unclassified],
            reason: String::new(),
            condition: None,
        };
    }
    let Some(condition) = condition else {
        return Classification {
            scenario,
            problems: vec![Problem::NotReconciled],
            reason: String::new(),
            condition: None,
        };
    };

    let stale = matches!(
        (condition.observed_generation, generation),
        (Some(observed), Some(current)) if observed < current
    );
    let status = condition.parsed_status();
    let mut problems = match status {
        Some(ConditionStatus::True) => Vec::new(),
        Some(ConditionStatus::Unknown) => vec![Problem::Pending],
        Some(ConditionStatus::False) => failure_rules(condition),
        None => vec![Problem::Unclassified],
    };
    if stale {
        problems.push(Problem::NotReconciled);
    }
    problems.sort_unstable();
    problems.dedup();

    Classification {
        scenario,
        problems,
        reason: truncate_chars(condition.reason_str(), MAX_REASON_LABEL_CHARS).to_owned(),
        condition: Some(ConditionState {
            type_: truncate_chars(condition.type_str(), MAX_REASON_LABEL_CHARS).to_owned(),
            status,
            last_transition_seconds: condition.last_transition_seconds(),
            stale,
        }),
    }
}

/// Rules for a profile's Programmed=False condition.
fn profile_failure(condition: &Condition) -> Vec<Problem> {
    if condition
        .reason_str()
        .eq_ignore_ascii_case("DNSNameNotAvailable")
    {
        return vec![Problem::DnsNameNotAvailable];
    }

    let text = message::normalize(condition.message_str());
    let azure = AzureErrorFacts::parse(&text);
    // A missing resource group or subscription shows as 403 AuthorizationFailed or as
    // ResourceGroupNotFound; the documented solution for both is the same.
    if azure.is_authorization_failure() || azure.is_scope_not_found() {
        return vec![Problem::AuthorizationFailed];
    }
    if azure.is_limit() {
        return vec![Problem::ProfileLimitReached];
    }

    if message::dns_name_not_available(&text) {
        return vec![Problem::DnsNameNotAvailable];
    }
    if message::limit_reached(&text) {
        return vec![Problem::ProfileLimitReached];
    }
    let is_azure_error = !azure.is_empty()
        || message::invalid_profile_prefix(&text)
        || message::mentions_azure(&text);
    if is_azure_error {
        return vec![Problem::AzureError];
    }
    vec![Problem::Unclassified]
}

/// Rules for a backend's Accepted=False condition; one message can carry two problems.
fn backend_failure(condition: &Condition) -> Vec<Problem> {
    let text = message::normalize(condition.message_str());

    // The backend quotes its profile's own failure. Whatever the quote contains (even an
    // AuthorizationFailed dump), the backend's problem is its profile.
    if message::embeds_profile_failure(&text) {
        return vec![Problem::ProfileMissingOrInvalid];
    }
    if message::azure_profile_not_found(&text) {
        return vec![Problem::AzureProfileNotFound];
    }

    let mut problems = Vec::new();
    if message::service_import_not_found(&text) || message::exported_service_invalid(&text) {
        problems.push(Problem::ServiceExportInvalid);
    }

    let azure = AzureErrorFacts::parse(&text);
    if azure.is_limit() || message::limit_reached(&text) {
        problems.push(Problem::EndpointLimitReached);
    } else if azure.is_authorization_failure() {
        problems.push(Problem::AzureProfileNotFound);
    } else if message::endpoint_failure(&text) || !azure.is_empty() {
        problems.push(Problem::AzureError);
    }

    if problems.is_empty() {
        let is_azure_error = condition.reason_str().eq_ignore_ascii_case("Invalid")
            && message::mentions_azure(&text);
        problems.push(if is_azure_error {
            Problem::AzureError
        } else {
            Problem::Unclassified
        });
    }
    problems
}

/// Decides whether an exported Service can be an Azure Traffic Manager endpoint, checking
/// in the controller's order: type, internal load balancer, public IP, then DNS label.
pub fn endpoint_eligibility(export: &InternalServiceExport) -> Result<(), Ineligibility> {
    let spec = &export.spec;
    if spec.type_.as_deref() != Some("LoadBalancer") {
        return Err(Ineligibility::NotLoadBalancer);
    }
    if spec.is_internal_load_balancer == Some(true) {
        return Err(Ineligibility::InternalLoadBalancer);
    }
    if spec
        .public_ip_resource_id
        .as_deref()
        .unwrap_or_default()
        .is_empty()
    {
        return Err(Ineligibility::NoPublicIp);
    }
    if spec.is_dns_label_configured != Some(true) {
        return Err(Ineligibility::NoDnsLabel);
    }
    Ok(())
}

/// Returns the longest prefix of `text` with at most `max` characters.
pub fn truncate_chars(text: &str, max: usize) -> &str {
    match text.char_indices().nth(max) {
        Some((end, _)) => &text[..end],
        None => text,
    }
}

#[cfg(test)]
mod tests;
