//! The README documents every metric family and every problem the exporter emits.

mod support;

use std::sync::Arc;

use fleet_dns_lb_exporter::catalogue::{Kind, Problem, Scenario};
use fleet_dns_lb_exporter::metrics::exposition::Format;
use fleet_dns_lb_exporter::metrics::own::ExporterMetrics;
use fleet_dns_lb_exporter::source::file::load_snapshot;
use fleet_dns_lb_exporter::state::{Hub, HubConfig};
use support::repo_path;

fn readme() -> String {
    std::fs::read_to_string(repo_path("README.md")).expect("reading README.md")
}

#[test]
fn readme_lists_every_metric() {
    let snapshot = load_snapshot(&repo_path("examples/fleet-hub.yaml")).unwrap();
    let hub = Hub::new(HubConfig::default(), Arc::new(ExporterMetrics::new()));
    hub.replace(&Kind::ALL, snapshot.objects);
    let readme = readme();
    let missing: Vec<String> = hub
        .encode(Format::Text)
        .lines()
        .filter_map(|line| line.strip_prefix("# HELP "))
        .filter_map(|rest| rest.split(' ').next())
        .filter(|name| !readme.contains(&format!("| `{name}` |")))
        .map(str::to_owned)
        .collect();
    assert!(
        missing.is_empty(),
        "README's metric tables lack: {missing:?}"
    );
}

#[test]
fn readme_lists_every_problem() {
    let readme = readme();
    for problem in Problem::ALL {
        let scenarios: Vec<Scenario> = Scenario::ALL
            .into_iter()
            .filter(|s| s.problems().contains(&problem))
            .collect();
        let scenario_cell = match scenarios.as_slice() {
            [only] => format!("`{}`", only.as_str()),
            _ => "both".to_owned(),
        };
        let row = format!("| `{}` | {} |", problem.as_str(), scenario_cell);
        assert!(
            readme.contains(&row),
            "README's problem table lacks the row {row}"
        );
    }
}
