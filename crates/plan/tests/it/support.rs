//! The reference registry the shipped plans are linted and activated against: a district of Shanghai with one
//! sub-district, two communities of two grids each, the district's departments, the city's utilities, and the
//! people who hold each role. Names are illustrative; the structure follows DOMAIN.md §2.

use domain::ids::{JurisdictionId, MemberId, OrganizationId};
use domain::incident::SubtypeTable;
use domain::policy::AccountRole;
use domain::registry::{JurisdictionLevel, JurisdictionPath, MemberRole, MemberStatus, OrganizationKind, Sector};
use domain::text::Code;
use plan::{GrantEntry, JurisdictionEntry, MemberEntry, OrganizationEntry, RegistrySnapshot};

pub const CITY: JurisdictionId = JurisdictionId(1);
pub const DISTRICT: JurisdictionId = JurisdictionId(2);
pub const SUB_DISTRICT: JurisdictionId = JurisdictionId(3);
pub const COMMUNITY_1: JurisdictionId = JurisdictionId(4);
pub const COMMUNITY_2: JurisdictionId = JurisdictionId(5);
pub const GRID_1_1: JurisdictionId = JurisdictionId(6);
pub const GRID_1_2: JurisdictionId = JurisdictionId(7);
pub const GRID_2_1: JurisdictionId = JurisdictionId(8);
pub const GRID_2_2: JurisdictionId = JurisdictionId(9);

/// The member ids the tests look for.
pub const DUTY_OFFICER: MemberId = MemberId(1);
pub const CADRE_1: MemberId = MemberId(50);
pub const GRID_MEMBER_1_1: MemberId = MemberId(60);

/// Organization ids the tests look for.
pub const DISTRICT_WATER: OrganizationId = OrganizationId(2);
pub const DISTRICT_HEALTH: OrganizationId = OrganizationId(6);
pub const SUB_DISTRICT_OFFICE: OrganizationId = OrganizationId(20);
pub const POLICE_STATION: OrganizationId = OrganizationId(21);
pub const FIRE_STATION: OrganizationId = OrganizationId(22);
pub const HEALTH_CENTRE: OrganizationId = OrganizationId(23);
pub const COMMITTEE_2: OrganizationId = OrganizationId(31);
pub const CITY_GAS: OrganizationId = OrganizationId(13);

fn code(text: &str) -> Code {
    Code::parse("code", text).unwrap()
}

fn jurisdiction(
    id: i64,
    parent: Option<&JurisdictionEntry>,
    level: JurisdictionLevel,
    code_text: &str,
    zh: &str,
    en: &str,
) -> JurisdictionEntry {
    let id = JurisdictionId(id);
    let path = match parent {
        Some(parent) => parent.path.child(id),
        None => JurisdictionPath::root(id),
    };
    JurisdictionEntry { id, code: code(code_text), level, path, name_zh: zh.into(), name_en: Some(en.into()) }
}

fn organization(
    id: i64,
    code_text: &str,
    kind: OrganizationKind,
    sector: Option<Sector>,
    jurisdiction: JurisdictionId,
    parent: Option<i64>,
) -> OrganizationEntry {
    OrganizationEntry { id: OrganizationId(id), code: code(code_text), kind, sector, jurisdiction, parent: parent.map(OrganizationId) }
}

fn member(id: i64, jurisdiction: JurisdictionId, organization: Option<i64>, roles: &[MemberRole]) -> MemberEntry {
    MemberEntry {
        id: MemberId(id),
        jurisdiction,
        organization: organization.map(OrganizationId),
        roles: roles.to_vec(),
        grants: Vec::new(),
        status: MemberStatus::Active,
    }
}

fn granted(mut member: MemberEntry, role: AccountRole, scope: JurisdictionId) -> MemberEntry {
    member.grants.push(GrantEntry { role, scope: Some(scope) });
    member
}

