//! Grafana dashboard JSON as the tests read it: panels, their queries, template
//! variables, and the variable expansion Grafana does before it sends a query.

use std::collections::BTreeMap;
use std::path::PathBuf;

use regex::Regex;
use serde_json::Value;

use crate::support::repo_path;

/// One dashboard file of `dashboards/`.
pub struct Dashboard {
    /// File name without `.json`.
    pub stem: String,
    pub path: PathBuf,
    pub json: Value,
}

/// One query of a panel.
pub struct PanelQuery {
    pub title: String,
    pub ref_id: String,
    pub expr: String,
}

impl Dashboard {
    /// Loads every `dashboards/*.json`, sorted by file name. Panics on JSON that does not parse.
    pub fn load_all() -> Vec<Dashboard> {
        let directory = repo_path("dashboards");
        let mut paths: Vec<PathBuf> = std::fs::read_dir(&directory)
            .unwrap_or_else(|error| panic!("reading {}: {error}", directory.display()))
            .map(|entry| entry.expect("listing dashboards/").path())
            .filter(|path| path.extension().is_some_and(|ext| ext == "json"))
            .collect();
        paths.sort();
        assert!(!paths.is_empty(), "no dashboards/*.json found");
        paths
            .into_iter()
            .map(|path| {
                let text = std::fs::read_to_string(&path).unwrap();
                let json: Value = serde_json::from_str(&text).unwrap_or_else(|error| {
                    panic!("{} is not valid JSON: {error}", path.display())
                });
                let stem = path.file_stem().unwrap().to_str().unwrap().to_owned();
                Dashboard { stem, path, json }
            })
            .collect()
    }

    pub fn uid(&self) -> &str {
        self.json["uid"].as_str().unwrap_or_default()
    }

    /// Returns every panel, including those nested in collapsed rows, and the rows themselves.
    pub fn panels(&self) -> Vec<&Value> {
        let mut panels = Vec::new();
        for panel in self.json["panels"].as_array().into_iter().flatten() {
            panels.push(panel);
            panels.extend(panel["panels"].as_array().into_iter().flatten());
        }
        panels
    }

    pub fn variables(&self) -> Vec<&Value> {
        self.json["templating"]["list"]
            .as_array()
            .into_iter()
            .flatten()
            .collect()
    }

    pub fn variable(&self, name: &str) -> Option<&Value> {
        self.variables().into_iter().find(|v| v["name"] == name)
    }

    /// Returns the query of every target of every panel.
    pub fn queries(&self) -> Vec<PanelQuery> {
        let mut queries = Vec::new();
        for panel in self.panels() {
            for target in panel["targets"].as_array().into_iter().flatten() {
                queries.push(PanelQuery {
                    title: panel_title(panel),
                    ref_id: target["refId"].as_str().unwrap_or_default().to_owned(),
                    expr: target["expr"].as_str().unwrap_or_default().to_owned(),
                });
            }
        }
        queries
    }
}

pub fn panel_title(panel: &Value) -> String {
    panel["title"].as_str().unwrap_or_default().to_owned()
}

pub fn is_row(panel: &Value) -> bool {
    panel["type"] == "row"
}

/// Returns the query of a query variable: `query.query` in current Grafana, a plain
/// string in older dashboards.
pub fn variable_query(variable: &Value) -> Option<&str> {
    variable["query"]["query"]
        .as_str()
        .or_else(|| variable["query"].as_str())
}

/// Returns the pattern of a variable reference: `$name`, `${name}` or `${name:format}`.
/// `$1` does not match, so the capture group references of `label_replace` pass through.
fn reference_pattern() -> Regex {
    Regex::new(r"\$\{([A-Za-z_][A-Za-z0-9_.]*)(?::[A-Za-z]+)?\}|\$([A-Za-z_][A-Za-z0-9_]*)")
        .unwrap()
}

/// Returns the names of the variables `text` refers to, in order.
pub fn variable_references(text: &str) -> Vec<String> {
    reference_pattern()
        .captures_iter(text)
        .map(|c| c.get(1).or_else(|| c.get(2)).unwrap().as_str().to_owned())
        .collect()
}

/// Replaces each variable reference in `text` by its value, as Grafana does before it
/// sends a query. Fails on a variable without a value and on the deprecated `[[name]]`.
pub fn expand(text: &str, values: &BTreeMap<String, String>) -> Result<String, String> {
    if text.contains("[[") {
        return Err("uses the deprecated [[variable]] syntax".to_owned());
    }
    let mut missing = Vec::new();
    let expanded = reference_pattern().replace_all(text, |c: &regex::Captures<'_>| {
        let name = c.get(1).or_else(|| c.get(2)).unwrap().as_str();
        match values.get(name) {
            Some(value) => value.clone(),
            None => {
                missing.push(name.to_owned());
                String::new()
            }
        }
    });
    if missing.is_empty() {
        Ok(expanded.into_owned())
    } else {
        Err(format!("refers to variables without a value: {missing:?}"))
    }
}

/// The values picked for a variable in one run.
pub enum Selection<'a> {
    All,
    Values(&'a [&'a str]),
}

/// Formats `selection` of `variable` the way Grafana's Prometheus data source puts it into a
/// query. All becomes the variable's allValue. A multi-value or All variable gets each value
/// with its regex characters escaped, and several values joined as `(a|b)`. A single-value
/// variable gets its value as it is.
pub fn format_selection(variable: &Value, selection: &Selection<'_>) -> String {
    let regex_context = variable["multi"] == true || variable["includeAll"] == true;
    match selection {
        Selection::All => variable["allValue"]
            .as_str()
            .unwrap_or_else(|| panic!("variable {} has no allValue", variable["name"]))
            .to_owned(),
        Selection::Values(values) if !regex_context => {
            assert_eq!(
                values.len(),
                1,
                "variable {} takes one value",
                variable["name"]
            );
            values[0].to_owned()
        }
        Selection::Values([value]) => escape_regex(value),
        Selection::Values(values) => {
            let escaped: Vec<String> = values.iter().map(|v| escape_regex(v)).collect();
            format!("({})", escaped.join("|"))
        }
    }
}

/// Escapes regex characters with a backslash that is itself escaped for a PromQL string.
fn escape_regex(value: &str) -> String {
    regex::escape(value).replace('\\', "\\\\")
}

/// Splits a `label_values(selector, label)` variable query.
pub fn split_label_values(query: &str) -> Option<(&str, &str)> {
    let inner = query
        .trim()
        .strip_prefix("label_values(")?
        .strip_suffix(')')?;
    let (selector, label) = inner.rsplit_once(',')?;
    Some((selector.trim(), label.trim()))
}
