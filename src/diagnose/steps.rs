//! The documented solution steps of each problem, with commands filled in with one
//! object's values. The step texts are the catalogue's; this module only adds commands.

use serde::Serialize;

use super::model::{ClusterFinding, Placeholder, Values};
use crate::catalogue::{Ineligibility, Kind, Problem};

/// One solution step and the commands that carry it out.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Step {
    pub text: String,
    /// Shell commands, ready to copy. A command to run somewhere other than the hub ends
    /// in a `# on ...` comment that names the place.
    pub commands: Vec<String>,
}

/// The object a finding is about, with the values its commands need.
pub struct Target<'a> {
    pub kind: Kind,
    pub namespace: &'a str,
    pub name: &'a str,
    pub values: &'a Values,
    pub clusters: &'a [ClusterFinding],
    /// A backend's `spec.backend.name`; empty for a profile.
    pub service_import_name: &'a str,
}

/// Every placeholder a command may contain, with what to put in its place.
const PLACEHOLDERS: [Placeholder; 9] = [
    Placeholder {
        placeholder: "<subscription-id>",
        meaning: "the fleet's Azure subscription ID: no profile in the input has a status.resourceID, so pass --subscription-id to fill it in",
    },
    Placeholder {
        placeholder: "<resource-group>",
        meaning: "the resource group in the profile's spec.resourceGroup, which the input does not contain",
    },
    Placeholder {
        placeholder: "<azure-profile-name>",
        meaning: "the Azure Traffic Manager profile's name, fleet-<profile uid>, which the input does not contain",
    },
    Placeholder {
        placeholder: "<fleet-resource-group>",
        meaning: "the resource group of the Fleet Manager resource",
    },
    Placeholder {
        placeholder: "<fleet-name>",
        meaning: "the name of the Fleet Manager resource",
    },
    Placeholder {
        placeholder: "<principal-id>",
        meaning: "the principal ID that the az fleet show command prints",
    },
    Placeholder {
        placeholder: "<profile-manifest>",
        meaning: "the file the TrafficManagerProfile was applied from",
    },
    Placeholder {
        placeholder: "<dns-label>",
        meaning: "a DNS label for the Service's public IP, unique within its Azure region",
    },
    Placeholder {
        placeholder: "<workspace-id>",
        meaning: "the ID of the Log Analytics workspace that receives the fleet hub's diagnostic logs",
    },
];

/// Returns the solution steps of `problem` for `target`, and the placeholders left in
/// their commands.
pub fn solution_steps(problem: Problem, target: &Target<'_>) -> (Vec<Step>, Vec<Placeholder>) {
    let mut steps: Vec<Step> = problem
        .solution()
        .iter()
        .map(|text| Step {
            text: (*text).to_owned(),
            commands: Vec::new(),
        })
        .collect();
    for (index, command) in step_commands(problem, target) {
        // The catalogue test in this module checks that every index exists.
        if let Some(step) = steps.get_mut(index) {
            step.commands.push(command);
        }
    }

    let placeholders = PLACEHOLDERS
        .iter()
        .filter(|p| {
            steps
                .iter()
                .flat_map(|s| &s.commands)
                .any(|c| c.contains(p.placeholder))
        })
        .cloned()
        .collect();
    (steps, placeholders)
}

