//! Connection to the hub's API server: kubeconfig or in-cluster configuration, and timeouts.

use std::path::PathBuf;
use std::time::Duration;

use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::{Client, Config};

use super::LiveArgs;

/// Failure to build a client for the hub's API server.
#[derive(Debug, thiserror::Error)]
pub enum ConnectError {
    #[error(
        "cannot read kubeconfig {path}: {source}; check --kubeconfig, or run in a pod to use its service account"
    )]
    ReadKubeconfig {
        path: PathBuf,
        source: kube::config::KubeconfigError,
    },
    #[error(
        "cannot use kubeconfig {path} (context {context}): {source}; check the context name with `kubectl config get-contexts --kubeconfig {path}`"
    )]
    Kubeconfig {
        path: String,
        context: String,
        source: kube::config::KubeconfigError,
    },
    #[error(
        "cannot find hub API credentials: {0}; pass --kubeconfig PATH, set KUBECONFIG, or run in a pod with a service account"
    )]
    Infer(kube::config::InferConfigError),
    #[error("cannot build the hub API client: {0}")]
    Client(kube::Error),
}

/// Margin by which the socket read timeout exceeds the server-side watch timeout, so that
/// an idle but healthy watch ends on the server's schedule and not on the client's.
const READ_TIMEOUT_MARGIN: Duration = Duration::from_secs(10);

/// Builds the client: `--kubeconfig` and `--context` when given, otherwise `KUBECONFIG`
/// or `~/.kube/config`, otherwise the pod's service account.
pub async fn connect(args: &LiveArgs) -> Result<Client, ConnectError> {
    // kube's TLS uses rustls with ring. When another crate in the same build enables
    // rustls' aws-lc-rs provider too, rustls cannot choose and panics on first use, so
    // choose here. An error means a provider is installed already, which is fine.
    let _ = rustls::crypto::ring::default_provider().install_default();

    let options = KubeConfigOptions {
        context: args.context.clone(),
        cluster: None,
        user: None,
    };
    let mut config = match &args.kubeconfig {
        Some(path) => {
            let kubeconfig =
                Kubeconfig::read_from(path).map_err(|source| ConnectError::ReadKubeconfig {
                    path: path.clone(),
                    source,
                })?;
            Config::from_custom_kubeconfig(kubeconfig, &options)
                .await
                .map_err(|source| ConnectError::Kubeconfig {
                    path: path.display().to_string(),
                    context: args.context.clone().unwrap_or_else(|| "current".to_owned()),
                    source,
                })?
        }
        None if args.context.is_some() => {
            Config::from_kubeconfig(&options)
                .await
                .map_err(|source| ConnectError::Kubeconfig {
                    path: "from KUBECONFIG or ~/.kube/config".to_owned(),
                    context: args.context.clone().unwrap_or_default(),
                    source,
                })?
        }
        None => Config::infer().await.map_err(ConnectError::Infer)?,
    };

    let request_timeout = Duration::from_secs(args.request_timeout);
    config.connect_timeout = Some(request_timeout);
    // A watch may be silent until the server ends it after --watch-timeout; any socket
    // that stays silent longer is dead. This also bounds a list response that stalls
    // after its headers.
    config.read_timeout =
        Some(Duration::from_secs(args.watch_timeout.into()) + READ_TIMEOUT_MARGIN);
    config.reset_reader_on_write = true;

    // Bounds the wait for response headers of every request, so a hung list or discovery
    // request fails and is retried instead of blocking its kind.
    kube::client::ClientBuilder::try_from(config)
        .map_err(ConnectError::Client)
        .map(|builder| {
            builder
                .with_layer(&tower::timeout::TimeoutLayer::new(request_timeout))
                .build()
        })
}
