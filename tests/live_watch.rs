//! The live source end to end: the exporter binary with the real kube client against the
//! test API server, including every fault the exporter must ride out.

mod common;

use std::time::Duration;

use common::{Exporter, eventually, fixture_objects, from_file_metrics, object_families, sample};
use fleet_dns_lb_testkit::{TestApiServer, Verb};
use serde_json::{Value, json};

/// Upper bound for a change to show in /metrics, generous so that a loaded CI machine
/// passes.
const CHANGE_DEADLINE: Duration = Duration::from_secs(30);

const PROFILES: &str = "trafficmanagerprofiles";

fn hub_objects() -> Vec<Value> {
    fixture_objects("examples/fleet-hub.yaml")
}

fn profile(namespace: &str, name: &str, status: &str, reason: &str) -> Value {
    json!({
        "apiVersion": "networking.fleet.azure.com/v1beta1",
        "kind": "TrafficManagerProfile",
        "metadata": {"name": name, "namespace": namespace, "generation": 1},
        "spec": {"resourceGroup": "live-rg"},
        "status": {"conditions": [{
            "type": "Programmed",
            "status": status,
            "reason": reason,
            "message": "set by the live test",
            "observedGeneration": 1,
            "lastTransitionTime": "2025-04-29T06:39:10Z",
        }]},
    })
}

fn problem_prefix(namespace: &str, name: &str, problem: &str) -> String {
    format!(
        "fleet_dns_lb_problem{{kind=\"TrafficManagerProfile\",namespace=\"{namespace}\",name=\"{name}\",scenario=\"profile_creation\",problem=\"{problem}\""
    )
}

fn has_profile(metrics: &str, namespace: &str, name: &str) -> bool {
    metrics.contains(&format!(
        "{{kind=\"TrafficManagerProfile\",namespace=\"{namespace}\",name=\"{name}\""
    ))
}

/// Waits until the exporter's object families equal those of `--from-file` on the
/// server's current objects.
async fn wait_converged(exporter: &Exporter, server: &TestApiServer) {
    let expected = object_families(&from_file_metrics(server));
    exporter
        .wait_for_metrics(
            "the same object families as --from-file",
            CHANGE_DEADLINE,
            |m| object_families(m) == expected,
        )
        .await;
}

#[tokio::test]
async fn initial_sync_matches_from_file() {
    let server = TestApiServer::start(hub_objects()).await.unwrap();
    let exporter = Exporter::start(&server, &[]);
    exporter.wait_ready(CHANGE_DEADLINE).await;

    let live = exporter.metrics().await;
    let expected = from_file_metrics(&server);
    let live_families = object_families(&live);
    assert!(
        live_families
            .iter()
            .any(|l| l.starts_with("fleet_dns_lb_problem{")),
        "no problem series after the initial sync:\n{live}"
    );
    assert_eq!(live_families, object_families(&expected));

    for plural in common::PLURALS {
        let up = format!("fleet_dns_lb_source_up{{source=\"kube\",target=\"{plural}\"}}");
        assert_eq!(sample(&live, &up), Some(1.0), "{up} in:\n{live}");
    }
    let listed = sample(
        &live,
        "fleet_dns_lb_watch_events_total{kind=\"TrafficManagerProfile\",event=\"applied\"}",
    );
    assert_eq!(listed, Some(server.objects(PROFILES).len() as f64));
    assert!(
        live.contains("fleet_dns_lb_watch_last_event_timestamp_seconds{kind=\"ServiceImport\"}"),
        "{live}"
    );
}

