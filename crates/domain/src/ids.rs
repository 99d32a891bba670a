//! Typed identifiers. Every stored entity has a 64-bit integer id assigned by the database; the newtypes
//! keep a member id from being passed where a team id is expected.

use std::fmt;

macro_rules! id_type {
    ($($(#[$meta:meta])* $name:ident),* $(,)?) => {$(
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name(pub i64);

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.fmt(f)
            }
        }
    )*};
}

id_type!(
    /// A jurisdiction: city, district, sub-district, community or grid.
    JurisdictionId,
    /// An organization: a department, enterprise, NGO, volunteer team, property company…
    OrganizationId,
    /// A member: a person with roles in the emergency system.
    MemberId,
    /// A team of members.
    TeamId,
    /// A login account.
    AccountId,
    /// An API token of an account.
    ApiTokenId,
);
