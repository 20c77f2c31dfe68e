//! The report as readable text. Styles are always written as ANSI escapes; the caller
//! writes through `anstream`, which removes them unless stdout is a colour terminal.

use std::fmt::Write;

use anstyle::{AnsiColor, Style};
use jiff::{RoundMode, Span, SpanRound, Unit};

use super::model::{
    Finding, Headroom, Healthy, MessageFacts, ProblemSection, Reference, Report, ScenarioSection,
    Values,
};

/// Profiles listed in the endpoint headroom; the JSON output lists every profile.
const MAX_HEADROOM_ROWS: usize = 10;
/// Healthy objects listed by name; the JSON output lists every one.
const MAX_HEALTHY_ROWS: usize = 10;

const TITLE: Style = Style::new().bold();
const HEADING: Style = Style::new().bold().underline();
const DOCUMENTED_PROBLEM: Style = AnsiColor::Red.on_default().bold();
const OTHER_PROBLEM: Style = AnsiColor::Yellow.on_default().bold();
const OBJECT: Style = Style::new().bold();
const COMMAND: Style = AnsiColor::Cyan.on_default();
const GOOD: Style = AnsiColor::Green.on_default();
const LABEL: Style = Style::new().dimmed();

/// Renders the report as text with ANSI styles.
pub fn render(report: &Report) -> String {
    let mut out = String::new();
    write_header(&mut out, report);
    for scenario in &report.scenarios {
        write_scenario(&mut out, scenario);
    }
    write_healthy(&mut out, &report.healthy);
    write_headroom(&mut out, &report.headroom);
    write_not_reconciled(&mut out, report);
    write_rejected(&mut out, report);
    out
}

fn write_header(out: &mut String, report: &Report) {
    let _ = writeln!(
        out,
        "{TITLE}Fleet DNS load balancing: troubleshooting report{TITLE:#}"
    );
    let _ = writeln!(out, "{LABEL}Input:{LABEL:#}  {}", report.sources.join(", "));
    let _ = writeln!(out, "{LABEL}Time:{LABEL:#}   {}", report.generated_at);
    out.push('\n');

    let findings: usize = report
        .scenarios
        .iter()
        .flat_map(|s| &s.problems)
        .map(|p| p.objects.len())
        .sum();
    let mut objects: Vec<(&str, &str, &str)> = report
        .scenarios
        .iter()
        .flat_map(|s| &s.problems)
        .flat_map(|p| &p.objects)
        .map(|f| (f.kind, f.namespace.as_str(), f.name.as_str()))
        .collect();
    objects.sort_unstable();
    objects.dedup();
    if findings == 0 {
        let _ = writeln!(out, "{GOOD}No problems found.{GOOD:#}");
    } else {
        let _ = writeln!(
            out,
            "{DOCUMENTED_PROBLEM}{} found on {}.{DOCUMENTED_PROBLEM:#}",
            plural(findings, "problem", "problems"),
            plural(objects.len(), "object", "objects"),
        );
    }
    if !report.rejected_items.is_empty() {
        let _ = writeln!(
            out,
            "{OTHER_PROBLEM}{} of the input could not be read; see \"Items not read\".{OTHER_PROBLEM:#}",
            plural(report.rejected_items.len(), "item", "items"),
        );
    }
}

fn write_scenario(out: &mut String, scenario: &ScenarioSection) {
    let _ = writeln!(
        out,
        "\n{HEADING}Scenario {}: condition {}{HEADING:#}",
        scenario.scenario, scenario.condition_type
    );
    for problem in &scenario.problems {
        write_problem(out, problem);
    }
}

fn write_problem(out: &mut String, problem: &ProblemSection) {
    let style = if problem.documented {
        DOCUMENTED_PROBLEM
    } else {
        OTHER_PROBLEM
    };
    let _ = writeln!(
        out,
        "\n{style}{}{style:#} ({})",
        problem.problem,
        plural(problem.objects.len(), "object", "objects")
    );
    let _ = writeln!(out, "{}", problem.summary);
    for finding in &problem.objects {
        write_finding(out, finding, &problem.runbook);
    }
}

