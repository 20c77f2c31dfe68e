//! The Kubernetes manifests under deploy/: every file parses, the kustomization lists
//! exactly the files there, RBAC grants read access to exactly the four resources, and
//! the workload keeps the settings that a security review checks.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

use fleet_dns_lb_exporter::catalogue::Kind;
use fleet_dns_lb_exporter::source::live::CLUSTER_ROLE;

use fleet_dns_lb_exporter::cli::DEFAULT_LISTEN_ADDRESS;
use serde::Deserialize;
use serde_json::Value;

/// The user the image runs as (`USER` in the Dockerfile).
const IMAGE_USER: i64 = 65532;

fn deploy_directory() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("deploy")
}

fn manifest_files() -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(deploy_directory())
        .expect("deploy/ is missing")
        .map(|entry| entry.unwrap().path())
        .filter(|path| {
            matches!(
                path.extension().and_then(|extension| extension.to_str()),
                Some("yaml" | "yml")
            )
        })
        .collect();
    files.sort();
    files
}

/// Parses every YAML document of `path`, skipping empty ones.
fn documents(path: &Path) -> Vec<Value> {
    let text = std::fs::read_to_string(path).unwrap();
    serde_yaml_ng::Deserializer::from_str(&text)
        .map(|document| {
            Value::deserialize(document)
                .unwrap_or_else(|error| panic!("{} is not valid YAML: {error}", path.display()))
        })
        .filter(|document| !document.is_null())
        .collect()
}

fn all_objects() -> Vec<(PathBuf, Value)> {
    manifest_files()
        .into_iter()
        .flat_map(|path| {
            documents(&path)
                .into_iter()
                .map(move |document| (path.clone(), document))
        })
        .collect()
}

fn objects_of_kind(kind: &str) -> Vec<Value> {
    all_objects()
        .into_iter()
        .filter(|(_, object)| object["kind"] == kind)
        .map(|(_, object)| object)
        .collect()
}

/// Returns the one object in deploy/NAME.
fn read(name: &str) -> Value {
    let mut objects = documents(&deploy_directory().join(name));
    assert_eq!(objects.len(), 1, "deploy/{name} should hold one object");
    objects.remove(0)
}

fn strings(value: &Value) -> BTreeSet<String> {
    value
        .as_array()
        .unwrap_or_else(|| panic!("expected a list, found {value}"))
        .iter()
        .map(|v| v.as_str().expect("a string").to_owned())
        .collect()
}

fn name_of(object: &Value) -> String {
    format!(
        "{}/{}",
        object["kind"].as_str().unwrap_or("?"),
        object["metadata"]["name"].as_str().unwrap_or("?")
    )
}

#[test]
fn every_manifest_parses() {
    let files = manifest_files();
    assert!(!files.is_empty(), "deploy/ holds no manifests");
    for path in files {
        let documents = documents(&path);
        assert!(!documents.is_empty(), "{} is empty", path.display());
        for document in documents {
            let file = path.display();
            assert!(
                document["apiVersion"].is_string(),
                "{file}: a document has no apiVersion"
            );
            assert!(
                document["kind"].is_string(),
                "{file}: a document has no kind"
            );
            if document["kind"] != "Kustomization" {
                assert!(
                    document["metadata"]["name"].is_string(),
                    "{file}: {} has no metadata.name",
                    document["kind"]
                );
            }
        }
    }
}

#[test]
fn kustomization_lists_every_manifest() {
    let kustomization = documents(&deploy_directory().join("kustomization.yaml"));
    let resources: Vec<String> = kustomization[0]["resources"]
        .as_array()
        .expect("kustomization.yaml has no resources")
        .iter()
        .map(|resource| resource.as_str().unwrap().to_owned())
        .collect();
    for resource in &resources {
        assert!(
            deploy_directory().join(resource).is_file(),
            "kustomization.yaml lists {resource}, which does not exist"
        );
    }
    for path in manifest_files() {
        let file = path.file_name().unwrap().to_str().unwrap().to_owned();
        if file == "kustomization.yaml" {
            continue;
        }
        assert!(
            resources.contains(&file),
            "deploy/{file} is not listed in kustomization.yaml, so `kubectl apply -k deploy/` skips it"
        );
    }
    assert_eq!(kustomization[0]["namespace"], "fleet-dns-lb-exporter");
}

#[test]
fn namespace_enforces_restricted_pod_security() {
    let namespaces = objects_of_kind("Namespace");
    assert_eq!(namespaces.len(), 1);
    let labels = &namespaces[0]["metadata"]["labels"];
    assert_eq!(labels["pod-security.kubernetes.io/enforce"], "restricted");
}

