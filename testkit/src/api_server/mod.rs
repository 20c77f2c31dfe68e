//! A Kubernetes API test server on 127.0.0.1.
//!
//! It serves discovery (`/version`, `/api`, `/api/v1`, `/apis`, the group and its
//! versions), and list, get and watch of the registered resource types, cluster-wide
//! and per namespace. Watches send ADDED, MODIFIED, DELETED and, when the client sets
//! `allowWatchBookmarks`, BOOKMARK events. They resume from a `resourceVersion`, end
//! after `timeoutSeconds`, and reply to an expired `resourceVersion` with a 410 Gone
//! error event, as the real API server does. [`Faults`] adds 403 responses, hung and
//! cut-short responses, delays, dropped connections and downtime.
//!
//! NOTE: lists ignore `limit` and always return every object in one response, which the
//! API allows; `continue` tokens are never issued.

mod handler;
mod store;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::net::SocketAddr;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use serde_json::Value;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::{AbortHandle, JoinHandle};

use store::Store;

/// API group of the Fleet networking kinds.
pub const FLEET_GROUP: &str = "networking.fleet.azure.com";

/// A resource type the server can serve.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ResourceType {
    pub group: String,
    pub kind: String,
    pub plural: String,
    pub singular: String,
    pub short_names: Vec<String>,
    /// Versions served, most preferred first; empty when the CRD is not installed.
    pub versions: Vec<String>,
}

impl ResourceType {
    fn fleet(kind: &str, short_names: &[&str], versions: &[&str]) -> ResourceType {
        let singular = kind.to_ascii_lowercase();
        ResourceType {
            group: FLEET_GROUP.to_owned(),
            kind: kind.to_owned(),
            plural: format!("{singular}s"),
            singular,
            short_names: short_names.iter().map(|s| (*s).to_owned()).collect(),
            versions: versions.iter().map(|v| (*v).to_owned()).collect(),
        }
    }

    /// Returns the four kinds the exporter reads, at the versions current fleet-networking CRDs
    /// serve: the Traffic Manager kinds at v1beta1 and v1alpha1, ServiceImport and
    /// InternalServiceExport at v1alpha1.
    pub fn fleet_defaults() -> Vec<ResourceType> {
        vec![
            ResourceType::fleet("TrafficManagerProfile", &["tmp"], &["v1beta1", "v1alpha1"]),
            ResourceType::fleet("TrafficManagerBackend", &["tmb"], &["v1beta1", "v1alpha1"]),
            ResourceType::fleet("ServiceImport", &["svcimport"], &["v1alpha1"]),
            ResourceType::fleet(
                "InternalServiceExport",
                &["internalsvcexport"],
                &["v1alpha1"],
            ),
        ]
    }
}

/// An API verb that a test can forbid with [`Faults::forbidden`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Verb {
    Get,
    List,
    Watch,
}

impl Verb {
    pub fn as_str(self) -> &'static str {
        match self {
            Verb::Get => "get",
            Verb::List => "list",
            Verb::Watch => "watch",
        }
    }
}

/// Faults the server injects, set through [`TestApiServer::faults`].
#[derive(Clone, Debug, Default)]
pub struct Faults {
    /// Requests that get 403 Forbidden, by plural resource name and verb.
    pub forbidden: BTreeSet<(String, Verb)>,
    /// Number of upcoming list requests, per plural, that get no response at all.
    pub hang_lists: BTreeMap<String, u32>,
    /// Number of upcoming list requests, per plural, whose body stops halfway and whose
    /// connection is then closed.
    pub cut_short_lists: BTreeMap<String, u32>,
    /// Number of upcoming watch requests, per plural, that get response headers and then
    /// no byte more, not even bookmarks, until the client gives up.
    pub hang_watches: BTreeMap<String, u32>,
    /// Delay before every response.
    pub delay: Duration,
    /// While true, every new connection is closed at once, as if the server were down.
    pub down: bool,
}

/// Counters of what the server did, so that tests can check a fault really happened.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Stats {
    /// Requests per (plural resource name, verb), counted before faults apply.
    pub requests: BTreeMap<(String, Verb), u64>,
    /// Discovery requests (`/api`, `/apis` and below, `/version`).
    pub discovery_requests: u64,
    pub forbidden_sent: u64,
    pub not_found_sent: u64,
    /// Watches that got a 410 Gone error event.
    pub gone_sent: u64,
    pub lists_hung: u64,
    pub lists_cut_short: u64,
    pub watches_hung: u64,
    /// Watch streams cut in the middle of an event by [`TestApiServer::cut_watches`].
    pub watches_cut: u64,
    pub bookmarks_sent: u64,
    /// Connections closed by [`TestApiServer::drop_connections`].
    pub connections_dropped: u64,
    /// Connections closed at once while the server was down.
    pub connections_refused: u64,
}

