//! A real Alertmanager server on 127.0.0.1, for the end-to-end alert tests.

use std::path::PathBuf;
use std::process::{Command, Stdio};

use super::{ChildGuard, free_port, http_client, wait_for};

/// A real Alertmanager on a free port of 127.0.0.1, with clustering disabled and its data
/// in a temporary directory that is removed when it is dropped.
pub struct Alertmanager {
    pub process: ChildGuard,
    pub port: u16,
    pub directory: tempfile::TempDir,
}

impl Alertmanager {
    /// Starts Alertmanager with `config` (an alertmanager.yml body) and waits until it is
    /// ready.
    pub fn start(config: &str) -> Alertmanager {
        let binary = require_alertmanager();
        let directory = tempfile::tempdir().expect("creating a temporary directory");
        let config_path = directory.path().join("alertmanager.yml");
        std::fs::write(&config_path, config).expect("writing alertmanager.yml");
        let port = free_port();
        let mut command = Command::new(binary);
        command
            .arg(format!("--config.file={}", config_path.display()))
            .arg(format!(
                "--storage.path={}",
                directory.path().join("data").display()
            ))
            .arg(format!("--web.listen-address=127.0.0.1:{port}"))
            // An empty cluster address turns off the gossip listener and peer lookups.
            .arg("--cluster.listen-address=")
            .arg("--log.level=warn")
            .current_dir(directory.path())
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        let mut alertmanager = Alertmanager {
            process: ChildGuard::spawn("alertmanager", &mut command),
            port,
            directory,
        };
        let client = http_client();
        let url = alertmanager.url("/-/ready");
        wait_for("Alertmanager to become ready", || {
            alertmanager.process.assert_running();
            let response = client.get(&url).send().ok()?;
            response.status().is_success().then_some(())
        });
        alertmanager
    }

    /// Returns a configuration that accepts every alert and sends no notification.
    pub fn silent_config() -> &'static str {
        "route:\n  receiver: blackhole\nreceivers:\n- name: blackhole\n"
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{}", self.port, path)
    }

    /// Returns the alerts Alertmanager stores now, from its v2 API.
    pub fn alerts(&self) -> Vec<serde_json::Value> {
        let response = http_client()
            .get(self.url("/api/v2/alerts"))
            .send()
            .expect("querying Alertmanager");
        assert!(
            response.status().is_success(),
            "Alertmanager returned {}",
            response.status()
        );
        response
            .json()
            .expect("Alertmanager answered with a JSON array")
    }
}

/// Returns the Alertmanager binary: Debian installs it as `prometheus-alertmanager`, the
/// upstream release as `alertmanager`.
pub fn require_alertmanager() -> PathBuf {
    let path = std::env::var_os("PATH").unwrap_or_default();
    for directory in std::env::split_paths(&path) {
        for name in ["prometheus-alertmanager", "alertmanager"] {
            let candidate = directory.join(name);
            if candidate.is_file() {
                return candidate;
            }
        }
    }
    panic!(
        "`prometheus-alertmanager` is not installed; install the Debian package prometheus-alertmanager (scripts/ensure-tools does this as root)"
    );
}
