//! Authorization: who may do what to which data. One pure function, [`decide`], answers every question; the
//! application layer asks it before every read and write, and [`read_filter`] turns the same rules into a filter
//! for list queries. Nothing else in Gridline decides access.
//!
//! The rules combine three things:
//! - the **role** of each grant an account holds (admin, duty officer, community cadre, grid member, department
//!   liaison, volunteer, enterprise, auditor);
//! - the grant's **scope**: a jurisdiction subtree (a community cadre's community and its grids, a duty officer's
//!   sub-district) and/or an organization (a liaison's department);
//! - the **classification** of the data (public, internal, restricted, confidential): each role is cleared up to
//!   a level inside its scope, and only public data outside it.
//!
//! Everyone may read public data. A person may always read their own member record, personal fields included,
//! and manage their own account and API tokens.

use crate::classification::Classification;
use crate::coded_enum;
use crate::ids::{AccountId, MemberId, OrganizationId};
use crate::registry::JurisdictionPath;

coded_enum! {
    /// A role an account can be granted.
    AccountRole, "role" {
        /// System administrator: everything, everywhere (every access still audited).
        Admin = "admin",
        /// Sub-district duty officer: sees and edits the whole scope, personal data included.
        DutyOfficer = "duty_officer",
        /// Community cadre: sees and edits the community and its grids, personal data included.
        CommunityCadre = "community_cadre",
        /// Grid member: sees their grid, personal data included, and reports from the field.
        GridMember = "grid_member",
        /// Department liaison: manages their department's data across the area; sees restricted data in scope.
        DepartmentLiaison = "department_liaison",
        /// Volunteer: public data, their own record and their organization's internal data.
        Volunteer = "volunteer",
        /// Enterprise contact: public data and their own enterprise's records.
        Enterprise = "enterprise",
        /// Auditor: reads everything up to restricted, and the audit log; changes nothing.
        Auditor = "auditor",
        /// Hotline operator (12345 and the like): imports the hotline's tickets as reports and follows the incidents
        /// they became, inside its scope.
        HotlineOperator = "hotline_operator",
    }
}

coded_enum! {
    /// The kinds of things access is decided for.
    ResourceKind, "resource" {
        /// A jurisdiction (its tree position, names and boundary).
        Jurisdiction = "jurisdiction",
        /// An organization.
        Organization = "organization",
        /// A member (a person with roles).
        Member = "member",
        /// A team.
        Team = "team",
        /// A login account and its role grants.
        Account = "account",
        /// An API token.
        ApiToken = "api_token",
        /// The audit log.
        AuditLog = "audit_log",
        /// An event of the live event stream.
        Event = "event",
        /// A map layer and its features.
        Layer = "layer",
        /// A warning (drafts are internal; issued public warnings are public).
        Warning = "warning",
        /// A registered household and its place on the vulnerable-resident register (personal data).
        Household = "household",
        /// A task with an owner and a deadline (door-knocks, plan actions).
        Task = "task",
        /// A report of something happening, from any channel (the reporter's contact is personal data).
        Report = "report",
        /// An incident: one real event, whatever number of reports it came from.
        Incident = "incident",
        /// An emergency plan (预案).
        Plan = "plan",
        /// A sensor and its readings.
        Sensor = "sensor",
        /// A monitoring rule.
        Rule = "rule",
        /// A hotline's ticket feed: importing its tickets as reports on the `hotline` channel.
        Hotline = "hotline",
    }
}

/// What is being attempted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Action {
    /// See it.
    Read,
    /// Make a new one (the resource describes where it will live).
    Create,
    /// Change it.
    Update,
    /// Remove it.
    Delete,
}

impl Action {
    /// The stable code.
    pub fn code(self) -> &'static str {
        match self {
            Action::Read => "read",
            Action::Create => "create",
            Action::Update => "update",
            Action::Delete => "delete",
        }
    }
}

/// One role held by an account, with its scope.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Grant {
    /// The role.
    pub role: AccountRole,
    /// The jurisdiction subtree the role covers; `None` for roles that are global (admin, auditor) or that are
    /// scoped by organization only.
    pub scope: Option<JurisdictionPath>,
    /// The organization the role acts for (a liaison's department, an enterprise, a volunteer's team).
    pub organization: Option<OrganizationId>,
}

/// Who is asking: an account with its grants, or the anonymous public.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Subject {
    /// The account, if signed in.
    pub account: Option<AccountId>,
    /// The member record of the person behind the account, if linked.
    pub member: Option<MemberId>,
    /// The roles held.
    pub grants: Vec<Grant>,
}

