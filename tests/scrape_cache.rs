//! A scrape reuses each kind's encoded series only while no object of that kind changed.

use std::sync::Arc;

use fleet_dns_lb_exporter::catalogue::Kind;
use fleet_dns_lb_exporter::metrics::encode;
use fleet_dns_lb_exporter::metrics::exposition::Format;
use fleet_dns_lb_exporter::metrics::own::ExporterMetrics;
use fleet_dns_lb_exporter::objects::{HubObject, decode_object};
use fleet_dns_lb_exporter::state::{Hub, HubConfig};
use fleet_dns_lb_testkit::synthetic::{Scale, generate};

fn decoded() -> Vec<HubObject> {
    generate(&Scale::TINY)
        .into_iter()
        .enumerate()
        .map(|(i, v)| decode_object(i, v).unwrap().unwrap())
        .collect()
}

fn uncached(hub: &Hub, format: Format) -> String {
    encode(&hub.read(), hub.config(), hub.metrics(), format)
}

#[test]
fn scrape_follows_every_change() {
    let hub = Hub::new(HubConfig::default(), Arc::new(ExporterMetrics::new()));
    let objects = decoded();
    hub.replace(&Kind::ALL, objects.clone());
    for format in [Format::Text, Format::OpenMetrics] {
        assert_eq!(hub.encode(format), uncached(&hub, format));
        // Twice, so the second scrape comes from the cache.
        assert_eq!(hub.encode(format), uncached(&hub, format));
    }

    let Some(HubObject::Backend(mut backend)) = objects
        .iter()
        .find(|o| matches!(o, HubObject::Backend(_)))
        .cloned()
    else {
        panic!("the synthetic hub has backends");
    };
    Arc::make_mut(&mut backend).spec.weight = Some(777);
    let line = format!(
        "fleet_dns_lb_backend_weight{{namespace=\"{}\",name=\"{}\"}} 777\n",
        backend.namespace(),
        backend.name()
    );
    let key = HubObject::Backend(backend.clone()).key();
    assert!(!hub.encode(Format::Text).contains(&line));
    hub.apply(HubObject::Backend(backend));
    let text = hub.encode(Format::Text);
    assert!(text.contains(&line), "the scrape shows the changed weight");
    assert_eq!(text, uncached(&hub, Format::Text));
    // The series of the other kinds come from the cache, and both formats share them.
    assert_eq!(
        hub.encode(Format::OpenMetrics),
        uncached(&hub, Format::OpenMetrics)
    );

    hub.delete(&key);
    let text = hub.encode(Format::Text);
    assert!(
        !text.contains(&line),
        "the scrape drops the deleted backend"
    );
    assert_eq!(text, uncached(&hub, Format::Text));

    hub.replace(&Kind::ALL, objects);
    assert_eq!(
        hub.encode(Format::OpenMetrics),
        uncached(&hub, Format::OpenMetrics)
    );
}