pub fn registry() -> RegistrySnapshot {
    use JurisdictionLevel::*;
    use MemberRole::*;
    use OrganizationKind::*;
    let city = jurisdiction(1, None, City, "310000", "上海市", "Shanghai");
    let district = jurisdiction(2, Some(&city), District, "310104", "徐汇区", "Xuhui District");
    let sub_district = jurisdiction(3, Some(&district), SubDistrict, "310104011", "徐家汇街道", "Xujiahui Sub-district");
    let community_1 = jurisdiction(4, Some(&sub_district), Community, "310104011001", "汇翠社区", "Huicui Community");
    let community_2 = jurisdiction(5, Some(&sub_district), Community, "310104011002", "乐山社区", "Leshan Community");
    let grids = [
        jurisdiction(6, Some(&community_1), Grid, "310104011001-01", "汇翠一网格", "Huicui grid 1"),
        jurisdiction(7, Some(&community_1), Grid, "310104011001-02", "汇翠二网格", "Huicui grid 2"),
        jurisdiction(8, Some(&community_2), Grid, "310104011002-01", "乐山一网格", "Leshan grid 1"),
        jurisdiction(9, Some(&community_2), Grid, "310104011002-02", "乐山二网格", "Leshan grid 2"),
    ];
    let mut jurisdictions = vec![city, district, sub_district, community_1, community_2];
    jurisdictions.extend(grids);

    let organizations = vec![
        organization(1, "xh-emergency", Department, Some(Sector::EmergencyManagement), DISTRICT, None),
        organization(2, "xh-water", Department, Some(Sector::WaterAffairs), DISTRICT, None),
        organization(3, "xh-meteorology", Department, Some(Sector::Meteorology), DISTRICT, None),
        organization(4, "xh-police", Department, Some(Sector::PublicSecurity), DISTRICT, None),
        organization(5, "xh-fire", RescueTeam, Some(Sector::FireRescue), DISTRICT, None),
        organization(6, "xh-health", Department, Some(Sector::Health), DISTRICT, None),
        organization(7, "xh-cdc", HealthFacility, Some(Sector::Health), DISTRICT, Some(6)),
        organization(8, "xh-housing", Department, Some(Sector::Housing), DISTRICT, None),
        organization(9, "xh-transport", Department, Some(Sector::Transport), DISTRICT, None),
        organization(10, "xh-greening", Department, Some(Sector::Greening), DISTRICT, None),
        organization(11, "xh-civil-affairs", Department, Some(Sector::CivilAffairs), DISTRICT, None),
        organization(12, "xh-market", Department, Some(Sector::MarketRegulation), DISTRICT, None),
        organization(13, "sh-gas", Utility, Some(Sector::Gas), CITY, None),
        organization(14, "sh-power", Utility, Some(Sector::Power), CITY, None),
        organization(15, "sh-water-supply", Utility, Some(Sector::WaterSupply), CITY, None),
        organization(16, "xh-red-cross", Ngo, None, DISTRICT, None),
        organization(20, "xjh-office", GovernmentOffice, Some(Sector::EmergencyManagement), SUB_DISTRICT, None),
        organization(21, "xjh-police-station", Department, Some(Sector::PublicSecurity), SUB_DISTRICT, Some(4)),
        organization(22, "xjh-fire-station", RescueTeam, Some(Sector::FireRescue), SUB_DISTRICT, Some(5)),
        organization(23, "xjh-health-centre", HealthFacility, Some(Sector::Health), SUB_DISTRICT, Some(6)),
        organization(25, "xjh-volunteers", VolunteerTeam, None, SUB_DISTRICT, None),
        organization(26, "xjh-property", PropertyCompany, None, SUB_DISTRICT, None),
        organization(30, "310104011001-rc", ResidentsCommittee, None, COMMUNITY_1, None),
        organization(31, "310104011002-rc", ResidentsCommittee, None, COMMUNITY_2, None),
    ];

    let mut members = vec![
        granted(member(1, SUB_DISTRICT, Some(20), &[DutyOfficer]), AccountRole::DutyOfficer, SUB_DISTRICT),
        {
            let mut off_shift = granted(member(2, SUB_DISTRICT, Some(20), &[DutyOfficer]), AccountRole::DutyOfficer, SUB_DISTRICT);
            off_shift.status = MemberStatus::Unavailable;
            off_shift
        },
        member(3, SUB_DISTRICT, Some(20), &[InformationReporter]),
        member(5, SUB_DISTRICT, Some(21), &[Police, Liaison]),
        member(6, SUB_DISTRICT, Some(22), &[Firefighter, Liaison]),
        member(7, SUB_DISTRICT, Some(23), &[Medical, Liaison]),
        member(8, SUB_DISTRICT, Some(25), &[Volunteer]),
        member(9, COMMUNITY_1, Some(26), &[PropertyStaff]),
        member(10, COMMUNITY_2, Some(26), &[PropertyStaff]),
        member(11, SUB_DISTRICT, Some(20), &[DutyOfficer, Liaison]),
    ];
    // One liaison for each district department and city utility.
    for (member_id, organization_id, jurisdiction) in [
        (20, 1, DISTRICT),
        (21, 2, DISTRICT),
        (22, 3, DISTRICT),
        (23, 4, DISTRICT),
        (24, 5, DISTRICT),
        (25, 6, DISTRICT),
        (26, 7, DISTRICT),
        (27, 8, DISTRICT),
        (28, 9, DISTRICT),
        (29, 10, DISTRICT),
        (30, 11, DISTRICT),
        (31, 12, DISTRICT),
        (32, 16, DISTRICT),
        (40, 13, CITY),
        (41, 14, CITY),
        (42, 15, CITY),
    ] {
        members.push(member(member_id, jurisdiction, Some(organization_id), &[Liaison]));
    }
    members.extend([
        granted(member(50, COMMUNITY_1, Some(30), &[Cadre]), AccountRole::CommunityCadre, COMMUNITY_1),
        granted(member(51, COMMUNITY_2, Some(31), &[Cadre]), AccountRole::CommunityCadre, COMMUNITY_2),
        member(52, COMMUNITY_1, None, &[MicroFireStation, FirstResponder]),
        member(53, COMMUNITY_2, None, &[MicroFireStation, FirstResponder]),
        granted(member(60, GRID_1_1, Some(30), &[GridMember]), AccountRole::GridMember, GRID_1_1),
        granted(member(61, GRID_1_2, Some(30), &[GridMember]), AccountRole::GridMember, GRID_1_2),
        granted(member(62, GRID_2_1, Some(31), &[GridMember]), AccountRole::GridMember, GRID_2_1),
        granted(member(63, GRID_2_2, Some(31), &[GridMember]), AccountRole::GridMember, GRID_2_2),
    ]);
    // A grid member who left: never an owner.
    let mut former = member(64, GRID_1_1, Some(30), &[GridMember]);
    former.status = MemberStatus::Inactive;
    members.push(former);
    RegistrySnapshot { jurisdictions, organizations, members }
}

pub fn table() -> SubtypeTable {
    SubtypeTable::builtin()
}

pub fn shipped(name: &str) -> plan::Plan {
    let (_, text) = plan::shipped().iter().find(|(file, _)| *file == name).unwrap_or_else(|| panic!("no shipped plan {name}"));
    plan::parse(text).unwrap_or_else(|error| panic!("{name}: {}", error.message(domain::Locale::En)))
}
