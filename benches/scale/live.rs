//! Event to metric latency through the live path. The exporter watches the test Kubernetes
//! API server, loaded with the synthetic hub. One backend's weight is changed again and
//! again, while a steady stream of changes to other backends runs in the background.
//!
//! Each change is timed from just before `TestApiServer::apply` until a scrape of
//! /metrics has returned a body that shows the new weight. Scrapes are sent back to back
//! on one kept-alive connection, so the figure includes up to one scrape that started
//! before the exporter had the change.
//!
//! The API server runs on a runtime of its own and the background writer on a thread of
//! its own, so that reading large scrapes in this process does not delay the watch events.

use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use fleet_dns_lb_testkit::TestApiServer;
use fleet_dns_lb_testkit::synthetic::{Scale, backend_name, generate, namespace_of_profile};
use serde_json::{Value, json};

use super::{Exporter, exporter_binary, free_port, ms, percentile, wait_ready};

/// How many other backends the background stream cycles through.
const BACKGROUND_OBJECTS: usize = 100;

pub struct LiveSettings {
    pub changes: usize,
    /// Background changes per second.
    pub background_rate: u32,
}

#[derive(Debug, Default)]
pub struct LiveReport {
    pub objects: usize,
    /// Time from starting the exporter until /readyz returned 200, including the list of every kind.
    pub sync: Duration,
    pub latencies: Vec<Duration>,
    /// Scrapes sent per timed change, the last one showing the change.
    pub scrapes: usize,
    /// Background changes applied while the timed changes ran, and over how long.
    pub background_changes: u64,
    pub background_time: Duration,
}

impl LiveReport {
    pub fn print(&self) {
        let rate = self.background_changes as f64 / self.background_time.as_secs_f64().max(1e-9);
        println!(
            "live path: initial sync      {:>10.0} ms   ({} objects listed from the test API server)",
            ms(self.sync),
            self.objects
        );
        println!(
            "event -> /metrics, live      p50 {:>7.1} ms  p99 {:>7.1} ms  max {:>7.1} ms  over {} changes",
            ms(percentile(&self.latencies, 50.0)),
            ms(percentile(&self.latencies, 99.0)),
            ms(percentile(&self.latencies, 100.0)),
            self.latencies.len()
        );
        println!(
            "  {:.2} scrapes per change; background {} changes at {:.1}/s",
            self.scrapes as f64 / self.latencies.len().max(1) as f64,
            self.background_changes,
            rate
        );
    }

    /// Sanity checks of the smoke run: every change was seen, under a background stream.
    pub fn check(&self, settings: &LiveSettings) {
        assert_eq!(self.latencies.len(), settings.changes);
        assert!(
            self.background_changes > 0,
            "no background change was applied"
        );
        assert!(self.scrapes >= self.latencies.len());
        println!("live path smoke run passed");
    }
}

/// Returns the synthetic backend `b`'s object, as the server stores it.
fn find_backend(objects: &[Value], b: usize) -> Value {
    let name = backend_name(b);
    objects
        .iter()
        .find(|o| o["kind"] == "TrafficManagerBackend" && o["metadata"]["name"] == name.as_str())
        .unwrap_or_else(|| panic!("the synthetic hub has no backend {name}"))
        .clone()
}

