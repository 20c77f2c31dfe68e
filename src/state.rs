//! The exporter's view of the hub: every current object with its classification and its
//! rendered series, shared between the sources that write it and the scrapes that read it.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard, RwLock, RwLockReadGuard};

use bytes::Bytes;
use tracing::{debug, info, warn};

use crate::catalogue::{Kind, Problem};
use crate::classify::{Classification, classify};
use crate::metrics::exposition::Format;
use crate::metrics::own::{ConditionLabels, ExporterMetrics, KindLabels, ProblemLabels};
use crate::metrics::render::{RenderConfig, RenderedSeries, render};
use crate::objects::{ConditionStatus, HubObject, ObjectKey};

/// Settings of the state and of the metrics computed from it.
#[derive(Clone, Debug)]
pub struct HubConfig {
    pub render: RenderConfig,
    /// Azure Traffic Manager profiles allowed per subscription.
    pub profile_limit: i64,
    /// Azure Traffic Manager endpoints allowed per profile.
    pub endpoint_limit: i64,
    /// Subscriptions reported even when no programmed profile names them yet.
    pub subscription_ids: Vec<String>,
}

impl HubConfig {
    /// Azure's default limit of profiles per subscription and of endpoints per profile,
    /// from the published Traffic Manager limits; Azure support can raise both.
    pub const DEFAULT_LIMIT: i64 = 200;
}

impl Default for HubConfig {
    fn default() -> Self {
        HubConfig {
            render: RenderConfig::default(),
            profile_limit: Self::DEFAULT_LIMIT,
            endpoint_limit: Self::DEFAULT_LIMIT,
            subscription_ids: Vec::new(),
        }
    }
}

/// An object with its classification and rendered series.
#[derive(Clone, Debug)]
pub struct Entry {
    pub object: HubObject,
    /// `None` for the kinds that have no troubleshooting scenario.
    pub classification: Option<Classification>,
    pub series: RenderedSeries,
}

impl Entry {
    fn new(object: HubObject, config: &HubConfig) -> Entry {
        let classification = classify(&object);
        let series = render(&object, classification.as_ref(), &config.render);
        Entry {
            object,
            classification,
            series,
        }
    }

    pub fn problems(&self) -> &[Problem] {
        self.classification
            .as_ref()
            .map(|c| c.problems.as_slice())
            .unwrap_or_default()
    }

    fn condition_status(&self) -> Option<(&str, Option<ConditionStatus>)> {
        let condition = self.classification.as_ref()?.condition.as_ref()?;
        Some((condition.type_.as_str(), condition.status))
    }
}

type Store = BTreeMap<(String, String), Arc<Entry>>;

/// All current objects, one ordered store per kind.
#[derive(Debug, Default)]
pub struct HubState {
    stores: [Store; Kind::ALL.len()],
    /// Counts the writes to each kind, so a cached encoding of a kind's series can tell it
    /// is current.
    generations: [u64; Kind::ALL.len()],
}

impl HubState {
    /// Returns the entries of one kind, ordered by namespace and name.
    pub fn entries(&self, kind: Kind) -> impl Iterator<Item = &Entry> {
        self.stores[kind as usize].values().map(Arc::as_ref)
    }

    pub fn len(&self, kind: Kind) -> usize {
        self.stores[kind as usize].len()
    }

    pub fn get(&self, key: &ObjectKey) -> Option<&Entry> {
        self.stores[key.kind as usize]
            .get(&(key.namespace.clone(), key.name.clone()))
            .map(Arc::as_ref)
    }
}

/// A change of one object, recorded after the state lock is released.
struct Change {
    key: ObjectKey,
    before: Option<Arc<Entry>>,
    after: Option<Arc<Entry>>,
}

/// Encoded series of each kind, one chunk per object family, with the kind's generation
/// they came from. A change re-encodes only the series of its own kind.
type EncodedKinds = [Option<(u64, Vec<Bytes>)>; Kind::ALL.len()];

/// Handle to the shared state; cheap to clone.
#[derive(Clone)]
pub struct Hub {
    state: Arc<RwLock<HubState>>,
    config: Arc<HubConfig>,
    metrics: Arc<ExporterMetrics>,
    /// The object series as last encoded, per kind: a scrape sends the bytes of every kind
    /// that did not change since again, and re-encodes only the kinds that did.
    encoded_objects: Arc<Mutex<EncodedKinds>>,
}

impl Hub {
    pub fn new(config: HubConfig, metrics: Arc<ExporterMetrics>) -> Hub {
        Hub {
            state: Arc::default(),
            config: Arc::new(config),
            metrics,
            encoded_objects: Arc::default(),
        }
    }

    pub fn config(&self) -> &HubConfig {
        &self.config
    }

