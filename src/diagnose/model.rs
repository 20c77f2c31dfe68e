//! The report's data, built from the hub state: findings grouped by scenario and problem,
//! then the healthy objects, the limit headroom, the objects not reconciled and the items
//! that could not be read. The JSON output serializes these types as they are, so a field
//! renamed here changes the documented shape in docs/diagnose.md.

mod message;
mod printable;
mod summary;
mod values;

use jiff::Timestamp;
use serde::Serialize;

pub use message::{message_facts, shorten};
use summary::{build_headroom, build_healthy, build_not_reconciled};
use values::{Lookup, backend_values, profile_values};

use super::steps::{self, Step};
use crate::catalogue::{Kind, Problem, Scenario};
use crate::classify::{backend_condition, profile_condition};
use crate::objects::{Condition, HubObject, ObjectError};
use crate::state::{Entry, HubConfig, HubState};

/// Version of the JSON shape; raised when a field is renamed or removed, not when one is added.
pub const REPORT_VERSION: u32 = 1;

/// Maximum length, in characters, of the first message line the report shows.
pub const MAX_MESSAGE_CHARS: usize = 200;

/// Settings of one report.
#[derive(Clone, Debug)]
pub struct ReportSettings {
    pub hub: HubConfig,
    /// Base of the runbook links, without a trailing slash.
    pub runbook_base_url: String,
    /// The time condition ages are computed against.
    pub now: Timestamp,
    /// The files the objects were read from, as named on the command line.
    pub sources: Vec<String>,
}

/// The whole report.
#[derive(Clone, Debug, Serialize)]
pub struct Report {
    pub version: u32,
    /// The time ages are computed against, RFC 3339.
    pub generated_at: String,
    pub sources: Vec<String>,
    /// True when the report lists a problem or an item that could not be read.
    pub problems_found: bool,
    /// Scenarios that have at least one problem, in catalogue order.
    pub scenarios: Vec<ScenarioSection>,
    pub healthy: Healthy,
    pub headroom: Headroom,
    pub not_reconciled: Vec<NotReconciled>,
    pub rejected_items: Vec<RejectedItem>,
}

/// The problems of one scenario.
#[derive(Clone, Debug, Serialize)]
pub struct ScenarioSection {
    pub scenario: &'static str,
    /// The condition type this scenario is read from: Programmed or Accepted.
    pub condition_type: &'static str,
    pub problems: Vec<ProblemSection>,
}

/// The objects that have one problem.
#[derive(Clone, Debug, Serialize)]
pub struct ProblemSection {
    pub problem: &'static str,
    /// False for the states the exporter adds beyond the public troubleshooting guide.
    pub documented: bool,
    pub summary: &'static str,
    pub runbook: String,
    pub objects: Vec<Finding>,
}

/// One object with one problem, and what to do about it.
#[derive(Clone, Debug, Serialize)]
pub struct Finding {
    pub kind: &'static str,
    pub namespace: String,
    pub name: String,
    /// `None` when the object has no condition of the expected type.
    pub condition: Option<ConditionFacts>,
    /// `None` when the condition has no message.
    pub message: Option<MessageFacts>,
    /// The object's other problems, each reported in its own section.
    pub other_problems: Vec<&'static str>,
    /// Errors met while decoding the object's spec or status.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub decode_errors: Vec<String>,
    pub values: Values,
    /// For `service_export_invalid`: the member clusters whose exported Service cannot be
    /// an endpoint.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub clusters: Vec<ClusterFinding>,
    /// The `kubectl` command that shows the whole object.
    pub inspect: String,
    /// The documented solution steps, with commands filled in with the object's values.
    pub steps: Vec<Step>,
    /// Placeholders the commands still contain, each with what to put in its place.
    pub placeholders: Vec<Placeholder>,
}

/// The classified condition of an object.
#[derive(Clone, Debug, Serialize)]
pub struct ConditionFacts {
    #[serde(rename = "type")]
    pub type_: String,
    /// The status field as written, normally True, False or Unknown.
    pub status: String,
    pub reason: String,
    pub last_transition_time: Option<String>,
    /// Seconds from lastTransitionTime to the report time; negative when the condition is
    /// dated after it.
    pub age_seconds: Option<i64>,
    pub observed_generation: Option<i64>,
    pub generation: Option<i64>,
}

/// The essential part of a condition message.
#[derive(Clone, Debug, Serialize)]
pub struct MessageFacts {
    /// Azure error codes found in the message, as spelled there, in order of appearance.
    pub azure_error_codes: Vec<String>,
    /// HTTP status of the Azure response quoted in the message.
    pub http_status: Option<u16>,
    /// The first line of the message, white space folded, cut to [`MAX_MESSAGE_CHARS`].
    pub first_line: String,
}

impl MessageFacts {
    pub fn has_azure_error(&self) -> bool {
        !self.azure_error_codes.is_empty() || self.http_status.is_some()
    }
}

