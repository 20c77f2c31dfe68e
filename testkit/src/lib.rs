//! Test and benchmark helpers for fleet-dns-lb-exporter.

pub mod synthetic;