#[tokio::test]
async fn add_change_delete_show_in_metrics() {
    let server = TestApiServer::start(hub_objects()).await.unwrap();
    let exporter = Exporter::start(&server, &[]);
    exporter.wait_ready(CHANGE_DEADLINE).await;

    server.apply(profile("live", "added", "False", "DNSNameNotAvailable"));
    let dns_problem = problem_prefix("live", "added", "dns_name_not_available");
    let metrics = exporter
        .wait_for_metrics("the added profile's problem", CHANGE_DEADLINE, |m| {
            m.contains(&dns_problem)
        })
        .await;
    let entered = "fleet_dns_lb_problem_entered_total{kind=\"TrafficManagerProfile\",scenario=\"profile_creation\",problem=\"dns_name_not_available\"}";
    let entered_before = sample(&metrics, entered).expect("problem_entered counted");

    server.apply(profile("live", "added", "Unknown", "Pending"));
    exporter
        .wait_for_metrics("the changed profile's new problem", CHANGE_DEADLINE, |m| {
            m.contains(&problem_prefix("live", "added", "pending")) && !m.contains(&dns_problem)
        })
        .await;

    server.apply(profile("live", "added", "False", "DNSNameNotAvailable"));
    let metrics = exporter
        .wait_for_metrics("the problem entered a second time", CHANGE_DEADLINE, |m| {
            sample(m, entered) == Some(entered_before + 1.0)
        })
        .await;
    let to_unknown = "fleet_dns_lb_condition_transitions_total{kind=\"TrafficManagerProfile\",condition=\"Programmed\",status=\"Unknown\"}";
    assert!(sample(&metrics, to_unknown) >= Some(1.0), "{metrics}");

    assert!(server.delete(PROFILES, "live", "added"));
    let metrics = exporter
        .wait_for_metrics("the deleted profile's series gone", CHANGE_DEADLINE, |m| {
            !has_profile(m, "live", "added")
        })
        .await;
    assert_eq!(
        sample(
            &metrics,
            "fleet_dns_lb_watch_events_total{kind=\"TrafficManagerProfile\",event=\"deleted\"}"
        ),
        Some(1.0)
    );
    wait_converged(&exporter, &server).await;

    let logs = exporter.logs();
    assert!(
        logs.lines()
            .any(|l| l.contains("problems changed") && l.contains("\"name\":\"added\"")),
        "no state-change log line for the added profile:\n{logs}"
    );
}

#[tokio::test]
async fn missing_kind_picked_up_later() {
    let server = TestApiServer::start(hub_objects()).await.unwrap();
    server.serve_versions("trafficmanagerbackends", &[]);
    let exporter = Exporter::start(&server, &[]);

    // Not served, so readiness does not wait for it.
    exporter.wait_ready(CHANGE_DEADLINE).await;
    let metrics = exporter.metrics().await;
    let up = "fleet_dns_lb_source_up{source=\"kube\",target=\"trafficmanagerbackends\"}";
    assert_eq!(sample(&metrics, up), Some(0.0), "{metrics}");
    assert!(has_profile(&metrics, "team-a", "webapp"), "{metrics}");
    assert!(
        !metrics.contains("kind=\"TrafficManagerBackend\",namespace="),
        "{metrics}"
    );

    // Let discovery run several times, then check the kind was reported once.
    let before = server.stats().discovery_requests;
    eventually("three more discovery rounds", CHANGE_DEADLINE, || {
        server.stats().discovery_requests >= before + 9
    })
    .await;
    let warnings = exporter
        .logs()
        .lines()
        .filter(|l| l.contains("does not serve trafficmanagerbackends"))
        .count();
    assert_eq!(warnings, 1, "{}", exporter.logs());

    server.serve_versions("trafficmanagerbackends", &["v1beta1", "v1alpha1"]);
    exporter
        .wait_for_metrics(
            "backend series after the CRD appears",
            CHANGE_DEADLINE,
            |m| {
                sample(m, up) == Some(1.0)
                    && m.contains("kind=\"TrafficManagerBackend\",namespace=")
            },
        )
        .await;
    wait_converged(&exporter, &server).await;
}

#[tokio::test]
async fn v1alpha1_served_alone_is_used() {
    let server = TestApiServer::start(hub_objects()).await.unwrap();
    server.serve_versions(PROFILES, &["v1alpha1"]);
    server.serve_versions("trafficmanagerbackends", &["v1alpha1"]);
    // Slow responses must not matter.
    server.faults(|f| f.delay = Duration::from_millis(150));
    let exporter = Exporter::start(&server, &[]);
    exporter.wait_ready(CHANGE_DEADLINE).await;

    wait_converged(&exporter, &server).await;
    let logs = exporter.logs();
    assert!(
        logs.lines().any(|l| l.contains("\"watching\"")
            && l.contains("TrafficManagerProfile")
            && l.contains("v1alpha1")),
        "{logs}"
    );
}

