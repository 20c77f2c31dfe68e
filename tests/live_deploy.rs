//! The manifests in deploy/: RBAC grants read access to exactly the four resources, and
//! the Deployment probes the endpoints the exporter serves.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

use fleet_dns_lb_exporter::catalogue::Kind;
use fleet_dns_lb_exporter::source::live::CLUSTER_ROLE;
use serde_json::Value;

fn deploy_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("deploy")
}

fn read(name: &str) -> Value {
    let path = deploy_dir().join(name);
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    serde_yaml_ng::from_str(&text)
        .unwrap_or_else(|e| panic!("{} is not valid YAML: {e}", path.display()))
}

fn strings(value: &Value) -> BTreeSet<String> {
    value
        .as_array()
        .unwrap_or_else(|| panic!("expected a list, found {value}"))
        .iter()
        .map(|v| v.as_str().expect("a string").to_owned())
        .collect()
}

#[test]
fn kustomization_lists_every_manifest() {
    let kustomization = read("kustomization.yaml");
    let listed = strings(&kustomization["resources"]);
    let present: BTreeSet<String> = std::fs::read_dir(deploy_dir())
        .unwrap()
        .map(|entry| entry.unwrap().file_name().into_string().unwrap())
        .filter(|name| name.ends_with(".yaml") && name != "kustomization.yaml")
        .collect();
    assert_eq!(listed, present);
    for name in &listed {
        let manifest = read(name);
        assert!(manifest["kind"].is_string(), "{name} has no kind");
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
fn deployment_probes_exporter_endpoints() {
    let deployment = read("deployment.yaml");
    let service = read("service.yaml");
    let container = &deployment["spec"]["template"]["spec"]["containers"][0];
    let port = &container["ports"][0];
    assert_eq!(port["containerPort"], 10041);
    assert_eq!(container["livenessProbe"]["httpGet"]["path"], "/healthz");
    assert_eq!(container["livenessProbe"]["httpGet"]["port"], port["name"]);
    assert_eq!(container["readinessProbe"]["httpGet"]["path"], "/readyz");
    assert_eq!(container["readinessProbe"]["httpGet"]["port"], port["name"]);
    assert_eq!(service["spec"]["ports"][0]["port"], 10041);
    assert_eq!(service["spec"]["ports"][0]["targetPort"], port["name"]);
    assert_eq!(
        service["spec"]["selector"],
        deployment["spec"]["template"]["metadata"]["labels"]
    );
}

#[test]
fn kubectl_kustomize_builds() {
    let Ok(output) = Command::new("kubectl")
        .args(["kustomize"])
        .arg(deploy_dir())
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
    let listed = read("kustomization.yaml")["resources"]
        .as_array()
        .unwrap()
        .len();
    assert_eq!(objects, listed, "{text}");
}
