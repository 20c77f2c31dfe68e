//! Objects, resource versions and the watch history of the test server.

use std::collections::BTreeMap;

use serde_json::{Value, json};

use super::ResourceType;

/// The type of a watch event, as the API server spells it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EventType {
    Added,
    Modified,
    Deleted,
}

impl EventType {
    pub fn as_str(self) -> &'static str {
        match self {
            EventType::Added => "ADDED",
            EventType::Modified => "MODIFIED",
            EventType::Deleted => "DELETED",
        }
    }
}

/// One change, kept so that a watch can resume from any resourceVersion after
/// `compacted`.
#[derive(Clone, Debug)]
pub struct HistoryEvent {
    pub resource_version: u64,
    pub plural: String,
    pub namespace: String,
    pub event: EventType,
    pub object: Value,
}

/// Key of an object: plural resource name, namespace, name.
type Key = (String, String, String);

/// The server's data, behind one lock.
#[derive(Debug)]
pub struct Store {
    pub types: Vec<ResourceType>,
    objects: BTreeMap<Key, Value>,
    /// The resourceVersion of the last change; every change increments it.
    pub resource_version: u64,
    pub history: Vec<HistoryEvent>,
    /// Watches from a resourceVersion below this one get 410 Gone.
    pub compacted: u64,
    next_uid: u64,
}

impl Store {
    pub fn new(types: Vec<ResourceType>) -> Store {
        Store {
            types,
            objects: BTreeMap::new(),
            resource_version: 1,
            history: Vec::new(),
            compacted: 0,
            next_uid: 1,
        }
    }

    pub fn resource_type(&self, plural: &str) -> Option<&ResourceType> {
        self.types.iter().find(|t| t.plural == plural)
    }

    pub fn resource_type_mut(&mut self, plural: &str) -> Option<&mut ResourceType> {
        self.types.iter_mut().find(|t| t.plural == plural)
    }

    /// Adds or replaces an object, identified by its `kind`, namespace and name, and
    /// records an ADDED or MODIFIED event. Sets `metadata.resourceVersion`, and `uid` and
    /// `creationTimestamp` when missing.
    ///
    /// # Panics
    ///
    /// Panics when the object's kind is not one of the server's resource types or it has
    /// no name or namespace, because that is a mistake in the test.
    pub fn apply(&mut self, mut object: Value) {
        let kind = object["kind"].as_str().unwrap_or_default().to_owned();
        let plural = self
            .types
            .iter()
            .find(|t| t.kind == kind)
            .unwrap_or_else(|| panic!("the test API server has no resource type for kind {kind:?}"))
            .plural
            .clone();
        let namespace = object["metadata"]["namespace"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        let name = object["metadata"]["name"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        assert!(
            !namespace.is_empty() && !name.is_empty(),
            "object of kind {kind} needs metadata.namespace and metadata.name"
        );

        self.resource_version += 1;
        let key = (plural.clone(), namespace.clone(), name);
        let previous = self.objects.get(&key);
        let metadata = object["metadata"]
            .as_object_mut()
            .expect("metadata was checked above");
        if !metadata.contains_key("uid") {
            let uid = match previous {
                Some(previous) => previous["metadata"]["uid"].clone(),
                None => {
                    self.next_uid += 1;
                    json!(format!("00000000-0000-4000-8000-{:012}", self.next_uid))
                }
            };
            metadata.insert("uid".to_owned(), uid);
        }
        metadata
            .entry("creationTimestamp")
            .or_insert_with(|| json!("2025-01-01T00:00:00Z"));
        metadata.insert(
            "resourceVersion".to_owned(),
            json!(self.resource_version.to_string()),
        );
        let event = if previous.is_some() {
            EventType::Modified
        } else {
            EventType::Added
        };
        self.objects.insert(key, object.clone());
        self.history.push(HistoryEvent {
            resource_version: self.resource_version,
            plural,
            namespace,
            event,
            object,
        });
    }

    /// Deletes an object and records a DELETED event; returns whether it existed.
    pub fn delete(&mut self, plural: &str, namespace: &str, name: &str) -> bool {
        let key = (plural.to_owned(), namespace.to_owned(), name.to_owned());
        let Some(mut object) = self.objects.remove(&key) else {
            return false;
        };
        self.resource_version += 1;
        object["metadata"]["resourceVersion"] = json!(self.resource_version.to_string());
        self.history.push(HistoryEvent {
            resource_version: self.resource_version,
            plural: plural.to_owned(),
            namespace: namespace.to_owned(),
            event: EventType::Deleted,
            object,
        });
        true
    }

    /// Returns the current objects of a resource type, in one namespace or all.
    pub fn list(&self, plural: &str, namespace: Option<&str>) -> Vec<Value> {
        self.objects
            .iter()
            .filter(|((p, ns, _), _)| p == plural && namespace.is_none_or(|n| n == ns))
            .map(|(_, object)| object.clone())
            .collect()
    }

    /// Forgets the history up to now, as etcd compaction does: a watch from any older
    /// resourceVersion then gets 410 Gone.
    pub fn compact(&mut self) {
        self.compacted = self.resource_version;
        self.history.clear();
    }

    /// Returns the events after `after` for a resource type and namespace scope.
    pub fn events_after(
        &self,
        after: u64,
        plural: &str,
        namespace: Option<&str>,
    ) -> Vec<HistoryEvent> {
        let start = self
            .history
            .partition_point(|e| e.resource_version <= after);
        self.history[start..]
            .iter()
            .filter(|e| e.plural == plural && namespace.is_none_or(|n| n == e.namespace))
            .cloned()
            .collect()
    }
}
