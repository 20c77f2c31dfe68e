//! A synthetic hub: TrafficManagerProfiles, TrafficManagerBackends, ServiceImports and
//! InternalServiceExports at any scale, as the Kubernetes API would return them.
//!
//! The mix is fixed by each object's index, so the same [`Scale`] always gives the same
//! objects. Most objects are healthy; a steady share carries each documented problem with
//! the condition messages the fleet-networking controller writes, including Azure error
//! dumps of one to three KiB.

use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::Path;

use serde_json::{Value, json};

/// API version of the Traffic Manager kinds.
const TRAFFIC_MANAGER_API: &str = "networking.fleet.azure.com/v1beta1";
/// API version of ServiceImport and InternalServiceExport.
const SERVICE_API: &str = "networking.fleet.azure.com/v1alpha1";
/// Subscriptions the profiles are spread over.
const SUBSCRIPTIONS: usize = 20;
/// Profiles per namespace.
const PROFILES_PER_NAMESPACE: usize = 10;

/// How many objects of each kind the hub holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Scale {
    pub profiles: usize,
    pub backends_per_profile: usize,
    /// Endpoints in each backend's status; every backend has one ServiceImport whose
    /// clusters match its endpoints.
    pub endpoints_per_backend: usize,
    /// Member clusters; each has a namespace of InternalServiceExports on the hub.
    pub clusters: usize,
    pub exports_per_cluster: usize,
}

impl Scale {
    /// Ten times a large fleet: 2,000 profiles, 20,000 backends, 100,000 endpoints and
    /// 40,000 exported Services.
    pub const REFERENCE: Scale = Scale {
        profiles: 2_000,
        backends_per_profile: 10,
        endpoints_per_backend: 5,
        clusters: 20,
        exports_per_cluster: 2_000,
    };

    /// A hub of a few dozen objects that still carries every problem, for smoke runs.
    pub const TINY: Scale = Scale {
        profiles: 20,
        backends_per_profile: 2,
        endpoints_per_backend: 2,
        clusters: 4,
        exports_per_cluster: 10,
    };

    /// Returns this scale with `divisor` times fewer profiles, backends, endpoints and
    /// exports; the shape of each profile and the number of clusters stay the same.
    pub fn divided_by(self, divisor: usize) -> Scale {
        let divisor = divisor.max(1);
        Scale {
            profiles: (self.profiles / divisor).max(1),
            exports_per_cluster: (self.exports_per_cluster / divisor).max(1),
            ..self
        }
    }

    pub fn backends(&self) -> usize {
        self.profiles * self.backends_per_profile
    }

    pub fn endpoints(&self) -> usize {
        self.backends() * self.endpoints_per_backend
    }

    pub fn service_imports(&self) -> usize {
        self.backends()
    }

    pub fn exports(&self) -> usize {
        self.clusters * self.exports_per_cluster
    }

    /// Number of Kubernetes objects: profiles, backends, ServiceImports and exports.
    pub fn objects(&self) -> usize {
        self.profiles + self.backends() + self.service_imports() + self.exports()
    }
}

impl std::fmt::Display for Scale {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} profiles, {} backends, {} endpoints, {} ServiceImports, {} exported Services",
            self.profiles,
            self.backends(),
            self.endpoints(),
            self.service_imports(),
            self.exports()
        )
    }
}

/// Generates every object of a hub at `scale`.
pub fn generate(scale: &Scale) -> Vec<Value> {
    let mut objects = Vec::with_capacity(scale.objects());
    for_each_object(scale, |object| objects.push(object));
    objects
}

/// Calls `visit` with every object of a hub at `scale`, one at a time, so that a caller
/// that writes them out never keeps the whole hub in memory.
pub fn for_each_object(scale: &Scale, mut visit: impl FnMut(Value)) {
    for p in 0..scale.profiles {
        visit(profile(p));
        for j in 0..scale.backends_per_profile {
            let b = p * scale.backends_per_profile + j;
            visit(backend(scale, p, b));
            visit(service_import(scale, p, b));
        }
    }
    for c in 0..scale.clusters {
        for k in 0..scale.exports_per_cluster {
            visit(export(scale, c, k));
        }
    }
}

