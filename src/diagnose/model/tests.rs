use std::sync::Arc;

use super::*;
use crate::metrics::own::ExporterMetrics;
use crate::source::file::parse_snapshot;
use crate::state::Hub;

const NOW: &str = "2025-06-01T00:00:00Z";

fn settings(config: HubConfig) -> ReportSettings {
    ReportSettings {
        hub: config,
        runbook_base_url: "https://example.test/runbooks".to_owned(),
        now: NOW.parse().unwrap(),
        sources: vec!["hub.yaml".to_owned()],
    }
}

fn report_with(yaml: &str, config: HubConfig) -> Report {
    let snapshot = parse_snapshot("hub.yaml", yaml).unwrap();
    let hub = Hub::new(config.clone(), Arc::new(ExporterMetrics::new()));
    hub.replace(&Kind::ALL, snapshot.objects);
    let rejected: Vec<(String, ObjectError)> = snapshot
        .rejected
        .into_iter()
        .map(|e| ("hub.yaml".to_owned(), e))
        .collect();
    let state = hub.read();
    build_report(&state, &rejected, &settings(config))
}

fn report(yaml: &str) -> Report {
    report_with(yaml, HubConfig::default())
}

fn finding<'a>(report: &'a Report, problem: &str, name: &str) -> &'a Finding {
    report
        .scenarios
        .iter()
        .flat_map(|s| &s.problems)
        .filter(|p| p.problem == problem)
        .flat_map(|p| &p.objects)
        .find(|f| f.name == name)
        .unwrap_or_else(|| panic!("no {problem} finding for {name}"))
}

fn profile(name: &str, resource_id: Option<&str>, condition: &str) -> String {
    let resource_id = resource_id
        .map(|id| format!("\n    resourceID: {id}"))
        .unwrap_or_default();
    format!(
        r#"
- apiVersion: networking.fleet.azure.com/v1beta1
  kind: TrafficManagerProfile
  metadata: {{name: {name}, namespace: ns, uid: uid-{name}, generation: 1}}
  spec: {{resourceGroup: rg-{name}}}
  status:
    conditions:
    - {condition}{resource_id}
"#
    )
}

const PROGRAMMED: &str = "{type: Programmed, status: 'True', reason: Programmed, observedGeneration: 1, lastTransitionTime: '2025-05-31T22:00:00Z'}";
const DENIED: &str = "{type: Programmed, status: 'False', reason: Invalid, observedGeneration: 1, lastTransitionTime: '2025-05-31T23:00:00Z', message: 'Invalid profile: RESPONSE 403: 403 Forbidden ERROR CODE: AuthorizationFailed'}";

fn list(items: &[String]) -> String {
    format!("apiVersion: v1\nkind: List\nitems:{}", items.concat())
}

#[test]
fn azure_message_keeps_code_spelling() {
    let message = "Invalid profile: GET https://management.azure.com/x\n----\nRESPONSE 403: 403 Forbidden\nERROR CODE: AuthorizationFailed\n{\"error\": {\"code\": \"AuthorizationFailed\"}}";
    let facts = message_facts(message).unwrap();
    assert_eq!(facts.azure_error_codes, ["AuthorizationFailed"]);
    assert_eq!(facts.http_status, Some(403));
    assert_eq!(
        facts.first_line,
        "Invalid profile: GET https://management.azure.com/x"
    );
}

#[test]
fn plain_message_folded_and_cut() {
    let long = format!("\n  first   line {}\nsecond line", "x".repeat(300));
    let facts = message_facts(&long).unwrap();
    assert!(!facts.has_azure_error());
    assert!(facts.first_line.starts_with("first line x"));
    assert!(facts.first_line.ends_with('…'));
    assert_eq!(facts.first_line.chars().count(), MAX_MESSAGE_CHARS);
    assert!(!facts.first_line.contains("second"));
}

#[test]
fn empty_message_has_no_facts() {
    assert!(message_facts("").is_none());
    assert!(message_facts(" \n ").is_none());
}

#[test]
fn age_from_injected_now() {
    let report = report(&list(&[profile("p", None, DENIED)]));
    let condition = finding(&report, "authorization_failed", "p")
        .condition
        .as_ref()
        .unwrap();
    assert_eq!(condition.age_seconds, Some(3_600));
    assert_eq!(condition.status, "False");
    assert_eq!(condition.reason, "Invalid");
}

