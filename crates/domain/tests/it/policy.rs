//! Table-driven tests of the authorization policy, and a property test that the list filter agrees with the
//! decision function.

use domain::Classification::{self, Confidential, Internal, Public, Restricted};
use domain::ids::{AccountId, JurisdictionId, MemberId, OrganizationId};
use domain::policy::{AccountRole, Action, Decision, DenyReason, Grant, Resource, ResourceKind, Subject, decide, read_filter};
use domain::registry::JurisdictionPath;
use proptest::prelude::*;

/// The test tree: city 1 › district 2 › sub-district 3 › communities A (4) and B (5); grid A1 (6) under A.
struct Tree {
    city: JurisdictionPath,
    sub_district: JurisdictionPath,
    community_a: JurisdictionPath,
    community_b: JurisdictionPath,
    grid_a1: JurisdictionPath,
}

fn tree() -> Tree {
    let city = JurisdictionPath::root(JurisdictionId(1));
    let district = city.child(JurisdictionId(2));
    let sub_district = district.child(JurisdictionId(3));
    let community_a = sub_district.child(JurisdictionId(4));
    let community_b = sub_district.child(JurisdictionId(5));
    let grid_a1 = community_a.child(JurisdictionId(6));
    Tree { city, sub_district, community_a, community_b, grid_a1 }
}

const WATER_DEPT: OrganizationId = OrganizationId(10);
const HEALTH_DEPT: OrganizationId = OrganizationId(11);

fn subject(account: i64, member: Option<i64>, grants: Vec<Grant>) -> Subject {
    Subject { account: Some(AccountId(account)), member: member.map(MemberId), grants }
}

fn grant(role: AccountRole, scope: Option<&JurisdictionPath>, organization: Option<OrganizationId>) -> Grant {
    Grant { role, scope: scope.cloned(), organization }
}

fn check(who: &Subject, action: Action, resource: Resource<'_>, expected: Result<(), DenyReason>) {
    let decision = decide(who, action, &resource);
    let expected = match expected {
        Ok(()) => Decision::Allow,
        Err(reason) => Decision::Deny(reason),
    };
    assert_eq!(decision, expected, "{action:?} on {resource:?} by {who:?}");
}

fn member_in<'a>(place: &'a JurisdictionPath, member: i64, classification: Classification) -> Resource<'a> {
    Resource::new(ResourceKind::Member, classification).in_jurisdiction(place).about_member(MemberId(member))
}

#[test]
fn community_cadre_is_confined_to_their_community() {
    let t = tree();
    let cadre_a = subject(1, Some(100), vec![grant(AccountRole::CommunityCadre, Some(&t.community_a), None)]);
    use Action::*;
    // Their own community and its grids: everything, personal data included.
    check(&cadre_a, Read, member_in(&t.community_a, 7, Internal), Ok(()));
    check(&cadre_a, Read, member_in(&t.grid_a1, 7, Confidential), Ok(()));
    check(&cadre_a, Update, member_in(&t.grid_a1, 7, Internal), Ok(()));
    check(&cadre_a, Create, member_in(&t.community_a, 7, Internal), Ok(()));
    check(&cadre_a, Delete, member_in(&t.community_a, 7, Internal), Ok(()));
    // Community B: nothing beyond public data.
    check(&cadre_a, Read, member_in(&t.community_b, 8, Internal), Err(DenyReason::OutOfScope));
    check(&cadre_a, Read, member_in(&t.community_b, 8, Confidential), Err(DenyReason::OutOfScope));
    check(&cadre_a, Update, member_in(&t.community_b, 8, Internal), Err(DenyReason::OutOfScope));
    check(&cadre_a, Create, member_in(&t.community_b, 8, Internal), Err(DenyReason::OutOfScope));
    // Nor upwards: the sub-district's own records.
    check(&cadre_a, Read, member_in(&t.sub_district, 9, Internal), Err(DenyReason::OutOfScope));
    // Jurisdictions: may add and edit grids, not change the community itself or its neighbours.
    let jurisdiction = |place| Resource::new(ResourceKind::Jurisdiction, Public).in_jurisdiction(place);
    check(&cadre_a, Create, jurisdiction(&t.community_a), Ok(()));
    check(&cadre_a, Update, jurisdiction(&t.grid_a1), Ok(()));
    check(&cadre_a, Update, jurisdiction(&t.community_a), Err(DenyReason::OutOfScope));
    check(&cadre_a, Update, jurisdiction(&t.community_b), Err(DenyReason::OutOfScope));
    check(&cadre_a, Read, jurisdiction(&t.community_b), Ok(()));
    // No account administration, no audit log.
    check(&cadre_a, Create, Resource::new(ResourceKind::Account, Internal), Err(DenyReason::NotPermitted));
    check(&cadre_a, Read, Resource::new(ResourceKind::AuditLog, Restricted), Err(DenyReason::NotPermitted));
}

