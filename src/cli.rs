//! Command-line interface.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Args, Parser};

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
        reads snapshot files instead."
)]
pub struct Cli {
    #[command(flatten)]
    pub run: RunArgs,
}

#[derive(Debug, Args)]
pub struct RunArgs {
    /// Read hub objects from this snapshot file instead of a live hub: `kubectl get ... -o yaml`
    /// or `-o json` output, a List, or multi-document YAML. Repeat for several files. Each file
    /// is reloaded when it changes.
    #[arg(long = "from-file", value_name = "PATH")]
    pub from_file: Vec<PathBuf>,

    /// Print one exposition in the Prometheus text format to stdout and exit, instead of
    /// serving HTTP.
    #[arg(long)]
    pub once: bool,

    /// Address and port to serve /metrics, /healthz and /readyz on. ":PORT" listens on
    /// all IPv4 addresses.
    #[arg(long = "web.listen-address", value_name = "ADDRESS", default_value = DEFAULT_LISTEN_ADDRESS, value_parser = parse_listen_address)]
    pub listen_address: SocketAddr,

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
    fn port_only_address() {
        assert_eq!(
            parse_listen_address(":9999").unwrap(),
            "0.0.0.0:9999".parse().unwrap()
        );
        assert!(parse_listen_address("localhost:1").is_err());
    }
}
