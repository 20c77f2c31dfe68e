//! The test API server itself, checked with a plain HTTP client and with kubectl, so that
//! the live-source fault tests cannot pass because a fault silently did nothing.

mod common;

use std::process::Command;
use std::time::Duration;

use common::fixture_objects;
use fleet_dns_lb_testkit::{TestApiServer, Verb};
use serde_json::{Value, json};

const GROUP_PATH: &str = "/apis/networking.fleet.azure.com";
const PROFILES_V1BETA1: &str = "/apis/networking.fleet.azure.com/v1beta1/trafficmanagerprofiles";

fn profile(name: &str) -> Value {
    json!({
        "apiVersion": "networking.fleet.azure.com/v1beta1",
        "kind": "TrafficManagerProfile",
        "metadata": {"name": name, "namespace": "test"},
        "spec": {"resourceGroup": "rg"},
    })
}

async fn get(server: &TestApiServer, path: &str) -> (u16, Value) {
    let response = reqwest::get(format!("{}{path}", server.url()))
        .await
        .expect("request");
    let status = response.status().as_u16();
    let bytes = response.bytes().await.expect("response body");
    let body = serde_json::from_slice(&bytes).expect("JSON body");
    (status, body)
}

/// Reads watch events from a streaming response until `count` arrived or the stream ends.
async fn read_events(response: &mut reqwest::Response, count: usize) -> Vec<Value> {
    let mut events = Vec::new();
    let mut buffer = Vec::new();
    while events.len() < count {
        let chunk = tokio::time::timeout(Duration::from_secs(10), response.chunk())
            .await
            .expect("a watch event within 10 s");
        let Some(chunk) = chunk.expect("watch stream intact") else {
            break;
        };
        buffer.extend_from_slice(&chunk);
        while let Some(end) = buffer.iter().position(|b| *b == b'\n') {
            let line: Vec<u8> = buffer.drain(..=end).collect();
            events.push(serde_json::from_slice(&line).expect("one JSON event per line"));
        }
    }
    events
}

async fn open_watch(server: &TestApiServer, query: &str) -> reqwest::Response {
    let response = reqwest::get(format!(
        "{}{PROFILES_V1BETA1}?watch=true&{query}",
        server.url()
    ))
    .await
    .expect("watch request");
    assert_eq!(response.status().as_u16(), 200);
    response
}

#[tokio::test]
async fn discovery_follows_served_versions() {
    let server = TestApiServer::start(Vec::new()).await.unwrap();

    let (status, groups) = get(&server, "/apis").await;
    assert_eq!(status, 200);
    let group = &groups["groups"][0];
    assert_eq!(group["name"], "networking.fleet.azure.com");
    assert_eq!(group["preferredVersion"]["version"], "v1beta1");
    assert_eq!(group["versions"][1]["version"], "v1alpha1");

    let (_, resources) = get(&server, &format!("{GROUP_PATH}/v1beta1")).await;
    let names: Vec<&str> = resources["resources"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|r| r["name"].as_str())
        .collect();
    assert!(names.contains(&"trafficmanagerprofiles"), "{names:?}");
    assert!(!names.contains(&"serviceimports"), "{names:?}");

    server.serve_versions("trafficmanagerprofiles", &["v1alpha1"]);
    let (_, resources) = get(&server, &format!("{GROUP_PATH}/v1beta1")).await;
    assert!(!resources.to_string().contains("\"trafficmanagerprofiles\""));
    let (status, _) = get(&server, PROFILES_V1BETA1).await;
    assert_eq!(status, 404);
    let (status, _) = get(
        &server,
        &format!("{GROUP_PATH}/v1alpha1/trafficmanagerprofiles"),
    )
    .await;
    assert_eq!(status, 200);

    for plural in common::PLURALS {
        server.serve_versions(plural, &[]);
    }
    let (_, groups) = get(&server, "/apis").await;
    assert_eq!(groups["groups"], json!([]));
    let (status, _) = get(&server, GROUP_PATH).await;
    assert_eq!(status, 404);
}