#[test]
fn duty_officer_covers_the_sub_district() {
    let t = tree();
    let officer = subject(2, None, vec![grant(AccountRole::DutyOfficer, Some(&t.sub_district), None)]);
    check(&officer, Action::Read, member_in(&t.community_b, 8, Confidential), Ok(()));
    check(&officer, Action::Update, member_in(&t.grid_a1, 7, Internal), Ok(()));
    check(&officer, Action::Read, member_in(&t.city, 1, Internal), Err(DenyReason::OutOfScope));
    let sub_district = Resource::new(ResourceKind::Jurisdiction, Public).in_jurisdiction(&t.sub_district);
    check(&officer, Action::Update, sub_district.clone(), Err(DenyReason::OutOfScope));
    check(&officer, Action::Create, sub_district, Ok(()));
}

#[test]
fn grid_member_reads_their_grid_but_changes_nothing() {
    let t = tree();
    let grid_member = subject(3, Some(300), vec![grant(AccountRole::GridMember, Some(&t.grid_a1), None)]);
    check(&grid_member, Action::Read, member_in(&t.grid_a1, 7, Confidential), Ok(()));
    check(&grid_member, Action::Read, member_in(&t.community_a, 7, Internal), Err(DenyReason::OutOfScope));
    check(&grid_member, Action::Update, member_in(&t.grid_a1, 7, Internal), Err(DenyReason::NotPermitted));
    // Their own record, personal data included, and updates to it.
    check(&grid_member, Action::Read, member_in(&t.grid_a1, 300, Confidential), Ok(()));
    check(&grid_member, Action::Update, member_in(&t.grid_a1, 300, Internal), Ok(()));
    check(&grid_member, Action::Delete, member_in(&t.grid_a1, 300, Internal), Err(DenyReason::NotPermitted));
}

#[test]
fn department_liaison_manages_their_department_across_the_area() {
    let t = tree();
    let liaison = subject(4, None, vec![grant(AccountRole::DepartmentLiaison, Some(&t.sub_district), Some(WATER_DEPT))]);
    let water_member = |place| member_in(place, 20, Confidential).owned_by(Some(WATER_DEPT));
    let health_member = |place| member_in(place, 21, Confidential).owned_by(Some(HEALTH_DEPT));
    check(&liaison, Action::Read, water_member(&t.community_a), Ok(()));
    check(&liaison, Action::Update, water_member(&t.community_b), Ok(()));
    check(&liaison, Action::Read, water_member(&t.city), Ok(()));
    // Another department's people: restricted data in scope, never confidential, never writes.
    check(&liaison, Action::Read, health_member(&t.community_a).classified(Restricted), Ok(()));
    check(&liaison, Action::Read, health_member(&t.community_a), Err(DenyReason::NotCleared));
    check(&liaison, Action::Update, health_member(&t.community_a), Err(DenyReason::OutOfScope));
    check(&liaison, Action::Read, health_member(&t.city).classified(Internal), Err(DenyReason::OutOfScope));
}

