//! The HTTP server as a scraper meets it: TLS, client certificates and basic auth from a
//! web config file, reloads of that file, timeouts, the connection cap and shutdown.
//! Every server listens on 127.0.0.1 with certificates generated here.

use std::net::SocketAddr;
use std::path::Path;
use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

use base64::Engine;
use fleet_dns_lb_exporter::http::{AppState, ServerLimits, router, serve};
use fleet_dns_lb_exporter::metrics::own::ExporterMetrics;
use fleet_dns_lb_exporter::source::Readiness;
use fleet_dns_lb_exporter::state::{Hub, HubConfig};
use fleet_dns_lb_exporter::web_config::WebSettings;
use fleet_dns_lb_exporter::web_config::reload::WebConfigReloader;
use http_body_util::{BodyExt, Empty};
use hyper::StatusCode;
use hyper::body::Bytes;
use hyper_util::rt::TokioIo;
use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, DnType, ExtendedKeyUsagePurpose, IsCa,
    KeyPair,
};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use rustls::{ClientConfig, RootCertStore};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tokio_rustls::TlsConnector;
use tokio_util::sync::CancellationToken;

/// A metric every scrape of the exporter contains, even of an empty hub.
const ALWAYS_PRESENT: &str = "fleet_dns_lb_build_info";
/// Upper bound for anything the tests wait for.
const DEADLINE: Duration = Duration::from_secs(15);
/// The password that examples/web-config.yml documents for its user "prometheus".
const EXAMPLE_PASSWORD: &str = "change-this-password";

// === certificates ===

type Issuer = CertifiedIssuer<'static, KeyPair>;

fn issue_ca(name: &str) -> Issuer {
    let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.distinguished_name.push(DnType::CommonName, name);
    CertifiedIssuer::self_signed(params, KeyPair::generate().unwrap()).unwrap()
}

/// Issues a leaf certificate and returns its PEM certificate and PEM key.
fn issue_leaf(ca: &Issuer, name: &str, usage: ExtendedKeyUsagePurpose) -> (String, String) {
    let mut params = CertificateParams::new(vec![name.to_owned(), "127.0.0.1".to_owned()]).unwrap();
    params.distinguished_name.push(DnType::CommonName, name);
    params.extended_key_usages = vec![usage];
    let key = KeyPair::generate().unwrap();
    let certificate = params.signed_by(&key, ca).unwrap();
    (certificate.pem(), key.serialize_pem())
}

/// A CA, a server certificate and a client certificate, written to a directory.
struct Pki {
    ca_pem: String,
    client_identity_pem: String,
}

impl Pki {
    /// Writes `ca.crt`, `server.crt` and `server.key` into `directory`.
    fn write(directory: &Path) -> Pki {
        let ca = issue_ca("test CA");
        let (server_cert, server_key) =
            issue_leaf(&ca, "localhost", ExtendedKeyUsagePurpose::ServerAuth);
        let (client_cert, client_key) =
            issue_leaf(&ca, "prometheus", ExtendedKeyUsagePurpose::ClientAuth);
        std::fs::write(directory.join("ca.crt"), ca.pem()).unwrap();
        std::fs::write(directory.join("server.crt"), server_cert).unwrap();
        std::fs::write(directory.join("server.key"), server_key).unwrap();
        Pki {
            ca_pem: ca.pem(),
            client_identity_pem: format!("{client_cert}{client_key}"),
        }
    }
}

fn bcrypt_hash(password: &str) -> String {
    // Cost 4 is the minimum; production hashes use 10 or more.
    bcrypt::hash(password, 4).unwrap()
}

// === servers and clients ===

/// A server task; dropping it stops the server, also when a test fails.
struct RunningServer {
    address: SocketAddr,
    shutdown: CancellationToken,
    task: Option<JoinHandle<()>>,
}

