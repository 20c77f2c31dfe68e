//! One watch: a kind in all namespaces or in one namespace, from the initial list on,
//! applied to the hub state event by event.
//!
//! A kube-runtime reflector store is the store of record for each watch. It keeps each
//! object in an `Arc`, and the hub state keeps the same `Arc` rather than a copy, so each
//! object is in memory once. A complete list replaces the kind's objects in the hub state
//! in one step, as the reflector does with its own store. While a list is in progress,
//! the reflector buffers the new objects and the hub state still has the previous ones,
//! so a relist briefly keeps two copies of the watch's objects.

use std::fmt::Debug;
use std::pin::pin;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use futures::StreamExt;
use kube::core::{ApiResource, DynamicResourceScope};
use kube::runtime::reflector::{self, Lookup, Store, reflector};
use kube::runtime::utils::Backoff;
use kube::runtime::watcher::{self, DefaultBackoff, Event, watcher};
use kube::{Api, Client, Resource};
use serde::de::DeserializeOwned;
use tokio_util::sync::CancellationToken;
use tracing::{debug, info, warn};

use super::error::{ErrorClass, failed_verb, next_step};
use crate::catalogue::Kind;
use crate::metrics::own::{KindLabels, SourceLabels, WatchErrorLabels, WatchEventLabels};
use crate::objects::{HubObject, ObjectKey};
use crate::source::Readiness;
use crate::state::Hub;

/// State that every watch of a run shares.
pub struct Shared {
    pub client: Client,
    pub hub: Hub,
    pub readiness: Arc<Readiness>,
    /// Server-side duration of each watch request, in seconds.
    pub watch_timeout: u32,
    /// Serializes the writes of all watches of one kind, so that a namespace's relist
    /// cannot overwrite an event another namespace's watch applied meanwhile.
    kind_locks: [Mutex<()>; Kind::ALL.len()],
}

impl Shared {
    pub fn new(client: Client, hub: Hub, readiness: Arc<Readiness>, watch_timeout: u32) -> Shared {
        Shared {
            client,
            hub,
            readiness,
            watch_timeout,
            kind_locks: Default::default(),
        }
    }

    fn lock_kind(&self, kind: Kind) -> MutexGuard<'_, ()> {
        self.kind_locks[kind as usize]
            .lock()
            .unwrap_or_else(|p| p.into_inner())
    }
}

/// Scope of one watch: a kind at its discovered version, in one namespace or all.
#[derive(Clone, Debug)]
pub struct Target {
    pub kind: Kind,
    pub resource: ApiResource,
    /// `None` for all namespaces.
    pub namespace: Option<String>,
}

impl Target {
    pub fn name(&self) -> String {
        target_name(self.kind, self.namespace.as_deref())
    }

    pub fn readiness_name(&self) -> String {
        format!("kube {}", self.name())
    }

    pub fn source_labels(&self) -> SourceLabels {
        source_labels(self.kind, self.namespace.as_deref())
    }

    fn scope(&self) -> String {
        match &self.namespace {
            Some(namespace) => format!("in namespace {namespace}"),
            None => "at cluster scope".to_owned(),
        }
    }
}

/// Returns the `target` label value of a watch: the plural resource name, prefixed with
/// `<namespace>/` for a single-namespace watch.
pub fn target_name(kind: Kind, namespace: Option<&str>) -> String {
    match namespace {
        Some(namespace) => format!("{namespace}/{}", kind.plural()),
        None => kind.plural().to_owned(),
    }
}

pub fn source_labels(kind: Kind, namespace: Option<&str>) -> SourceLabels {
    SourceLabels {
        source: "kube".to_owned(),
        target: target_name(kind, namespace),
    }
}

/// Runs the watch of `target` until `cancel` fires.
pub async fn run(shared: Arc<Shared>, target: Target, cancel: CancellationToken) {
    match target.kind {
        Kind::TrafficManagerProfile => watch(shared, target, cancel, HubObject::Profile).await,
        Kind::TrafficManagerBackend => watch(shared, target, cancel, HubObject::Backend).await,
        Kind::ServiceImport => watch(shared, target, cancel, HubObject::Import).await,
        Kind::InternalServiceExport => watch(shared, target, cancel, HubObject::Export).await,
    }
}

/// The state of one watch between events.
struct Watch {
    shared: Arc<Shared>,
    target: Target,
    kind_labels: KindLabels,
    /// Whether an initial list has completed, so later lists count as relists.
    listed: bool,
    /// Class of the last error since the last successful list, to log a run of identical
    /// errors once at warn level.
    last_error: Option<ErrorClass>,
}