/// Returns the pod template of the exporter's Deployment, checking there is one.
fn exporter_pod() -> Value {
    let deployments = objects_of_kind("Deployment");
    assert_eq!(
        deployments.len(),
        1,
        "expected one Deployment in deploy/, found {}",
        deployments.len()
    );
    let deployment = &deployments[0];
    assert!(
        deployment["spec"]["replicas"].as_i64().unwrap_or(1) >= 2,
        "{}: fewer than two replicas",
        name_of(deployment)
    );
    deployment["spec"]["template"].clone()
}

#[test]
fn pod_security_settings() {
    let pod = exporter_pod();
    let spec = &pod["spec"];
    let security = &spec["securityContext"];
    assert_eq!(security["runAsNonRoot"], true);
    assert_eq!(security["runAsUser"], IMAGE_USER);
    assert_eq!(security["seccompProfile"]["type"], "RuntimeDefault");

    // The watch needs a token; the pod must then use its own service account, never
    // the namespace's default one.
    assert_eq!(spec["automountServiceAccountToken"], true);
    let account = spec["serviceAccountName"].as_str().unwrap_or("default");
    assert_ne!(
        account, "default",
        "the pod uses the default service account"
    );

    for field in ["hostNetwork", "hostPID", "hostIPC"] {
        assert_ne!(spec[field], true, "{field} is set");
    }
    for volume in spec["volumes"].as_array().into_iter().flatten() {
        assert!(volume["hostPath"].is_null(), "hostPath volume {volume}");
    }
}