/// Returns the commands of each step, by the step's index in the catalogue's solution.
fn step_commands(problem: Problem, target: &Target<'_>) -> Vec<(usize, String)> {
    let values = target.values;
    let namespace = target.namespace;
    let subscription = values
        .subscription_id
        .as_deref()
        .unwrap_or("<subscription-id>");
    let resource_group = values
        .resource_group
        .as_deref()
        .unwrap_or("<resource-group>");
    let azure_profile = values
        .azure_profile_name
        .as_deref()
        .unwrap_or("<azure-profile-name>");
    let profile_name = match target.kind {
        Kind::TrafficManagerProfile => target.name,
        _ => values.profile.as_ref().map_or("", |p| p.name.as_str()),
    };

    match problem {
        Problem::AuthorizationFailed => {
            let mut commands = vec![
                (
                    0,
                    format!("az group show --subscription {subscription} --name {resource_group}"),
                ),
                (
                    1,
                    "az fleet show --resource-group <fleet-resource-group> --name <fleet-name> --query id --output tsv".to_owned(),
                ),
            ];
            commands.extend(grant_commands(2, subscription, resource_group));
            commands
        }
        Problem::DnsNameNotAvailable => {
            let dns_name = values.dns_name.as_deref().unwrap_or_default();
            vec![
                (0, format!("nslookup {dns_name}")),
                (
                    2,
                    format!("kubectl get trafficmanagerbackend -n {namespace}"),
                ),
            ]
        }
        Problem::ProfileLimitReached => vec![(
            0,
            format!(
                "az network traffic-manager profile list --subscription {subscription} --output table"
            ),
        )],
        Problem::ProfileMissingOrInvalid => vec![
            (
                0,
                format!(
                    "kubectl get trafficmanagerprofile -A --field-selector metadata.name={profile_name}"
                ),
            ),
            (
                1,
                format!("kubectl get trafficmanagerprofile -n {namespace} {profile_name} -o yaml"),
            ),
            (
                2,
                format!("kubectl delete trafficmanagerprofile -n {namespace} {profile_name}"),
            ),
            (2, "kubectl apply -f <profile-manifest>".to_owned()),
        ],
        Problem::ServiceExportInvalid => service_export_commands(target),
        Problem::AzureProfileNotFound => {
            let mut commands = vec![
                (
                    0,
                    format!(
                        "az network traffic-manager profile show --subscription {subscription} --resource-group {resource_group} --name {azure_profile}"
                    ),
                ),
                (
                    0,
                    format!("kubectl delete trafficmanagerprofile -n {namespace} {profile_name}"),
                ),
                (0, "kubectl apply -f <profile-manifest>".to_owned()),
            ];
            commands.extend(grant_commands(1, subscription, resource_group));
            commands
        }
        Problem::EndpointLimitReached => vec![(
            0,
            format!(
                "az network traffic-manager endpoint list --subscription {subscription} --resource-group {resource_group} --profile-name {azure_profile} --output table"
            ),
        )],
        Problem::AzureError | Problem::Pending | Problem::NotReconciled => {
            vec![(1, log_query_command(target.kind, target.name))]
        }
        Problem::Unclassified => vec![(
            0,
            format!(
                "kubectl get {} -n {namespace} {} -o yaml",
                target.kind.kubectl_name(),
                target.name
            ),
        )],
    }
}

/// Returns the commands that find the fleet's managed identity and grant it the Traffic
/// Manager Contributor role on one resource group.
fn grant_commands(step: usize, subscription: &str, resource_group: &str) -> Vec<(usize, String)> {
    vec![
        (
            step,
            "az fleet show --resource-group <fleet-resource-group> --name <fleet-name> --query identity.principalId --output tsv".to_owned(),
        ),
        (
            step,
            format!("az role assignment create --assignee <principal-id> --role \"Traffic Manager Contributor\" --scope /subscriptions/{subscription}/resourceGroups/{resource_group}"),
        ),
    ]
}

/// Returns a query of the controller's log in Log Analytics for one object: the fleet hub
/// sends it to the AzureDiagnostics table, category fleet-hub-net-controller-manager.
fn log_query_command(kind: Kind, name: &str) -> String {
    let source_file = match kind {
        Kind::TrafficManagerBackend => "trafficmanagerbackend/controller.go",
        _ => "trafficmanagerprofile/controller.go",
    };
    format!(
        "az monitor log-analytics query --workspace <workspace-id> --analytics-query 'AzureDiagnostics | where Category == \"fleet-hub-net-controller-manager\" | where log_s contains \"{source_file}\" and log_s contains \"{name}\"'"
    )
}

