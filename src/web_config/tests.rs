use std::path::Path;

use super::*;

/// Returns a bcrypt hash of "secret" at cost 4, the minimum, to keep tests fast.
fn secret_hash() -> String {
    bcrypt::hash("secret", 4).unwrap()
}

fn error_of(text: &str) -> (String, String) {
    match parse(Path::new("/config/web.yml"), text) {
        Ok(_) => panic!("expected an error for:\n{text}"),
        Err(WebConfigError::Invalid {
            path,
            field,
            message,
        }) => {
            assert_eq!(path, "/config/web.yml");
            (field, message)
        }
        Err(other) => panic!("unexpected error {other}"),
    }
}

#[test]
fn empty_file_means_no_settings() {
    for text in ["", "\n", "# nothing\n", "{}"] {
        let settings = parse(Path::new("web.yml"), text).unwrap();
        assert!(settings.tls.is_none(), "{text:?}");
        assert!(settings.basic_auth.is_none(), "{text:?}");
    }
}

#[test]
fn basic_auth_users_read() {
    let hash = secret_hash();
    let settings = parse(
        Path::new("web.yml"),
        &format!("basic_auth_users:\n  prometheus: '{hash}'\n"),
    )
    .unwrap();
    let users = settings.basic_auth.unwrap();
    assert_eq!(users.hash_for("prometheus"), Some(hash.as_str()));
    assert_eq!(users.hash_for("other"), None);
    assert!(settings.tls.is_none());
}

#[test]
fn plain_text_password_rejected() {
    let (field, message) = error_of("basic_auth_users:\n  prometheus: secret\n");
    assert_eq!(field, "basic_auth_users.prometheus");
    assert!(message.contains("not a bcrypt hash"), "{message}");
}

#[test]
fn user_with_colon_rejected() {
    let hash = secret_hash();
    let (field, message) = error_of(&format!("basic_auth_users:\n  'a:b': '{hash}'\n"));
    assert_eq!(field, "basic_auth_users.a:b");
    assert!(message.contains("':'"), "{message}");
}

#[test]
fn unknown_field_named() {
    let (field, message) = error_of("tls_server_config:\n  cert_fille: a.crt\n");
    assert_eq!(field, "tls_server_config.cert_fille");
    assert!(message.contains("unknown field"), "{message}");

    let (field, message) = error_of("basic_auth_user:\n  a: b\n");
    assert_eq!(field, "basic_auth_user");
    assert!(message.contains("basic_auth_user"), "{message}");
}

#[test]
fn wrong_type_named() {
    let (field, _) = error_of("basic_auth_users: [a, b]\n");
    assert_eq!(field, "basic_auth_users");
}

#[test]
fn key_without_cert_rejected() {
    let (field, message) = error_of("tls_server_config:\n  key_file: a.key\n");
    assert_eq!(field, "tls_server_config.cert_file");
    assert!(message.contains("missing"), "{message}");

    let (field, _) = error_of("tls_server_config:\n  cert_file: a.crt\n");
    assert_eq!(field, "tls_server_config.key_file");
}

#[test]
fn client_settings_without_cert_rejected() {
    let (field, _) = error_of("tls_server_config:\n  client_ca_file: ca.crt\n");
    assert_eq!(field, "tls_server_config.cert_file");
}

#[test]
fn empty_tls_section_means_http() {
    let settings = parse(Path::new("web.yml"), "tls_server_config: {}\n").unwrap();
    assert!(settings.tls.is_none());
}

#[test]
fn invalid_client_auth_type_rejected() {
    let (field, message) = error_of(
        "tls_server_config:\n  cert_file: a.crt\n  key_file: a.key\n  client_auth_type: Always\n",
    );
    assert_eq!(field, "tls_server_config.client_auth_type");
    assert!(message.contains("RequireAndVerifyClientCert"), "{message}");
}

#[test]
fn old_tls_versions_rejected() {
    for version in ["TLS10", "TLS11", "SSL3"] {
        let (field, _) = error_of(&format!(
            "tls_server_config:\n  cert_file: a.crt\n  key_file: a.key\n  min_version: {version}\n"
        ));
        assert_eq!(field, "tls_server_config.min_version", "{version}");
    }
    let (field, _) = error_of(
        "tls_server_config:\n  cert_file: a.crt\n  key_file: a.key\n  min_version: TLS13\n  max_version: TLS12\n",
    );
    assert_eq!(field, "tls_server_config.max_version");
}

#[test]
fn unsupported_toolkit_fields_named() {
    for (yaml, field) in [
        (
            "tls_server_config:\n  cipher_suites: [TLS_AES_128_GCM_SHA256]\n",
            "tls_server_config.cipher_suites",
        ),
        (
            "tls_server_config:\n  client_allowed_sans: [a]\n",
            "tls_server_config.client_allowed_sans",
        ),
        (
            "tls_server_config:\n  cert: inline\n",
            "tls_server_config.cert",
        ),
        (
            "http_server_config:\n  headers:\n    X-Frame-Options: deny\n",
            "http_server_config.headers",
        ),
    ] {
        let (actual, message) = error_of(yaml);
        assert_eq!(actual, field);
        assert!(message.contains("not supported"), "{message}");
    }
}

#[test]
fn http2_setting_accepted() {
    parse(
        Path::new("web.yml"),
        "http_server_config:\n  http2: false\n",
    )
    .unwrap();
}

#[test]
fn missing_cert_file_named() {
    let (field, message) =
        error_of("tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\n");
    assert_eq!(field, "tls_server_config.cert_file");
    assert!(message.contains("/config/server.crt"), "{message}");
}

#[test]
fn referenced_files_relative_to_config() {
    let files = referenced_files(
        Path::new("/etc/exporter/web.yml"),
        "tls_server_config:\n  cert_file: tls/a.crt\n  key_file: /abs/a.key\n  client_ca_file: ca.crt\n",
    );
    assert_eq!(
        files,
        vec![
            PathBuf::from("/etc/exporter/tls/a.crt"),
            PathBuf::from("/abs/a.key"),
            PathBuf::from("/etc/exporter/ca.crt"),
        ]
    );
}
