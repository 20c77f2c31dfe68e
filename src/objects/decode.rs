//! Lenient decoding of hub objects from JSON values.

use std::fmt;
use std::sync::Arc;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer};
use serde_json::Value;

use super::{FleetObject, HubObject};
use crate::catalogue::Kind;

/// API group of every kind the exporter reads.
pub const API_GROUP: &str = "networking.fleet.azure.com";

/// A `spec` or `status` that did not match the CRD schema.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DecodeError {
    /// `"spec"` or `"status"`.
    pub part: &'static str,
    /// The serde error, prefixed with the path of the offending field.
    pub message: String,
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.part, self.message)
    }
}

/// An item of a snapshot that could not be taken as a hub object at all.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("item {index} ({kind} {namespace}/{name}): {reason}")]
pub struct ObjectError {
    /// Position of the item in its file, counting from 0 across all documents.
    pub index: usize,
    pub kind: String,
    pub namespace: String,
    pub name: String,
    pub reason: String,
}

#[derive(Deserialize)]
struct RawObject {
    #[serde(rename = "apiVersion")]
    api_version: Option<String>,
    metadata: Option<ObjectMeta>,
    spec: Option<Value>,
    status: Option<Value>,
}

impl<'de, Spec, Status> Deserialize<'de> for FleetObject<Spec, Status>
where
    Spec: DeserializeOwned + Default,
    Status: DeserializeOwned,
{
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let raw = RawObject::deserialize(deserializer)?;
        Ok(FleetObject::from_raw(raw))
    }
}

impl<Spec, Status> FleetObject<Spec, Status>
where
    Spec: DeserializeOwned + Default,
    Status: DeserializeOwned,
{
    fn from_raw(raw: RawObject) -> Self {
        let mut decode_errors = Vec::new();
        let mut metadata = raw.metadata.unwrap_or_default();
        // Neither is read, and both can be many kilobytes per object.
        metadata.managed_fields = None;
        metadata.annotations = None;

        let spec = match raw.spec {
            None | Some(Value::Null) => Spec::default(),
            Some(value) => decode_part("spec", value, &mut decode_errors).unwrap_or_default(),
        };
        let status = match raw.status {
            None | Some(Value::Null) => None,
            Some(value) => decode_part("status", value, &mut decode_errors),
        };

        FleetObject {
            api_version: raw.api_version.unwrap_or_default(),
            metadata,
            spec,
            status,
            decode_errors,
        }
    }
}

fn decode_part<T: DeserializeOwned>(
    part: &'static str,
    value: Value,
    errors: &mut Vec<DecodeError>,
) -> Option<T> {
    match serde_path_to_error::deserialize(value) {
        Ok(decoded) => Some(decoded),
        Err(error) => {
            let path = error.path().to_string();
            let message = if path == "." {
                error.into_inner().to_string()
            } else {
                format!("{path}: {}", error.into_inner())
            };
            errors.push(DecodeError { part, message });
            None
        }
    }
}

/// Decodes one item of a snapshot.
///
/// Returns `Ok(None)` for an object of a kind or API group the exporter does not read,
/// because a snapshot may contain whole namespaces. Returns an error for an item that
/// claims to be one of the four kinds but lacks what identifies it.
pub fn decode_object(index: usize, value: Value) -> Result<Option<HubObject>, ObjectError> {
    let text = |field: &str| -> String {
        value
            .get(field)
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned()
    };
    let meta_text = |field: &str| -> String {
        value
            .get("metadata")
            .and_then(|m| m.get(field))
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned()
    };
    let kind_text = text("kind");
    let api_version = text("apiVersion");
    let reject = |reason: String| ObjectError {
        index,
        kind: kind_text.clone(),
        namespace: meta_text("namespace"),
        name: meta_text("name"),
        reason,
    };

    if !value.is_object() {
        return Err(reject(format!(
            "expected a mapping with apiVersion, kind and metadata, found {}",
            json_type_name(&value)
        )));
    }
    let Some(kind) = Kind::from_kind_str(&kind_text) else {
        if kind_text.is_empty() {
            return Err(reject("kind is missing".to_owned()));
        }
        return Ok(None);
    };
    if api_version.is_empty() {
        return Err(reject(format!(
            "apiVersion is missing; expected {API_GROUP}/v1beta1 or {API_GROUP}/v1alpha1"
        )));
    }
    // ServiceImport also exists in the multicluster.x-k8s.io group, which is not Fleet's.
    if api_version.split('/').next() != Some(API_GROUP) {
        return Ok(None);
    }

    let object = match kind {
        Kind::TrafficManagerProfile => {
            FleetObject::deserialize(&value).map(|o| HubObject::Profile(Arc::new(o)))
        }
        Kind::TrafficManagerBackend => {
            FleetObject::deserialize(&value).map(|o| HubObject::Backend(Arc::new(o)))
        }
        Kind::ServiceImport => {
            FleetObject::deserialize(&value).map(|o| HubObject::Import(Arc::new(o)))
        }
        Kind::InternalServiceExport => {
            FleetObject::deserialize(&value).map(|o| HubObject::Export(Arc::new(o)))
        }
    }
    .map_err(|error| reject(format!("metadata is invalid: {error}")))?;

    let meta = object.metadata();
    if meta.name.as_deref().unwrap_or_default().is_empty() {
        return Err(reject("metadata.name is missing".to_owned()));
    }
    if meta.namespace.as_deref().unwrap_or_default().is_empty() {
        return Err(reject(format!(
            "metadata.namespace is missing; {kind} is namespaced, so export it with `kubectl get -o yaml`, which includes the namespace"
        )));
    }
    Ok(Some(object))
}

