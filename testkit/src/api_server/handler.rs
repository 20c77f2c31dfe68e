//! Request handling: routing, discovery documents, list, get and watch.

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use futures_util::stream;
use http_body_util::combinators::BoxBody;
use http_body_util::{BodyExt, Full, StreamBody};
use hyper::body::{Frame, Incoming};
use hyper::header::{CONTENT_TYPE, HeaderValue};
use hyper::{Method, Request, Response, StatusCode};
use serde_json::{Value, json};
use tokio::sync::mpsc;
use tokio::time::Instant;

use super::store::HistoryEvent;
use super::{Inner, ResourceType, Verb};

type Body = BoxBody<Bytes, std::io::Error>;
type Chunk = Result<Frame<Bytes>, std::io::Error>;

/// Maximum watch duration when the client sets no `timeoutSeconds`. The real API server
/// picks a random duration between its `--min-request-timeout` (default 1800 s) and twice
/// that; this server uses the lower bound.
const DEFAULT_WATCH_TIMEOUT: Duration = Duration::from_secs(1800);

pub async fn handle(
    inner: Arc<Inner>,
    request: Request<Incoming>,
) -> Result<Response<Body>, Infallible> {
    let delay = inner.faults().delay;
    if !delay.is_zero() {
        tokio::time::sleep(delay).await;
    }
    if request.method() != Method::GET {
        return Ok(status_response(
            StatusCode::METHOD_NOT_ALLOWED,
            "MethodNotAllowed",
            "the test API server is read-only and answers GET only",
        ));
    }
    let path = request.uri().path().to_owned();
    let query = Query::parse(request.uri().query().unwrap_or_default());
    let segments: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();

    let response = match segments.as_slice() {
        ["version"] => discovery(&inner, version_document()),
        ["api"] => discovery(
            &inner,
            json!({
                "kind": "APIVersions",
                "versions": ["v1"],
                "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": inner.address.to_string()}],
            }),
        ),
        ["api", "v1"] => discovery(
            &inner,
            json!({
                "kind": "APIResourceList",
                "groupVersion": "v1",
                "resources": [],
            }),
        ),
        ["apis"] => {
            let groups = group_documents(&inner.store().types);
            discovery(
                &inner,
                json!({"kind": "APIGroupList", "apiVersion": "v1", "groups": groups}),
            )
        }
        ["apis", group] => {
            let groups = group_documents(&inner.store().types);
            match groups.into_iter().find(|g| g["name"] == *group) {
                Some(mut document) => {
                    document["kind"] = json!("APIGroup");
                    document["apiVersion"] = json!("v1");
                    discovery(&inner, document)
                }
                None => not_found(&inner),
            }
        }
        ["apis", group, version] => match resource_list(&inner.store().types, group, version) {
            Some(document) => discovery(&inner, document),
            None => not_found(&inner),
        },
        ["apis", group, version, plural] => {
            collection(&inner, group, version, None, plural, None, &query).await
        }
        ["apis", group, version, "namespaces", namespace, plural] => {
            collection(
                &inner,
                group,
                version,
                Some(namespace),
                plural,
                None,
                &query,
            )
            .await
        }
        [
            "apis",
            group,
            version,
            "namespaces",
            namespace,
            plural,
            name,
        ] => {
            collection(
                &inner,
                group,
                version,
                Some(namespace),
                plural,
                Some(name),
                &query,
            )
            .await
        }
        _ => not_found(&inner),
    };
    Ok(response)
}

/// The query parameters the server reads.
#[derive(Debug, Default)]
struct Query {
    watch: bool,
    resource_version: Option<String>,
    timeout_seconds: Option<u64>,
    allow_bookmarks: bool,
}

impl Query {
    fn parse(query: &str) -> Query {
        let mut parsed = Query::default();
        for (key, value) in form_urlencoded::parse(query.as_bytes()) {
            match key.as_ref() {
                "watch" => parsed.watch = value == "true" || value == "1",
                "resourceVersion" => parsed.resource_version = Some(value.into_owned()),
                "timeoutSeconds" => parsed.timeout_seconds = value.parse().ok(),
                "allowWatchBookmarks" => parsed.allow_bookmarks = value == "true" || value == "1",
                _ => {}
            }
        }
        parsed
    }
}

