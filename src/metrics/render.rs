//! Rendering of one object's series, done once each time the object changes.

use super::exposition::write_sample;
use super::families::{OBJECT_FAMILIES, OBJECT_FAMILY_COUNT, ObjectFamily};
use crate::classify::{Classification, endpoint_eligibility};
use crate::objects::{
    ConditionStatus, HubObject, InternalServiceExport, ServiceImport, TrafficManagerBackend,
    TrafficManagerProfile,
};

/// Settings that change how objects render.
#[derive(Clone, Debug)]
pub struct RenderConfig {
    /// DNS suffix of Traffic Manager in the hub's Azure cloud, such as `trafficmanager.net`;
    /// used for a profile's DNS name until its status reports one.
    pub dns_suffix: String,
}

impl Default for RenderConfig {
    fn default() -> Self {
        RenderConfig {
            dns_suffix: "trafficmanager.net".to_owned(),
        }
    }
}

/// The sample lines of one object, grouped by family in [`ObjectFamily`] order.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RenderedSeries {
    text: Box<str>,
    /// `ends[f]` is the byte offset where family `f`'s lines end; family `f` starts where
    /// family `f - 1` ends.
    ends: [u32; OBJECT_FAMILY_COUNT],
}

impl RenderedSeries {
    /// Returns the lines of one family, each ending in a line feed, or "" when there are none.
    pub fn family(&self, family: usize) -> &str {
        let start = if family == 0 {
            0
        } else {
            self.ends[family - 1] as usize
        };
        &self.text[start..self.ends[family] as usize]
    }

    /// Returns every line of the object, in family order.
    pub fn all(&self) -> &str {
        &self.text
    }
}

struct Builder {
    parts: [String; OBJECT_FAMILY_COUNT],
}

impl Builder {
    fn sample(&mut self, family: ObjectFamily, labels: &[(&str, &str)], value: i64) {
        let index = family as usize;
        write_sample(
            &mut self.parts[index],
            OBJECT_FAMILIES[index].name,
            labels,
            value,
        );
    }

    fn finish(self) -> RenderedSeries {
        let total: usize = self.parts.iter().map(String::len).sum();
        let mut text = String::with_capacity(total);
        let mut ends = [0u32; OBJECT_FAMILY_COUNT];
        for (i, part) in self.parts.iter().enumerate() {
            text.push_str(part);
            // An object's series stay far below 4 GiB: a condition message is never
            // rendered, and the CRDs cap every other string at a few hundred bytes.
            ends[i] = u32::try_from(text.len()).unwrap_or(u32::MAX);
        }
        RenderedSeries {
            text: text.into_boxed_str(),
            ends,
        }
    }
}

/// Renders the series of one object from the object and its classification.
pub fn render(
    object: &HubObject,
    classification: Option<&Classification>,
    config: &RenderConfig,
) -> RenderedSeries {
    let mut builder = Builder {
        parts: Default::default(),
    };
    let kind = object.kind().as_str();
    let meta = object.metadata();
    let namespace = meta.namespace.as_deref().unwrap_or_default();
    let name = meta.name.as_deref().unwrap_or_default();

    if let Some(classification) = classification {
        render_classification(&mut builder, kind, namespace, name, classification);
    }
    match object {
        HubObject::Profile(profile) => render_profile(&mut builder, profile, config),
        HubObject::Backend(backend) => render_backend(&mut builder, backend),
        HubObject::Import(import) => render_import(&mut builder, import),
        HubObject::Export(export) => render_export(&mut builder, export),
    }
    if !object.decode_errors().is_empty() {
        builder.sample(
            ObjectFamily::InvalidObject,
            &[("kind", kind), ("namespace", namespace), ("name", name)],
            1,
        );
    }
    builder.finish()
}