fn write_finding(out: &mut String, finding: &Finding, runbook: &str) {
    let _ = writeln!(
        out,
        "\n  {OBJECT}{} {}/{}{OBJECT:#}",
        finding.kind, finding.namespace, finding.name
    );
    let field = |out: &mut String, label: &str, value: &str| {
        let _ = writeln!(out, "    {LABEL}{label:<16}{LABEL:#}{value}");
    };

    match &finding.condition {
        Some(condition) => {
            let mut text = format!("{}={}", condition.type_, condition.status);
            if !condition.reason.is_empty() {
                let _ = write!(text, ", reason {}", condition.reason);
            }
            match (&condition.last_transition_time, condition.age_seconds) {
                (Some(time), Some(age)) if age >= 0 => {
                    let _ = write!(text, ", for {} (since {time})", format_age(age));
                }
                (Some(time), Some(_)) => {
                    let _ = write!(text, ", since {time}, which is after the report time");
                }
                (Some(time), None) => {
                    let _ = write!(text, ", since {time:?}, which is not an RFC 3339 time");
                }
                (None, _) => {}
            }
            field(out, "Condition:", &text);
        }
        None if finding
            .decode_errors
            .iter()
            .any(|e| e.starts_with("status")) =>
        {
            field(
                out,
                "Condition:",
                "not readable, because the status does not match the CRD schema",
            )
        }
        None => field(out, "Condition:", "none of the expected type"),
    }
    if let Some(message) = &finding.message {
        field(out, "Message:", &message_line(message));
    }
    if !finding.other_problems.is_empty() {
        field(out, "Also:", &finding.other_problems.join(", "));
    }
    for error in &finding.decode_errors {
        field(out, "Invalid:", error);
    }
    for (label, value) in value_lines(&finding.values) {
        field(out, label, &value);
    }
    for cluster in &finding.clusters {
        let text = format!(
            "{}: {} (Service {}/{}, InternalServiceExport {}/{})",
            cluster.cluster,
            cluster.explanation,
            cluster.service_namespace,
            cluster.service_name,
            cluster.internal_service_export_namespace,
            cluster.internal_service_export_name
        );
        field(out, "Cluster:", &text);
    }
    field(
        out,
        "Inspect:",
        &format!("{COMMAND}{}{COMMAND:#}", finding.inspect),
    );

    let _ = writeln!(out, "    {LABEL}Steps:{LABEL:#}");
    for (index, step) in finding.steps.iter().enumerate() {
        let _ = writeln!(out, "      {}. {}", index + 1, step.text);
        for command in &step.commands {
            let _ = writeln!(out, "           {COMMAND}{command}{COMMAND:#}");
        }
    }
    if !finding.placeholders.is_empty() {
        let _ = writeln!(out, "    {LABEL}Replace:{LABEL:#}");
        for placeholder in &finding.placeholders {
            let _ = writeln!(
                out,
                "      {} with {}",
                placeholder.placeholder, placeholder.meaning
            );
        }
    }
    field(out, "Runbook:", runbook);
}

/// Returns the message line: the Azure error where there is one, else the first line.
fn message_line(message: &MessageFacts) -> String {
    if !message.has_azure_error() {
        return message.first_line.clone();
    }
    let mut parts = Vec::new();
    if !message.azure_error_codes.is_empty() {
        parts.push(format!(
            "Azure error {}",
            message.azure_error_codes.join(", ")
        ));
    }
    if let Some(status) = message.http_status {
        parts.push(format!("HTTP {status}"));
    }
    parts.join(", ")
}

