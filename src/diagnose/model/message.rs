//! The essential part of a condition message.

use crate::classify::message::{AzureErrorFacts, normalize};

use super::{MAX_MESSAGE_CHARS, MessageFacts};

/// Extracts the essential part of a condition message: the Azure error codes and HTTP
/// status, and the first line folded to one short line. Returns `None` for an empty message.
pub fn message_facts(message: &str) -> Option<MessageFacts> {
    let first_line = message
        .lines()
        .map(str::trim)
        .find(|line| !line.is_empty())?;
    let facts = AzureErrorFacts::parse(&normalize(message));
    let azure_error_codes = facts
        .codes
        .iter()
        .map(|code| original_spelling(message, code))
        .collect();
    Some(MessageFacts {
        azure_error_codes,
        http_status: facts.http_status,
        first_line: shorten(first_line, MAX_MESSAGE_CHARS),
    })
}

/// Returns `code` as the message spells it; codes are parsed from the lower-cased message.
fn original_spelling(message: &str, lower_code: &str) -> String {
    let needle = lower_code.as_bytes();
    let found = message
        .as_bytes()
        .windows(needle.len())
        .position(|window| window.eq_ignore_ascii_case(needle));
    match found {
        // The match is ASCII only, so both ends are character boundaries.
        Some(start) => message[start..start + needle.len()].to_owned(),
        None => lower_code.to_owned(),
    }
}

/// Folds white space and cuts `text` to at most `max` characters, marking a cut with "…".
pub fn shorten(text: &str, max: usize) -> String {
    let folded = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if folded.chars().count() <= max {
        return folded;
    }
    let cut: String = folded.chars().take(max.saturating_sub(1)).collect();
    format!("{}…", cut.trim_end())
}
