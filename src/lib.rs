//! Prometheus exporter for Azure Kubernetes Fleet Manager DNS-based load balancing.
//!
//! Data flows through the modules in this order. A [`source`] reads hub [`objects`].
//! [`classify`] maps each profile's and backend's condition to a [`catalogue`] case. The
//! [`state`] keeps every object with its rendered series, [`metrics`] encodes a scrape, and
//! [`http`] serves it. The [`diagnose`] subcommand prints the same
//! classification as a troubleshooting report.

pub mod app;
pub mod catalogue;
pub mod classify;
pub mod cli;
pub mod diagnose;
pub mod http;
pub mod limits;
pub mod metrics;
pub mod objects;
pub mod source;
pub mod state;
pub mod telemetry;
pub mod web_config;
