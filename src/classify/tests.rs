//! Every message form the troubleshooting catalogue documents, plus the edges between them.

use serde_json::json;

use super::*;
use crate::objects::{HubObject, decode_object};

fn object(kind: &str, generation: i64, condition: serde_json::Value) -> HubObject {
    let value = json!({
        "apiVersion": "networking.fleet.azure.com/v1beta1",
        "kind": kind,
        "metadata": {"name": "n", "namespace": "ns", "generation": generation},
        "spec": {},
        "status": {"conditions": [condition]},
    });
    decode_object(0, value).unwrap().unwrap()
}

fn profile(status: &str, reason: &str, message: &str) -> Vec<Problem> {
    let condition = json!({
        "type": "Programmed", "status": status, "reason": reason,
        "message": message, "observedGeneration": 1,
    });
    classify(&object("TrafficManagerProfile", 1, condition))
        .unwrap()
        .problems
}

fn backend(status: &str, reason: &str, message: &str) -> Vec<Problem> {
    let condition = json!({
        "type": "Accepted", "status": status, "reason": reason,
        "message": message, "observedGeneration": 1,
    });
    classify(&object("TrafficManagerBackend", 1, condition))
        .unwrap()
        .problems
}

const AUTHORIZATION_DUMP: &str = r#"Invalid profile: GET https://management.azure.com/subscriptions/xxx/resourceGroups/rg/providers/Microsoft.Network/trafficmanagerprofiles/fleet-yyyy
--------------------------------------------------------------------------------
RESPONSE 403: 403 Forbidden
ERROR CODE: AuthorizationFailed
--------------------------------------------------------------------------------
{
  "error": {
    "code": "AuthorizationFailed",
    "message": "The client 'xxx' with object id 'xxx' does not have authorization to perform action"
  }
}
--------------------------------------------------------------------------------"#;

#[test]
fn profile_authorization_dump() {
    assert_eq!(
        profile("False", "Invalid", AUTHORIZATION_DUMP),
        vec![Problem::AuthorizationFailed]
    );
}

#[test]
fn profile_authorization_folded_and_reindented() {
    // kubectl folds long lines and users re-indent when they paste.
    let folded = AUTHORIZATION_DUMP
        .replace("RESPONSE 403: 403", "RESPONSE\n      403:   403")
        .replace('\n', "\n        ")
        .to_uppercase();
    assert_eq!(
        profile("False", "Invalid", &folded),
        vec![Problem::AuthorizationFailed]
    );
}

#[test]
fn profile_authorization_other_cloud_host() {
    let china = AUTHORIZATION_DUMP.replace("management.azure.com", "management.chinacloudapi.cn");
    assert_eq!(
        profile("False", "Invalid", &china),
        vec![Problem::AuthorizationFailed]
    );
}

#[test]
fn profile_status_code_without_error_code() {
    let message =
        "Invalid profile: PUT https://management.usgovcloudapi.net/x\nRESPONSE 403: 403 Forbidden";
    assert_eq!(
        profile("False", "Invalid", message),
        vec![Problem::AuthorizationFailed]
    );
}

#[test]
fn profile_resource_group_not_found() {
    let message = "Invalid profile: PUT https://management.azure.com/x\nRESPONSE 404: 404 Not Found\nERROR CODE: ResourceGroupNotFound";
    assert_eq!(
        profile("False", "Invalid", message),
        vec![Problem::AuthorizationFailed]
    );
}

#[test]
fn profile_dns_name_by_reason() {
    let message =
        "Domain name is not available. Please choose a different profile name or namespace";
    assert_eq!(
        profile("False", "DNSNameNotAvailable", message),
        vec![Problem::DnsNameNotAvailable]
    );
    // The reason decides even when the message is empty.
    assert_eq!(
        profile("False", "DNSNameNotAvailable", ""),
        vec![Problem::DnsNameNotAvailable]
    );
}

#[test]
fn profile_dns_name_by_phrase() {
    let message =
        "domain name is NOT available. please choose a different profile name or namespace";
    assert_eq!(
        profile("False", "Invalid", message),
        vec![Problem::DnsNameNotAvailable]
    );
}

