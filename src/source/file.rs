//! Snapshot files: `kubectl get … -o yaml` or `-o json` output, a `List`, or multi-document
//! YAML, loaded at start and reloaded when the file changes.

use std::collections::hash_map::DefaultHasher;
use std::collections::{BTreeMap, HashMap};
use std::hash::{Hash, Hasher};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use notify::{RecursiveMode, Watcher};
use serde::de::{self, DeserializeSeed, MapAccess, SeqAccess, Visitor};
use serde::{Deserialize, Deserializer};
use serde_json::Value;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use tracing::{debug, info, warn};

use super::Readiness;
use crate::catalogue::Kind;
use crate::metrics::own::{PathLabels, ReloadLabels, SourceLabels};
use crate::objects::{HubObject, ObjectError, ObjectKey, decode_object};
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
    #[error(
        "snapshot file {path} is empty; keeping the last good data (to serve an empty hub, write a List with `items: []`)"
    )]
    Empty { path: String },
    #[error("snapshot file {path} is not valid YAML or JSON: {message}")]
    ParseNoPosition { path: String, message: String },
}

/// Parses the text of a snapshot file; `path` only names the file in errors.
///
/// Items are decoded one at a time while the document is read, so a large `List` is
/// never held whole as a JSON value tree: memory during a load stays close to the text
/// plus the decoded objects. A file that starts like JSON (`{` or `[`) is read with the
/// JSON parser, which is several times faster than the YAML one. If it is not valid JSON,
/// it is read as YAML, of which JSON is a subset.
pub fn parse_snapshot(path: &str, text: &str) -> Result<Snapshot, SnapshotError> {
    if looks_like_json(text) {
        let mut snapshot = Snapshot::default();
        let mut index = 0;
        let mut deserializer = serde_json::Deserializer::from_str(text);
        let parsed = DocumentSeed {
            snapshot: &mut snapshot,
            index: &mut index,
        }
        .deserialize(&mut deserializer)
        .and_then(|()| deserializer.end());
        if parsed.is_ok() {
            return Ok(snapshot);
        }
    }
    let mut snapshot = Snapshot::default();
    let mut index = 0;
    for document in serde_yaml_ng::Deserializer::from_str(text) {
        DocumentSeed {
            snapshot: &mut snapshot,
            index: &mut index,
        }
        .deserialize(document)
        .map_err(|error| yaml_error(path, &error))?;
    }
    Ok(snapshot)
}

fn looks_like_json(text: &str) -> bool {
    text.trim_start_matches('\u{feff}')
        .trim_start()
        .starts_with(['{', '['])
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

/// Reads one document into a snapshot: the `items` of a `List` (or any `*List` kind),
/// the elements of a top-level sequence, or the document itself as one item.
struct DocumentSeed<'a> {
    snapshot: &'a mut Snapshot,
    /// Position of the next item in the file, counting from 0 across all documents.
    index: &'a mut usize,
}

impl DocumentSeed<'_> {
    fn push(&mut self, item: Value) {
        match decode_object(*self.index, item) {
            Ok(Some(object)) => self.snapshot.objects.push(object),
            Ok(None) => {}
            Err(error) => self.snapshot.rejected.push(error),
        }
        *self.index += 1;
    }
}

