//! Whole-process benchmark of the exporter binary on a synthetic snapshot file. It
//! measures initial sync time and memory, and scrape latency over HTTP on 127.0.0.1
//! against the floor of serving the same bytes from a prepared buffer. It also measures
//! how long a file change takes to show in /metrics. Then it measures event to metric latency through the live
//! path: the exporter watching the test Kubernetes API server (see `scale/live.rs`).
//!
//! `cargo bench --bench scale` measures at 1/100, 1/10 and 1 times the reference scale
//! (`SCALE_BENCH_DIVISORS=100,10,1`, `SCALE_BENCH_SCRAPES=200`, `SCALE_BENCH_LIVE_CHANGES=200`,
//! `SCALE_BENCH_LIVE_RATE=20`). Without `--bench`, as
//! `cargo test` runs it, it makes one quick pass at a tiny scale and checks the results
//! make sense, so the benchmark cannot rot.

#[path = "scale/live.rs"]
mod live;

use std::net::{SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::http::{HeaderValue, header};
use axum::response::IntoResponse;
use fleet_dns_lb_testkit::synthetic::{
    Scale, backend_name, namespace_of_profile, write_edited_snapshot_of_scale,
    write_snapshot_of_scale,
};
use serde_json::json;

const EXPORTER: &str = env!("CARGO_BIN_EXE_fleet-dns-lb-exporter");

/// Returns the exporter binary to measure: `SCALE_BENCH_EXPORTER`, to compare with another
/// build, or the one cargo built with this benchmark.
fn exporter_binary() -> String {
    std::env::var("SCALE_BENCH_EXPORTER").unwrap_or_else(|_| EXPORTER.to_owned())
}
/// Linux reports process CPU times in /proc in units of USER_HZ, which is 100.
const USER_HZ: f64 = 100.0;

struct Settings {
    divisors: Vec<usize>,
    base: Scale,
    scrapes: usize,
    file_changes: usize,
    live: live::LiveSettings,
    smoke: bool,
}

fn main() {
    let smoke = !std::env::args().any(|a| a == "--bench");
    let settings = if smoke {
        Settings {
            divisors: vec![1],
            base: Scale::TINY,
            scrapes: 5,
            file_changes: 2,
            live: live::LiveSettings {
                changes: 3,
                background_rate: 20,
            },
            smoke,
        }
    } else {
        Settings {
            divisors: env_list("SCALE_BENCH_DIVISORS", &[100, 10, 1]),
            base: Scale::REFERENCE,
            scrapes: env_list("SCALE_BENCH_SCRAPES", &[200])[0],
            file_changes: env_list("SCALE_BENCH_FILE_CHANGES", &[20])[0],
            live: live::LiveSettings {
                changes: env_list("SCALE_BENCH_LIVE_CHANGES", &[200])[0],
                background_rate: env_list("SCALE_BENCH_LIVE_RATE", &[20])[0] as u32,
            },
            smoke,
        }
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("a tokio runtime");
    print_machine();
    for divisor in &settings.divisors {
        let scale = settings.base.divided_by(*divisor);
        let report = runtime.block_on(measure(&scale, &settings));
        report.print(&scale, *divisor);
        if settings.smoke {
            report.check(&scale);
        }
        if settings.live.changes > 0 {
            let live = live::measure_live(&scale, &settings.live);
            live.print();
            if settings.smoke {
                live.check(&settings.live);
            }
        }
    }
}

fn env_list(name: &str, default: &[usize]) -> Vec<usize> {
    match std::env::var(name) {
        Ok(text) => text
            .split(',')
            .map(|v| {
                v.trim()
                    .parse()
                    .unwrap_or_else(|_| panic!("{name} must be a comma-separated list of numbers"))
            })
            .collect(),
        Err(_) => default.to_vec(),
    }
}

#[derive(Debug, Default)]
struct Report {
    objects: usize,
    file_bytes: u64,
    sync: Duration,
    sync_cpu_seconds: f64,
    rss_after_sync: u64,
    peak_during_sync: u64,
    plain: Latencies,
    gzip: Latencies,
    plain_floor: Latencies,
    gzip_floor: Latencies,
    scrape_cpu_seconds: f64,
    rss_after_scrapes: u64,
    peak_overall: u64,
    file_change: Vec<Duration>,
}

#[derive(Debug, Default)]
struct Latencies {
    samples: Vec<Duration>,
    bytes: usize,
}

impl Latencies {
    fn percentile(&self, p: f64) -> Duration {
        percentile(&self.samples, p)
    }
}

fn percentile(samples: &[Duration], p: f64) -> Duration {
    if samples.is_empty() {
        return Duration::ZERO;
    }
    let mut sorted = samples.to_vec();
    sorted.sort();
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn mib(bytes: u64) -> f64 {
    bytes as f64 / (1024.0 * 1024.0)
}

impl Report {
    fn print(&self, scale: &Scale, divisor: usize) {
        println!("\n== scale 1/{divisor}: {scale} ({} objects)", self.objects);
        println!(
            "snapshot file                 {:>10.1} MiB",
            mib(self.file_bytes)
        );
        println!(
            "initial sync                  {:>10.0} ms   ({:.2} CPU s)",
            ms(self.sync),
            self.sync_cpu_seconds
        );
        println!(
            "RSS after sync                {:>10.1} MiB  ({:.0} bytes per object)",
            mib(self.rss_after_sync),
            self.rss_after_sync as f64 / self.objects as f64
        );
        println!(
            "peak RSS during sync          {:>10.1} MiB  ({:.2} x RSS after sync)",
            mib(self.peak_during_sync),
            self.peak_during_sync as f64 / self.rss_after_sync as f64
        );
        for (name, scrape, floor) in [
            ("uncompressed", &self.plain, &self.plain_floor),
            ("gzip", &self.gzip, &self.gzip_floor),
        ] {
            println!(
                "scrape {name:<13}          p50 {:>7.1} ms  p99 {:>7.1} ms  {:>9.1} KiB  over {} scrapes",
                ms(scrape.percentile(50.0)),
                ms(scrape.percentile(99.0)),
                scrape.bytes as f64 / 1024.0,
                scrape.samples.len()
            );
            println!(
                "floor  {name:<13}          p50 {:>7.1} ms  p99 {:>7.1} ms  scrape/floor p50 {:.1}  p99 {:.1}",
                ms(floor.percentile(50.0)),
                ms(floor.percentile(99.0)),
                ratio(scrape.percentile(50.0), floor.percentile(50.0)),
                ratio(scrape.percentile(99.0), floor.percentile(99.0)),
            );
        }
        let scrapes = (self.plain.samples.len() + self.gzip.samples.len()).max(1);
        println!(
            "exporter CPU per scrape       {:>10.1} ms   (both encodings)",
            self.scrape_cpu_seconds * 1000.0 / scrapes as f64
        );
        println!(
            "RSS after scrapes             {:>10.1} MiB  (peak over the run {:.1} MiB)",
            mib(self.rss_after_scrapes),
            mib(self.peak_overall)
        );
        if !self.file_change.is_empty() {
            println!(
                "file change -> /metrics       p50 {:>7.0} ms  p99 {:>7.0} ms  over {} changes",
                ms(percentile(&self.file_change, 50.0)),
                ms(percentile(&self.file_change, 99.0)),
                self.file_change.len()
            );
        }
    }

    /// Sanity checks of the smoke run: every figure was measured.
    fn check(&self, scale: &Scale) {
        assert_eq!(self.objects, scale.objects());
        assert!(self.rss_after_sync > 0, "no RSS after sync");
        assert!(
            self.peak_during_sync >= self.rss_after_sync,
            "peak RSS {} below the RSS after sync {}",
            self.peak_during_sync,
            self.rss_after_sync
        );
        assert!(self.plain.bytes > 0, "empty uncompressed scrape");
        assert!(self.gzip.bytes > 0, "empty gzip scrape");
        assert!(
            self.gzip.bytes < self.plain.bytes,
            "gzip scrape of {} bytes is not smaller than the plain one of {} bytes",
            self.gzip.bytes,
            self.plain.bytes
        );
        for latencies in [&self.plain, &self.gzip, &self.plain_floor, &self.gzip_floor] {
            assert!(!latencies.samples.is_empty());
        }
        assert!(!self.file_change.is_empty());
        println!("scale benchmark smoke run passed");
    }
}

fn ratio(a: Duration, b: Duration) -> f64 {
    a.as_secs_f64() / b.as_secs_f64().max(1e-9)
}

/// The exporter child process, stopped when dropped, also when a check fails.
struct Exporter {
    child: Child,
    address: SocketAddr,
}

impl Drop for Exporter {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind a free port on 127.0.0.1");
    listener.local_addr().expect("local address")
}

/// Samples /proc/PID/status until stopped; used to confirm the kernel's own peak figure.
struct Status {
    pid: u32,
}

impl Status {
    fn read_kib(&self, field: &str) -> u64 {
        let text = std::fs::read_to_string(format!("/proc/{}/status", self.pid))
            .expect("read /proc/PID/status of the exporter");
        text.lines()
            .find_map(|line| line.strip_prefix(field))
            .and_then(|rest| rest.trim_start_matches(':').split_whitespace().next())
            .and_then(|v| v.parse().ok())
            .unwrap_or_else(|| panic!("no {field} in /proc/PID/status"))
    }

    fn rss(&self) -> u64 {
        self.read_kib("VmRSS") * 1024
    }

    fn peak(&self) -> u64 {
        self.read_kib("VmHWM") * 1024
    }

    fn cpu_seconds(&self) -> f64 {
        let text = std::fs::read_to_string(format!("/proc/{}/stat", self.pid))
            .expect("read /proc/PID/stat of the exporter");
        // Fields after the command name, which is in parentheses and may hold spaces.
        let rest = &text[text.rfind(')').expect("stat has a command name") + 2..];
        let fields: Vec<&str> = rest.split_whitespace().collect();
        let utime: f64 = fields[11].parse().expect("utime");
        let stime: f64 = fields[12].parse().expect("stime");
        (utime + stime) / USER_HZ
    }
}

async fn measure(scale: &Scale, settings: &Settings) -> Report {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let snapshot = dir.path().join("hub.json");
    write_snapshot_of_scale(&snapshot, scale).expect("write the snapshot file");
    let mut report = Report {
        objects: scale.objects(),
        file_bytes: std::fs::metadata(&snapshot)
            .expect("snapshot metadata")
            .len(),
        ..Report::default()
    };

    let log = dir.path().join("exporter.log");
    let address = free_port();
    let started = Instant::now();
    let binary = exporter_binary();
    let child = Command::new(&binary)
        .arg("--from-file")
        .arg(&snapshot)
        .arg("--web.listen-address")
        .arg(address.to_string())
        .arg("--log-level")
        .arg("warn")
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&log).expect("create the exporter log file"))
        .spawn()
        .unwrap_or_else(|e| panic!("start the exporter {binary}: {e}"));
    let mut exporter = Exporter { child, address };
    let status = Status {
        pid: exporter.child.id(),
    };

    // Sample VmRSS while syncing as a cross-check of the kernel's VmHWM.
    let sampling = Arc::new(AtomicBool::new(true));
    let sampled_peak = Arc::new(AtomicU64::new(0));
    let sampler = {
        let sampling = sampling.clone();
        let sampled_peak = sampled_peak.clone();
        let path = format!("/proc/{}/status", status.pid);
        std::thread::spawn(move || {
            while sampling.load(Ordering::Relaxed) {
                let Ok(text) = std::fs::read_to_string(&path) else {
                    break;
                };
                if let Some(kib) = text
                    .lines()
                    .find_map(|l| l.strip_prefix("VmRSS:"))
                    .and_then(|r| r.split_whitespace().next())
                    .and_then(|v| v.parse::<u64>().ok())
                {
                    sampled_peak.fetch_max(kib * 1024, Ordering::Relaxed);
                }
                std::thread::sleep(Duration::from_millis(2));
            }
        })
    };

    // No automatic decompression: the benchmark measures the bytes on the wire and
    // checks the Content-Encoding header itself.
    let client = reqwest::Client::builder()
        .no_proxy()
        .no_gzip()
        .build()
        .expect("an HTTP client");
    wait_ready(&client, &mut exporter, &log, started).await;
    report.sync = started.elapsed();
    report.sync_cpu_seconds = status.cpu_seconds();
    report.rss_after_sync = status.rss();
    report.peak_during_sync = status.peak();
    sampling.store(false, Ordering::Relaxed);
    sampler.join().expect("the RSS sampler thread");
    report.peak_during_sync = report
        .peak_during_sync
        .max(sampled_peak.load(Ordering::Relaxed));

    let url = format!("http://{}/metrics", exporter.address);
    let cpu_before = status.cpu_seconds();
    let (plain, plain_body) = scrape_many(&client, &url, false, settings.scrapes).await;
    let (gzip, gzip_body) = scrape_many(&client, &url, true, settings.scrapes).await;
    report.scrape_cpu_seconds = status.cpu_seconds() - cpu_before;
    report.plain = plain;
    report.gzip = gzip;
    report.rss_after_scrapes = status.rss();
    report.peak_overall = status.peak();
    assert!(
        plain_body.starts_with(b"# HELP fleet_dns_lb_"),
        "the scrape does not look like the exporter's"
    );

    let (floor_address, floor_stop) = serve_floor(plain_body, gzip_body).await;
    let floor_url = format!("http://{floor_address}/metrics");
    report.plain_floor = scrape_many(&client, &floor_url, false, settings.scrapes)
        .await
        .0;
    report.gzip_floor = scrape_many(&client, &floor_url, true, settings.scrapes)
        .await
        .0;
    let _ = floor_stop.send(());

    report.file_change =
        file_change_latency(&client, &url, &snapshot, scale, settings.file_changes).await;
    report
}

/// Polls /readyz until the initial load is done; the exporter listens only after it.
async fn wait_ready(
    client: &reqwest::Client,
    exporter: &mut Exporter,
    log: &Path,
    started: Instant,
) {
    let url = format!("http://{}/readyz", exporter.address);
    let deadline = started + Duration::from_secs(600);
    loop {
        if let Ok(response) = client.get(&url).send().await
            && response.status().is_success()
        {
            return;
        }
        if let Ok(Some(exit)) = exporter.child.try_wait() {
            let stderr = std::fs::read_to_string(log).unwrap_or_default();
            panic!("the exporter exited with {exit} before it was ready:\n{stderr}");
        }
        assert!(
            Instant::now() < deadline,
            "the exporter was not ready within 10 minutes"
        );
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
}

/// Scrapes `url` `count` times on one kept-alive connection, as Prometheus does, and
/// returns the latencies (request sent to last body byte) and the last body.
async fn scrape_many(
    client: &reqwest::Client,
    url: &str,
    gzip: bool,
    count: usize,
) -> (Latencies, Vec<u8>) {
    let mut latencies = Latencies::default();
    let mut body = Vec::new();
    // One scrape first, so connection set-up is not counted.
    for i in 0..=count {
        let mut request = client.get(url);
        if gzip {
            request = request.header(header::ACCEPT_ENCODING, "gzip");
        }
        let start = Instant::now();
        let response = request.send().await.expect("scrape /metrics");
        assert!(
            response.status().is_success(),
            "scrape answered {}",
            response.status()
        );
        let encoded = response
            .headers()
            .get(header::CONTENT_ENCODING)
            .is_some_and(|v| v == "gzip");
        assert_eq!(encoded, gzip, "Content-Encoding gzip only when asked for");
        let bytes = response.bytes().await.expect("read the scrape body");
        let elapsed = start.elapsed();
        if i > 0 {
            latencies.samples.push(elapsed);
        }
        latencies.bytes = bytes.len();
        body = bytes.to_vec();
    }
    (latencies, body)
}

/// Serves the given bodies from memory with the same HTTP stack the exporter uses: the
/// least time any server could take to send a scrape of that size.
async fn serve_floor(
    plain: Vec<u8>,
    gzip: Vec<u8>,
) -> (SocketAddr, tokio::sync::oneshot::Sender<()>) {
    let plain = Bytes::from(plain);
    let gzip = Bytes::from(gzip);
    let app = axum::Router::new().route(
        "/metrics",
        axum::routing::get(move |headers: axum::http::HeaderMap| {
            let plain = plain.clone();
            let gzip = gzip.clone();
            async move {
                let wants_gzip = headers
                    .get(header::ACCEPT_ENCODING)
                    .and_then(|v| v.to_str().ok())
                    .is_some_and(|v| v.contains("gzip"));
                let content_type = (
                    header::CONTENT_TYPE,
                    HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
                );
                if wants_gzip {
                    (
                        [
                            content_type,
                            (header::CONTENT_ENCODING, HeaderValue::from_static("gzip")),
                        ],
                        gzip,
                    )
                        .into_response()
                } else {
                    ([content_type], plain).into_response()
                }
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind the floor server on 127.0.0.1");
    let address = listener.local_addr().expect("floor address");
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(async move {
        let _ = axum::serve(listener, app)
            .with_graceful_shutdown(async move {
                let _ = stopped.await;
            })
            .await;
    });
    (address, stop)
}

/// Changes one backend's weight in the snapshot file, replacing the file the way an editor
/// or a ConfigMap update does, and times until /metrics shows the new weight.
async fn file_change_latency(
    client: &reqwest::Client,
    url: &str,
    snapshot: &Path,
    scale: &Scale,
    changes: usize,
) -> Vec<Duration> {
    // Every backend renders its weight, healthy or not; take the first of profile 1.
    let p = 1.min(scale.profiles - 1);
    let b = p * scale.backends_per_profile;
    let name = backend_name(b);
    let namespace = namespace_of_profile(p);
    let staging: PathBuf = snapshot.with_extension("json.new");
    let mut latencies = Vec::new();
    for change in 0..changes {
        let weight = 500 + change;
        write_edited_snapshot_of_scale(&staging, scale, |object| {
            if object["kind"] == "TrafficManagerBackend" && object["metadata"]["name"] == name {
                object["spec"]["weight"] = json!(weight);
            }
        })
        .expect("write the changed snapshot");
        let expected = format!(
            "fleet_dns_lb_backend_weight{{namespace=\"{namespace}\",name=\"{name}\"}} {weight}\n"
        );
        let start = Instant::now();
        std::fs::rename(&staging, snapshot).expect("replace the snapshot file");
        let deadline = start + Duration::from_secs(300);
        loop {
            let body = client
                .get(url)
                .send()
                .await
                .expect("scrape /metrics")
                .text()
                .await
                .expect("read /metrics");
            if body.contains(&expected) {
                latencies.push(start.elapsed());
                break;
            }
            assert!(
                Instant::now() < deadline,
                "/metrics did not show the changed weight within 5 minutes; expected {expected}"
            );
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }
    latencies
}

fn print_machine() {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|t| {
            t.lines()
                .find_map(|l| l.strip_prefix("model name"))
                .map(|r| r.trim_start_matches([' ', '\t', ':']).to_owned())
        })
        .unwrap_or_else(|| "unknown".to_owned());
    let memory = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|t| t.lines().next().map(str::to_owned))
        .unwrap_or_default();
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    println!("machine: {cores} cores, CPU {cpu}, {memory}");
    println!("exporter: {}", exporter_binary());
}
