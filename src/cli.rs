//! Command-line interface.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::state::HubConfig;
use crate::telemetry::LogFormat;

/// Default listen address. The Prometheus default port allocations list has assigned
/// every port from 9100 to 9999, so the exporter uses a port above that range.
pub const DEFAULT_LISTEN_ADDRESS: &str = "0.0.0.0:10041";

#[derive(Debug, Parser)]
#[command(
    name = "fleet-dns-lb-exporter",
    version,
    about = "Prometheus exporter for Azure Kubernetes Fleet Manager DNS-based load balancing",
    long_about = "Prometheus exporter for Azure Kubernetes Fleet Manager DNS-based load balancing.\n\n\
        Reads TrafficManagerProfile, TrafficManagerBackend, ServiceImport and InternalServiceExport \
        objects from the fleet's hub cluster, classifies each profile's and backend's condition into \
        a documented troubleshooting case, and serves the result as Prometheus metrics, together \
        with Azure Traffic Manager limit headroom.\n\n\
        It watches the hub through the Kubernetes API (see --kubeconfig); with --from-file it \
        reads snapshot files instead. The diagnose subcommand prints a troubleshooting report \
        instead of serving metrics.",
    args_conflicts_with_subcommands = true
)]
pub struct Cli {
    /// Without a subcommand, the binary runs the exporter.
    #[command(subcommand)]
    pub command: Option<Command>,

    #[command(flatten)]
    pub run: RunArgs,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Print a troubleshooting report: every problem found, with the documented solution
    /// steps filled in with the hub's names.
    #[command(
        long_about = "Print a troubleshooting report: every problem found, grouped by \
        scenario and problem, with the condition, the essential part of its message and the \
        documented solution steps filled in with the hub's names, followed by the healthy \
        objects and the limit headroom.\n\n\
        Exit status: 0 when no problem is found, 3 when the report lists problems, 2 for a \
        usage error (invalid flags, an unreadable or invalid file), 1 when the report cannot \
        be written."
    )]
    Diagnose(DiagnoseArgs),
}

/// Source of hub objects. The exporter and `diagnose` share these flags.
#[derive(Debug, Args)]
pub struct SourceArgs {
    /// Read hub objects from this snapshot file instead of a live hub: `kubectl get ... -o yaml`
    /// or `-o json` output, a List, or multi-document YAML. Repeat for several files. The
    /// exporter reloads each file when it changes.
    #[arg(long = "from-file", value_name = "PATH")]
    pub from_file: Vec<PathBuf>,
}

/// Classification and limit settings. The exporter and `diagnose` share these flags.
#[derive(Debug, Args)]
pub struct HubArgs {
    /// Azure Traffic Manager profiles allowed per subscription. Azure's default is 200;
    /// set the raised value if Azure support raised it.
    #[arg(long, value_name = "COUNT", default_value_t = HubConfig::DEFAULT_LIMIT, value_parser = clap::value_parser!(i64).range(1..))]
    pub profile_limit: i64,

    /// Azure Traffic Manager endpoints allowed per profile. Azure's default is 200.
    #[arg(long, value_name = "COUNT", default_value_t = HubConfig::DEFAULT_LIMIT, value_parser = clap::value_parser!(i64).range(1..))]
    pub endpoint_limit: i64,

    /// Azure subscription ID to report profile headroom for even before any profile in it
    /// is programmed. Repeat for several subscriptions.
    #[arg(long = "subscription-id", value_name = "ID")]
    pub subscription_ids: Vec<String>,

    /// Traffic Manager DNS suffix of the hub's Azure cloud, used for a profile's DNS name
    /// until its status reports one: trafficmanager.net (public), trafficmanager.cn
    /// (21Vianet), usgovtrafficmanager.net (Government).
    #[arg(long, value_name = "SUFFIX", default_value = "trafficmanager.net")]
    pub dns_suffix: String,
}

impl HubArgs {
    pub fn hub_config(&self) -> HubConfig {
        HubConfig {
            render: crate::metrics::render::RenderConfig {
                dns_suffix: self.dns_suffix.trim_start_matches('.').to_owned(),
            },
            profile_limit: self.profile_limit,
            endpoint_limit: self.endpoint_limit,
            subscription_ids: self.subscription_ids.clone(),
        }
    }
}

#[derive(Debug, Args)]
pub struct RunArgs {
    #[command(flatten)]
    pub source: SourceArgs,

    /// Print one exposition in the Prometheus text format to stdout and exit, instead of
    /// serving HTTP.
    #[arg(long)]
    pub once: bool,