impl Stats {
    pub fn requests(&self, plural: &str, verb: Verb) -> u64 {
        self.requests
            .get(&(plural.to_owned(), verb))
            .copied()
            .unwrap_or(0)
    }
}

/// Settings of a server.
#[derive(Clone, Debug)]
pub struct ServerConfig {
    pub types: Vec<ResourceType>,
    /// Interval of BOOKMARK events on watches that allow them. The real API server
    /// chooses when to send them; a short interval lets tests see some.
    pub bookmark_interval: Duration,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            types: ResourceType::fleet_defaults(),
            bookmark_interval: Duration::from_secs(1),
        }
    }
}

/// State shared by the accept loop, the connections and the test.
struct Inner {
    store: Mutex<Store>,
    faults: Mutex<Faults>,
    stats: Mutex<Stats>,
    /// The store's resourceVersion after each change, which wakes the watches.
    changes: watch::Sender<u64>,
    /// Incremented by `cut_watches`; every open watch cuts its stream when it changes.
    cuts: watch::Sender<u64>,
    /// Incremented by `lose_watch_history`; every open watch ends cleanly when it changes.
    ends: watch::Sender<u64>,
    /// While true, open watches hold back their events.
    hold: std::sync::atomic::AtomicBool,
    connections: Mutex<HashMap<u64, AbortHandle>>,
    next_connection: AtomicU64,
    bookmark_interval: Duration,
    address: SocketAddr,
}

impl Inner {
    fn store(&self) -> MutexGuard<'_, Store> {
        self.store.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn faults(&self) -> MutexGuard<'_, Faults> {
        self.faults.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn stats(&self) -> MutexGuard<'_, Stats> {
        self.stats.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn connections(&self) -> MutexGuard<'_, HashMap<u64, AbortHandle>> {
        self.connections.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn notify_change(&self, resource_version: u64) {
        self.changes.send_replace(resource_version);
    }
}

/// A running test API server; stopped when dropped.
pub struct TestApiServer {
    inner: Arc<Inner>,
    accept_loop: JoinHandle<()>,
}

impl TestApiServer {
    /// Starts a server on a free port of 127.0.0.1 serving the four Fleet kinds, loaded
    /// with `objects` (each needs `kind`, `metadata.namespace` and `metadata.name`).
    pub async fn start(objects: Vec<Value>) -> std::io::Result<TestApiServer> {
        TestApiServer::start_with(ServerConfig::default(), objects).await
    }

