//! Typed hub objects, decoded leniently from API or file data.
//!
//! Every field is optional and unknown fields are ignored, so an object decodes whatever
//! the controller version wrote. A `spec` or `status` of the wrong shape does not fail the
//! object: that part falls back to its default, the error is kept in
//! [`FleetObject::decode_errors`], and the classifier reports the object instead of
//! dropping it. The schemas are the fleet-networking CRDs copied under `crds/`.

mod decode;
mod resource;
mod types;

pub use decode::{API_GROUP, DecodeError, ObjectError, decode_object};
pub use types::*;

use std::sync::Arc;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

use crate::catalogue::Kind;

/// A hub object with its metadata, and its spec and status decoded as far as they could be.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct FleetObject<Spec, Status> {
    /// `apiVersion` as the source sent it, such as `networking.fleet.azure.com/v1beta1`.
    pub api_version: String,
    /// Metadata without `managedFields` and annotations, which the exporter never reads.
    pub metadata: ObjectMeta,
    pub spec: Spec,
    /// `None` when the object has no status yet, or when its status could not be decoded.
    pub status: Option<Status>,
    /// Errors met while decoding `spec` or `status`; empty for a well-formed object.
    pub decode_errors: Vec<DecodeError>,
}

impl<Spec, Status> FleetObject<Spec, Status> {
    pub fn namespace(&self) -> &str {
        self.metadata.namespace.as_deref().unwrap_or_default()
    }

    pub fn name(&self) -> &str {
        self.metadata.name.as_deref().unwrap_or_default()
    }

    /// Returns `metadata.generation`, which the API server sets on every write of the spec.
    pub fn generation(&self) -> Option<i64> {
        self.metadata.generation
    }
}

pub type TrafficManagerProfile = FleetObject<ProfileSpec, ProfileStatus>;
pub type TrafficManagerBackend = FleetObject<BackendSpec, BackendStatus>;
pub type ServiceImport = FleetObject<NoSpec, ServiceImportStatus>;
pub type InternalServiceExport = FleetObject<InternalServiceExportSpec, NoStatus>;

/// Any of the four kinds the exporter reads.
///
/// The object is behind an [`Arc`], so the hub state and a watch's reflector store share
/// one allocation. Equality compares the objects, not the pointers.
#[derive(Clone, Debug, PartialEq)]
pub enum HubObject {
    Profile(Arc<TrafficManagerProfile>),
    Backend(Arc<TrafficManagerBackend>),
    Import(Arc<ServiceImport>),
    Export(Arc<InternalServiceExport>),
}

impl HubObject {
    pub fn kind(&self) -> Kind {
        match self {
            HubObject::Profile(_) => Kind::TrafficManagerProfile,
            HubObject::Backend(_) => Kind::TrafficManagerBackend,
            HubObject::Import(_) => Kind::ServiceImport,
            HubObject::Export(_) => Kind::InternalServiceExport,
        }
    }

    pub fn metadata(&self) -> &ObjectMeta {
        match self {
            HubObject::Profile(o) => &o.metadata,
            HubObject::Backend(o) => &o.metadata,
            HubObject::Import(o) => &o.metadata,
            HubObject::Export(o) => &o.metadata,
        }
    }

    pub fn decode_errors(&self) -> &[DecodeError] {
        match self {
            HubObject::Profile(o) => &o.decode_errors,
            HubObject::Backend(o) => &o.decode_errors,
            HubObject::Import(o) => &o.decode_errors,
            HubObject::Export(o) => &o.decode_errors,
        }
    }

    /// Returns whether both hold the same allocation.
    pub fn ptr_eq(&self, other: &HubObject) -> bool {
        match (self, other) {
            (HubObject::Profile(a), HubObject::Profile(b)) => Arc::ptr_eq(a, b),
            (HubObject::Backend(a), HubObject::Backend(b)) => Arc::ptr_eq(a, b),
            (HubObject::Import(a), HubObject::Import(b)) => Arc::ptr_eq(a, b),
            (HubObject::Export(a), HubObject::Export(b)) => Arc::ptr_eq(a, b),
            _ => false,
        }
    }

    pub fn key(&self) -> ObjectKey {
        let meta = self.metadata();
        ObjectKey {
            kind: self.kind(),
            namespace: meta.namespace.clone().unwrap_or_default(),
            name: meta.name.clone().unwrap_or_default(),
        }
    }
}

/// Identity of an object within the exporter's state: kind, namespace and name.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ObjectKey {
    pub kind: Kind,
    pub namespace: String,
    pub name: String,
}

impl std::fmt::Display for ObjectKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}/{}", self.kind, self.namespace, self.name)
    }
}

impl TrafficManagerProfile {
    /// Returns the profile's public DNS name: `status.dnsName` when the controller has set
    /// it, otherwise `<namespace>-<name>.<dns_suffix>`, the name the controller will ask for.
    pub fn dns_name(&self, dns_suffix: &str) -> String {
        match self.status.as_ref().and_then(|s| s.dns_name.as_deref()) {
            Some(dns_name) if !dns_name.is_empty() => dns_name.to_owned(),
            _ => format!("{}-{}.{}", self.namespace(), self.name(), dns_suffix),
        }
    }

    fn resource_id(&self) -> Option<&str> {
        self.status
            .as_ref()
            .and_then(|s| s.resource_id.as_deref())
            .filter(|id| !id.is_empty())
    }

    /// Returns the Azure subscription ID from `status.resourceID`.
    pub fn subscription_id(&self) -> Option<&str> {
        azure_id_segment(self.resource_id()?, "subscriptions")
    }

    /// Returns the Azure Traffic Manager profile's name: the last segment of
    /// `status.resourceID`, or `fleet-<uid>` (the name the controller gives it) before then.
    pub fn azure_profile_name(&self) -> Option<String> {
        if let Some(id) = self.resource_id() {
            return azure_id_segment(id, "trafficManagerProfiles").map(str::to_owned);
        }
        let uid = self.metadata.uid.as_deref().filter(|uid| !uid.is_empty())?;
        Some(format!("fleet-{uid}"))
    }
}

impl TrafficManagerBackend {
    pub fn endpoints(&self) -> &[BackendEndpoint] {
        self.status
            .as_ref()
            .and_then(|s| s.endpoints.as_deref())
            .unwrap_or_default()
    }
}

/// The member cluster's Service behind an InternalServiceExport.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ExportedService<'a> {
    pub cluster: &'a str,
    pub namespace: &'a str,
    pub name: &'a str,
}

impl InternalServiceExport {
    /// Returns the exported Service, or `None` when `spec.serviceReference` lacks the
    /// cluster, namespace or name.
    pub fn exported_service(&self) -> Option<ExportedService<'_>> {
        let reference = self.spec.service_reference.as_ref()?;
        Some(ExportedService {
            cluster: non_empty(&reference.cluster_id)?,
            namespace: non_empty(&reference.namespace)?,
            name: non_empty(&reference.name)?,
        })
    }
}

fn non_empty(value: &Option<String>) -> Option<&str> {
    value.as_deref().filter(|v| !v.is_empty())
}

/// Returns the segment after `key` in an Azure resource ID, comparing `key` without case
/// because Azure resource IDs are case-insensitive.
pub fn azure_id_segment<'a>(resource_id: &'a str, key: &str) -> Option<&'a str> {
    let mut segments = resource_id.split('/').filter(|s| !s.is_empty());
    while let Some(segment) = segments.next() {
        if segment.eq_ignore_ascii_case(key) {
            return segments.next();
        }
    }
    None
}
