//! Helpers shared by the integration tests: the exporter as a child process, external
//! tools, and real Prometheus and Alertmanager servers, all on 127.0.0.1.

#![allow(dead_code)] // Each test binary uses a different subset of these helpers.

use std::io::Read as _;
use std::net::{SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub mod alertmanager;

/// How long a test waits for a process or a condition before failing.
pub const DEADLINE: Duration = Duration::from_secs(30);

/// Returns the path of a file under the repository root.
pub fn repo_path(relative: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(relative)
}

/// Returns the path of an external tool, or panics with the package that provides it.
/// `scripts/ensure-tools` installs every tool named here.
pub fn require_tool(name: &str, package: &str) -> PathBuf {
    let path = std::env::var_os("PATH").unwrap_or_default();
    for directory in std::env::split_paths(&path) {
        let candidate = directory.join(name);
        if candidate.is_file() {
            return candidate;
        }
    }
    panic!("`{name}` is not installed; install {package} (scripts/ensure-tools does this as root)");
}

/// Returns a port on 127.0.0.1 that was free a moment ago.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .map(|address| address.port())
        .expect("binding an ephemeral port on 127.0.0.1")
}

/// Builds an HTTP client that never uses a proxy, so requests stay on 127.0.0.1.
pub fn http_client() -> reqwest::blocking::Client {
    reqwest::blocking::Client::builder()
        .no_proxy()
        .timeout(Duration::from_secs(20))
        .build()
        .expect("building the HTTP client")
}