    /// Address and port to serve /metrics, /healthz and /readyz on. ":PORT" listens on
    /// all IPv4 addresses.
    #[arg(long = "web.listen-address", value_name = "ADDRESS", default_value = DEFAULT_LISTEN_ADDRESS, value_parser = parse_listen_address)]
    pub listen_address: SocketAddr,

    #[command(flatten)]
    pub web: WebArgs,

    #[command(flatten)]
    pub hub: HubArgs,

    #[command(flatten)]
    pub live: crate::source::live::LiveArgs,

    /// Log format on stderr.
    #[arg(long, value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,

    /// Log filter in RUST_LOG syntax, such as "info" or "debug".
    #[arg(long, value_name = "FILTER", env = "RUST_LOG", default_value = "info")]
    pub log_level: String,
}

impl RunArgs {
    pub fn hub_config(&self) -> HubConfig {
        self.hub.hub_config()
    }
}

/// Flags of the `diagnose` subcommand.
#[derive(Debug, Args)]
pub struct DiagnoseArgs {
    #[command(flatten)]
    pub source: SourceArgs,

    /// Connection to a live hub, used when no --from-file is given.
    #[command(flatten)]
    pub live: crate::source::live::LiveArgs,

    /// Report format: readable text, or JSON for scripts (the shape is in docs/diagnose.md).
    #[arg(long, value_enum, value_name = "FORMAT", default_value_t = ReportFormat::Text)]
    pub output: ReportFormat,

    /// Base of the runbook links; the report links `<URL>/<problem>.md`.
    #[arg(long, value_name = "URL", default_value = "docs/runbooks")]
    pub runbook_base_url: String,

    /// Compute condition ages relative to this RFC 3339 time instead of the current time,
    /// such as the time a support dump was taken.
    #[arg(long, value_name = "TIME")]
    pub now: Option<jiff::Timestamp>,

    #[command(flatten)]
    pub hub: HubArgs,
}

/// Formats of the `diagnose` report.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, ValueEnum)]
pub enum ReportFormat {
    /// Readable text, coloured on a terminal unless NO_COLOR is set.
    #[default]
    Text,
    /// One JSON document.
    Json,
}

/// Security and limits of the HTTP server.
#[derive(Debug, Args)]
pub struct WebArgs {
    /// Web config file that turns on TLS and basic authentication, in the Prometheus
    /// exporter-toolkit format (tls_server_config, basic_auth_users). Re-read when it or
    /// the certificate files it names change.
    #[arg(long = "web.config.file", value_name = "PATH")]
    pub web_config_file: Option<PathBuf>,

    /// Connections served at once; further connections wait until one closes.
    #[arg(long = "web.max-connections", value_name = "COUNT", default_value_t = 64, value_parser = clap::value_parser!(u32).range(1..))]
    pub max_connections: u32,
}

fn parse_listen_address(value: &str) -> Result<SocketAddr, String> {
    let full = if value.starts_with(':') {
        format!("0.0.0.0{value}")
    } else {
        value.to_owned()
    };
    full.parse().map_err(|_| {
        format!("expected HOST:PORT or :PORT with a numeric IP address, such as 0.0.0.0:10041 or [::]:10041; got {value:?}")
    })
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    use super::*;

    #[test]
    fn cli_definition_valid() {
        Cli::command().debug_assert();
    }

    #[test]
    fn exporter_flags_without_subcommand() {
        let cli = Cli::try_parse_from(["exporter", "--from-file", "hub.yaml", "--once"]).unwrap();
        assert!(cli.command.is_none());
        assert!(cli.run.once);
        assert_eq!(cli.run.source.from_file, [PathBuf::from("hub.yaml")]);
    }

    #[test]
    fn diagnose_subcommand_flags() {
        let cli = Cli::try_parse_from([
            "exporter",
            "diagnose",
            "--from-file",
            "a.yaml",
            "--from-file",
            "b.yaml",
            "--output",
            "json",
            "--profile-limit",
            "100",
        ])
        .unwrap();
        let Some(Command::Diagnose(args)) = cli.command else {
            panic!("expected the diagnose subcommand");
        };
        assert_eq!(args.source.from_file.len(), 2);
        assert_eq!(args.output, ReportFormat::Json);
        assert_eq!(args.hub.profile_limit, 100);
        assert_eq!(args.runbook_base_url, "docs/runbooks");
    }

    #[test]
    fn exporter_flag_before_diagnose_rejected() {
        let result = Cli::try_parse_from(["exporter", "--once", "diagnose"]);
        assert!(result.is_err());
    }

    #[test]
    fn port_only_address() {
        assert_eq!(
            parse_listen_address(":9999").unwrap(),
            "0.0.0.0:9999".parse().unwrap()
        );
        assert!(parse_listen_address("localhost:1").is_err());
    }
}