#[tokio::test]
async fn forbidden_list_names_cluster_role() {
    let server = TestApiServer::start(hub_objects()).await.unwrap();
    server.faults(|f| {
        f.forbidden
            .insert(("serviceimports".to_owned(), Verb::List));
    });
    let exporter = Exporter::start(&server, &[]);

    let metrics = exporter
        .wait_for_metrics(
            "the forbidden kind counted as an error",
            CHANGE_DEADLINE,
            |m| {
                sample(
                    m,
                    "fleet_dns_lb_watch_errors_total{kind=\"ServiceImport\",error=\"forbidden\"}",
                )
                .is_some()
                    && has_profile(m, "team-a", "webapp")
            },
        )
        .await;
    assert_eq!(
        sample(
            &metrics,
            "fleet_dns_lb_source_up{source=\"kube\",target=\"serviceimports\"}"
        ),
        Some(0.0)
    );
    assert!(server.stats().forbidden_sent >= 1);
    let logs = exporter.logs();
    let line = logs
        .lines()
        .find(|l| l.contains("RBAC denies"))
        .unwrap_or_else(|| panic!("no RBAC log line:\n{logs}"));
    assert!(
        line.contains("list on serviceimports.networking.fleet.azure.com"),
        "{line}"
    );
    assert!(line.contains("ClusterRole fleet-dns-lb-exporter"), "{line}");

    let (status, body) = exporter.get("/readyz").await;
    assert_eq!(status, 503);
    assert!(body.contains("serviceimports"), "{body}");

    server.faults(|f| f.forbidden.clear());
    exporter.wait_ready(CHANGE_DEADLINE).await;
    wait_converged(&exporter, &server).await;
}

#[tokio::test]
async fn hung_list_times_out_and_retries() {
    let server = TestApiServer::start(hub_objects()).await.unwrap();
    server.faults(|f| {
        f.hang_lists.insert(PROFILES.to_owned(), 1);
    });
    let exporter = Exporter::start(&server, &[]);

    eventually("the list to hang", CHANGE_DEADLINE, || {
        server.stats().lists_hung == 1
    })
    .await;
    let hung_at = std::time::Instant::now();
    let (status, _) = exporter.get("/readyz").await;
    assert_eq!(status, 503, "ready while the profile list hangs");

    // The request timeout (1 s) and the first backoff (at most 1.6 s) end the hang in
    // time. The socket read timeout alone (--watch-timeout 3 plus 10 s) takes 13 s.
    exporter.wait_ready(Duration::from_secs(9)).await;
    assert!(hung_at.elapsed() < Duration::from_secs(9));
    let metrics = exporter.metrics().await;
    assert!(
        sample(
            &metrics,
            "fleet_dns_lb_watch_errors_total{kind=\"TrafficManagerProfile\",error=\"timeout\"}"
        ) >= Some(1.0),
        "{metrics}"
    );
    assert!(server.stats().requests(PROFILES, Verb::List) >= 2);
    wait_converged(&exporter, &server).await;
}

#[tokio::test]
async fn hung_watch_reconnects() {
    let server = TestApiServer::start(hub_objects()).await.unwrap();
    server.faults(|f| {
        f.hang_watches.insert(PROFILES.to_owned(), 1);
    });
    let exporter = Exporter::start(&server, &[]);
    exporter.wait_ready(CHANGE_DEADLINE).await;
    eventually("the watch to hang", CHANGE_DEADLINE, || {
        server.stats().watches_hung == 1
    })
    .await;

    // The silent watch is given up after --watch-timeout plus 5 s, then the change arrives.
    server.apply(profile(
        "live",
        "after-hang",
        "False",
        "DNSNameNotAvailable",
    ));
    exporter
        .wait_for_metrics(
            "the change made during the hung watch",
            CHANGE_DEADLINE,
            |m| has_profile(m, "live", "after-hang"),
        )
        .await;
    assert!(server.stats().requests(PROFILES, Verb::Watch) >= 2);
}

