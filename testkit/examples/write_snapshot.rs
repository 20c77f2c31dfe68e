//! Writes a synthetic hub as a `kubectl get -o json` List:
//! `cargo run --release -p fleet-dns-lb-testkit --example write_snapshot -- PATH [DIVISOR]`
//! writes the reference scale divided by DIVISOR (default 1).

use std::path::PathBuf;
use std::process::ExitCode;

use fleet_dns_lb_testkit::synthetic::{Scale, write_snapshot_of_scale};

fn main() -> ExitCode {
    let mut args = std::env::args().skip(1);
    let Some(path) = args.next().map(PathBuf::from) else {
        eprintln!("usage: write_snapshot PATH [DIVISOR]");
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
    if let Err(error) = write_snapshot_of_scale(&path, &scale) {
        eprintln!("error: cannot write {}: {error}", path.display());
        return ExitCode::FAILURE;
    }
    println!("wrote {scale} to {}", path.display());
    ExitCode::SUCCESS
}