impl<'de> DeserializeSeed<'de> for DocumentSeed<'_> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for DocumentSeed<'_> {
    type Value = ();

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a List, a sequence of objects or one object")
    }

    fn visit_unit<E: de::Error>(self) -> Result<(), E> {
        Ok(())
    }

    fn visit_none<E: de::Error>(self) -> Result<(), E> {
        Ok(())
    }

    fn visit_bool<E: de::Error>(mut self, v: bool) -> Result<(), E> {
        self.push(Value::from(v));
        Ok(())
    }

    fn visit_i64<E: de::Error>(mut self, v: i64) -> Result<(), E> {
        self.push(Value::from(v));
        Ok(())
    }

    fn visit_u64<E: de::Error>(mut self, v: u64) -> Result<(), E> {
        self.push(Value::from(v));
        Ok(())
    }

    fn visit_f64<E: de::Error>(mut self, v: f64) -> Result<(), E> {
        self.push(Value::from(v));
        Ok(())
    }

    fn visit_str<E: de::Error>(mut self, v: &str) -> Result<(), E> {
        self.push(Value::from(v));
        Ok(())
    }

    fn visit_seq<A: SeqAccess<'de>>(mut self, mut seq: A) -> Result<(), A::Error> {
        while let Some(item) = seq.next_element::<Value>()? {
            self.push(item);
        }
        Ok(())
    }

    fn visit_map<A: MapAccess<'de>>(mut self, mut map: A) -> Result<(), A::Error> {
        let first_index = *self.index;
        let first_object = self.snapshot.objects.len();
        let first_rejected = self.snapshot.rejected.len();
        let mut fields = serde_json::Map::new();
        let mut items: Option<Value> = None;
        let mut streamed = false;
        while let Some(key) = map.next_key::<String>()? {
            if key == "items" && !streamed && items.is_none() && !is_non_list(&fields) {
                // `kubectl -o json` writes `items` before `kind`: decode the items as
                // they come, and undo that below if the document is not a List.
                match map.next_value_seed(ItemsSeed {
                    document: DocumentSeed {
                        snapshot: &mut *self.snapshot,
                        index: &mut *self.index,
                    },
                })? {
                    Some(other) => items = Some(other),
                    None => streamed = true,
                }
            } else {
                let value: Value = map.next_value()?;
                if key == "items" {
                    items = Some(value);
                } else {
                    fields.insert(key, value);
                }
            }
        }

        let is_list = fields
            .get("kind")
            .and_then(Value::as_str)
            .is_some_and(|kind| kind.ends_with("List"));
        match items {
            Some(Value::Array(elements)) if is_list => {
                for item in elements {
                    self.push(item);
                }
            }
            Some(Value::Null) if is_list => {}
            _ if is_list && streamed => {}
            other => {
                if streamed {
                    // Not a List after all: the document is one object, whose `items`
                    // field no hub object reads.
                    self.snapshot.objects.truncate(first_object);
                    self.snapshot.rejected.truncate(first_rejected);
                    *self.index = first_index;
                }
                if let Some(value) = other {
                    fields.insert("items".to_owned(), value);
                }
                self.push(Value::Object(fields));
            }
        }
        Ok(())
    }
}

/// Reports whether the fields read so far name a kind that is not a List.
fn is_non_list(fields: &serde_json::Map<String, Value>) -> bool {
    fields
        .get("kind")
        .and_then(Value::as_str)
        .is_some_and(|kind| !kind.ends_with("List"))
}

/// Reads an `items` field: a sequence is decoded element by element into the snapshot
/// (and gives `None`); anything else is returned as it is.
struct ItemsSeed<'a> {
    document: DocumentSeed<'a>,
}

impl<'de> DeserializeSeed<'de> for ItemsSeed<'_> {
    type Value = Option<Value>;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for ItemsSeed<'_> {
    type Value = Option<Value>;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a sequence of objects")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Self::Value, A::Error> {
        self.document.visit_seq(seq).map(|()| None)
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
        Value::deserialize(de::value::MapAccessDeserializer::new(map)).map(Some)
    }

    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(Some(Value::Null))
    }

    fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(Some(Value::Null))
    }

    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Self::Value, E> {
        Ok(Some(Value::from(v)))
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
        Ok(Some(Value::from(v)))
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
        Ok(Some(Value::from(v)))
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Self::Value, E> {
        Ok(Some(Value::from(v)))
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        Ok(Some(Value::from(v)))
    }
}

/// Snapshot files feeding the hub, reloaded when they change.
pub struct FileSource {
    paths: Vec<PathBuf>,
    hub: Hub,
    readiness: Arc<Readiness>,
    /// For each file, a hash of the text last read from it and the keys of the objects
    /// it gave. The objects themselves live only in the hub.
    loaded: HashMap<PathBuf, (u64, Vec<ObjectKey>)>,
}

