//! HTTP basic authentication against the bcrypt hashes of the web config file.

use std::collections::HashSet;
use std::sync::{Arc, Mutex, OnceLock};

use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use base64::Engine;
use sha2::{Digest, Sha256};
use tokio::sync::watch;
use tracing::{debug, error};

use crate::web_config::WebSettings;

/// Maximum number of successful checks kept. A scraper sends the same credentials every
/// time, so a few entries cover every real client. Only correct passwords are added, and
/// the bound caps memory even for many distinct users.
const CACHE_CAPACITY: usize = 256;

/// Paths served without authentication, so that kubelet probes, which cannot send
/// credentials without putting them in the pod spec, keep working. They expose no
/// metrics.
const OPEN_PATHS: [&str; 2] = ["/healthz", "/readyz"];

/// State shared by the authentication middleware across requests.
#[derive(Clone)]
pub struct BasicAuth {
    settings: watch::Receiver<Arc<WebSettings>>,
    cache: Arc<Mutex<VerifiedCache>>,
}

impl BasicAuth {
    pub fn new(settings: watch::Receiver<Arc<WebSettings>>) -> BasicAuth {
        BasicAuth {
            settings,
            cache: Arc::new(Mutex::new(VerifiedCache::default())),
        }
    }
}

/// Digests of user, password and stored hash that bcrypt has already accepted. bcrypt is
/// slow on purpose (tens of milliseconds at cost 10), which a scrape every few seconds
/// should not pay each time. The stored hash is part of the key, so a changed password
/// in a reloaded file never matches an old entry.
#[derive(Default)]
struct VerifiedCache(HashSet<[u8; 32]>);

impl VerifiedCache {
    fn contains(&self, key: &[u8; 32]) -> bool {
        self.0.contains(key)
    }

    fn insert(&mut self, key: [u8; 32]) {
        if self.0.len() >= CACHE_CAPACITY
            && let Some(evicted) = self.0.iter().next().copied()
        {
            self.0.remove(&evicted);
        }
        self.0.insert(key);
    }
}

/// Passes the request on when basic authentication is off, the path is a health
/// endpoint, or the credentials match. Otherwise returns 401 Unauthorized.
pub async fn require_basic_auth(
    State(auth): State<BasicAuth>,
    request: Request,
    next: Next,
) -> Response {
    let settings = Arc::clone(&auth.settings.borrow());
    let Some(users) = &settings.basic_auth else {
        return next.run(request).await;
    };
    if OPEN_PATHS.contains(&request.uri().path()) {
        return next.run(request).await;
    }

    let Some((user, password)) = credentials(request.headers()) else {
        return unauthorized();
    };
    let stored_hash = users.hash_for(&user).map(str::to_owned);
    if check_password(&auth, &user, password, stored_hash).await {
        next.run(request).await
    } else {
        debug!(
            user,
            path = request.uri().path(),
            "basic authentication failed"
        );
        unauthorized()
    }
}

/// Checks `password` against `stored_hash`, from the cache or with bcrypt.
async fn check_password(
    auth: &BasicAuth,
    user: &str,
    password: String,
    stored_hash: Option<String>,
) -> bool {
    let Some(stored_hash) = stored_hash else {
        // Spend the same time as for a known user, so that response times do not tell
        // which user names exist.
        let _ = tokio::task::spawn_blocking(move || {
            bcrypt::verify(password, unknown_user_hash()).unwrap_or(false)
        })
        .await;
        return false;
    };

    let key = cache_key(user, &password, &stored_hash);
    if lock(&auth.cache).contains(&key) {
        return true;
    }
    let verified =
        tokio::task::spawn_blocking(move || bcrypt::verify(password, &stored_hash)).await;
    match verified {
        Ok(Ok(true)) => {
            lock(&auth.cache).insert(key);
            true
        }
        Ok(Ok(false)) => false,
        Ok(Err(bcrypt_error)) => {
            // The hashes were checked when the file was loaded, so this is unexpected.
            error!(user, error = %bcrypt_error, "bcrypt could not check the password");
            false
        }
        Err(join_error) => {
            error!(user, error = %join_error, "the bcrypt task failed");
            false
        }
    }
}

fn lock(cache: &Mutex<VerifiedCache>) -> std::sync::MutexGuard<'_, VerifiedCache> {
    // The cache has no invariant that a panicking lock holder could break.
    cache
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Returns a bcrypt hash at the cost most web config files use. Only the time its check
/// takes matters, because the result is discarded.
fn unknown_user_hash() -> &'static str {
    static HASH: OnceLock<String> = OnceLock::new();
    HASH.get_or_init(|| bcrypt::hash("no such user", 10).unwrap_or_default())
}

fn cache_key(user: &str, password: &str, stored_hash: &str) -> [u8; 32] {
    let mut hasher = Sha256::new();
    for part in [user, password, stored_hash] {
        hasher.update((part.len() as u64).to_be_bytes());
        hasher.update(part.as_bytes());
    }
    hasher.finalize().into()
}

/// Reads user and password from an `Authorization: Basic` header (RFC 7617).
fn credentials(headers: &HeaderMap) -> Option<(String, String)> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, encoded) = value.trim().split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(encoded.trim())
        .ok()?;
    let decoded = String::from_utf8(decoded).ok()?;
    let (user, password) = decoded.split_once(':')?;
    Some((user.to_owned(), password.to_owned()))
}

fn unauthorized() -> Response {
    (
        StatusCode::UNAUTHORIZED,
        [(
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static("Basic realm=\"fleet-dns-lb-exporter\", charset=\"UTF-8\""),
        )],
        "unauthorized: send the user and password of the web config file's basic_auth_users\n",
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn basic(value: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(header::AUTHORIZATION, HeaderValue::from_str(value).unwrap());
        headers
    }

    #[test]
    fn credentials_decoded() {
        // "alice:open:sesame": the password may contain a colon, the user may not.
        let headers = basic("Basic YWxpY2U6b3BlbjpzZXNhbWU=");
        assert_eq!(
            credentials(&headers),
            Some(("alice".to_owned(), "open:sesame".to_owned()))
        );
    }

    #[test]
    fn credentials_scheme_case_insensitive() {
        let headers = basic("basic YWxpY2U6eA==");
        assert_eq!(
            credentials(&headers),
            Some(("alice".to_owned(), "x".to_owned()))
        );
    }

    #[test]
    fn credentials_rejected_when_malformed() {
        for value in [
            "Bearer YWxpY2U6eA==",
            "Basic not-base64!",
            "Basic YWxpY2U=",
            "Basic",
        ] {
            assert_eq!(credentials(&basic(value)), None, "{value}");
        }
        assert_eq!(credentials(&HeaderMap::new()), None);
    }

    #[test]
    fn cache_bounded() {
        let mut cache = VerifiedCache::default();
        for index in 0..(CACHE_CAPACITY * 2) {
            cache.insert(cache_key("user", &index.to_string(), "hash"));
        }
        assert_eq!(cache.0.len(), CACHE_CAPACITY);
        let newest = cache_key("user", &(CACHE_CAPACITY * 2 - 1).to_string(), "hash");
        assert!(cache.contains(&newest));
    }

    #[test]
    fn cache_key_depends_on_hash() {
        assert_ne!(
            cache_key("user", "password", "hash-a"),
            cache_key("user", "password", "hash-b")
        );
        assert_ne!(cache_key("ab", "c", "h"), cache_key("a", "bc", "h"));
    }
}