#[tokio::test]
async fn cut_short_responses_converge() {
    let server = TestApiServer::start(hub_objects()).await.unwrap();
    server.faults(|f| {
        f.cut_short_lists.insert(PROFILES.to_owned(), 1);
    });
    let exporter = Exporter::start(&server, &[]);
    exporter.wait_ready(CHANGE_DEADLINE).await;
    assert_eq!(server.stats().lists_cut_short, 1);
    wait_converged(&exporter, &server).await;

    let watches_before = server.stats().requests(PROFILES, Verb::Watch);
    eventually("a profile watch to be open", CHANGE_DEADLINE, || {
        server.stats().requests(PROFILES, Verb::Watch) >= watches_before.max(1)
    })
    .await;
    server.cut_watches();
    server.delete(PROFILES, "team-a", "webapp");
    server.apply(profile("live", "after-cut", "Unknown", "Pending"));
    wait_converged(&exporter, &server).await;
    assert!(server.stats().watches_cut >= 1);

    let metrics = exporter.metrics().await;
    assert!(!has_profile(&metrics, "team-a", "webapp"), "{metrics}");
    let errors: f64 = metrics
        .lines()
        .filter(|l| l.starts_with("fleet_dns_lb_watch_errors_total{kind=\"TrafficManagerProfile\""))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum();
    assert!(
        errors >= 1.0,
        "cut-short responses were not counted:\n{metrics}"
    );
}

#[tokio::test]
async fn server_restart_converges() {
    let server = TestApiServer::start(hub_objects()).await.unwrap();
    let exporter = Exporter::start(&server, &[]);
    exporter.wait_ready(CHANGE_DEADLINE).await;
    eventually("watches to be open", CHANGE_DEADLINE, || {
        server.stats().requests(PROFILES, Verb::Watch) >= 1
    })
    .await;

    server.restart(|s| {
        s.delete(PROFILES, "team-a", "webapp");
        s.apply(profile("live", "during-restart", "Unknown", "Pending"));
    });
    assert!(server.stats().connections_dropped >= 1);
    wait_converged(&exporter, &server).await;
    let metrics = exporter.metrics().await;
    assert!(
        !has_profile(&metrics, "team-a", "webapp"),
        "stale series after restart:\n{metrics}"
    );
    assert!(has_profile(&metrics, "live", "during-restart"), "{metrics}");
}

#[tokio::test]
async fn expired_resource_version_relists() {
    let server = TestApiServer::start(hub_objects()).await.unwrap();
    let exporter = Exporter::start(&server, &[]);
    exporter.wait_ready(CHANGE_DEADLINE).await;
    eventually("watches to be open", CHANGE_DEADLINE, || {
        server.stats().requests(PROFILES, Verb::Watch) >= 1
    })
    .await;

    server.lose_watch_history(|s| {
        s.delete(PROFILES, "team-a", "webapp");
        s.apply(profile("live", "unseen", "Unknown", "Pending"));
    });
    let metrics = exporter
        .wait_for_metrics("a relist after 410 Gone", CHANGE_DEADLINE, |m| {
            sample(
                m,
                "fleet_dns_lb_watch_relists_total{kind=\"TrafficManagerProfile\"}",
            ) >= Some(1.0)
        })
        .await;
    assert!(server.stats().gone_sent >= 1);
    assert!(
        sample(
            &metrics,
            "fleet_dns_lb_watch_errors_total{kind=\"TrafficManagerProfile\",error=\"gone\"}"
        ) >= Some(1.0),
        "{metrics}"
    );
    wait_converged(&exporter, &server).await;
    let metrics = exporter.metrics().await;
    assert!(
        !has_profile(&metrics, "team-a", "webapp"),
        "stale series after 410:\n{metrics}"
    );
    assert!(has_profile(&metrics, "live", "unseen"), "{metrics}");
}