fn version_document() -> Value {
    json!({
        "major": "1",
        "minor": "33",
        "gitVersion": "v1.33.0",
        "gitCommit": "0000000000000000000000000000000000000000",
        "gitTreeState": "clean",
        "buildDate": "2025-01-01T00:00:00Z",
        "goVersion": "go1.24.0",
        "compiler": "gc",
        "platform": "linux/amd64",
    })
}

/// Returns the APIGroup documents of every group with a served resource type, listing
/// versions in order of preference.
fn group_documents(types: &[ResourceType]) -> Vec<Value> {
    let mut groups: Vec<(String, Vec<String>)> = Vec::new();
    for resource_type in types.iter().filter(|t| !t.versions.is_empty()) {
        let index = match groups
            .iter()
            .position(|(name, _)| *name == resource_type.group)
        {
            Some(index) => index,
            None => {
                groups.push((resource_type.group.clone(), Vec::new()));
                groups.len() - 1
            }
        };
        for version in &resource_type.versions {
            if !groups[index].1.contains(version) {
                groups[index].1.push(version.clone());
            }
        }
    }
    groups
        .into_iter()
        .map(|(name, versions)| {
            let entries: Vec<Value> = versions
                .iter()
                .map(|v| json!({"groupVersion": format!("{name}/{v}"), "version": v}))
                .collect();
            json!({"name": name, "versions": entries, "preferredVersion": entries[0].clone()})
        })
        .collect()
}

fn resource_list(types: &[ResourceType], group: &str, version: &str) -> Option<Value> {
    let mut resources = Vec::new();
    for resource_type in types
        .iter()
        .filter(|t| t.group == group && t.versions.iter().any(|v| v == version))
    {
        resources.push(json!({
            "name": resource_type.plural,
            "singularName": resource_type.singular,
            "namespaced": true,
            "kind": resource_type.kind,
            "verbs": ["delete", "deletecollection", "get", "list", "patch", "create", "update", "watch"],
            "shortNames": resource_type.short_names,
            "categories": ["fleet-networking"],
        }));
        resources.push(json!({
            "name": format!("{}/status", resource_type.plural),
            "singularName": "",
            "namespaced": true,
            "kind": resource_type.kind,
            "verbs": ["get", "patch", "update"],
        }));
    }
    if resources.is_empty() {
        return None;
    }
    Some(json!({
        "kind": "APIResourceList",
        "apiVersion": "v1",
        "groupVersion": format!("{group}/{version}"),
        "resources": resources,
    }))
}

fn discovery(inner: &Inner, document: Value) -> Response<Body> {
    inner.stats().discovery_requests += 1;
    json_response(StatusCode::OK, &document)
}

fn not_found(inner: &Inner) -> Response<Body> {
    inner.stats().not_found_sent += 1;
    status_response(
        StatusCode::NOT_FOUND,
        "NotFound",
        "the server could not find the requested resource",
    )
}

/// Serves list, get or watch of one resource type.
async fn collection(
    inner: &Arc<Inner>,
    group: &str,
    version: &str,
    namespace: Option<&str>,
    plural: &str,
    name: Option<&str>,
    query: &Query,
) -> Response<Body> {
    let resource_type = {
        let store = inner.store();
        match store.resource_type(plural) {
            Some(t) if t.group == group && t.versions.iter().any(|v| v == version) => t.clone(),
            _ => return not_found(inner),
        }
    };
    let verb = match (name, query.watch) {
        (Some(_), _) => Verb::Get,
        (None, true) => Verb::Watch,
        (None, false) => Verb::List,
    };
    *inner
        .stats()
        .requests
        .entry((plural.to_owned(), verb))
        .or_default() += 1;

    if inner
        .faults()
        .forbidden
        .contains(&(plural.to_owned(), verb))
    {
        inner.stats().forbidden_sent += 1;
        let scope = match namespace {
            Some(namespace) => format!("in the namespace \"{namespace}\""),
            None => "at the cluster scope".to_owned(),
        };
        let message = format!(
            "{plural}.{group} is forbidden: User \"system:serviceaccount:fleet-system:fleet-dns-lb-exporter\" cannot {verb} resource \"{plural}\" in API group \"{group}\" {scope}",
            verb = verb.as_str()
        );
        return status_response(StatusCode::FORBIDDEN, "Forbidden", &message);
    }

    let api_version = format!("{group}/{version}");
    match verb {
        Verb::Get => {
            let name = name.unwrap_or_default();
            let found = inner
                .store()
                .list(plural, namespace)
                .into_iter()
                .find(|o| o["metadata"]["name"] == name);
            match found {
                Some(object) => {
                    json_response(StatusCode::OK, &with_api_version(object, &api_version))
                }
                None => status_response(
                    StatusCode::NOT_FOUND,
                    "NotFound",
                    &format!("{plural}.{group} \"{name}\" not found"),
                ),
            }
        }
        Verb::List => list(inner, &resource_type, &api_version, namespace).await,
        Verb::Watch => watch(inner, &resource_type, &api_version, namespace, query),
    }
}

