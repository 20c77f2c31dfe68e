//! The HTTP server: `/metrics`, `/healthz`, `/readyz`, and a short landing page.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;
use tower_http::compression::{CompressionLayer, CompressionLevel};
use tower_http::timeout::{RequestBodyTimeoutLayer, TimeoutLayer};
use tracing::{error, info};

use crate::metrics::exposition::Format;
use crate::source::Readiness;
use crate::state::Hub;
use crate::web_config::WebSettings;

mod auth;
mod server;

pub use server::ServerLimits;

/// State shared by the handlers.
#[derive(Clone)]
pub struct AppState {
    pub hub: Hub,
    pub readiness: Arc<Readiness>,
}

/// Builds the router. `/metrics` serves GET and HEAD, and is gzip-compressed when the
/// client sends `Accept-Encoding: gzip`, as Prometheus does by default.
pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/", get(landing_page))
        .route("/metrics", get(metrics))
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .fallback(not_found)
        // Fastest keeps a large scrape's compression well under its encoding time,
        // and still shrinks the highly repetitive exposition text many times.
        .layer(
            CompressionLayer::new()
                .gzip(true)
                .quality(CompressionLevel::Fastest),
        )
        .with_state(state)
}

async fn metrics(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let accept = headers.get(header::ACCEPT).and_then(|v| v.to_str().ok());
    let format = Format::negotiate(accept);
    let hub = state.hub.clone();
    // Encoding a large hub takes milliseconds of CPU; keep it off the async workers.
    match tokio::task::spawn_blocking(move || hub.encode_chunks(format)).await {
        Ok(chunks) => (
            [(
                header::CONTENT_TYPE,
                HeaderValue::from_static(format.content_type()),
            )],
            // The chunks are sent as they are: the object families, often reused from
            // the previous scrape, are not copied into one buffer.
            Body::from_stream(futures_util::stream::iter(
                chunks.into_iter().map(Ok::<_, std::convert::Infallible>),
            )),
        )
            .into_response(),
        Err(join_error) => {
            error!(error = %join_error, "encoding the scrape failed");
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                "encoding metrics failed; see the exporter log\n",
            )
                .into_response()
        }
    }
}

async fn healthz() -> &'static str {
    "ok\n"
}

async fn readyz(State(state): State<AppState>) -> Response {
    let waiting = state.readiness.waiting_for();
    if waiting.is_empty() {
        (StatusCode::OK, "ready\n").into_response()
    } else {
        let body = format!(
            "not ready: initial load pending for {}\n",
            waiting.join(", ")
        );
        (StatusCode::SERVICE_UNAVAILABLE, body).into_response()
    }
}

async fn landing_page() -> &'static str {
    concat!(
        "fleet-dns-lb-exporter ",
        env!("CARGO_PKG_VERSION"),
        "\n\n/metrics  Prometheus metrics\n/healthz  liveness\n/readyz   readiness: 200 once every source has loaded\n"
    )
}

async fn not_found() -> (StatusCode, &'static str) {
    (
        StatusCode::NOT_FOUND,
        "not found; the exporter serves /metrics, /healthz and /readyz\n",
    )
}

/// Serves `router` on `listener` until `shutdown` is cancelled, then lets the requests in
/// flight finish. `settings` turns on TLS and basic authentication; `limits` bounds
/// connections and how long a client may take.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    settings: watch::Receiver<Arc<WebSettings>>,
    limits: ServerLimits,
    shutdown: CancellationToken,
) {
    let address: Option<SocketAddr> = listener.local_addr().ok();
    let tls = settings.borrow().tls.is_some();
    info!(address = ?address, tls, "serving metrics");

    let router = router
        .layer(axum::middleware::from_fn_with_state(
            auth::BasicAuth::new(settings.clone()),
            auth::require_basic_auth,
        ))
        .layer(TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            limits.request_timeout,
        ))
        .layer(RequestBodyTimeoutLayer::new(limits.request_timeout));
    server::accept_loop(listener, router, settings, limits, shutdown).await;
}
