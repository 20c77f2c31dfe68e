//! The `--web.config.file` file: TLS and basic authentication for the HTTP server, in the
//! web configuration format of the Prometheus exporter-toolkit.
//!
//! ```yaml
//! tls_server_config:
//!   cert_file: server.crt        # relative paths are relative to this file's directory
//!   key_file: server.key
//!   client_ca_file: ca.crt       # optional
//!   client_auth_type: RequireAndVerifyClientCert
//!   min_version: TLS12
//! basic_auth_users:
//!   prometheus: $2y$10$...       # bcrypt hash
//! ```
//!
//! [`load`] reads and checks the file and every file it names; [`reload`] keeps the
//! settings current while the exporter runs.

pub mod reload;
mod tls;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::Arc;

use serde::Deserialize;

pub use tls::ClientAuth;

/// The settings a web config file produces, as the HTTP server applies them.
#[derive(Debug, Default)]
pub struct WebSettings {
    /// Serve HTTPS with this configuration, or plain HTTP when `None`.
    pub tls: Option<Arc<rustls::ServerConfig>>,
    /// Require HTTP basic authentication with these users, or none when `None`.
    pub basic_auth: Option<BasicAuthUsers>,
}

/// User names and their bcrypt password hashes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BasicAuthUsers(BTreeMap<String, String>);

impl BasicAuthUsers {
    /// Returns the bcrypt hash stored for `user`.
    pub fn hash_for(&self, user: &str) -> Option<&str> {
        self.0.get(user).map(String::as_str)
    }
}

/// A web config file that cannot be used. Every variant names the file; the field is
/// the path of the offending key in the file, such as `tls_server_config.key_file`.
#[derive(Debug, thiserror::Error)]
pub enum WebConfigError {
    #[error("cannot read web config file {path}: {source}; check --web.config.file")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("invalid web config file {path}: {field}: {message}")]
    Invalid {
        path: String,
        field: String,
        message: String,
    },
}