fn json_type_name(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a sequence",
        Value::Object(_) => "a mapping",
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn wrong_status_type_kept_as_error() {
        let value = json!({
            "apiVersion": "networking.fleet.azure.com/v1beta1",
            "kind": "TrafficManagerProfile",
            "metadata": {"name": "p", "namespace": "ns"},
            "spec": {"resourceGroup": "rg"},
            "status": {"conditions": "not a list"}
        });
        let Some(HubObject::Profile(profile)) = decode_object(0, value).unwrap() else {
            panic!("expected a profile");
        };
        assert_eq!(profile.spec.resource_group.as_deref(), Some("rg"));
        assert!(profile.status.is_none());
        assert_eq!(profile.decode_errors.len(), 1);
        assert_eq!(profile.decode_errors[0].part, "status");
        assert!(profile.decode_errors[0].message.starts_with("conditions:"));
    }

    #[test]
    fn unknown_fields_and_nulls_accepted() {
        let value = json!({
            "apiVersion": "networking.fleet.azure.com/v1alpha1",
            "kind": "TrafficManagerBackend",
            "metadata": {"name": "b", "namespace": "ns", "annotations": {"a": "b"}},
            "spec": {"profile": null, "weight": null, "futureField": {"x": 1}},
            "status": null
        });
        let Some(HubObject::Backend(backend)) = decode_object(0, value).unwrap() else {
            panic!("expected a backend");
        };
        assert!(backend.decode_errors.is_empty());
        assert_eq!(backend.spec.effective_weight(), 1);
        assert!(backend.metadata.annotations.is_none());
    }

    #[test]
    fn other_group_service_import_ignored() {
        let value = json!({
            "apiVersion": "multicluster.x-k8s.io/v1alpha1",
            "kind": "ServiceImport",
            "metadata": {"name": "s", "namespace": "ns"}
        });
        assert_eq!(decode_object(0, value), Ok(None));
    }

    #[test]
    fn missing_namespace_rejected() {
        let value = json!({
            "apiVersion": "networking.fleet.azure.com/v1beta1",
            "kind": "TrafficManagerProfile",
            "metadata": {"name": "p"}
        });
        let error = decode_object(3, value).unwrap_err();
        assert_eq!(error.index, 3);
        assert_eq!(error.name, "p");
        assert!(error.reason.contains("metadata.namespace is missing"));
    }

    #[test]
    fn invalid_metadata_rejected() {
        let value = json!({
            "apiVersion": "networking.fleet.azure.com/v1beta1",
            "kind": "TrafficManagerProfile",
            "metadata": {"name": "p", "namespace": "ns", "generation": "two"}
        });
        let error = decode_object(0, value).unwrap_err();
        assert!(
            error.reason.starts_with("metadata is invalid"),
            "{}",
            error.reason
        );
    }

    #[test]
    fn scalar_item_rejected() {
        let error = decode_object(1, json!("text")).unwrap_err();
        assert!(error.reason.contains("found a string"));
    }
}
