//! The exporter binary served over HTTP on 127.0.0.1: endpoints, formats, and promtool.

mod support;

use std::io::Write as _;
use std::process::Command;

use reqwest::StatusCode;
use reqwest::header::{ACCEPT, ACCEPT_ENCODING, CONTENT_ENCODING, CONTENT_TYPE};
use support::{Exporter, http_client, promtool_check_metrics, repo_path, wait_for};

const OPENMETRICS_ACCEPT: &str = "application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1";

#[test]
fn metrics_text_by_default() {
    let exporter = Exporter::start_on_example();
    let response = http_client().get(exporter.url("/metrics")).send().unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let content_type = response.headers()[CONTENT_TYPE]
        .to_str()
        .unwrap()
        .to_owned();
    assert_eq!(content_type, "text/plain; version=0.0.4; charset=utf-8");
    let body = response.text().unwrap();
    assert!(body.contains("# TYPE fleet_dns_lb_problem gauge"));
    assert!(!body.contains("# EOF"));
}

#[test]
fn metrics_openmetrics_when_accepted() {
    let exporter = Exporter::start_on_example();
    let response = http_client()
        .get(exporter.url("/metrics"))
        .header(ACCEPT, OPENMETRICS_ACCEPT)
        .send()
        .unwrap();
    let content_type = response.headers()[CONTENT_TYPE]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(content_type.starts_with("application/openmetrics-text; version=1.0.0"));
    let body = response.text().unwrap();
    assert!(body.ends_with("# EOF\n"));
    assert!(body.contains("# TYPE fleet_dns_lb_profile info"));
    assert!(body.contains("# TYPE fleet_dns_lb_problem_entered counter"));
}

#[test]
fn metrics_gzip_when_accepted() {
    let exporter = Exporter::start_on_example();
    // A client without automatic decompression, to see the encoding on the wire.
    let client = reqwest::blocking::Client::builder()
        .no_proxy()
        .no_gzip()
        .build()
        .unwrap();
    let response = client
        .get(exporter.url("/metrics"))
        .header(ACCEPT_ENCODING, "gzip")
        .send()
        .unwrap();
    assert_eq!(response.headers()[CONTENT_ENCODING], "gzip");
    let compressed = response.bytes().unwrap();
    let plain = exporter.scrape();
    assert!(
        compressed.len() < plain.len() / 3,
        "gzip did not shrink the scrape"
    );
}

#[test]
fn head_has_no_body() {
    let exporter = Exporter::start_on_example();
    let response = http_client().head(exporter.url("/metrics")).send().unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert!(response.headers().contains_key(CONTENT_TYPE));
    assert!(response.bytes().unwrap().is_empty());
}

#[test]
fn unknown_path_is_404() {
    let exporter = Exporter::start_on_example();
    let response = http_client().get(exporter.url("/nope")).send().unwrap();
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
}

#[test]
fn post_to_metrics_rejected() {
    let exporter = Exporter::start_on_example();
    let response = http_client().post(exporter.url("/metrics")).send().unwrap();
    assert_eq!(response.status(), StatusCode::METHOD_NOT_ALLOWED);
}

#[test]
fn health_and_readiness() {
    let exporter = Exporter::start_on_example();
    let client = http_client();
    let health = client.get(exporter.url("/healthz")).send().unwrap();
    assert_eq!(health.status(), StatusCode::OK);
    let ready = client.get(exporter.url("/readyz")).send().unwrap();
    assert_eq!(ready.status(), StatusCode::OK);
}

#[test]
fn promtool_accepts_real_scrape() {
    let exporter = Exporter::start_on_example();
    let report = promtool_check_metrics(&exporter.scrape());
    assert!(
        report.success,
        "promtool check metrics failed:\n{}",
        report.output
    );
    assert!(
        report.output.trim().is_empty(),
        "promtool reported lint problems:\n{}",
        report.output
    );
}

#[test]
fn scrape_consistent_while_file_rewritten() {
    let directory = tempfile::tempdir().unwrap();
    let path = directory.path().join("hub.yaml");
    let example = std::fs::read_to_string(repo_path("examples/fleet-hub.yaml")).unwrap();
    let fixture = std::fs::read_to_string(repo_path("tests/fixtures/documented-hub.yaml")).unwrap();
    std::fs::write(&path, &example).unwrap();
    let exporter = Exporter::start(&["--from-file", path.to_str().unwrap()]);
    let client = http_client();

    let problems_in = |body: &str| {
        body.lines()
            .filter(|l| l.starts_with("fleet_dns_lb_problem{"))
            .count()
    };
    let example_problems = problems_in(&exporter.scrape());

    // Rewrite the file in place, in small writes, while scraping: every scrape must show
    // one whole version of the file, never a mix or an empty hub.
    let writer = std::thread::spawn({
        let path = path.clone();
        move || {
            for round in 0..6 {
                let text = if round % 2 == 0 { &fixture } else { &example };
                let mut file = std::fs::File::create(&path).unwrap();
                for chunk in text.as_bytes().chunks(512) {
                    file.write_all(chunk).unwrap();
                    file.flush().unwrap();
                }
                std::thread::sleep(std::time::Duration::from_millis(600));
            }
        }
    });
    let fixture_problems = 10;
    let mut seen = std::collections::BTreeSet::new();
    while !writer.is_finished() {
        let body = client
            .get(exporter.url("/metrics"))
            .send()
            .unwrap()
            .text()
            .unwrap();
        let count = problems_in(&body);
        assert!(
            count == example_problems || count == fixture_problems,
            "scrape showed {count} problems, neither version of the file"
        );
        seen.insert(count);
    }
    writer.join().unwrap();
    // The writer ended on the example; the exporter converges on it.
    wait_for("the exporter to reload the final file", || {
        (problems_in(&exporter.scrape()) == example_problems).then_some(())
    });
    assert!(seen.contains(&example_problems));
    assert!(
        seen.contains(&fixture_problems),
        "no scrape saw the rewritten file: {seen:?}"
    );
}

