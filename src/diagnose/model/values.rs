//! The concrete values a finding's steps use, looked up across the hub's objects: the
//! profile's Azure location, a backend's profile and ServiceImport, and the member
//! clusters behind an invalid exported Service.

use std::collections::{BTreeMap, BTreeSet};

use super::{ClusterFinding, Reference, Usage, Values};
use crate::catalogue::{Kind, Problem};
use crate::classify::endpoint_eligibility;
use crate::limits::count_usage;
use crate::objects::{
    HubObject, InternalServiceExport, ServiceImport, TrafficManagerBackend, TrafficManagerProfile,
};
use crate::state::{HubConfig, HubState};

/// Objects the findings refer to, indexed once per report.
pub(super) struct Lookup<'a> {
    config: &'a HubConfig,
    profiles: BTreeMap<(&'a str, &'a str), (&'a TrafficManagerProfile, &'a [Problem])>,
    imports: BTreeSet<(&'a str, &'a str)>,
    exports: Vec<&'a InternalServiceExport>,
    /// The one subscription every programmed profile is in, if there is exactly one.
    fleet_subscription: Option<&'a str>,
    /// Endpoints per existing profile, keyed by namespace and profile name.
    endpoints: BTreeMap<(&'a str, &'a str), i64>,
    /// Programmed profiles per subscription.
    subscription_profiles: BTreeMap<&'a str, i64>,
}

impl<'a> Lookup<'a> {
    pub(super) fn new(state: &'a HubState, config: &'a HubConfig) -> Lookup<'a> {
        let mut profiles = BTreeMap::new();
        for entry in state.entries(Kind::TrafficManagerProfile) {
            if let HubObject::Profile(profile) = &entry.object {
                profiles.insert(
                    (profile.namespace(), profile.name()),
                    (&**profile, entry.problems()),
                );
            }
        }
        let usage = count_usage(state, config);
        // Subscriptions named only by --subscription-id have no profile in them.
        let named_by_profiles: Vec<&str> = usage
            .profiles_per_subscription
            .iter()
            .filter(|(_, count)| **count > 0)
            .map(|(subscription, _)| *subscription)
            .collect();
        let fleet_subscription = match named_by_profiles[..] {
            [only] => Some(only),
            _ => None,
        };

        let imports = state
            .entries(Kind::ServiceImport)
            .filter_map(|entry| match &entry.object {
                HubObject::Import(import) => Some(import_key(import)),
                _ => None,
            })
            .collect();
        let exports = state
            .entries(Kind::InternalServiceExport)
            .filter_map(|entry| match &entry.object {
                HubObject::Export(export) => Some(&**export),
                _ => None,
            })
            .collect();

        Lookup {
            config,
            profiles,
            imports,
            exports,
            fleet_subscription,
            endpoints: usage.endpoints_per_profile,
            subscription_profiles: usage.profiles_per_subscription,
        }
    }

    /// Returns the subscription of a profile and where it was read from.
    fn subscription(
        &self,
        profile: Option<&'a TrafficManagerProfile>,
    ) -> Option<(&'a str, &'static str)> {
        if let Some(subscription) = profile.and_then(|p| p.subscription_id()) {
            return Some((subscription, "status.resourceID"));
        }
        // The controller creates every profile in the fleet's subscription, so another
        // profile's resourceID names it.
        if let Some(subscription) = self.fleet_subscription {
            return Some((subscription, "another profile's status.resourceID"));
        }
        match &self.config.subscription_ids[..] {
            [only] => Some((only.as_str(), "--subscription-id")),
            _ => None,
        }
    }
}

fn import_key(import: &ServiceImport) -> (&str, &str) {
    (import.namespace(), import.name())
}

pub(super) fn profile_values(
    profile: &TrafficManagerProfile,
    problem: Problem,
    lookup: &Lookup<'_>,
) -> Values {
    let mut values = Values {
        dns_name: Some(profile.dns_name(&lookup.config.render.dns_suffix)),
        azure_profile_name: profile.azure_profile_name(),
        ..Values::default()
    };
    set_azure_location(&mut values, profile, lookup);
    if problem == Problem::ProfileLimitReached {
        values.profiles_in_subscription = values.subscription_id.as_deref().map(|sub| Usage {
            used: lookup.subscription_profiles.get(sub).copied().unwrap_or(0),
            limit: lookup.config.profile_limit,
        });
    }
    values
}