fn render_classification(
    builder: &mut Builder,
    kind: &str,
    namespace: &str,
    name: &str,
    classification: &Classification,
) {
    let scenario = classification.scenario.as_str();
    for problem in &classification.problems {
        builder.sample(
            ObjectFamily::Problem,
            &[
                ("kind", kind),
                ("namespace", namespace),
                ("name", name),
                ("scenario", scenario),
                ("problem", problem.as_str()),
                ("reason", &classification.reason),
            ],
            1,
        );
    }

    let Some(condition) = &classification.condition else {
        return;
    };
    let base = [
        ("kind", kind),
        ("namespace", namespace),
        ("name", name),
        ("condition", condition.type_.as_str()),
    ];
    for status in ConditionStatus::ALL {
        let mut labels = base.to_vec();
        labels.push(("status", status.as_str()));
        let value = i64::from(condition.status == Some(status));
        builder.sample(ObjectFamily::ConditionStatus, &labels, value);
    }
    if let Some(seconds) = condition.last_transition_seconds {
        builder.sample(ObjectFamily::ConditionLastTransition, &base, seconds);
    }
    builder.sample(
        ObjectFamily::ConditionStale,
        &base,
        i64::from(condition.stale),
    );
}

fn render_profile(builder: &mut Builder, profile: &TrafficManagerProfile, config: &RenderConfig) {
    let namespace = profile.namespace();
    let name = profile.name();
    let dns_name = profile.dns_name(&config.dns_suffix);
    let resource_group = profile.spec.resource_group.as_deref().unwrap_or_default();
    let subscription = profile.subscription_id().unwrap_or_default();
    let azure_profile = profile.azure_profile_name().unwrap_or_default();
    builder.sample(
        ObjectFamily::ProfileInfo,
        &[
            ("namespace", namespace),
            ("name", name),
            ("dns_name", &dns_name),
            ("resource_group", resource_group),
            ("subscription", subscription),
            ("azure_profile", &azure_profile),
        ],
        1,
    );
}

fn render_backend(builder: &mut Builder, backend: &TrafficManagerBackend) {
    let namespace = backend.namespace();
    let name = backend.name();
    let identity = [("namespace", namespace), ("name", name)];
    builder.sample(
        ObjectFamily::BackendInfo,
        &[
            ("namespace", namespace),
            ("name", name),
            ("profile", backend.spec.profile_name()),
            ("service_import", backend.spec.service_import_name()),
        ],
        1,
    );
    builder.sample(
        ObjectFamily::BackendWeight,
        &identity,
        backend.spec.effective_weight(),
    );

    let endpoints = backend.endpoints();
    builder.sample(
        ObjectFamily::BackendEndpoints,
        &identity,
        i64::try_from(endpoints.len()).unwrap_or(i64::MAX),
    );
    for endpoint in endpoints {
        let from = endpoint.from.as_ref();
        let cluster = from.and_then(|f| f.cluster.as_deref()).unwrap_or_default();
        let endpoint_labels = [
            ("namespace", namespace),
            ("backend", name),
            ("cluster", cluster),
        ];
        builder.sample(
            ObjectFamily::BackendEndpointInfo,
            &[
                ("namespace", namespace),
                ("backend", name),
                ("cluster", cluster),
                ("target", endpoint.target.as_deref().unwrap_or_default()),
            ],
            1,
        );
        if let Some(weight) = endpoint.weight {
            builder.sample(
                ObjectFamily::BackendEndpointWeight,
                &endpoint_labels,
                weight,
            );
        }
        if let Some(weight) = from.and_then(|f| f.weight) {
            builder.sample(
                ObjectFamily::BackendEndpointExportWeight,
                &endpoint_labels,
                weight,
            );
        }
    }
}

fn render_import(builder: &mut Builder, import: &ServiceImport) {
    let clusters = import
        .status
        .as_ref()
        .and_then(|s| s.clusters.as_ref())
        .map_or(0, Vec::len);
    builder.sample(
        ObjectFamily::ServiceImportClusters,
        &[("namespace", import.namespace()), ("name", import.name())],
        i64::try_from(clusters).unwrap_or(i64::MAX),
    );
}

fn render_export(builder: &mut Builder, export: &InternalServiceExport) {
    // Without its service reference the export cannot be tied to a Service; the CRD
    // makes the reference required, so only a malformed object lacks it.
    let Some(service) = export.exported_service() else {
        return;
    };
    let labels = [
        ("namespace", service.namespace),
        ("service", service.name),
        ("cluster", service.cluster),
    ];
    let eligibility = endpoint_eligibility(export);
    builder.sample(
        ObjectFamily::ServiceExportEligible,
        &labels,
        i64::from(eligibility.is_ok()),
    );
    if let Err(reason) = eligibility {
        let mut with_reason = labels.to_vec();
        with_reason.push(("reason", reason.as_str()));
        builder.sample(ObjectFamily::ServiceExportIneligible, &with_reason, 1);
    }
}