/// The file as written. Field names and meanings follow the exporter-toolkit's format;
/// unknown fields are errors there too, which catches misspelt keys.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct WebConfigFile {
    #[serde(default)]
    tls_server_config: Option<TlsServerConfigFile>,
    #[serde(default)]
    http_server_config: Option<HttpServerConfigFile>,
    #[serde(default)]
    basic_auth_users: Option<BTreeMap<String, String>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct TlsServerConfigFile {
    #[serde(default)]
    cert_file: Option<String>,
    #[serde(default)]
    key_file: Option<String>,
    #[serde(default)]
    client_ca_file: Option<String>,
    #[serde(default)]
    client_auth_type: Option<String>,
    #[serde(default)]
    min_version: Option<String>,
    #[serde(default)]
    max_version: Option<String>,
    // The exporter-toolkit accepts these too. They are read so that the error states
    // that this exporter does not support them, instead of calling them unknown.
    #[serde(default)]
    cert: Option<serde_yaml_ng::Value>,
    #[serde(default)]
    key: Option<serde_yaml_ng::Value>,
    #[serde(default)]
    client_ca: Option<serde_yaml_ng::Value>,
    #[serde(default)]
    client_allowed_sans: Option<serde_yaml_ng::Value>,
    #[serde(default)]
    cipher_suites: Option<serde_yaml_ng::Value>,
    #[serde(default)]
    curve_preferences: Option<serde_yaml_ng::Value>,
    #[serde(default)]
    prefer_server_cipher_suites: Option<serde_yaml_ng::Value>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct HttpServerConfigFile {
    /// Accepted and ignored: the exporter serves HTTP/1.1 only.
    #[serde(default)]
    #[allow(dead_code)]
    http2: Option<bool>,
    #[serde(default)]
    headers: Option<serde_yaml_ng::Value>,
}

/// Reads the web config file at `path`, and the certificate and key files it names,
/// into the settings the server applies.
pub fn load(path: &Path) -> Result<WebSettings, WebConfigError> {
    let text = std::fs::read_to_string(path).map_err(|source| WebConfigError::Read {
        path: path.display().to_string(),
        source,
    })?;
    parse(path, &text)
}

/// Parses the text of a web config file. `path` names the file in errors, and its
/// directory is where relative certificate paths start.
pub fn parse(path: &Path, text: &str) -> Result<WebSettings, WebConfigError> {
    let invalid = |field: &str, message: String| WebConfigError::Invalid {
        path: path.display().to_string(),
        field: field.to_owned(),
        message,
    };

    // An empty file is a YAML null, which means "no settings", as in the exporter-toolkit.
    let file: WebConfigFile = if text.trim().is_empty() {
        WebConfigFile::default()
    } else {
        serde_path_to_error::deserialize(serde_yaml_ng::Deserializer::from_str(text)).map_err(
            |error| {
                let field = error.path().to_string();
                let field = if field == "." {
                    "(top level)".to_owned()
                } else {
                    field
                };
                invalid(&field, error.into_inner().to_string())
            },
        )?
    };

    if let Some(http) = &file.http_server_config
        && http.headers.is_some()
    {
        return Err(invalid(
            "http_server_config.headers",
            "not supported by this exporter; remove it".to_owned(),
        ));
    }

    let basic_auth = match file.basic_auth_users {
        None => None,
        Some(users) if users.is_empty() => None,
        Some(users) => {
            Some(check_users(users).map_err(|(field, message)| invalid(&field, message))?)
        }
    };

    let base = path.parent().unwrap_or(Path::new("."));
    let tls = match file.tls_server_config {
        None => None,
        Some(tls_file) => tls_settings(&tls_file, base)
            .map_err(|(field, message)| invalid(&format!("tls_server_config.{field}"), message))?,
    };

    Ok(WebSettings { tls, basic_auth })
}

/// Checks that every user has a bcrypt hash, so that a typo shows at load time and not
/// as a failed login.
fn check_users(users: BTreeMap<String, String>) -> Result<BasicAuthUsers, (String, String)> {
    for (user, hash) in &users {
        let field = format!("basic_auth_users.{user}");
        if user.contains(':') {
            return Err((
                field,
                "a user name cannot contain ':', because basic authentication splits user and password there".to_owned(),
            ));
        }
        let hint = "generate one with `htpasswd -nBC 10 \"\" | tr -d ':\\n'`";
        match bcrypt::HashParts::from_str(hash) {
            Err(error) => return Err((field, format!("not a bcrypt hash ({error}); {hint}"))),
            Ok(parts) if !(4..=31).contains(&parts.get_cost()) => {
                return Err((
                    field,
                    format!(
                        "bcrypt cost {} is outside the valid range 4 to 31; {hint}",
                        parts.get_cost()
                    ),
                ));
            }
            Ok(_) => {}
        }
    }
    Ok(BasicAuthUsers(users))
}

/// Turns `tls_server_config` into a rustls configuration, or `None` when it contains
/// neither a certificate nor a key, which means plain HTTP in the exporter-toolkit too.
/// Errors carry the field name below `tls_server_config` and the message.
fn tls_settings(
    file: &TlsServerConfigFile,
    base: &Path,
) -> Result<Option<Arc<rustls::ServerConfig>>, (String, String)> {
    let unsupported = [
        ("cert", file.cert.is_some()),
        ("key", file.key.is_some()),
        ("client_ca", file.client_ca.is_some()),
        ("client_allowed_sans", file.client_allowed_sans.is_some()),
        ("cipher_suites", file.cipher_suites.is_some()),
        ("curve_preferences", file.curve_preferences.is_some()),
        (
            "prefer_server_cipher_suites",
            file.prefer_server_cipher_suites.is_some(),
        ),
    ];
    if let Some((field, _)) = unsupported.iter().find(|(_, present)| *present) {
        let hint = match *field {
            "cert" => "; put the certificate in a file and use cert_file",
            "key" => "; put the key in a file and use key_file",
            "client_ca" => "; put the CA certificates in a file and use client_ca_file",
            _ => "; remove it",
        };
        return Err((
            (*field).to_owned(),
            format!("not supported by this exporter{hint}"),
        ));
    }

    let cert_file = non_empty(&file.cert_file);
    let key_file = non_empty(&file.key_file);
    let client_ca_file = non_empty(&file.client_ca_file);
    let (cert_file, key_file) = match (cert_file, key_file) {
        (None, None) => {
            if client_ca_file.is_some() || non_empty(&file.client_auth_type).is_some() {
                return Err((
                    "cert_file".to_owned(),
                    "missing; client certificate settings need cert_file and key_file".to_owned(),
                ));
            }
            return Ok(None);
        }
        (Some(_), None) => {
            return Err((
                "key_file".to_owned(),
                "missing; set it together with cert_file".to_owned(),
            ));
        }
        (None, Some(_)) => {
            return Err((
                "cert_file".to_owned(),
                "missing; set it together with key_file".to_owned(),
            ));
        }
        (Some(cert), Some(key)) => (base.join(cert), base.join(key)),
    };

    let client_auth = match non_empty(&file.client_auth_type) {
        None => ClientAuth::NoClientCert,
        Some(value) => value
            .parse::<ClientAuth>()
            .map_err(|message| ("client_auth_type".to_owned(), message))?,
    };
    let client_ca_file = client_ca_file.map(|file| base.join(file));
    let versions =
        tls::ProtocolVersions::parse(non_empty(&file.min_version), non_empty(&file.max_version))?;

    let config = tls::server_config(&tls::TlsFiles {
        cert_file,
        key_file,
        client_ca_file,
        client_auth,
        versions,
    })?;
    Ok(Some(Arc::new(config)))
}

fn non_empty(value: &Option<String>) -> Option<&str> {
    value
        .as_deref()
        .map(str::trim)
        .filter(|value| !value.is_empty())
}

/// Files named in `tls_server_config`, resolved against the config file's directory.
/// The reloader watches their directories, because certificate rotation changes them
/// and not the config file.
pub fn referenced_files(path: &Path, text: &str) -> Vec<PathBuf> {
    let Ok(file) = serde_yaml_ng::from_str::<WebConfigFile>(text) else {
        return Vec::new();
    };
    let Some(tls_file) = file.tls_server_config else {
        return Vec::new();
    };
    let base = path.parent().unwrap_or(Path::new("."));
    [
        &tls_file.cert_file,
        &tls_file.key_file,
        &tls_file.client_ca_file,
    ]
    .into_iter()
    .filter_map(non_empty)
    .map(|file| base.join(file))
    .collect()
}

#[cfg(test)]
mod tests;
