//! Snapshot files: `kubectl get … -o yaml` or `-o json` output, a `List`, or multi-document
//! YAML, loaded at start and reloaded when the file changes.

use std::collections::hash_map::DefaultHasher;
use std::collections::{BTreeMap, HashMap};
use std::hash::{Hash, Hasher};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use notify::{RecursiveMode, Watcher};
use serde::Deserialize;
use serde_json::Value;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use tracing::{debug, info, warn};

use super::Readiness;
use crate::catalogue::Kind;
use crate::metrics::own::{PathLabels, ReloadLabels, SourceLabels};
use crate::objects::{HubObject, ObjectError, decode_object};
use crate::state::Hub;

/// The hub objects read from one file, and the items that could not be read.
#[derive(Debug, Default)]
pub struct Snapshot {
    pub objects: Vec<HubObject>,
    pub rejected: Vec<ObjectError>,
}

/// A snapshot file that cannot be used at all.
#[derive(Debug, thiserror::Error)]
pub enum SnapshotError {
    #[error(
        "cannot read snapshot file {path}: {source}; check that the path exists and is readable"
    )]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error(
        "snapshot file {path} is not valid YAML or JSON at line {line}, column {column}: {message}"
    )]
    Parse {
        path: String,
        line: usize,
        column: usize,
        message: String,
    },
    #[error("snapshot file {path} is not valid YAML or JSON: {message}")]
    ParseNoPosition { path: String, message: String },
}

/// Parses the text of a snapshot file; `path` only names the file in errors.
pub fn parse_snapshot(path: &str, text: &str) -> Result<Snapshot, SnapshotError> {
    let mut snapshot = Snapshot::default();
    let mut index = 0;
    for document in serde_yaml_ng::Deserializer::from_str(text) {
        let value = Value::deserialize(document).map_err(|error| yaml_error(path, &error))?;
        for item in document_items(value) {
            match decode_object(index, item) {
                Ok(Some(object)) => snapshot.objects.push(object),
                Ok(None) => {}
                Err(error) => snapshot.rejected.push(error),
            }
            index += 1;
        }
    }
    Ok(snapshot)
}

/// Reads and parses one snapshot file.
pub fn load_snapshot(path: &Path) -> Result<Snapshot, SnapshotError> {
    let text = std::fs::read_to_string(path).map_err(|source| SnapshotError::Read {
        path: path.display().to_string(),
        source,
    })?;
    parse_snapshot(&path.display().to_string(), &text)
}

fn yaml_error(path: &str, error: &serde_yaml_ng::Error) -> SnapshotError {
    match error.location() {
        Some(location) => SnapshotError::Parse {
            path: path.to_owned(),
            line: location.line(),
            column: location.column(),
            message: error.to_string(),
        },
        None => SnapshotError::ParseNoPosition {
            path: path.to_owned(),
            message: error.to_string(),
        },
    }
}

/// Splits a document into items: the `items` of a `List` (or any `*List` kind), the
/// elements of a top-level sequence, or the document itself.
fn document_items(value: Value) -> Vec<Value> {
    match value {
        Value::Null => Vec::new(),
        Value::Array(items) => items,
        Value::Object(mut map) => {
            let is_list = map
                .get("kind")
                .and_then(Value::as_str)
                .is_some_and(|kind| kind.ends_with("List"));
            match map.remove("items") {
                Some(Value::Array(items)) if is_list => items,
                Some(Value::Null) if is_list => Vec::new(),
                Some(items) => {
                    map.insert("items".to_owned(), items);
                    vec![Value::Object(map)]
                }
                None => vec![Value::Object(map)],
            }
        }
        other => vec![other],
    }
}

/// Snapshot files feeding the hub, reloaded when they change.
pub struct FileSource {
    paths: Vec<PathBuf>,
    hub: Hub,
    readiness: Arc<Readiness>,
    /// The last good snapshot of each file, with a hash of the text it was read from.
    loaded: HashMap<PathBuf, (u64, Snapshot)>,
}

/// How often files are checked even without a change notification, for file systems
/// that do not deliver them (some network and container overlay file systems).
const POLL_INTERVAL: Duration = Duration::from_secs(30);
/// Quiet time after a change notification before reloading, so that an editor's
/// several writes lead to one reload.
const DEBOUNCE: Duration = Duration::from_millis(200);

impl FileSource {
    pub fn new(paths: Vec<PathBuf>, hub: Hub, readiness: Arc<Readiness>) -> FileSource {
        let metrics = hub.metrics();
        for path in &paths {
            readiness.register(&source_name(path));
            let path_label = path.display().to_string();
            let _ = metrics.rejected_items.get_or_create(&PathLabels {
                path: path_label.clone(),
            });
            for result in ["success", "failure"] {
                let _ = metrics.file_reloads.get_or_create(&ReloadLabels {
                    path: path_label.clone(),
                    result: result.to_owned(),
                });
            }
        }
        FileSource {
            paths,
            hub,
            readiness,
            loaded: HashMap::new(),
        }
    }

