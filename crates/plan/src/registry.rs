//! The registry as a plan sees it: a snapshot of jurisdictions, organizations and members, given as plain data by
//! the caller (the application reads it from the store), and the one resolution of a plan's parties against it that
//! both the linter and activation use.

use std::collections::BTreeMap;

use domain::ids::{JurisdictionId, MemberId, OrganizationId};
use domain::policy::AccountRole;
use domain::registry::{JurisdictionLevel, JurisdictionPath, MemberRole, MemberStatus, OrganizationKind, Sector};
use domain::text::Code;

use crate::model::{OrganizationSelector, Party, RoleSelector};

/// The registry data a plan is checked and activated against.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RegistrySnapshot {
    /// Every jurisdiction of the deployment (or at least the activating one, its ancestors and its descendants).
    pub jurisdictions: Vec<JurisdictionEntry>,
    /// The organizations.
    pub organizations: Vec<OrganizationEntry>,
    /// The members, with their roles and the roles of their accounts.
    pub members: Vec<MemberEntry>,
}

/// A jurisdiction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JurisdictionEntry {
    /// Its id.
    pub id: JurisdictionId,
    /// Its code (an administrative-division code or a mnemonic).
    pub code: Code,
    /// Its level.
    pub level: JurisdictionLevel,
    /// Its position in the tree; the last id is its own.
    pub path: JurisdictionPath,
    /// Its name in Chinese.
    pub name_zh: String,
    /// Its name in English, if it has one.
    pub name_en: Option<String>,
}

impl JurisdictionEntry {
    /// The name in `locale` (the Chinese name when there is no English one).
    pub fn name(&self, locale: domain::Locale) -> &str {
        match locale {
            domain::Locale::En => self.name_en.as_deref().unwrap_or(&self.name_zh),
            domain::Locale::ZhCn => &self.name_zh,
        }
    }
}

/// An organization.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrganizationEntry {
    /// Its id.
    pub id: OrganizationId,
    /// Its code.
    pub code: Code,
    /// What kind of body it is.
    pub kind: OrganizationKind,
    /// The field it works in, for departments and utilities.
    pub sector: Option<Sector>,
    /// The jurisdiction it belongs to (a district bureau belongs to the district).
    pub jurisdiction: JurisdictionId,
    /// The organization above it, if any.
    pub parent: Option<OrganizationId>,
}

/// A member: a person with roles. No personal data is needed to plan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemberEntry {
    /// Its id.
    pub id: MemberId,
    /// The jurisdiction the member serves in (a grid member's grid).
    pub jurisdiction: JurisdictionId,
    /// The organization the member belongs to, if any.
    pub organization: Option<OrganizationId>,
    /// The member's roles.
    pub roles: Vec<MemberRole>,
    /// The roles granted to the member's account, with their scopes.
    pub grants: Vec<GrantEntry>,
    /// Whether the member can be called on now.
    pub status: MemberStatus,
}

/// A role granted to a member's account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GrantEntry {
    /// The role.
    pub role: AccountRole,
    /// The jurisdiction subtree it covers; `None` for global roles.
    pub scope: Option<JurisdictionId>,
}

/// The snapshot indexed for lookups.
#[derive(Debug)]
pub(crate) struct Index<'a> {
    pub(crate) snapshot: &'a RegistrySnapshot,
    by_id: BTreeMap<JurisdictionId, &'a JurisdictionEntry>,
    by_code: BTreeMap<&'a str, &'a JurisdictionEntry>,
}

/// Why a party could not be resolved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Unresolved {
    /// No organization has the code.
    UnknownOrganization(Code),
    /// No organization of the sector (and kind, if given) at or above the anchor.
    NoSector(Sector, Option<OrganizationKind>),
    /// No organization of the kind at or above the anchor.
    NoKind(OrganizationKind),
    /// Nobody holds the role there.
    NoRole(RoleSelector),
}

/// A party resolved at one jurisdiction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Resolution {
    pub(crate) organization: Option<OrganizationId>,
    pub(crate) members: Vec<MemberId>,
}