/// How often files are checked even without a change notification, for file systems
/// that do not deliver them (some network and container overlay file systems).
const POLL_INTERVAL: Duration = Duration::from_secs(30);
/// Quiet time after a change notification before reloading, so that an editor's
/// several writes lead to one reload.
const DEBOUNCE: Duration = Duration::from_millis(200);
/// Maximum wait for a file to stop changing before it is read anyway.
const MAX_SETTLE: Duration = Duration::from_secs(5);

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
        let mut files = Vec::with_capacity(self.paths.len());
        for path in self.paths.clone() {
            let text = std::fs::read_to_string(&path).map_err(|source| SnapshotError::Read {
                path: path.display().to_string(),
                source,
            })?;
            let snapshot = parse_snapshot(&path.display().to_string(), &text)?;
            let hash = hash_text(&text);
            drop(text);
            files.push(self.accept(&path, hash, snapshot));
        }
        self.publish(files);
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
                    // Wait until the file has been quiet for DEBOUNCE, so that a writer
                    // still writing is not read half-way. Stop waiting after MAX_SETTLE,
                    // so that a file that never stops changing still reloads.
                    let settle_deadline = tokio::time::Instant::now() + MAX_SETTLE;
                    loop {
                        tokio::time::sleep(DEBOUNCE).await;
                        let mut more = false;
                        while receiver.try_recv().is_ok() {
                            more = true;
                        }
                        if !more || tokio::time::Instant::now() >= settle_deadline {
                            break;
                        }
                    }
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

    /// Re-reads every file and, when any text changed, publishes the union again. A file
    /// that cannot be read or parsed keeps the objects it gave last time.
    fn reload_changed(&mut self) {
        let changed = self.paths.iter().any(|path| {
            std::fs::read_to_string(path).map_or(true, |text| {
                self.loaded.get(path).map(|(hash, _)| *hash) != Some(hash_text(&text))
            })
        });
        if !changed {
            return;
        }
        // Unchanged files are parsed again rather than kept in memory a second time.
        let mut files = Vec::with_capacity(self.paths.len());
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
                    files.push(self.previous_objects(&path));
                    continue;
                }
            };
            // A writer that truncates the file first (such as a shell redirect) leaves it
            // empty for a moment. An empty file therefore never replaces the last good data.
            if text.trim().is_empty() {
                let error = SnapshotError::Empty {
                    path: path_label.clone(),
                };
                self.reload_failed(&path, &error);
                files.push(self.previous_objects(&path));
                continue;
            }
            let hash = hash_text(&text);
            let unchanged = self.loaded.get(&path).is_some_and(|(old, _)| *old == hash);
            match parse_snapshot(&path_label, &text) {
                Ok(snapshot) if unchanged => files.push(snapshot.objects),
                Ok(snapshot) => {
                    info!(path = %path_label, objects = snapshot.objects.len(), "snapshot file reloaded");
                    files.push(self.accept(&path, hash, snapshot));
                }
                Err(error) => {
                    self.reload_failed(&path, &error);
                    files.push(self.previous_objects(&path));
                }
            }
        }
        self.publish(files);
    }

    /// Returns the objects of a file's last good load, as they are in the hub now.
    fn previous_objects(&self, path: &Path) -> Vec<HubObject> {
        let Some((_, keys)) = self.loaded.get(path) else {
            return Vec::new();
        };
        let state = self.hub.read();
        keys.iter()
            .filter_map(|key| state.get(key).map(|entry| entry.object.clone()))
            .collect()
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

    /// Records a good snapshot of one file: counts it, logs its rejected items, and
    /// returns its objects.
    fn accept(&mut self, path: &Path, hash: u64, snapshot: Snapshot) -> Vec<HubObject> {
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
        let keys = snapshot.objects.iter().map(HubObject::key).collect();
        self.loaded.insert(path.to_path_buf(), (hash, keys));
        snapshot.objects
    }

    /// Replaces the hub's objects with the union of all files, given in the order of
    /// `self.paths`. When two files contain the same object, the file named later on the
    /// command line wins.
    fn publish(&self, files: Vec<Vec<HubObject>>) {
        let mut union: BTreeMap<(Kind, String, String), HubObject> = BTreeMap::new();
        for (path, objects) in self.paths.iter().zip(files) {
            for object in objects {
                let key = object.key();
                let previous =
                    union.insert((key.kind, key.namespace.clone(), key.name.clone()), object);
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
    fn object_with_items_field_is_one_item() {
        // `items` before `kind`, as `kubectl -o json` orders keys, in a kind that is not a List.
        let text = r#"{"apiVersion":"networking.fleet.azure.com/v1beta1","items":[{"kind":"TrafficManagerProfile","apiVersion":"networking.fleet.azure.com/v1beta1","metadata":{"name":"inner","namespace":"ns"}}],"kind":"TrafficManagerProfile","metadata":{"name":"outer","namespace":"ns"}}"#;
        let snapshot = parse_snapshot("t.json", text).unwrap();
        assert_eq!(snapshot.objects.len(), 1);
        assert_eq!(snapshot.objects[0].key().name, "outer");
        let yaml = "kind: TrafficManagerBackend\napiVersion: networking.fleet.azure.com/v1beta1\nmetadata: {name: b, namespace: ns}\nitems: [1, 2]\n";
        let snapshot = parse_snapshot("t.yaml", yaml).unwrap();
        assert_eq!(snapshot.objects.len(), 1);
        assert!(snapshot.rejected.is_empty());
    }

    #[test]
    fn json_and_yaml_give_the_same_items() {
        let json = r#"{"apiVersion":"v1","items":[{"apiVersion":"networking.fleet.azure.com/v1beta1","kind":"TrafficManagerProfile","metadata":{"name":"a","namespace":"ns"}},7,{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"c","namespace":"ns"}},{"apiVersion":"networking.fleet.azure.com/v1beta1","kind":"TrafficManagerProfile","metadata":{"namespace":"ns"}}],"kind":"List"}"#;
        let from_json = parse_snapshot("t.json", json).unwrap();
        // The same text read by the YAML parser, as before JSON was read on its own.
        let from_yaml = parse_snapshot("t.yaml", &format!("---\n{json}")).unwrap();
        assert_eq!(from_json.objects, from_yaml.objects);
        assert_eq!(from_json.rejected, from_yaml.rejected);
        assert_eq!(from_json.objects.len(), 1);
        let indexes: Vec<usize> = from_json.rejected.iter().map(|e| e.index).collect();
        assert_eq!(indexes, [1, 3]);
    }

    #[test]
    fn flow_yaml_that_is_not_json_still_read() {
        let text = "{apiVersion: v1, kind: List, items: [{apiVersion: networking.fleet.azure.com/v1beta1, kind: TrafficManagerProfile, metadata: {name: a, namespace: ns}}]}\n";
        let snapshot = parse_snapshot("t.yaml", text).unwrap();
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

    fn profile_yaml(names: &[&str]) -> String {
        let mut text = String::from("apiVersion: v1\nkind: List\nitems:\n");
        for name in names {
            text.push_str(&format!(
                "- {{apiVersion: networking.fleet.azure.com/v1beta1, kind: TrafficManagerProfile, metadata: {{name: {name}, namespace: ns}}}}\n"
            ));
        }
        text
    }

    fn profile_names(hub: &Hub) -> Vec<String> {
        hub.read()
            .entries(Kind::TrafficManagerProfile)
            .map(|e| e.object.metadata().name.clone().unwrap_or_default())
            .collect()
    }

    #[test]
    fn broken_reload_keeps_objects() {
        let dir = tempfile::tempdir().unwrap();
        let first = dir.path().join("first.yaml");
        let second = dir.path().join("second.yaml");
        std::fs::write(&first, profile_yaml(&["a", "b"])).unwrap();
        std::fs::write(&second, profile_yaml(&["c"])).unwrap();
        let hub = Hub::new(
            crate::state::HubConfig::default(),
            Arc::new(crate::metrics::own::ExporterMetrics::new()),
        );
        let mut source = FileSource::new(
            vec![first.clone(), second.clone()],
            hub.clone(),
            Arc::new(Readiness::default()),
        );
        source.load_initial().unwrap();
        assert_eq!(profile_names(&hub), ["a", "b", "c"]);

        std::fs::write(&first, "items: [unclosed\n").unwrap();
        std::fs::write(&second, profile_yaml(&["c", "d"])).unwrap();
        source.reload_changed();
        assert_eq!(profile_names(&hub), ["a", "b", "c", "d"]);

        std::fs::write(&first, profile_yaml(&["b"])).unwrap();
        source.reload_changed();
        assert_eq!(profile_names(&hub), ["b", "c", "d"]);
    }

    #[test]
    fn missing_file_error_names_path() {
        let error = load_snapshot(Path::new("/nonexistent/hub.yaml")).unwrap_err();
        assert!(error.to_string().contains("/nonexistent/hub.yaml"));
    }
}
