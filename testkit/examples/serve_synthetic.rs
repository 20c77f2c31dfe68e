//! Serves a synthetic hub from the test API server on 127.0.0.1 until stopped, for
//! measuring the exporter's live path by hand:
//! `cargo run --release -p fleet-dns-lb-testkit --example serve_synthetic -- KUBECONFIG [DIVISOR]`
//! writes a kubeconfig for the server to KUBECONFIG and serves the reference scale
//! divided by DIVISOR (default 1).

use std::path::PathBuf;
use std::process::ExitCode;

use fleet_dns_lb_testkit::TestApiServer;
use fleet_dns_lb_testkit::synthetic::{Scale, generate};

#[tokio::main]
async fn main() -> ExitCode {
    let mut args = std::env::args().skip(1);
    let Some(kubeconfig) = args.next().map(PathBuf::from) else {
        eprintln!("usage: serve_synthetic KUBECONFIG [DIVISOR]");
        return ExitCode::from(2);
    };
    let divisor = match args.next().map(|d| d.parse::<usize>()) {
        None => 1,
        Some(Ok(d)) if d > 0 => d,
        Some(_) => {
            eprintln!("error: DIVISOR must be a positive whole number");
            return ExitCode::from(2);
        }
    };
    let scale = Scale::REFERENCE.divided_by(divisor);
    let server = match TestApiServer::start(generate(&scale)).await {
        Ok(server) => server,
        Err(error) => {
            eprintln!("error: failed to start the test API server: {error}");
            return ExitCode::FAILURE;
        }
    };
    if let Err(error) = server.write_kubeconfig(&kubeconfig) {
        eprintln!("error: failed to write {}: {error}", kubeconfig.display());
        return ExitCode::FAILURE;
    }
    println!("serving {scale} at {}", server.url());
    if let Err(error) = tokio::signal::ctrl_c().await {
        eprintln!("error: failed to wait for Ctrl-C: {error}");
        return ExitCode::FAILURE;
    }
    ExitCode::SUCCESS
}
