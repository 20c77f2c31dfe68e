//! Wiring of a run: sources into the hub state, the hub state into the HTTP server.

use std::sync::Arc;

use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tracing::{info, warn};

use crate::cli::RunArgs;
use crate::http::{AppState, ServerLimits, router, serve};
use crate::metrics::exposition::Format;
use crate::metrics::own::ExporterMetrics;
use crate::source::Readiness;
use crate::source::file::{FileSource, SnapshotError};
use crate::source::live::{ConnectError, LiveSource};
use crate::state::Hub;
use crate::web_config::WebConfigError;
use crate::web_config::reload::WebConfigReloader;

/// Errors that stop a run.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error(transparent)]
    Snapshot(#[from] SnapshotError),
    #[error(transparent)]
    Connect(#[from] ConnectError),
    #[error("--once needs --from-file: it prints one exposition of snapshot files")]
    OnceWithoutFile,
    #[error(
        "cannot listen on {address}: {source}; choose another address with --web.listen-address"
    )]
    Listen {
        address: std::net::SocketAddr,
        source: std::io::Error,
    },
    #[error(transparent)]
    WebConfig(#[from] WebConfigError),
}

/// Source of hub objects: snapshot files, or the hub's API server.
enum Source {
    File(FileSource),
    Live(LiveSource),
}

/// Runs the exporter until SIGTERM or Ctrl-C, or prints one exposition with `--once`.
pub async fn run(args: RunArgs) -> Result<(), RunError> {
    let metrics = Arc::new(ExporterMetrics::new());
    let hub = Hub::new(args.hub_config(), metrics);
    let readiness = Arc::new(Readiness::default());

    let source = if args.source.from_file.is_empty() {
        if args.once {
            return Err(RunError::OnceWithoutFile);
        }
        Source::Live(LiveSource::connect(&args.live, hub.clone(), readiness.clone()).await?)
    } else {
        let mut file_source = FileSource::new(
            args.source.from_file.clone(),
            hub.clone(),
            readiness.clone(),
        );
        file_source.load_initial()?;
        if args.once {
            print!("{}", hub.encode(Format::Text));
            return Ok(());
        }
        Source::File(file_source)
    };

    let web_config = match &args.web.web_config_file {
        Some(path) => Some(WebConfigReloader::start(path.clone())?),
        None => None,
    };

    let listener = TcpListener::bind(args.listen_address)
        .await
        .map_err(|source| RunError::Listen {
            address: args.listen_address,
            source,
        })?;
    let shutdown = CancellationToken::new();
    tokio::spawn(stop_on_signal(shutdown.clone()));
    let watcher = match source {
        Source::File(file_source) => tokio::spawn(file_source.watch(shutdown.clone())),
        Source::Live(live_source) => tokio::spawn(live_source.run(shutdown.clone())),
    };

    let settings = match web_config {
        Some(reloader) => {
            let settings = reloader.subscribe();
            tokio::spawn(reloader.watch(shutdown.clone()));
            settings
        }
        None => tokio::sync::watch::channel(Arc::default()).1,
    };
    let limits = ServerLimits {
        max_connections: args.web.max_connections as usize,
        ..ServerLimits::default()
    };

    let state = AppState { hub, readiness };
    serve(listener, router(state), settings, limits, shutdown.clone()).await;
    shutdown.cancel();
    if let Err(error) = watcher.await {
        warn!(%error, "source task ended abnormally");
    }
    info!("stopped");
    Ok(())
}

/// Cancels `shutdown` on SIGTERM (how Kubernetes stops a pod) or Ctrl-C.
async fn stop_on_signal(shutdown: CancellationToken) {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(error) => {
                warn!(%error, "cannot listen for SIGTERM; only Ctrl-C stops the exporter");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => info!(signal = "SIGINT", "shutting down"),
        () = terminate => info!(signal = "SIGTERM", "shutting down"),
    }
    shutdown.cancel();
}