#[test]
fn subscription_from_own_resource_id() {
    let id = "/subscriptions/sub-own/resourceGroups/rg-p/providers/Microsoft.Network/trafficManagerProfiles/fleet-uid-p";
    let yaml = list(&[profile("p", Some(id), DENIED)]);
    let report = report(&yaml);
    let values = &finding(&report, "authorization_failed", "p").values;
    assert_eq!(values.subscription_id.as_deref(), Some("sub-own"));
    assert_eq!(values.subscription_source, Some("status.resourceID"));
    assert_eq!(values.azure_profile_name.as_deref(), Some("fleet-uid-p"));
}

#[test]
fn subscription_from_other_profile() {
    let id = "/subscriptions/sub-fleet/resourceGroups/rg-ok/providers/Microsoft.Network/trafficManagerProfiles/fleet-uid-ok";
    let yaml = list(&[
        profile("ok", Some(id), PROGRAMMED),
        profile("p", None, DENIED),
    ]);
    let finding = finding(&report(&yaml), "authorization_failed", "p").clone();
    assert_eq!(finding.values.subscription_id.as_deref(), Some("sub-fleet"));
    assert_eq!(
        finding.values.subscription_source,
        Some("another profile's status.resourceID")
    );
    let grant = finding.steps[2].commands.last().unwrap();
    assert!(
        grant.ends_with("--scope /subscriptions/sub-fleet/resourceGroups/rg-p"),
        "{grant}"
    );
    assert!(
        !finding
            .placeholders
            .iter()
            .any(|p| p.placeholder == "<subscription-id>")
    );
}

#[test]
fn two_subscriptions_not_guessed() {
    let id = |sub: &str, name: &str| {
        format!(
            "/subscriptions/{sub}/resourceGroups/rg/providers/Microsoft.Network/trafficManagerProfiles/fleet-{name}"
        )
    };
    let yaml = list(&[
        profile("a", Some(&id("sub-a", "a")), PROGRAMMED),
        profile("b", Some(&id("sub-b", "b")), PROGRAMMED),
        profile("p", None, DENIED),
    ]);
    let finding = finding(&report(&yaml), "authorization_failed", "p").clone();
    assert_eq!(finding.values.subscription_id, None);
    assert!(
        finding
            .placeholders
            .iter()
            .any(|p| p.placeholder == "<subscription-id>")
    );
}

#[test]
fn subscription_from_flag() {
    let config = HubConfig {
        subscription_ids: vec!["sub-flag".to_owned()],
        ..HubConfig::default()
    };
    let report = report_with(&list(&[profile("p", None, DENIED)]), config);
    let values = &finding(&report, "authorization_failed", "p").values;
    assert_eq!(values.subscription_id.as_deref(), Some("sub-flag"));
    assert_eq!(values.subscription_source, Some("--subscription-id"));
}

const EXPORT_INVALID_HUB: &str = r#"
apiVersion: v1
kind: List
items:
- apiVersion: networking.fleet.azure.com/v1beta1
  kind: TrafficManagerBackend
  metadata: {name: b, namespace: web, generation: 1}
  spec: {profile: {name: p}, backend: {name: svc}}
  status:
    conditions:
    - {type: Accepted, status: 'False', reason: Invalid, observedGeneration: 1, message: '2 service(s) exported from clusters cannot be exposed as the Azure Traffic Manager, for example, service exported from c2 is invalid: DNS label is not configured to the public IP'}
- apiVersion: networking.fleet.azure.com/v1alpha1
  kind: ServiceImport
  metadata: {name: svc, namespace: web}
  status: {clusters: [{cluster: c1}, {cluster: c2}, {cluster: c3}]}
- apiVersion: networking.fleet.azure.com/v1alpha1
  kind: InternalServiceExport
  metadata: {name: web-svc, namespace: fleet-member-c1}
  spec: {type: LoadBalancer, isInternalLoadBalancer: false, publicIPResourceID: /ip/1, isDNSLabelConfigured: true, serviceReference: {clusterId: c1, namespace: web, name: svc}}
- apiVersion: networking.fleet.azure.com/v1alpha1
  kind: InternalServiceExport
  metadata: {name: web-svc, namespace: fleet-member-c2}
  spec: {type: LoadBalancer, publicIPResourceID: /ip/2, isDNSLabelConfigured: false, serviceReference: {clusterId: c2, namespace: web, name: svc}}
- apiVersion: networking.fleet.azure.com/v1alpha1
  kind: InternalServiceExport
  metadata: {name: web-svc, namespace: fleet-member-c3}
  spec: {type: LoadBalancer, isInternalLoadBalancer: true, serviceReference: {clusterId: c3, namespace: web, name: svc}}
