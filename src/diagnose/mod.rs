//! The `diagnose` subcommand: a troubleshooting report for a person, built from the same
//! classification the metrics use. [`model`] builds the report's data, with [`steps`]
//! filling the documented solutions in; [`text`] and [`json`] render it.

pub mod json;
pub mod model;
pub mod steps;
pub mod text;

use std::io::Write;
use std::process::ExitCode;
use std::sync::Arc;

use crate::catalogue::Kind;
use crate::cli::{DiagnoseArgs, ReportFormat};
use crate::metrics::own::ExporterMetrics;
use crate::objects::ObjectError;
use crate::source::file::{SnapshotError, load_snapshot};
use crate::state::Hub;
use model::{Report, ReportSettings, build_report};

/// Exit status when the report lists no problem.
pub const EXIT_NO_PROBLEMS: u8 = 0;
/// Exit status when the report could not be written.
pub const EXIT_FAILURE: u8 = 1;
/// Exit status of a usage error: invalid flags, or input that cannot be read. Clap uses
/// the same status for invalid flags.
pub const EXIT_USAGE: u8 = 2;
/// Exit status when the report lists problems or input items that could not be read.
pub const EXIT_PROBLEMS_FOUND: u8 = 3;

/// An error that stops `diagnose` before it prints a report.
#[derive(Debug, thiserror::Error)]
pub enum DiagnoseError {
    #[error(transparent)]
    Snapshot(#[from] SnapshotError),
    // TODO: read a live hub here once the live source exists; it shares SourceArgs.
    #[error(
        "diagnose needs --from-file PATH: reading a live hub needs the live source, which this build does not have; docs/diagnose.md shows how to save a snapshot of the hub"
    )]
    NoSource,
    #[error("cannot write the report to stdout: {0}")]
    Write(std::io::Error),
}

impl DiagnoseError {
    pub fn exit_code(&self) -> u8 {
        match self {
            DiagnoseError::Snapshot(_) | DiagnoseError::NoSource => EXIT_USAGE,
            DiagnoseError::Write(_) => EXIT_FAILURE,
        }
    }
}

/// Runs the subcommand and returns the process's exit status; errors go to stderr on one line.
pub fn main(args: &DiagnoseArgs) -> ExitCode {
    match run(args) {
        Ok(report) if report.problems_found => ExitCode::from(EXIT_PROBLEMS_FOUND),
        Ok(_) => ExitCode::from(EXIT_NO_PROBLEMS),
        Err(error) => {
            let message = error.to_string();
            eprintln!(
                "error: {}",
                message.split_whitespace().collect::<Vec<_>>().join(" ")
            );
            ExitCode::from(error.exit_code())
        }
    }
}

/// Reads the input, builds the report and writes it to stdout.
pub fn run(args: &DiagnoseArgs) -> Result<Report, DiagnoseError> {
    let report = load_report(args)?;
    let written = match args.output {
        ReportFormat::Text => {
            // anstream drops the styles unless stdout is a colour terminal and NO_COLOR
            // is unset; CLICOLOR_FORCE turns them on anyway.
            let mut stdout = anstream::stdout().lock();
            stdout
                .write_all(text::render(&report).as_bytes())
                .and_then(|()| stdout.flush())
        }
        ReportFormat::Json => {
            let mut stdout = std::io::stdout().lock();
            stdout
                .write_all(json::render(&report).as_bytes())
                .and_then(|()| stdout.flush())
        }
    };
    written.map_err(DiagnoseError::Write)?;
    Ok(report)
}

/// Reads every input file into a hub state and builds the report from it.
pub fn load_report(args: &DiagnoseArgs) -> Result<Report, DiagnoseError> {
    if args.source.from_file.is_empty() {
        return Err(DiagnoseError::NoSource);
    }
    let config = args.hub.hub_config();
    let hub = Hub::new(config.clone(), Arc::new(ExporterMetrics::new()));

    let mut objects = Vec::new();
    let mut rejected: Vec<(String, ObjectError)> = Vec::new();
    for path in &args.source.from_file {
        let snapshot = load_snapshot(path)?;
        objects.extend(snapshot.objects);
        let source = path.display().to_string();
        rejected.extend(snapshot.rejected.into_iter().map(|e| (source.clone(), e)));
    }
    // An object in several files is taken from the last one, as the exporter does.
    hub.replace(&Kind::ALL, objects);

    let settings = ReportSettings {
        hub: config,
        runbook_base_url: args.runbook_base_url.trim_end_matches('/').to_owned(),
        now: args.now.unwrap_or_else(jiff::Timestamp::now),
        sources: args
            .source
            .from_file
            .iter()
            .map(|p| p.display().to_string())
            .collect(),
    };
    let state = hub.read();
    Ok(build_report(&state, &rejected, &settings))
}
