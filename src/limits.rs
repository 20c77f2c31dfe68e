//! Azure Traffic Manager limit usage: profiles per subscription and endpoints per profile,
//! counted from the current objects. The metrics and the `diagnose` report both read it.

use std::collections::BTreeMap;

use crate::catalogue::Kind;
use crate::objects::HubObject;
use crate::state::{HubConfig, HubState};

/// Usage counts, borrowing names from the state they were counted from.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct LimitUsage<'a> {
    /// Programmed profiles per subscription ID, from `status.resourceID`. Subscriptions
    /// named with `--subscription-id` are present with 0 when no profile names them.
    pub profiles_per_subscription: BTreeMap<&'a str, i64>,
    /// Profiles whose status has no `resourceID` yet, so no subscription is known.
    pub profiles_without_subscription: usize,
    /// Endpoints per profile, keyed by (namespace, name), summed over the backends that
    /// name the profile. Every profile has an entry; a backend whose profile is missing
    /// counts nowhere.
    pub endpoints_per_profile: BTreeMap<(&'a str, &'a str), i64>,
}

/// Counts limit usage over every profile and backend in `state`.
pub fn count_usage<'a>(state: &'a HubState, config: &'a HubConfig) -> LimitUsage<'a> {
    let mut usage = LimitUsage {
        profiles_per_subscription: config
            .subscription_ids
            .iter()
            .map(|id| (id.as_str(), 0))
            .collect(),
        ..LimitUsage::default()
    };
    for entry in state.entries(Kind::TrafficManagerProfile) {
        let HubObject::Profile(profile) = &entry.object else {
            continue;
        };
        match profile.subscription_id() {
            Some(subscription) => {
                *usage
                    .profiles_per_subscription
                    .entry(subscription)
                    .or_default() += 1;
            }
            None => usage.profiles_without_subscription += 1,
        }
        usage
            .endpoints_per_profile
            .insert((profile.namespace(), profile.name()), 0);
    }
    for entry in state.entries(Kind::TrafficManagerBackend) {
        let HubObject::Backend(backend) = &entry.object else {
            continue;
        };
        let key = (backend.namespace(), backend.spec.profile_name());
        if let Some(endpoints) = usage.endpoints_per_profile.get_mut(&key) {
            *endpoints += i64::try_from(backend.endpoints().len()).unwrap_or(i64::MAX);
        }
    }
    usage
}
