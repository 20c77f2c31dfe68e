//! The rustls server configuration built from `tls_server_config`.

use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::Arc;

use rustls::client::danger::HandshakeSignatureValid;
use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, UnixTime};
use rustls::server::WebPkiClientVerifier;
use rustls::server::danger::{ClientCertVerified, ClientCertVerifier};
use rustls::{
    DigitallySignedStruct, DistinguishedName, RootCertStore, ServerConfig, SignatureScheme,
    SupportedProtocolVersion,
};

/// An error as the field below `tls_server_config` and the message.
type FieldError = (String, String);

/// The exporter-toolkit's `client_auth_type` values, which are Go's `tls.ClientAuthType`
/// names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClientAuth {
    /// Do not ask for a client certificate.
    NoClientCert,
    /// Ask for a client certificate but accept the connection without one, and do not
    /// verify one that is sent.
    RequestClientCert,
    /// Require a client certificate but do not verify it.
    RequireAnyClientCert,
    /// Accept the connection without a client certificate, but verify one that is sent
    /// against `client_ca_file`.
    VerifyClientCertIfGiven,
    /// Require a client certificate signed by a CA in `client_ca_file`.
    RequireAndVerifyClientCert,
}

impl FromStr for ClientAuth {
    type Err = String;

    fn from_str(value: &str) -> Result<Self, Self::Err> {
        match value {
            "NoClientCert" => Ok(ClientAuth::NoClientCert),
            "RequestClientCert" => Ok(ClientAuth::RequestClientCert),
            "RequireAnyClientCert" => Ok(ClientAuth::RequireAnyClientCert),
            "VerifyClientCertIfGiven" => Ok(ClientAuth::VerifyClientCertIfGiven),
            "RequireAndVerifyClientCert" => Ok(ClientAuth::RequireAndVerifyClientCert),
            other => Err(format!(
                "invalid value {other:?}; expected NoClientCert, RequestClientCert, \
                 RequireAnyClientCert, VerifyClientCertIfGiven or RequireAndVerifyClientCert"
            )),
        }
    }
}