impl RunningServer {
    async fn start(settings: watch::Receiver<Arc<WebSettings>>, limits: ServerLimits) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        let hub = Hub::new(HubConfig::default(), Arc::new(ExporterMetrics::new()));
        let readiness = Arc::new(Readiness::default());
        let shutdown = CancellationToken::new();
        let task = tokio::spawn(serve(
            listener,
            router(AppState { hub, readiness }),
            settings,
            limits,
            shutdown.clone(),
        ));
        RunningServer {
            address,
            shutdown,
            task: Some(task),
        }
    }

    async fn plain(limits: ServerLimits) -> Self {
        let (_, settings) = watch::channel(Arc::new(WebSettings::default()));
        Self::start(settings, limits).await
    }

    fn url(&self, scheme: &str, path: &str) -> String {
        format!("{scheme}://localhost:{}{path}", self.address.port())
    }
}

impl Drop for RunningServer {
    fn drop(&mut self) {
        self.shutdown.cancel();
        if let Some(task) = self.task.take() {
            task.abort();
        }
    }
}

/// A reloader whose watch task stops when the test ends.
struct RunningReloader {
    shutdown: CancellationToken,
}

impl Drop for RunningReloader {
    fn drop(&mut self) {
        self.shutdown.cancel();
    }
}

fn spawn_reloader(reloader: WebConfigReloader) -> RunningReloader {
    let shutdown = CancellationToken::new();
    tokio::spawn(reloader.watch(shutdown.clone()));
    RunningReloader { shutdown }
}

/// An HTTPS client on rustls that trusts only `ca_pem` and can present a client
/// certificate. It opens a new connection for every request, so that each request
/// gets the server's current TLS settings, and connects to 127.0.0.1 whatever the URL.
#[derive(Clone)]
struct HttpsClient {
    address: SocketAddr,
    connector: TlsConnector,
}

impl HttpsClient {
    fn new(address: SocketAddr, ca_pem: &str, identity_pem: Option<&str>) -> HttpsClient {
        let mut roots = RootCertStore::empty();
        for certificate in CertificateDer::pem_slice_iter(ca_pem.as_bytes()) {
            roots.add(certificate.unwrap()).unwrap();
        }
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let builder = ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_root_certificates(roots);
        let config = match identity_pem {
            None => builder.with_no_client_auth(),
            Some(pem) => {
                let chain = CertificateDer::pem_slice_iter(pem.as_bytes())
                    .collect::<Result<Vec<_>, _>>()
                    .unwrap();
                let key = PrivateKeyDer::from_pem_slice(pem.as_bytes()).unwrap();
                builder.with_client_auth_cert(chain, key).unwrap()
            }
        };
        HttpsClient {
            address,
            connector: TlsConnector::from(Arc::new(config)),
        }
    }

    fn get(&self, url: impl AsRef<str>) -> HttpsRequest {
        let path = reqwest::Url::parse(url.as_ref()).unwrap().path().to_owned();
        HttpsRequest {
            client: self.clone(),
            path,
            authorization: None,
        }
    }
}

struct HttpsRequest {
    client: HttpsClient,
    path: String,
    authorization: Option<String>,
}

#[derive(Debug)]
struct HttpsResponse {
    status: StatusCode,
    headers: hyper::HeaderMap,
    body: String,
}

impl HttpsResponse {
    fn status(&self) -> StatusCode {
        self.status
    }

    fn headers(&self) -> &hyper::HeaderMap {
        &self.headers
    }
}

impl HttpsRequest {
    fn basic_auth(mut self, user: &str, password: Option<&str>) -> Self {
        let credentials = format!("{user}:{}", password.unwrap_or_default());
        let encoded = base64::engine::general_purpose::STANDARD.encode(credentials);
        self.authorization = Some(format!("Basic {encoded}"));
        self
    }

    /// Sends the request; any TLS or HTTP failure is an `Err` with its message.
    async fn send(self) -> Result<HttpsResponse, String> {
        tokio::time::timeout(DEADLINE, self.exchange())
            .await
            .map_err(|_| format!("no response within {DEADLINE:?}"))?
    }

    async fn exchange(self) -> Result<HttpsResponse, String> {
        let tcp = TcpStream::connect(self.client.address)
            .await
            .map_err(|error| format!("connect: {error}"))?;
        let server_name = ServerName::try_from("localhost").unwrap();
        let tls = self
            .client
            .connector
            .connect(server_name, tcp)
            .await
            .map_err(|error| format!("TLS handshake: {error}"))?;
        let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(tls))
            .await
            .map_err(|error| format!("HTTP handshake: {error}"))?;
        // The connection task ends when the server closes or `sender` is dropped.
        tokio::spawn(connection);