pub fn measure_live(scale: &Scale, settings: &LiveSettings) -> LiveReport {
    let objects = generate(scale);
    let mut report = LiveReport {
        objects: objects.len(),
        ..LiveReport::default()
    };
    // The timed backend is the first of profile 1, as for the file change; the background
    // stream changes backends of other profiles.
    let p = 1.min(scale.profiles - 1);
    let target_index = p * scale.backends_per_profile;
    let target = find_backend(&objects, target_index);
    let target_name = backend_name(target_index);
    let target_namespace = namespace_of_profile(p);
    let background: Vec<Value> = (0..scale.backends())
        .filter(|b| b / scale.backends_per_profile != p)
        .step_by((scale.backends() / BACKGROUND_OBJECTS).max(1))
        .take(BACKGROUND_OBJECTS)
        .map(|b| find_backend(&objects, b))
        .collect();
    assert!(
        !background.is_empty(),
        "no backend for the background stream"
    );

    let server_runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .thread_name("test-api-server")
        .enable_all()
        .build()
        .expect("a tokio runtime for the test API server");
    let server = Arc::new(
        server_runtime
            .block_on(TestApiServer::start(objects))
            .expect("start the test API server on 127.0.0.1"),
    );

    let dir = tempfile::tempdir().expect("a temporary directory");
    let kubeconfig = dir.path().join("kubeconfig");
    server
        .write_kubeconfig(&kubeconfig)
        .expect("write the kubeconfig");
    let log = dir.path().join("exporter.log");
    let address = free_port();
    let binary = exporter_binary();
    let started = Instant::now();
    let child = Command::new(&binary)
        .arg("--kubeconfig")
        .arg(&kubeconfig)
        .arg("--web.listen-address")
        .arg(address.to_string())
        .arg("--log-level")
        .arg("warn")
        // Never fall back to the developer's own cluster.
        .env_remove("KUBECONFIG")
        .env("HOME", dir.path())
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&log).expect("create the exporter log file"))
        .spawn()
        .unwrap_or_else(|e| panic!("start the exporter {binary}: {e}"));
    let mut exporter = Exporter { child, address };

    let client_runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime for the client");
    let client = reqwest::Client::builder()
        .no_proxy()
        .no_gzip()
        .build()
        .expect("an HTTP client");
    client_runtime.block_on(wait_ready(&client, &mut exporter, &log, started));
    report.sync = started.elapsed();

    // The background stream: changes at a fixed rate on a thread of its own, each on the
    // schedule rather than a fixed sleep after the previous one.
    let running = Arc::new(AtomicBool::new(true));
    let applied = Arc::new(AtomicU64::new(0));
    let writer = {
        let server = server.clone();
        let running = running.clone();
        let applied = applied.clone();
        let period = Duration::from_secs_f64(1.0 / f64::from(settings.background_rate.max(1)));
        std::thread::spawn(move || {
            let start = Instant::now();
            let mut next = start;
            let mut n: u64 = 0;
            while running.load(Ordering::Relaxed) {
                let mut object = background[n as usize % background.len()].clone();
                object["spec"]["weight"] = json!(1 + n % 97);
                server.apply(object);
                n += 1;
                applied.store(n, Ordering::Relaxed);
                next += period;
                if let Some(wait) = next.checked_duration_since(Instant::now()) {
                    std::thread::sleep(wait);
                }
            }
            start.elapsed()
        })
    };

    let url = format!("http://{address}/metrics");
    let (latencies, scrapes) = client_runtime.block_on(time_changes(
        &client,
        &url,
        &server,
        &target,
        &target_namespace,
        &target_name,
        settings.changes,
    ));
    running.store(false, Ordering::Relaxed);
    report.background_time = writer.join().expect("the background writer thread");
    report.background_changes = applied.load(Ordering::Relaxed);
    report.latencies = latencies;
    report.scrapes = scrapes;

    if let Ok(Some(exit)) = exporter.child.try_wait() {
        let stderr = std::fs::read_to_string(&log).unwrap_or_default();
        panic!("the exporter exited with {exit} during the live measurement:\n{stderr}");
    }
    drop(exporter);
    drop(server);
    drop(server_runtime);
    report
}

/// Changes the target backend's weight `changes` times; after each, scrapes /metrics back
/// to back until the new weight shows. Returns the latencies and the number of scrapes.
async fn time_changes(
    client: &reqwest::Client,
    url: &str,
    server: &TestApiServer,
    target: &Value,
    namespace: &str,
    name: &str,
    changes: usize,
) -> (Vec<Duration>, usize) {
    let mut latencies = Vec::with_capacity(changes);
    let mut scrapes = 0;
    // One scrape first, so connection set-up and the first encoding are not counted.
    client
        .get(url)
        .send()
        .await
        .expect("scrape /metrics")
        .bytes()
        .await
        .expect("read /metrics");
    for change in 0..changes {
        let weight = 500 + change;
        let expected = format!(
            "fleet_dns_lb_backend_weight{{namespace=\"{namespace}\",name=\"{name}\"}} {weight}\n"
        );
        let mut object = target.clone();
        object["spec"]["weight"] = json!(weight);
        let start = Instant::now();
        server.apply(object);
        let deadline = start + Duration::from_secs(120);
        loop {
            let body = client
                .get(url)
                .send()
                .await
                .expect("scrape /metrics")
                .text()
                .await
                .expect("read /metrics");
            scrapes += 1;
            if body.contains(&expected) {
                latencies.push(start.elapsed());
                break;
            }
            assert!(
                Instant::now() < deadline,
                "/metrics did not show the changed weight within 2 minutes; expected {expected}"
            );
        }
    }
    (latencies, scrapes)
}