async fn list(
    inner: &Arc<Inner>,
    resource_type: &ResourceType,
    api_version: &str,
    namespace: Option<&str>,
) -> Response<Body> {
    let plural = resource_type.plural.as_str();
    if take_one(&mut inner.faults().hang_lists, plural) {
        inner.stats().lists_hung += 1;
        // The connection is closed by the client's timeout or by the server's shutdown.
        std::future::pending::<()>().await;
    }

    let (items, resource_version) = {
        let store = inner.store();
        (store.list(plural, namespace), store.resource_version)
    };
    let items: Vec<Value> = items
        .into_iter()
        .map(|o| with_api_version(o, api_version))
        .collect();
    let document = json!({
        "kind": format!("{}List", resource_type.kind),
        "apiVersion": api_version,
        "metadata": {"resourceVersion": resource_version.to_string()},
        "items": items,
    });

    if take_one(&mut inner.faults().cut_short_lists, plural) {
        inner.stats().lists_cut_short += 1;
        let body = serde_json::to_vec(&document).expect("JSON values always serialize");
        let half = Bytes::copy_from_slice(&body[..body.len() / 2]);
        let (sender, receiver) = mpsc::channel::<Chunk>(2);
        tokio::spawn(async move {
            let _ = sender.send(Ok(Frame::data(half))).await;
            // Lets the headers and the first half reach the client before the
            // connection breaks; without the pause hyper may drop them unsent.
            tokio::time::sleep(Duration::from_millis(100)).await;
            let _ = sender
                .send(Err(std::io::Error::other(
                    "response cut short by the test API server",
                )))
                .await;
        });
        return streaming_response(channel_body(receiver));
    }
    json_response(StatusCode::OK, &document)
}

fn watch(
    inner: &Arc<Inner>,
    resource_type: &ResourceType,
    api_version: &str,
    namespace: Option<&str>,
    query: &Query,
) -> Response<Body> {
    let (sender, receiver) = mpsc::channel::<Chunk>(64);
    let body = channel_body(receiver);

    if take_one(&mut inner.faults().hang_watches, &resource_type.plural) {
        inner.stats().watches_hung += 1;
        // Keeps the stream open and silent until the client goes away.
        tokio::spawn(async move { sender.closed().await });
        return streaming_response(body);
    }

    let task = WatchTask {
        inner: inner.clone(),
        kind: resource_type.kind.clone(),
        plural: resource_type.plural.clone(),
        api_version: api_version.to_owned(),
        namespace: namespace.map(str::to_owned),
        sender,
    };
    let timeout = query
        .timeout_seconds
        .map_or(DEFAULT_WATCH_TIMEOUT, Duration::from_secs);
    tokio::spawn(task.run(
        query.resource_version.clone(),
        Instant::now() + timeout,
        query.allow_bookmarks,
    ));
    streaming_response(body)
}

/// One open watch stream.
struct WatchTask {
    inner: Arc<Inner>,
    kind: String,
    plural: String,
    api_version: String,
    namespace: Option<String>,
    sender: mpsc::Sender<Chunk>,
}