#[test]
fn the_public_sees_public_data_only() {
    let t = tree();
    let public = Subject::anonymous();
    check(&public, Action::Read, Resource::new(ResourceKind::Jurisdiction, Public).in_jurisdiction(&t.community_a), Ok(()));
    check(&public, Action::Read, Resource::new(ResourceKind::Organization, Public), Ok(()));
    check(&public, Action::Read, member_in(&t.community_a, 7, Internal), Err(DenyReason::SignInRequired));
    check(&public, Action::Read, member_in(&t.community_a, 7, Confidential), Err(DenyReason::SignInRequired));
    check(&public, Action::Read, member_in(&t.community_a, 7, Public), Err(DenyReason::SignInRequired));
    check(&public, Action::Create, Resource::new(ResourceKind::Organization, Public), Err(DenyReason::SignInRequired));
    // A signed-in account without roles is no better off, except for its own records.
    let nobody = subject(9, Some(900), vec![]);
    check(&nobody, Action::Read, member_in(&t.community_a, 7, Internal), Err(DenyReason::NotPermitted));
    check(&nobody, Action::Read, member_in(&t.community_a, 900, Confidential), Ok(()));
    check(&nobody, Action::Create, Resource::new(ResourceKind::ApiToken, Internal).about_account(AccountId(9)), Ok(()));
    check(
        &nobody,
        Action::Delete,
        Resource::new(ResourceKind::ApiToken, Internal).about_account(AccountId(8)),
        Err(DenyReason::NotPermitted),
    );
}

#[test]
fn volunteers_and_enterprises_see_their_own_organization() {
    let t = tree();
    let team = OrganizationId(30);
    let volunteer = subject(5, Some(500), vec![grant(AccountRole::Volunteer, None, Some(team))]);
    let teammate = member_in(&t.community_a, 501, Internal).owned_by(Some(team));
    check(&volunteer, Action::Read, teammate.clone(), Ok(()));
    check(&volunteer, Action::Read, teammate.clone().classified(Confidential), Err(DenyReason::NotCleared));
    check(&volunteer, Action::Update, teammate, Err(DenyReason::NotPermitted));
    check(&volunteer, Action::Read, member_in(&t.community_a, 502, Internal), Err(DenyReason::OutOfScope));
    let company = OrganizationId(40);
    let enterprise = subject(6, None, vec![grant(AccountRole::Enterprise, None, Some(company))]);
    check(&enterprise, Action::Update, Resource::new(ResourceKind::Organization, Internal).owned_by(Some(company)), Ok(()));
    check(
        &enterprise,
        Action::Update,
        Resource::new(ResourceKind::Organization, Internal).owned_by(Some(team)),
        Err(DenyReason::OutOfScope),
    );
}

#[test]
fn admins_do_everything_and_auditors_only_read() {
    let t = tree();
    let admin = subject(7, None, vec![grant(AccountRole::Admin, None, None)]);
    let auditor = subject(8, None, vec![grant(AccountRole::Auditor, None, None)]);
    for action in [Action::Read, Action::Create, Action::Update, Action::Delete] {
        check(
            &admin,
            action,
            member_in(&t.community_b, 8, Confidential).classified(if action == Action::Read { Confidential } else { Internal }),
            Ok(()),
        );
        check(&admin, action, Resource::new(ResourceKind::Account, Internal), Ok(()));
    }
    check(&admin, Action::Update, Resource::new(ResourceKind::Jurisdiction, Public).in_jurisdiction(&t.city), Ok(()));
    check(&auditor, Action::Read, Resource::new(ResourceKind::AuditLog, Restricted), Ok(()));
    check(&auditor, Action::Read, member_in(&t.community_b, 8, Restricted), Ok(()));
    check(&auditor, Action::Read, member_in(&t.community_b, 8, Confidential), Err(DenyReason::NotCleared));
    check(&auditor, Action::Update, member_in(&t.community_b, 8, Internal), Err(DenyReason::NotPermitted));
}

