//! Property tests: untrusted input never panics, and every exposition stays parseable with
//! quotes, backslashes, line feeds and long text in label values.

mod support;

use std::sync::Arc;

use fleet_dns_lb_exporter::catalogue::Kind;
use fleet_dns_lb_exporter::classify::{MAX_REASON_LABEL_CHARS, classify};
use fleet_dns_lb_exporter::metrics::exposition::Format;
use fleet_dns_lb_exporter::metrics::own::ExporterMetrics;
use fleet_dns_lb_exporter::objects::{HubObject, decode_object};
use fleet_dns_lb_exporter::state::{Hub, HubConfig};
use proptest::prelude::*;
use serde_json::{Value, json};
use support::promtool_check_metrics;

/// Any JSON value, a few levels deep.
fn any_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<f64>().prop_map(Value::from),
        ".{0,40}".prop_map(Value::String),
    ];
    leaf.prop_recursive(3, 24, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::btree_map(
                prop_oneof![
                    Just("conditions".to_owned()),
                    Just("status".to_owned()),
                    Just("message".to_owned()),
                    Just("endpoints".to_owned()),
                    Just("type".to_owned()),
                    ".{0,12}"
                ],
                inner,
                0..6
            )
            .prop_map(|map| Value::Object(map.into_iter().collect())),
        ]
    })
}

/// Strings that stress label escaping: quotes, backslashes, line feeds, non-ASCII.
fn nasty_string() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-z0-9-]{1,20}",
        "[\"\\\\\n\tä€ a-z]{1,40}",
        Just("x".repeat(4096)),
        Just("\\\"\n\\n".to_owned()),
    ]
}

fn backend_value(namespace: &str, name: &str, text: &str, cluster: &str) -> Value {
    json!({
        "apiVersion": "networking.fleet.azure.com/v1beta1",
        "kind": "TrafficManagerBackend",
        "metadata": {"name": name, "namespace": namespace, "generation": 1},
        "spec": {"profile": {"name": text}, "backend": {"name": text}, "weight": 3},
        "status": {
            "conditions": [{"type": text, "status": "False", "reason": text, "message": text}],
            "endpoints": [{"target": text, "weight": 1, "from": {"cluster": cluster, "weight": 2}}]
        }
    })
}

fn profile_value(namespace: &str, name: &str, text: &str) -> Value {
    json!({
        "apiVersion": "networking.fleet.azure.com/v1beta1",
        "kind": "TrafficManagerProfile",
        "metadata": {"name": name, "namespace": namespace, "uid": text},
        "spec": {"resourceGroup": text},
        "status": {
            "dnsName": text,
            "resourceID": format!("/subscriptions/{text}/resourceGroups/rg"),
            "conditions": [{"type": "Programmed", "status": "Unknown", "reason": text}]
        }
    })
}

/// Parses one sample line independently of the exporter's writer and returns its label
/// values unescaped; `None` when the line is not a valid sample.
fn parse_sample(line: &str) -> Option<Vec<(String, String)>> {
    let name_end = line.find(['{', ' '])?;
    let name = &line[..name_end];
    let name_ok = name.chars().enumerate().all(|(i, c)| {
        c == '_' || c == ':' || c.is_ascii_alphabetic() || (i > 0 && c.is_ascii_digit())
    });
    if name.is_empty() || !name_ok {
        return None;
    }
    let mut labels = Vec::new();
    let mut rest = &line[name_end..];
    if let Some(body) = rest.strip_prefix('{') {
        let mut chars = body.char_indices().peekable();
        loop {
            chars.peek()?;
            let mut label = String::new();
            for (_, c) in chars.by_ref() {
                if c == '=' {
                    break;
                }
                label.push(c);
            }
            if label.is_empty() || !label.chars().all(|c| c == '_' || c.is_ascii_alphanumeric()) {
                return None;
            }
            if chars.next()?.1 != '"' {
                return None;
            }
            let mut value = String::new();
            loop {
                match chars.next()?.1 {
                    '\\' => match chars.next()?.1 {
                        '\\' => value.push('\\'),
                        '"' => value.push('"'),
                        'n' => value.push('\n'),
                        _ => return None,
                    },
                    '"' => break,
                    '\n' => return None,
                    c => value.push(c),
                }
            }
            labels.push((label, value));
            match chars.next()?.1 {
                ',' => continue,
                '}' => {
                    let end = chars.peek().map_or(body.len(), |(i, _)| *i);
                    rest = &body[end..];
                    break;
                }
                _ => return None,
            }
        }
    }
    let value = rest.strip_prefix(' ')?;
    value.parse::<f64>().ok()?;
    Some(labels)
}

