//! Every metric family derived from hub objects, with its HELP text.
//!
//! The README's metric table lists these names, and a test checks that it does.

use super::exposition::{FamilyDef, MetricType};

/// Prefix of every metric the exporter emits.
pub const PREFIX: &str = "fleet_dns_lb";

const fn gauge(name: &'static str, help: &'static str) -> FamilyDef {
    FamilyDef {
        name,
        help,
        metric_type: MetricType::Gauge,
    }
}

const fn info(name: &'static str, help: &'static str) -> FamilyDef {
    FamilyDef {
        name,
        help,
        metric_type: MetricType::Info,
    }
}

/// Families rendered per object when the object changes. The discriminant indexes
/// [`OBJECT_FAMILIES`] and the per-object offsets kept by the renderer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(usize)]
pub enum ObjectFamily {
    Problem,
    ConditionStatus,
    ConditionLastTransition,
    ConditionStale,
    ProfileInfo,
    BackendInfo,
    BackendWeight,
    BackendEndpoints,
    BackendEndpointInfo,
    BackendEndpointWeight,
    BackendEndpointExportWeight,
    ServiceImportClusters,
    ServiceExportEligible,
    ServiceExportIneligible,
    InvalidObject,
}

/// Number of [`ObjectFamily`] variants.
pub const OBJECT_FAMILY_COUNT: usize = 15;

pub const OBJECT_FAMILIES: [FamilyDef; OBJECT_FAMILY_COUNT] = [
    gauge(
        "fleet_dns_lb_problem",
        "Current troubleshooting problem of a TrafficManagerProfile or TrafficManagerBackend: 1 for each problem the object has now; no series when it is healthy. Label values are listed in the troubleshooting catalogue.",
    ),
    gauge(
        "fleet_dns_lb_condition_status",
        "Status of the object's classified condition (Programmed for profiles, Accepted for backends): 1 on the current status, 0 on the other two.",
    ),
    gauge(
        "fleet_dns_lb_condition_last_transition_timestamp_seconds",
        "lastTransitionTime of the object's classified condition, in Unix seconds.",
    ),
    gauge(
        "fleet_dns_lb_condition_stale",
        "1 when the condition's observedGeneration is lower than metadata.generation, so the controller has not processed the current spec; 0 otherwise.",
    ),
    info(
        "fleet_dns_lb_profile_info",
        "TrafficManagerProfile details: DNS name, Azure resource group, subscription and Azure profile name. subscription is empty until the profile is programmed.",
    ),
    info(
        "fleet_dns_lb_backend_info",
        "TrafficManagerBackend details: the profile it joins and the ServiceImport whose Services become endpoints.",
    ),
    gauge(
        "fleet_dns_lb_backend_weight",
        "spec.weight of a TrafficManagerBackend (1 when unset); 0 sends it no traffic.",
    ),
    gauge(
        "fleet_dns_lb_backend_endpoints",
        "Number of Azure Traffic Manager endpoints in the backend's status.",
    ),
    info(
        "fleet_dns_lb_backend_endpoint_info",
        "An Azure Traffic Manager endpoint of a backend: the member cluster it comes from and its DNS target.",
    ),
    gauge(
        "fleet_dns_lb_backend_endpoint_weight",
        "Weight of an Azure Traffic Manager endpoint, as the controller set it.",
    ),
    gauge(
        "fleet_dns_lb_backend_endpoint_export_weight",
        "Weight set on the exported Service behind an endpoint, in the member cluster.",
    ),
    gauge(
        "fleet_dns_lb_service_import_clusters",
        "Number of member clusters that export the Service behind a ServiceImport.",
    ),
    gauge(
        "fleet_dns_lb_service_export_endpoint_eligible",
        "1 when the Service exported from a member cluster can be an Azure Traffic Manager endpoint (LoadBalancer, not internal, public IP with a DNS label); 0 when it cannot.",
    ),
    gauge(
        "fleet_dns_lb_service_export_ineligible",
        "1 with the reason an exported Service cannot be a Traffic Manager endpoint: not_load_balancer, internal_load_balancer, no_public_ip or no_dns_label. Only the first failing check is reported, in the controller's order.",
    ),
    gauge(
        "fleet_dns_lb_invalid_object",
        "1 for an object whose spec or status does not match the CRD schema; the exporter log names the field.",
    ),
];