#[test]
fn container_security_settings() {
    let pod = exporter_pod();
    let containers = pod["spec"]["containers"].as_array().unwrap();
    let init = pod["spec"]["initContainers"].as_array().cloned();
    for container in containers.iter().chain(init.iter().flatten()) {
        let name = container["name"].as_str().unwrap_or("?");
        let security = &container["securityContext"];
        assert_eq!(security["allowPrivilegeEscalation"], false, "{name}");
        assert_eq!(security["readOnlyRootFilesystem"], true, "{name}");
        assert_ne!(security["privileged"], true, "{name}");
        assert_eq!(security["runAsNonRoot"], true, "{name}");
        assert_eq!(security["runAsUser"], IMAGE_USER, "{name}");
        assert_eq!(
            security["seccompProfile"]["type"], "RuntimeDefault",
            "{name}"
        );
        let dropped: Vec<&str> = security["capabilities"]["drop"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .collect();
        assert!(
            dropped.contains(&"ALL"),
            "{name}: capabilities not all dropped"
        );
        assert!(
            security["capabilities"]["add"].is_null(),
            "{name}: adds capabilities"
        );

        for kind in ["requests", "limits"] {
            for resource in ["cpu", "memory"] {
                assert!(
                    container["resources"][kind][resource].is_string(),
                    "{name}: resources.{kind}.{resource} missing"
                );
            }
        }
    }
}

#[test]
fn probes_use_health_endpoints() {
    let pod = exporter_pod();
    let container = &pod["spec"]["containers"][0];
    let port = DEFAULT_LISTEN_ADDRESS
        .rsplit(':')
        .next()
        .unwrap()
        .parse::<i64>()
        .unwrap();
    let ports = container["ports"]
        .as_array()
        .expect("the exporter container has no ports");
    let metrics_port = ports
        .iter()
        .find(|entry| entry["containerPort"] == port)
        .unwrap_or_else(|| panic!("no containerPort {port}"));
    let port_name = metrics_port["name"].as_str().expect("the port has no name");

    for (probe, path) in [("livenessProbe", "/healthz"), ("readinessProbe", "/readyz")] {
        let get = &container[probe]["httpGet"];
        assert_eq!(get["path"], path, "{probe}");
        assert!(
            get["port"] == port_name || get["port"] == port,
            "{probe} checks port {}, not the metrics port",
            get["port"]
        );
    }
}

#[test]
fn service_monitor_scrapes_metrics_port() {
    let monitors = objects_of_kind("ServiceMonitor");
    assert_eq!(monitors.len(), 1);
    let monitor = &monitors[0];
    assert_eq!(monitor["apiVersion"], "monitoring.coreos.com/v1");
    let endpoint = &monitor["spec"]["endpoints"][0];
    assert_eq!(endpoint["path"], "/metrics");
    assert_eq!(
        endpoint["honorLabels"], true,
        "without honorLabels the object's namespace label becomes exported_namespace"
    );
    let port_name = endpoint["port"]
        .as_str()
        .expect("the ServiceMonitor endpoint has no port");

    let pod = exporter_pod();
    let container_ports: Vec<&str> = pod["spec"]["containers"][0]["ports"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|entry| entry["name"].as_str())
        .collect();
    assert!(
        container_ports.contains(&port_name),
        "the ServiceMonitor scrapes port {port_name}, which the container does not name"
    );

    // A Service joins the two; check it wherever deploy/ defines one.
    let pod_labels = &pod["metadata"]["labels"];
    for service in objects_of_kind("Service") {
        let service_name = name_of(&service);
        let selector = service["spec"]["selector"].as_object().unwrap();
        for (key, value) in selector {
            assert_eq!(
                &pod_labels[key], value,
                "{service_name} selects {key}={value}, which the pods lack"
            );
        }
        let service_ports: Vec<&str> = service["spec"]["ports"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|entry| entry["name"].as_str())
            .collect();
        assert!(
            service_ports.contains(&port_name),
            "{service_name} has no port named {port_name} for the ServiceMonitor"
        );
        let service_labels = &service["metadata"]["labels"];
        for (key, value) in monitor["spec"]["selector"]["matchLabels"]
            .as_object()
            .unwrap()
        {
            assert_eq!(
                &service_labels[key], value,
                "the ServiceMonitor selects {key}={value}, which {service_name} lacks"
            );
        }
    }
}

#[test]
fn cluster_role_grants_only_reads() {
    let role = read("clusterrole.yaml");
    assert_eq!(role["kind"], "ClusterRole");
    assert_eq!(role["metadata"]["name"], CLUSTER_ROLE);

    let allowed: BTreeSet<String> = ["get", "list", "watch"].map(str::to_owned).into();
    let expected_resources: BTreeSet<String> =
        Kind::ALL.iter().map(|k| k.plural().to_owned()).collect();
    let mut granted_resources = BTreeSet::new();
    for rule in role["rules"].as_array().expect("rules") {
        let verbs = strings(&rule["verbs"]);
        assert!(verbs.is_subset(&allowed), "rule grants {verbs:?}: {rule}");
        assert!(!verbs.contains("*"), "{rule}");
        if rule.get("nonResourceURLs").is_some() {
            assert_eq!(verbs, ["get".to_owned()].into(), "{rule}");
            for url in strings(&rule["nonResourceURLs"]) {
                assert!(
                    url == "/version" || url.starts_with("/api"),
                    "non-resource URL {url} is not a discovery path"
                );
            }
            continue;
        }
        assert_eq!(
            strings(&rule["apiGroups"]),
            ["networking.fleet.azure.com".to_owned()].into(),
            "{rule}"
        );
        assert_eq!(verbs, allowed, "{rule}");
        granted_resources.extend(strings(&rule["resources"]));
    }
    assert_eq!(granted_resources, expected_resources);
}

#[test]
fn binding_connects_role_and_account() {
    let binding = read("clusterrolebinding.yaml");
    let account = read("serviceaccount.yaml");
    let deployment = read("deployment.yaml");
    assert_eq!(binding["roleRef"]["kind"], "ClusterRole");
    assert_eq!(binding["roleRef"]["name"], CLUSTER_ROLE);
    let subject = &binding["subjects"][0];
    assert_eq!(subject["kind"], "ServiceAccount");
    assert_eq!(subject["name"], account["metadata"]["name"]);
    assert_eq!(
        subject["namespace"],
        read("kustomization.yaml")["namespace"]
    );
    assert_eq!(
        deployment["spec"]["template"]["spec"]["serviceAccountName"],
        account["metadata"]["name"]
    );
}

#[test]
fn kubectl_kustomize_builds() {
    let Ok(output) = Command::new("kubectl")
        .args(["kustomize"])
        .arg(deploy_directory())
        .output()
    else {
        println!("NOTE: kubectl is not installed, so `kubectl kustomize deploy/` was not checked");
        return;
    };
    assert!(
        output.status.success(),
        "kubectl kustomize deploy/ failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let text = String::from_utf8_lossy(&output.stdout);
    let objects = text
        .lines()
        .filter(|line| line.starts_with("kind: "))
        .count();
    // Every object of every listed file, and nothing else, comes out of the build.
    let listed: usize = read("kustomization.yaml")["resources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|file| documents(&deploy_directory().join(file.as_str().unwrap())).len())
        .sum();
    assert_eq!(objects, listed, "{text}");
}