fn encode(objects: Vec<HubObject>, format: Format) -> String {
    let hub = Hub::new(HubConfig::default(), Arc::new(ExporterMetrics::new()));
    hub.replace(&Kind::ALL, objects);
    hub.encode(format)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn decoding_never_panics(value in any_json(), kind in prop_oneof![
        Just("TrafficManagerProfile"), Just("TrafficManagerBackend"),
        Just("ServiceImport"), Just("InternalServiceExport")
    ]) {
        let item = json!({
            "apiVersion": "networking.fleet.azure.com/v1beta1",
            "kind": kind,
            "metadata": {"name": "n", "namespace": "ns"},
            "spec": value.clone(),
            "status": value,
        });
        if let Ok(Some(object)) = decode_object(0, item) {
            let _ = classify(&object);
            let _ = encode(vec![object], Format::Text);
        }
    }

    #[test]
    fn classification_never_panics(
        status in prop_oneof![
            Just("True".to_owned()),
            Just("False".to_owned()),
            Just("Unknown".to_owned()),
            ".{0,8}"
        ],
        reason in ".{0,64}",
        message in prop_oneof![".{0,400}", "[ \n\"(){}:0-9a-zA-Z]{0,2000}"],
        generation in any::<i64>(),
        observed in any::<i64>(),
    ) {
        for kind in ["TrafficManagerProfile", "TrafficManagerBackend"] {
            let item = json!({
                "apiVersion": "networking.fleet.azure.com/v1beta1",
                "kind": kind,
                "metadata": {"name": "n", "namespace": "ns", "generation": generation},
                "status": {"conditions": [{
                    "type": "Programmed", "status": status, "reason": reason,
                    "message": message, "observedGeneration": observed,
                    "lastTransitionTime": message,
                }]},
            });
            let object = decode_object(0, item).unwrap().unwrap();
            let classification = classify(&object).unwrap();
            prop_assert!(classification.reason.chars().count() <= MAX_REASON_LABEL_CHARS);
        }
    }

    #[test]
    fn exposition_parses_with_any_label_text(
        namespace in nasty_string(),
        name in nasty_string(),
        text in nasty_string(),
        cluster in nasty_string(),
    ) {
        let objects: Vec<HubObject> = [
            profile_value(&namespace, &name, &text),
            backend_value(&namespace, &name, &text, &cluster),
        ]
        .into_iter()
        .map(|value| decode_object(0, value).unwrap().unwrap())
        .collect();

        for format in [Format::Text, Format::OpenMetrics] {
            let exposition = encode(objects.clone(), format);
            let mut saw_object = false;
            for line in exposition.lines() {
                if line.starts_with('#') {
                    continue;
                }
                let labels = parse_sample(line);
                prop_assert!(labels.is_some(), "unparseable line: {line:?}");
                let labels = labels.unwrap();
                if labels.iter().any(|(k, v)| k == "name" && *v == name)
                    && labels.iter().any(|(k, v)| k == "namespace" && *v == namespace)
                {
                    saw_object = true;
                }
            }
            prop_assert!(saw_object, "the object's series were not found with its exact labels");
        }
    }
}

#[test]
fn promtool_parses_nasty_labels() {
    let texts = [
        "quote\"d",
        "back\\slash",
        "line\nfeed",
        "ünïcödé €",
        "\\n literal",
    ];
    let mut objects = Vec::new();
    for (i, text) in texts.iter().enumerate() {
        let name = format!("object-{i}");
        objects.push(
            decode_object(0, profile_value("ns", &name, text))
                .unwrap()
                .unwrap(),
        );
        objects.push(
            decode_object(0, backend_value("ns", &name, text, text))
                .unwrap()
                .unwrap(),
        );
    }
    let long = "y".repeat(32 * 1024);
    objects.push(
        decode_object(0, backend_value("ns", "long", &long, "c"))
            .unwrap()
            .unwrap(),
    );
    let exposition = encode(objects, Format::Text);

    let report = promtool_check_metrics(&exposition);
    assert!(
        report.success,
        "promtool rejected the exposition:\n{}",
        report.output
    );
}

#[test]
fn independent_parser_rejects_bad_lines() {
    assert!(parse_sample("m{a=\"x\"} 1").is_some());
    assert!(parse_sample("m{a=\"x\\\"y\"} 1").is_some());
    assert!(parse_sample("m{a=\"x\"y\"} 1").is_none());
    assert!(parse_sample("m{a=\"x\\q\"} 1").is_none());
    assert!(parse_sample("m{a=\"x\"} one").is_none());
    assert!(parse_sample("9m 1").is_none());
}