#[test]
fn bad_reload_keeps_last_good_data() {
    let directory = tempfile::tempdir().unwrap();
    let path = directory.path().join("hub.yaml");
    std::fs::copy(repo_path("examples/fleet-hub.yaml"), &path).unwrap();
    let exporter = Exporter::start(&["--from-file", path.to_str().unwrap()]);
    let before = exporter.scrape();
    let problems = |body: &str| {
        body.lines()
            .filter(|l| l.starts_with("fleet_dns_lb_problem{"))
            .map(str::to_owned)
            .collect::<Vec<_>>()
    };

    std::fs::write(&path, "items: [unclosed\n").unwrap();
    // The failure counter starts at 0, so wait for it to reach 1.
    wait_for("the failed reload to be counted", || {
        let body = exporter.scrape();
        body.lines()
            .find(|l| {
                l.starts_with("fleet_dns_lb_file_reloads_total{")
                    && l.contains("result=\"failure\"")
                    && l.ends_with(" 1")
            })
            .map(str::to_owned)
    });
    // Reading the file must not count as a change: over a second, longer than several
    // debounce periods, the broken file is not read and counted again.
    std::thread::sleep(std::time::Duration::from_secs(1));
    let after = exporter.scrape();
    let failures = after
        .lines()
        .find(|l| l.starts_with("fleet_dns_lb_file_reloads_total{") && l.contains("failure"))
        .unwrap();
    assert!(
        failures.ends_with(" 1"),
        "the broken file was reloaded again: {failures}"
    );
    assert_eq!(problems(&before), problems(&after));
    assert!(after.contains("fleet_dns_lb_source_up{source=\"file\""));
    assert!(
        after
            .lines()
            .any(|l| l.starts_with("fleet_dns_lb_source_up{") && l.ends_with(" 0"))
    );
}

#[test]
fn once_prints_exposition() {
    let example = repo_path("examples/fleet-hub.yaml");
    let output = Command::new(env!("CARGO_BIN_EXE_fleet-dns-lb-exporter"))
        .args(["--from-file", example.to_str().unwrap(), "--once"])
        .env("RUST_LOG", "warn")
        .output()
        .unwrap();
    assert!(output.status.success());
    let stdout = String::from_utf8(output.stdout).unwrap();
    assert!(stdout.contains(
        "fleet_dns_lb_problem{kind=\"TrafficManagerProfile\",namespace=\"app-a\",name=\"orders-profile\",scenario=\"profile_creation\",problem=\"authorization_failed\",reason=\"Invalid\"} 1"
    ));
}

#[test]
fn bad_file_at_startup_fails() {
    let directory = tempfile::tempdir().unwrap();
    let path = directory.path().join("broken.yaml");
    std::fs::write(&path, "apiVersion: v1\nkind: List\nitems:\n- {a: [b\n").unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_fleet-dns-lb-exporter"))
        .args(["--from-file", path.to_str().unwrap(), "--once"])
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("broken.yaml"), "{stderr}");
    assert!(stderr.contains("line 4"), "{stderr}");
}

#[test]
fn missing_file_at_startup_fails() {
    let output = Command::new(env!("CARGO_BIN_EXE_fleet-dns-lb-exporter"))
        .args(["--from-file", "/nonexistent/hub.yaml", "--once"])
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("/nonexistent/hub.yaml"), "{stderr}");
}

#[test]
fn emptied_file_keeps_last_good_data() {
    let directory = tempfile::tempdir().unwrap();
    let path = directory.path().join("hub.yaml");
    std::fs::copy(repo_path("examples/fleet-hub.yaml"), &path).unwrap();
    let exporter = Exporter::start(&["--from-file", path.to_str().unwrap()]);
    let count_problems = |body: &str| {
        body.lines()
            .filter(|l| l.starts_with("fleet_dns_lb_problem{"))
            .count()
    };
    let before = count_problems(&exporter.scrape());

    // A shell redirect truncates the file before it writes the new content.
    std::fs::write(&path, "").unwrap();
    wait_for("the empty file to be counted as a failed reload", || {
        let body = exporter.scrape();
        body.lines()
            .any(|l| {
                l.starts_with("fleet_dns_lb_file_reloads_total{")
                    && l.contains("result=\"failure\"")
                    && l.ends_with(" 1")
            })
            .then_some(())
    });
    assert_eq!(count_problems(&exporter.scrape()), before);

    // A List with no items does serve an empty hub.
    std::fs::write(&path, "apiVersion: v1\nkind: List\nitems: []\n").unwrap();
    wait_for("the empty List to be served", || {
        (count_problems(&exporter.scrape()) == 0).then_some(())
    });
}