/// Concrete values of the object that the solution steps use; absent values are omitted.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Values {
    /// The profile's public DNS name: status.dnsName, or `<namespace>-<name>.<dns suffix>`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dns_name: Option<String>,
    /// The Azure resource group that contains (or is to contain) the Traffic Manager profile.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resource_group: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub subscription_id: Option<String>,
    /// Source of `subscription_id`: `status.resourceID`, `another profile's
    /// status.resourceID` or `--subscription-id`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub subscription_source: Option<&'static str>,
    /// The Azure Traffic Manager profile's name, `fleet-<profile uid>`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub azure_profile_name: Option<String>,
    /// The TrafficManagerProfile a backend refers to.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub profile: Option<Reference>,
    /// Namespaces that hold a profile of the referred name, when the backend's namespace
    /// does not.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub profile_found_in_namespaces: Vec<String>,
    /// The ServiceImport a backend refers to.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub service_import: Option<Reference>,
    /// Profiles on this hub in the subscription, against the profile limit.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub profiles_in_subscription: Option<Usage>,
    /// Endpoints of the backend's profile, against the endpoint limit.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub endpoints_in_profile: Option<Usage>,
}

/// An object another object refers to by name in its own namespace.
#[derive(Clone, Debug, Serialize)]
pub struct Reference {
    pub namespace: String,
    pub name: String,
    /// Whether the input contains the object.
    pub found: bool,
    /// The referred object's own problems, when it was found and is classified.
    pub problems: Vec<&'static str>,
}

/// A count against an Azure limit.
#[derive(Clone, Copy, Debug, Serialize)]
pub struct Usage {
    pub used: i64,
    pub limit: i64,
}

/// A member cluster whose exported Service cannot be an Azure Traffic Manager endpoint.
#[derive(Clone, Debug, Serialize)]
pub struct ClusterFinding {
    pub cluster: String,
    /// The Service on the member cluster.
    pub service_namespace: String,
    pub service_name: String,
    /// The InternalServiceExport on the hub that stands for the Service.
    pub internal_service_export_namespace: String,
    pub internal_service_export_name: String,
    /// One of not_load_balancer, internal_load_balancer, no_public_ip, no_dns_label.
    pub reason: &'static str,
    pub explanation: &'static str,
}

/// A placeholder left in a command, because the input does not contain its value.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Placeholder {
    pub placeholder: &'static str,
    pub meaning: &'static str,
}

/// How many profiles and backends are healthy.
#[derive(Clone, Debug, Serialize)]
pub struct Healthy {
    pub profiles: Tally,
    pub backends: Tally,
    /// Healthy objects, as `Kind namespace/name`.
    pub objects: Vec<String>,
    /// Healthy backends that still route no traffic: weight 0 or no endpoints.
    pub notes: Vec<String>,
}

/// Healthy objects of one kind out of all of that kind.
#[derive(Clone, Copy, Debug, Serialize)]
pub struct Tally {
    pub healthy: usize,
    pub total: usize,
}

/// Room left under the Azure Traffic Manager limits, for the profiles the hub holds.
#[derive(Clone, Debug, Serialize)]
pub struct Headroom {
    pub profile_limit: i64,
    pub endpoint_limit: i64,
    /// Profiles per subscription, fewest left first.
    pub subscriptions: Vec<SubscriptionHeadroom>,
    /// Profiles whose status has no resourceID yet, so their subscription is not known.
    pub profiles_without_subscription: usize,
    /// Endpoints per profile, fewest left first.
    pub profiles: Vec<ProfileHeadroom>,
}

#[derive(Clone, Debug, Serialize)]
pub struct SubscriptionHeadroom {
    pub subscription_id: String,
    pub profiles: i64,
    pub headroom: i64,
}

#[derive(Clone, Debug, Serialize)]
pub struct ProfileHeadroom {
    pub namespace: String,
    pub name: String,
    pub endpoints: i64,
    pub headroom: i64,
}

/// An object whose current spec the controller has not processed.
#[derive(Clone, Debug, Serialize)]
pub struct NotReconciled {
    pub kind: &'static str,
    pub namespace: String,
    pub name: String,
    pub detail: String,
}

/// An item of an input file that could not be taken as a hub object.
#[derive(Clone, Debug, Serialize)]
pub struct RejectedItem {
    pub source: String,
    /// Position of the item in its file, counting from 0 across all documents.
    pub index: usize,
    pub kind: String,
    pub namespace: String,
    pub name: String,
    pub reason: String,
}

