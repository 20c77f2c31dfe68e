//! The accept loop: connection cap, TLS handshake, HTTP/1.1 with a header read timeout,
//! and graceful shutdown.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Semaphore, watch};
use tokio::task::JoinSet;
use tokio_rustls::TlsAcceptor;
use tokio_util::sync::CancellationToken;
use tracing::{debug, info, warn};

use crate::web_config::WebSettings;

/// Limits and timeouts of the HTTP server.
#[derive(Debug, Clone)]
pub struct ServerLimits {
    /// Connections served at once. Further connections wait in the kernel's accept
    /// queue, unanswered, until a served one closes.
    pub max_connections: usize,
    /// Time a client has to send a request's headers, counted from when the server
    /// starts waiting for them. This also closes idle keep-alive connections, and bounds
    /// the TLS handshake.
    pub header_read_timeout: Duration,
    /// Time for reading a request body and producing the response; past it the client
    /// gets 408 Request Timeout.
    /// NOTE: sending the response body has no timeout, so a client that stops reading
    /// keeps its connection slot until the kernel gives up on the TCP connection.
    pub request_timeout: Duration,
    /// Time the requests in flight get to finish after shutdown starts.
    pub shutdown_grace: Duration,
}

impl Default for ServerLimits {
    fn default() -> Self {
        ServerLimits {
            max_connections: 64,
            header_read_timeout: Duration::from_secs(10),
            request_timeout: Duration::from_secs(30),
            // Kubernetes waits 30 seconds between SIGTERM and SIGKILL by default.
            shutdown_grace: Duration::from_secs(20),
        }
    }
}

/// Pause after a failed accept, such as when the process has run out of file
/// descriptors, so that the loop does not spin.
const ACCEPT_ERROR_PAUSE: Duration = Duration::from_millis(100);

/// Accepts connections on `listener` and serves `service` on each until `shutdown` is
/// cancelled. Then it stops accepting, lets the requests in flight finish within
/// `limits.shutdown_grace`, and closes the remaining connections.
pub async fn accept_loop(
    listener: TcpListener,
    service: Router,
    settings: watch::Receiver<Arc<WebSettings>>,
    limits: ServerLimits,
    shutdown: CancellationToken,
) {
    let permits = Arc::new(Semaphore::new(limits.max_connections.max(1)));
    let mut connections = JoinSet::new();

    loop {
        // Waiting for a permit before accepting leaves excess connections in the
        // kernel's queue, where they cost the exporter nothing.
        let permit = tokio::select! {
            () = shutdown.cancelled() => break,
            permit = Arc::clone(&permits).acquire_owned() => match permit {
                Ok(permit) => permit,
                Err(_) => break,
            },
        };
        let (stream, peer) = tokio::select! {
            () = shutdown.cancelled() => break,
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(error) => {
                    warn!(%error, "accepting a connection failed");
                    tokio::time::sleep(ACCEPT_ERROR_PAUSE).await;
                    continue;
                }
            },
        };
        reap_finished(&mut connections);

        let tls = settings.borrow().tls.clone();
        let service = service.clone();
        let limits = limits.clone();
        let shutdown = shutdown.clone();
        connections.spawn(async move {
            let _permit = permit;
            serve_connection(stream, peer, tls, service, &limits, shutdown).await;
        });
    }

    drop(listener);
    reap_finished(&mut connections);
    let open = connections.len();
    if open > 0 {
        info!(
            connections = open,
            grace_seconds = limits.shutdown_grace.as_secs(),
            "waiting for open connections to finish"
        );
    }
    let drained = tokio::time::timeout(limits.shutdown_grace, async {
        while let Some(finished) = connections.join_next().await {
            if let Err(error) = finished {
                warn!(%error, "a connection task failed");
            }
        }
    })
    .await;
    if drained.is_err() {
        warn!(
            connections = connections.len(),
            "closing connections still open at the end of the shutdown grace period"
        );
        connections.shutdown().await;
    }
}

/// Removes the finished connection tasks from `connections`, logging any that panicked.
fn reap_finished(connections: &mut JoinSet<()>) {
    while let Some(finished) = connections.try_join_next() {
        if let Err(error) = finished {
            warn!(%error, "a connection task failed");
        }
    }
}

/// Runs the TLS handshake when TLS is on, then serves HTTP/1.1 on the connection.
async fn serve_connection(
    stream: TcpStream,
    peer: SocketAddr,
    tls: Option<Arc<rustls::ServerConfig>>,
    service: Router,
    limits: &ServerLimits,
    shutdown: CancellationToken,
) {
    let Some(tls) = tls else {
        serve_http(stream, peer, service, limits, shutdown).await;
        return;
    };
    let handshake = TlsAcceptor::from(tls).accept(stream);
    let stream = tokio::select! {
        () = shutdown.cancelled() => return,
        handshake = tokio::time::timeout(limits.header_read_timeout, handshake) => match handshake {
            Ok(Ok(stream)) => stream,
            Ok(Err(error)) => {
                debug!(%peer, %error, "TLS handshake failed");
                return;
            }
            Err(_) => {
                debug!(%peer, "TLS handshake timed out");
                return;
            }
        },
    };
    serve_http(stream, peer, service, limits, shutdown).await;
}

async fn serve_http<S>(
    stream: S,
    peer: SocketAddr,
    service: Router,
    limits: &ServerLimits,
    shutdown: CancellationToken,
) where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let mut builder = http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_read_timeout);
    let connection =
        builder.serve_connection(TokioIo::new(stream), TowerToHyperService::new(service));
    let mut connection = std::pin::pin!(connection);
    let result = tokio::select! {
        result = connection.as_mut() => result,
        () = shutdown.cancelled() => {
            // Finish the request in flight, if any, then close.
            connection.as_mut().graceful_shutdown();
            connection.await
        }
    };
    if let Err(error) = result {
        debug!(%peer, %error, "connection ended with an error");
    }
}