fn value_lines(values: &Values) -> Vec<(&'static str, String)> {
    let mut lines = Vec::new();
    if let Some(dns_name) = &values.dns_name {
        lines.push(("DNS name:", dns_name.clone()));
    }
    if let Some(resource_group) = &values.resource_group {
        lines.push(("Resource group:", resource_group.clone()));
    }
    match (&values.subscription_id, values.subscription_source) {
        (Some(id), Some("status.resourceID")) => {
            lines.push(("Subscription:", format!("{id} (from status.resourceID)")));
        }
        // Every profile of a fleet is in the fleet's subscription.
        (Some(id), Some(source)) => lines.push((
            "Subscription:",
            format!("{id} (the fleet's, from {source})"),
        )),
        (Some(id), None) => lines.push(("Subscription:", id.clone())),
        (None, _) if values.resource_group.is_some() => {
            lines.push(("Subscription:", "not in the input".to_owned()));
        }
        (None, _) => {}
    }
    if let Some(name) = &values.azure_profile_name {
        lines.push(("Azure profile:", name.clone()));
    }
    if let Some(profile) = &values.profile {
        let mut text = reference_text("TrafficManagerProfile", profile);
        if !values.profile_found_in_namespaces.is_empty() {
            let _ = write!(
                text,
                "; a profile of that name is in namespace {}",
                values.profile_found_in_namespaces.join(", ")
            );
        }
        lines.push(("Profile:", text));
    }
    if let Some(import) = &values.service_import {
        lines.push(("Import:", reference_text("ServiceImport", import)));
    }
    if let Some(usage) = values.profiles_in_subscription {
        lines.push((
            "Profiles:",
            format!(
                "{} of {} in the subscription are on this hub",
                usage.used, usage.limit
            ),
        ));
    }
    if let Some(usage) = values.endpoints_in_profile {
        lines.push((
            "Endpoints:",
            format!("{} of {} on the profile", usage.used, usage.limit),
        ));
    }
    lines
}

fn reference_text(kind: &str, reference: &Reference) -> String {
    let state = if !reference.found {
        "not found in the input".to_owned()
    } else if reference.problems.is_empty() {
        "found".to_owned()
    } else {
        format!("found, with problem {}", reference.problems.join(", "))
    };
    format!(
        "{kind} {}/{} ({state})",
        reference.namespace, reference.name
    )
}

fn write_healthy(out: &mut String, healthy: &Healthy) {
    let _ = writeln!(out, "\n{HEADING}Healthy objects{HEADING:#}");
    if healthy.profiles.total == 0 && healthy.backends.total == 0 {
        let _ = writeln!(
            out,
            "The input holds no TrafficManagerProfile or TrafficManagerBackend."
        );
        return;
    }
    let _ = writeln!(
        out,
        "{GOOD}{} of {}{GOOD:#} TrafficManagerProfiles are programmed, {GOOD}{} of {}{GOOD:#} TrafficManagerBackends are accepted.",
        healthy.profiles.healthy,
        healthy.profiles.total,
        healthy.backends.healthy,
        healthy.backends.total
    );
    for object in healthy.objects.iter().take(MAX_HEALTHY_ROWS) {
        let _ = writeln!(out, "  {object}");
    }
    if healthy.objects.len() > MAX_HEALTHY_ROWS {
        let _ = writeln!(
            out,
            "  and {} more",
            healthy.objects.len() - MAX_HEALTHY_ROWS
        );
    }
    for note in &healthy.notes {
        let _ = writeln!(out, "  {OTHER_PROBLEM}Note:{OTHER_PROBLEM:#} {note}");
    }
}