- apiVersion: networking.fleet.azure.com/v1alpha1
  kind: InternalServiceExport
  metadata: {name: other-svc, namespace: fleet-member-c3}
  spec: {type: ClusterIP, serviceReference: {clusterId: c3, namespace: other, name: svc}}
"#;

#[test]
fn ineligible_clusters_joined_through_import() {
    let report = report(EXPORT_INVALID_HUB);
    let finding = finding(&report, "service_export_invalid", "b");
    let clusters: Vec<(&str, &str)> = finding
        .clusters
        .iter()
        .map(|c| (c.cluster.as_str(), c.reason))
        .collect();
    assert_eq!(
        clusters,
        [("c2", "no_dns_label"), ("c3", "internal_load_balancer")]
    );
    assert_eq!(
        finding.clusters[0].internal_service_export_namespace,
        "fleet-member-c2"
    );
    let import = finding.values.service_import.as_ref().unwrap();
    assert!(import.found);
    let profile = finding.values.profile.as_ref().unwrap();
    assert!(!profile.found);
}

#[test]
fn ineligible_clusters_get_member_commands() {
    let report = report(EXPORT_INVALID_HUB);
    let finding = finding(&report, "service_export_invalid", "b");
    assert!(
        finding.steps[1]
            .commands
            .iter()
            .any(|c| c.ends_with("# on member cluster c3"))
    );
    assert!(
        finding.steps[2]
            .commands
            .iter()
            .any(|c| c.contains("azure-dns-label-name=<dns-label>") && c.ends_with("c2"))
    );
}

#[test]
fn missing_profile_found_elsewhere() {
    let yaml = format!(
        "{}\n{}",
        list(&[profile("p", None, PROGRAMMED)]),
        r#"- apiVersion: networking.fleet.azure.com/v1beta1
  kind: TrafficManagerBackend
  metadata: {name: b, namespace: other, generation: 1}
  spec: {profile: {name: p}, backend: {name: svc}}
  status:
    conditions:
    - {type: Accepted, status: 'False', reason: Invalid, observedGeneration: 1, message: 'TrafficManagerProfile "p" is not found'}
"#
    );
    let report = report(&yaml);
    let values = &finding(&report, "profile_missing_or_invalid", "b").values;
    assert!(!values.profile.as_ref().unwrap().found);
    assert_eq!(values.profile_found_in_namespaces, ["ns"]);
}

#[test]
fn stale_and_missing_conditions_not_reconciled() {
    let yaml = r#"
apiVersion: v1
kind: List
items:
- apiVersion: networking.fleet.azure.com/v1beta1
  kind: TrafficManagerProfile
  metadata: {name: stale, namespace: ns, generation: 3}
  spec: {resourceGroup: rg}
  status:
    conditions:
    - {type: Programmed, status: 'True', reason: Programmed, observedGeneration: 2}
- apiVersion: networking.fleet.azure.com/v1beta1
  kind: TrafficManagerBackend
  metadata: {name: new, namespace: ns, generation: 1}
  spec: {profile: {name: stale}, backend: {name: svc}}
"#;
    let report = report(yaml);
    let details: Vec<(&str, &str)> = report
        .not_reconciled
        .iter()
        .map(|n| (n.name.as_str(), n.detail.as_str()))
        .collect();
    assert_eq!(
        details,
        [
            (
                "stale",
                "the condition describes generation 2, but the spec is at generation 3"
            ),
            ("new", "the status has no Accepted condition yet"),
        ]
    );
    assert!(report.problems_found);
}

#[test]
fn healthy_backend_without_traffic_noted() {
    let id = "/subscriptions/sub/resourceGroups/rg/providers/Microsoft.Network/trafficManagerProfiles/fleet-uid-p";
    let yaml = format!(
        "{}{}",
        list(&[profile("p", Some(id), PROGRAMMED)]),
        r#"
- apiVersion: networking.fleet.azure.com/v1beta1
  kind: TrafficManagerBackend
  metadata: {name: b, namespace: ns, generation: 1}
  spec: {profile: {name: p}, backend: {name: svc}, weight: 0}
  status:
    conditions:
    - {type: Accepted, status: 'True', reason: Accepted, observedGeneration: 1}
"#
    );
    let report = report(&yaml);
    assert!(!report.problems_found);
    assert!(report.scenarios.is_empty());
    assert_eq!(report.healthy.profiles.healthy, 1);
    assert_eq!(report.healthy.backends.total, 1);
    assert_eq!(
        report.healthy.notes,
        ["TrafficManagerBackend ns/b has weight 0, so it receives no traffic"]
    );
    assert_eq!(report.headroom.subscriptions[0].subscription_id, "sub");
    assert_eq!(report.headroom.subscriptions[0].headroom, 199);
}