    /// Starts a server with explicit resource types and bookmark interval.
    pub async fn start_with(
        config: ServerConfig,
        objects: Vec<Value>,
    ) -> std::io::Result<TestApiServer> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let address = listener.local_addr()?;
        let mut store = Store::new(config.types);
        for object in objects {
            store.apply(object);
        }
        let (changes, _) = watch::channel(store.resource_version);
        let (cuts, _) = watch::channel(0);
        let (ends, _) = watch::channel(0);
        let inner = Arc::new(Inner {
            store: Mutex::new(store),
            faults: Mutex::default(),
            stats: Mutex::default(),
            changes,
            cuts,
            ends,
            hold: std::sync::atomic::AtomicBool::new(false),
            connections: Mutex::default(),
            next_connection: AtomicU64::new(0),
            bookmark_interval: config.bookmark_interval,
            address,
        });
        let accept_loop = tokio::spawn(accept(listener, inner.clone()));
        Ok(TestApiServer { inner, accept_loop })
    }

    pub fn address(&self) -> SocketAddr {
        self.inner.address
    }

    /// Returns the base URL, such as `http://127.0.0.1:41234`.
    pub fn url(&self) -> String {
        format!("http://{}", self.inner.address)
    }

    /// Returns a kubeconfig whose current context `test-hub` points at this server.
    pub fn kubeconfig(&self) -> String {
        format!(
            "apiVersion: v1\n\
             kind: Config\n\
             clusters:\n\
             - name: test-hub\n  cluster:\n    server: {url}\n\
             users:\n\
             - name: test-user\n  user:\n    token: test-token\n\
             contexts:\n\
             - name: test-hub\n  context:\n    cluster: test-hub\n    user: test-user\n\
             current-context: test-hub\n",
            url = self.url()
        )
    }

    /// Writes [`TestApiServer::kubeconfig`] to `path`.
    pub fn write_kubeconfig(&self, path: &Path) -> std::io::Result<()> {
        std::fs::write(path, self.kubeconfig())
    }

    /// Adds or changes an object; open watches receive ADDED or MODIFIED.
    pub fn apply(&self, object: Value) {
        let resource_version = {
            let mut store = self.inner.store();
            store.apply(object);
            store.resource_version
        };
        self.inner.notify_change(resource_version);
    }

    /// Deletes an object by plural resource name, namespace and name; open watches
    /// receive DELETED. Returns whether the object existed.
    pub fn delete(&self, plural: &str, namespace: &str, name: &str) -> bool {
        let (deleted, resource_version) = {
            let mut store = self.inner.store();
            (
                store.delete(plural, namespace, name),
                store.resource_version,
            )
        };
        self.inner.notify_change(resource_version);
        deleted
    }

    /// Returns the current objects of a resource type in all namespaces, as a list
    /// request would return them (without the version-specific `apiVersion`).
    pub fn objects(&self, plural: &str) -> Vec<Value> {
        self.inner.store().list(plural, None)
    }

    /// Sets the versions a resource type is served at, most preferred first. An empty
    /// list removes it from discovery and returns 404 on its paths, as before its CRD
    /// is installed.
    ///
    /// # Panics
    ///
    /// Panics when the server has no such resource type.
    pub fn serve_versions(&self, plural: &str, versions: &[&str]) {
        let mut store = self.inner.store();
        let resource_type = store
            .resource_type_mut(plural)
            .unwrap_or_else(|| panic!("the test API server has no resource type {plural}"));
        resource_type.versions = versions.iter().map(|v| (*v).to_owned()).collect();
    }

    /// Changes the faults; the change applies to requests that arrive afterwards.
    pub fn faults(&self, change: impl FnOnce(&mut Faults)) {
        change(&mut self.inner.faults());
    }

    /// Returns a copy of the counters.
    pub fn stats(&self) -> Stats {
        self.inner.stats().clone()
    }

    /// Forgets the watch history, as etcd compaction does: a client that resumes a watch
    /// from an older resourceVersion gets 410 Gone and must list again.
    pub fn compact(&self) {
        self.inner.store().compact();
    }

    /// Cuts every open watch stream in the middle of an event and closes its connection.
    pub fn cut_watches(&self) {
        self.inner.cuts.send_modify(|generation| *generation += 1);
    }

    /// Makes open watches miss the changes that `changes` makes: they hold back events
    /// while it runs, the history is compacted, and then they end cleanly. A client that
    /// resumes from its last resourceVersion gets 410 Gone and must list again to see
    /// the changes.
    pub fn lose_watch_history(&self, changes: impl FnOnce(&TestApiServer)) {
        self.inner.hold.store(true, Ordering::SeqCst);
        changes(self);
        self.compact();
        self.inner.ends.send_modify(|generation| *generation += 1);
        self.inner.hold.store(false, Ordering::SeqCst);
    }

    /// Closes every open connection at once, without a response to requests in flight.
    pub fn drop_connections(&self) {
        let connections: Vec<AbortHandle> = self
            .inner
            .connections()
            .drain()
            .map(|(_, handle)| handle)
            .collect();
        self.inner.stats().connections_dropped += connections.len() as u64;
        for connection in connections {
            connection.abort();
        }
    }

    /// Simulates a restart that loses the watch cache: drops every connection, stays
    /// down while `while_down` runs (use it to change objects meanwhile), compacts the
    /// history, and serves again.
    pub fn restart(&self, while_down: impl FnOnce(&TestApiServer)) {
        self.faults(|f| f.down = true);
        self.drop_connections();
        while_down(self);
        self.compact();
        self.faults(|f| f.down = false);
    }
}

impl Drop for TestApiServer {
    fn drop(&mut self) {
        self.accept_loop.abort();
        for (_, connection) in self.inner.connections().drain() {
            connection.abort();
        }
    }
}

async fn accept(listener: TcpListener, inner: Arc<Inner>) {
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            // Out of file descriptors, for example; wait instead of spinning.
            tokio::time::sleep(Duration::from_millis(10)).await;
            continue;
        };
        if inner.faults().down {
            inner.stats().connections_refused += 1;
            drop(stream);
            continue;
        }
        let id = inner.next_connection.fetch_add(1, Ordering::Relaxed);
        let connection_inner = inner.clone();
        let task = tokio::spawn(async move {
            let service_inner = connection_inner.clone();
            let service =
                service_fn(move |request| handler::handle(service_inner.clone(), request));
            // Errors here are the client going away or a fault closing the connection.
            let _ = http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .await;
            connection_inner.connections().remove(&id);
        });
        inner.connections().insert(id, task.abort_handle());
    }
}