/// Writes `objects` as a `kubectl get -o json` List.
pub fn write_snapshot(path: &Path, objects: &[Value]) -> io::Result<()> {
    let mut writer = ListWriter::create(path)?;
    for object in objects {
        writer.push(object)?;
    }
    writer.finish()
}

/// Writes a hub at `scale` as a `kubectl get -o json` List without holding it in memory.
pub fn write_snapshot_of_scale(path: &Path, scale: &Scale) -> io::Result<()> {
    write_edited_snapshot_of_scale(path, scale, |_| {})
}

/// Like [`write_snapshot_of_scale`], but passes every object through `edit` first, so a
/// caller can change a few objects between two snapshots.
pub fn write_edited_snapshot_of_scale(
    path: &Path,
    scale: &Scale,
    mut edit: impl FnMut(&mut Value),
) -> io::Result<()> {
    let mut writer = ListWriter::create(path)?;
    let mut result = Ok(());
    for_each_object(scale, |mut object| {
        if result.is_ok() {
            edit(&mut object);
            result = writer.push(&object);
        }
    });
    result?;
    writer.finish()
}

/// Writes objects one by one into a JSON List document.
struct ListWriter {
    out: BufWriter<File>,
    first: bool,
}

impl ListWriter {
    fn create(path: &Path) -> io::Result<ListWriter> {
        let mut out = BufWriter::with_capacity(1 << 20, File::create(path)?);
        out.write_all(br#"{"apiVersion":"v1","kind":"List","metadata":{},"items":["#)?;
        Ok(ListWriter { out, first: true })
    }

    fn push(&mut self, object: &Value) -> io::Result<()> {
        if !self.first {
            self.out.write_all(b",\n")?;
        }
        self.first = false;
        serde_json::to_writer(&mut self.out, object)?;
        Ok(())
    }

    fn finish(mut self) -> io::Result<()> {
        self.out.write_all(b"]}\n")?;
        self.out.flush()
    }
}

/// Namespace of profile `p` and of its backends and ServiceImports.
pub fn namespace_of_profile(p: usize) -> String {
    format!("team-{:04}", p / PROFILES_PER_NAMESPACE)
}

pub fn profile_name(p: usize) -> String {
    format!("profile-{p:05}")
}

pub fn backend_name(b: usize) -> String {
    format!("backend-{b:06}")
}

pub fn service_name(b: usize) -> String {
    format!("svc-{b:06}")
}

pub fn cluster_name(c: usize) -> String {
    format!("aks-member-{c:03}")
}

fn uid(kind_tag: u32, index: usize) -> String {
    format!("{kind_tag:08x}-0000-4000-8000-{index:012x}")
}

fn subscription(p: usize) -> String {
    format!(
        "{:08x}-1111-4222-8333-{:012x}",
        p % SUBSCRIPTIONS,
        p % SUBSCRIPTIONS
    )
}

fn resource_group(p: usize) -> String {
    format!("fleet-atm-rg-{:02}", p % SUBSCRIPTIONS)
}

fn profile_resource_id(p: usize) -> String {
    format!(
        "/subscriptions/{}/resourceGroups/{}/providers/Microsoft.Network/trafficManagerProfiles/fleet-{}",
        subscription(p),
        resource_group(p),
        uid(1, p)
    )
}

fn metadata(name: &str, namespace: &str, uid: String, generation: i64, version: usize) -> Value {
    json!({
        "name": name,
        "namespace": namespace,
        "uid": uid,
        "generation": generation,
        "resourceVersion": version.to_string(),
        "creationTimestamp": "2026-03-02T08:00:00Z",
    })
}

fn condition(type_: &str, status: &str, reason: &str, message: &str, observed: i64) -> Value {
    json!({
        "type": type_,
        "status": status,
        "reason": reason,
        "message": message,
        "observedGeneration": observed,
        "lastTransitionTime": "2026-03-02T08:01:30Z",
    })
}

/// Returns profile `p`, whose index sets its problem: 8 in 30 profiles have one.
fn profile(p: usize) -> Value {
    let namespace = namespace_of_profile(p);
    let name = profile_name(p);
    let generation = 2;
    let arm_url = format!(
        "https://management.azure.com/subscriptions/{}/resourceGroups/{}/providers/Microsoft.Network/trafficmanagerprofiles/fleet-{}",
        subscription(p),
        resource_group(p),
        uid(1, p)
    );
    let programmed = |status: &str, reason: &str, message: &str, observed: i64| json!({"conditions": [condition("Programmed", status, reason, message, observed)]});
    let status = match p % 30 {
        0 => programmed("False", "Invalid", &authorization_dump(&arm_url, p), 2),
        1 => programmed(
            "False",
            "DNSNameNotAvailable",
            "Domain name is not available. Please choose a different profile name or namespace",
            2,
        ),
        2 => programmed(
            "False",
            "Invalid",
            "Azure Traffic Manager profile limits reached.",
            2,
        ),
        3 => programmed("False", "Invalid", &bad_request_dump(&arm_url, p), 2),
        4 => programmed("Unknown", "Pending", &throttled_dump(&arm_url), 2),
        5 => {
            // Healthy once, then its spec changed and the controller has not caught up.
            let mut status = healthy_profile_status(p, &namespace, &name);
            status["conditions"][0]["observedGeneration"] = json!(1);
            status
        }
        6 => json!(null),
        7 => programmed(
            "False",
            "FeatureGateDisabled",
            "The profile is waiting for a feature gate that this exporter does not know",
            2,
        ),
        _ => healthy_profile_status(p, &namespace, &name),
    };
    let mut object = json!({
        "apiVersion": TRAFFIC_MANAGER_API,
        "kind": "TrafficManagerProfile",
        "metadata": metadata(&name, &namespace, uid(1, p), generation, 1_000_000 + p),
        "spec": {
            "resourceGroup": resource_group(p),
            "monitorConfig": {"path": "/healthz", "port": 443, "protocol": "HTTPS"},
        },
    });
    if !status.is_null() {
        object["status"] = status;
    }
    object
}

fn healthy_profile_status(p: usize, namespace: &str, name: &str) -> Value {
    json!({
        "conditions": [condition(
            "Programmed",
            "True",
            "Programmed",
            "Successfully configured the Azure Traffic Manager profile",
            2,
        )],
        "dnsName": format!("{namespace}-{name}.trafficmanager.net"),
        "resourceID": profile_resource_id(p),
    })
}

/// Returns backend `b` of profile `p`; 9 in 40 backends carry a problem. Every backend
/// lists its endpoints, as a backend keeps the endpoints it programmed before it failed.
fn backend(scale: &Scale, p: usize, b: usize) -> Value {
    let namespace = namespace_of_profile(p);
    let name = backend_name(b);
    let service = service_name(b);
    let profile = profile_name(p);
    let accepted = |status: &str, reason: &str, message: &str| {
        condition("Accepted", status, reason, message, 1)
    };
    let endpoints_accepted = format!(
        "{} service(s) exported from clusters have been accepted as Traffic Manager endpoints",
        scale.endpoints_per_backend
    );
    let mut weight = json!(100);
    let condition = match b % 40 {
        0 => accepted(
            "False",
            "Invalid",
            &format!("TrafficManagerProfile \"{profile}\" is not found"),
        ),
        1 => accepted(
            "False",
            "Invalid",
            &format!(
                "Invalid trafficManagerProfile \"{profile}\": Domain name is not available. Please choose a different profile name or namespace"
            ),
        ),
        2 => accepted(
            "False",
            "Invalid",
            &format!("ServiceImport \"{service}\" is not found"),
        ),
        3 => accepted(
            "False",
            "Invalid",
            &format!(
                "1 service(s) exported from clusters cannot be exposed as the Azure Traffic Manager, for example, service exported from {} is invalid: unsupported service type \"ClusterIP\"",
                cluster_name(b % scale.clusters.max(1))
            ),
        ),
        4 => accepted(
            "False",
            "Invalid",
            &format!(
                "Azure Traffic Manager profile \"fleet-{}\" under \"{}\" is not found",
                uid(1, p),
                resource_group(p)
            ),
        ),
        5 => condition(
            "Programmed",
            "False",
            "Invalid",
            "Azure Traffic Manager profile limits reached.",
            1,
        ),
        6 => accepted("False", "Invalid", &endpoint_failure_dump(p, b)),
        7 => {
            weight = json!(0);
            accepted(
                "True",
                "Accepted",
                "Backend weight is 0 so no endpoints are created",
            )
        }
        8 => accepted(
            "False",
            "FeatureGateDisabled",
            "The backend is waiting for a feature gate that this exporter does not know",
        ),
        9 => accepted("Unknown", "Pending", "Reconciling the backend"),
        _ => accepted("True", "Accepted", &endpoints_accepted),
    };
    let endpoints: Vec<Value> = (0..scale.endpoints_per_backend)
        .map(|e| endpoint(scale, p, b, e))
        .collect();
    json!({
        "apiVersion": TRAFFIC_MANAGER_API,
        "kind": "TrafficManagerBackend",
        "metadata": metadata(&name, &namespace, uid(2, b), 1, 2_000_000 + b),
        "spec": {
            "profile": {"name": profile},
            "backend": {"name": service},
            "weight": weight,
        },
        "status": {
            "conditions": [condition],
            "endpoints": endpoints,
        },
    })
}

fn endpoint_cluster(scale: &Scale, b: usize, e: usize) -> String {
    cluster_name((b + e) % scale.clusters.max(1))
}

fn endpoint(scale: &Scale, p: usize, b: usize, e: usize) -> Value {
    let cluster = endpoint_cluster(scale, b, e);
    let endpoint_name = format!("fleet-{}#{}#{}", uid(2, b), service_name(b), cluster);
    let export_weight = 1 + (e as i64 % 3);
    json!({
        "name": endpoint_name,
        "resourceID": format!("{}/azureEndpoints/{}", profile_resource_id(p), endpoint_name),
        "target": format!("{}-{}.westeurope.cloudapp.azure.com", service_name(b), cluster),
        "weight": 100 * export_weight / 6,
        "from": {"cluster": cluster, "weight": export_weight},
    })
}

fn service_import(scale: &Scale, p: usize, b: usize) -> Value {
    let clusters: Vec<Value> = (0..scale.endpoints_per_backend)
        .map(|e| json!({"cluster": endpoint_cluster(scale, b, e)}))
        .collect();
    json!({
        "apiVersion": SERVICE_API,
        "kind": "ServiceImport",
        "metadata": metadata(&service_name(b), &namespace_of_profile(p), uid(3, b), 1, 3_000_000 + b),
        "status": {
            "type": "ClusterSetIP",
            "ports": [{"port": 443, "protocol": "TCP"}],
            "clusters": clusters,
        },
    })
}

/// Returns export `k` of cluster `c`; one in five cannot become an endpoint.
fn export(scale: &Scale, c: usize, k: usize) -> Value {
    let i = c * scale.exports_per_cluster + k;
    let b = i % scale.backends().max(1);
    let p = b / scale.backends_per_profile.max(1);
    let namespace = namespace_of_profile(p);
    let service = service_name(b);
    let cluster = cluster_name(c);
    let public_ip = format!(
        "/subscriptions/{}/resourceGroups/mc_{cluster}/providers/Microsoft.Network/publicIPAddresses/kubernetes-{service}",
        subscription(p)
    );
    let mut spec = json!({
        "type": "LoadBalancer",
        "isDNSLabelConfigured": true,
        "isInternalLoadBalancer": false,
        "publicIPResourceID": public_ip,
        "weight": 1 + (k % 3),
        "ports": [{"port": 443, "protocol": "TCP"}],
        "serviceReference": {
            "clusterId": cluster,
            "kind": "Service",
            "namespace": namespace,
            "name": service,
            "namespacedName": format!("{namespace}/{service}"),
            "resourceVersion": (10 + k).to_string(),
            "generation": 1,
            "uid": uid(5, i),
        },
    });
    match i % 20 {
        0 => spec["type"] = json!("ClusterIP"),
        1 => spec["isInternalLoadBalancer"] = json!(true),
        2 => {
            spec.as_object_mut().map(|s| s.remove("publicIPResourceID"));
        }
        3 => spec["isDNSLabelConfigured"] = json!(false),
        _ => {}
    }
    json!({
        "apiVersion": SERVICE_API,
        "kind": "InternalServiceExport",
        "metadata": metadata(&format!("{namespace}-{service}"), &format!("fleet-member-{cluster}"), uid(4, i), 1, 4_000_000 + i),
        "spec": spec,
    })
}

/// Returns a 403 from Azure Resource Manager as the Azure SDK for Go prints it, about 1.1 KiB.
fn authorization_dump(arm_url: &str, p: usize) -> String {
    let scope = arm_url.trim_start_matches("https://management.azure.com");
    format!(
        "Invalid profile: GET {arm_url}\n\
         --------------------------------------------------------------------------------\n\
         RESPONSE 403: 403 Forbidden\n\
         ERROR CODE: AuthorizationFailed\n\
         --------------------------------------------------------------------------------\n\
         {{\n  \"error\": {{\n    \"code\": \"AuthorizationFailed\",\n    \"message\": \"The client \
         '{client}' with object id '{client}' does not have authorization to perform action \
         'Microsoft.Network/trafficmanagerprofiles/read' over scope '{scope}' or the scope is \
         invalid. If access was recently granted, please refresh your credentials.\"\n  }}\n}}\n\
         --------------------------------------------------------------------------------\n",
        client = uid(9, p),
    )
}

/// Returns a 400 from Azure Resource Manager with a detailed body, about 2.3 KiB.
fn bad_request_dump(arm_url: &str, p: usize) -> String {
    let mut details = String::new();
    for (i, field) in [
        "monitorConfig.path",
        "monitorConfig.port",
        "monitorConfig.protocol",
        "dnsConfig.ttl",
        "trafficRoutingMethod",
    ]
    .iter()
    .enumerate()
    {
        if i > 0 {
            details.push_str(",\n");
        }
        details.push_str(&format!(
            "      {{\n        \"code\": \"InvalidParameter\",\n        \"target\": \"properties.{field}\",\n        \"message\": \"The value supplied for properties.{field} of Traffic Manager profile 'fleet-{}' is not valid for the routing method and monitor protocol configured on the profile.\"\n      }}",
            uid(1, p)
        ));
    }
    format!(
        "Failed to create or update the profile: PUT {arm_url}\n\
         --------------------------------------------------------------------------------\n\
         RESPONSE 400: 400 Bad Request\n\
         ERROR CODE: BadRequest\n\
         --------------------------------------------------------------------------------\n\
         {{\n  \"error\": {{\n    \"code\": \"BadRequest\",\n    \"message\": \"One or more \
         properties of the Azure Traffic Manager profile are not valid.\",\n    \"details\": [\n{details}\n    ]\n  }}\n}}\n\
         --------------------------------------------------------------------------------\n"
    )
}

/// Returns a 429 from Azure Resource Manager, after which the controller retries.
fn throttled_dump(arm_url: &str) -> String {
    format!(
        "Failed to configure profile and retrying: PUT {arm_url}\n\
         --------------------------------------------------------------------------------\n\
         RESPONSE 429: 429 Too Many Requests\n\
         ERROR CODE: TooManyRequests\n\
         --------------------------------------------------------------------------------\n"
    )
}

/// Returns the message of an endpoint that Azure rejected and an export that cannot
/// become an endpoint.
fn endpoint_failure_dump(p: usize, b: usize) -> String {
    format!(
        "1 endpoint(s) failed to be created/updated in the Azure Traffic Manager, for example, \
         PUT https://management.azure.com/subscriptions/{}/resourceGroups/{}/providers/Microsoft.Network/trafficmanagerprofiles/fleet-{}/azureEndpoints/fleet-{}#{}#aks-member-000 \
         RESPONSE 400: 400 Bad Request ERROR CODE: BadRequest {{\"error\": {{\"code\": \"BadRequest\", \
         \"message\": \"The endpoint target is not a valid public IP address.\"}}}}; 1 service(s) \
         exported from clusters cannot be exposed as the Azure Traffic Manager, for example, \
         service exported from aks-member-001 is invalid: internal load balancer is not supported",
        subscription(p),
        resource_group(p),
        uid(1, p),
        uid(2, b),
        service_name(b)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_match_scale() {
        let scale = Scale::TINY;
        let objects = generate(&scale);
        assert_eq!(objects.len(), scale.objects());
        let count = |kind: &str| objects.iter().filter(|o| o["kind"] == kind).count();
        assert_eq!(count("TrafficManagerProfile"), scale.profiles);
        assert_eq!(count("TrafficManagerBackend"), scale.backends());
        assert_eq!(count("ServiceImport"), scale.service_imports());
        assert_eq!(count("InternalServiceExport"), scale.exports());
        let endpoints: usize = objects
            .iter()
            .filter_map(|o| o["status"]["endpoints"].as_array())
            .map(Vec::len)
            .sum();
        assert_eq!(endpoints, scale.endpoints());
    }

    #[test]
    fn reference_scale_is_ten_times_a_large_fleet() {
        let scale = Scale::REFERENCE;
        assert_eq!(scale.backends(), 20_000);
        assert_eq!(scale.endpoints(), 100_000);
        assert_eq!(scale.exports(), 40_000);
        assert_eq!(scale.divided_by(10).objects() * 10, scale.objects());
    }

    #[test]
    fn long_azure_dumps_in_range() {
        let objects = generate(&Scale::TINY);
        let longest = objects
            .iter()
            .filter_map(|o| o["status"]["conditions"][0]["message"].as_str())
            .map(str::len)
            .max()
            .unwrap();
        assert!(
            (1024..=3072).contains(&longest),
            "longest message {longest}"
        );
    }

    #[test]
    fn identities_unique() {
        let objects = generate(&Scale::TINY);
        let mut keys: Vec<String> = objects
            .iter()
            .map(|o| {
                format!(
                    "{} {} {}",
                    o["kind"], o["metadata"]["namespace"], o["metadata"]["name"]
                )
            })
            .collect();
        keys.sort();
        keys.dedup();
        assert_eq!(keys.len(), objects.len());
    }

    #[test]
    fn snapshot_file_is_a_list() {
        let dir = std::env::temp_dir().join(format!("synthetic-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("hub.json");
        write_snapshot_of_scale(&path, &Scale::TINY).unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        std::fs::remove_dir_all(&dir).unwrap();
        let list: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(list["kind"], "List");
        assert_eq!(
            list["items"].as_array().unwrap().len(),
            Scale::TINY.objects()
        );
        assert_eq!(list["items"], Value::Array(generate(&Scale::TINY)));
    }
}
