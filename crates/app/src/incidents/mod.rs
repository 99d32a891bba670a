//! Incidents: reports from every channel, taken in once (de-duplication), the incidents they open, the plans
//! matched to them and the tasks (owners and deadlines) those plans make.

mod dedupe;
mod plans;
mod reports;
mod tasks;

use crate::kernel::Kernel;

pub use dedupe::OpenIncidents;
pub use plans::{ActivationInput, ActivationView, FindingView, PlanView, UpwardReportView};
pub use reports::{
    CHANNELS, HOTLINE_COLUMNS, HotlineImport, IncidentFilter, IncidentPatch, IncidentView, MAX_MEDIA_BYTES, ProposalView, ReportInput,
    ReportOutcome, ReportView, StatusChange, incident_view, reference, report_view,
};
pub use tasks::{HouseholdBrief, Reassignment, STATUSES, TaskFilter, TaskReport, TaskView, view_of};

/// The incidents context's use cases.
#[derive(Debug, Clone)]
pub struct Incidents {
    pub(crate) kernel: Kernel,
    pub(crate) registry: crate::registry::Registry,
    open_incidents: std::sync::Arc<OpenIncidents>,
}

impl Incidents {
    pub(crate) fn new(kernel: Kernel, registry: crate::registry::Registry) -> Incidents {
        Incidents { kernel, registry, open_incidents: std::sync::Arc::default() }
    }
}
