//! Helpers for the live-source tests: a running exporter binary, fixture objects, and
//! polling with a deadline.

#![allow(dead_code)] // Each test binary uses a different part of this module.

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use fleet_dns_lb_testkit::{TestApiServer, load_objects};
use serde_json::{Value, json};

pub const EXPORTER: &str = env!("CARGO_BIN_EXE_fleet-dns-lb-exporter");

/// Returns the Fleet objects of a fixture file under the repository root.
pub fn fixture_objects(relative: &str) -> Vec<Value> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(relative);
    load_objects(&path)
        .into_iter()
        .filter(|o| {
            o["apiVersion"]
                .as_str()
                .is_some_and(|v| v.starts_with("networking.fleet.azure.com/"))
        })
        .collect()
}

/// The exporter binary, started against a kubeconfig; killed when dropped.
pub struct Exporter {
    child: Child,
    pub address: SocketAddr,
    log: Arc<Mutex<Vec<String>>>,
    _dir: tempfile::TempDir,
}

impl Exporter {
    /// Starts the exporter against `server` with short timeouts, and waits until it
    /// serves HTTP.
    pub fn start(server: &TestApiServer, extra_args: &[&str]) -> Exporter {
        let dir = tempfile::tempdir().expect("temporary directory");
        let kubeconfig = dir.path().join("kubeconfig");
        server
            .write_kubeconfig(&kubeconfig)
            .expect("write kubeconfig");
        let mut args: Vec<String> = vec![
            "--kubeconfig".into(),
            kubeconfig.display().to_string(),
            "--web.listen-address".into(),
            "127.0.0.1:0".into(),
            "--log-format".into(),
            "json".into(),
            "--log-level".into(),
            "info,fleet_dns_lb_exporter=debug".into(),
            "--discovery-interval".into(),
            "1".into(),
            "--watch-timeout".into(),
            "3".into(),
            "--request-timeout".into(),
            "1".into(),
        ];
        args.extend(extra_args.iter().map(|a| (*a).to_owned()));
        Exporter::spawn(&args, dir)
    }