/// Which members count: linting ignores only members who left; activation also skips the unavailable.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Availability {
    Registered,
    Callable,
}

impl Availability {
    fn admits(self, status: MemberStatus) -> bool {
        match self {
            Availability::Registered => status != MemberStatus::Inactive,
            Availability::Callable => matches!(status, MemberStatus::Active | MemberStatus::Deployed),
        }
    }
}

impl<'a> Index<'a> {
    pub(crate) fn new(snapshot: &'a RegistrySnapshot) -> Index<'a> {
        Index {
            snapshot,
            by_id: snapshot.jurisdictions.iter().map(|entry| (entry.id, entry)).collect(),
            by_code: snapshot.jurisdictions.iter().map(|entry| (entry.code.as_str(), entry)).collect(),
        }
    }

    pub(crate) fn jurisdiction(&self, id: JurisdictionId) -> Option<&'a JurisdictionEntry> {
        self.by_id.get(&id).copied()
    }

    pub(crate) fn jurisdiction_by_code(&self, code: &str) -> Option<&'a JurisdictionEntry> {
        self.by_code.get(code).copied()
    }

    pub(crate) fn jurisdictions_of_level(&self, level: JurisdictionLevel) -> impl Iterator<Item = &'a JurisdictionEntry> + '_ {
        self.snapshot.jurisdictions.iter().filter(move |entry| entry.level == level)
    }

    /// The jurisdiction and its ancestors present in the snapshot, nearest first.
    pub(crate) fn self_and_ancestors(&self, id: JurisdictionId) -> Vec<&'a JurisdictionEntry> {
        let Some(entry) = self.jurisdiction(id) else { return Vec::new() };
        entry.path.ids().iter().rev().filter_map(|id| self.jurisdiction(*id)).collect()
    }

    /// The parent present in the snapshot, if any.
    pub(crate) fn parent(&self, id: JurisdictionId) -> Option<&'a JurisdictionEntry> {
        self.self_and_ancestors(id).into_iter().nth(1)
    }

    /// The jurisdictions of `level` at or below `id`, by id.
    pub(crate) fn within(&self, id: JurisdictionId, level: JurisdictionLevel) -> Vec<&'a JurisdictionEntry> {
        let Some(top) = self.jurisdiction(id) else { return Vec::new() };
        let mut found: Vec<&JurisdictionEntry> =
            self.snapshot.jurisdictions.iter().filter(|entry| entry.level == level && top.path.contains(&entry.path)).collect();
        found.sort_by_key(|entry| entry.id);
        found
    }

    fn depth_below(&self, top: &JurisdictionEntry, id: JurisdictionId) -> Option<usize> {
        let entry = self.jurisdiction(id)?;
        top.path.contains(&entry.path).then(|| entry.path.ids().len() - top.path.ids().len())
    }

    fn organization_near(&self, anchor: JurisdictionId, matches: impl Fn(&OrganizationEntry) -> bool) -> Option<&'a OrganizationEntry> {
        for jurisdiction in self.self_and_ancestors(anchor) {
            let found = self
                .snapshot
                .organizations
                .iter()
                .filter(|org| org.jurisdiction == jurisdiction.id && matches(org))
                .min_by_key(|org| org.id);
            if found.is_some() {
                return found;
            }
        }
        None
    }

    /// Resolves `party` at the jurisdiction `anchor`: the organization (nearest at or above the anchor), and the
    /// members who act for it, callable ones first, nearest first, then by id.
    pub(crate) fn resolve(&self, party: &Party, anchor: JurisdictionId, availability: Availability) -> Result<Resolution, Unresolved> {
        let organization = match &party.organization {
            None => None,
            Some(OrganizationSelector::Code(code)) => Some(
                self.snapshot
                    .organizations
                    .iter()
                    .find(|org| org.code == *code)
                    .ok_or_else(|| Unresolved::UnknownOrganization(code.clone()))?,
            ),
            Some(OrganizationSelector::Nearest { sector, kind }) => {
                let matches = |org: &OrganizationEntry| {
                    sector.is_none_or(|sector| org.sector == Some(sector)) && kind.is_none_or(|kind| org.kind == kind)
                };
                let missing = match (sector, kind) {
                    (Some(sector), kind) => Unresolved::NoSector(*sector, *kind),
                    (None, Some(kind)) => Unresolved::NoKind(*kind),
                    (None, None) => Unresolved::NoKind(OrganizationKind::Department),
                };
                Some(self.organization_near(anchor, matches).ok_or(missing)?)
            }
        };
        let admitted = |member: &&MemberEntry| availability.admits(member.status);
        // Available members sort before deployed ones, then nearer ones, then by id, so the primary owner is stable.
        let order = |depth: usize, member: &MemberEntry| (member.status != MemberStatus::Active, depth, member.id);
        let mut members: Vec<(bool, usize, MemberId)> = match (organization, party.role) {
            (Some(org), Some(RoleSelector::Member(role))) => self
                .snapshot
                .members
                .iter()
                .filter(admitted)
                .filter(|member| member.organization == Some(org.id) && member.roles.contains(&role))
                .map(|member| order(0, member))
                .collect(),
            (Some(org), _) => {
                let of_org: Vec<&MemberEntry> =
                    self.snapshot.members.iter().filter(admitted).filter(|member| member.organization == Some(org.id)).collect();
                let liaisons: Vec<&&MemberEntry> = of_org.iter().filter(|member| member.roles.contains(&MemberRole::Liaison)).collect();
                // An organization is reached through its liaisons; without one, through everyone registered with it.
                if liaisons.is_empty() {
                    of_org.iter().map(|member| order(0, member)).collect()
                } else {
                    liaisons.iter().map(|member| order(0, member)).collect()
                }
            }
            (None, Some(RoleSelector::Member(role))) => {
                let Some(top) = self.jurisdiction(anchor) else { return Err(Unresolved::NoRole(RoleSelector::Member(role))) };
                let mut found: Vec<(bool, usize, MemberId)> = self
                    .snapshot
                    .members
                    .iter()
                    .filter(admitted)
                    .filter(|member| member.roles.contains(&role))
                    .filter_map(|member| self.depth_below(top, member.jurisdiction).map(|depth| order(depth, member)))
                    .collect();
                // Only the nearest level that has anyone: the grid members of a grid, not of every grid below.
                if let Some(nearest) = found.iter().map(|(_, depth, _)| *depth).min() {
                    found.retain(|(_, depth, _)| *depth == nearest);
                }
                found
            }
            (None, Some(RoleSelector::Account(role))) => {
                let Some(anchor_entry) = self.jurisdiction(anchor) else { return Err(Unresolved::NoRole(RoleSelector::Account(role))) };
                let mut found = Vec::new();
                for member in self.snapshot.members.iter().filter(admitted) {
                    // The narrowest grant covering the anchor counts: a sub-district duty officer before a district one.
                    let nearest = member
                        .grants
                        .iter()
                        .filter(|grant| grant.role == role)
                        .filter_map(|grant| grant.scope)
                        .filter_map(|scope| self.jurisdiction(scope))
                        .filter(|scope| scope.path.contains(&anchor_entry.path))
                        .map(|scope| anchor_entry.path.ids().len() - scope.path.ids().len())
                        .min();
                    if let Some(distance) = nearest {
                        found.push(order(distance, member));
                    }
                }
                if let Some(nearest) = found.iter().map(|(_, depth, _)| *depth).min() {
                    found.retain(|(_, depth, _)| *depth == nearest);
                }
                found
            }
            (None, None) => Vec::new(),
        };
        members.sort();
        if members.is_empty()
            && let Some(role) = party.role
        {
            return Err(Unresolved::NoRole(role));
        }
        Ok(Resolution { organization: organization.map(|org| org.id), members: members.into_iter().map(|(_, _, id)| id).collect() })
    }
}
