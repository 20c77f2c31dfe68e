//! `diagnose` against a live hub: the test API server on 127.0.0.1, read through the real
//! kube client, gives the same report as the snapshot file it was loaded from.

mod common;

use common::{EXPORTER, fixture_objects};
use fleet_dns_lb_testkit::{TestApiServer, Verb};

const NOW: &str = "2025-06-03T00:00:00Z";

/// Runs `diagnose` with `args` and returns its exit status, stdout and stderr.
async fn diagnose(args: Vec<String>) -> (Option<i32>, String, String) {
    let output = tokio::process::Command::new(EXPORTER)
        .arg("diagnose")
        .args(&args)
        .env_remove("RUST_LOG")
        .output()
        .await
        .expect("running diagnose");
    (
        output.status.code(),
        String::from_utf8(output.stdout).unwrap(),
        String::from_utf8(output.stderr).unwrap(),
    )
}

/// Drops the first lines that name the input, which differ between the two sources.
fn without_input_line(report: &str) -> String {
    report
        .lines()
        .filter(|line| !line.starts_with("Input:"))
        .collect::<Vec<_>>()
        .join("\n")
}

#[tokio::test]
async fn live_report_matches_snapshot_report() {
    let server = TestApiServer::start(fixture_objects("examples/fleet-hub.yaml"))
        .await
        .unwrap();
    let directory = tempfile::tempdir().unwrap();
    let kubeconfig = directory.path().join("kubeconfig");
    server.write_kubeconfig(&kubeconfig).unwrap();
    let example = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/fleet-hub.yaml");

    let (live_code, live_report, live_stderr) = diagnose(vec![
        "--kubeconfig".into(),
        kubeconfig.display().to_string(),
        "--now".into(),
        NOW.into(),
    ])
    .await;
    let (file_code, file_report, _) = diagnose(vec![
        "--from-file".into(),
        example.into(),
        "--now".into(),
        NOW.into(),
    ])
    .await;

    assert_eq!(live_code, Some(3), "stderr: {live_stderr}");
    assert_eq!(file_code, Some(3));
    assert!(
        live_report.contains("Input:  live hub, kubeconfig"),
        "{live_report}"
    );
    assert_eq!(
        without_input_line(&live_report),
        without_input_line(&file_report)
    );
}

#[tokio::test]
async fn unreachable_hub_is_usage_error() {
    // A server that has stopped: its port on 127.0.0.1 refuses connections.
    let server = TestApiServer::start(Vec::new()).await.unwrap();
    let directory = tempfile::tempdir().unwrap();
    let kubeconfig = directory.path().join("kubeconfig");
    server.write_kubeconfig(&kubeconfig).unwrap();
    drop(server);

    let (code, stdout, stderr) = diagnose(vec![
        "--kubeconfig".into(),
        kubeconfig.display().to_string(),
        "--request-timeout".into(),
        "1".into(),
    ])
    .await;
    assert_eq!(code, Some(2), "stderr: {stderr}");
    assert!(stdout.is_empty(), "{stdout}");
    let error = stderr.lines().last().unwrap_or_default();
    assert!(
        error.starts_with("error: the hub's objects could not be read within 2 s"),
        "{stderr}"
    );
    assert!(error.contains("kube discovery"), "{stderr}");
}

#[tokio::test]
async fn forbidden_list_is_named() {
    let server = TestApiServer::start(fixture_objects("examples/fleet-hub.yaml"))
        .await
        .unwrap();
    server.faults(|faults| {
        faults
            .forbidden
            .insert(("trafficmanagerbackends".to_owned(), Verb::List));
    });
    let directory = tempfile::tempdir().unwrap();
    let kubeconfig = directory.path().join("kubeconfig");
    server.write_kubeconfig(&kubeconfig).unwrap();

    let (code, _, stderr) = diagnose(vec![
        "--kubeconfig".into(),
        kubeconfig.display().to_string(),
        "--request-timeout".into(),
        "2".into(),
    ])
    .await;
    assert_eq!(code, Some(2), "stderr: {stderr}");
    assert!(stderr.contains("trafficmanagerbackends"), "{stderr}");
}
