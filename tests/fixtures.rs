//! Table tests: every fixture pair `NAME.yaml` + `NAME.expected.yaml` yields exactly the
//! expected problems. The project's own pairs are in tests/fixtures/ and examples/; pairs
//! in ../shared/fixtures/ are run too when that folder exists beside the checkout, so a
//! case added there is tested with no code change.

mod support;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use fleet_dns_lb_exporter::catalogue::{Kind, Problem, Scenario};
use fleet_dns_lb_exporter::classify::classify;
use fleet_dns_lb_exporter::metrics::exposition::Format;
use fleet_dns_lb_exporter::metrics::own::ExporterMetrics;
use fleet_dns_lb_exporter::source::file::load_snapshot;
use fleet_dns_lb_exporter::state::{Hub, HubConfig};
use serde::Deserialize;
use support::repo_path;

#[derive(Debug, Deserialize)]
struct Expected {
    kind: String,
    namespace: String,
    name: String,
    scenario: String,
    problems: Vec<String>,
}

/// Returns every `(objects, expectations)` pair in `directory`.
fn fixture_pairs(directory: &Path) -> Vec<(PathBuf, PathBuf)> {
    let Ok(entries) = std::fs::read_dir(directory) else {
        return Vec::new();
    };
    let mut pairs: Vec<(PathBuf, PathBuf)> = entries
        .filter_map(Result::ok)
        .map(|entry| entry.path())
        .filter_map(|path| {
            let name = path.file_name()?.to_str()?;
            let stem = name.strip_suffix(".expected.yaml")?;
            Some((directory.join(format!("{stem}.yaml")), path.clone()))
        })
        .collect();
    pairs.sort();
    pairs
}

fn check_pair(objects_path: &Path, expected_path: &Path) -> Vec<String> {
    let snapshot = load_snapshot(objects_path)
        .unwrap_or_else(|error| panic!("loading {}: {error}", objects_path.display()));
    assert!(
        snapshot.rejected.is_empty(),
        "{} has rejected items: {:?}",
        objects_path.display(),
        snapshot.rejected
    );
    let text = std::fs::read_to_string(expected_path).unwrap();
    let expectations: Vec<Expected> = serde_yaml_ng::from_str(&text)
        .unwrap_or_else(|error| panic!("parsing {}: {error}", expected_path.display()));

    let mut actual: BTreeMap<(String, String, String), (String, Vec<String>)> = BTreeMap::new();
    for object in &snapshot.objects {
        let Some(classification) = classify(object) else {
            continue;
        };
        let key = object.key();
        let problems = classification
            .problems
            .iter()
            .map(|p| p.as_str().to_owned())
            .collect();
        actual.insert(
            (key.kind.as_str().to_owned(), key.namespace, key.name),
            (classification.scenario.as_str().to_owned(), problems),
        );
    }

    let mut failures = Vec::new();
    for expected in &expectations {
        let key = (
            expected.kind.clone(),
            expected.namespace.clone(),
            expected.name.clone(),
        );
        let Some((scenario, problems)) = actual.remove(&key) else {
            failures.push(format!("{key:?}: expected in the fixture, not found"));
            continue;
        };
        let mut expected_problems = expected.problems.clone();
        expected_problems.sort();
        let mut actual_problems = problems;
        actual_problems.sort();
        if scenario != expected.scenario {
            failures.push(format!(
                "{key:?}: scenario {scenario}, expected {}",
                expected.scenario
            ));
        }
        if actual_problems != expected_problems {
            failures.push(format!(
                "{key:?}: problems {actual_problems:?}, expected {expected_problems:?}"
            ));
        }
    }
    for key in actual.keys() {
        failures.push(format!("{key:?}: classified but has no expectation"));
    }
    failures
        .into_iter()
        .map(|failure| format!("{}: {failure}", objects_path.display()))
        .collect()
}

#[test]
fn project_fixtures_classified() {
    let mut pairs = fixture_pairs(&repo_path("tests/fixtures"));
    pairs.extend(fixture_pairs(&repo_path("examples")));
    assert!(pairs.len() >= 2, "fixture pairs missing: {pairs:?}");
    let failures: Vec<String> = pairs.iter().flat_map(|(o, e)| check_pair(o, e)).collect();
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn shared_fixtures_classified() {
    let shared = repo_path("../shared/fixtures");
    let pairs = fixture_pairs(&shared);
    if pairs.is_empty() {
        eprintln!(
            "note: {} has no fixture pairs; nothing extra to run",
            shared.display()
        );
        return;
    }
    let failures: Vec<String> = pairs.iter().flat_map(|(o, e)| check_pair(o, e)).collect();
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn example_shows_every_documented_case() {
    let snapshot = load_snapshot(&repo_path("examples/fleet-hub.yaml")).unwrap();
    let hub = Hub::new(HubConfig::default(), Arc::new(ExporterMetrics::new()));
    hub.replace(&Kind::ALL, snapshot.objects);
    let scrape = hub.encode(Format::Text);
    for scenario in Scenario::ALL {
        for problem in scenario.problems() {
            let needle = format!(
                "scenario=\"{}\",problem=\"{}\"",
                scenario.as_str(),
                problem.as_str()
            );
            let found = scrape
                .lines()
                .any(|line| line.starts_with("fleet_dns_lb_problem{") && line.contains(&needle));
            assert!(found, "the example hub shows no {needle}");
        }
    }
    assert!(Problem::ALL.iter().all(|p| scrape.contains(p.as_str())));
}
