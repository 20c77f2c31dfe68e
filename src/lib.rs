//! Prometheus exporter for Azure Kubernetes Fleet Manager DNS-based load balancing.
//!
//! The data flows through the modules in this order: a [`source`] reads hub [`objects`],
//! [`classify`] maps each profile's and backend's condition to a [`catalogue`] case, the
//! [`state`] keeps every object with its rendered series, [`metrics`] encodes a scrape,
//! and [`http`] serves it.

pub mod app;
pub mod catalogue;
pub mod classify;
pub mod cli;
pub mod http;
pub mod metrics;
pub mod objects;
pub mod source;
pub mod state;
pub mod telemetry;
pub mod web_config;