/// Families computed at scrape time from all objects together.
pub mod aggregate {
    use super::{FamilyDef, gauge};

    pub const OBJECTS: FamilyDef = gauge(
        "fleet_dns_lb_objects",
        "Number of objects of each kind the exporter holds.",
    );
    pub const PROFILE_LIMIT: FamilyDef = gauge(
        "fleet_dns_lb_profile_limit",
        "Configured Azure Traffic Manager limit of profiles per subscription (--profile-limit).",
    );
    pub const ENDPOINT_LIMIT: FamilyDef = gauge(
        "fleet_dns_lb_endpoint_limit",
        "Configured Azure Traffic Manager limit of endpoints per profile (--endpoint-limit).",
    );
    pub const SUBSCRIPTION_PROFILES: FamilyDef = gauge(
        "fleet_dns_lb_subscription_profiles",
        "Programmed TrafficManagerProfiles per Azure subscription, from status.resourceID. Counts this fleet's profiles only: other Traffic Manager profiles in the subscription use the same quota.",
    );
    pub const SUBSCRIPTION_PROFILE_HEADROOM: FamilyDef = gauge(
        "fleet_dns_lb_subscription_profile_headroom",
        "Profiles the subscription can still hold: the configured limit minus this fleet's profiles. Other Traffic Manager profiles in the subscription are not subtracted.",
    );
    pub const PROFILE_ENDPOINTS: FamilyDef = gauge(
        "fleet_dns_lb_profile_endpoints",
        "Azure Traffic Manager endpoints in use per profile, summed over the backends that join it.",
    );
    pub const PROFILE_ENDPOINT_HEADROOM: FamilyDef = gauge(
        "fleet_dns_lb_profile_endpoint_headroom",
        "Endpoints the profile can still take: the configured limit minus the endpoints in use.",
    );
    pub const LIMIT_REACHED_OBJECTS: FamilyDef = gauge(
        "fleet_dns_lb_limit_reached_objects",
        "Objects now in profile_limit_reached or endpoint_limit_reached.",
    );

    pub const ALL: [FamilyDef; 8] = [
        OBJECTS,
        PROFILE_LIMIT,
        ENDPOINT_LIMIT,
        SUBSCRIPTION_PROFILES,
        SUBSCRIPTION_PROFILE_HEADROOM,
        PROFILE_ENDPOINTS,
        PROFILE_ENDPOINT_HEADROOM,
        LIMIT_REACHED_OBJECTS,
    ];
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn family_names_prefixed_and_unique() {
        let mut names: Vec<&str> = OBJECT_FAMILIES
            .iter()
            .chain(aggregate::ALL.iter())
            .map(|f| f.name)
            .collect();
        for name in &names {
            assert!(name.starts_with(PREFIX), "{name}");
        }
        names.sort_unstable();
        let count = names.len();
        names.dedup();
        assert_eq!(names.len(), count);
    }

    #[test]
    fn info_families_end_in_info() {
        for family in OBJECT_FAMILIES {
            let is_info = family.metric_type == super::MetricType::Info;
            assert_eq!(is_info, family.name.ends_with("_info"), "{}", family.name);
        }
    }

    #[test]
    fn enum_matches_table() {
        assert_eq!(
            ObjectFamily::InvalidObject as usize + 1,
            OBJECT_FAMILY_COUNT
        );
        assert_eq!(
            OBJECT_FAMILIES[ObjectFamily::ServiceExportEligible as usize].name,
            "fleet_dns_lb_service_export_endpoint_eligible"
        );
    }
}