    pub fn metrics(&self) -> &Arc<ExporterMetrics> {
        &self.metrics
    }

    /// Locks the state for reading. Hold the guard briefly: writers wait for it.
    pub fn read(&self) -> RwLockReadGuard<'_, HubState> {
        // A panic while a writer held the lock leaves the maps whole (every write is a
        // single insert, remove or swap), so the poisoned state is still consistent.
        self.state.read().unwrap_or_else(|p| p.into_inner())
    }

    /// Adds or updates one object.
    pub fn apply(&self, object: HubObject) {
        let key = object.key();
        // Classify and render before taking the lock, so scrapes wait only for the insert.
        let entry = Arc::new(Entry::new(object, &self.config));
        let before = {
            let mut state = self.state.write().unwrap_or_else(|p| p.into_inner());
            state.generations[key.kind as usize] += 1;
            state.stores[key.kind as usize]
                .insert((key.namespace.clone(), key.name.clone()), entry.clone())
        };
        self.record(Change {
            key,
            before,
            after: Some(entry),
        });
    }

    /// Removes one object; removing an object that is not held does nothing.
    pub fn delete(&self, key: &ObjectKey) {
        let before = {
            let mut state = self.state.write().unwrap_or_else(|p| p.into_inner());
            let removed =
                state.stores[key.kind as usize].remove(&(key.namespace.clone(), key.name.clone()));
            if removed.is_some() {
                state.generations[key.kind as usize] += 1;
            }
            removed
        };
        if before.is_some() {
            self.record(Change {
                key: key.clone(),
                before,
                after: None,
            });
        }
    }

    /// Replaces every object of `kinds` with `objects` in one step, so a scrape returns either
    /// the old set or the new one. Objects of other kinds in `objects` are ignored.
    pub fn replace(&self, kinds: &[Kind], objects: Vec<HubObject>) {
        let mut new_stores: Vec<(Kind, Store)> =
            kinds.iter().map(|&kind| (kind, Store::new())).collect();
        {
            let state = self.read();
            for object in objects {
                let kind = object.kind();
                let Some((_, store)) = new_stores.iter_mut().find(|(k, _)| *k == kind) else {
                    continue;
                };
                let key = (
                    object.metadata().namespace.clone().unwrap_or_default(),
                    object.metadata().name.clone().unwrap_or_default(),
                );
                // An unchanged object keeps its classification and rendered series. An equal
                // copy, as a relist brings, still replaces the stored allocation, so the hub
                // shares the `Arc` of the watch's reflector store instead of keeping a copy.
                let entry = match state.stores[kind as usize].get(&key) {
                    Some(old) if old.object.ptr_eq(&object) => old.clone(),
                    Some(old) if old.object == object => Arc::new(Entry {
                        object,
                        classification: old.classification.clone(),
                        series: old.series.clone(),
                    }),
                    _ => Arc::new(Entry::new(object, &self.config)),
                };
                store.insert(key, entry);
            }
        }

        let mut changes = Vec::new();
        {
            let mut state = self.state.write().unwrap_or_else(|p| p.into_inner());
            for (kind, new_store) in new_stores {
                state.generations[kind as usize] += 1;
                let old_store = std::mem::replace(&mut state.stores[kind as usize], new_store);
                let new_store = &state.stores[kind as usize];
                for ((namespace, name), after) in new_store {
                    let before = old_store.get(&(namespace.clone(), name.clone()));
                    if before.is_some_and(|b| Arc::ptr_eq(b, after)) {
                        continue;
                    }
                    changes.push(Change {
                        key: ObjectKey {
                            kind,
                            namespace: namespace.clone(),
                            name: name.clone(),
                        },
                        before: before.cloned(),
                        after: Some(after.clone()),
                    });
                }
                for ((namespace, name), before) in old_store {
                    if !new_store.contains_key(&(namespace.clone(), name.clone())) {
                        changes.push(Change {
                            key: ObjectKey {
                                kind,
                                namespace,
                                name,
                            },
                            before: Some(before),
                            after: None,
                        });
                    }
                }
            }
        }
        for change in changes {
            self.record(change);
        }
    }

    /// Encodes a whole scrape: the object families, the aggregates and the exporter's
    /// own metrics.
    pub fn encode(&self, format: Format) -> String {
        let chunks = self.encode_chunks(format);
        let mut out = String::with_capacity(chunks.iter().map(Bytes::len).sum());
        for chunk in chunks {
            // Both chunks are built from `String`s, so they are UTF-8.
            out.push_str(std::str::from_utf8(&chunk).unwrap_or_default());
        }
        out
    }

    /// Encodes a whole scrape as chunks to send one after the other: the object families,
    /// with each kind's series re-encoded only when an object of that kind changed since
    /// the last scrape, then the aggregates and the exporter's own metrics.
    pub fn encode_chunks(&self, format: Format) -> Vec<Bytes> {
        let state = self.read();
        let per_kind: Vec<Vec<Bytes>> = {
            // Held while encoding, so concurrent scrapes after a change encode it once.
            let mut encoded = self.lock_encoded();
            Kind::ALL
                .iter()
                .map(|&kind| {
                    let generation = state.generations[kind as usize];
                    let slot = &mut encoded[kind as usize];
                    match slot {
                        Some((cached, chunks)) if *cached == generation => chunks.clone(),
                        _ => {
                            let chunks: Vec<Bytes> = crate::metrics::encode_kind(&state, kind)
                                .into_iter()
                                .map(Bytes::from)
                                .collect();
                            *slot = Some((generation, chunks.clone()));
                            chunks
                        }
                    }
                })
                .collect()
        };

        let headers = crate::metrics::encode_family_headers(format);
        let mut chunks = Vec::with_capacity(headers.len() * (per_kind.len() + 1) + 1);
        for (index, header) in headers.into_iter().enumerate() {
            chunks.push(Bytes::from(header));
            chunks.extend(
                per_kind
                    .iter()
                    .map(|kind_chunks| kind_chunks[index].clone())
                    .filter(|chunk| !chunk.is_empty()),
            );
        }
        let tail = crate::metrics::encode_tail(&state, &self.config, &self.metrics, format);
        chunks.push(Bytes::from(tail));
        chunks
    }

    fn lock_encoded(&self) -> MutexGuard<'_, EncodedKinds> {
        // The slots are replaced whole, so a panic elsewhere cannot leave one half-written.
        self.encoded_objects
            .lock()
            .unwrap_or_else(|p| p.into_inner())
    }

    /// Logs a change and counts it: one log line per change of an object's problems.
    fn record(&self, change: Change) {
        let Change { key, before, after } = change;
        let kind = key.kind.as_str();
        let namespace = key.namespace.as_str();
        let name = key.name.as_str();
        let old_problems = before.as_deref().map(Entry::problems).unwrap_or_default();

        let Some(after) = after else {
            if old_problems.is_empty() {
                debug!(kind, namespace, name, "object deleted");
            } else {
                info!(kind, namespace, name, old_problems = %ProblemList(old_problems), "object deleted");
            }
            return;
        };

        let new_problems = after.problems();
        if let Some(classification) = &after.classification {
            for problem in new_problems.iter().filter(|p| !old_problems.contains(p)) {
                let labels = ProblemLabels {
                    kind: kind.to_owned(),
                    scenario: classification.scenario.as_str().to_owned(),
                    problem: problem.as_str().to_owned(),
                };
                self.metrics.problem_entered.get_or_create(&labels).inc();
                if matches!(
                    problem,
                    Problem::ProfileLimitReached | Problem::EndpointLimitReached
                ) {
                    self.metrics
                        .limit_reached_entered
                        .get_or_create(&labels)
                        .inc();
                }
            }
        }
        if new_problems != old_problems {
            info!(
                kind,
                namespace,
                name,
                old_problems = %ProblemList(old_problems),
                new_problems = %ProblemList(new_problems),
                reason = after.classification.as_ref().map_or("", |c| c.reason.as_str()),
                "problems changed"
            );
        } else if before.is_none() {
            debug!(kind, namespace, name, "object added");
        }

        let old_condition = before.as_deref().and_then(Entry::condition_status);
        // A status outside True, False and Unknown is not a transition to count.
        if let (Some(old), Some((condition, Some(status)))) =
            (old_condition, after.condition_status())
            && old != (condition, Some(status))
        {
            let labels = ConditionLabels {
                kind: kind.to_owned(),
                condition: condition.to_owned(),
                status: status.as_str().to_owned(),
            };
            self.metrics
                .condition_transitions
                .get_or_create(&labels)
                .inc();
        }

        let errors = after.object.decode_errors();
        let old_errors = before
            .as_deref()
            .map(|b| b.object.decode_errors())
            .unwrap_or_default();
        if !errors.is_empty() && errors != old_errors {
            let labels = KindLabels {
                kind: kind.to_owned(),
            };
            self.metrics.invalid_objects.get_or_create(&labels).inc();
            for error in errors {
                warn!(
                    kind,
                    namespace,
                    name,
                    %error,
                    "object does not match the CRD schema; serving the parts that could be read"
                );
            }
        }
    }
}

/// Formats problems as `[a, b]` for log fields.
struct ProblemList<'a>(&'a [Problem]);

impl std::fmt::Display for ProblemList<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("[")?;
        for (i, problem) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            f.write_str(problem.as_str())?;
        }
        f.write_str("]")
    }
}
