//! The shared state: replacing, applying and deleting objects, and the counters and
//! series that follow.

use std::sync::Arc;

use fleet_dns_lb_exporter::catalogue::Kind;
use fleet_dns_lb_exporter::metrics::exposition::Format;
use fleet_dns_lb_exporter::metrics::own::ExporterMetrics;
use fleet_dns_lb_exporter::objects::{HubObject, decode_object};
use fleet_dns_lb_exporter::state::{Hub, HubConfig};
use serde_json::json;

fn profile(name: &str, status: &str, reason: &str, message: &str) -> HubObject {
    let value = json!({
        "apiVersion": "networking.fleet.azure.com/v1beta1",
        "kind": "TrafficManagerProfile",
        "metadata": {"name": name, "namespace": "ns", "generation": 1, "uid": format!("uid-{name}")},
        "spec": {"resourceGroup": "rg"},
        "status": {
            "resourceID": format!("/subscriptions/sub-1/resourceGroups/rg/providers/Microsoft.Network/trafficManagerProfiles/fleet-{name}"),
            "conditions": [{"type": "Programmed", "status": status, "reason": reason,
                            "message": message, "observedGeneration": 1}]
        }
    });
    decode_object(0, value).unwrap().unwrap()
}

fn backend(name: &str, profile: &str, endpoints: usize) -> HubObject {
    let endpoints: Vec<_> = (0..endpoints)
        .map(|i| json!({"target": format!("t{i}"), "weight": 1, "from": {"cluster": format!("c{i}"), "weight": 1}}))
        .collect();
    let value = json!({
        "apiVersion": "networking.fleet.azure.com/v1beta1",
        "kind": "TrafficManagerBackend",
        "metadata": {"name": name, "namespace": "ns", "generation": 1},
        "spec": {"profile": {"name": profile}, "backend": {"name": "svc"}},
        "status": {
            "conditions": [{"type": "Accepted", "status": "True", "reason": "Accepted", "observedGeneration": 1}],
            "endpoints": endpoints
        }
    });
    decode_object(0, value).unwrap().unwrap()
}

fn new_hub(config: HubConfig) -> Hub {
    Hub::new(config, Arc::new(ExporterMetrics::new()))
}

fn sample(scrape: &str, prefix: &str) -> Option<String> {
    scrape
        .lines()
        .find(|line| line.starts_with(prefix))
        .map(|line| line.rsplit(' ').next().unwrap().to_owned())
}

#[test]
fn replace_adopts_equal_copy() {
    let hub = new_hub(HubConfig::default());
    let first = profile("a", "False", "DNSNameNotAvailable", "");
    hub.replace(&Kind::ALL, vec![first.clone()]);
    let scrape = hub.encode(Format::Text);

    let copy = profile("a", "False", "DNSNameNotAvailable", "");
    assert!(!copy.ptr_eq(&first), "the copy is a separate allocation");
    hub.replace(&Kind::ALL, vec![copy.clone()]);
    let state = hub.read();
    let stored = &state
        .get(&copy.key())
        .expect("the profile is stored")
        .object;
    assert!(stored.ptr_eq(&copy), "the hub keeps the new allocation");
    assert!(!stored.ptr_eq(&first), "the hub dropped the old allocation");
    drop(state);
    assert_eq!(hub.encode(Format::Text), scrape);
}

#[test]
fn replace_drops_missing_objects() {
    let hub = new_hub(HubConfig::default());
    hub.replace(
        &Kind::ALL,
        vec![
            profile("a", "False", "DNSNameNotAvailable", ""),
            profile("b", "True", "Programmed", ""),
        ],
    );
    assert!(hub.encode(Format::Text).contains("name=\"a\""));

    hub.replace(&Kind::ALL, vec![profile("b", "True", "Programmed", "")]);
    let scrape = hub.encode(Format::Text);
    assert!(
        !scrape.contains("name=\"a\""),
        "series of a deleted object remain"
    );
    assert_eq!(
        sample(
            &scrape,
            "fleet_dns_lb_objects{kind=\"TrafficManagerProfile\"}"
        )
        .as_deref(),
        Some("1")
    );
}

#[test]
fn replace_leaves_other_kinds() {
    let hub = new_hub(HubConfig::default());
    hub.apply(backend("b", "p", 1));
    hub.replace(
        &[Kind::TrafficManagerProfile],
        vec![profile("p", "True", "Programmed", "")],
    );
    assert_eq!(hub.read().len(Kind::TrafficManagerBackend), 1);
}

#[test]
fn apply_then_delete() {
    let hub = new_hub(HubConfig::default());
    let object = profile("a", "Unknown", "Pending", "retrying");
    let key = object.key();
    hub.apply(object);
    let problem = "fleet_dns_lb_problem{kind=\"TrafficManagerProfile\",namespace=\"ns\",name=\"a\"";
    assert!(hub.encode(Format::Text).contains(problem));
    hub.delete(&key);
    let scrape = hub.encode(Format::Text);
    assert!(!scrape.contains(problem));
    assert!(!scrape.contains("name=\"a\""));
}

