//! The shipped alert rules: promtool checks and unit tests, runbook pages, the metrics the
//! expressions read, the rendered PrometheusRule, and a run through real Prometheus and
//! Alertmanager against the exporter serving the example hub.

mod support;

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::process::{Command, Output};

use fleet_dns_lb_exporter::catalogue::Problem;
use promql_parser::label::MatchOp;
use promql_parser::parser::{Expr, VectorSelector};
use promql_parser::util::{ExprVisitor, walk_expr};
use serde::Deserialize;
use support::alertmanager::Alertmanager;
use support::{Exporter, Prometheus, repo_path, require_tool, wait_for};

const RULES: &str = "alerts/fleet-dns-lb.rules.yml";
const UNIT_TESTS: &str = "alerts/tests/fleet-dns-lb.test.yml";
const PROMETHEUS_RULE: &str = "deploy/prometheusrule.yaml";
const RENDERER: &str = "scripts/render-alerts";
/// The runbook base in the unrendered rule file: the pages' path in this repository.
const RUNBOOK_PATH: &str = "docs/runbooks/";
/// The scrape job name the rule file assumes for `up`.
const JOB: &str = "fleet-dns-lb-exporter";

#[derive(Debug, Deserialize)]
struct RuleFile {
    groups: Vec<RuleGroup>,
}

#[derive(Debug, Deserialize)]
struct RuleGroup {
    rules: Vec<Rule>,
}

#[derive(Debug, Deserialize)]
struct Rule {
    alert: String,
    expr: String,
    #[serde(default)]
    labels: BTreeMap<String, String>,
    #[serde(default)]
    annotations: BTreeMap<String, String>,
}

#[derive(Debug, Deserialize)]
struct UnitTestFile {
    tests: Vec<UnitTestGroup>,
}

#[derive(Debug, Deserialize)]
struct UnitTestGroup {
    name: String,
    input_series: Vec<InputSeries>,
    alert_rule_test: Vec<AlertRuleTest>,
}

#[derive(Debug, Deserialize)]
struct InputSeries {
    series: String,
}

#[derive(Debug, Deserialize)]
struct AlertRuleTest {
    alertname: String,
    exp_alerts: Vec<serde_yaml_ng::Value>,
}

fn read_repo_file(relative: &str) -> String {
    std::fs::read_to_string(repo_path(relative))
        .unwrap_or_else(|error| panic!("reading {relative}: {error}"))
}

fn load_rules() -> Vec<Rule> {
    let file: RuleFile = serde_yaml_ng::from_str(&read_repo_file(RULES))
        .unwrap_or_else(|error| panic!("{RULES} is not a rule file of alerts: {error}"));
    file.groups.into_iter().flat_map(|g| g.rules).collect()
}

fn load_unit_tests() -> UnitTestFile {
    serde_yaml_ng::from_str(&read_repo_file(UNIT_TESTS))
        .unwrap_or_else(|error| panic!("{UNIT_TESTS} is not a promtool test file: {error}"))
}

fn parse_promql(expression: &str) -> Expr {
    promql_parser::parser::parse(expression)
        .unwrap_or_else(|error| panic!("invalid PromQL {expression:?}: {error}"))
}

/// Collects every vector selector of an expression, also those inside range selectors.
#[derive(Default)]
struct Selectors(Vec<VectorSelector>);

impl ExprVisitor for Selectors {
    type Error = std::convert::Infallible;

    fn pre_visit(&mut self, expr: &Expr) -> Result<bool, Self::Error> {
        match expr {
            Expr::VectorSelector(selector) => self.0.push(selector.clone()),
            Expr::MatrixSelector(matrix) => self.0.push(matrix.vs.clone()),
            _ => {}
        }
        Ok(true)
    }
}

fn selectors(expression: &str) -> Vec<VectorSelector> {
    let mut visitor = Selectors::default();
    let Ok(_) = walk_expr(&mut visitor, &parse_promql(expression));
    visitor.0
}

/// Returns the value of an equality matcher `label="value"` in a selector.
fn equality_matcher<'a>(selector: &'a VectorSelector, label: &str) -> Option<&'a str> {
    selector
        .matchers
        .matchers
        .iter()
        .find(|m| m.name == label && matches!(m.op, MatchOp::Equal))
        .map(|m| m.value.as_str())
}

