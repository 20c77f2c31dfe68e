//! The troubleshooting catalogue: every kind, scenario and problem the exporter reports.
//!
//! The string returned by each `as_str` is a stable label value. Dashboards, alert rules,
//! runbook file names and the README all use these strings, and the tests check them
//! against this module, so a value is added or renamed here first.

use std::fmt;

/// Hub object kinds that the exporter reads, all in group `networking.fleet.azure.com`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Kind {
    TrafficManagerProfile,
    TrafficManagerBackend,
    ServiceImport,
    InternalServiceExport,
}

impl Kind {
    /// Every kind, in the order the exposition lists them.
    pub const ALL: [Kind; 4] = [
        Kind::TrafficManagerProfile,
        Kind::TrafficManagerBackend,
        Kind::ServiceImport,
        Kind::InternalServiceExport,
    ];

    /// Returns the Kubernetes `kind`, which is also the `kind` label value.
    pub const fn as_str(self) -> &'static str {
        match self {
            Kind::TrafficManagerProfile => "TrafficManagerProfile",
            Kind::TrafficManagerBackend => "TrafficManagerBackend",
            Kind::ServiceImport => "ServiceImport",
            Kind::InternalServiceExport => "InternalServiceExport",
        }
    }

    /// Returns the lower-case plural resource name used in API paths and RBAC rules.
    pub const fn plural(self) -> &'static str {
        match self {
            Kind::TrafficManagerProfile => "trafficmanagerprofiles",
            Kind::TrafficManagerBackend => "trafficmanagerbackends",
            Kind::ServiceImport => "serviceimports",
            Kind::InternalServiceExport => "internalserviceexports",
        }
    }

    /// Returns the short name `kubectl` accepts, where the CRD defines one.
    pub const fn kubectl_name(self) -> &'static str {
        match self {
            Kind::TrafficManagerProfile => "trafficmanagerprofile",
            Kind::TrafficManagerBackend => "trafficmanagerbackend",
            Kind::ServiceImport => "serviceimport",
            Kind::InternalServiceExport => "internalserviceexport",
        }
    }

    /// Returns the troubleshooting scenario of a kind whose condition is classified.
    pub const fn scenario(self) -> Option<Scenario> {
        match self {
            Kind::TrafficManagerProfile => Some(Scenario::ProfileCreation),
            Kind::TrafficManagerBackend => Some(Scenario::BackendCreation),
            Kind::ServiceImport | Kind::InternalServiceExport => None,
        }
    }

    /// Parses a Kubernetes `kind` string; matching is exact, as the API server sends it.
    pub fn from_kind_str(kind: &str) -> Option<Kind> {
        Kind::ALL.into_iter().find(|k| k.as_str() == kind)
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Troubleshooting scenario: which object failed to be created.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Scenario {
    /// A TrafficManagerProfile, or the Azure Traffic Manager profile behind it, is not created.
    ProfileCreation,
    /// A TrafficManagerBackend, or its Azure Traffic Manager endpoints, is not created.
    BackendCreation,
}

impl Scenario {
    pub const ALL: [Scenario; 2] = [Scenario::ProfileCreation, Scenario::BackendCreation];

    pub const fn as_str(self) -> &'static str {
        match self {
            Scenario::ProfileCreation => "profile_creation",
            Scenario::BackendCreation => "backend_creation",
        }
    }

    /// Returns the condition type the controller sets for this scenario.
    pub const fn condition_type(self) -> &'static str {
        match self {
            Scenario::ProfileCreation => "Programmed",
            Scenario::BackendCreation => "Accepted",
        }
    }

    /// Returns the problems that can occur in this scenario, documented ones first.
    pub fn problems(self) -> &'static [Problem] {
        match self {
            Scenario::ProfileCreation => &[
                Problem::AuthorizationFailed,
                Problem::DnsNameNotAvailable,
                Problem::ProfileLimitReached,
                Problem::AzureError,
                Problem::Pending,
                Problem::NotReconciled,
                Problem::Unclassified,
            ],
            Scenario::BackendCreation => &[
                Problem::ProfileMissingOrInvalid,
                Problem::ServiceExportInvalid,
                Problem::AzureProfileNotFound,
                Problem::EndpointLimitReached,
                Problem::AzureError,
                Problem::Pending,
                Problem::NotReconciled,
                Problem::Unclassified,
            ],
        }
    }
}