#[test]
fn profile_limit_phrase() {
    assert_eq!(
        profile(
            "False",
            "Invalid",
            "Azure Traffic Manager profile limits reached."
        ),
        vec![Problem::ProfileLimitReached]
    );
}

#[test]
fn profile_limit_code() {
    let message = "Invalid profile: PUT https://management.azure.com/x\nRESPONSE 400: 400 Bad Request\nERROR CODE: TrafficManagerProfileLimitExceeded";
    assert_eq!(
        profile("False", "Invalid", message),
        vec![Problem::ProfileLimitReached]
    );
}

#[test]
fn profile_other_azure_error() {
    assert_eq!(
        profile(
            "False",
            "Invalid",
            "Azure Traffic Manager error message is displayed here."
        ),
        vec![Problem::AzureError]
    );
    let bad_request = "Invalid profile: PUT https://management.azure.com/x\nRESPONSE 400: 400 Bad Request\nERROR CODE: BadRequest";
    assert_eq!(
        profile("False", "Invalid", bad_request),
        vec![Problem::AzureError]
    );
}

#[test]
fn profile_unrecognised_failure() {
    assert_eq!(
        profile("False", "SomethingNew", "a message nobody has seen"),
        vec![Problem::Unclassified]
    );
    assert_eq!(profile("False", "Invalid", ""), vec![Problem::Unclassified]);
}

#[test]
fn profile_healthy() {
    assert!(profile("True", "Programmed", "Successfully configured").is_empty());
}

#[test]
fn pending_forms() {
    for message in [
        "Failed to configure profile and retrying: RESPONSE 429: 429 Too Many Requests",
        "In the processing of trafficManagerProfile \"p\"",
        "Failed to get the profile",
    ] {
        assert_eq!(
            profile("Unknown", "Pending", message),
            vec![Problem::Pending],
            "{message}"
        );
        assert_eq!(
            backend("Unknown", "Pending", message),
            vec![Problem::Pending],
            "{message}"
        );
    }
}

#[test]
fn backend_profile_not_found() {
    assert_eq!(
        backend(
            "False",
            "Invalid",
            "TrafficManagerProfile \"nginx-nginx-profile\" is not found"
        ),
        vec![Problem::ProfileMissingOrInvalid]
    );
}

#[test]
fn backend_profile_invalid_forms() {
    for message in [
        "Invalid trafficManagerProfile \"p\", please check the trafficManagerProfile status",
        "Invalid trafficManagerProfile \"p\": Domain name is not available. Please choose a different profile name or namespace",
        "Invalid trafficManagerProfile \"p\": Azure Traffic Manager profile limits reached.",
    ] {
        assert_eq!(
            backend("False", "Invalid", message),
            vec![Problem::ProfileMissingOrInvalid],
            "{message}"
        );
    }
}

#[test]
fn backend_embedded_profile_authorization() {
    let message = format!("Invalid trafficManagerProfile \"p\": {AUTHORIZATION_DUMP}");
    assert_eq!(
        backend("False", "Invalid", &message),
        vec![Problem::ProfileMissingOrInvalid]
    );
}

#[test]
fn backend_service_import_missing() {
    assert_eq!(
        backend(
            "False",
            "Invalid",
            "ServiceImport \"invalid-service\" is not found"
        ),
        vec![Problem::ServiceExportInvalid]
    );
}

#[test]
fn backend_exported_service_reasons() {
    for reason in [
        "unsupported service type \"ClusterIP\"",
        "unsupported service type \"NodePort\"",
        "internal load balancer is not supported",
        "in the processing of configuring public IP",
        "DNS label is not configured to the public IP",
    ] {
        let message = format!(
            "1 service(s) exported from clusters cannot be exposed as the Azure Traffic Manager, for example, service exported from aks-member-5 is invalid: {reason}"
        );
        assert_eq!(
            backend("False", "Invalid", &message),
            vec![Problem::ServiceExportInvalid],
            "{reason}"
        );
    }
}

