//! Data classification: how widely a piece of data may be seen.

use crate::coded_enum;

coded_enum! {
    /// The classification of a dataset, a record or a field, from least to most protected. The derived order
    /// is meaningful: `Public < Internal < Restricted < Confidential`.
    Classification, "classification" {
        /// Anyone, including the public without an account.
        Public = "public",
        /// Anyone working in the emergency system (any signed-in role) within their scope.
        Internal = "internal",
        /// Roles with a need to know, within their scope (for example a department's operational data).
        Restricted = "restricted",
        /// Personal and sensitive data: only roles cleared for it, within their scope, each access audited.
        Confidential = "confidential",
    }
}