/// Fills the resource group and subscription of a profile.
fn set_azure_location<'a>(
    values: &mut Values,
    profile: &'a TrafficManagerProfile,
    lookup: &Lookup<'a>,
) {
    values.resource_group = profile
        .spec
        .resource_group
        .clone()
        .filter(|rg| !rg.is_empty());
    if let Some((subscription, source)) = lookup.subscription(Some(profile)) {
        values.subscription_id = Some(subscription.to_owned());
        values.subscription_source = Some(source);
    }
}

pub(super) fn backend_values(
    backend: &TrafficManagerBackend,
    problem: Problem,
    lookup: &Lookup<'_>,
) -> (Values, Vec<ClusterFinding>) {
    let namespace = backend.namespace();
    let profile_name = backend.spec.profile_name();
    let import_name = backend.spec.service_import_name();
    let profile = lookup.profiles.get(&(namespace, profile_name));

    let mut values = Values {
        profile: Some(Reference {
            namespace: namespace.to_owned(),
            name: profile_name.to_owned(),
            found: profile.is_some(),
            problems: profile
                .map(|(_, problems)| problems.iter().map(|p| p.as_str()).collect())
                .unwrap_or_default(),
        }),
        service_import: Some(Reference {
            namespace: namespace.to_owned(),
            name: import_name.to_owned(),
            found: lookup.imports.contains(&(namespace, import_name)),
            problems: Vec::new(),
        }),
        ..Values::default()
    };
    if profile.is_none() {
        values.profile_found_in_namespaces = lookup
            .profiles
            .keys()
            .filter(|(_, name)| *name == profile_name)
            .map(|(ns, _)| (*ns).to_owned())
            .collect();
    }

    if let Some((profile, _)) = profile {
        let needs_azure_location = matches!(
            problem,
            Problem::AzureProfileNotFound | Problem::EndpointLimitReached | Problem::AzureError
        );
        if needs_azure_location {
            values.azure_profile_name = profile.azure_profile_name();
            set_azure_location(&mut values, profile, lookup);
        }
    } else if problem == Problem::AzureProfileNotFound
        && let Some((subscription, source)) = lookup.subscription(None)
    {
        values.subscription_id = Some(subscription.to_owned());
        values.subscription_source = Some(source);
    }
    if problem == Problem::EndpointLimitReached {
        values.endpoints_in_profile = Some(Usage {
            used: lookup
                .endpoints
                .get(&(namespace, profile_name))
                .copied()
                .unwrap_or(0),
            limit: lookup.config.endpoint_limit,
        });
    }

    let clusters = if problem == Problem::ServiceExportInvalid {
        ineligible_clusters(namespace, import_name, &lookup.exports)
    } else {
        Vec::new()
    };
    (values, clusters)
}

/// Lists the exported Services behind the ServiceImport `namespace/name` that cannot be
/// Traffic Manager endpoints. A ServiceImport has the exported Service's namespace and name.
fn ineligible_clusters(
    namespace: &str,
    import_name: &str,
    exports: &[&InternalServiceExport],
) -> Vec<ClusterFinding> {
    let mut clusters = Vec::new();
    for export in exports {
        let Some(service) = export.exported_service() else {
            continue;
        };
        if service.namespace != namespace || service.name != import_name {
            continue;
        }
        let Err(ineligibility) = endpoint_eligibility(export) else {
            continue;
        };
        clusters.push(ClusterFinding {
            cluster: service.cluster.to_owned(),
            service_namespace: service.namespace.to_owned(),
            service_name: service.name.to_owned(),
            internal_service_export_namespace: export.namespace().to_owned(),
            internal_service_export_name: export.name().to_owned(),
            reason: ineligibility.as_str(),
            explanation: ineligibility.summary(),
        });
    }
    clusters.sort_by(|a, b| a.cluster.cmp(&b.cluster));
    clusters
}