impl Subject {
    /// The anonymous public.
    pub fn anonymous() -> Subject {
        Subject::default()
    }

    /// Whether the subject has signed in.
    pub fn is_authenticated(&self) -> bool {
        self.account.is_some()
    }

    /// Whether the subject holds `role` in any scope.
    pub fn has_role(&self, role: AccountRole) -> bool {
        self.grants.iter().any(|grant| grant.role == role)
    }
}

/// What access is decided for: the kind of thing, where it lives, who owns it, whom it is about, and how it is
/// classified.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resource<'a> {
    /// The kind of thing.
    pub kind: ResourceKind,
    /// The jurisdiction it belongs to. For creating a jurisdiction, its parent; for a root jurisdiction, `None`.
    pub jurisdiction: Option<&'a JurisdictionPath>,
    /// The organization that owns it, if any.
    pub organization: Option<OrganizationId>,
    /// The member it is about, if it is a person's data.
    pub member: Option<MemberId>,
    /// The account it is about, for accounts and API tokens.
    pub account: Option<AccountId>,
    /// How it is classified.
    pub classification: Classification,
}

impl<'a> Resource<'a> {
    /// A resource of `kind` with `classification`, belonging nowhere in particular.
    pub fn new(kind: ResourceKind, classification: Classification) -> Resource<'a> {
        Resource { kind, jurisdiction: None, organization: None, member: None, account: None, classification }
    }

    /// The same resource, placed in `jurisdiction`.
    pub fn in_jurisdiction(mut self, jurisdiction: &'a JurisdictionPath) -> Resource<'a> {
        self.jurisdiction = Some(jurisdiction);
        self
    }

    /// The same resource, placed in `jurisdiction` if there is one.
    pub fn in_optional_jurisdiction(mut self, jurisdiction: Option<&'a JurisdictionPath>) -> Resource<'a> {
        self.jurisdiction = jurisdiction;
        self
    }

    /// The same resource, owned by `organization`.
    pub fn owned_by(mut self, organization: Option<OrganizationId>) -> Resource<'a> {
        self.organization = organization;
        self
    }

    /// The same resource, about `member`.
    pub fn about_member(mut self, member: MemberId) -> Resource<'a> {
        self.member = Some(member);
        self
    }

    /// The same resource, about `account`.
    pub fn about_account(mut self, account: AccountId) -> Resource<'a> {
        self.account = Some(account);
        self
    }

    /// The same resource with another classification (to ask about a record's confidential fields).
    pub fn classified(mut self, classification: Classification) -> Resource<'a> {
        self.classification = classification;
        self
    }
}

/// Why access was refused. The order is from least to most specific; when several grants refuse, the most
/// specific reason is reported.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum DenyReason {
    /// Nobody without an account may do this: sign in.
    SignInRequired,
    /// None of the subject's roles may do this to this kind of thing.
    NotPermitted,
    /// A role may do this, but not here: the thing is outside its scope.
    OutOfScope,
    /// A role may do this here, but not at this classification.
    NotCleared,
}

impl DenyReason {
    /// The stable code.
    pub fn code(self) -> &'static str {
        match self {
            DenyReason::SignInRequired => "sign_in_required",
            DenyReason::NotPermitted => "not_permitted",
            DenyReason::OutOfScope => "out_of_scope",
            DenyReason::NotCleared => "not_cleared",
        }
    }
}

/// The answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// Go ahead.
    Allow,
    /// Refused, and why.
    Deny(DenyReason),
}

impl Decision {
    /// Whether access is allowed.
    pub fn is_allowed(self) -> bool {
        matches!(self, Decision::Allow)
    }
}

/// What a role may do inside its scope.
struct Capability {
    /// The highest classification the role may read inside its scope.
    read_clearance: Option<Classification>,
    /// The kinds the role may create, update and delete inside its scope.
    writes: &'static [ResourceKind],
}

const REGISTRY: &[ResourceKind] = &[
    ResourceKind::Jurisdiction,
    ResourceKind::Organization,
    ResourceKind::Member,
    ResourceKind::Team,
    ResourceKind::Layer,
    ResourceKind::Warning,
    ResourceKind::Household,
    ResourceKind::Task,
    ResourceKind::Report,
    ResourceKind::Incident,
];
/// A hotline operator files the reports its callers make.
const HOTLINE: &[ResourceKind] = &[ResourceKind::Report];
/// A grid member keeps the household register of their grid and works the tasks there.
const FIELD: &[ResourceKind] = &[ResourceKind::Household, ResourceKind::Task, ResourceKind::Report];
const PEOPLE: &[ResourceKind] =
    &[ResourceKind::Organization, ResourceKind::Member, ResourceKind::Team, ResourceKind::Layer, ResourceKind::Task];