fn run(command: &mut Command, description: &str) -> Output {
    command
        .current_dir(repo_path(""))
        .output()
        .unwrap_or_else(|error| panic!("running {description}: {error}"))
}

fn assert_success(output: &Output, description: &str) {
    assert!(
        output.status.success(),
        "{description} failed with {}:\n{}{}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

fn render_alerts(args: &[&str]) -> Output {
    let bash = require_tool("bash", "the Debian package bash");
    run(
        Command::new(bash).arg(repo_path(RENDERER)).args(args),
        RENDERER,
    )
}

fn render_alerts_ok(args: &[&str]) -> String {
    let output = render_alerts(args);
    assert_success(&output, &format!("{RENDERER} {}", args.join(" ")));
    String::from_utf8(output.stdout).expect("the renderer writes UTF-8")
}

/// Returns the metric names and the label names per metric that a scrape body contains:
/// names from `# TYPE` lines too, so that a family with no series yet still counts.
fn scraped_families(body: &str) -> (BTreeSet<String>, BTreeMap<String, BTreeSet<String>>) {
    let mut names = BTreeSet::new();
    let mut labels: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for line in body.lines() {
        if let Some(rest) = line.strip_prefix("# TYPE ") {
            let name = rest.split(' ').next().unwrap_or_default();
            names.insert(name.to_owned());
            continue;
        }
        if line.starts_with('#') || line.is_empty() {
            continue;
        }
        // A sample line is a series selector followed by a value.
        let (series, _value) = line.rsplit_once(' ').expect("a sample has a value");
        let Expr::VectorSelector(selector) = parse_promql(series) else {
            panic!("sample line {line:?} is not a series");
        };
        let name = selector.name.clone().expect("a sample has a metric name");
        names.insert(name.clone());
        let label_names = selector.matchers.matchers.iter().map(|m| m.name.clone());
        labels.entry(name).or_default().extend(label_names);
    }
    (names, labels)
}

/// Writes a snapshot with one backend whose status does not match the CRD schema, so that
/// a scrape also shows the series of `fleet_dns_lb_invalid_object`.
fn invalid_object_snapshot(directory: &Path) -> String {
    let path = directory.join("invalid.yaml");
    std::fs::write(
        &path,
        "apiVersion: networking.fleet.azure.com/v1beta1\n\
         kind: TrafficManagerBackend\n\
         metadata: {name: broken, namespace: checks}\n\
         spec: {profile: {name: p}, backend: {name: s}}\n\
         status: {conditions: not a list}\n",
    )
    .expect("writing the invalid snapshot");
    path.display().to_string()
}

#[test]
fn rules_pass_promtool_check() {
    let promtool = require_tool("promtool", "the Debian package prometheus");
    let rendered = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(
        rendered.path(),
        render_alerts_ok(&["--runbook-base-url", "https://runbooks.example.test/x"]),
    )
    .unwrap();
    for file in [repo_path(RULES), rendered.path().to_path_buf()] {
        let output = run(
            Command::new(&promtool).arg("check").arg("rules").arg(&file),
            "promtool check rules",
        );
        assert_success(&output, &format!("promtool check rules {}", file.display()));
        let stdout = String::from_utf8_lossy(&output.stdout);
        assert!(stdout.contains("SUCCESS"), "{stdout}");
    }
}

#[test]
fn rules_pass_promtool_unit_tests() {
    let promtool = require_tool("promtool", "the Debian package prometheus");
    let output = run(
        Command::new(promtool)
            .arg("test")
            .arg("rules")
            .arg(UNIT_TESTS),
        "promtool test rules",
    );
    assert_success(&output, &format!("promtool test rules {UNIT_TESTS}"));
}

#[test]
fn every_alert_has_unit_tests() {
    let rules = load_rules();
    let tests = load_unit_tests();
    let alert_names: BTreeSet<&str> = rules.iter().map(|r| r.alert.as_str()).collect();
    assert_eq!(alert_names.len(), rules.len(), "alert names repeat");

    let all_tests: Vec<&AlertRuleTest> = tests
        .tests
        .iter()
        .flat_map(|g| &g.alert_rule_test)
        .collect();
    for test in &all_tests {
        assert!(
            alert_names.contains(test.alertname.as_str()),
            "{UNIT_TESTS} tests {} which is not an alert in {RULES}",
            test.alertname
        );
    }
    for alert in &alert_names {
        let mine: Vec<_> = all_tests.iter().filter(|t| t.alertname == *alert).collect();
        assert!(
            mine.iter().any(|t| !t.exp_alerts.is_empty()),
            "{alert} has no unit test in {UNIT_TESTS} where it fires"
        );
        assert!(
            mine.iter().any(|t| t.exp_alerts.is_empty()),
            "{alert} has no unit test in {UNIT_TESTS} where it stays silent"
        );
    }
}

#[test]
fn runbook_urls_resolve_to_pages() {
    for rule in load_rules() {
        let url = rule
            .annotations
            .get("runbook_url")
            .unwrap_or_else(|| panic!("{} has no runbook_url", rule.alert));
        let page = url.strip_prefix(RUNBOOK_PATH).unwrap_or_else(|| {
            panic!(
                "{}: runbook_url {url} does not start with {RUNBOOK_PATH}",
                rule.alert
            )
        });
        assert!(
            page.ends_with(".md") && !page.contains('/'),
            "{}: runbook_url {url} is not a page directly under {RUNBOOK_PATH}",
            rule.alert
        );
        assert!(
            repo_path(url).is_file(),
            "{}: runbook page {url} does not exist",
            rule.alert
        );
    }
}

#[test]
fn alerts_have_conventional_fields() {
    for rule in load_rules() {
        assert!(
            rule.alert.starts_with("FleetDnsLb"),
            "{} lacks the FleetDnsLb prefix",
            rule.alert
        );
        let severity = rule.labels.get("severity").map(String::as_str);
        assert!(
            matches!(severity, Some("critical" | "warning" | "info")),
            "{} has severity {severity:?}",
            rule.alert
        );
        for annotation in ["summary", "description", "runbook_url"] {
            assert!(
                rule.annotations.contains_key(annotation),
                "{} has no {annotation} annotation",
                rule.alert
            );
        }
    }
}

#[test]
fn every_problem_has_alert_and_runbook() {
    let rules = load_rules();
    for problem in Problem::ALL {
        let page = format!("{RUNBOOK_PATH}{problem}.md");
        assert!(
            repo_path(&page).is_file(),
            "problem {problem} has no runbook page {page}"
        );

        let alerts: Vec<&Rule> = rules
            .iter()
            .filter(|rule| {
                selectors(&rule.expr).iter().any(|s| {
                    s.name.as_deref() == Some("fleet_dns_lb_problem")
                        && equality_matcher(s, "problem") == Some(problem.as_str())
                })
            })
            .collect();
        assert!(!alerts.is_empty(), "no alert selects problem=\"{problem}\"");
        for alert in alerts {
            assert_eq!(
                alert.annotations.get("runbook_url"),
                Some(&page),
                "{} alerts on {problem} but links another runbook",
                alert.alert
            );
        }
    }
}

#[test]
fn alert_metrics_emitted_by_exporter() {
    let exporter = Exporter::start_on_example();
    let (emitted, _) = scraped_families(&exporter.scrape());

    for rule in load_rules() {
        for selector in selectors(&rule.expr) {
            let name = selector
                .name
                .clone()
                .unwrap_or_else(|| panic!("{}: a selector has no metric name", rule.alert));
            // `up` is the series Prometheus writes for every scrape, not an exporter metric.
            if name == "up" {
                assert_eq!(equality_matcher(&selector, "job"), Some(JOB));
                continue;
            }
            assert!(
                emitted.contains(&name),
                "{}: {name} is not in a scrape of the example hub",
                rule.alert
            );
        }
    }
}

#[test]
fn unit_test_series_match_exporter_labels() {
    let directory = tempfile::tempdir().unwrap();
    let example = repo_path("examples/fleet-hub.yaml");
    let invalid = invalid_object_snapshot(directory.path());
    let exporter = Exporter::start(&[
        "--from-file",
        example.to_str().unwrap(),
        "--from-file",
        &invalid,
    ]);
    let (emitted, emitted_labels) = scraped_families(&exporter.scrape());

    for group in load_unit_tests().tests {
        for input in &group.input_series {
            let Expr::VectorSelector(selector) = parse_promql(&input.series) else {
                panic!("{}: input {} is not a series", group.name, input.series);
            };
            let name = selector.name.clone().unwrap_or_default();
            if name == "up" {
                continue;
            }
            assert!(
                emitted.contains(&name),
                "{}: input metric {name} is not emitted by the exporter",
                group.name
            );
            // Prometheus adds job and instance when it scrapes.
            let labels: BTreeSet<String> = selector
                .matchers
                .matchers
                .iter()
                .map(|m| m.name.clone())
                .filter(|label| label != "job" && label != "instance")
                .collect();
            let expected = emitted_labels
                .get(&name)
                .unwrap_or_else(|| panic!("the exporter emitted no series of {name}"));
            assert_eq!(
                &labels, expected,
                "{}: input {} has other label names than the exporter's {name}",
                group.name, input.series
            );
        }
    }
}

#[test]
fn prometheusrule_matches_renderer() {
    let manifest = read_repo_file(PROMETHEUS_RULE);
    let first_line = manifest.lines().next().unwrap_or_default();
    let command = first_line
        .strip_prefix(&format!("# Generated by: {RENDERER} "))
        .unwrap_or_else(|| {
            panic!("{PROMETHEUS_RULE} does not start with the {RENDERER} command that made it")
        });
    let args: Vec<&str> = command.split(' ').collect();
    assert_eq!(
        &args[..2],
        ["--format", "prometheusrule"],
        "{PROMETHEUS_RULE} was not rendered as a PrometheusRule"
    );
    let rendered = render_alerts_ok(&args);
    assert!(
        manifest == rendered,
        "{PROMETHEUS_RULE} differs from the output of `{RENDERER} {command}`; run that command again and commit the result"
    );
}

#[test]
fn prometheusrule_holds_rule_file_groups() {
    let manifest: serde_yaml_ng::Value =
        serde_yaml_ng::from_str(&read_repo_file(PROMETHEUS_RULE)).expect("valid YAML");
    assert_eq!(manifest["apiVersion"], "monitoring.coreos.com/v1");
    assert_eq!(manifest["kind"], "PrometheusRule");
    assert_eq!(manifest["metadata"]["namespace"], "fleet-dns-lb-exporter");

    let rules: serde_yaml_ng::Value =
        serde_yaml_ng::from_str(&read_repo_file(RULES)).expect("valid YAML");
    assert_eq!(manifest["spec"]["groups"], rules["groups"]);
}

#[test]
fn renderer_sets_base_url_and_job() {
    let base = "https://runbooks.example.test/fleet/docs/runbooks";
    let rendered = render_alerts_ok(&["--runbook-base-url", &format!("{base}/"), "--job", "tm"]);
    let file: RuleFile = serde_yaml_ng::from_str(&rendered).expect("the output is a rule file");
    let rendered_rules: Vec<Rule> = file.groups.into_iter().flat_map(|g| g.rules).collect();
    let source_rules = load_rules();
    assert_eq!(rendered_rules.len(), source_rules.len());

    for (source, rendered) in source_rules.iter().zip(&rendered_rules) {
        let page = source.annotations["runbook_url"]
            .strip_prefix(RUNBOOK_PATH)
            .unwrap();
        assert_eq!(
            rendered.annotations["runbook_url"],
            format!("{base}/{page}"),
            "{}",
            source.alert
        );
        let expected_expr = source
            .expr
            .replace(&format!("up{{job=\"{JOB}\"}}"), "up{job=\"tm\"}");
        assert_eq!(rendered.expr, expected_expr, "{}", source.alert);
    }
    assert!(rendered.contains("up{job=\"tm\"}"));
}

#[test]
fn renderer_rejects_invalid_arguments() {
    let cases: [&[&str]; 4] = [
        &["--runbook-base-url", "ftp://runbooks.example.test"],
        &["--runbook-base-url", "https://runbooks.example.test/a b"],
        &["--format", "helm"],
        &["--job", "a\"b"],
    ];
    for args in cases {
        let output = render_alerts(args);
        assert_eq!(output.status.code(), Some(2), "{args:?} was accepted");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(stderr.contains("error: invalid"), "{args:?}: {stderr}");
        assert!(output.stdout.is_empty(), "{args:?} wrote output");
    }
}

#[test]
fn readme_lists_every_alert() {
    let readme = read_repo_file("README.md");
    for rule in load_rules() {
        let row = readme
            .lines()
            .find(|line| line.starts_with(&format!("| `{}` |", rule.alert)))
            .unwrap_or_else(|| panic!("README.md has no table row for {}", rule.alert));
        let severity = &rule.labels["severity"];
        assert!(row.contains(severity.as_str()), "{row}");
        assert!(
            row.contains(&format!("({})", rule.annotations["runbook_url"])),
            "the README row of {} does not link its runbook: {row}",
            rule.alert
        );
    }
}

#[test]
fn runbooks_link_prerequisites() {
    let directory = repo_path(RUNBOOK_PATH);
    let mut pages = 0;
    for entry in std::fs::read_dir(&directory).expect("docs/runbooks exists") {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        if name == "prerequisites.md" || !name.ends_with(".md") {
            continue;
        }
        pages += 1;
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(
            text.contains("(prerequisites.md)"),
            "{name} does not link prerequisites.md"
        );
    }
    assert!(pages >= Problem::ALL.len());
}

/// The alert each problem raises. The end-to-end test expects one alert per problem series
/// of the exporter, named from this table, which is written out here rather than read from
/// the rule file so that a wrong selector in the rules fails the test.
const ALERT_FOR_PROBLEM: [(Problem, &str); 11] = [
    (
        Problem::AuthorizationFailed,
        "FleetDnsLbAuthorizationFailed",
    ),
    (
        Problem::DnsNameNotAvailable,
        "FleetDnsLbDnsNameNotAvailable",
    ),
    (
        Problem::ProfileLimitReached,
        "FleetDnsLbProfileLimitReached",
    ),
    (
        Problem::ProfileMissingOrInvalid,
        "FleetDnsLbProfileMissingOrInvalid",
    ),
    (
        Problem::ServiceExportInvalid,
        "FleetDnsLbServiceExportInvalid",
    ),
    (
        Problem::AzureProfileNotFound,
        "FleetDnsLbAzureProfileNotFound",
    ),
    (
        Problem::EndpointLimitReached,
        "FleetDnsLbEndpointLimitReached",
    ),
    (Problem::AzureError, "FleetDnsLbAzureError"),
    (Problem::Pending, "FleetDnsLbPending"),
    (Problem::NotReconciled, "FleetDnsLbNotReconciled"),
    (Problem::Unclassified, "FleetDnsLbUnclassified"),
];

/// Objects of the example hub whose condition is True.
const HEALTHY_OBJECTS: [(&str, &str); 5] = [
    ("nginx", "nginx-profile"),
    ("nginx", "nginx-backend"),
    ("web", "storefront"),
    ("web", "storefront-eu"),
    ("web", "storefront-drain"),
];

type AlertKey = (String, String, String, String, String, String);

fn alert_key(labels: &serde_json::Value) -> AlertKey {
    let label = |name: &str| labels[name].as_str().unwrap_or_default().to_owned();
    (
        label("alertname"),
        label("kind"),
        label("namespace"),
        label("name"),
        label("scenario"),
        label("problem"),
    )
}

/// Returns the alerts a scrape must raise: one per `fleet_dns_lb_problem` series, keyed
/// like [`alert_key`].
fn expected_alerts(scrape: &str) -> BTreeSet<AlertKey> {
    let mut expected = BTreeSet::new();
    for line in scrape
        .lines()
        .filter(|l| l.starts_with("fleet_dns_lb_problem{"))
    {
        let (series, _value) = line.rsplit_once(' ').unwrap();
        let Expr::VectorSelector(selector) = parse_promql(series) else {
            panic!("sample line {line:?} is not a series");
        };
        let label = |name: &str| {
            equality_matcher(&selector, name)
                .unwrap_or_default()
                .to_owned()
        };
        let problem = Problem::from_label(&label("problem"))
            .unwrap_or_else(|| panic!("unknown problem in {line}"));
        let (_, alert) = ALERT_FOR_PROBLEM
            .iter()
            .find(|(p, _)| *p == problem)
            .unwrap_or_else(|| panic!("no alert listed for {problem}"));
        expected.insert((
            alert.to_string(),
            label("kind"),
            label("namespace"),
            label("name"),
            label("scenario"),
            label("problem"),
        ));
    }
    expected
}

/// Rewrites every `for:` of a rule file to `duration`, so the end-to-end run does not wait
/// for the production durations. Returns the file and how many lines changed.
fn shorten_for(rules: &str, duration: &str) -> (String, usize) {
    let pattern = regex::Regex::new(r"(?m)^([ ]*for:) \S+$").unwrap();
    let count = pattern.find_iter(rules).count();
    let shortened = pattern.replace_all(rules, format!("$1 {duration}"));
    (shortened.into_owned(), count)
}

#[test]
fn alerts_reach_alertmanager_for_example_hub() {
    let base = "https://runbooks.example.test/fleet-dns-lb-exporter/docs/runbooks";
    let rendered = render_alerts_ok(&["--runbook-base-url", base]);
    let (rules, shortened) = shorten_for(&rendered, "1s");
    assert_eq!(
        shortened,
        read_repo_file(RULES).matches("\n    for: ").count(),
        "not every for: was shortened"
    );

    let exporter = Exporter::start_on_example();
    let alertmanager = Alertmanager::start(Alertmanager::silent_config());
    let config = format!(
        "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n\
         alerting:\n  alertmanagers:\n  - static_configs:\n    - targets: ['127.0.0.1:{}']\n\
         rule_files:\n- rules.yml\n\
         scrape_configs:\n- job_name: {JOB}\n  static_configs:\n  - targets: ['{}']\n",
        alertmanager.port, exporter.address
    );
    let prometheus = Prometheus::start(&config, &[("rules.yml", &rules)]);
    prometheus.wait_for_targets_up();

    let scrape = exporter.scrape();
    let expected = expected_alerts(&scrape);
    for problem in Problem::ALL {
        assert!(
            expected.iter().any(|key| key.5 == problem.as_str()),
            "the example hub has no object with problem {problem}"
        );
    }
    for (namespace, name) in HEALTHY_OBJECTS {
        let healthy = format!("namespace=\"{namespace}\",name=\"{name}\",condition=");
        assert!(
            scrape
                .lines()
                .any(|l| l.contains(&healthy) && l.ends_with("status=\"True\"} 1")),
            "{namespace}/{name} is not a healthy object of the example hub"
        );
    }
    let alerts = wait_for("every example alert to reach Alertmanager", || {
        let alerts = alertmanager.alerts();
        let keys: BTreeSet<AlertKey> = alerts.iter().map(|a| alert_key(&a["labels"])).collect();
        expected.is_subset(&keys).then_some(alerts)
    });

    let received: BTreeSet<AlertKey> = alerts.iter().map(|a| alert_key(&a["labels"])).collect();
    assert_eq!(
        received, expected,
        "Alertmanager received other alerts than the example hub raises"
    );
    for alert in &alerts {
        let labels = &alert["labels"];
        let problem = labels["problem"].as_str().unwrap();
        assert_eq!(labels["job"], JOB);
        assert!(labels["severity"].is_string(), "{labels}");
        let runbook_url = alert["annotations"]["runbook_url"].as_str().unwrap();
        assert_eq!(runbook_url, format!("{base}/{problem}.md"));
        let page = runbook_url.strip_prefix(base).unwrap();
        assert!(
            repo_path(&format!("docs/runbooks{page}")).is_file(),
            "{runbook_url} names no page in docs/runbooks"
        );
        let summary = alert["annotations"]["summary"].as_str().unwrap();
        let object = format!(
            "{}/{}",
            labels["namespace"].as_str().unwrap(),
            labels["name"].as_str().unwrap()
        );
        assert!(summary.contains(&object), "{summary}");
    }

    // Neither firing nor pending: no alert of any state for a healthy object.
    let states = prometheus.query("ALERTS");
    for series in states["result"].as_array().unwrap() {
        let metric = &series["metric"];
        let object = (
            metric["namespace"].as_str().unwrap_or_default(),
            metric["name"].as_str().unwrap_or_default(),
        );
        assert!(
            !HEALTHY_OBJECTS.contains(&object),
            "healthy object has an alert: {metric}"
        );
    }
}
