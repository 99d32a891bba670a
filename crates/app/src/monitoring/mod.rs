//! Monitoring: sensors, the readings they send (HTTP and MQTT), the rules that watch them, and what a rule does
//! when it fires (open an incident, draft a warning, create a task).

mod mqtt;
mod sensors;

use crate::kernel::Kernel;

pub use mqtt::{MAX_MESSAGE_BYTES, TOPIC_FILTER, sensor_of_topic};
pub use sensors::{
    Actions, Condition, CreateTaskAction, DraftWarningAction, DryRunEpisode, DryRunReport, EpisodeView, IngestReport, MAX_BATCH,
    MonitoringConfig, Near, NewSensor, OpenIncidentAction, RefusedReading, RuleDefinition, RuleSensors, RuleView, SensorView, SeriesView,
    Together, holding_since, state_of,
};

/// The monitoring context's use cases.
#[derive(Debug, Clone)]
pub struct Monitoring {
    pub(crate) kernel: Kernel,
    pub(crate) registry: crate::registry::Registry,
    pub(crate) incidents: crate::incidents::Incidents,
    pub(crate) warnings: crate::warnings::Warnings,
}

impl Monitoring {
    pub(crate) fn new(
        kernel: Kernel,
        registry: crate::registry::Registry,
        incidents: crate::incidents::Incidents,
        warnings: crate::warnings::Warnings,
    ) -> Monitoring {
        Monitoring { kernel, registry, incidents, warnings }
    }
}
