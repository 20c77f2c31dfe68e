//! Removal of control characters from every string of a report.
//!
//! Condition messages, names and other fields come from the hub or from a support dump,
//! and a terminal would act on an escape sequence in them, for example to clear the screen
//! or hide lines. Each control character is replaced with U+FFFD, the replacement
//! character, so the text report can only contain the styles the renderer adds.

use super::{Finding, Report};

/// Replaces every control character in the report's strings with U+FFFD.
pub(super) fn make_printable(report: &mut Report) {
    clean_all(&mut report.sources);
    for finding in report
        .scenarios
        .iter_mut()
        .flat_map(|s| &mut s.problems)
        .flat_map(|p| &mut p.objects)
    {
        clean_finding(finding);
    }

    clean_all(&mut report.healthy.objects);
    clean_all(&mut report.healthy.notes);
    for subscription in &mut report.headroom.subscriptions {
        clean(&mut subscription.subscription_id);
    }
    for profile in &mut report.headroom.profiles {
        clean(&mut profile.namespace);
        clean(&mut profile.name);
    }
    for object in &mut report.not_reconciled {
        clean(&mut object.namespace);
        clean(&mut object.name);
        clean(&mut object.detail);
    }
    for item in &mut report.rejected_items {
        for text in [
            &mut item.source,
            &mut item.kind,
            &mut item.namespace,
            &mut item.name,
            &mut item.reason,
        ] {
            clean(text);
        }
    }
}

fn clean_finding(finding: &mut Finding) {
    clean(&mut finding.namespace);
    clean(&mut finding.name);
    if let Some(condition) = &mut finding.condition {
        clean(&mut condition.type_);
        clean(&mut condition.status);
        clean(&mut condition.reason);
        if let Some(time) = &mut condition.last_transition_time {
            clean(time);
        }
    }
    if let Some(message) = &mut finding.message {
        clean_all(&mut message.azure_error_codes);
        clean(&mut message.first_line);
    }
    clean_all(&mut finding.decode_errors);

    let values = &mut finding.values;
    for text in [
        &mut values.dns_name,
        &mut values.resource_group,
        &mut values.subscription_id,
        &mut values.azure_profile_name,
    ]
    .into_iter()
    .flatten()
    {
        clean(text);
    }
    for reference in [&mut values.profile, &mut values.service_import]
        .into_iter()
        .flatten()
    {
        clean(&mut reference.namespace);
        clean(&mut reference.name);
    }
    clean_all(&mut values.profile_found_in_namespaces);

    for cluster in &mut finding.clusters {
        for text in [
            &mut cluster.cluster,
            &mut cluster.service_namespace,
            &mut cluster.service_name,
            &mut cluster.internal_service_export_namespace,
            &mut cluster.internal_service_export_name,
        ] {
            clean(text);
        }
    }
    clean(&mut finding.inspect);
    for step in &mut finding.steps {
        clean(&mut step.text);
        clean_all(&mut step.commands);
    }
}

fn clean_all(texts: &mut [String]) {
    for text in texts {
        clean(text);
    }
}

fn clean(text: &mut String) {
    if text.chars().any(char::is_control) {
        *text = text
            .chars()
            .map(|c| if c.is_control() { '\u{FFFD}' } else { c })
            .collect();
    }
}