/// Kinds whose records are placed in the jurisdiction tree, and so can be in a role's jurisdiction scope.
fn is_placed(kind: ResourceKind) -> bool {
    matches!(
        kind,
        ResourceKind::Jurisdiction
            | ResourceKind::Organization
            | ResourceKind::Member
            | ResourceKind::Team
            | ResourceKind::Event
            | ResourceKind::Warning
            | ResourceKind::Household
            | ResourceKind::Task
            | ResourceKind::Report
            | ResourceKind::Incident
    )
}

/// The capability a role has over things inside its jurisdiction scope.
fn scope_capability(role: AccountRole) -> Capability {
    match role {
        AccountRole::Admin => Capability { read_clearance: Some(Classification::Confidential), writes: REGISTRY },
        AccountRole::DutyOfficer | AccountRole::CommunityCadre => {
            Capability { read_clearance: Some(Classification::Confidential), writes: REGISTRY }
        }
        AccountRole::GridMember => Capability { read_clearance: Some(Classification::Confidential), writes: FIELD },
        AccountRole::DepartmentLiaison => Capability { read_clearance: Some(Classification::Restricted), writes: &[] },
        AccountRole::Auditor => Capability { read_clearance: Some(Classification::Restricted), writes: &[] },
        AccountRole::HotlineOperator => Capability { read_clearance: Some(Classification::Internal), writes: HOTLINE },
        AccountRole::Volunteer | AccountRole::Enterprise => Capability { read_clearance: None, writes: &[] },
    }
}

/// The capability a role has over things its organization owns.
fn organization_capability(role: AccountRole) -> Capability {
    match role {
        AccountRole::DepartmentLiaison => Capability { read_clearance: Some(Classification::Confidential), writes: PEOPLE },
        AccountRole::Enterprise => Capability { read_clearance: Some(Classification::Internal), writes: PEOPLE },
        AccountRole::Volunteer => Capability { read_clearance: Some(Classification::Internal), writes: &[] },
        _ => Capability { read_clearance: None, writes: &[] },
    }
}

/// Whether a grant's scope covers the resource. Admins and auditors cover everything.
fn in_scope(grant: &Grant, resource: &Resource<'_>) -> bool {
    match grant.role {
        AccountRole::Admin | AccountRole::Auditor => true,
        _ => match (&grant.scope, resource.jurisdiction) {
            (Some(scope), Some(place)) => is_placed(resource.kind) && scope.contains(place),
            _ => false,
        },
    }
}

/// People in a community must be able to reach the departments and offices above them at 3 a.m., and to see the
/// shared map layers of their district or city: any scoped role cleared for internal data may read the internal
/// data of organizations (their contacts) and of map layers placed at or above its scope.
fn sees_upward(grant: &Grant, action: Action, resource: &Resource<'_>) -> bool {
    action == Action::Read
        && matches!(resource.kind, ResourceKind::Organization | ResourceKind::Layer)
        && resource.classification <= Classification::Internal
        && scope_capability(grant.role).read_clearance.is_some_and(|clearance| clearance >= Classification::Internal)
        && matches!((&grant.scope, resource.jurisdiction), (Some(scope), Some(place)) if place.contains(scope))
}

/// For writes to jurisdictions, a scoped role may change only what lies strictly below its scope's root (a
/// community cadre edits the community's grids, not the community's own boundary), and may create children of
/// any jurisdiction in its scope.
fn jurisdiction_write_allowed(grant: &Grant, action: Action, resource: &Resource<'_>) -> bool {
    if grant.role == AccountRole::Admin || resource.kind != ResourceKind::Jurisdiction || action == Action::Create {
        return true;
    }
    match (&grant.scope, resource.jurisdiction) {
        (Some(scope), Some(place)) => place != scope,
        _ => false,
    }
}

fn check_capability(capability: &Capability, action: Action, resource: &Resource<'_>) -> Result<(), DenyReason> {
    match action {
        Action::Read => match capability.read_clearance {
            Some(clearance) if resource.classification <= clearance => Ok(()),
            Some(_) => Err(DenyReason::NotCleared),
            None => Err(DenyReason::NotPermitted),
        },
        Action::Create | Action::Update | Action::Delete => {
            if capability.writes.contains(&resource.kind) {
                Ok(())
            } else {
                Err(DenyReason::NotPermitted)
            }
        }
    }
}