impl WatchTask {
    async fn run(self, resource_version: Option<String>, deadline: Instant, bookmarks: bool) {
        let mut changes = self.inner.changes.subscribe();
        let mut cuts = self.inner.cuts.subscribe();
        cuts.borrow_and_update();
        let mut ends = self.inner.ends.subscribe();
        ends.borrow_and_update();

        let start = {
            let store = self.inner.store();
            match resource_version.as_deref() {
                // Without a resourceVersion, or with "0", a watch starts with ADDED for
                // every current object.
                None | Some("") | Some("0") => Ok((
                    store.list(&self.plural, self.namespace.as_deref()),
                    store.resource_version,
                )),
                Some(text) => {
                    let requested: u64 = text.parse().unwrap_or(0);
                    if requested < store.compacted {
                        Err(format!(
                            "too old resource version: {requested} ({})",
                            store.compacted
                        ))
                    } else {
                        Ok((Vec::new(), requested))
                    }
                }
            }
        };
        let (initial, mut last) = match start {
            Ok(start) => start,
            Err(message) => {
                self.inner.stats().gone_sent += 1;
                let status = status_document(410, "Expired", &message);
                let _ = self.send_event("ERROR", status).await;
                return;
            }
        };
        for object in initial {
            let object = with_api_version(object, &self.api_version);
            if self.send_event("ADDED", object).await.is_err() {
                return;
            }
        }

        let mut bookmark_timer = tokio::time::interval(self.inner.bookmark_interval);
        bookmark_timer.reset();
        loop {
            if ends.has_changed().unwrap_or(true) {
                return;
            }
            let held = self.inner.hold.load(std::sync::atomic::Ordering::SeqCst);
            let events: Vec<HistoryEvent> = if held {
                Vec::new()
            } else {
                let store = self.inner.store();
                let events = store.events_after(last, &self.plural, self.namespace.as_deref());
                last = last.max(store.resource_version);
                events
            };
            for event in events {
                let object = with_api_version(event.object, &self.api_version);
                if self.send_event(event.event.as_str(), object).await.is_err() {
                    return;
                }
            }

            tokio::select! {
                _ = changes.changed() => {}
                _ = bookmark_timer.tick(), if bookmarks => {
                    let bookmark = json!({
                        "kind": self.kind,
                        "apiVersion": self.api_version,
                        "metadata": {"resourceVersion": last.to_string()},
                    });
                    if self.send_event("BOOKMARK", bookmark).await.is_err() {
                        return;
                    }
                    self.inner.stats().bookmarks_sent += 1;
                }
                _ = ends.changed() => return,
                _ = cuts.changed() => {
                    self.inner.stats().watches_cut += 1;
                    let partial = Bytes::from_static(b"{\"type\":\"MODIFIED\",\"object\":{\"kind\":");
                    let _ = self.sender.send(Ok(Frame::data(partial))).await;
                    let _ = self
                        .sender
                        .send(Err(std::io::Error::other("watch cut by the test API server")))
                        .await;
                    return;
                }
                () = tokio::time::sleep_until(deadline) => return,
                () = self.sender.closed() => return,
            }
        }
    }

    async fn send_event(&self, event_type: &str, object: Value) -> Result<(), ()> {
        let mut line = serde_json::to_vec(&json!({"type": event_type, "object": object}))
            .expect("JSON values always serialize");
        line.push(b'\n');
        self.sender
            .send(Ok(Frame::data(Bytes::from(line))))
            .await
            .map_err(|_| ())
    }
}

/// Returns a streaming body fed by a channel; an `Err` chunk breaks the connection.
fn channel_body(receiver: mpsc::Receiver<Chunk>) -> Body {
    StreamBody::new(stream::unfold(receiver, |mut receiver| async move {
        receiver.recv().await.map(|chunk| (chunk, receiver))
    }))
    .boxed()
}

/// Decrements a per-resource fault counter; returns whether the fault applies now.
fn take_one(counters: &mut std::collections::BTreeMap<String, u32>, plural: &str) -> bool {
    match counters.get_mut(plural) {
        Some(count) if *count > 0 => {
            *count -= 1;
            true
        }
        _ => false,
    }
}

fn with_api_version(mut object: Value, api_version: &str) -> Value {
    object["apiVersion"] = json!(api_version);
    object
}

fn status_document(code: u16, reason: &str, message: &str) -> Value {
    json!({
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": message,
        "reason": reason,
        "code": code,
    })
}

fn status_response(status: StatusCode, reason: &str, message: &str) -> Response<Body> {
    json_response(status, &status_document(status.as_u16(), reason, message))
}

fn json_response(status: StatusCode, document: &Value) -> Response<Body> {
    let body = serde_json::to_vec(document).expect("JSON values always serialize");
    let mut response = Response::new(
        Full::new(Bytes::from(body))
            .map_err(|never| match never {})
            .boxed(),
    );
    *response.status_mut() = status;
    response
        .headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    response
}

fn streaming_response(body: Body) -> Response<Body> {
    let mut response = Response::new(body);
    response
        .headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    response
}