        let mut request = hyper::Request::get(&self.path).header(hyper::header::HOST, "localhost");
        if let Some(authorization) = &self.authorization {
            request = request.header(hyper::header::AUTHORIZATION, authorization);
        }
        let request = request.body(Empty::<Bytes>::new()).unwrap();
        let response = sender
            .send_request(request)
            .await
            .map_err(|error| format!("request: {error}"))?;
        let status = response.status();
        let headers = response.headers().clone();
        let body = response
            .into_body()
            .collect()
            .await
            .map_err(|error| format!("body: {error}"))?
            .to_bytes();
        Ok(HttpsResponse {
            status,
            headers,
            body: String::from_utf8_lossy(&body).into_owned(),
        })
    }
}

async fn https_status(request: HttpsRequest) -> Result<StatusCode, String> {
    request.send().await.map(|response| response.status)
}

/// Builds a plain HTTP client that connects to 127.0.0.1 and ignores proxy settings.
fn http_client(address: SocketAddr) -> reqwest::Client {
    reqwest::Client::builder()
        .no_proxy()
        .pool_max_idle_per_host(0)
        .resolve("localhost", address)
        .timeout(DEADLINE)
        .build()
        .unwrap()
}

/// Polls `condition` until it holds, or fails the test after [`DEADLINE`].
async fn eventually<F, Fut>(description: &str, mut condition: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    let start = Instant::now();
    while start.elapsed() < DEADLINE {
        if condition().await {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("timed out after {DEADLINE:?} waiting for: {description}");
}

fn write_config(path: &Path, text: &str) {
    // Write a sibling file and rename it over the config, as editors and Kubernetes do,
    // so that the reloader never reads a half-written file.
    let temporary = path.with_extension("tmp");
    std::fs::write(&temporary, text).unwrap();
    std::fs::rename(&temporary, path).unwrap();
}

fn tls_config(extra: &str) -> String {
    format!("tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\n{extra}")
}

async fn status_of(request: reqwest::RequestBuilder) -> Result<StatusCode, reqwest::Error> {
    request.send().await.map(|response| response.status())
}

// === TLS and basic auth ===

#[tokio::test]
async fn https_basic_auth_scrape() {
    let directory = tempfile::tempdir().unwrap();
    let pki = Pki::write(directory.path());
    let config = directory.path().join("web.yml");
    write_config(
        &config,
        &format!(
            "{}basic_auth_users:\n  prometheus: '{}'\n",
            tls_config(""),
            bcrypt_hash("right")
        ),
    );
    let reloader = WebConfigReloader::start(config).unwrap();
    let server = RunningServer::start(reloader.subscribe(), ServerLimits::default()).await;
    let client = HttpsClient::new(server.address, &pki.ca_pem, None);
    let metrics = server.url("https", "/metrics");

    let response = client
        .get(&metrics)
        .basic_auth("prometheus", Some("right"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert!(response.body.contains(ALWAYS_PRESENT));

    // The second scrape passes through the cache of checked passwords.
    let again = client.get(&metrics).basic_auth("prometheus", Some("right"));
    assert_eq!(https_status(again).await.unwrap(), StatusCode::OK);

    let wrong = client.get(&metrics).basic_auth("prometheus", Some("wrong"));
    assert_eq!(https_status(wrong).await.unwrap(), StatusCode::UNAUTHORIZED);

    let unknown_user = client.get(&metrics).basic_auth("grafana", Some("right"));
    assert_eq!(
        https_status(unknown_user).await.unwrap(),
        StatusCode::UNAUTHORIZED
    );

    let anonymous = client.get(&metrics).send().await.unwrap();
    assert_eq!(anonymous.status(), StatusCode::UNAUTHORIZED);
    let challenge = anonymous
        .headers()
        .get(hyper::header::WWW_AUTHENTICATE)
        .expect("401 without WWW-Authenticate")
        .to_str()
        .unwrap();
    assert!(challenge.starts_with("Basic "), "{challenge}");

    // Probes need no credentials, so kubelet can still check the pod.
    for path in ["/healthz", "/readyz"] {
        let probe = client.get(server.url("https", path));
        assert_eq!(https_status(probe).await.unwrap(), StatusCode::OK, "{path}");
    }
    let landing = client.get(server.url("https", "/"));
    assert_eq!(
        https_status(landing).await.unwrap(),
        StatusCode::UNAUTHORIZED
    );

    // Plain HTTP on the TLS port gets no metrics.
    let plain = http_client(server.address)
        .get(server.url("http", "/metrics"))
        .basic_auth("prometheus", Some("right"))
        .send()
        .await;
    assert!(
        !matches!(&plain, Ok(response) if response.status() == StatusCode::OK),
        "plain HTTP was served on the TLS port: {plain:?}"
    );
}

#[tokio::test]
async fn client_certificate_required() {
    let directory = tempfile::tempdir().unwrap();
    let pki = Pki::write(directory.path());
    let config = directory.path().join("web.yml");
    write_config(
        &config,
        &tls_config("  client_ca_file: ca.crt\n  client_auth_type: RequireAndVerifyClientCert\n"),
    );
    let reloader = WebConfigReloader::start(config).unwrap();
    let server = RunningServer::start(reloader.subscribe(), ServerLimits::default()).await;
    let metrics = server.url("https", "/metrics");

    let without = HttpsClient::new(server.address, &pki.ca_pem, None)
        .get(&metrics)
        .send()
        .await;
    assert!(
        without.is_err(),
        "a client without a certificate was served: {:?}",
        without.map(|response| response.status)
    );

    let stranger_ca = issue_ca("another CA");
    let (stranger_cert, stranger_key) = issue_leaf(
        &stranger_ca,
        "stranger",
        ExtendedKeyUsagePurpose::ClientAuth,
    );
    let stranger_identity = format!("{stranger_cert}{stranger_key}");
    let stranger = HttpsClient::new(server.address, &pki.ca_pem, Some(&stranger_identity))
        .get(&metrics)
        .send()
        .await;
    assert!(
        stranger.is_err(),
        "a certificate from an unknown CA was accepted: {:?}",
        stranger.map(|response| response.status)
    );

    let with = HttpsClient::new(server.address, &pki.ca_pem, Some(&pki.client_identity_pem))
        .get(&metrics)
        .send()
        .await
        .unwrap();
    assert_eq!(with.status(), StatusCode::OK);
}

#[tokio::test]
async fn any_client_certificate_unverified() {
    let directory = tempfile::tempdir().unwrap();
    let pki = Pki::write(directory.path());
    let config = directory.path().join("web.yml");
    write_config(
        &config,
        &tls_config("  client_auth_type: RequireAnyClientCert\n"),
    );
    let reloader = WebConfigReloader::start(config).unwrap();
    let server = RunningServer::start(reloader.subscribe(), ServerLimits::default()).await;
    let metrics = server.url("https", "/metrics");

    let without = HttpsClient::new(server.address, &pki.ca_pem, None)
        .get(&metrics)
        .send()
        .await;
    assert!(
        without.is_err(),
        "a client without a certificate was served: {:?}",
        without.map(|response| response.status)
    );

    // RequireAnyClientCert, as in Go's TLS stack, checks possession of the key only.
    let stranger_ca = issue_ca("another CA");
    let (stranger_cert, stranger_key) = issue_leaf(
        &stranger_ca,
        "stranger",
        ExtendedKeyUsagePurpose::ClientAuth,
    );
    let stranger_identity = format!("{stranger_cert}{stranger_key}");
    let stranger =
        HttpsClient::new(server.address, &pki.ca_pem, Some(&stranger_identity)).get(&metrics);
    assert_eq!(https_status(stranger).await.unwrap(), StatusCode::OK);
}

#[tokio::test]
async fn client_certificate_optional_when_if_given() {
    let directory = tempfile::tempdir().unwrap();
    let pki = Pki::write(directory.path());
    let config = directory.path().join("web.yml");
    write_config(
        &config,
        &tls_config("  client_ca_file: ca.crt\n  client_auth_type: VerifyClientCertIfGiven\n"),
    );
    let reloader = WebConfigReloader::start(config).unwrap();
    let server = RunningServer::start(reloader.subscribe(), ServerLimits::default()).await;
    let metrics = server.url("https", "/metrics");

    let without = HttpsClient::new(server.address, &pki.ca_pem, None).get(&metrics);
    assert_eq!(https_status(without).await.unwrap(), StatusCode::OK);

    let with =
        HttpsClient::new(server.address, &pki.ca_pem, Some(&pki.client_identity_pem)).get(&metrics);
    assert_eq!(https_status(with).await.unwrap(), StatusCode::OK);
}

// === reloading ===

#[tokio::test]
async fn reload_applies_new_password() {
    let directory = tempfile::tempdir().unwrap();
    let pki = Pki::write(directory.path());
    let config = directory.path().join("web.yml");
    let with_password = |password: &str| {
        format!(
            "{}basic_auth_users:\n  prometheus: '{}'\n",
            tls_config(""),
            bcrypt_hash(password)
        )
    };
    write_config(&config, &with_password("first"));
    let reloader = WebConfigReloader::start(config.clone())
        .unwrap()
        .with_poll_interval(Duration::from_millis(100));
    let server = RunningServer::start(reloader.subscribe(), ServerLimits::default()).await;
    let _reloader = spawn_reloader(reloader);
    let client = HttpsClient::new(server.address, &pki.ca_pem, None);
    let metrics = server.url("https", "/metrics");

    let first = client.get(&metrics).basic_auth("prometheus", Some("first"));
    assert_eq!(https_status(first).await.unwrap(), StatusCode::OK);

    write_config(&config, &with_password("second"));
    eventually("the second password to be accepted", || async {
        let second = client
            .get(&metrics)
            .basic_auth("prometheus", Some("second"));
        https_status(second).await.ok() == Some(StatusCode::OK)
    })
    .await;
    // The first password was cached as correct; the cache must not outlive the hash.
    let first = client.get(&metrics).basic_auth("prometheus", Some("first"));
    assert_eq!(https_status(first).await.unwrap(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn reload_rotates_certificate() {
    let directory = tempfile::tempdir().unwrap();
    let old_pki = Pki::write(directory.path());
    let config = directory.path().join("web.yml");
    write_config(&config, &tls_config(""));
    let reloader = WebConfigReloader::start(config)
        .unwrap()
        .with_poll_interval(Duration::from_millis(100));
    let server = RunningServer::start(reloader.subscribe(), ServerLimits::default()).await;
    let _reloader = spawn_reloader(reloader);
    let metrics = server.url("https", "/metrics");

    let old_client = HttpsClient::new(server.address, &old_pki.ca_pem, None);
    assert_eq!(
        https_status(old_client.get(&metrics)).await.unwrap(),
        StatusCode::OK
    );

    // Only the certificate files change, as when cert-manager renews a Secret.
    let new_pki = Pki::write(directory.path());
    let new_client = HttpsClient::new(server.address, &new_pki.ca_pem, None);
    eventually("the rotated certificate to be served", || async {
        https_status(new_client.get(&metrics)).await.ok() == Some(StatusCode::OK)
    })
    .await;
    assert!(
        https_status(old_client.get(&metrics)).await.is_err(),
        "the old certificate is still served"
    );
}

#[tokio::test]
async fn bad_reload_keeps_last_good_settings() {
    let directory = tempfile::tempdir().unwrap();
    let pki = Pki::write(directory.path());
    let config = directory.path().join("web.yml");
    let good = format!(
        "{}basic_auth_users:\n  prometheus: '{}'\n",
        tls_config(""),
        bcrypt_hash("right")
    );
    write_config(&config, &good);
    // This test triggers reloads by hand, so that it can check each result.
    let mut reloader = WebConfigReloader::start(config.clone()).unwrap();
    let server = RunningServer::start(reloader.subscribe(), ServerLimits::default()).await;
    let client = HttpsClient::new(server.address, &pki.ca_pem, None);
    let metrics = server.url("https", "/metrics");
    let scrape_status = || async {
        let request = client.get(&metrics).basic_auth("prometheus", Some("right"));
        https_status(request).await.unwrap()
    };

    let bad_files = [
        // A plain-text password instead of a bcrypt hash.
        format!("{}basic_auth_users:\n  prometheus: right\n", tls_config("")),
        "tls_server_config:\n  cert_file: server.crt\n  key_file: missing.key\n".to_owned(),
        "basic_auth_users: [\n".to_owned(),
        // Valid, but turning TLS off needs a restart.
        format!("basic_auth_users:\n  prometheus: '{}'\n", bcrypt_hash("x")),
    ];
    for bad in &bad_files {
        write_config(&config, bad);
        assert!(!reloader.reload_if_changed(), "accepted:\n{bad}");
        assert_eq!(scrape_status().await, StatusCode::OK, "after:\n{bad}");
    }

    // A key that does not belong to the certificate.
    write_config(&config, &good);
    assert!(reloader.reload_if_changed());
    let other_ca = issue_ca("other");
    let (_, other_key) = issue_leaf(&other_ca, "localhost", ExtendedKeyUsagePurpose::ServerAuth);
    std::fs::write(directory.path().join("server.key"), other_key).unwrap();
    assert!(!reloader.reload_if_changed());
    assert_eq!(scrape_status().await, StatusCode::OK);
}

#[test]
fn bad_file_at_start_names_file_and_field() {
    let directory = tempfile::tempdir().unwrap();
    Pki::write(directory.path());
    let other_ca = issue_ca("other");
    let (_, other_key) = issue_leaf(&other_ca, "localhost", ExtendedKeyUsagePurpose::ServerAuth);
    std::fs::write(directory.path().join("other.key"), other_key).unwrap();
    let config = directory.path().join("web.yml");

    let cases = [
        (
            "tls_server_config:\n  cert_file: server.crt\n  key_file: other.key\n",
            "tls_server_config.key_file",
        ),
        (
            "tls_server_config:\n  cert_file: server.key\n  key_file: server.key\n",
            "tls_server_config.cert_file",
        ),
        (
            "tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\n  client_auth_type: RequireAndVerifyClientCert\n",
            "tls_server_config.client_ca_file",
        ),
        (
            "tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\n  client_ca_file: ca.crt\n",
            "tls_server_config.client_auth_type",
        ),
    ];
    for (text, field) in cases {
        write_config(&config, text);
        let error = match WebConfigReloader::start(config.clone()) {
            Ok(_) => panic!("accepted:\n{text}"),
            Err(error) => error.to_string(),
        };
        assert!(error.contains(&config.display().to_string()), "{error}");
        assert!(error.contains(field), "expected {field} in: {error}");
    }
}

#[test]
fn exporter_exits_on_bad_web_config() {
    let directory = tempfile::tempdir().unwrap();
    let config = directory.path().join("web.yml");
    write_config(&config, "basic_auth_users:\n  prometheus: plain-text\n");
    let hub = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/fleet-hub.yaml");

    let output = Command::new(env!("CARGO_BIN_EXE_fleet-dns-lb-exporter"))
        .arg("--from-file")
        .arg(&hub)
        .arg("--web.listen-address=127.0.0.1:0")
        .arg("--web.config.file")
        .arg(&config)
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains(&config.display().to_string()),
        "stderr: {stderr}"
    );
    assert!(
        stderr.contains("basic_auth_users.prometheus"),
        "stderr: {stderr}"
    );
}

// === the shipped example ===

#[test]
fn promtool_accepts_example_config() {
    let example = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/web-config.yml");
    let text = std::fs::read_to_string(&example).unwrap();
    assert!(
        text.contains(EXAMPLE_PASSWORD),
        "examples/web-config.yml no longer documents the password {EXAMPLE_PASSWORD:?}"
    );

    // The example names tls/tls.crt and tls/tls.key, as a Kubernetes TLS Secret mounts them.
    let directory = tempfile::tempdir().unwrap();
    let tls = directory.path().join("tls");
    std::fs::create_dir(&tls).unwrap();
    let ca = issue_ca("example CA");
    let (cert, key) = issue_leaf(&ca, "localhost", ExtendedKeyUsagePurpose::ServerAuth);
    std::fs::write(tls.join("tls.crt"), cert).unwrap();
    std::fs::write(tls.join("tls.key"), key).unwrap();
    let config = directory.path().join("web-config.yml");
    std::fs::write(&config, &text).unwrap();

    let output = match Command::new("promtool")
        .args(["check", "web-config"])
        .arg(&config)
        .output()
    {
        Ok(output) => output,
        Err(error) => panic!(
            "cannot run promtool ({error}); install the Debian package prometheus, or run scripts/ensure-tools as root"
        ),
    };
    assert!(
        output.status.success(),
        "promtool check web-config rejected the example:\n{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );

    let settings = fleet_dns_lb_exporter::web_config::load(&config).unwrap();
    assert!(settings.tls.is_some());
    let users = settings
        .basic_auth
        .expect("the example sets basic_auth_users");
    let hash = users.hash_for("prometheus").expect("user prometheus");
    assert!(bcrypt::verify(EXAMPLE_PASSWORD, hash).unwrap());
}

// === HTTP hardening ===

#[tokio::test]
async fn metrics_only_get_and_head() {
    let server = RunningServer::plain(ServerLimits::default()).await;
    let client = http_client(server.address);
    let metrics = server.url("http", "/metrics");

    assert_eq!(
        status_of(client.get(&metrics)).await.unwrap(),
        StatusCode::OK
    );
    let head = client.head(&metrics).send().await.unwrap();
    assert_eq!(head.status(), StatusCode::OK);
    assert!(head.bytes().await.unwrap().is_empty());

    for method in ["POST", "PUT", "DELETE", "PATCH", "OPTIONS"] {
        let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
        let status = status_of(client.request(method.clone(), &metrics))
            .await
            .unwrap();
        assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED, "{method}");
    }
}

#[tokio::test]
async fn gzip_still_offered() {
    let server = RunningServer::plain(ServerLimits::default()).await;
    // A raw request, because reqwest would decompress the body and drop the header.
    let mut stream = TcpStream::connect(server.address).await.unwrap();
    stream
        .write_all(
            b"GET /metrics HTTP/1.1\r\nHost: localhost\r\nAccept-Encoding: gzip\r\nConnection: close\r\n\r\n",
        )
        .await
        .unwrap();
    let mut response = Vec::new();
    tokio::time::timeout(DEADLINE, stream.read_to_end(&mut response))
        .await
        .expect("no response")
        .unwrap();
    let head_end = response
        .windows(4)
        .position(|window| window == b"\r\n\r\n")
        .expect("no end of headers");
    let head = String::from_utf8_lossy(&response[..head_end]).to_ascii_lowercase();
    assert!(head.starts_with("http/1.1 200"), "{head}");
    assert!(head.contains("\r\ncontent-encoding: gzip"), "{head}");
}

/// What a slow client saw: whether the server closed the connection, and after how long.
struct SlowClientOutcome {
    closed_by_server: bool,
    elapsed: Duration,
}

/// Sends request headers one byte every 50 ms, for at most `max_bytes` bytes, and
/// reports whether the server closed the connection meanwhile.
async fn trickle_headers(address: SocketAddr, max_bytes: usize) -> SlowClientOutcome {
    let start = Instant::now();
    let mut stream = TcpStream::connect(address).await.unwrap();
    let mut request = b"GET /metrics HTTP/1.1\r\nHost: localhost\r\n".to_vec();
    request.resize(max_bytes, b'a');
    let mut buffer = [0u8; 1024];
    for byte in request {
        tokio::select! {
            read = stream.read(&mut buffer) => {
                // hyper closes without a response; any read result here means the server
                // acted before the headers were complete.
                let closed_by_server = matches!(read, Ok(0) | Err(_));
                return SlowClientOutcome { closed_by_server, elapsed: start.elapsed() };
            }
            () = tokio::time::sleep(Duration::from_millis(50)) => {
                if stream.write_all(&[byte]).await.is_err() {
                    return SlowClientOutcome { closed_by_server: true, elapsed: start.elapsed() };
                }
            }
        }
    }
    SlowClientOutcome {
        closed_by_server: false,
        elapsed: start.elapsed(),
    }
}

#[tokio::test]
async fn slow_headers_disconnected() {
    let header_read_timeout = Duration::from_millis(600);
    let server = RunningServer::plain(ServerLimits {
        max_connections: 4,
        header_read_timeout,
        ..ServerLimits::default()
    })
    .await;
    // 200 bytes at 50 ms each take 10 s, far longer than the timeout.
    let slow_client = tokio::spawn(trickle_headers(server.address, 200));

    let client = http_client(server.address);
    let mut served_meanwhile = 0;
    while !slow_client.is_finished() {
        let scrape = client.get(server.url("http", "/metrics"));
        assert_eq!(status_of(scrape).await.unwrap(), StatusCode::OK);
        served_meanwhile += 1;
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    let outcome = slow_client.await.unwrap();
    assert!(
        outcome.closed_by_server,
        "the slow client sent every byte without being disconnected"
    );
    assert!(
        outcome.elapsed >= header_read_timeout,
        "disconnected after {:?}, before the timeout",
        outcome.elapsed
    );
    assert!(
        served_meanwhile > 0,
        "no scrape ran while the slow client was connected"
    );
}

#[tokio::test]
async fn idle_keep_alive_closed() {
    let header_read_timeout = Duration::from_millis(300);
    let server = RunningServer::plain(ServerLimits {
        header_read_timeout,
        ..ServerLimits::default()
    })
    .await;

    let mut stream = TcpStream::connect(server.address).await.unwrap();
    stream
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n")
        .await
        .unwrap();
    let mut buffer = [0u8; 1024];
    let read = tokio::time::timeout(DEADLINE, stream.read(&mut buffer))
        .await
        .unwrap()
        .unwrap();
    assert!(String::from_utf8_lossy(&buffer[..read]).starts_with("HTTP/1.1 200"));

    // The connection stays open for keep-alive, until the header timeout runs out.
    let start = Instant::now();
    let read = tokio::time::timeout(DEADLINE, stream.read(&mut buffer))
        .await
        .expect("the idle connection stayed open");
    assert!(matches!(read, Ok(0) | Err(_)), "unexpected data: {read:?}");
    assert!(start.elapsed() >= header_read_timeout / 2);
}

#[tokio::test]
async fn connections_over_cap_wait() {
    let server = RunningServer::plain(ServerLimits {
        max_connections: 1,
        header_read_timeout: Duration::from_secs(30),
        ..ServerLimits::default()
    })
    .await;

    // The first connection takes the only slot and sends nothing.
    let holder = TcpStream::connect(server.address).await.unwrap();
    let mut waiting = TcpStream::connect(server.address).await.unwrap();
    waiting
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
        .await
        .unwrap();
    let mut response = Vec::new();
    let early = tokio::time::timeout(
        Duration::from_millis(500),
        waiting.read_to_end(&mut response),
    )
    .await;
    assert!(
        early.is_err(),
        "a connection over the cap was served: {:?}",
        String::from_utf8_lossy(&response)
    );

    // Closing the first connection frees the slot for the waiting one.
    drop(holder);
    tokio::time::timeout(DEADLINE, waiting.read_to_end(&mut response))
        .await
        .expect("the waiting connection was not served after the slot freed")
        .unwrap();
    let response = String::from_utf8_lossy(&response);
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");
}

#[tokio::test]
async fn shutdown_closes_idle_connections() {
    let mut server = RunningServer::plain(ServerLimits {
        shutdown_grace: Duration::from_secs(30),
        ..ServerLimits::default()
    })
    .await;

    // A keep-alive connection that has finished a request and waits for the next one.
    let mut idle = TcpStream::connect(server.address).await.unwrap();
    idle.write_all(b"GET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n")
        .await
        .unwrap();
    let mut buffer = [0u8; 1024];
    let read = tokio::time::timeout(DEADLINE, idle.read(&mut buffer))
        .await
        .unwrap()
        .unwrap();
    assert!(String::from_utf8_lossy(&buffer[..read]).starts_with("HTTP/1.1 200"));

    let start = Instant::now();
    server.shutdown.cancel();
    let task = server.task.take().unwrap();
    tokio::time::timeout(DEADLINE, task)
        .await
        .expect("the server did not stop")
        .unwrap();
    assert!(
        start.elapsed() < Duration::from_secs(30),
        "shutdown waited for the idle connection's grace period"
    );
    let read = tokio::time::timeout(DEADLINE, idle.read(&mut buffer))
        .await
        .unwrap();
    assert!(
        matches!(read, Ok(0) | Err(_)),
        "the idle connection stayed open"
    );
    assert!(
        TcpStream::connect(server.address).await.is_err(),
        "the listener still accepts after shutdown"
    );
}