#[test]
fn only_hotline_operators_duty_officers_and_admins_import_hotline_tickets() {
    let t = tree();
    let hotline = Resource::new(ResourceKind::Hotline, Internal);
    let operator = subject(20, None, vec![grant(AccountRole::HotlineOperator, Some(&t.sub_district), Some(OrganizationId(30)))]);
    check(&operator, Action::Create, hotline.clone(), Ok(()));
    check(&subject(21, None, vec![grant(AccountRole::DutyOfficer, Some(&t.sub_district), None)]), Action::Create, hotline.clone(), Ok(()));
    check(&subject(22, None, vec![grant(AccountRole::Admin, None, None)]), Action::Create, hotline.clone(), Ok(()));
    for role in
        [AccountRole::CommunityCadre, AccountRole::GridMember, AccountRole::Volunteer, AccountRole::Enterprise, AccountRole::Auditor]
    {
        check(
            &subject(23, None, vec![grant(role, Some(&t.community_a), None)]),
            Action::Create,
            hotline.clone(),
            Err(DenyReason::NotPermitted),
        );
    }
    // A resident's account holds no role at all; the public cannot even try.
    check(&subject(24, None, vec![]), Action::Create, hotline.clone(), Err(DenyReason::NotPermitted));
    check(&Subject::anonymous(), Action::Create, hotline, Err(DenyReason::SignInRequired));
    // The operator reads the incidents of its scope (to answer callers), not their personal data, and changes none.
    let incident = |classification| Resource::new(ResourceKind::Incident, classification).in_jurisdiction(&t.community_a);
    check(&operator, Action::Read, incident(Internal), Ok(()));
    check(&operator, Action::Read, incident(Confidential), Err(DenyReason::NotCleared));
    check(&operator, Action::Update, incident(Internal), Err(DenyReason::NotPermitted));
    check(&operator, Action::Read, incident(Internal).in_jurisdiction(&t.city), Err(DenyReason::OutOfScope));
}

#[test]
fn a_role_held_twice_unions_its_scopes() {
    let t = tree();
    let cadre_both = subject(
        10,
        None,
        vec![
            grant(AccountRole::CommunityCadre, Some(&t.community_a), None),
            grant(AccountRole::CommunityCadre, Some(&t.community_b), None),
        ],
    );
    check(&cadre_both, Action::Read, member_in(&t.community_a, 1, Confidential), Ok(()));
    check(&cadre_both, Action::Read, member_in(&t.community_b, 1, Confidential), Ok(()));
    check(&cadre_both, Action::Read, member_in(&t.sub_district, 1, Internal), Err(DenyReason::OutOfScope));
}

fn arb_path() -> impl Strategy<Value = Option<JurisdictionPath>> {
    let t = tree();
    prop_oneof![
        Just(None),
        Just(Some(t.city.clone())),
        Just(Some(t.sub_district.clone())),
        Just(Some(t.community_a.clone())),
        Just(Some(t.community_b.clone())),
        Just(Some(t.grid_a1.clone())),
    ]
}

fn arb_org() -> impl Strategy<Value = Option<OrganizationId>> {
    prop_oneof![Just(None), Just(Some(WATER_DEPT)), Just(Some(HEALTH_DEPT))]
}

fn arb_grant() -> impl Strategy<Value = Grant> {
    (proptest::sample::select(AccountRole::ALL.to_vec()), arb_path(), arb_org()).prop_map(|(role, scope, organization)| Grant {
        role,
        scope,
        organization,
    })
}

fn arb_classification() -> impl Strategy<Value = Classification> {
    proptest::sample::select(Classification::ALL.to_vec())
}

proptest! {
    #[test]
    fn read_filter_agrees_with_decide(
        authenticated in any::<bool>(),
        own_member in proptest::option::of(0i64..3),
        grants in proptest::collection::vec(arb_grant(), 0..3),
        kind in proptest::sample::select(ResourceKind::ALL.to_vec()),
        classification in arb_classification(),
        place in arb_path(),
        owner in arb_org(),
        about in proptest::option::of(0i64..3),
        about_account in proptest::option::of(0i64..3),
    ) {
        let who = if authenticated {
            Subject { account: Some(AccountId(1)), member: own_member.map(MemberId), grants }
        } else {
            Subject::anonymous()
        };
        let mut resource = Resource::new(kind, classification).in_optional_jurisdiction(place.as_ref()).owned_by(owner);
        if let Some(member) = about { resource = resource.about_member(MemberId(member)); }
        if let Some(account) = about_account { resource = resource.about_account(AccountId(account)); }
        let allowed = decide(&who, Action::Read, &resource).is_allowed();
        let filtered = read_filter(&who, kind, classification).matches(&resource);
        prop_assert_eq!(allowed, filtered, "subject {:?} resource {:?}", who, resource);
    }
}