fn service_export_commands(target: &Target<'_>) -> Vec<(usize, String)> {
    let namespace = target.namespace;
    let service = target.service_import_name;
    let mut commands = vec![
        (
            0,
            format!("kubectl get serviceimport -n {namespace} {service} -o yaml"),
        ),
        (
            0,
            format!(
                "kubectl get serviceexport -n {namespace} {service}   # on each member cluster"
            ),
        ),
    ];
    for cluster in target.clusters {
        let on_member = format!("# on member cluster {}", cluster.cluster);
        let get_service = format!(
            "kubectl get service -n {} {} -o yaml   {on_member}",
            cluster.service_namespace, cluster.service_name
        );
        let reason = Ineligibility::ALL
            .into_iter()
            .find(|i| i.as_str() == cluster.reason);
        match reason {
            Some(Ineligibility::NotLoadBalancer | Ineligibility::InternalLoadBalancer) => {
                commands.push((1, get_service));
            }
            Some(Ineligibility::NoPublicIp) => commands.push((2, get_service)),
            Some(Ineligibility::NoDnsLabel) => commands.push((
                2,
                format!(
                    "kubectl annotate service -n {} {} service.beta.kubernetes.io/azure-dns-label-name=<dns-label>   {on_member}",
                    cluster.service_namespace, cluster.service_name
                ),
            )),
            None => {}
        }
    }
    commands
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diagnose::model::Reference;

    fn target<'a>(kind: Kind, values: &'a Values, clusters: &'a [ClusterFinding]) -> Target<'a> {
        Target {
            kind,
            namespace: "ns",
            name: "obj",
            values,
            clusters,
            service_import_name: "svc",
        }
    }

    #[test]
    fn every_command_lands_on_a_catalogue_step() {
        let values = Values::default();
        let clusters = [ClusterFinding {
            cluster: "member-1".to_owned(),
            service_namespace: "ns".to_owned(),
            service_name: "svc".to_owned(),
            internal_service_export_namespace: "fleet-member-member-1".to_owned(),
            internal_service_export_name: "ns-svc".to_owned(),
            reason: "no_dns_label",
            explanation: "",
        }];
        for problem in Problem::ALL {
            for kind in [Kind::TrafficManagerProfile, Kind::TrafficManagerBackend] {
                let target = target(kind, &values, &clusters);
                let steps = problem.solution().len();
                for (index, command) in step_commands(problem, &target) {
                    assert!(index < steps, "{problem}: no step {index} for {command}");
                }
            }
        }
    }

    #[test]
    fn known_values_fill_role_assignment() {
        let values = Values {
            resource_group: Some("rg-tm".to_owned()),
            subscription_id: Some("sub-1".to_owned()),
            ..Values::default()
        };
        let (steps, placeholders) = solution_steps(
            Problem::AuthorizationFailed,
            &target(Kind::TrafficManagerProfile, &values, &[]),
        );
        let grant = &steps[2].commands[1];
        assert!(
            grant.ends_with("--scope /subscriptions/sub-1/resourceGroups/rg-tm"),
            "{grant}"
        );
        assert!(grant.contains("--role \"Traffic Manager Contributor\""));
        let names: Vec<&str> = placeholders.iter().map(|p| p.placeholder).collect();
        assert_eq!(
            names,
            ["<fleet-resource-group>", "<fleet-name>", "<principal-id>"]
        );
    }

    #[test]
    fn unknown_subscription_named_as_placeholder() {
        let values = Values {
            resource_group: Some("rg-tm".to_owned()),
            ..Values::default()
        };
        let (steps, placeholders) = solution_steps(
            Problem::AuthorizationFailed,
            &target(Kind::TrafficManagerProfile, &values, &[]),
        );
        assert!(steps[2].commands[1].contains("/subscriptions/<subscription-id>/"));
        assert!(
            placeholders
                .iter()
                .any(|p| p.placeholder == "<subscription-id>")
        );
    }

    #[test]
    fn backend_profile_commands_use_referred_profile() {
        let values = Values {
            profile: Some(Reference {
                namespace: "ns".to_owned(),
                name: "prof".to_owned(),
                found: false,
                problems: Vec::new(),
            }),
            ..Values::default()
        };
        let (steps, _) = solution_steps(
            Problem::ProfileMissingOrInvalid,
            &target(Kind::TrafficManagerBackend, &values, &[]),
        );
        assert_eq!(
            steps[1].commands,
            ["kubectl get trafficmanagerprofile -n ns prof -o yaml"]
        );
    }
}
