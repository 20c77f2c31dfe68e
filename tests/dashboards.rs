//! The Grafana dashboards in dashboards/: their conventions, every panel query run against
//! a real Prometheus that scrapes the exporter, and the ConfigMaps generated from them.

#[path = "dashboards/grafana.rs"]
mod grafana;
#[path = "dashboards/promql.rs"]
mod promql;
mod support;

use std::collections::{BTreeMap, BTreeSet};
use std::process::Command;
use std::time::Duration;

use fleet_dns_lb_exporter::catalogue::Ineligibility;
use grafana::{
    Dashboard, Selection, expand, format_selection, is_row, panel_title, split_label_values,
    variable_query, variable_references,
};
use regex::Regex;
use serde::Deserialize as _;
use serde_json::{Value, json};
use support::{Exporter, Prometheus, replace_file, repo_path, wait_for};

/// Prometheus job name of the exporter in the live test.
const JOB: &str = "fleet-dns-lb";

/// Targets that return no data on the example hub, by dashboard uid, panel title and
/// refId, with the reason. Any other target without data fails the live test.
const EMPTY_BY_DESIGN: &[(&str, &str, &str, &str)] = &[(
    "fleet-dns-lb-overview",
    "Watch errors and reload failures",
    "A",
    "watch errors come from the live source, and the test runs the file source",
)];

/// Metrics that queries may name although the exporter's scrape in the live test has no
/// such series, with the reason.
const METRICS_NOT_IN_SCRAPE: &[(&str, &str)] = &[
    ("up", "Prometheus writes it for every scrape target"),
    (
        "fleet_dns_lb_watch_errors_total",
        "only the live source counts watch errors, and the test runs the file source",
    ),
];

/// Values that stand for the template variables in the convention checks. A selector that
/// filters on a variable ends up with exactly this value in its matcher.
const SENTINEL_JOB: &str = "sentineljob";
const SENTINEL_INSTANCE: &str = "sentinelinstance";
const SENTINEL_NAMESPACE: &str = "sentinelnamespace";
const SENTINEL_PROFILE: &str = "sentinelprofile";
/// Stands for `$__rate_interval`: a range no query would use by accident.
const SENTINEL_RATE_INTERVAL: (&str, Duration) = ("7m13s", Duration::from_secs(433));

// === Conventions ===

#[test]
fn dashboard_uids_stable_and_unique() {
    let uid_pattern = Regex::new("^[a-z0-9-]{1,40}$").unwrap();
    let mut uids = BTreeSet::new();
    for dashboard in Dashboard::load_all() {
        let uid = dashboard.uid();
        assert_eq!(
            uid, dashboard.stem,
            "{}: uid must equal the file name",
            dashboard.stem
        );
        assert!(
            uid_pattern.is_match(uid),
            "{uid}: uid must be 1 to 40 of [a-z0-9-]"
        );
        assert!(uids.insert(uid.to_owned()), "{uid}: uid used twice");
        assert!(
            dashboard.json["id"].is_null(),
            "{uid}: id must be null so the dashboard imports as new"
        );
        let schema = dashboard.json["schemaVersion"].as_u64().unwrap_or(0);
        assert!(
            (36..=41).contains(&schema),
            "{uid}: schemaVersion {schema} is not 36 to 41"
        );
        assert!(non_empty(&dashboard.json["title"]), "{uid}: no title");
        assert!(
            non_empty(&dashboard.json["description"]),
            "{uid}: no description"
        );
    }
}

