use std::process::ExitCode;

use clap::Parser;
use fleet_dns_lb_exporter::cli::{Cli, Command};
use fleet_dns_lb_exporter::{app, diagnose, telemetry};

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    if let Some(Command::Diagnose(args)) = &cli.command {
        return diagnose::main(args);
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
