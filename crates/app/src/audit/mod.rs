//! Audit: the hash-chained log read back with its filters, and its anchors (chain heads signed with a key kept
//! outside the database).

mod anchor;
mod log;

use crate::kernel::Kernel;

pub use anchor::{
    AnchorSummary, AuditConfig, AuditReport, archive_journal, open_or_create_key, read_signing_key, rotate_key, trusted_keys,
};
pub use log::{AuditParams, AuditView};

/// The audit context's use cases.
#[derive(Debug, Clone)]
pub struct Audit {
    pub(crate) kernel: Kernel,
}

impl Audit {
    pub(crate) fn new(kernel: Kernel) -> Audit {
        Audit { kernel }
    }
}
