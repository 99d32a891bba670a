//! The beat: the periodic work of every context, on one timer (escalation of unacknowledged warnings, stale
//! sensors and datasets, expired sessions, the counts of anonymous refusals).

use crate::App;

impl App {
    /// Writes the counts of anonymous refusals whose minute is over (the beat does this every pass); answers how
    /// many records were written.
    pub async fn flush_refusal_counts(&self) -> Result<usize, crate::AppError> {
        self.kernel().flush_refusal_counts().await
    }

    /// Runs escalation passes every `every` until `stop` turns true.
    pub async fn run_escalation_worker(&self, every: std::time::Duration, mut stop: tokio::sync::watch::Receiver<bool>) {
        loop {
            if *stop.borrow() {
                return;
            }
            match self.warnings().run_escalation().await {
                Ok(report) if report != crate::warnings::EscalationReport::default() => tracing::info!(?report, "escalation pass"),
                Ok(_) => {}
                Err(error) => tracing::warn!(%error, "escalation pass failed"),
            }
            // Sensors silent for three intervals are flagged to their owners on the same beat.
            match self.monitoring().flag_stale_sensors().await {
                Ok(0) => {}
                Ok(flagged) => tracing::info!(flagged, "stale sensors flagged"),
                Err(error) => tracing::warn!(%error, "stale sensor check failed"),
            }
            // And datasets older than their owners' update intervals.
            match self.commons().flag_stale_datasets().await {
                Ok(0) => {}
                Ok(flagged) => tracing::info!(flagged, "stale datasets flagged"),
                Err(error) => tracing::warn!(%error, "stale dataset check failed"),
            }
            // The counts of anonymous refusals whose minute is over are written.
            if let Err(error) = self.kernel().flush_refusal_counts().await {
                tracing::warn!(%error, "writing the counts of refusals failed");
            }
            // Sessions past their end and sign-in throttles nobody has hit for a day are removed.
            match self.access().purge_expired_sessions().await {
                Ok(0) => {}
                Ok(purged) => tracing::info!(purged, "expired sessions removed"),
                Err(error) => tracing::warn!(%error, "session purge failed"),
            }
            tokio::select! {
                _ = tokio::time::sleep(every) => {}
                _ = stop.changed() => {}
            }
        }
    }
}