#[tokio::test]
async fn list_sets_version_and_resource_version() {
    let server = TestApiServer::start(fixture_objects("tests/fixtures/documented-hub.yaml"))
        .await
        .unwrap();
    let (status, list) = get(
        &server,
        &format!("{GROUP_PATH}/v1alpha1/trafficmanagerprofiles"),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(list["kind"], "TrafficManagerProfileList");
    let resource_version: u64 = list["metadata"]["resourceVersion"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    let items = list["items"].as_array().unwrap();
    assert!(!items.is_empty());
    for item in items {
        assert_eq!(item["apiVersion"], "networking.fleet.azure.com/v1alpha1");
        let item_version: u64 = item["metadata"]["resourceVersion"]
            .as_str()
            .unwrap()
            .parse()
            .unwrap();
        assert!(item_version <= resource_version);
    }

    let (_, namespaced) = get(
        &server,
        &format!("{GROUP_PATH}/v1beta1/namespaces/team-a/trafficmanagerprofiles"),
    )
    .await;
    let namespaces: Vec<&str> = namespaced["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["metadata"]["namespace"].as_str().unwrap())
        .collect();
    assert!(!namespaces.is_empty());
    assert!(namespaces.iter().all(|n| *n == "team-a"), "{namespaces:?}");
}

#[tokio::test]
async fn watch_sends_changes_and_bookmarks() {
    let server = TestApiServer::start(vec![profile("first")]).await.unwrap();
    let (_, list) = get(&server, PROFILES_V1BETA1).await;
    let resource_version = list["metadata"]["resourceVersion"]
        .as_str()
        .unwrap()
        .to_owned();

    let mut watch = open_watch(
        &server,
        &format!("resourceVersion={resource_version}&allowWatchBookmarks=true&timeoutSeconds=30"),
    )
    .await;
    server.apply(profile("second"));
    server.apply(profile("second"));
    server.delete("trafficmanagerprofiles", "test", "second");
    let events = read_events(&mut watch, 3).await;
    let types: Vec<&str> = events.iter().map(|e| e["type"].as_str().unwrap()).collect();
    assert_eq!(types, ["ADDED", "MODIFIED", "DELETED"]);
    assert_eq!(events[0]["object"]["metadata"]["name"], "second");

    let bookmark = read_events(&mut watch, 1).await;
    assert_eq!(bookmark[0]["type"], "BOOKMARK");
    assert!(server.stats().bookmarks_sent >= 1);

    // Without a resourceVersion, a watch starts with every current object.
    let mut from_start = open_watch(&server, "timeoutSeconds=30").await;
    let initial = read_events(&mut from_start, 1).await;
    assert_eq!(initial[0]["type"], "ADDED");
    assert_eq!(initial[0]["object"]["metadata"]["name"], "first");
}

#[tokio::test]
async fn watch_ends_after_timeout_seconds() {
    let server = TestApiServer::start(Vec::new()).await.unwrap();
    let mut watch = open_watch(&server, "timeoutSeconds=1").await;
    let ended = tokio::time::timeout(Duration::from_secs(10), watch.chunk()).await;
    assert!(
        matches!(ended, Ok(Ok(None))),
        "the watch did not end cleanly: {ended:?}"
    );
}

#[tokio::test]
async fn expired_resource_version_gets_410() {
    let server = TestApiServer::start(vec![profile("first")]).await.unwrap();
    server.apply(profile("second"));
    server.compact();

    let mut watch = open_watch(&server, "resourceVersion=1&timeoutSeconds=30").await;
    let events = read_events(&mut watch, 1).await;
    assert_eq!(events[0]["type"], "ERROR");
    assert_eq!(events[0]["object"]["code"], 410);
    assert_eq!(events[0]["object"]["reason"], "Expired");
    assert_eq!(server.stats().gone_sent, 1);
}

#[tokio::test]
async fn lost_history_ends_open_watches() {
    let server = TestApiServer::start(vec![profile("first")]).await.unwrap();
    let (_, list) = get(&server, PROFILES_V1BETA1).await;
    let resource_version = list["metadata"]["resourceVersion"]
        .as_str()
        .unwrap()
        .to_owned();
    let mut watch = open_watch(
        &server,
        &format!("resourceVersion={resource_version}&timeoutSeconds=30"),
    )
    .await;

    server.lose_watch_history(|s| s.apply(profile("unseen")));
    let events = read_events(&mut watch, 1).await;
    assert!(
        events.is_empty(),
        "the held change was delivered: {events:?}"
    );

    let mut resumed = open_watch(
        &server,
        &format!("resourceVersion={resource_version}&timeoutSeconds=30"),
    )
    .await;
    let events = read_events(&mut resumed, 1).await;
    assert_eq!(events[0]["object"]["code"], 410);
}

#[tokio::test]
async fn forbidden_answers_403() {
    let server = TestApiServer::start(Vec::new()).await.unwrap();
    server.faults(|f| {
        f.forbidden
            .insert(("trafficmanagerprofiles".to_owned(), Verb::Watch));
    });
    let (status, _) = get(&server, PROFILES_V1BETA1).await;
    assert_eq!(status, 200, "list is still allowed");
    let (status, body) = get(&server, &format!("{PROFILES_V1BETA1}?watch=1")).await;
    assert_eq!(status, 403);
    assert_eq!(body["reason"], "Forbidden");
    assert!(
        body["message"]
            .as_str()
            .unwrap()
            .contains("cannot watch resource")
    );
    assert_eq!(server.stats().forbidden_sent, 1);
    assert_eq!(
        server
            .stats()
            .requests("trafficmanagerprofiles", Verb::Watch),
        1
    );
}

#[tokio::test]
async fn hung_list_never_answers() {
    let server = TestApiServer::start(Vec::new()).await.unwrap();
    server.faults(|f| {
        f.hang_lists.insert("trafficmanagerprofiles".to_owned(), 1);
    });
    let client = reqwest::Client::builder()
        .timeout(Duration::from_millis(500))
        .build()
        .unwrap();
    let url = format!("{}{PROFILES_V1BETA1}", server.url());
    let hung = client.get(&url).send().await;
    assert!(
        hung.is_err_and(|e| e.is_timeout()),
        "the hung list answered"
    );
    assert_eq!(server.stats().lists_hung, 1);

    let next = client
        .get(&url)
        .send()
        .await
        .expect("the next list answers");
    assert_eq!(next.status().as_u16(), 200);
}

#[tokio::test]
async fn cut_short_list_fails_to_read() {
    let server = TestApiServer::start(vec![profile("first")]).await.unwrap();
    server.faults(|f| {
        f.cut_short_lists
            .insert("trafficmanagerprofiles".to_owned(), 1);
    });
    let response = reqwest::get(format!("{}{PROFILES_V1BETA1}", server.url()))
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 200);
    assert!(
        response.bytes().await.is_err(),
        "the cut-short body read completely"
    );
    assert_eq!(server.stats().lists_cut_short, 1);
}

#[tokio::test]
async fn cut_and_dropped_watches_fail() {
    let server = TestApiServer::start(Vec::new()).await.unwrap();
    let mut cut = open_watch(&server, "timeoutSeconds=30").await;
    common::eventually("the watch to be registered", Duration::from_secs(5), || {
        server
            .stats()
            .requests("trafficmanagerprofiles", Verb::Watch)
            == 1
    })
    .await;
    // An event read from the stream shows that the watch task runs, and so has
    // subscribed to the cut signal.
    server.apply(profile("marker"));
    let _ = read_events(&mut cut, 1).await;
    server.cut_watches();
    let mut failed = false;
    for _ in 0..3 {
        match tokio::time::timeout(Duration::from_secs(10), cut.chunk()).await {
            Ok(Err(_)) => {
                failed = true;
                break;
            }
            Ok(Ok(Some(_))) => continue,
            other => panic!("the cut watch did not fail: {other:?}"),
        }
    }
    assert!(failed, "the cut watch did not fail");
    assert_eq!(server.stats().watches_cut, 1);

    let mut dropped = open_watch(&server, "timeoutSeconds=30").await;
    let initial = read_events(&mut dropped, 1).await;
    assert_eq!(initial[0]["type"], "ADDED");
    server.drop_connections();
    let result = tokio::time::timeout(Duration::from_secs(10), dropped.chunk()).await;
    assert!(
        matches!(result, Ok(Err(_))),
        "the dropped watch did not fail: {result:?}"
    );
    assert!(server.stats().connections_dropped >= 1);
}

#[tokio::test]
async fn down_server_closes_connections() {
    let server = TestApiServer::start(Vec::new()).await.unwrap();
    server.faults(|f| f.down = true);
    let result = reqwest::get(format!("{}/apis", server.url())).await;
    assert!(result.is_err(), "a down server answered");
    assert!(server.stats().connections_refused >= 1);
    server.faults(|f| f.down = false);
    let (status, _) = get(&server, "/apis").await;
    assert_eq!(status, 200);
}

#[tokio::test]
async fn kubectl_lists_profiles() {
    let kubectl = std::env::var_os("KUBECTL").unwrap_or_else(|| "kubectl".into());
    let Ok(version) = Command::new(&kubectl)
        .args(["version", "--client"])
        .output()
    else {
        println!(
            "NOTE: kubectl is not installed, so the check that kubectl reads the test API server did not run; install kubectl to run it"
        );
        return;
    };
    assert!(version.status.success(), "kubectl version --client failed");

    let server = TestApiServer::start(fixture_objects("tests/fixtures/documented-hub.yaml"))
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let kubeconfig = dir.path().join("kubeconfig");
    server.write_kubeconfig(&kubeconfig).unwrap();
    let cache = dir.path().join("cache");

    let server_task = tokio::task::spawn_blocking(move || {
        Command::new(&kubectl)
            .args([
                "get",
                "trafficmanagerprofiles",
                "-A",
                "--request-timeout=20s",
            ])
            .arg("--kubeconfig")
            .arg(&kubeconfig)
            .arg("--cache-dir")
            .arg(&cache)
            .env_remove("KUBECONFIG")
            .output()
            .expect("run kubectl")
    });
    let output = server_task.await.unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "kubectl failed:\n{stdout}\n{stderr}"
    );
    for profile in server.objects("trafficmanagerprofiles") {
        let name = profile["metadata"]["name"].as_str().unwrap();
        assert!(
            stdout.contains(name),
            "kubectl output lacks {name}:\n{stdout}"
        );
    }
    assert!(
        server
            .stats()
            .requests("trafficmanagerprofiles", Verb::List)
            >= 1
    );
}