/// The TLS versions to offer, from `min_version` and `max_version`.
#[derive(Debug, Clone)]
pub(super) struct ProtocolVersions(Vec<&'static SupportedProtocolVersion>);

impl ProtocolVersions {
    /// Parses the toolkit's version names. The toolkit's default minimum is TLS 1.2 and
    /// rustls offers nothing older, so TLS10 and TLS11 are errors rather than ignored.
    pub(super) fn parse(min: Option<&str>, max: Option<&str>) -> Result<Self, FieldError> {
        let min = version_rank("min_version", min.unwrap_or("TLS12"))?;
        let max = version_rank("max_version", max.unwrap_or("TLS13"))?;
        if min > max {
            return Err((
                "max_version".to_owned(),
                "is lower than min_version".to_owned(),
            ));
        }
        let all = [&rustls::version::TLS12, &rustls::version::TLS13];
        Ok(ProtocolVersions(all[min..=max].to_vec()))
    }
}

/// Returns the index of a version in `[TLS12, TLS13]`.
fn version_rank(field: &str, value: &str) -> Result<usize, FieldError> {
    match value {
        "TLS12" => Ok(0),
        "TLS13" => Ok(1),
        "TLS10" | "TLS11" => Err((
            field.to_owned(),
            format!("{value} is not supported; TLS 1.0 and 1.1 are insecure, use TLS12 or TLS13"),
        )),
        other => Err((
            field.to_owned(),
            format!("invalid value {other:?}; expected TLS12 or TLS13"),
        )),
    }
}

/// Paths and choices from `tls_server_config`, with paths already resolved.
pub(super) struct TlsFiles {
    pub cert_file: PathBuf,
    pub key_file: PathBuf,
    pub client_ca_file: Option<PathBuf>,
    pub client_auth: ClientAuth,
    pub versions: ProtocolVersions,
}

/// Builds the rustls server configuration: reads the certificate chain, the key and the
/// client CAs, and checks that the key belongs to the certificate.
pub(super) fn server_config(files: &TlsFiles) -> Result<ServerConfig, FieldError> {
    // The ring provider is the one the Kubernetes client already uses. Naming it here,
    // instead of relying on a process-wide default, keeps working when another crate
    // enables a second provider.
    let provider = Arc::new(rustls::crypto::ring::default_provider());

    let chain = read_certificates("cert_file", &files.cert_file)?;
    let key = read_key(&files.key_file)?;

    let builder = ServerConfig::builder_with_provider(provider.clone())
        .with_protocol_versions(&files.versions.0)
        .map_err(|error| ("min_version".to_owned(), error.to_string()))?;

    let verifier: Option<Arc<dyn ClientCertVerifier>> = match files.client_auth {
        ClientAuth::NoClientCert => {
            if files.client_ca_file.is_some() {
                return Err((
                    "client_auth_type".to_owned(),
                    "missing or NoClientCert, but client_ca_file is set; set client_auth_type \
                     to RequireAndVerifyClientCert or VerifyClientCertIfGiven"
                        .to_owned(),
                ));
            }
            None
        }
        ClientAuth::RequestClientCert | ClientAuth::RequireAnyClientCert => {
            Some(Arc::new(UnverifiedClientCert {
                mandatory: files.client_auth == ClientAuth::RequireAnyClientCert,
                provider: provider.clone(),
            }))
        }
        ClientAuth::VerifyClientCertIfGiven | ClientAuth::RequireAndVerifyClientCert => {
            let Some(ca_file) = &files.client_ca_file else {
                return Err((
                    "client_ca_file".to_owned(),
                    format!(
                        "missing; client_auth_type {:?} verifies client certificates against it",
                        files.client_auth
                    ),
                ));
            };
            let mut roots = RootCertStore::empty();
            for certificate in read_certificates("client_ca_file", ca_file)? {
                roots.add(certificate).map_err(|error| {
                    (
                        "client_ca_file".to_owned(),
                        format!(
                            "{}: not a usable CA certificate: {error}",
                            ca_file.display()
                        ),
                    )
                })?;
            }
            let builder = WebPkiClientVerifier::builder_with_provider(roots.into(), provider);
            let builder = if files.client_auth == ClientAuth::VerifyClientCertIfGiven {
                builder.allow_unauthenticated()
            } else {
                builder
            };
            let verifier = builder
                .build()
                .map_err(|error| ("client_ca_file".to_owned(), error.to_string()))?;
            Some(verifier)
        }
    };

    let builder = match verifier {
        Some(verifier) => builder.with_client_cert_verifier(verifier),
        None => builder.with_no_client_auth(),
    };
    let mut config = builder.with_single_cert(chain, key).map_err(|error| {
        (
            "key_file".to_owned(),
            format!(
                "{} does not fit the certificate in {}: {error}",
                files.key_file.display(),
                files.cert_file.display()
            ),
        )
    })?;
    // The server speaks HTTP/1.1 only.
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(config)
}

fn read_certificates(field: &str, path: &Path) -> Result<Vec<CertificateDer<'static>>, FieldError> {
    let bytes = read_file(field, path)?;
    let certificates = CertificateDer::pem_slice_iter(&bytes)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|error| {
            (
                field.to_owned(),
                format!("{}: invalid PEM: {error}", path.display()),
            )
        })?;
    if certificates.is_empty() {
        return Err((
            field.to_owned(),
            format!("{}: holds no PEM CERTIFICATE block", path.display()),
        ));
    }
    Ok(certificates)
}

fn read_key(path: &Path) -> Result<PrivateKeyDer<'static>, FieldError> {
    let bytes = read_file("key_file", path)?;
    PrivateKeyDer::from_pem_slice(&bytes).map_err(|error| {
        (
            "key_file".to_owned(),
            format!(
                "{}: no PEM private key (PKCS#8, PKCS#1 or SEC1) found: {error}",
                path.display()
            ),
        )
    })
}

fn read_file(field: &str, path: &Path) -> Result<Vec<u8>, FieldError> {
    std::fs::read(path).map_err(|error| {
        (
            field.to_owned(),
            format!("cannot read {}: {error}", path.display()),
        )
    })
}

/// The verifier for `RequestClientCert` and `RequireAnyClientCert`: the client proves
/// that it has the private key of the certificate it sends, but the certificate itself is not
/// checked against any CA. This is what those modes mean in Go's TLS stack, which the
/// exporter-toolkit format follows.
#[derive(Debug)]
struct UnverifiedClientCert {
    mandatory: bool,
    provider: Arc<CryptoProvider>,
}

impl ClientCertVerifier for UnverifiedClientCert {
    fn client_auth_mandatory(&self) -> bool {
        self.mandatory
    }

    fn root_hint_subjects(&self) -> &[DistinguishedName] {
        &[]
    }

    fn verify_client_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _now: UnixTime,
    ) -> Result<ClientCertVerified, rustls::Error> {
        Ok(ClientCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}