    /// Loads every file once. A file that cannot be read or parsed is an error, so a
    /// wrong path fails at start-up instead of serving an empty hub.
    pub fn load_initial(&mut self) -> Result<(), SnapshotError> {
        for path in self.paths.clone() {
            let text = std::fs::read_to_string(&path).map_err(|source| SnapshotError::Read {
                path: path.display().to_string(),
                source,
            })?;
            let snapshot = parse_snapshot(&path.display().to_string(), &text)?;
            self.accept(&path, hash_text(&text), snapshot);
        }
        self.publish();
        for path in &self.paths {
            self.readiness.mark_ready(&source_name(path));
        }
        Ok(())
    }

    /// Reloads files when they change, until `shutdown` is cancelled.
    pub async fn watch(mut self, shutdown: CancellationToken) {
        let (sender, mut receiver) = mpsc::unbounded_channel::<()>();
        let watcher = notify::recommended_watcher(move |event: notify::Result<notify::Event>| {
            // Reading a file raises access events; reacting to them would reload forever.
            let is_change = event.is_ok_and(|e| !matches!(e.kind, notify::EventKind::Access(_)));
            if is_change {
                let _ = sender.send(());
            }
        });
        // Watching the directory, not the file, catches editors and ConfigMap mounts
        // that replace the file by renaming another one over it.
        let _watcher = match watcher {
            Ok(mut watcher) => {
                for directory in self.directories() {
                    if let Err(error) = watcher.watch(&directory, RecursiveMode::NonRecursive) {
                        warn!(directory = %directory.display(), %error, "cannot watch directory for changes; falling back to polling");
                    }
                }
                Some(watcher)
            }
            Err(error) => {
                warn!(%error, "file change notifications are unavailable; falling back to polling");
                None
            }
        };

        let mut poll = tokio::time::interval(POLL_INTERVAL);
        poll.tick().await;
        loop {
            tokio::select! {
                () = shutdown.cancelled() => break,
                _ = poll.tick() => {}
                notified = receiver.recv() => {
                    if notified.is_none() {
                        break;
                    }
                    // Let a burst of events settle, then drop the ones it left queued.
                    tokio::time::sleep(DEBOUNCE).await;
                    while receiver.try_recv().is_ok() {}
                }
            }
            self.reload_changed();
        }
        debug!("file source stopped");
    }

    fn directories(&self) -> Vec<PathBuf> {
        let mut directories: Vec<PathBuf> = self
            .paths
            .iter()
            .map(|path| match path.parent() {
                Some(parent) if !parent.as_os_str().is_empty() => parent.to_path_buf(),
                _ => PathBuf::from("."),
            })
            .collect();
        directories.sort();
        directories.dedup();
        directories
    }

    /// Re-reads every file and reloads those whose text changed. A file that cannot be
    /// read or parsed keeps its last good snapshot.
    fn reload_changed(&mut self) {
        let mut changed = false;
        for path in self.paths.clone() {
            let path_label = path.display().to_string();
            let text = match std::fs::read_to_string(&path) {
                Ok(text) => text,
                Err(source) => {
                    let error = SnapshotError::Read {
                        path: path_label.clone(),
                        source,
                    };
                    self.reload_failed(&path, &error);
                    continue;
                }
            };
            let hash = hash_text(&text);
            if self.loaded.get(&path).is_some_and(|(old, _)| *old == hash) {
                continue;
            }
            match parse_snapshot(&path_label, &text) {
                Ok(snapshot) => {
                    info!(path = %path_label, objects = snapshot.objects.len(), "snapshot file reloaded");
                    self.accept(&path, hash, snapshot);
                    changed = true;
                }
                Err(error) => self.reload_failed(&path, &error),
            }
        }
        if changed {
            self.publish();
        }
    }

    fn reload_failed(&self, path: &Path, error: &SnapshotError) {
        let path_label = path.display().to_string();
        warn!(path = %path_label, %error, "snapshot file reload failed; keeping the last good data");
        let metrics = self.hub.metrics();
        metrics
            .file_reloads
            .get_or_create(&ReloadLabels {
                path: path_label.clone(),
                result: "failure".to_owned(),
            })
            .inc();
        metrics.source_up.get_or_create(&source_labels(path)).set(0);
    }

