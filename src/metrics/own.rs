//! The exporter's own metrics: counters and source health, kept in a `prometheus-client`
//! registry and updated by the sources and the state as events happen.

use std::sync::atomic::AtomicU64;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::info::Info;
use prometheus_client::registry::Registry;

use super::families::PREFIX;
use crate::catalogue::{Kind, Problem};
use crate::objects::ConditionStatus;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct KindLabels {
    pub kind: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct SourceLabels {
    /// `file` or `kube`.
    pub source: String,
    /// The file path, or the resource a watch reads.
    pub target: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ReloadLabels {
    pub path: String,
    /// `success` or `failure`.
    pub result: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct PathLabels {
    pub path: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ProblemLabels {
    pub kind: String,
    pub scenario: String,
    pub problem: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ConditionLabels {
    pub kind: String,
    pub condition: String,
    /// The status the condition moved to.
    pub status: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct WatchEventLabels {
    pub kind: String,
    /// `applied` (added, changed, or listed) or `deleted`.
    pub event: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct WatchErrorLabels {
    pub kind: String,
    /// Error class, such as `forbidden`, `gone` or `timeout`; see the live source's
    /// `ErrorClass` for every value.
    pub error: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ErrorLabels {
    /// Error class, as in [`WatchErrorLabels::error`].
    pub error: String,
}

/// Counters and gauges about the exporter itself, registered under the `fleet_dns_lb` prefix.
pub struct ExporterMetrics {
    registry: Registry,
    pub source_up: Family<SourceLabels, Gauge>,
    pub invalid_objects: Family<KindLabels, Counter>,
    pub rejected_items: Family<PathLabels, Counter>,
    pub file_reloads: Family<ReloadLabels, Counter>,
    pub file_last_reload_success: Family<PathLabels, Gauge<f64, AtomicU64>>,
    pub problem_entered: Family<ProblemLabels, Counter>,
    pub limit_reached_entered: Family<ProblemLabels, Counter>,
    pub condition_transitions: Family<ConditionLabels, Counter>,
    pub watch_events: Family<WatchEventLabels, Counter>,
    pub watch_relists: Family<KindLabels, Counter>,
    pub watch_errors: Family<WatchErrorLabels, Counter>,
    pub watch_last_event: Family<KindLabels, Gauge<f64, AtomicU64>>,
    pub discovery_errors: Family<ErrorLabels, Counter>,
}

impl ExporterMetrics {
    pub fn new() -> ExporterMetrics {
        let mut registry = Registry::with_prefix(PREFIX);
        let metrics = ExporterMetrics {
            source_up: Family::default(),
            invalid_objects: Family::default(),
            rejected_items: Family::default(),
            file_reloads: Family::default(),
            file_last_reload_success: Family::default(),
            problem_entered: Family::default(),
            limit_reached_entered: Family::default(),
            condition_transitions: Family::default(),
            watch_events: Family::default(),
            watch_relists: Family::default(),
            watch_errors: Family::default(),
            watch_last_event: Family::default(),
            discovery_errors: Family::default(),
            registry: Registry::default(),
        };

        registry.register(
            "build",
            "Version of the exporter",
            Info::new(vec![("version", env!("CARGO_PKG_VERSION"))]),
        );
        registry.register(
            "source_up",
            "1 when a source of hub objects (a snapshot file or a watched resource) was read successfully the last time it was tried, 0 when it failed",
            metrics.source_up.clone(),
        );
        registry.register(
            "invalid_objects",
            "Object versions whose spec or status did not match the CRD schema; such an object is still served, with fleet_dns_lb_invalid_object set",
            metrics.invalid_objects.clone(),
        );
        registry.register(
            "rejected_items",
            "Snapshot file items that could not be taken as hub objects at all, such as one without metadata.name",
            metrics.rejected_items.clone(),
        );
        registry.register(
            "file_reloads",
            "Reloads of a snapshot file, by result; a failed reload keeps the last good data",
            metrics.file_reloads.clone(),
        );
        registry.register(
            "file_last_reload_success_timestamp_seconds",
            "Time of the last successful load of a snapshot file, in Unix seconds",
            metrics.file_last_reload_success.clone(),
        );
        registry.register(
            "problem_entered",
            "Times an object entered a problem, by kind, scenario and problem",
            metrics.problem_entered.clone(),
        );
        registry.register(
            "limit_reached_entered",
            "Times an object entered profile_limit_reached or endpoint_limit_reached",
            metrics.limit_reached_entered.clone(),
        );
        registry.register(
            "condition_transitions",
            "Status changes of a profile's or backend's classified condition, by the status it moved to",
            metrics.condition_transitions.clone(),
        );

        registry.register(
            "watch_events",
            "Objects received from the hub API, by kind and event: applied counts listed, added and changed objects, deleted counts deletions.",
            metrics.watch_events.clone(),
        );
        registry.register(
            "watch_relists",
            "Full lists of a kind after the first one, made after an error or an expired resourceVersion (410 Gone).",
            metrics.watch_relists.clone(),
        );
        registry.register(
            "watch_errors",
            "Failed list and watch requests to the hub API, by kind and error class.",
            metrics.watch_errors.clone(),
        );
        registry.register(
            "watch_last_event_timestamp_seconds",
            "Time of the last list or watch event received for a kind, in Unix seconds.",
            metrics.watch_last_event.clone(),
        );
        registry.register(
            "discovery_errors",
            "Failed API discovery requests to the hub, by error class.",
            metrics.discovery_errors.clone(),
        );

        let metrics = ExporterMetrics {
            registry,
            ..metrics
        };
        metrics.initialize_series();
        metrics
    }

    /// Creates every label set known in advance at zero, so that a counter is present
    /// before its first increment and `rate()` and alert expressions see it from the start.
    fn initialize_series(&self) {
        for kind in Kind::ALL {
            let _ = self.invalid_objects.get_or_create(&KindLabels {
                kind: kind.as_str().to_owned(),
            });
            let Some(scenario) = kind.scenario() else {
                continue;
            };
            for problem in scenario.problems() {
                let labels = ProblemLabels {
                    kind: kind.as_str().to_owned(),
                    scenario: scenario.as_str().to_owned(),
                    problem: problem.as_str().to_owned(),
                };
                let _ = self.problem_entered.get_or_create(&labels);
                if matches!(
                    problem,
                    Problem::ProfileLimitReached | Problem::EndpointLimitReached
                ) {
                    let _ = self.limit_reached_entered.get_or_create(&labels);
                }
            }
            for status in ConditionStatus::ALL {
                let _ = self.condition_transitions.get_or_create(&ConditionLabels {
                    kind: kind.as_str().to_owned(),
                    condition: scenario.condition_type().to_owned(),
                    status: status.as_str().to_owned(),
                });
            }
        }
    }

    /// Encodes the registry in OpenMetrics without the closing `# EOF` line.
    pub fn encode_openmetrics(&self, out: &mut String) {
        prometheus_client::encoding::text::encode_registry(out, &self.registry)
            .expect("writing to a String cannot fail");
    }
}

impl Default for ExporterMetrics {
    fn default() -> Self {
        ExporterMetrics::new()
    }
}
