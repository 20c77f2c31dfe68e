//! The report as JSON, in the shape docs/diagnose.md documents.

use super::model::Report;

/// Renders the report as one pretty-printed JSON document ending in a line feed.
pub fn render(report: &Report) -> String {
    // serde_json fails only on a map with non-string keys or a failing Serialize impl, and
    // the report has neither.
    let mut text = serde_json::to_string_pretty(report).expect("the report serializes to JSON");
    text.push('\n');
    text
}