/// What one grant says about the request.
fn grant_decision(grant: &Grant, action: Action, resource: &Resource<'_>) -> Result<(), DenyReason> {
    // Accounts, tokens and the audit log are governed by their own rules, not by jurisdiction scope.
    match resource.kind {
        ResourceKind::Account | ResourceKind::ApiToken => {
            return if grant.role == AccountRole::Admin || (grant.role == AccountRole::Auditor && action == Action::Read) {
                Ok(())
            } else {
                Err(DenyReason::NotPermitted)
            };
        }
        ResourceKind::AuditLog => {
            return if action == Action::Read && matches!(grant.role, AccountRole::Admin | AccountRole::Auditor) {
                Ok(())
            } else {
                Err(DenyReason::NotPermitted)
            };
        }
        // A hotline's tickets come in as one file of many places: importing them is the work of hotline operators,
        // and of the duty officers and administrators who stand in for them.
        ResourceKind::Hotline => {
            return if action == Action::Create
                && matches!(grant.role, AccountRole::Admin | AccountRole::DutyOfficer | AccountRole::HotlineOperator)
            {
                Ok(())
            } else {
                Err(DenyReason::NotPermitted)
            };
        }
        // Plans are the deployment's shared documents: everyone signed in reads them; administrators and duty
        // officers write them.
        ResourceKind::Plan => {
            return if action == Action::Read || matches!(grant.role, AccountRole::Admin | AccountRole::DutyOfficer) {
                Ok(())
            } else {
                Err(DenyReason::NotPermitted)
            };
        }
        _ => {}
    }

    let mut best = Err(DenyReason::NotPermitted);
    let mut consider = |outcome: Result<(), DenyReason>| {
        best = match (best, outcome) {
            (Ok(()), _) | (_, Ok(())) => Ok(()),
            (Err(a), Err(b)) => Err(a.max(b)),
        };
    };

    // Through the organization the grant acts for.
    if let Some(organization) = grant.organization {
        let capability = organization_capability(grant.role);
        if resource.organization == Some(organization) {
            consider(check_capability(&capability, action, resource));
        } else if check_capability(&capability, action, &resource.clone().classified(Classification::Public)).is_ok() {
            consider(Err(DenyReason::OutOfScope));
        }
    }

    if sees_upward(grant, action, resource) {
        consider(Ok(()));
    }

    // Through the jurisdiction scope.
    let capability = scope_capability(grant.role);
    let could_act = check_capability(&capability, action, &resource.clone().classified(Classification::Public)).is_ok();
    if in_scope(grant, resource) {
        let outcome = check_capability(&capability, action, resource);
        if outcome.is_ok() && action != Action::Read && !jurisdiction_write_allowed(grant, action, resource) {
            consider(Err(DenyReason::OutOfScope));
        } else {
            consider(outcome);
        }
    } else if could_act {
        consider(Err(DenyReason::OutOfScope));
    }
    best
}

/// Self-service: a person's own member record, account and tokens.
fn self_access(subject: &Subject, action: Action, resource: &Resource<'_>) -> bool {
    let own_member = subject.member.is_some() && resource.member == subject.member;
    let own_account = subject.account.is_some() && resource.account == subject.account;
    match resource.kind {
        ResourceKind::Member => own_member && matches!(action, Action::Read | Action::Update),
        ResourceKind::Account => own_account && matches!(action, Action::Read | Action::Update),
        ResourceKind::ApiToken => own_account,
        // The owner of a task reports on it wherever it is.
        ResourceKind::Task => own_member && matches!(action, Action::Read | Action::Update),
        // Anyone signed in may report what they see, anywhere (the public reports through the open channels).
        ResourceKind::Report => action == Action::Create,
        _ => false,
    }
}

/// Kinds whose public-classified records anyone may read.
fn publicly_readable(kind: ResourceKind) -> bool {
    matches!(
        kind,
        ResourceKind::Jurisdiction
            | ResourceKind::Organization
            | ResourceKind::Team
            | ResourceKind::Event
            | ResourceKind::Layer
            | ResourceKind::Warning
    )
}