#[test]
fn template_variables_follow_conventions() {
    for dashboard in Dashboard::load_all() {
        let uid = dashboard.uid().to_owned();
        let variables = dashboard.variables();

        let datasources: Vec<&&Value> = variables
            .iter()
            .filter(|v| v["type"] == "datasource")
            .collect();
        assert_eq!(
            datasources.len(),
            1,
            "{uid}: needs exactly one datasource variable"
        );
        assert_eq!(
            datasources[0]["name"], "datasource",
            "{uid}: the datasource variable must be named datasource"
        );
        assert_eq!(
            datasources[0]["query"], "prometheus",
            "{uid}: the datasource variable must be of type prometheus"
        );

        for name in ["job", "instance"] {
            let variable = dashboard
                .variable(name)
                .unwrap_or_else(|| panic!("{uid}: no {name} variable"));
            assert_eq!(
                variable["type"], "query",
                "{uid}: {name} must be a query variable"
            );
            assert_eq!(
                variable["multi"], true,
                "{uid}: {name} must allow several values"
            );
            assert_eq!(variable["includeAll"], true, "{uid}: {name} must offer All");
        }
        let namespace = dashboard
            .variable("namespace")
            .unwrap_or_else(|| panic!("{uid}: no namespace variable"));
        assert_eq!(
            namespace["type"], "query",
            "{uid}: namespace must be a query variable"
        );

        let mut defined = BTreeSet::new();
        for variable in &variables {
            let name = variable["name"].as_str().unwrap_or_default().to_owned();
            if variable["type"] == "query" {
                assert_eq!(
                    variable["datasource"],
                    datasource_ref(),
                    "{uid}: variable {name} must query ${{datasource}}"
                );
                let query = variable_query(variable).unwrap_or_default();
                assert!(
                    split_label_values(query).is_some(),
                    "{uid}: variable {name}: expected label_values(selector, label), got {query:?}"
                );
                for reference in variable_references(query) {
                    assert!(
                        defined.contains(&reference),
                        "{uid}: variable {name} refers to ${reference}, which is not defined before it"
                    );
                }
            }
            defined.insert(name);
        }
    }
}

#[test]
fn panels_have_title_description_unit_and_datasource() {
    for dashboard in Dashboard::load_all() {
        let uid = dashboard.uid().to_owned();
        let mut ids = BTreeSet::new();
        for panel in dashboard.panels() {
            let title = panel_title(panel);
            assert!(
                !title.trim().is_empty(),
                "{uid}: panel {} has no title",
                panel["id"]
            );
            assert!(
                ids.insert(panel["id"].as_u64().expect("panel id")),
                "{uid}: panel id {} used twice",
                panel["id"]
            );
            if is_row(panel) {
                continue;
            }
            assert!(
                non_empty(&panel["description"]),
                "{uid}/{title}: no description"
            );
            assert!(
                non_empty(&panel["fieldConfig"]["defaults"]["unit"]),
                "{uid}/{title}: no unit in fieldConfig.defaults.unit"
            );
            assert_eq!(
                panel["datasource"],
                datasource_ref(),
                "{uid}/{title}: panel must use ${{datasource}}"
            );
            let targets = panel["targets"].as_array().cloned().unwrap_or_default();
            assert!(!targets.is_empty(), "{uid}/{title}: no queries");
            let mut ref_ids = BTreeSet::new();
            for target in &targets {
                let ref_id = target["refId"].as_str().unwrap_or_default().to_owned();
                assert!(
                    ref_ids.insert(ref_id.clone()),
                    "{uid}/{title}: refId {ref_id} used twice"
                );
                assert_eq!(
                    target["datasource"],
                    datasource_ref(),
                    "{uid}/{title}/{ref_id}: query must use ${{datasource}}"
                );
                assert!(
                    non_empty(&target["expr"]),
                    "{uid}/{title}/{ref_id}: empty query"
                );
            }
        }
    }
}

#[test]
fn panel_grid_has_no_overlaps() {
    for dashboard in Dashboard::load_all() {
        let uid = dashboard.uid().to_owned();
        let mut placed: Vec<(String, [u64; 4])> = Vec::new();
        for panel in dashboard.json["panels"].as_array().unwrap() {
            let title = panel_title(panel);
            let grid = &panel["gridPos"];
            let [x, y, w, h] = ["x", "y", "w", "h"].map(|key| {
                grid[key]
                    .as_u64()
                    .unwrap_or_else(|| panic!("{uid}/{title}: gridPos.{key} missing"))
            });
            assert!(w > 0, "{uid}/{title}: gridPos.w is 0");
            assert!(h > 0, "{uid}/{title}: gridPos.h is 0");
            assert!(x + w <= 24, "{uid}/{title}: wider than the 24-column grid");
            for (other, [ox, oy, ow, oh]) in &placed {
                let apart = x + w <= *ox || *ox + ow <= x || y + h <= *oy || *oy + oh <= y;
                assert!(apart, "{uid}: panels {title:?} and {other:?} overlap");
            }
            placed.push((title, [x, y, w, h]));
        }
    }
}