/// Polls `check` until it returns `Some`, or panics naming `what` after [`DEADLINE`].
pub fn wait_for<T>(what: &str, mut check: impl FnMut() -> Option<T>) -> T {
    let start = Instant::now();
    loop {
        if let Some(value) = check() {
            return value;
        }
        assert!(
            start.elapsed() < DEADLINE,
            "timed out after {DEADLINE:?} waiting for {what}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// A child process that is killed when dropped, also when a test fails.
pub struct ChildGuard {
    pub child: Child,
    pub name: String,
}

impl ChildGuard {
    pub fn spawn(name: &str, command: &mut Command) -> ChildGuard {
        let child = command
            .stdin(Stdio::null())
            .spawn()
            .unwrap_or_else(|error| panic!("starting {name}: {error}"));
        ChildGuard {
            child,
            name: name.to_owned(),
        }
    }

    /// Fails the test if the process has already exited, showing its stderr when captured.
    pub fn assert_running(&mut self) {
        if let Ok(Some(status)) = self.child.try_wait() {
            let mut stderr = String::new();
            if let Some(pipe) = self.child.stderr.as_mut() {
                let _ = pipe.read_to_string(&mut stderr);
            }
            panic!("{} exited early with {status}:\n{stderr}", self.name);
        }
    }
}

impl Drop for ChildGuard {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The exporter binary running on a free port of 127.0.0.1.
pub struct Exporter {
    pub process: ChildGuard,
    pub address: SocketAddr,
}

impl Exporter {
    /// Starts the exporter with `args` plus a listen address, and waits until /readyz is 200.
    pub fn start(args: &[&str]) -> Exporter {
        let address: SocketAddr = format!("127.0.0.1:{}", free_port()).parse().unwrap();
        let mut command = Command::new(env!("CARGO_BIN_EXE_fleet-dns-lb-exporter"));
        command
            .args(args)
            .arg("--web.listen-address")
            .arg(address.to_string())
            .env("RUST_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        let mut exporter = Exporter {
            process: ChildGuard::spawn("fleet-dns-lb-exporter", &mut command),
            address,
        };
        let client = http_client();
        let url = exporter.url("/readyz");
        wait_for("the exporter to become ready", || {
            exporter.process.assert_running();
            let response = client.get(&url).send().ok()?;
            response.status().is_success().then_some(())
        });
        exporter
    }

    /// Starts the exporter on the example hub shipped in `examples/`.
    pub fn start_on_example() -> Exporter {
        let example = repo_path("examples/fleet-hub.yaml");
        Exporter::start(&["--from-file", example.to_str().unwrap()])
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.address, path)
    }

    /// Returns the body of a plain-text scrape.
    pub fn scrape(&self) -> String {
        let response = http_client()
            .get(self.url("/metrics"))
            .send()
            .expect("scraping the exporter");
        assert!(
            response.status().is_success(),
            "scrape returned {}",
            response.status()
        );
        response.text().expect("reading the scrape body")
    }
}

/// A real Prometheus server on a free port of 127.0.0.1, with its data in a temporary
/// directory that is removed when the server is dropped.
pub struct Prometheus {
    pub process: ChildGuard,
    pub port: u16,
    pub directory: tempfile::TempDir,
}

impl Prometheus {
    /// Starts Prometheus with `config` (a prometheus.yml body) and waits until it is ready.
    /// `files` are written next to the config first, such as rule files it refers to.
    pub fn start(config: &str, files: &[(&str, &str)]) -> Prometheus {
        let binary = require_tool("prometheus", "the Debian package prometheus");
        let directory = tempfile::tempdir().expect("creating a temporary directory");
        for (name, content) in files {
            std::fs::write(directory.path().join(name), content)
                .expect("writing a file for Prometheus");
        }
        let config_path = directory.path().join("prometheus.yml");
        std::fs::write(&config_path, config).expect("writing prometheus.yml");
        let port = free_port();
        let mut command = Command::new(binary);
        command
            .arg(format!("--config.file={}", config_path.display()))
            .arg(format!(
                "--storage.tsdb.path={}",
                directory.path().join("data").display()
            ))
            .arg(format!("--web.listen-address=127.0.0.1:{port}"))
            .arg("--log.level=warn")
            .current_dir(directory.path())
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        let mut prometheus = Prometheus {
            process: ChildGuard::spawn("prometheus", &mut command),
            port,
            directory,
        };
        let client = http_client();
        let url = prometheus.url("/-/ready");
        wait_for("Prometheus to become ready", || {
            prometheus.process.assert_running();
            let response = client.get(&url).send().ok()?;
            response.status().is_success().then_some(())
        });
        prometheus
    }

    /// Returns a scrape config body for one job scraping `target` every second.
    pub fn scrape_config(job: &str, target: SocketAddr) -> String {
        format!(
            "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\nscrape_configs:\n- job_name: {job}\n  static_configs:\n  - targets: ['{target}']\n"
        )
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{}", self.port, path)
    }

    /// Runs an instant query and returns the `data` object of the API response; panics
    /// with Prometheus's error when the query does not parse or fails.
    pub fn query(&self, expression: &str) -> serde_json::Value {
        let response = http_client()
            .get(self.url("/api/v1/query"))
            .query(&[("query", expression)])
            .send()
            .expect("querying Prometheus");
        let body: serde_json::Value = response.json().expect("Prometheus answered with JSON");
        assert_eq!(
            body["status"], "success",
            "query {expression:?} failed: {body}"
        );
        body["data"].clone()
    }

    /// Waits until every scrape target is up, and returns once one scrape has been stored.
    pub fn wait_for_targets_up(&self) {
        wait_for("Prometheus to scrape its targets", || {
            let data = self.query("up");
            let results = data["result"].as_array()?;
            let all_up = !results.is_empty() && results.iter().all(|r| r["value"][1] == "1");
            all_up.then_some(())
        });
    }
}

/// Result of `promtool check metrics` on an exposition.
pub struct PromtoolReport {
    pub success: bool,
    /// promtool's stdout and stderr together: parse errors and lint findings.
    pub output: String,
}

/// Runs `promtool check metrics` with `exposition` on its standard input.
pub fn promtool_check_metrics(exposition: &str) -> PromtoolReport {
    use std::io::Write as _;

    let promtool = require_tool("promtool", "the Debian package prometheus");
    let mut child = Command::new(promtool)
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("starting promtool");
    let mut stdin = child.stdin.take().expect("promtool's standard input");
    stdin
        .write_all(exposition.as_bytes())
        .expect("writing the exposition to promtool");
    drop(stdin);
    let output = child.wait_with_output().expect("waiting for promtool");
    PromtoolReport {
        success: output.status.success(),
        output: format!(
            "{}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        ),
    }
}

// === Helpers for the dashboard tests ===

impl Prometheus {
    /// Runs an instant query and returns the `data` object of the API response, or the
    /// error Prometheus returned, such as a parse error.
    pub fn try_query(&self, expression: &str) -> Result<serde_json::Value, String> {
        let response = http_client()
            .get(self.url("/api/v1/query"))
            .query(&[("query", expression)])
            .send()
            .map_err(|error| format!("querying Prometheus failed: {error}"))?;
        api_data(response)
    }

    /// Returns the series that match `selector` (the series API), or the error
    /// Prometheus returned.
    pub fn series(&self, selector: &str) -> Result<Vec<serde_json::Value>, String> {
        let response = http_client()
            .get(self.url("/api/v1/series"))
            .query(&[("match[]", selector)])
            .send()
            .map_err(|error| format!("querying Prometheus series failed: {error}"))?;
        let data = api_data(response)?;
        Ok(data.as_array().cloned().unwrap_or_default())
    }
}

/// Returns `data` of a Prometheus API response, or its `errorType` and `error`.
fn api_data(response: reqwest::blocking::Response) -> Result<serde_json::Value, String> {
    let body: serde_json::Value = response
        .json()
        .map_err(|error| format!("Prometheus did not answer with JSON: {error}"))?;
    if body["status"] == "success" {
        Ok(body["data"].clone())
    } else {
        Err(format!("{}: {}", body["errorType"], body["error"]))
    }
}

/// Replaces the file at `path` by renaming a finished file over it, so that a file watcher
/// never reads it half written.
pub fn replace_file(path: &Path, content: &str) {
    let staging = path.with_extension("staging");
    std::fs::write(&staging, content).expect("writing the staging file");
    std::fs::rename(&staging, path).expect("renaming the staging file over the target");
}