impl fmt::Display for Scenario {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A problem the classifier can find on a profile or backend condition.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Problem {
    AuthorizationFailed,
    DnsNameNotAvailable,
    ProfileLimitReached,
    ProfileMissingOrInvalid,
    ServiceExportInvalid,
    AzureProfileNotFound,
    EndpointLimitReached,
    AzureError,
    Pending,
    NotReconciled,
    Unclassified,
}

impl Problem {
    pub const ALL: [Problem; 11] = [
        Problem::AuthorizationFailed,
        Problem::DnsNameNotAvailable,
        Problem::ProfileLimitReached,
        Problem::ProfileMissingOrInvalid,
        Problem::ServiceExportInvalid,
        Problem::AzureProfileNotFound,
        Problem::EndpointLimitReached,
        Problem::AzureError,
        Problem::Pending,
        Problem::NotReconciled,
        Problem::Unclassified,
    ];

    pub const fn as_str(self) -> &'static str {
        match self {
            Problem::AuthorizationFailed => "authorization_failed",
            Problem::DnsNameNotAvailable => "dns_name_not_available",
            Problem::ProfileLimitReached => "profile_limit_reached",
            Problem::ProfileMissingOrInvalid => "profile_missing_or_invalid",
            Problem::ServiceExportInvalid => "service_export_invalid",
            Problem::AzureProfileNotFound => "azure_profile_not_found",
            Problem::EndpointLimitReached => "endpoint_limit_reached",
            Problem::AzureError => "azure_error",
            Problem::Pending => "pending",
            Problem::NotReconciled => "not_reconciled",
            Problem::Unclassified => "unclassified",
        }
    }

    /// Parses a label value back into a problem.
    pub fn from_label(value: &str) -> Option<Problem> {
        Problem::ALL.into_iter().find(|p| p.as_str() == value)
    }

    /// Reports whether the public troubleshooting guide documents this problem; the other
    /// three are states the exporter adds so that nothing is silently dropped.
    pub const fn is_documented(self) -> bool {
        !matches!(
            self,
            Problem::Pending | Problem::NotReconciled | Problem::Unclassified
        )
    }