async fn watch<K>(
    shared: Arc<Shared>,
    target: Target,
    cancel: CancellationToken,
    into_hub_object: fn(Arc<K>) -> HubObject,
) where
    K: Resource<DynamicType = Arc<ApiResource>, Scope = DynamicResourceScope>
        + Clone
        + DeserializeOwned
        + Debug
        + Send
        + 'static,
{
    let resource = Arc::new(target.resource.clone());
    let api: Api<K> = match &target.namespace {
        Some(namespace) => Api::namespaced_with(shared.client.clone(), namespace, &resource),
        None => Api::all_with(shared.client.clone(), &resource),
    };
    let config = watcher::Config::default().timeout(shared.watch_timeout);
    let mut backoff = DefaultBackoff::default();
    let mut state = Watch {
        kind_labels: KindLabels {
            kind: target.kind.as_str().to_owned(),
        },
        shared,
        target,
        listed: false,
        last_error: None,
    };
    info!(
        kind = %state.target.kind,
        target = state.target.name(),
        version = state.target.resource.version,
        "watching"
    );

    loop {
        // A fresh watcher starts with a full list, so every restart converges on the
        // server's current state. It also gets a fresh reflector store, because
        // `reflector` takes the writer by value. The old store is dropped here, the hub
        // state keeps serving its objects until the new list is complete, and then the new
        // store's objects replace them.
        let writer = reflector::store::Writer::new(resource.clone());
        let store = writer.as_reader();
        let mut events = pin!(reflector(writer, watcher(api.clone(), config.clone())));
        loop {
            let event = tokio::select! {
                () = cancel.cancelled() => return,
                event = events.next() => event,
            };
            // The reflector has applied each event to `store` before passing it on.
            match event {
                None => break,
                Some(Ok(Event::Init)) => {
                    if state.listed {
                        state.relisted();
                    }
                }
                Some(Ok(Event::InitApply(_))) => state.count_event("applied"),
                Some(Ok(Event::InitDone)) => {
                    let objects = store.state().into_iter().map(into_hub_object);
                    state.listed(objects.collect());
                    backoff.reset();
                }
                Some(Ok(Event::Apply(object))) => {
                    let shared = shared_object(&store, &resource, object);
                    state.applied(into_hub_object(shared));
                }
                Some(Ok(Event::Delete(object))) => {
                    state.deleted(into_hub_object(Arc::new(object)));
                }
                Some(Err(error)) => {
                    state.failed(&error);
                    // The watcher recovers from these in place: after a 410 it lists
                    // again at once, and after an error event it keeps reading the stream.
                    if let watcher::Error::WatchError(_) = error {
                        continue;
                    }
                    break;
                }
            }
        }

        let delay = backoff.next().unwrap_or(Duration::from_secs(30));
        debug!(kind = %state.target.kind, target = state.target.name(), delay_ms = delay.as_millis(), "restarting the watch after a delay");
        tokio::select! {
            () = cancel.cancelled() => return,
            () = tokio::time::sleep(delay) => {}
        }
    }
}

/// Returns the store's `Arc` of an applied object. The reflector inserts the object
/// before passing the event on, so the fallback to a new `Arc` is only a safeguard.
fn shared_object<K>(store: &Store<K>, resource: &Arc<ApiResource>, object: K) -> Arc<K>
where
    K: Resource<DynamicType = Arc<ApiResource>> + Clone + 'static,
{
    store
        .get(&object.to_object_ref(resource.clone()))
        .unwrap_or_else(|| Arc::new(object))
}

impl Watch {
    fn metrics(&self) -> &crate::metrics::own::ExporterMetrics {
        self.shared.hub.metrics()
    }

    fn count_event(&self, event: &str) {
        let labels = WatchEventLabels {
            kind: self.kind_labels.kind.clone(),
            event: event.to_owned(),
        };
        self.metrics().watch_events.get_or_create(&labels).inc();
    }

    fn mark_event_time(&self) {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0.0, |d| d.as_secs_f64());
        self.metrics()
            .watch_last_event
            .get_or_create(&self.kind_labels)
            .set(now);
    }

    fn set_up(&self, up: bool) {
        self.metrics()
            .source_up
            .get_or_create(&self.target.source_labels())
            .set(i64::from(up));
    }

    fn relisted(&self) {
        self.metrics()
            .watch_relists
            .get_or_create(&self.kind_labels)
            .inc();
        info!(kind = %self.target.kind, target = self.target.name(), "listing again");
    }

    /// Replaces the target's objects with a complete list.
    fn listed(&mut self, objects: Vec<HubObject>) {
        let kind = self.target.kind;
        let count = objects.len();
        {
            let _guard = self.shared.lock_kind(kind);
            let mut all = objects;
            if let Some(namespace) = &self.target.namespace {
                let state = self.shared.hub.read();
                let others = state
                    .entries(kind)
                    .filter(|entry| entry.object.metadata().namespace.as_ref() != Some(namespace))
                    .map(|entry| entry.object.clone());
                all.extend(others.collect::<Vec<_>>());
            }
            self.shared.hub.replace(&[kind], all);
        }

        if self.last_error.take().is_some() || !self.listed {
            info!(kind = %kind, target = self.target.name(), objects = count, "list complete");
        }
        self.listed = true;
        self.set_up(true);
        self.mark_event_time();
        self.shared
            .readiness
            .mark_ready(&self.target.readiness_name());
    }

    fn applied(&self, object: HubObject) {
        // Counted first, so a scrape that shows the change also shows it counted.
        self.count_event("applied");
        self.mark_event_time();
        self.set_up(true);
        let _guard = self.shared.lock_kind(self.target.kind);
        self.shared.hub.apply(object);
    }

    fn deleted(&self, object: HubObject) {
        let key: ObjectKey = object.key();
        // Counted first, so a scrape that shows the deletion also shows it counted.
        self.count_event("deleted");
        self.mark_event_time();
        self.set_up(true);
        let _guard = self.shared.lock_kind(self.target.kind);
        self.shared.hub.delete(&key);
    }

    fn failed(&mut self, error: &watcher::Error) {
        let class = ErrorClass::of_watcher(error);
        let labels = WatchErrorLabels {
            kind: self.kind_labels.kind.clone(),
            error: class.as_str().to_owned(),
        };
        self.metrics().watch_errors.get_or_create(&labels).inc();
        if class != ErrorClass::Gone {
            self.set_up(false);
        }

        let verb = failed_verb(error);
        let step = next_step(class, verb, self.target.kind.plural(), &self.target.scope());
        let kind = self.target.kind.as_str();
        let target = self.target.name();
        if class == ErrorClass::Gone || self.last_error == Some(class) {
            debug!(kind, target, verb, error_class = class.as_str(), %error, "{step}");
        } else {
            warn!(kind, target, verb, error_class = class.as_str(), %error, "{step}");
        }
        self.last_error = Some(class);
    }
}