    /// Records a good snapshot of one file: counts it, logs its rejected items.
    fn accept(&mut self, path: &Path, hash: u64, snapshot: Snapshot) {
        let path_label = path.display().to_string();
        let metrics = self.hub.metrics();
        for error in &snapshot.rejected {
            warn!(
                path = %path_label,
                item = error.index,
                kind = %error.kind,
                namespace = %error.namespace,
                name = %error.name,
                reason = %error.reason,
                "snapshot item skipped"
            );
        }
        if !snapshot.rejected.is_empty() {
            let count = u64::try_from(snapshot.rejected.len()).unwrap_or(u64::MAX);
            metrics
                .rejected_items
                .get_or_create(&PathLabels {
                    path: path_label.clone(),
                })
                .inc_by(count);
        }
        metrics
            .file_reloads
            .get_or_create(&ReloadLabels {
                path: path_label.clone(),
                result: "success".to_owned(),
            })
            .inc();
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0.0, |d| d.as_secs_f64());
        metrics
            .file_last_reload_success
            .get_or_create(&PathLabels { path: path_label })
            .set(now);
        metrics.source_up.get_or_create(&source_labels(path)).set(1);
        self.loaded.insert(path.to_path_buf(), (hash, snapshot));
    }

    /// Replaces the hub's objects with the union of all files. When two files contain
    /// the same object, the file named later on the command line wins.
    fn publish(&self) {
        let mut union: BTreeMap<(Kind, String, String), HubObject> = BTreeMap::new();
        for path in &self.paths {
            let Some((_, snapshot)) = self.loaded.get(path) else {
                continue;
            };
            for object in &snapshot.objects {
                let key = object.key();
                let previous = union.insert(
                    (key.kind, key.namespace.clone(), key.name.clone()),
                    object.clone(),
                );
                if previous.is_some() {
                    debug!(path = %path.display(), object = %key, "object appears more than once; the later one is used");
                }
            }
        }
        self.hub.replace(&Kind::ALL, union.into_values().collect());
    }
}

fn source_name(path: &Path) -> String {
    format!("file {}", path.display())
}

fn source_labels(path: &Path) -> SourceLabels {
    SourceLabels {
        source: "file".to_owned(),
        target: path.display().to_string(),
    }
}

fn hash_text(text: &str) -> u64 {
    let mut hasher = DefaultHasher::new();
    text.hash(&mut hasher);
    hasher.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn list_and_documents_both_read() {
        let text = r#"
apiVersion: v1
kind: List
items:
- apiVersion: networking.fleet.azure.com/v1beta1
  kind: TrafficManagerProfile
  metadata: {name: a, namespace: ns}
---
apiVersion: networking.fleet.azure.com/v1beta1
kind: TrafficManagerProfile
metadata: {name: b, namespace: ns}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: c, namespace: ns}
"#;
        let snapshot = parse_snapshot("t.yaml", text).unwrap();
        assert_eq!(snapshot.objects.len(), 2);
        assert!(snapshot.rejected.is_empty());
    }

    #[test]
    fn json_list_read() {
        let text = r#"{"apiVersion":"v1","kind":"List","items":[{"apiVersion":"networking.fleet.azure.com/v1beta1","kind":"TrafficManagerBackend","metadata":{"name":"b","namespace":"ns"}}]}"#;
        let snapshot = parse_snapshot("t.json", text).unwrap();
        assert_eq!(snapshot.objects.len(), 1);
    }

    #[test]
    fn syntax_error_names_position() {
        let text = "apiVersion: v1\nkind: List\nitems:\n- {name: [unclosed\n";
        let error = parse_snapshot("bad.yaml", text).unwrap_err();
        let message = error.to_string();
        assert!(message.contains("bad.yaml"), "{message}");
        assert!(
            matches!(error, SnapshotError::Parse { line: 4.., .. }),
            "{message}"
        );
    }

    #[test]
    fn bad_item_does_not_hide_others() {
        let text = r#"
apiVersion: v1
kind: List
items:
- apiVersion: networking.fleet.azure.com/v1beta1
  kind: TrafficManagerProfile
  metadata: {namespace: ns}
- 42
- apiVersion: networking.fleet.azure.com/v1beta1
  kind: TrafficManagerProfile
  metadata: {name: good, namespace: ns}
"#;
        let snapshot = parse_snapshot("t.yaml", text).unwrap();
        assert_eq!(snapshot.objects.len(), 1);
        assert_eq!(snapshot.rejected.len(), 2);
        assert_eq!(snapshot.rejected[0].index, 0);
        assert_eq!(snapshot.rejected[1].index, 1);
    }

    #[test]
    fn missing_file_error_names_path() {
        let error = load_snapshot(Path::new("/nonexistent/hub.yaml")).unwrap_err();
        assert!(error.to_string().contains("/nonexistent/hub.yaml"));
    }
}