#[test]
fn queries_filter_on_template_variables() {
    let labels = exporter_label_names();
    let values = BTreeMap::from(
        [
            ("job", SENTINEL_JOB),
            ("instance", SENTINEL_INSTANCE),
            ("namespace", SENTINEL_NAMESPACE),
            ("profile", SENTINEL_PROFILE),
        ]
        .map(|(name, value)| (name.to_owned(), value.to_owned())),
    );
    let values = with_builtins(values, SENTINEL_RATE_INTERVAL.0);
    let mut failures = Vec::new();
    for dashboard in Dashboard::load_all() {
        for query in dashboard.queries() {
            let at = format!("{}/{}/{}", dashboard.uid(), query.title, query.ref_id);
            let parts = match expand(&query.expr, &values).and_then(|expr| promql::parse(&expr)) {
                Ok(parts) => parts,
                Err(error) => {
                    failures.push(format!("{at}: {error}"));
                    continue;
                }
            };
            if parts.subqueries > 0 {
                failures.push(format!(
                    "{at}: uses a subquery; use a range selector with $__rate_interval"
                ));
            }
            for selector in &parts.selectors {
                let Some(metric) = selector.metric.as_deref() else {
                    failures.push(format!("{at}: a selector without a metric name"));
                    continue;
                };
                for (label, sentinel) in [("job", SENTINEL_JOB), ("instance", SENTINEL_INSTANCE)] {
                    let filtered = selector
                        .matchers_on(label)
                        .iter()
                        .any(|m| m.op == "=~" && m.value == sentinel);
                    if !filtered {
                        failures.push(format!(
                            "{at}: {metric} does not filter on {label}=~\"${label}\""
                        ));
                    }
                }
                let has_namespace = labels
                    .get(metric)
                    .is_some_and(|names| names.contains("namespace"));
                let namespace_filtered = selector
                    .matchers_on("namespace")
                    .iter()
                    .any(|m| (m.op == "=" || m.op == "=~") && m.value == SENTINEL_NAMESPACE);
                if has_namespace && !namespace_filtered {
                    failures.push(format!(
                        "{at}: {metric} has a namespace label but does not filter on $namespace"
                    ));
                }
                if let Some(range) = selector.range
                    && range != SENTINEL_RATE_INTERVAL.1
                {
                    failures.push(format!(
                        "{at}: {metric} uses the range {range:?}; use [$__rate_interval]"
                    ));
                }
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} queries break the conventions:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn problem_tables_link_to_runbooks() {
    let mut tables = 0;
    for dashboard in Dashboard::load_all() {
        let uid = dashboard.uid().to_owned();
        for panel in dashboard.panels() {
            if panel["type"] != "table" || !shows_column(panel, "problem") {
                continue;
            }
            tables += 1;
            let title = panel_title(panel);
            let links = field_override(panel, "problem", "links")
                .unwrap_or_else(|| panic!("{uid}/{title}: the problem column has no data link"));
            let urls: Vec<&str> = links
                .as_array()
                .unwrap()
                .iter()
                .filter_map(|l| l["url"].as_str())
                .collect();
            assert_eq!(
                urls,
                ["${runbook_base_url:raw}/${__data.fields.problem}.md"],
                "{uid}/{title}: the problem column must link to the runbook named after the problem"
            );

            let variable = dashboard.variable("runbook_base_url").unwrap_or_else(|| {
                panic!("{uid}: links to runbooks but has no runbook_base_url variable")
            });
            assert_eq!(
                variable["type"], "textbox",
                "{uid}: runbook_base_url must be a textbox so it can be set"
            );
            let default = variable["query"].as_str().unwrap_or_default();
            assert!(
                default.starts_with("https://"),
                "{uid}: runbook_base_url default {default:?} is not an https URL"
            );
            assert!(
                default.ends_with("/docs/runbooks"),
                "{uid}: runbook_base_url default {default:?} must point at docs/runbooks"
            );
        }
    }
    assert!(
        tables >= 2,
        "expected a problem table on each dashboard, found {tables}"
    );
}

#[test]
fn eligibility_reasons_have_readable_text() {
    let mut panels = 0;
    for dashboard in Dashboard::load_all() {
        for panel in dashboard.panels() {
            if !selects_metric(panel, "fleet_dns_lb_service_export_ineligible") {
                continue;
            }
            panels += 1;
            let title = panel_title(panel);
            let mappings = field_override(panel, "reason", "mappings")
                .unwrap_or_else(|| panic!("{title}: the reason column has no value mappings"));
            for reason in Ineligibility::ALL {
                let text = &mappings[0]["options"][reason.as_str()]["text"];
                assert!(
                    non_empty(text),
                    "{title}: no text for the reason {}",
                    reason.as_str()
                );
            }
        }
    }
    assert_eq!(
        panels, 1,
        "expected one panel that shows why a Service cannot be an endpoint"
    );
}

// === Every query against a real Prometheus ===

/// One expansion of a dashboard's variables, as a user would pick them on the example hub.
struct Run {
    uid: &'static str,
    case: &'static str,
    namespace: Selection<'static>,
    profile: Option<&'static str>,
}

fn runs() -> Vec<Run> {
    vec![
        Run {
            uid: "fleet-dns-lb-overview",
            case: "all namespaces",
            namespace: Selection::All,
            profile: None,
        },
        Run {
            uid: "fleet-dns-lb-overview",
            case: "namespace web",
            namespace: Selection::Values(&["web"]),
            profile: None,
        },
        Run {
            uid: "fleet-dns-lb-overview",
            case: "namespaces web and nginx",
            namespace: Selection::Values(&["web", "nginx"]),
            profile: None,
        },
        Run {
            uid: "fleet-dns-lb-profile",
            case: "profile web/storefront",
            namespace: Selection::Values(&["web"]),
            profile: Some("storefront"),
        },
    ]
}

#[test]
fn panel_queries_return_data_from_prometheus() {
    let dashboards = Dashboard::load_all();
    check_allow_list(&dashboards);

    let hub = tempfile::tempdir().expect("creating a temporary directory");
    let hub_file = hub.path().join("fleet-hub.yaml");
    let example = std::fs::read_to_string(repo_path("examples/fleet-hub.yaml")).unwrap();
    std::fs::write(&hub_file, &example).unwrap();
    let exporter = Exporter::start(&["--from-file", hub_file.to_str().unwrap()]);
    let prometheus = Prometheus::start(&Prometheus::scrape_config(JOB, exporter.address), &[]);
    prometheus.wait_for_targets_up();

    // A file that never changes gives no condition transition and no failed reload, so
    // the panels of those counters would be empty. Break the file once, then change the
    // status of one condition, the way an operator's edits would.
    replace_file(&hub_file, "items: [not closed\n");
    wait_for("the exporter to count a failed reload", || {
        let scrape = exporter.scrape();
        let failed = sample_sum(
            &scrape,
            "fleet_dns_lb_file_reloads_total",
            &["result=\"failure\""],
        );
        (failed >= 1.0).then_some(())
    });
    replace_file(
        &hub_file,
        &with_condition_status(&example, "web", "checkout", "False"),
    );
    wait_for("the exporter to count a condition transition", || {
        let scrape = exporter.scrape();
        let transitions = sample_sum(&scrape, "fleet_dns_lb_condition_transitions_total", &[]);
        (transitions >= 1.0).then_some(())
    });
    // increase() needs two samples of a counter within its range.
    let counters: Vec<String> = exposition_label_names(&exporter.scrape())
        .into_keys()
        .filter(|name| name.ends_with("_total"))
        .collect();
    for counter in &counters {
        wait_for(
            &format!("Prometheus to store two samples of {counter}"),
            || {
                let query = format!("min(count_over_time({counter}{{job=\"{JOB}\"}}[1m]))");
                let data = prometheus.try_query(&query).ok()?;
                let count: f64 = data["result"][0]["value"][1].as_str()?.parse().ok()?;
                (count >= 2.0).then_some(())
            },
        );
    }

    let emitted: BTreeSet<String> = exposition_label_names(&exporter.scrape())
        .into_keys()
        .collect();
    let instance = exporter.address.to_string();
    let mut failures = Vec::new();
    let mut checked = 0;
    for run in runs() {
        let dashboard = dashboards
            .iter()
            .find(|d| d.uid() == run.uid)
            .expect("a dashboard for every run");
        let values = run_values(dashboard, &run, &instance);
        let at_run = format!("{} ({})", run.uid, run.case);

        for variable in dashboard.variables() {
            if variable["type"] != "query" {
                continue;
            }
            let query = variable_query(variable).unwrap_or_default();
            let name = variable["name"].as_str().unwrap_or_default();
            if let Err(error) = check_variable_query(&prometheus, query, &values, &emitted) {
                failures.push(format!("{at_run}: variable {name}: {error}"));
            }
        }

        for query in dashboard.queries() {
            checked += 1;
            let at = format!("{at_run}: {}/{}", query.title, query.ref_id);
            let expr = match expand(&query.expr, &values) {
                Ok(expr) => expr,
                Err(error) => {
                    failures.push(format!("{at}: {error}"));
                    continue;
                }
            };
            let data = match prometheus.try_query(&expr) {
                Ok(data) => data,
                Err(error) => {
                    failures.push(format!(
                        "{at}: Prometheus rejected the query: {error}\n{expr}"
                    ));
                    continue;
                }
            };
            match promql::parse(&expr) {
                Ok(parts) => {
                    for selector in &parts.selectors {
                        let metric = selector.metric.as_deref().unwrap_or_default();
                        let allowed = METRICS_NOT_IN_SCRAPE
                            .iter()
                            .any(|(name, _)| *name == metric);
                        if !emitted.contains(metric) && !allowed {
                            failures.push(format!(
                                "{at}: {metric:?} is not a metric the exporter emits"
                            ));
                        }
                    }
                }
                Err(error) => failures.push(format!(
                    "{at}: promql-parser rejected a query Prometheus ran: {error}"
                )),
            }
            let empty = data["result"].as_array().is_none_or(Vec::is_empty);
            let empty_by_design = EMPTY_BY_DESIGN.iter().any(|(uid, title, ref_id, _)| {
                *uid == run.uid && *title == query.title && *ref_id == query.ref_id
            });
            if empty && !empty_by_design {
                failures.push(format!("{at}: returned no data\n{expr}"));
            }
        }
    }
    assert!(checked > 0, "no dashboard query ran");
    assert!(
        failures.is_empty(),
        "{} dashboard checks failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

/// Fails when an entry of the allow-lists names a query that does not exist, so the
/// lists shrink with the dashboards.
fn check_allow_list(dashboards: &[Dashboard]) {
    for (uid, title, ref_id, reason) in EMPTY_BY_DESIGN {
        assert!(!reason.is_empty());
        let exists = dashboards
            .iter()
            .filter(|d| d.uid() == *uid)
            .flat_map(Dashboard::queries)
            .any(|q| q.title == *title && q.ref_id == *ref_id);
        assert!(
            exists,
            "EMPTY_BY_DESIGN names {uid}/{title}/{ref_id}, which does not exist"
        );
    }
    for (metric, reason) in METRICS_NOT_IN_SCRAPE {
        assert!(!reason.is_empty());
        let used = dashboards
            .iter()
            .flat_map(Dashboard::queries)
            .any(|q| q.expr.contains(metric));
        assert!(
            used,
            "METRICS_NOT_IN_SCRAPE names {metric}, which no query uses"
        );
    }
}

/// Runs a `label_values(selector, label)` variable query the way Grafana does, through the
/// series API, and checks that it offers at least one value.
fn check_variable_query(
    prometheus: &Prometheus,
    query: &str,
    values: &BTreeMap<String, String>,
    emitted: &BTreeSet<String>,
) -> Result<(), String> {
    let expanded = expand(query, values)?;
    let (selector, label) = split_label_values(&expanded)
        .ok_or_else(|| format!("not label_values(selector, label): {expanded}"))?;
    let series = prometheus.series(selector)?;
    if series.is_empty() {
        return Err(format!("{expanded} offers no value"));
    }
    for one in &series {
        let name = one["__name__"].as_str().unwrap_or_default();
        if !emitted.contains(name) {
            return Err(format!(
                "{expanded} matched {name:?}, which the exporter does not emit"
            ));
        }
        if one[label].as_str().is_none_or(str::is_empty) {
            return Err(format!(
                "{expanded} matched a series without {label}: {one}"
            ));
        }
    }
    Ok(())
}

/// Returns the variable values of one run, formatted as Grafana puts them into a query.
fn run_values(dashboard: &Dashboard, run: &Run, instance: &str) -> BTreeMap<String, String> {
    let mut values = BTreeMap::new();
    let mut set = |name: &str, selection: Selection<'_>| {
        if let Some(variable) = dashboard.variable(name) {
            values.insert(name.to_owned(), format_selection(variable, &selection));
        }
    };
    set("job", Selection::Values(&[JOB]));
    set("instance", Selection::Values(&[instance]));
    match &run.namespace {
        Selection::All => set("namespace", Selection::All),
        Selection::Values(names) => set("namespace", Selection::Values(names)),
    }
    if let Some(profile) = run.profile {
        set("profile", Selection::Values(&[profile]));
    }
    with_builtins(values, "1m")
}

/// Adds Grafana's built-in interval and range variables.
fn with_builtins(
    mut values: BTreeMap<String, String>,
    rate_interval: &str,
) -> BTreeMap<String, String> {
    for (name, value) in [
        ("__rate_interval", rate_interval),
        ("__interval", "15s"),
        ("__interval_ms", "15000"),
        ("__range", "1h"),
        ("__range_s", "3600"),
        ("__range_ms", "3600000"),
    ] {
        values.insert(name.to_owned(), value.to_owned());
    }
    values
}

/// Returns the example hub with the status of one TrafficManagerProfile's condition set to
/// `status`.
fn with_condition_status(example: &str, namespace: &str, name: &str, status: &str) -> String {
    let mut hub: Value = serde_yaml_ng::from_str(example).expect("the example hub is YAML");
    let profile = hub["items"]
        .as_array_mut()
        .unwrap()
        .iter_mut()
        .find(|item| {
            item["kind"] == "TrafficManagerProfile"
                && item["metadata"]["namespace"] == namespace
                && item["metadata"]["name"] == name
        })
        .unwrap_or_else(|| {
            panic!("the example hub has no TrafficManagerProfile {namespace}/{name}")
        });
    let condition = &mut profile["status"]["conditions"][0];
    assert_ne!(
        condition["status"], status,
        "{namespace}/{name} already has status {status}"
    );
    condition["status"] = json!(status);
    serde_yaml_ng::to_string(&hub).unwrap()
}

// === ConfigMaps for the Grafana sidecar ===

const CONFIGMAPS: &str = "deploy/grafana-dashboards.yaml";

#[test]
fn configmaps_match_dashboard_files() {
    let text = std::fs::read_to_string(repo_path(CONFIGMAPS)).unwrap();
    let mut contents = BTreeMap::new();
    for document in serde_yaml_ng::Deserializer::from_str(&text) {
        let configmap = Value::deserialize(document).expect("the ConfigMaps file is YAML");
        if configmap.is_null() {
            continue;
        }
        let name = configmap["metadata"]["name"].clone();
        assert_eq!(configmap["kind"], "ConfigMap", "{name}: not a ConfigMap");
        assert_eq!(
            configmap["metadata"]["labels"]["grafana_dashboard"], "1",
            "{name}: no label grafana_dashboard: \"1\" for the sidecar"
        );
        let data = configmap["data"]
            .as_object()
            .unwrap_or_else(|| panic!("{name}: no data"));
        assert_eq!(
            data.len(),
            1,
            "{name}: expected one dashboard per ConfigMap"
        );
        for (key, content) in data {
            contents.insert(key.clone(), content.as_str().unwrap().to_owned());
        }
    }
    for dashboard in Dashboard::load_all() {
        let key = format!("{}.json", dashboard.stem);
        let file = std::fs::read_to_string(&dashboard.path).unwrap();
        let content = contents.remove(&key).unwrap_or_else(|| {
            panic!("no ConfigMap holds {key}; run scripts/gen-dashboard-configmaps")
        });
        assert!(
            content == file,
            "the ConfigMap of {key} differs from dashboards/{key}; run scripts/gen-dashboard-configmaps"
        );
    }
    let stale: Vec<&String> = contents.keys().collect();
    assert!(
        stale.is_empty(),
        "ConfigMaps hold dashboards that dashboards/ does not: {stale:?}; run scripts/gen-dashboard-configmaps"
    );
}

#[test]
fn configmap_generator_output_matches_file() {
    let directory = tempfile::tempdir().unwrap();
    let output = directory.path().join("grafana-dashboards.yaml");
    let status = Command::new("bash")
        .arg(repo_path("scripts/gen-dashboard-configmaps"))
        .arg(&output)
        .status()
        .expect("running scripts/gen-dashboard-configmaps with bash");
    assert!(
        status.success(),
        "scripts/gen-dashboard-configmaps failed with {status}"
    );
    let generated = std::fs::read_to_string(&output).unwrap();
    let committed = std::fs::read_to_string(repo_path(CONFIGMAPS)).unwrap();
    assert!(
        generated == committed,
        "{CONFIGMAPS} is out of date; run scripts/gen-dashboard-configmaps"
    );
}

// === Helpers ===

fn datasource_ref() -> Value {
    json!({"type": "prometheus", "uid": "${datasource}"})
}

fn non_empty(value: &Value) -> bool {
    value.as_str().is_some_and(|text| !text.trim().is_empty())
}

/// Returns whether a query of `panel` selects `metric`; queries that do not parse select nothing.
fn selects_metric(panel: &Value, metric: &str) -> bool {
    let values = with_builtins(
        ["job", "instance", "namespace", "profile"]
            .map(|name| (name.to_owned(), "x".to_owned()))
            .into(),
        "1m",
    );
    panel["targets"]
        .as_array()
        .into_iter()
        .flatten()
        .any(|target| {
            let expr = target["expr"].as_str().unwrap_or_default();
            expand(expr, &values)
                .and_then(|expr| promql::parse(&expr))
                .is_ok_and(|parts| {
                    parts
                        .selectors
                        .iter()
                        .any(|s| s.metric.as_deref() == Some(metric))
                })
        })
}

/// Returns whether a table panel orders a column named `column` with its organize
/// transformation, the way every table here lays out its label columns.
fn shows_column(panel: &Value, column: &str) -> bool {
    panel["transformations"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|t| t["id"] == "organize")
        .any(|t| {
            t["options"]["indexByName"].get(column).is_some()
                && t["options"]["excludeByName"][column] != true
        })
}

/// Returns the value of property `property` in the field override that matches the field
/// named `field`.
fn field_override<'a>(panel: &'a Value, field: &str, property: &str) -> Option<&'a Value> {
    panel["fieldConfig"]["overrides"]
        .as_array()?
        .iter()
        .filter(|o| o["matcher"]["id"] == "byName" && o["matcher"]["options"] == field)
        .flat_map(|o| o["properties"].as_array().into_iter().flatten())
        .find(|p| p["id"] == property)
        .map(|p| &p["value"])
}

/// Runs the exporter once on the example hub and returns the label names of each metric.
fn exporter_label_names() -> BTreeMap<String, BTreeSet<String>> {
    let output = Command::new(env!("CARGO_BIN_EXE_fleet-dns-lb-exporter"))
        .args(["--once", "--from-file"])
        .arg(repo_path("examples/fleet-hub.yaml"))
        .env("RUST_LOG", "warn")
        .output()
        .expect("running the exporter with --once");
    assert!(
        output.status.success(),
        "the exporter failed with --once: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    exposition_label_names(&String::from_utf8(output.stdout).unwrap())
}

/// Returns the sum of the samples of `metric` in a Prometheus text exposition whose labels
/// contain every one of `labels`, such as `result="failure"`.
fn sample_sum(exposition: &str, metric: &str, labels: &[&str]) -> f64 {
    exposition
        .lines()
        .filter(|line| {
            line.strip_prefix(metric)
                .is_some_and(|rest| rest.starts_with('{') || rest.starts_with(' '))
        })
        .filter(|line| labels.iter().all(|label| line.contains(label)))
        .filter_map(|line| line.rsplit(' ').next()?.parse::<f64>().ok())
        .sum()
}

/// Returns each metric of a Prometheus text exposition with the label names its samples
/// carry. A metric with a `# TYPE` line but no sample has no label names.
fn exposition_label_names(exposition: &str) -> BTreeMap<String, BTreeSet<String>> {
    let label = Regex::new(r#"([A-Za-z_][A-Za-z0-9_]*)="(?:[^"\\]|\\.)*""#).unwrap();
    let mut metrics: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for line in exposition.lines() {
        if let Some(rest) = line.strip_prefix("# TYPE ") {
            let name = rest.split_whitespace().next().unwrap_or_default();
            metrics.entry(name.to_owned()).or_default();
            continue;
        }
        if line.starts_with('#') || line.trim().is_empty() {
            continue;
        }
        let end = line.find(['{', ' ']).unwrap_or(line.len());
        let names = metrics.entry(line[..end].to_owned()).or_default();
        if line[end..].starts_with('{') {
            let labels_end = line.rfind('}').unwrap_or(line.len());
            for capture in label.captures_iter(&line[end..labels_end]) {
                names.insert(capture[1].to_owned());
            }
        }
    }
    metrics
}
