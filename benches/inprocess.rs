//! In-process benchmarks on the synthetic hub: snapshot parsing, decoding, classification,
//! rendering of each object's series, and encoding a whole scrape at several scales.
//!
//! `cargo bench --bench inprocess` measures them; `cargo test` runs each once at a tiny
//! scale (criterion's test mode), so they cannot rot.

use std::hint::black_box;
use std::sync::Arc;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use fleet_dns_lb_exporter::catalogue::Kind;
use fleet_dns_lb_exporter::classify::classify;
use fleet_dns_lb_exporter::metrics::encode;
use fleet_dns_lb_exporter::metrics::exposition::Format;
use fleet_dns_lb_exporter::metrics::own::ExporterMetrics;
use fleet_dns_lb_exporter::metrics::render::{RenderConfig, render};
use fleet_dns_lb_exporter::objects::{HubObject, decode_object};
use fleet_dns_lb_exporter::source::file::parse_snapshot;
use fleet_dns_lb_exporter::state::{Hub, HubConfig};
use fleet_dns_lb_testkit::synthetic::{Scale, generate};

/// Criterion runs each benchmark once, without measuring, unless `--bench` is given.
fn measuring() -> bool {
    std::env::args().any(|a| a == "--bench")
}

/// Scales for the per-object benchmarks and for the scrape encoding.
fn scales() -> (Scale, Vec<(&'static str, Scale)>) {
    if measuring() {
        let reference = Scale::REFERENCE;
        (
            reference.divided_by(10),
            vec![
                ("1/100", reference.divided_by(100)),
                ("1/10", reference.divided_by(10)),
                ("1", reference),
            ],
        )
    } else {
        (Scale::TINY, vec![("tiny", Scale::TINY)])
    }
}

fn decoded(scale: &Scale) -> Vec<HubObject> {
    generate(scale)
        .into_iter()
        .enumerate()
        .filter_map(|(i, value)| decode_object(i, value).ok().flatten())
        .collect()
}

fn per_object(c: &mut Criterion) {
    let (scale, _) = scales();
    let objects = decoded(&scale);
    let classified: Vec<&HubObject> = objects
        .iter()
        .filter(|o| matches!(o, HubObject::Profile(_) | HubObject::Backend(_)))
        .collect();
    let config = RenderConfig::default();

    let mut group = c.benchmark_group("per_object");
    group.throughput(Throughput::Elements(classified.len() as u64));
    group.bench_function("classify_profiles_and_backends", |b| {
        b.iter(|| {
            for object in &classified {
                black_box(classify(object));
            }
        })
    });
    group.throughput(Throughput::Elements(objects.len() as u64));
    group.bench_function("classify_and_render_all_kinds", |b| {
        b.iter(|| {
            for object in &objects {
                let classification = classify(object);
                black_box(render(object, classification.as_ref(), &config));
            }
        })
    });
    let values = generate(&scale);
    group.bench_function("decode_all_kinds", |b| {
        b.iter(|| {
            for (i, value) in values.iter().enumerate() {
                black_box(decode_object(i, value.clone()).ok());
            }
        })
    });
    group.finish();
}

fn snapshot(c: &mut Criterion) {
    let (scale, _) = scales();
    let mut list = serde_json::json!({"apiVersion": "v1", "kind": "List", "items": []});
    list["items"] = serde_json::Value::Array(generate(&scale));
    let text = serde_json::to_string(&list).expect("serialize the snapshot");

    let mut group = c.benchmark_group("snapshot");
    group.sample_size(10);
    group.throughput(Throughput::Bytes(text.len() as u64));
    group.bench_function("parse_json_list", |b| {
        b.iter(|| black_box(parse_snapshot("hub.json", &text).expect("parse")))
    });
    group.finish();
}

fn scrape(c: &mut Criterion) {
    let (_, scales) = scales();
    let mut group = c.benchmark_group("encode_scrape");
    group.sample_size(20);
    for (name, scale) in scales {
        let hub = Hub::new(HubConfig::default(), Arc::new(ExporterMetrics::new()));
        hub.replace(&Kind::ALL, decoded(&scale));
        let bytes = hub.encode(Format::Text).len();
        group.throughput(Throughput::Bytes(bytes as u64));
        // What encoding every object family costs, as the first scrape does. A scrape after
        // a change re-encodes only the changed kind, so it costs up to this much.
        group.bench_with_input(BenchmarkId::new("after_change", name), &hub, |b, hub| {
            b.iter(|| {
                black_box(encode(
                    &hub.read(),
                    hub.config(),
                    hub.metrics(),
                    Format::Text,
                ))
            })
        });
        // What a scrape costs when nothing changed since the previous one.
        group.bench_with_input(BenchmarkId::new("unchanged", name), &hub, |b, hub| {
            b.iter(|| black_box(hub.encode_chunks(Format::Text)))
        });
    }
    group.finish();
}

criterion_group!(benches, per_object, snapshot, scrape);
criterion_main!(benches);
