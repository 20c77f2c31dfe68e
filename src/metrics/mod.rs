//! Metric families and the scrape: pre-rendered object series, aggregates computed at
//! scrape time, and the exporter's own metrics.

pub mod exposition;
pub mod families;
pub mod own;
pub mod render;

use crate::catalogue::{Kind, Problem};
use crate::limits::count_usage;
use crate::state::{HubConfig, HubState};
use exposition::{Format, write_sample};
use families::{OBJECT_FAMILIES, aggregate};
use own::ExporterMetrics;

/// Encodes one scrape of the whole state.
pub fn encode(
    state: &HubState,
    config: &HubConfig,
    own: &ExporterMetrics,
    format: Format,
) -> String {
    let mut out = encode_objects(state, format);
    out.push_str(&encode_tail(state, config, own, format));
    out
}

/// Encodes the object families: every object's pre-rendered series, family by family.
/// This is most of a scrape, and it changes only when an object does.
pub fn encode_objects(state: &HubState, format: Format) -> String {
    let total: usize = Kind::ALL
        .iter()
        .flat_map(|&kind| state.entries(kind))
        .map(|entry| entry.series.all().len())
        .sum();
    let mut out = String::with_capacity(total + 64 * 1024);
    for (index, family) in OBJECT_FAMILIES.iter().enumerate() {
        family.write_header(&mut out, format);
        for kind in Kind::ALL {
            for entry in state.entries(kind) {
                out.push_str(entry.series.family(index));
            }
        }
    }
    out
}

/// Encodes the series of one kind's objects, one string per object family in the order of
/// `OBJECT_FAMILIES`, without the family headers. The series do not depend on the format.
pub fn encode_kind(state: &HubState, kind: Kind) -> Vec<String> {
    (0..OBJECT_FAMILIES.len())
        .map(|index| {
            let total = state
                .entries(kind)
                .map(|entry| entry.series.family(index).len())
                .sum();
            let mut out = String::with_capacity(total);
            for entry in state.entries(kind) {
                out.push_str(entry.series.family(index));
            }
            out
        })
        .collect()
}

/// Encodes the header of each object family, in the order of `OBJECT_FAMILIES`.
pub fn encode_family_headers(format: Format) -> Vec<String> {
    OBJECT_FAMILIES
        .iter()
        .map(|family| {
            let mut out = String::new();
            family.write_header(&mut out, format);
            out
        })
        .collect()
}

/// Encodes what follows the object families: the aggregates computed at scrape time and
/// the exporter's own metrics.
pub fn encode_tail(
    state: &HubState,
    config: &HubConfig,
    own: &ExporterMetrics,
    format: Format,
) -> String {
    let mut out = String::with_capacity(64 * 1024);
    encode_aggregates(&mut out, state, config, format);

    let mut own_metrics = String::new();
    own.encode_openmetrics(&mut own_metrics);
    match format {
        Format::OpenMetrics => {
            out.push_str(&own_metrics);
            out.push_str("# EOF\n");
        }
        Format::Text => out.push_str(&exposition::openmetrics_to_text(&own_metrics)),
    }
    out
}

fn encode_aggregates(out: &mut String, state: &HubState, config: &HubConfig, format: Format) {
    aggregate::OBJECTS.write_header(out, format);
    for kind in Kind::ALL {
        let count = i64::try_from(state.len(kind)).unwrap_or(i64::MAX);
        write_sample(
            out,
            aggregate::OBJECTS.name,
            &[("kind", kind.as_str())],
            count,
        );
    }

    aggregate::PROFILE_LIMIT.write_header(out, format);
    write_sample(
        out,
        aggregate::PROFILE_LIMIT.name,
        &[],
        config.profile_limit,
    );
    aggregate::ENDPOINT_LIMIT.write_header(out, format);
    write_sample(
        out,
        aggregate::ENDPOINT_LIMIT.name,
        &[],
        config.endpoint_limit,
    );

    let usage = count_usage(state, config);
    let per_subscription = &usage.profiles_per_subscription;
    let per_profile = &usage.endpoints_per_profile;

    aggregate::SUBSCRIPTION_PROFILES.write_header(out, format);
    for (subscription, count) in per_subscription {
        let labels = [("subscription", *subscription)];
        write_sample(out, aggregate::SUBSCRIPTION_PROFILES.name, &labels, *count);
    }
    aggregate::SUBSCRIPTION_PROFILE_HEADROOM.write_header(out, format);
    for (subscription, count) in per_subscription {
        let labels = [("subscription", *subscription)];
        let headroom = config.profile_limit - count;
        write_sample(
            out,
            aggregate::SUBSCRIPTION_PROFILE_HEADROOM.name,
            &labels,
            headroom,
        );
    }

    aggregate::PROFILE_ENDPOINTS.write_header(out, format);
    for ((namespace, profile), count) in per_profile {
        let labels = [("namespace", *namespace), ("profile", *profile)];
        write_sample(out, aggregate::PROFILE_ENDPOINTS.name, &labels, *count);
    }
    aggregate::PROFILE_ENDPOINT_HEADROOM.write_header(out, format);
    for ((namespace, profile), count) in per_profile {
        let labels = [("namespace", *namespace), ("profile", *profile)];
        let headroom = config.endpoint_limit - count;
        write_sample(
            out,
            aggregate::PROFILE_ENDPOINT_HEADROOM.name,
            &labels,
            headroom,
        );
    }

    aggregate::LIMIT_REACHED_OBJECTS.write_header(out, format);
    for (kind, problem) in [
        (Kind::TrafficManagerProfile, Problem::ProfileLimitReached),
        (Kind::TrafficManagerBackend, Problem::EndpointLimitReached),
    ] {
        let count = state
            .entries(kind)
            .filter(|entry| entry.problems().contains(&problem))
            .count();
        let labels = [("kind", kind.as_str()), ("problem", problem.as_str())];
        let count = i64::try_from(count).unwrap_or(i64::MAX);
        write_sample(out, aggregate::LIMIT_REACHED_OBJECTS.name, &labels, count);
    }
}