#[test]
fn backend_azure_profile_gone() {
    let message = "Azure Traffic Manager profile \"fleet-6dd24764-0e46-4b52-b9c6-cc2a3f2535f9\" under \"your-fleet-atm-rg\" is not found";
    assert_eq!(
        backend("False", "Invalid", message),
        vec![Problem::AzureProfileNotFound]
    );
}

#[test]
fn backend_endpoint_authorization() {
    let message = format!(
        "1 endpoint(s) failed to be created/updated in the Azure Traffic Manager, for example, {}",
        AUTHORIZATION_DUMP.trim_start_matches("Invalid profile: ")
    );
    assert_eq!(
        backend("False", "Invalid", &message),
        vec![Problem::AzureProfileNotFound]
    );
}

#[test]
fn backend_endpoint_limit() {
    assert_eq!(
        backend(
            "False",
            "Invalid",
            "Azure Traffic Manager profile limits reached."
        ),
        vec![Problem::EndpointLimitReached]
    );
    let inside = "2 endpoint(s) failed to be created/updated in the Azure Traffic Manager, for example, PUT https://management.azure.com/x RESPONSE 400: 400 Bad Request ERROR CODE: BadRequest {\"error\": {\"code\": \"BadRequest\", \"message\": \"The limit of endpoints has been reached.\"}}";
    assert_eq!(
        backend("False", "Invalid", inside),
        vec![Problem::EndpointLimitReached]
    );
}

#[test]
fn backend_endpoint_other_error() {
    let message = "1 endpoint(s) failed to be created/updated in the Azure Traffic Manager, for example, PUT https://management.azure.com/x RESPONSE 400: 400 Bad Request ERROR CODE: BadRequest";
    assert_eq!(
        backend("False", "Invalid", message),
        vec![Problem::AzureError]
    );
}

#[test]
fn backend_two_problems_in_one_message() {
    let message = "1 endpoint(s) failed to be created/updated in the Azure Traffic Manager, for example, RESPONSE 400: 400 Bad Request ERROR CODE: BadRequest; 1 service(s) exported from clusters cannot be exposed as the Azure Traffic Manager, for example, service exported from c2 is invalid: internal load balancer is not supported";
    assert_eq!(
        backend("False", "Invalid", message),
        vec![Problem::ServiceExportInvalid, Problem::AzureError]
    );
    let with_limit = message.replace(
        "ERROR CODE: BadRequest",
        "Azure Traffic Manager limits reached",
    );
    assert_eq!(
        backend("False", "Invalid", &with_limit),
        vec![Problem::ServiceExportInvalid, Problem::EndpointLimitReached]
    );
}

#[test]
fn backend_unrecognised_failure() {
    assert_eq!(
        backend("False", "FeatureGateDisabled", "something new"),
        vec![Problem::Unclassified]
    );
}

#[test]
fn backend_programmed_condition_accepted() {
    let condition = json!({
        "type": "Programmed", "status": "False", "reason": "Invalid",
        "message": "Azure Traffic Manager profile limits reached.", "observedGeneration": 2,
    });
    let classification = classify(&object("TrafficManagerBackend", 2, condition)).unwrap();
    assert_eq!(classification.problems, vec![Problem::EndpointLimitReached]);
    assert_eq!(classification.condition.unwrap().type_, "Programmed");
}

#[test]
fn stale_condition_adds_not_reconciled() {
    let condition = json!({
        "type": "Programmed", "status": "True", "reason": "Programmed", "observedGeneration": 2,
    });
    let classification = classify(&object("TrafficManagerProfile", 3, condition)).unwrap();
    assert_eq!(classification.problems, vec![Problem::NotReconciled]);
    assert!(classification.condition.unwrap().stale);

    let failing = json!({
        "type": "Programmed", "status": "False", "reason": "DNSNameNotAvailable", "observedGeneration": 1,
    });
    let classification = classify(&object("TrafficManagerProfile", 2, failing)).unwrap();
    assert_eq!(
        classification.problems,
        vec![Problem::DnsNameNotAvailable, Problem::NotReconciled]
    );
}