/// Builds the report from the hub state and the items the sources rejected.
pub fn build_report(
    state: &HubState,
    rejected: &[(String, ObjectError)],
    settings: &ReportSettings,
) -> Report {
    let lookup = Lookup::new(state, &settings.hub);
    let mut scenarios = Vec::new();
    for scenario in Scenario::ALL {
        let section = build_scenario(scenario, state, &lookup, settings);
        if !section.problems.is_empty() {
            scenarios.push(section);
        }
    }
    let rejected_items: Vec<RejectedItem> = rejected
        .iter()
        .map(|(source, error)| RejectedItem {
            source: source.clone(),
            index: error.index,
            kind: error.kind.clone(),
            namespace: error.namespace.clone(),
            name: error.name.clone(),
            reason: error.reason.clone(),
        })
        .collect();

    let mut report = Report {
        version: REPORT_VERSION,
        generated_at: settings.now.to_string(),
        sources: settings.sources.clone(),
        problems_found: !scenarios.is_empty() || !rejected_items.is_empty(),
        scenarios,
        healthy: build_healthy(state),
        headroom: build_headroom(state, &settings.hub),
        not_reconciled: build_not_reconciled(state),
        rejected_items,
    };
    printable::make_printable(&mut report);
    report
}

fn build_scenario(
    scenario: Scenario,
    state: &HubState,
    lookup: &Lookup<'_>,
    settings: &ReportSettings,
) -> ScenarioSection {
    let kind = match scenario {
        Scenario::ProfileCreation => Kind::TrafficManagerProfile,
        Scenario::BackendCreation => Kind::TrafficManagerBackend,
    };
    let mut problems = Vec::new();
    for &problem in scenario.problems() {
        let objects: Vec<Finding> = state
            .entries(kind)
            .filter(|entry| entry.problems().contains(&problem))
            .map(|entry| build_finding(entry, problem, lookup, settings))
            .collect();
        if objects.is_empty() {
            continue;
        }
        problems.push(ProblemSection {
            problem: problem.as_str(),
            documented: problem.is_documented(),
            summary: problem.summary(),
            runbook: runbook_link(&settings.runbook_base_url, problem),
            objects,
        });
    }
    ScenarioSection {
        scenario: scenario.as_str(),
        condition_type: scenario.condition_type(),
        problems,
    }
}

/// Returns the link to a problem's runbook page, `<base>/<problem>.md`.
pub fn runbook_link(base: &str, problem: Problem) -> String {
    let base = base.trim_end_matches('/');
    if base.is_empty() {
        format!("{problem}.md")
    } else {
        format!("{base}/{problem}.md")
    }
}

fn build_finding(
    entry: &Entry,
    problem: Problem,
    lookup: &Lookup<'_>,
    settings: &ReportSettings,
) -> Finding {
    let kind = entry.object.kind();
    let meta = entry.object.metadata();
    let namespace = meta.namespace.clone().unwrap_or_default();
    let name = meta.name.clone().unwrap_or_default();

    let condition = match &entry.object {
        HubObject::Profile(profile) => profile_condition(profile),
        HubObject::Backend(backend) => backend_condition(backend),
        HubObject::Import(_) | HubObject::Export(_) => None,
    };
    let other_problems = entry
        .problems()
        .iter()
        .filter(|&&p| p != problem)
        .map(|p| p.as_str())
        .collect();

    let (values, clusters) = match &entry.object {
        HubObject::Profile(profile) => (profile_values(profile, problem, lookup), Vec::new()),
        HubObject::Backend(backend) => backend_values(backend, problem, lookup),
        HubObject::Import(_) | HubObject::Export(_) => (Values::default(), Vec::new()),
    };
    let inspect = inspect_command(kind, &namespace, &name);
    let target = steps::Target {
        kind,
        namespace: &namespace,
        name: &name,
        values: &values,
        clusters: &clusters,
        service_import_name: match &entry.object {
            HubObject::Backend(backend) => backend.spec.service_import_name(),
            _ => "",
        },
    };
    let (steps, placeholders) = steps::solution_steps(problem, &target);

    Finding {
        kind: kind.as_str(),
        namespace,
        name,
        condition: condition
            .map(|c| condition_facts(c, entry.object.metadata().generation, settings.now)),
        message: condition.and_then(|c| message_facts(c.message_str())),
        other_problems,
        decode_errors: entry
            .object
            .decode_errors()
            .iter()
            .map(ToString::to_string)
            .collect(),
        values,
        clusters,
        inspect,
        steps,
        placeholders,
    }
}

/// Returns the `kubectl` command that prints one object as YAML.
pub fn inspect_command(kind: Kind, namespace: &str, name: &str) -> String {
    format!(
        "kubectl get {} -n {namespace} {name} -o yaml",
        kind.kubectl_name()
    )
}

fn condition_facts(
    condition: &Condition,
    generation: Option<i64>,
    now: Timestamp,
) -> ConditionFacts {
    ConditionFacts {
        type_: condition.type_str().to_owned(),
        status: condition.status.clone().unwrap_or_default(),
        reason: condition.reason_str().to_owned(),
        last_transition_time: condition.last_transition_time.clone(),
        age_seconds: condition
            .last_transition_seconds()
            .map(|since| now.as_second() - since),
        observed_generation: condition.observed_generation,
        generation,
    }
}

#[cfg(test)]
mod tests;
