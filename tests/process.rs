//! The exporter as a process: signals, logs and command-line errors.

mod support;

use std::process::Command;
use std::time::{Duration, Instant};

use support::{Exporter, repo_path};

#[test]
fn sigterm_stops_gracefully() {
    let mut exporter = Exporter::start_on_example();
    let pid = exporter.process.child.id().to_string();
    let status = Command::new("kill").args(["-TERM", &pid]).status().unwrap();
    assert!(status.success(), "kill -TERM {pid} failed");

    let start = Instant::now();
    let exit = loop {
        if let Some(exit) = exporter.process.child.try_wait().unwrap() {
            break exit;
        }
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "the exporter did not stop within 10 s of SIGTERM"
        );
        std::thread::sleep(Duration::from_millis(20));
    };
    assert!(
        exit.success(),
        "the exporter exited with {exit} after SIGTERM"
    );
}

#[test]
fn json_logs_name_the_object() {
    let example = repo_path("examples/fleet-hub.yaml");
    let output = Command::new(env!("CARGO_BIN_EXE_fleet-dns-lb-exporter"))
        .args(["--from-file", example.to_str().unwrap(), "--once"])
        .args(["--log-format", "json", "--log-level", "info"])
        .env_remove("RUST_LOG")
        .output()
        .unwrap();
    assert!(output.status.success());
    let stderr = String::from_utf8(output.stderr).unwrap();
    let lines: Vec<serde_json::Value> = stderr
        .lines()
        .map(|line| serde_json::from_str(line).unwrap_or_else(|e| panic!("not JSON ({e}): {line}")))
        .collect();
    let change = lines
        .iter()
        .find(|line| line["name"] == "orders-profile")
        .expect("a log line for app-a/orders-profile");
    assert_eq!(change["kind"], "TrafficManagerProfile");
    assert_eq!(change["namespace"], "app-a");
    assert_eq!(change["new_problems"], "[authorization_failed]");
    assert_eq!(change["level"], "INFO");
}

#[test]
fn logs_go_to_stderr_only() {
    let example = repo_path("examples/fleet-hub.yaml");
    let output = Command::new(env!("CARGO_BIN_EXE_fleet-dns-lb-exporter"))
        .args(["--from-file", example.to_str().unwrap(), "--once"])
        .env("RUST_LOG", "info")
        .output()
        .unwrap();
    let stdout = String::from_utf8(output.stdout).unwrap();
    assert!(
        stdout
            .lines()
            .all(|l| l.starts_with('#') || l.starts_with("fleet_dns_lb_"))
    );
    assert!(!output.stderr.is_empty());
}

#[test]
fn invalid_flag_values_rejected() {
    for args in [
        vec!["--profile-limit", "0"],
        vec!["--web.listen-address", "nowhere"],
        vec!["--log-format", "xml"],
    ] {
        let output = Command::new(env!("CARGO_BIN_EXE_fleet-dns-lb-exporter"))
            .args(&args)
            .output()
            .unwrap();
        assert_eq!(output.status.code(), Some(2), "{args:?} was accepted");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(stderr.contains(args[0]), "{args:?}: {stderr}");
    }
}

#[test]
fn invalid_log_filter_rejected() {
    let output = Command::new(env!("CARGO_BIN_EXE_fleet-dns-lb-exporter"))
        .args(["--log-level", "info,[=bad"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("invalid --log-level"));
}

#[test]
fn help_explains_every_flag() {
    let output = Command::new(env!("CARGO_BIN_EXE_fleet-dns-lb-exporter"))
        .arg("--help")
        .output()
        .unwrap();
    let help = String::from_utf8(output.stdout).unwrap();
    for flag in [
        "--from-file",
        "--once",
        "--web.listen-address",
        "--profile-limit",
        "--endpoint-limit",
        "--subscription-id",
        "--dns-suffix",
        "--log-format",
        "--log-level",
    ] {
        assert!(help.contains(flag), "--help does not mention {flag}");
    }
}