#[test]
fn missing_condition_not_reconciled() {
    let value = json!({
        "apiVersion": "networking.fleet.azure.com/v1beta1",
        "kind": "TrafficManagerProfile",
        "metadata": {"name": "n", "namespace": "ns", "generation": 1},
        "spec": {"resourceGroup": "rg"},
    });
    let object = decode_object(0, value).unwrap().unwrap();
    let classification = classify(&object).unwrap();
    assert_eq!(classification.problems, vec![Problem::NotReconciled]);
    assert_eq!(classification.reason, "");
    assert!(classification.condition.is_none());
}

#[test]
fn other_condition_type_on_profile_ignored() {
    let condition = json!({"type": "Ready", "status": "True", "reason": "Ready"});
    let classification = classify(&object("TrafficManagerProfile", 1, condition)).unwrap();
    assert_eq!(classification.problems, vec![Problem::NotReconciled]);
}

#[test]
fn invalid_status_value_unclassified() {
    let condition = json!({"type": "Programmed", "status": "Maybe", "reason": "Odd"});
    let classification = classify(&object("TrafficManagerProfile", 1, condition)).unwrap();
    assert_eq!(classification.problems, vec![Problem::Unclassified]);
    assert_eq!(classification.condition.unwrap().status, None);
}

#[test]
fn undecodable_status_unclassified() {
    let value = json!({
        "apiVersion": "networking.fleet.azure.com/v1beta1",
        "kind": "TrafficManagerBackend",
        "metadata": {"name": "n", "namespace": "ns"},
        "status": {"conditions": [{"type": 7}]},
    });
    let object = decode_object(0, value).unwrap().unwrap();
    assert_eq!(
        classify(&object).unwrap().problems,
        vec![Problem::Unclassified]
    );
}

#[test]
fn long_reason_truncated() {
    let reason = "R".repeat(5000);
    let condition = json!({"type": "Programmed", "status": "False", "reason": reason});
    let classification = classify(&object("TrafficManagerProfile", 1, condition)).unwrap();
    assert_eq!(classification.reason.len(), MAX_REASON_LABEL_CHARS);
}

#[test]
fn huge_message_classified() {
    let padding = "x".repeat(32 * 1024);
    let message = format!("{padding} RESPONSE 403: 403 Forbidden {padding}");
    assert_eq!(
        profile("False", "Invalid", &message),
        vec![Problem::AuthorizationFailed]
    );
}

#[test]
fn eligibility_order() {
    let export = |spec: serde_json::Value| {
        let value = json!({
            "apiVersion": "networking.fleet.azure.com/v1alpha1",
            "kind": "InternalServiceExport",
            "metadata": {"name": "n", "namespace": "fleet-member-c"},
            "spec": spec,
        });
        match decode_object(0, value).unwrap().unwrap() {
            HubObject::Export(export) => endpoint_eligibility(&export),
            other => panic!("expected an export, got {other:?}"),
        }
    };
    assert_eq!(
        export(json!({"type": "ClusterIP", "isInternalLoadBalancer": true})),
        Err(Ineligibility::NotLoadBalancer)
    );
    assert_eq!(
        export(json!({"type": "LoadBalancer", "isInternalLoadBalancer": true})),
        Err(Ineligibility::InternalLoadBalancer)
    );
    assert_eq!(
        export(json!({"type": "LoadBalancer"})),
        Err(Ineligibility::NoPublicIp)
    );
    assert_eq!(
        export(json!({"type": "LoadBalancer", "publicIPResourceID": "/x"})),
        Err(Ineligibility::NoDnsLabel)
    );
    assert_eq!(
        export(
            json!({"type": "LoadBalancer", "publicIPResourceID": "/x", "isDNSLabelConfigured": true})
        ),
        Ok(())
    );
}

#[test]
fn truncate_respects_char_boundaries() {
    assert_eq!(truncate_chars("äöü", 2), "äö");
    assert_eq!(truncate_chars("ab", 5), "ab");
}
