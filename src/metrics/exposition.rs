//! Writing samples in the Prometheus text format 0.0.4 and in OpenMetrics 1.0.
//!
//! The object families are written here rather than through `prometheus-client` because
//! each object's series are rendered once, when the object changes, and a scrape only
//! concatenates them (see `docs/performance.md`). The two formats differ only in headers:
//! sample lines of gauges and info metrics are the same in both.

use std::fmt::Write as _;

/// Exposition format of one scrape.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// `text/plain; version=0.0.4`, the classic Prometheus format.
    Text,
    /// `application/openmetrics-text; version=1.0.0`.
    OpenMetrics,
}

impl Format {
    /// Chooses OpenMetrics when the `Accept` header lists it with a non-zero quality, as
    /// Prometheus does by default, and the classic text format otherwise.
    pub fn negotiate(accept: Option<&str>) -> Format {
        let Some(accept) = accept else {
            return Format::Text;
        };
        let wants_openmetrics = accept.split(',').any(|range| {
            let mut params = range.split(';').map(str::trim);
            let media_type = params.next().unwrap_or_default();
            if !media_type.eq_ignore_ascii_case("application/openmetrics-text") {
                return false;
            }
            !params.any(|p| {
                p.strip_prefix("q=")
                    .and_then(|q| q.parse::<f32>().ok())
                    .is_some_and(|q| q <= 0.0)
            })
        });
        if wants_openmetrics {
            Format::OpenMetrics
        } else {
            Format::Text
        }
    }

    pub const fn content_type(self) -> &'static str {
        match self {
            Format::Text => "text/plain; version=0.0.4; charset=utf-8",
            Format::OpenMetrics => "application/openmetrics-text; version=1.0.0; charset=utf-8",
        }
    }
}

/// Metric type of a family.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MetricType {
    Gauge,
    /// A gauge of value 1 whose labels carry the information. Its sample name ends in
    /// `_info`; OpenMetrics declares it as type `info` under the name without the suffix.
    Info,
}

/// A metric family: its sample name, HELP text and type.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FamilyDef {
    pub name: &'static str,
    pub help: &'static str,
    pub metric_type: MetricType,
}

impl FamilyDef {
    /// Writes the `# HELP` and `# TYPE` lines of this family.
    pub fn write_header(&self, out: &mut String, format: Format) {
        let (family_name, type_name) = match (self.metric_type, format) {
            (MetricType::Gauge, _) => (self.name, "gauge"),
            (MetricType::Info, Format::Text) => (self.name, "gauge"),
            (MetricType::Info, Format::OpenMetrics) => {
                (self.name.strip_suffix("_info").unwrap_or(self.name), "info")
            }
        };
        out.push_str("# HELP ");
        out.push_str(family_name);
        out.push(' ');
        escape_help(out, self.help);
        out.push_str("\n# TYPE ");
        out.push_str(family_name);
        out.push(' ');
        out.push_str(type_name);
        out.push('\n');
    }
}

/// Writes one sample line: `name{label="value",...} value`.
pub fn write_sample(out: &mut String, name: &str, labels: &[(&str, &str)], value: i64) {
    write_labels(out, name, labels);
    let _ = writeln!(out, " {value}");
}

/// Writes one sample line with a floating-point value.
pub fn write_sample_f64(out: &mut String, name: &str, labels: &[(&str, &str)], value: f64) {
    write_labels(out, name, labels);
    if value.is_nan() {
        out.push_str(" NaN\n");
    } else if value.is_infinite() {
        out.push_str(if value > 0.0 { " +Inf\n" } else { " -Inf\n" });
    } else {
        let _ = writeln!(out, " {value}");
    }
}

fn write_labels(out: &mut String, name: &str, labels: &[(&str, &str)]) {
    out.push_str(name);
    if labels.is_empty() {
        return;
    }
    out.push('{');
    for (i, (label, value)) in labels.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str(label);
        out.push_str("=\"");
        escape_label_value(out, value);
        out.push('"');
    }
    out.push('}');
}

/// Escapes a label value: backslash, double quote and line feed, as both formats require.
pub fn escape_label_value(out: &mut String, value: &str) {
    for c in value.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
}

fn escape_help(out: &mut String, help: &str) {
    for c in help.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
}

/// Converts `prometheus-client`'s OpenMetrics output to the classic text format.
///
/// The classic format names a counter family with its `_total` suffix and an info family
/// with its `_info` suffix as a gauge, and has no `# UNIT` or `# EOF` lines.
pub fn openmetrics_to_text(openmetrics: &str) -> String {
    let mut out = String::with_capacity(openmetrics.len());
    let mut pending_help: Option<(&str, &str)> = None;
    for line in openmetrics.lines() {
        if line == "# EOF" || line.starts_with("# UNIT ") {
            continue;
        }
        if let Some(rest) = line.strip_prefix("# HELP ") {
            let (name, help) = rest.split_once(' ').unwrap_or((rest, ""));
            pending_help = Some((name, help));
            continue;
        }
        if let Some(rest) = line.strip_prefix("# TYPE ") {
            let (name, type_name) = rest.split_once(' ').unwrap_or((rest, "untyped"));
            let (text_name, text_type) = match type_name {
                "counter" => (format!("{name}_total"), "counter"),
                "info" => (format!("{name}_info"), "gauge"),
                "stateset" => (name.to_owned(), "gauge"),
                other => (name.to_owned(), other),
            };
            if let Some((help_name, help)) = pending_help.take()
                && help_name == name
            {
                let _ = writeln!(out, "# HELP {text_name} {help}");
            }
            let _ = writeln!(out, "# TYPE {text_name} {text_type}");
            continue;
        }
        if let Some((name, help)) = pending_help.take() {
            let _ = writeln!(out, "# HELP {name} {help}");
        }
        out.push_str(line);
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn negotiate_prometheus_accept_header() {
        let accept = "application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1";
        assert_eq!(Format::negotiate(Some(accept)), Format::OpenMetrics);
    }

    #[test]
    fn negotiate_plain_and_missing() {
        assert_eq!(Format::negotiate(Some("text/plain")), Format::Text);
        assert_eq!(Format::negotiate(None), Format::Text);
        assert_eq!(
            Format::negotiate(Some("application/openmetrics-text;q=0")),
            Format::Text
        );
    }

    #[test]
    fn label_escaping() {
        let mut out = String::new();
        write_sample(&mut out, "m", &[("a", "x\"y\\z\nw")], 1);
        assert_eq!(out, "m{a=\"x\\\"y\\\\z\\nw\"} 1\n");
    }

    #[test]
    fn info_header_by_format() {
        let def = FamilyDef {
            name: "x_info",
            help: "Help.",
            metric_type: MetricType::Info,
        };
        let mut text = String::new();
        def.write_header(&mut text, Format::Text);
        assert_eq!(text, "# HELP x_info Help.\n# TYPE x_info gauge\n");
        let mut om = String::new();
        def.write_header(&mut om, Format::OpenMetrics);
        assert_eq!(om, "# HELP x Help.\n# TYPE x info\n");
    }

    #[test]
    fn counter_renamed_for_text() {
        let om = "# HELP a_events Events.\n# TYPE a_events counter\na_events_total 3\n# HELP b Build.\n# TYPE b info\nb_info{v=\"1\"} 1\n# EOF\n";
        let text = openmetrics_to_text(om);
        assert_eq!(
            text,
            "# HELP a_events_total Events.\n# TYPE a_events_total counter\na_events_total 3\n# HELP b_info Build.\n# TYPE b_info gauge\nb_info{v=\"1\"} 1\n"
        );
    }
}
