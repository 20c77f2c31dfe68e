//! Re-reading the web config file, and the certificate files it names, when they change.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use notify::{RecursiveMode, Watcher};
use sha2::{Digest, Sha256};
use tokio::sync::{mpsc, watch};
use tokio_util::sync::CancellationToken;
use tracing::{debug, info, warn};

use super::{WebConfigError, WebSettings, load, referenced_files};

/// How often the files are re-read even without a change notification, for file systems
/// that do not deliver them.
pub const DEFAULT_POLL_INTERVAL: Duration = Duration::from_secs(30);
/// Quiet time after a change notification before reloading, so that the several writes
/// of a certificate rotation lead to one reload.
const DEBOUNCE: Duration = Duration::from_millis(200);

/// The settings of one web config file, kept current while the file and the certificate
/// files it names change. Readers take the current settings from [`Self::subscribe`].
pub struct WebConfigReloader {
    path: PathBuf,
    sender: watch::Sender<Arc<WebSettings>>,
    /// Digest of the file contents last tried, good or bad, so that unchanged files are
    /// not parsed again and a bad file is logged once, not at every poll.
    last_digest: [u8; 32],
    poll_interval: Duration,
}

impl WebConfigReloader {
    /// Loads the file at start-up; any error here stops the exporter.
    pub fn start(path: PathBuf) -> Result<WebConfigReloader, WebConfigError> {
        let last_digest = digest_inputs(&path);
        let settings = load(&path)?;
        info!(
            path = %path.display(),
            tls = settings.tls.is_some(),
            basic_auth = settings.basic_auth.is_some(),
            "web config loaded"
        );
        let (sender, _) = watch::channel(Arc::new(settings));
        Ok(WebConfigReloader {
            path,
            sender,
            last_digest,
            poll_interval: DEFAULT_POLL_INTERVAL,
        })
    }

    /// Sets how often the files are re-read without a change notification.
    pub fn with_poll_interval(mut self, interval: Duration) -> WebConfigReloader {
        self.poll_interval = interval;
        self
    }

    /// Returns a receiver of the current settings.
    pub fn subscribe(&self) -> watch::Receiver<Arc<WebSettings>> {
        self.sender.subscribe()
    }

    /// Reloads the settings whenever the files change, until `shutdown` is cancelled.
    pub async fn watch(mut self, shutdown: CancellationToken) {
        let (notify_sender, mut notified) = mpsc::unbounded_channel::<()>();
        let watcher = notify::recommended_watcher(move |event: notify::Result<notify::Event>| {
            if event.is_ok() {
                let _ = notify_sender.send(());
            }
        });
        let mut watcher = match watcher {
            Ok(watcher) => Some(watcher),
            Err(error) => {
                warn!(%error, "file change notifications are unavailable; the web config is polled");
                None
            }
        };
        let mut watched = BTreeSet::new();
        self.watch_directories(watcher.as_mut(), &mut watched);

        let mut poll = tokio::time::interval(self.poll_interval);
        poll.tick().await;
        loop {
            tokio::select! {
                () = shutdown.cancelled() => break,
                _ = poll.tick() => {}
                event = notified.recv() => {
                    if event.is_none() {
                        break;
                    }
                    tokio::time::sleep(DEBOUNCE).await;
                    while notified.try_recv().is_ok() {}
                }
            }
            if self.reload_if_changed() {
                self.watch_directories(watcher.as_mut(), &mut watched);
            }
        }
        debug!("web config reloader stopped");
    }

    /// Watches the directories of the config file and of the files it names. Watching a
    /// directory, not the file, catches Kubernetes Secret volumes, which swap a symlink
    /// when the Secret changes.
    fn watch_directories(
        &self,
        watcher: Option<&mut notify::RecommendedWatcher>,
        watched: &mut BTreeSet<PathBuf>,
    ) {
        let Some(watcher) = watcher else { return };
        let text = std::fs::read_to_string(&self.path).unwrap_or_default();
        let mut files = referenced_files(&self.path, &text);
        files.push(self.path.clone());
        for file in files {
            let directory = match file.parent() {
                Some(parent) if !parent.as_os_str().is_empty() => parent.to_path_buf(),
                _ => PathBuf::from("."),
            };
            if watched.contains(&directory) {
                continue;
            }
            match watcher.watch(&directory, RecursiveMode::NonRecursive) {
                Ok(()) => {
                    watched.insert(directory);
                }
                Err(error) => {
                    warn!(directory = %directory.display(), %error, "cannot watch directory for changes; the web config is polled");
                }
            }
        }
    }

    /// Reloads when the contents of the files changed. Returns whether new settings were
    /// applied. On an error the last good settings stay in force and the error is logged.
    pub fn reload_if_changed(&mut self) -> bool {
        let digest = digest_inputs(&self.path);
        if digest == self.last_digest {
            return false;
        }
        self.last_digest = digest;

        let settings = match load(&self.path) {
            Ok(settings) => settings,
            Err(error) => {
                warn!(path = %self.path.display(), %error, "web config reload failed; keeping the last good settings");
                return false;
            }
        };
        let tls_before = self.sender.borrow().tls.is_some();
        if settings.tls.is_some() != tls_before {
            warn!(
                path = %self.path.display(),
                tls_before,
                tls_after = settings.tls.is_some(),
                "web config reload failed: turning TLS on or off needs a restart; keeping the last good settings"
            );
            return false;
        }
        info!(
            path = %self.path.display(),
            tls = settings.tls.is_some(),
            basic_auth = settings.basic_auth.is_some(),
            "web config reloaded"
        );
        self.sender.send_replace(Arc::new(settings));
        true
    }
}

/// Digests the config file and every file it names. A file that cannot be read adds
/// its error instead, so that it becoming readable counts as a change.
fn digest_inputs(path: &Path) -> [u8; 32] {
    let mut hasher = Sha256::new();
    let text = match std::fs::read(path) {
        Ok(bytes) => bytes,
        Err(error) => format!("unreadable: {error}").into_bytes(),
    };
    add_part(&mut hasher, &text);
    let text = String::from_utf8_lossy(&text);
    for file in referenced_files(path, &text) {
        add_part(&mut hasher, file.as_os_str().as_encoded_bytes());
        match std::fs::read(&file) {
            Ok(bytes) => add_part(&mut hasher, &bytes),
            Err(error) => add_part(&mut hasher, format!("unreadable: {error}").as_bytes()),
        }
    }
    hasher.finalize().into()
}

/// Adds one length-prefixed part, so that moving bytes between parts changes the digest.
fn add_part(hasher: &mut Sha256, bytes: &[u8]) {
    hasher.update((bytes.len() as u64).to_be_bytes());
    hasher.update(bytes);
}
