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
use std::time::Duration;

use tokio_util::sync::CancellationToken;

use crate::catalogue::Kind;
use crate::cli::{DiagnoseArgs, ReportFormat};
use crate::metrics::own::ExporterMetrics;
use crate::objects::ObjectError;
use crate::source::Readiness;
use crate::source::file::{SnapshotError, load_snapshot};
use crate::source::live::{ConnectError, LiveArgs, LiveSource};
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
    #[error(transparent)]
    Connect(#[from] ConnectError),
    #[error(
        "the hub's objects could not be read within {seconds} s (still waiting for: {waiting}); check that the API server is reachable with this kubeconfig and that RBAC allows list and watch; the warnings above name the failing request"
    )]
    HubTimeout { seconds: u64, waiting: String },
    #[error("cannot write the report to stdout: {0}")]
    Write(std::io::Error),
}

impl DiagnoseError {
    pub fn exit_code(&self) -> u8 {
        match self {
            DiagnoseError::Snapshot(_)
            | DiagnoseError::Connect(_)
            | DiagnoseError::HubTimeout { .. } => EXIT_USAGE,
            DiagnoseError::Write(_) => EXIT_FAILURE,
        }
    }
}

/// Runs the subcommand and returns the process's exit status; errors go to stderr on one line.
pub async fn main(args: &DiagnoseArgs) -> ExitCode {
    match run(args).await {
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
pub async fn run(args: &DiagnoseArgs) -> Result<Report, DiagnoseError> {
    let report = load_report(args).await?;
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

/// Reads the hub, from the input files or from the live API server, and builds the report.
pub async fn load_report(args: &DiagnoseArgs) -> Result<Report, DiagnoseError> {
    let config = args.hub.hub_config();
    let hub = Hub::new(config.clone(), Arc::new(ExporterMetrics::new()));

    let mut rejected: Vec<(String, ObjectError)> = Vec::new();
    let sources: Vec<String> = if args.source.from_file.is_empty() {
        read_live_hub(&args.live, &hub).await?;
        vec![live_source_name(&args.live)]
    } else {
        let mut objects = Vec::new();
        for path in &args.source.from_file {
            let snapshot = load_snapshot(path)?;
            objects.extend(snapshot.objects);
            let source = path.display().to_string();
            rejected.extend(snapshot.rejected.into_iter().map(|e| (source.clone(), e)));
        }
        // An object in several files is taken from the last one, as the exporter does.
        hub.replace(&Kind::ALL, objects);
        args.source
            .from_file
            .iter()
            .map(|p| p.display().to_string())
            .collect()
    };

    let settings = ReportSettings {
        hub: config,
        runbook_base_url: args.runbook_base_url.trim_end_matches('/').to_owned(),
        now: args.now.unwrap_or_else(jiff::Timestamp::now),
        sources,
    };
    let state = hub.read();
    Ok(build_report(&state, &rejected, &settings))
}

/// Lists every kind the hub serves into `hub`, the way the exporter starts, then stops.
///
/// Waits for discovery and the first list of each kind. An unreachable server or a list
/// that RBAC rejects keeps the source retrying, so the wait ends after twice the request
/// timeout, with the sources still pending named in the error.
async fn read_live_hub(args: &LiveArgs, hub: &Hub) -> Result<(), DiagnoseError> {
    let readiness = Arc::new(Readiness::default());
    let source = LiveSource::connect(args, hub.clone(), readiness.clone()).await?;
    let shutdown = CancellationToken::new();
    let task = tokio::spawn(source.run(shutdown.clone()));

    let seconds = args.request_timeout.saturating_mul(2);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(seconds);
    let result = loop {
        let waiting = readiness.waiting_for();
        if waiting.is_empty() {
            break Ok(());
        }
        if tokio::time::Instant::now() >= deadline {
            break Err(DiagnoseError::HubTimeout {
                seconds,
                waiting: waiting.join(", "),
            });
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };

    shutdown.cancel();
    let _ = task.await;
    result
}

/// Names the live hub in the report's input line.
fn live_source_name(args: &LiveArgs) -> String {
    let mut name = String::from("live hub");
    if let Some(context) = &args.context {
        name.push_str(&format!(", context {context}"));
    }
    if let Some(path) = &args.kubeconfig {
        name.push_str(&format!(", kubeconfig {}", path.display()));
    }
    if !args.namespaces.is_empty() {
        name.push_str(&format!(", namespaces {}", args.namespaces.join(", ")));
    }
    name
}