/// Decides whether `subject` may perform `action` on `resource`.
pub fn decide(subject: &Subject, action: Action, resource: &Resource<'_>) -> Decision {
    if action == Action::Read && resource.classification == Classification::Public && publicly_readable(resource.kind) {
        return Decision::Allow;
    }
    if !subject.is_authenticated() {
        return Decision::Deny(DenyReason::SignInRequired);
    }
    if self_access(subject, action, resource) {
        return Decision::Allow;
    }
    let mut reason = DenyReason::NotPermitted;
    for grant in &subject.grants {
        match grant_decision(grant, action, resource) {
            Ok(()) => return Decision::Allow,
            Err(denied) => reason = reason.max(denied),
        }
    }
    Decision::Deny(reason)
}

/// Which records of a kind and classification a subject may read, as a filter a store can apply to a list
/// query. [`ReadFilter::matches`] agrees with [`decide`] for `Action::Read` (a property test checks it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReadFilter {
    /// Every record.
    Everything,
    /// Records in any of the subtrees, placed at or above one of the `ancestors_of` scopes, owned by any of the
    /// organizations, or about the member.
    Some {
        /// Jurisdiction subtrees.
        subtrees: Vec<JurisdictionPath>,
        /// Scopes whose ancestors (and themselves) are visible too.
        ancestors_of: Vec<JurisdictionPath>,
        /// Owning organizations.
        organizations: Vec<OrganizationId>,
        /// The subject's own member record.
        member: Option<MemberId>,
        /// The subject's own account.
        account: Option<AccountId>,
    },
}

impl ReadFilter {
    /// Whether the filter admits `resource`.
    pub fn matches(&self, resource: &Resource<'_>) -> bool {
        match self {
            ReadFilter::Everything => true,
            ReadFilter::Some { subtrees, ancestors_of, organizations, member, account } => {
                resource.jurisdiction.is_some_and(|place| subtrees.iter().any(|scope| scope.contains(place)))
                    || resource.jurisdiction.is_some_and(|place| ancestors_of.iter().any(|scope| place.contains(scope)))
                    || resource.organization.is_some_and(|owner| organizations.contains(&owner))
                    || (member.is_some() && resource.member == *member)
                    || (account.is_some() && resource.account == *account)
            }
        }
    }

    /// Whether the filter admits nothing at all.
    pub fn is_nothing(&self) -> bool {
        matches!(self, ReadFilter::Some { subtrees, ancestors_of, organizations, member: None, account: None }
            if subtrees.is_empty() && ancestors_of.is_empty() && organizations.is_empty())
    }
}

/// The records of `kind` at `classification` that `subject` may read.
pub fn read_filter(subject: &Subject, kind: ResourceKind, classification: Classification) -> ReadFilter {
    if classification == Classification::Public && publicly_readable(kind) {
        return ReadFilter::Everything;
    }
    if !subject.is_authenticated() {
        return ReadFilter::Some { subtrees: Vec::new(), ancestors_of: Vec::new(), organizations: Vec::new(), member: None, account: None };
    }
    if kind == ResourceKind::Plan && !subject.grants.is_empty() {
        return ReadFilter::Everything;
    }
    let probe = Resource::new(kind, classification);
    let mut subtrees = Vec::new();
    let mut ancestors_of = Vec::new();
    let mut organizations = Vec::new();
    for grant in &subject.grants {
        let global_probe = Resource { jurisdiction: None, ..probe.clone() };
        if matches!(grant.role, AccountRole::Admin | AccountRole::Auditor) && grant_decision(grant, Action::Read, &global_probe).is_ok() {
            return ReadFilter::Everything;
        }
        if let Some(scope) = &grant.scope {
            let placed = probe.clone().in_jurisdiction(scope);
            if is_placed(kind) && check_capability(&scope_capability(grant.role), Action::Read, &placed).is_ok() {
                subtrees.push(scope.clone());
            }
            if sees_upward(grant, Action::Read, &placed) {
                ancestors_of.push(scope.clone());
            }
        }
        if let Some(organization) = grant.organization {
            let owned = probe.clone().owned_by(Some(organization));
            if !matches!(kind, ResourceKind::Account | ResourceKind::ApiToken | ResourceKind::AuditLog | ResourceKind::Hotline)
                && check_capability(&organization_capability(grant.role), Action::Read, &owned).is_ok()
            {
                organizations.push(organization);
            }
        }
    }
    let member = if matches!(kind, ResourceKind::Member | ResourceKind::Task) { subject.member } else { None };
    let account = if matches!(kind, ResourceKind::Account | ResourceKind::ApiToken) { subject.account } else { None };
    ReadFilter::Some { subtrees, ancestors_of, organizations, member, account }
}
