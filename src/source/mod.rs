//! Sources of hub objects. Each source writes into the shared [`crate::state::Hub`] and
//! reports when its initial load is complete, which `/readyz` waits for.

pub mod file;
pub mod live;

use std::collections::BTreeSet;
use std::sync::Mutex;

/// Sources that have not finished their initial load yet.
#[derive(Debug, Default)]
pub struct Readiness {
    waiting: Mutex<BTreeSet<String>>,
}

impl Readiness {
    /// Registers a source that must load once before the exporter is ready.
    pub fn register(&self, source: &str) {
        self.lock().insert(source.to_owned());
    }

    pub fn mark_ready(&self, source: &str) {
        self.lock().remove(source);
    }

    /// Returns the sources still loading, or an empty list when the exporter is ready.
    pub fn waiting_for(&self) -> Vec<String> {
        self.lock().iter().cloned().collect()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeSet<String>> {
        self.waiting.lock().unwrap_or_else(|p| p.into_inner())
    }
}