#[test]
fn entering_problem_counted_once() {
    let hub = new_hub(HubConfig::default());
    let entered = "fleet_dns_lb_problem_entered_total{kind=\"TrafficManagerProfile\",scenario=\"profile_creation\",problem=\"dns_name_not_available\"}";
    assert_eq!(
        sample(&hub.encode(Format::Text), entered).as_deref(),
        Some("0")
    );

    hub.apply(profile("a", "False", "DNSNameNotAvailable", ""));
    hub.apply(profile(
        "a",
        "False",
        "DNSNameNotAvailable",
        "same problem, new text",
    ));
    assert_eq!(
        sample(&hub.encode(Format::Text), entered).as_deref(),
        Some("1")
    );

    hub.apply(profile("a", "True", "Programmed", ""));
    hub.apply(profile("a", "False", "DNSNameNotAvailable", ""));
    assert_eq!(
        sample(&hub.encode(Format::Text), entered).as_deref(),
        Some("2")
    );
}

#[test]
fn condition_transitions_counted() {
    let hub = new_hub(HubConfig::default());
    let to_true = "fleet_dns_lb_condition_transitions_total{kind=\"TrafficManagerProfile\",condition=\"Programmed\",status=\"True\"}";
    hub.apply(profile("a", "Unknown", "Pending", ""));
    hub.apply(profile("a", "True", "Programmed", ""));
    hub.apply(profile("a", "True", "Programmed", "no change of status"));
    assert_eq!(
        sample(&hub.encode(Format::Text), to_true).as_deref(),
        Some("1")
    );
}

#[test]
fn limit_reached_counted() {
    let hub = new_hub(HubConfig::default());
    hub.apply(profile(
        "a",
        "False",
        "Invalid",
        "Azure Traffic Manager profile limits reached.",
    ));
    let scrape = hub.encode(Format::Text);
    let entered = "fleet_dns_lb_limit_reached_entered_total{kind=\"TrafficManagerProfile\",scenario=\"profile_creation\",problem=\"profile_limit_reached\"}";
    assert_eq!(sample(&scrape, entered).as_deref(), Some("1"));
    let now = "fleet_dns_lb_limit_reached_objects{kind=\"TrafficManagerProfile\",problem=\"profile_limit_reached\"}";
    assert_eq!(sample(&scrape, now).as_deref(), Some("1"));
}

#[test]
fn headroom_from_configured_limits() {
    let config = HubConfig {
        profile_limit: 3,
        endpoint_limit: 10,
        subscription_ids: vec!["sub-empty".to_owned()],
        ..HubConfig::default()
    };
    let hub = new_hub(config);
    hub.replace(
        &Kind::ALL,
        vec![
            profile("p", "True", "Programmed", ""),
            profile("q", "True", "Programmed", ""),
            backend("b1", "p", 4),
            backend("b2", "p", 3),
            backend("orphan", "missing", 5),
        ],
    );
    let scrape = hub.encode(Format::Text);
    let value = |prefix: &str| sample(&scrape, prefix);
    assert_eq!(
        value("fleet_dns_lb_subscription_profiles{subscription=\"sub-1\"}").as_deref(),
        Some("2")
    );
    assert_eq!(
        value("fleet_dns_lb_subscription_profile_headroom{subscription=\"sub-1\"}").as_deref(),
        Some("1")
    );
    assert_eq!(
        value("fleet_dns_lb_subscription_profile_headroom{subscription=\"sub-empty\"}").as_deref(),
        Some("3")
    );
    assert_eq!(
        value("fleet_dns_lb_profile_endpoints{namespace=\"ns\",profile=\"p\"}").as_deref(),
        Some("7")
    );
    assert_eq!(
        value("fleet_dns_lb_profile_endpoint_headroom{namespace=\"ns\",profile=\"p\"}").as_deref(),
        Some("3")
    );
    assert_eq!(
        value("fleet_dns_lb_profile_endpoints{namespace=\"ns\",profile=\"q\"}").as_deref(),
        Some("0")
    );
    assert!(
        value("fleet_dns_lb_profile_endpoints{namespace=\"ns\",profile=\"missing\"}").is_none()
    );
    assert_eq!(value("fleet_dns_lb_profile_limit").as_deref(), Some("3"));
    assert_eq!(value("fleet_dns_lb_endpoint_limit").as_deref(), Some("10"));
}

#[test]
fn invalid_object_served_and_counted() {
    let value = json!({
        "apiVersion": "networking.fleet.azure.com/v1beta1",
        "kind": "TrafficManagerBackend",
        "metadata": {"name": "bad", "namespace": "ns"},
        "spec": {"weight": "heavy"},
        "status": {"conditions": [{"type": "Accepted", "status": "True", "reason": "Accepted"}]}
    });
    let hub = new_hub(HubConfig::default());
    hub.apply(decode_object(0, value).unwrap().unwrap());
    hub.apply(backend("good", "p", 1));
    let scrape = hub.encode(Format::Text);
    assert_eq!(
        sample(&scrape, "fleet_dns_lb_invalid_object{kind=\"TrafficManagerBackend\",namespace=\"ns\",name=\"bad\"}").as_deref(),
        Some("1")
    );
    assert_eq!(
        sample(
            &scrape,
            "fleet_dns_lb_invalid_objects_total{kind=\"TrafficManagerBackend\"}"
        )
        .as_deref(),
        Some("1")
    );
    assert!(scrape.contains("fleet_dns_lb_backend_info{namespace=\"ns\",name=\"good\""));
    assert!(scrape.contains(
        "fleet_dns_lb_condition_status{kind=\"TrafficManagerBackend\",namespace=\"ns\",name=\"bad\""
    ));
}
