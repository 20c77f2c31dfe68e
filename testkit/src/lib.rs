//! Test helpers for fleet-dns-lb-exporter.
//!
//! [`TestApiServer`] is an HTTP server on 127.0.0.1 that speaks enough of the Kubernetes
//! API protocol for `kube` and `kubectl`: discovery, list and watch of the four Fleet
//! networking kinds, with faults on demand. Tests load it from fixture files with
//! [`load_objects`] and change its objects while the exporter watches. [`synthetic`]
//! generates hubs of any size for the benchmarks and the scale tests.

pub mod api_server;
mod fixtures;
pub mod synthetic;

pub use api_server::{FLEET_GROUP, Faults, ResourceType, ServerConfig, Stats, TestApiServer, Verb};
pub use fixtures::load_objects;
