//! The sections after the problems: healthy objects, limit headroom, and the objects the
//! controller has not reconciled.

use super::{Headroom, Healthy, NotReconciled, ProfileHeadroom, SubscriptionHeadroom, Tally};
use crate::catalogue::{Kind, Problem};
use crate::classify::{backend_condition, profile_condition};
use crate::limits::count_usage;
use crate::objects::{Condition, HubObject};
use crate::state::{HubConfig, HubState};

pub(super) fn build_healthy(state: &HubState) -> Healthy {
    let tally = |kind: Kind| Tally {
        healthy: state
            .entries(kind)
            .filter(|e| e.problems().is_empty())
            .count(),
        total: state.len(kind),
    };
    let mut objects = Vec::new();
    let mut notes = Vec::new();
    for kind in [Kind::TrafficManagerProfile, Kind::TrafficManagerBackend] {
        for entry in state.entries(kind).filter(|e| e.problems().is_empty()) {
            let key = entry.object.key();
            objects.push(key.to_string());
            if let HubObject::Backend(backend) = &entry.object {
                if backend.spec.effective_weight() == 0 {
                    notes.push(format!("{key} has weight 0, so it receives no traffic"));
                } else if backend.endpoints().is_empty() {
                    notes.push(format!("{key} has no endpoints, so it receives no traffic"));
                }
            }
        }
    }
    Healthy {
        profiles: tally(Kind::TrafficManagerProfile),
        backends: tally(Kind::TrafficManagerBackend),
        objects,
        notes,
    }
}

pub(super) fn build_headroom(state: &HubState, config: &HubConfig) -> Headroom {
    let usage = count_usage(state, config);
    let profiles_without_subscription = usage.profiles_without_subscription;

    let mut subscriptions: Vec<SubscriptionHeadroom> = usage
        .profiles_per_subscription
        .into_iter()
        .map(|(subscription, profiles)| SubscriptionHeadroom {
            subscription_id: subscription.to_owned(),
            profiles,
            headroom: config.profile_limit - profiles,
        })
        .collect();
    subscriptions.sort_by_key(|s| s.headroom);
    let mut profiles: Vec<ProfileHeadroom> = usage
        .endpoints_per_profile
        .into_iter()
        .map(|((namespace, name), endpoints)| ProfileHeadroom {
            namespace: namespace.to_owned(),
            name: name.to_owned(),
            endpoints,
            headroom: config.endpoint_limit - endpoints,
        })
        .collect();
    profiles.sort_by_key(|p| p.headroom);

    Headroom {
        profile_limit: config.profile_limit,
        endpoint_limit: config.endpoint_limit,
        subscriptions,
        profiles_without_subscription,
        profiles,
    }
}

pub(super) fn build_not_reconciled(state: &HubState) -> Vec<NotReconciled> {
    let mut list = Vec::new();
    for kind in [Kind::TrafficManagerProfile, Kind::TrafficManagerBackend] {
        for entry in state.entries(kind) {
            if !entry.problems().contains(&Problem::NotReconciled) {
                continue;
            }
            let Some(classification) = &entry.classification else {
                continue;
            };
            let condition_type = classification.scenario.condition_type();
            let detail = match (&entry.object, &classification.condition) {
                (HubObject::Profile(p), Some(_)) => {
                    stale_detail(profile_condition(p), p.generation())
                }
                (HubObject::Backend(b), Some(_)) => {
                    stale_detail(backend_condition(b), b.generation())
                }
                _ => format!("the status has no {condition_type} condition yet"),
            };
            let key = entry.object.key();
            list.push(NotReconciled {
                kind: kind.as_str(),
                namespace: key.namespace,
                name: key.name,
                detail,
            });
        }
    }
    list
}

fn stale_detail(condition: Option<&Condition>, generation: Option<i64>) -> String {
    let observed = condition.and_then(|c| c.observed_generation);
    match (observed, generation) {
        (Some(observed), Some(generation)) => format!(
            "the condition describes generation {observed}, but the spec is at generation {generation}"
        ),
        _ => "the condition describes an older generation of the spec".to_owned(),
    }
}
