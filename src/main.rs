use std::process::ExitCode;

use clap::Parser;
use fleet_dns_lb_exporter::cli::{Cli, Command};
use fleet_dns_lb_exporter::{app, diagnose, telemetry};

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    if let Some(Command::Diagnose(args)) = &cli.command {
        // The report goes to stdout; stderr carries only warnings, such as a watch that
        // the hub's RBAC rejects, unless RUST_LOG sets a lower level.
        let filter = std::env::var("RUST_LOG").unwrap_or_else(|_| "warn".to_owned());
        if let Err(message) = telemetry::init(telemetry::LogFormat::Text, &filter) {
            eprintln!("error: {message}");
            return ExitCode::from(diagnose::EXIT_USAGE);
        }
        return diagnose::main(args).await;
    }
    if let Err(message) = telemetry::init(cli.run.log_format, &cli.run.log_level) {
        eprintln!("error: {message}");
        return ExitCode::from(2);
    }
    match app::run(cli.run).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            tracing::error!(%error, "exporter stopped");
            eprintln!("error: {error}");
            ExitCode::FAILURE
        }
    }
}
