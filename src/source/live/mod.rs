//! The live source: watches the four kinds on the hub's API server.
//!
//! Discovery picks the version of each kind and runs again every `--discovery-interval`,
//! so a CRD installed, upgraded or removed after start is followed without a restart.
//! Each served kind gets one watch per namespace scope (see [`watch`]).

mod client;
mod discovery;
mod error;
mod watch;

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use clap::Args;
use kube::runtime::utils::Backoff;
use kube::runtime::watcher::DefaultBackoff;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use tracing::{debug, info, warn};

pub use client::ConnectError;
pub use discovery::VERSIONS;
pub use error::{CLUSTER_ROLE, ErrorClass};

use super::Readiness;
use crate::catalogue::Kind;
use crate::metrics::own::ErrorLabels;
use crate::objects::API_GROUP;
use crate::state::Hub;
use discovery::{Discovered, discover};
use watch::{Shared, Target};

/// Command-line options of the live source.
#[derive(Clone, Debug, Args)]
pub struct LiveArgs {
    /// Kubeconfig file of the hub cluster. Without it the exporter reads KUBECONFIG or
    /// ~/.kube/config, and inside a pod uses the pod's service account.
    #[arg(long, value_name = "PATH", conflicts_with = "from_file")]
    pub kubeconfig: Option<PathBuf>,

    /// Kubeconfig context to use instead of the current context.
    #[arg(long, value_name = "NAME", conflicts_with = "from_file")]
    pub context: Option<String>,

    /// Watch only this namespace of the hub. Repeat for several namespaces; without it
    /// the exporter watches all namespaces.
    #[arg(
        long = "namespace",
        value_name = "NAMESPACE",
        conflicts_with = "from_file"
    )]
    pub namespaces: Vec<String>,

    /// Seconds between API discovery checks, which pick up a Fleet CRD that is installed,
    /// upgraded or removed while the exporter runs.
    #[arg(long, value_name = "SECONDS", default_value_t = 60, value_parser = clap::value_parser!(u64).range(1..))]
    pub discovery_interval: u64,

    /// Seconds the API server keeps each watch request open before the exporter renews
    /// it. A watch that stays silent 5 seconds longer is taken as a dead connection.
    #[arg(long, value_name = "SECONDS", default_value_t = 290, value_parser = clap::value_parser!(u32).range(1..))]
    pub watch_timeout: u32,

    /// Seconds to wait for a connection to the API server and for the response headers
    /// of each request before the request fails and is retried with backoff.
    #[arg(long, value_name = "SECONDS", default_value_t = 30, value_parser = clap::value_parser!(u64).range(1..))]
    pub request_timeout: u64,
}

/// Readiness name of the first discovery, which decides which kinds `/readyz` waits for.
const DISCOVERY: &str = "kube discovery";

/// The watches of one kind.
struct Running {
    version: String,
    cancel: CancellationToken,
    tasks: Vec<JoinHandle<()>>,
}

/// The live source, connected but not yet started.
pub struct LiveSource {
    shared: Arc<Shared>,
    namespaces: Vec<Option<String>>,
    discovery_interval: Duration,
}

impl LiveSource {
    /// Builds the API client and registers the source with `readiness`. Makes no request.
    pub async fn connect(
        args: &LiveArgs,
        hub: Hub,
        readiness: Arc<Readiness>,
    ) -> Result<LiveSource, ConnectError> {
        let client = client::connect(args).await?;
        readiness.register(DISCOVERY);
        let namespaces: BTreeSet<String> = args.namespaces.iter().cloned().collect();
        let namespaces = if namespaces.is_empty() {
            vec![None]
        } else {
            namespaces.into_iter().map(Some).collect()
        };
        Ok(LiveSource {
            shared: Arc::new(Shared::new(client, hub, readiness, args.watch_timeout)),
            namespaces,
            discovery_interval: Duration::from_secs(args.discovery_interval),
        })
    }

    /// Discovers the served kinds and watches them until `shutdown` fires.
    pub async fn run(self, shutdown: CancellationToken) {
        let mut supervisor = Supervisor {
            source: &self,
            running: Default::default(),
            reported_missing: [false; Kind::ALL.len()],
            discovered_once: false,
            last_error: None,
        };
        let mut backoff = DefaultBackoff::default();
        loop {
            let delay = match discover(&self.shared.client).await {
                Ok(discovered) => {
                    supervisor.reconcile(&discovered, &shutdown).await;
                    backoff.reset();
                    self.discovery_interval
                }
                Err(error) => {
                    supervisor.discovery_failed(&error);
                    backoff.next().unwrap_or(self.discovery_interval)
                }
            };
            tokio::select! {
                () = shutdown.cancelled() => break,
                () = tokio::time::sleep(delay) => {}
            }
        }
        for running in supervisor.running.into_iter().flatten() {
            stop(running).await;
        }
    }