fn write_headroom(out: &mut String, headroom: &Headroom) {
    let _ = writeln!(out, "\n{HEADING}Limit headroom{HEADING:#}");
    let _ = writeln!(
        out,
        "Profiles per subscription (limit {}):",
        headroom.profile_limit
    );
    if headroom.subscriptions.is_empty() {
        let _ = writeln!(out, "  no profile has a status.resourceID yet");
    }
    for subscription in &headroom.subscriptions {
        let _ = writeln!(
            out,
            "  {}  {} used, {} left",
            subscription.subscription_id, subscription.profiles, subscription.headroom
        );
    }
    if headroom.profiles_without_subscription > 0 {
        let _ = writeln!(
            out,
            "  {} without a status.resourceID {} not counted",
            plural(
                headroom.profiles_without_subscription,
                "profile",
                "profiles"
            ),
            if headroom.profiles_without_subscription == 1 {
                "is"
            } else {
                "are"
            }
        );
    }
    let _ = writeln!(
        out,
        "Endpoints per profile (limit {}), fewest left first:",
        headroom.endpoint_limit
    );
    if headroom.profiles.is_empty() {
        let _ = writeln!(out, "  no profiles");
    }
    let width = headroom
        .profiles
        .iter()
        .take(MAX_HEADROOM_ROWS)
        .map(|p| p.namespace.len() + p.name.len() + 1)
        .max()
        .unwrap_or(0);
    for profile in headroom.profiles.iter().take(MAX_HEADROOM_ROWS) {
        let name = format!("{}/{}", profile.namespace, profile.name);
        let _ = writeln!(
            out,
            "  {name:<width$}  {} used, {} left",
            profile.endpoints, profile.headroom
        );
    }
    if headroom.profiles.len() > MAX_HEADROOM_ROWS {
        let rest = &headroom.profiles[MAX_HEADROOM_ROWS..];
        let least = rest.iter().map(|p| p.headroom).min().unwrap_or(0);
        let _ = writeln!(
            out,
            "  and {} more, each with at least {least} left",
            plural(rest.len(), "profile", "profiles")
        );
    }
}

fn write_not_reconciled(out: &mut String, report: &Report) {
    let _ = writeln!(out, "\n{HEADING}Not reconciled{HEADING:#}");
    if report.not_reconciled.is_empty() {
        let _ = writeln!(
            out,
            "None: the controller has processed every object's current spec."
        );
    }
    for object in &report.not_reconciled {
        let _ = writeln!(
            out,
            "  {} {}/{}: {}",
            object.kind, object.namespace, object.name, object.detail
        );
    }
}

fn write_rejected(out: &mut String, report: &Report) {
    if report.rejected_items.is_empty() {
        return;
    }
    let _ = writeln!(out, "\n{HEADING}Items not read{HEADING:#}");
    for item in &report.rejected_items {
        let _ = writeln!(
            out,
            "  {} item {} ({} {}/{}): {}",
            item.source, item.index, item.kind, item.namespace, item.name, item.reason
        );
    }
}

/// Formats an age in seconds as days and hours, hours and minutes, or minutes and seconds.
pub fn format_age(seconds: i64) -> String {
    let smallest = match seconds {
        86_400.. => Unit::Hour,
        3_600.. => Unit::Minute,
        _ => Unit::Second,
    };
    let rounding = SpanRound::new()
        .largest(Unit::Day)
        .smallest(smallest)
        .mode(RoundMode::Trunc)
        .days_are_24_hours();
    match Span::new()
        .try_seconds(seconds)
        .and_then(|s| s.round(rounding))
    {
        Ok(span) => format!("{span:#}"),
        Err(_) => format!("{seconds}s"),
    }
}

fn plural(count: usize, singular: &str, plural_form: &str) -> String {
    format!(
        "{count} {}",
        if count == 1 { singular } else { plural_form }
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn age_units_by_magnitude() {
        assert_eq!(format_age(42), "42s");
        assert_eq!(format_age(3 * 60 + 5), "3m 5s");
        assert_eq!(format_age(2 * 3_600 + 7 * 60 + 59), "2h 7m");
        assert_eq!(format_age(33 * 86_400 + 21 * 3_600 + 5), "33d 21h");
    }

    #[test]
    fn azure_message_line_shows_code_and_status() {
        let message = MessageFacts {
            azure_error_codes: vec!["AuthorizationFailed".to_owned()],
            http_status: Some(403),
            first_line: "Invalid profile: GET https://management.azure.com/x".to_owned(),
        };
        assert_eq!(
            message_line(&message),
            "Azure error AuthorizationFailed, HTTP 403"
        );
    }

    #[test]
    fn plain_message_line_is_first_line() {
        let message = MessageFacts {
            azure_error_codes: Vec::new(),
            http_status: None,
            first_line: "ServiceImport \"s\" is not found".to_owned(),
        };
        assert_eq!(message_line(&message), "ServiceImport \"s\" is not found");
    }
}