#[test]
fn rejected_item_counts_as_problem() {
    let yaml = "apiVersion: networking.fleet.azure.com/v1beta1\nkind: TrafficManagerProfile\nmetadata: {name: p}\n";
    let report = report(yaml);
    assert!(report.scenarios.is_empty());
    assert_eq!(report.rejected_items.len(), 1);
    assert!(report.problems_found);
}

#[test]
fn runbook_link_joins_base() {
    assert_eq!(
        runbook_link("docs/runbooks", Problem::Pending),
        "docs/runbooks/pending.md"
    );
    assert_eq!(
        runbook_link("https://x.test/rb/", Problem::AzureError),
        "https://x.test/rb/azure_error.md"
    );
    assert_eq!(runbook_link("", Problem::Unclassified), "unclassified.md");
}

#[test]
fn headroom_counts_endpoints_per_profile() {
    let report = report(include_str!("../../../tests/fixtures/documented-hub.yaml"));
    let nginx = report
        .headroom
        .profiles
        .iter()
        .find(|p| p.name == "nginx-profile")
        .unwrap();
    assert_eq!(nginx.endpoints, 2);
    assert_eq!(nginx.headroom, 198);
    assert_eq!(report.headroom.profiles_without_subscription, 4);
}

/// Collects every string in a JSON value.
fn strings(value: &serde_json::Value, out: &mut Vec<String>) {
    match value {
        serde_json::Value::String(text) => out.push(text.clone()),
        serde_json::Value::Array(items) => items.iter().for_each(|v| strings(v, out)),
        serde_json::Value::Object(map) => map.values().for_each(|v| strings(v, out)),
        _ => {}
    }
}

#[test]
fn control_characters_replaced_everywhere() {
    // Every string the input supplies carries an escape sequence or a control character.
    let yaml = r#"
apiVersion: v1
kind: List
items:
- apiVersion: networking.fleet.azure.com/v1beta1
  kind: TrafficManagerProfile
  metadata: {name: "p\e[2J", namespace: "ns\e]0;x\a", generation: 2}
  spec: {resourceGroup: "rg\e[8m"}
  status:
    dnsName: "dns\e[1m.example"
    resourceID: "/subscriptions/sub\e[0m/resourceGroups/rg/providers/Microsoft.Network/trafficManagerProfiles/fleet\e[0m"
    conditions:
    - {type: "Programmed\e[0m", status: 'False', reason: "Invalid\e[0m", observedGeneration: 1, lastTransitionTime: "2025\e[0m", message: "RESPONSE 403: 403 Forbidden ERROR CODE: AuthorizationFailed \e[2J\rhidden"}
- apiVersion: networking.fleet.azure.com/v1beta1
  kind: TrafficManagerBackend
  metadata: {name: "b\e[2J", namespace: "ns\e]0;x\a", generation: 1}
  spec: {profile: {name: "missing\e[2J"}, backend: {name: "svc\e[2J"}}
  status:
    conditions:
    - {type: Accepted, status: 'False', reason: Invalid, observedGeneration: 1, message: '1 service(s) exported from clusters cannot be exposed as the Azure Traffic Manager'}
- apiVersion: networking.fleet.azure.com/v1alpha1
  kind: ServiceImport
  metadata: {name: "svc\e[2J", namespace: "ns\e]0;x\a"}
- apiVersion: networking.fleet.azure.com/v1alpha1
  kind: InternalServiceExport
  metadata: {name: "e\e[2J", namespace: "fleet-member-c\e[2J"}
  spec: {type: ClusterIP, serviceReference: {clusterId: "c\e[2J", namespace: "ns\e]0;x\a", name: "svc\e[2J"}}
- apiVersion: networking.fleet.azure.com/v1beta1
  kind: TrafficManagerProfile
  metadata: {name: "q\e[2J"}
"#;
    let report = report(yaml);
    assert!(!report.scenarios.is_empty());
    assert!(!report.rejected_items.is_empty());

    let mut texts = Vec::new();
    strings(&serde_json::to_value(&report).unwrap(), &mut texts);
    for text in &texts {
        assert!(
            !text.contains(char::is_control),
            "control character in {text:?}"
        );
    }
    assert!(
        texts.iter().any(|t| t.contains("p\u{FFFD}[2J")),
        "the object name is kept, with its escape replaced"
    );
}