    fn targets(&self, kind: Kind, resource: &kube::core::ApiResource) -> Vec<Target> {
        self.namespaces
            .iter()
            .map(|namespace| Target {
                kind,
                resource: resource.clone(),
                namespace: namespace.clone(),
            })
            .collect()
    }

    fn set_up(&self, kind: Kind, up: bool) {
        for namespace in &self.namespaces {
            self.shared
                .hub
                .metrics()
                .source_up
                .get_or_create(&watch::source_labels(kind, namespace.as_deref()))
                .set(i64::from(up));
        }
    }
}

/// Starts, switches and stops the watches of each kind as discovery finds them.
struct Supervisor<'a> {
    source: &'a LiveSource,
    running: [Option<Running>; Kind::ALL.len()],
    reported_missing: [bool; Kind::ALL.len()],
    discovered_once: bool,
    last_error: Option<ErrorClass>,
}

impl Supervisor<'_> {
    async fn reconcile(&mut self, discovered: &Discovered, shutdown: &CancellationToken) {
        if self.last_error.take().is_some() {
            info!("API discovery succeeded again");
        }
        for kind in Kind::ALL {
            let slot = &mut self.running[kind as usize];
            match (discovered.resource(kind), slot.as_ref()) {
                (Some(resource), Some(running)) if running.version == resource.version => {}
                (Some(resource), _) => {
                    if let Some(previous) = slot.take() {
                        info!(kind = %kind, from = previous.version, to = resource.version, "the hub now serves another version; watching it instead");
                        stop(previous).await;
                    } else if self.reported_missing[kind as usize] {
                        info!(kind = %kind, version = resource.version, "the hub serves this kind now");
                    }
                    self.reported_missing[kind as usize] = false;
                    let cancel = shutdown.child_token();
                    let mut tasks = Vec::new();
                    for target in self.source.targets(kind, resource) {
                        // Only the kinds of the first discovery hold back readiness; a CRD
                        // installed later must not make a serving exporter unready.
                        if !self.discovered_once {
                            self.source
                                .shared
                                .readiness
                                .register(&target.readiness_name());
                        }
                        let shared = self.source.shared.clone();
                        tasks.push(tokio::spawn(watch::run(shared, target, cancel.clone())));
                    }
                    *slot = Some(Running {
                        version: resource.version.clone(),
                        cancel,
                        tasks,
                    });
                }
                (None, Some(_)) => {
                    if let Some(previous) = slot.take() {
                        stop(previous).await;
                    }
                    self.source.shared.hub.replace(&[kind], Vec::new());
                    self.source.set_up(kind, false);
                    self.reported_missing[kind as usize] = true;
                    warn!(kind = %kind, "the hub no longer serves this kind; its series are removed until it is served again");
                }
                (None, None) => {
                    self.source.set_up(kind, false);
                    if !self.reported_missing[kind as usize] {
                        self.reported_missing[kind as usize] = true;
                        warn!(
                            kind = %kind,
                            versions = ?VERSIONS,
                            "the hub does not serve {}.{API_GROUP} (is fleet-networking installed with Traffic Manager support?); the other kinds are served, and discovery checks again every {} s",
                            kind.plural(),
                            self.source.discovery_interval.as_secs()
                        );
                    }
                }
            }
        }
        if !self.discovered_once {
            self.discovered_once = true;
            self.source.shared.readiness.mark_ready(DISCOVERY);
        }
    }

    fn discovery_failed(&mut self, error: &kube::Error) {
        let class = ErrorClass::of_client(error);
        let labels = ErrorLabels {
            error: class.as_str().to_owned(),
        };
        self.source
            .shared
            .hub
            .metrics()
            .discovery_errors
            .get_or_create(&labels)
            .inc();
        let step = match class {
            ErrorClass::Forbidden => format!(
                "RBAC denies get on the discovery paths /apis and /apis/{API_GROUP}; bind the exporter's service account to the ClusterRole {CLUSTER_ROLE} from deploy/clusterrole.yaml (kubectl apply -k deploy/)"
            ),
            _ => "retrying with backoff; check the API server address in the kubeconfig and the network path to it".to_owned(),
        };
        if self.last_error == Some(class) {
            debug!(error_class = class.as_str(), %error, "API discovery failed: {step}");
        } else {
            warn!(error_class = class.as_str(), %error, "API discovery failed: {step}");
        }
        self.last_error = Some(class);
    }
}

async fn stop(running: Running) {
    running.cancel.cancel();
    for task in running.tasks {
        if let Err(error) = task.await {
            warn!(%error, "a watch task ended abnormally");
        }
    }
}