#[tokio::test]
async fn namespace_flag_limits_scope() {
    let server = TestApiServer::start(hub_objects()).await.unwrap();
    let exporter = Exporter::start(&server, &["--namespace", "team-a", "--namespace", "web"]);
    exporter.wait_ready(CHANGE_DEADLINE).await;

    let metrics = exporter.metrics().await;
    assert!(has_profile(&metrics, "team-a", "webapp"), "{metrics}");
    assert!(
        !has_profile(&metrics, "app-a", "orders-profile"),
        "{metrics}"
    );
    assert_eq!(
        sample(
            &metrics,
            "fleet_dns_lb_source_up{source=\"kube\",target=\"team-a/trafficmanagerprofiles\"}"
        ),
        Some(1.0),
        "{metrics}"
    );

    // A relist of one namespace keeps the other namespace's objects.
    server.lose_watch_history(|s| {
        s.apply(profile("team-a", "second", "Unknown", "Pending"));
    });
    exporter
        .wait_for_metrics("the new object after the relist", CHANGE_DEADLINE, |m| {
            has_profile(m, "team-a", "second")
        })
        .await;
    let metrics = exporter.metrics().await;
    assert!(has_profile(&metrics, "web", "checkout"), "{metrics}");
    assert!(has_profile(&metrics, "team-a", "webapp"), "{metrics}");
}

#[test]
fn missing_kubeconfig_named_in_error() {
    let output = std::process::Command::new(common::EXPORTER)
        .args([
            "--kubeconfig",
            "/nonexistent/hub.kubeconfig",
            "--web.listen-address",
            "127.0.0.1:0",
        ])
        .env_remove("KUBECONFIG")
        .output()
        .expect("run the exporter");
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("/nonexistent/hub.kubeconfig"), "{stderr}");
    assert!(stderr.contains("--kubeconfig"), "{stderr}");
}

#[tokio::test]
async fn crd_version_change_and_removal_followed() {
    let server = TestApiServer::start(hub_objects()).await.unwrap();
    let exporter = Exporter::start(&server, &[]);
    exporter.wait_ready(CHANGE_DEADLINE).await;

    server.serve_versions(PROFILES, &["v1alpha1"]);
    common::eventually("the switch to v1alpha1", CHANGE_DEADLINE, || {
        exporter
            .logs()
            .lines()
            .any(|l| l.contains("serves another version") && l.contains("v1alpha1"))
    })
    .await;
    wait_converged(&exporter, &server).await;

    server.serve_versions(PROFILES, &[]);
    let up = "fleet_dns_lb_source_up{source=\"kube\",target=\"trafficmanagerprofiles\"}";
    let metrics = exporter
        .wait_for_metrics(
            "profile series removed with the CRD",
            CHANGE_DEADLINE,
            |m| {
                sample(m, up) == Some(0.0)
                    && !m.contains("{kind=\"TrafficManagerProfile\",namespace=")
            },
        )
        .await;
    assert!(
        metrics.contains("{kind=\"TrafficManagerBackend\",namespace="),
        "{metrics}"
    );
}

#[tokio::test]
async fn unreachable_server_at_start_waits() {
    let server = TestApiServer::start(hub_objects()).await.unwrap();
    server.faults(|f| f.down = true);
    let exporter = Exporter::start(&server, &[]);

    eventually("refused connections", CHANGE_DEADLINE, || {
        server.stats().connections_refused >= 2
    })
    .await;
    let (status, body) = exporter.get("/readyz").await;
    assert_eq!(status, 503);
    assert!(body.contains("kube discovery"), "{body}");

    server.faults(|f| f.down = false);
    exporter.wait_ready(CHANGE_DEADLINE).await;
    wait_converged(&exporter, &server).await;
    let metrics = exporter.metrics().await;
    assert!(
        metrics.contains("fleet_dns_lb_discovery_errors_total{error=\"connection\"}"),
        "{metrics}"
    );
}