    /// Returns a one-line description for help text, reports and dashboards.
    pub const fn summary(self) -> &'static str {
        match self {
            Problem::AuthorizationFailed => {
                "Azure denied the hub's identity access to the profile's resource group, or the resource group does not exist in the fleet's subscription."
            }
            Problem::DnsNameNotAvailable => {
                "The DNS prefix <namespace>-<name> is already used by another Traffic Manager profile somewhere in Azure."
            }
            Problem::ProfileLimitReached => {
                "The subscription has reached the Azure Traffic Manager profile limit."
            }
            Problem::ProfileMissingOrInvalid => {
                "The backend's TrafficManagerProfile is missing from its namespace or is not programmed."
            }
            Problem::ServiceExportInvalid => {
                "The backend's ServiceImport is missing, or an exported Service cannot be a Traffic Manager endpoint."
            }
            Problem::AzureProfileNotFound => {
                "The Azure Traffic Manager profile behind the backend's profile is gone, or the hub's identity may not manage its endpoints."
            }
            Problem::EndpointLimitReached => {
                "The Azure Traffic Manager endpoint limit has been reached."
            }
            Problem::AzureError => {
                "Azure Traffic Manager returned an error that has no more specific case."
            }
            Problem::Pending => "The controller hit a transient error and is retrying.",
            Problem::NotReconciled => "The controller has not processed the object's current spec.",
            Problem::Unclassified => {
                "The condition reports a failure that no classification rule recognises."
            }
        }
    }

    /// Returns the documented solution as ordered steps.
    pub const fn solution(self) -> &'static [&'static str] {
        match self {
            Problem::AuthorizationFailed => &[
                "Check that the resource group named in spec.resourceGroup exists.",
                "Check that the resource group is in the same subscription as the fleet.",
                "Grant the fleet's managed identity the Traffic Manager Contributor role, scoped to that resource group.",
            ],
            Problem::DnsNameNotAvailable => &[
                "Look up <namespace>-<name>.trafficmanager.net with nslookup or a similar tool to confirm the name is taken.",
                "Rename the profile (metadata.name) or create it in another namespace.",
                "If you change the namespace, move the TrafficManagerBackend and ServiceExport objects too, because they must share the profile's namespace.",
            ],
            Problem::ProfileLimitReached => &[
                "Delete Traffic Manager profiles that are no longer used in the subscription.",
                "Or ask Azure support to raise the Traffic Manager profile limit.",
            ],
            Problem::ProfileMissingOrInvalid => &[
                "Create the backend in the same namespace as its TrafficManagerProfile.",
                "Make sure the profile's Programmed condition is True; fix the profile first, then apply the backend again.",
                "If the profile's Azure resource is missing, delete the TrafficManagerProfile from the hub and apply it again to recreate it.",
            ],
            Problem::ServiceExportInvalid => &[
                "Export the Service with a ServiceExport, from at least one member cluster, in the backend's namespace.",
                "Make the exported Service of type LoadBalancer, not an internal load balancer.",
                "Give it an Azure public IP with a DNS name, using the service.beta.kubernetes.io/azure-dns-label-name annotation.",
            ],
            Problem::AzureProfileNotFound => &[
                "Recreate the Azure resource: delete the TrafficManagerProfile from the hub and apply it again.",
                "Grant the fleet's managed identity the Traffic Manager Contributor role on the profile's resource group.",
            ],
            Problem::EndpointLimitReached => &[
                "Delete Traffic Manager endpoints that are no longer used.",
                "Or ask Azure support to raise the Traffic Manager endpoint limit.",
            ],
            Problem::AzureError => &[
                "If the error persists, check Azure Traffic Manager in Azure Service Health.",
                "Read the hub-net-controller-manager log for the full Azure error.",
            ],
            Problem::Pending => &[
                "Wait for the controller to retry; a transient Azure error (throttling or a 5xx response) clears by itself.",
                "If it lasts, read the hub-net-controller-manager log for the error it keeps retrying.",
            ],
            Problem::NotReconciled => &[
                "Check that hub-net-controller-manager is running on the hub and is not crash-looping.",
                "Read its log for errors about this object.",
            ],
            Problem::Unclassified => &[
                "Read the condition message with kubectl get -o yaml.",
                "Report the message shape to the exporter's maintainers so a rule can be added.",
            ],
        }
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Reason an exported Service cannot become an Azure Traffic Manager endpoint.
///
/// The controller checks these in this order and reports the first that applies, so the
/// exporter reports exactly one reason per export, the same one the controller would.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Ineligibility {
    NotLoadBalancer,
    InternalLoadBalancer,
    NoPublicIp,
    NoDnsLabel,
}

impl Ineligibility {
    pub const ALL: [Ineligibility; 4] = [
        Ineligibility::NotLoadBalancer,
        Ineligibility::InternalLoadBalancer,
        Ineligibility::NoPublicIp,
        Ineligibility::NoDnsLabel,
    ];

    pub const fn as_str(self) -> &'static str {
        match self {
            Ineligibility::NotLoadBalancer => "not_load_balancer",
            Ineligibility::InternalLoadBalancer => "internal_load_balancer",
            Ineligibility::NoPublicIp => "no_public_ip",
            Ineligibility::NoDnsLabel => "no_dns_label",
        }
    }

    pub const fn summary(self) -> &'static str {
        match self {
            Ineligibility::NotLoadBalancer => "the Service is not of type LoadBalancer",
            Ineligibility::InternalLoadBalancer => "the Service uses an internal load balancer",
            Ineligibility::NoPublicIp => "the Service has no Azure public IP yet",
            Ineligibility::NoDnsLabel => "the Service's public IP has no DNS label",
        }
    }
}

impl fmt::Display for Ineligibility {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn label_values_unique() {
        let mut values: Vec<&str> = Problem::ALL.iter().map(|p| p.as_str()).collect();
        values.sort_unstable();
        values.dedup();
        assert_eq!(values.len(), Problem::ALL.len());
    }

    #[test]
    fn every_problem_in_a_scenario() {
        for problem in Problem::ALL {
            let found = Scenario::ALL
                .iter()
                .any(|s| s.problems().contains(&problem));
            assert!(found, "{problem} belongs to no scenario");
        }
    }

    #[test]
    fn problem_label_round_trip() {
        for problem in Problem::ALL {
            assert_eq!(Problem::from_label(problem.as_str()), Some(problem));
        }
    }

    #[test]
    fn every_problem_has_solution() {
        for problem in Problem::ALL {
            assert!(!problem.solution().is_empty(), "{problem} has no solution");
        }
    }
}