    fn spawn(args: &[String], dir: tempfile::TempDir) -> Exporter {
        let mut child = Command::new(EXPORTER)
            .args(args)
            // Never fall back to the developer's own cluster.
            .env_remove("KUBECONFIG")
            .env_remove("RUST_LOG")
            .env("HOME", dir.path())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start the exporter binary");
        let stderr = child.stderr.take().expect("piped stderr");
        let log = Arc::new(Mutex::new(Vec::new()));
        let (address_sender, address_receiver) = std::sync::mpsc::channel();
        let reader_log = log.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines() {
                let Ok(line) = line else { break };
                if line.contains("serving metrics") {
                    let _ = address_sender.send(parse_address(&line));
                }
                reader_log.lock().unwrap().push(line);
            }
        });
        let mut exporter = Exporter {
            child,
            address: "127.0.0.1:0".parse().unwrap(),
            log,
            _dir: dir,
        };
        match address_receiver.recv_timeout(Duration::from_secs(20)) {
            Ok(Some(address)) => exporter.address = address,
            _ => panic!(
                "the exporter did not report its listen address within 20 s; log:\n{}",
                exporter.logs()
            ),
        }
        exporter
    }

    pub fn logs(&self) -> String {
        self.log.lock().unwrap().join("\n")
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.address)
    }

    pub async fn get(&self, path: &str) -> (u16, String) {
        let response = reqwest::get(self.url(path))
            .await
            .expect("HTTP request to the exporter");
        let status = response.status().as_u16();
        (status, response.text().await.expect("response body"))
    }

    pub async fn metrics(&self) -> String {
        let (status, body) = self.get("/metrics").await;
        assert_eq!(status, 200, "/metrics failed: {body}");
        body
    }

    /// Polls /metrics until `condition` holds, or panics after `timeout` with the last
    /// scrape and the log.
    pub async fn wait_for_metrics(
        &self,
        description: &str,
        timeout: Duration,
        condition: impl Fn(&str) -> bool,
    ) -> String {
        let deadline = Instant::now() + timeout;
        loop {
            let metrics = self.metrics().await;
            if condition(&metrics) {
                return metrics;
            }
            if Instant::now() > deadline {
                panic!(
                    "timed out after {timeout:?} waiting for {description}\n--- last /metrics ---\n{metrics}\n--- exporter log ---\n{}",
                    self.logs()
                );
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Polls /readyz until it returns 200.
    pub async fn wait_ready(&self, timeout: Duration) {
        let deadline = Instant::now() + timeout;
        loop {
            let (status, body) = self.get("/readyz").await;
            if status == 200 {
                return;
            }
            if Instant::now() > deadline {
                panic!(
                    "not ready after {timeout:?}: {body}\n--- exporter log ---\n{}",
                    self.logs()
                );
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

impl Drop for Exporter {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn parse_address(line: &str) -> Option<SocketAddr> {
    let start = line.find("127.0.0.1:")?;
    let rest = &line[start..];
    let end = rest
        .find(|c: char| !(c.is_ascii_digit() || c == '.' || c == ':'))
        .unwrap_or(rest.len());
    rest[..end].parse().ok()
}

/// Polls `condition` every 50 ms until it holds, or panics after `timeout`.
pub async fn eventually(description: &str, timeout: Duration, condition: impl Fn() -> bool) {
    let deadline = Instant::now() + timeout;
    while !condition() {
        if Instant::now() > deadline {
            panic!("timed out after {timeout:?} waiting for {description}");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Runs `--once --from-file` on the server's current objects and returns the exposition.
pub fn from_file_metrics(server: &TestApiServer) -> String {
    let dir = tempfile::tempdir().expect("temporary directory");
    let path: PathBuf = dir.path().join("hub.json");
    let mut items = Vec::new();
    for plural in PLURALS {
        items.extend(server.objects(plural));
    }
    let list = json!({"apiVersion": "v1", "kind": "List", "items": items});
    std::fs::write(&path, serde_json::to_vec(&list).unwrap()).expect("write snapshot");
    let output = Command::new(EXPORTER)
        .args(["--once", "--from-file"])
        .arg(&path)
        .env_remove("RUST_LOG")
        .output()
        .expect("run the exporter with --once");
    assert!(
        output.status.success(),
        "--once failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).expect("UTF-8 exposition")
}

pub const PLURALS: [&str; 4] = [
    "trafficmanagerprofiles",
    "trafficmanagerbackends",
    "serviceimports",
    "internalserviceexports",
];

/// Returns the lines of the object-derived families (per-object families and the
/// aggregates computed from them). The exporter's own counters and gauges are left out,
/// because they differ between a file and a live source.
pub fn object_families(exposition: &str) -> Vec<String> {
    use fleet_dns_lb_exporter::metrics::families::{OBJECT_FAMILIES, aggregate};
    let names: Vec<&str> = OBJECT_FAMILIES
        .iter()
        .chain(aggregate::ALL.iter())
        .map(|family| family.name)
        .collect();
    exposition
        .lines()
        .filter(|line| {
            let name = match line
                .strip_prefix("# HELP ")
                .or_else(|| line.strip_prefix("# TYPE "))
            {
                Some(rest) => rest.split_whitespace().next().unwrap_or_default(),
                None => line.split(['{', ' ']).next().unwrap_or_default(),
            };
            let family = name.strip_suffix("_info").unwrap_or(name);
            names.contains(&name) || names.contains(&family)
        })
        .map(str::to_owned)
        .collect()
}

/// Returns the value of the first sample whose line starts with `prefix` (a metric name
/// followed by its labels), or `None`.
pub fn sample(exposition: &str, prefix: &str) -> Option<f64> {
    exposition
        .lines()
        .find(|line| line.starts_with(prefix))
        .and_then(|line| line.rsplit(' ').next())
        .and_then(|value| value.parse().ok())
}
