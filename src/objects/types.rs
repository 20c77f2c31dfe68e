//! Spec and status shapes of the four kinds, limited to the fields the exporter reads.
//!
//! Every field is an `Option` so that a missing field, and an explicit `null` from YAML,
//! both decode. Accessors return the Kubernetes defaults where the CRD defines one.

use serde::Deserialize;

/// A status condition in the `metav1.Condition` shape.
#[derive(Clone, Debug, Default, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Condition {
    #[serde(rename = "type")]
    pub type_: Option<String>,
    /// `"True"`, `"False"` or `"Unknown"`; anything else is treated as unknown.
    pub status: Option<String>,
    pub reason: Option<String>,
    pub message: Option<String>,
    pub observed_generation: Option<i64>,
    /// RFC 3339 time, kept as text and parsed by [`Condition::last_transition_seconds`].
    pub last_transition_time: Option<String>,
}

/// The three values a condition status may take.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ConditionStatus {
    True,
    False,
    Unknown,
}

impl ConditionStatus {
    pub const ALL: [ConditionStatus; 3] = [
        ConditionStatus::True,
        ConditionStatus::False,
        ConditionStatus::Unknown,
    ];

    pub const fn as_str(self) -> &'static str {
        match self {
            ConditionStatus::True => "True",
            ConditionStatus::False => "False",
            ConditionStatus::Unknown => "Unknown",
        }
    }
}

impl Condition {
    pub fn type_str(&self) -> &str {
        self.type_.as_deref().unwrap_or_default()
    }

    pub fn reason_str(&self) -> &str {
        self.reason.as_deref().unwrap_or_default()
    }

    pub fn message_str(&self) -> &str {
        self.message.as_deref().unwrap_or_default()
    }

    /// Returns the status, or `None` when the field contains a value outside the three allowed.
    pub fn parsed_status(&self) -> Option<ConditionStatus> {
        match self.status.as_deref() {
            Some("True") => Some(ConditionStatus::True),
            Some("False") => Some(ConditionStatus::False),
            Some("Unknown") => Some(ConditionStatus::Unknown),
            _ => None,
        }
    }

    /// Returns lastTransitionTime as Unix seconds, or `None` when missing or not RFC 3339.
    pub fn last_transition_seconds(&self) -> Option<i64> {
        let text = self.last_transition_time.as_deref()?;
        let timestamp: jiff::Timestamp = text.trim().parse().ok()?;
        Some(timestamp.as_second())
    }
}

/// A reference to another object by name, in the referring object's namespace.
#[derive(Clone, Debug, Default, Deserialize, PartialEq)]
pub struct NameRef {
    pub name: Option<String>,
}

/// Stands for the spec of a kind that has none (ServiceImport's spec is not read).
#[derive(Clone, Debug, Default, Deserialize, PartialEq)]
pub struct NoSpec {}

/// Stands for the status of a kind whose status is not read.
#[derive(Clone, Debug, Default, Deserialize, PartialEq)]
pub struct NoStatus {}

#[derive(Clone, Debug, Default, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct ProfileSpec {
    /// Azure resource group of the Traffic Manager profile.
    pub resource_group: Option<String>,
}

#[derive(Clone, Debug, Default, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct ProfileStatus {
    pub dns_name: Option<String>,
    #[serde(rename = "resourceID")]
    pub resource_id: Option<String>,
    pub conditions: Option<Vec<Condition>>,
}

#[derive(Clone, Debug, Default, Deserialize, PartialEq)]
pub struct BackendSpec {
    pub profile: Option<NameRef>,
    /// The ServiceImport whose exported Services become endpoints.
    pub backend: Option<NameRef>,
    pub weight: Option<i64>,
}

impl BackendSpec {
    /// Default backend weight when `spec.weight` is not set, from the CRD.
    pub const DEFAULT_WEIGHT: i64 = 1;

    pub fn profile_name(&self) -> &str {
        self.profile
            .as_ref()
            .and_then(|p| p.name.as_deref())
            .unwrap_or_default()
    }

    pub fn service_import_name(&self) -> &str {
        self.backend
            .as_ref()
            .and_then(|b| b.name.as_deref())
            .unwrap_or_default()
    }

    pub fn effective_weight(&self) -> i64 {
        self.weight.unwrap_or(Self::DEFAULT_WEIGHT)
    }
}

#[derive(Clone, Debug, Default, Deserialize, PartialEq)]
pub struct BackendStatus {
    pub conditions: Option<Vec<Condition>>,
    pub endpoints: Option<Vec<BackendEndpoint>>,
}

/// An Azure Traffic Manager endpoint the controller created for one member cluster.
///
/// The endpoint's `name` and `resourceID` are not kept: no metric reads them, and at
/// 100,000 endpoints they would take about 35 MiB.
#[derive(Clone, Debug, Default, Deserialize, PartialEq)]
pub struct BackendEndpoint {
    pub weight: Option<i64>,
    /// DNS name of the exported Service's public IP.
    pub target: Option<String>,
    pub from: Option<EndpointFrom>,
}

#[derive(Clone, Debug, Default, Deserialize, PartialEq)]
pub struct EndpointFrom {
    pub cluster: Option<String>,
    /// The weight set on the exported Service itself.
    pub weight: Option<i64>,
}

#[derive(Clone, Debug, Default, Deserialize, PartialEq)]
pub struct ServiceImportStatus {
    pub clusters: Option<Vec<ClusterStatus>>,
    #[serde(rename = "type")]
    pub type_: Option<String>,
}

#[derive(Clone, Debug, Default, Deserialize, PartialEq)]
pub struct ClusterStatus {
    pub cluster: Option<String>,
}

#[derive(Clone, Debug, Default, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct InternalServiceExportSpec {
    /// The exported Service's type, such as `LoadBalancer` or `ClusterIP`.
    #[serde(rename = "type")]
    pub type_: Option<String>,
    pub is_internal_load_balancer: Option<bool>,
    #[serde(rename = "publicIPResourceID")]
    pub public_ip_resource_id: Option<String>,
    #[serde(rename = "isDNSLabelConfigured")]
    pub is_dns_label_configured: Option<bool>,
    pub weight: Option<i64>,
    pub service_reference: Option<ExportedObjectReference>,
}

/// The member cluster's Service that an InternalServiceExport stands for.
#[derive(Clone, Debug, Default, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct ExportedObjectReference {
    pub cluster_id: Option<String>,
    pub namespace: Option<String>,
    pub name: Option<String>,
}
