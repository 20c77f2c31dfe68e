//! Objects from YAML or JSON fixture files.

use std::path::Path;

use serde_json::Value;

/// Reads every object of a YAML or JSON file: the documents of a multi-document file, the
/// items of a `List`, or a single object.
///
/// # Panics
///
/// Panics with the path when the file cannot be read or parsed; this is a test helper.
pub fn load_objects(path: &Path) -> Vec<Value> {
    let text = std::fs::read_to_string(path)
        .unwrap_or_else(|error| panic!("cannot read fixture {}: {error}", path.display()));
    let mut objects = Vec::new();
    for document in serde_yaml_ng::Deserializer::from_str(&text) {
        let value: Value = serde::Deserialize::deserialize(document).unwrap_or_else(|error| {
            panic!("fixture {} is not valid YAML: {error}", path.display())
        });
        match value {
            Value::Null => {}
            Value::Object(mut map) if map.get("kind").and_then(Value::as_str) == Some("List") => {
                if let Some(Value::Array(items)) = map.remove("items") {
                    objects.extend(items);
                }
            }
            other => objects.push(other),
        }
    }
    objects
}
