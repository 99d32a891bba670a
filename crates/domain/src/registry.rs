//! The registry: jurisdictions, organizations, members and teams, and the rules that hold between them.

use crate::coded_enum;
use crate::error::{Invalid, InvalidReason};
use crate::ids::JurisdictionId;
use crate::text::{Name, parse_date};

coded_enum! {
    /// The tiers of the jurisdiction tree, from the widest to the narrowest.
    JurisdictionLevel, "level" {
        /// A city or province-level municipality (市).
        City = "city",
        /// A district or county (区/县).
        District = "district",
        /// A sub-district office or township (街道/乡镇).
        SubDistrict = "sub_district",
        /// A residents' or villagers' committee (社区/村).
        Community = "community",
        /// A grid within a community (网格).
        Grid = "grid",
    }
}

impl JurisdictionLevel {
    /// The depth of this level: city 0 … grid 4.
    pub fn rank(self) -> u8 {
        match self {
            JurisdictionLevel::City => 0,
            JurisdictionLevel::District => 1,
            JurisdictionLevel::SubDistrict => 2,
            JurisdictionLevel::Community => 3,
            JurisdictionLevel::Grid => 4,
        }
    }

    /// Checks that a jurisdiction of this level may sit under one of `parent` level (or at the root when
    /// `parent` is `None`). A child must be strictly narrower than its parent; levels may be skipped, because
    /// real boundary data often lacks a tier (districts imported without their city, grids under a sub-district).
    pub fn check_parent(self, parent: Option<JurisdictionLevel>) -> Result<(), Invalid> {
        match parent {
            Some(parent) if parent.rank() >= self.rank() => {
                Err(Invalid::new("parent_id", InvalidReason::BadParentLevel { child: self.code(), parent: parent.code() }))
            }
            _ => Ok(()),
        }
    }
}

/// The position of a jurisdiction in the tree, as the ids from the root down to it: `/1/4/9/`.
/// Scope checks are prefix checks on this path, so they need no database.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct JurisdictionPath(String);

impl JurisdictionPath {
    /// The path of a root jurisdiction.
    pub fn root(id: JurisdictionId) -> JurisdictionPath {
        JurisdictionPath(format!("/{}/", id.0))
    }

    /// The path of a child with id `id` under this path.
    pub fn child(&self, id: JurisdictionId) -> JurisdictionPath {
        JurisdictionPath(format!("{}{}/", self.0, id.0))
    }

    /// Parses a stored path; `None` if it is not of the form `/id/…/id/`.
    pub fn parse(text: &str) -> Option<JurisdictionPath> {
        let inner = text.strip_prefix('/')?.strip_suffix('/')?;
        if inner.is_empty() || !inner.split('/').all(|part| !part.is_empty() && part.bytes().all(|b| b.is_ascii_digit())) {
            return None;
        }
        Some(JurisdictionPath(text.to_string()))
    }

    /// The path as stored text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Whether `other` is this jurisdiction or lies below it.
    pub fn contains(&self, other: &JurisdictionPath) -> bool {
        other.0.starts_with(&self.0)
    }

    /// The ids from the root down to this jurisdiction.
    pub fn ids(&self) -> Vec<JurisdictionId> {
        self.0.split('/').filter(|part| !part.is_empty()).filter_map(|part| part.parse().ok()).map(JurisdictionId).collect()
    }

    /// The paths of this jurisdiction's ancestors and of itself, from the root down.
    pub fn ancestors_and_self(&self) -> Vec<JurisdictionPath> {
        let mut paths = Vec::new();
        let mut current = String::from("/");
        for id in self.ids() {
            current.push_str(&format!("{}/", id.0));
            paths.push(JurisdictionPath(current.clone()));
        }
        paths
    }

    /// The id of the jurisdiction itself.
    pub fn leaf(&self) -> JurisdictionId {
        self.ids().last().copied().unwrap_or(JurisdictionId(0))
    }
}

coded_enum! {
    /// The operating mode of a jurisdiction: the same system runs peacetime and wartime.
    JurisdictionMode, "mode" {
        /// Normal operations: inspections, drills, readiness.
        Peacetime = "peacetime",
        /// A warning is in force: heightened readiness (预警期).
        Heightened = "heightened",
        /// An emergency plan is active: response (应急响应).
        Emergency = "emergency",
    }
}

coded_enum! {
    /// What kind of body an organization is (see DOMAIN.md §2.2 and ERL Arts. 6, 22, 39).
    OrganizationKind, "org_kind" {
        /// A government office: the sub-district office or a town government (街道办事处).
        GovernmentOffice = "government_office",
        /// A functional department: health, emergency management, police, fire, water affairs… (职能部门).
        Department = "department",
        /// A residents' committee (居委会).
        ResidentsCommittee = "residents_committee",
        /// A villagers' committee (村委会).
        VillagersCommittee = "villagers_committee",
        /// A public-utility operator: power, gas, water supply, telecom (公用事业单位).
        Utility = "utility",
        /// An enterprise that may offer trucks, generators, warehouses or staff (企业).
        Enterprise = "enterprise",
        /// A property-management company (物业服务企业).
        PropertyCompany = "property_company",
        /// An owners' committee (业主委员会).
        OwnersCommittee = "owners_committee",
        /// A non-governmental or social organization, such as the Red Cross (社会组织).
        Ngo = "ngo",
        /// A volunteer team (志愿服务队).
        VolunteerTeam = "volunteer_team",
        /// A mutual-aid group: stairwell, corridor or building self-management group (互助小组/门栋自管小组).
        MutualAidGroup = "mutual_aid_group",
        /// A health facility: community health service centre, clinic, hospital (医疗卫生机构).
        HealthFacility = "health_facility",
        /// A school or kindergarten (学校).
        School = "school",
        /// A rescue team with its own organization, such as a fire and rescue station (救援队伍).
        RescueTeam = "rescue_team",
    }
}

coded_enum! {
    /// The field a department or utility works in; it decides which plan functions it leads or supports.
    Sector, "sector" {
        /// Emergency management (应急管理).
        EmergencyManagement = "emergency_management",
        /// Health and disease control (卫生健康/疾控).
        Health = "health",
        /// Public security, police (公安).
        PublicSecurity = "public_security",
        /// Fire and rescue (消防救援).
        FireRescue = "fire_rescue",
        /// Water affairs: drainage, flood control (水务).
        WaterAffairs = "water_affairs",
        /// Meteorology (气象).
        Meteorology = "meteorology",
        /// Transport (交通).
        Transport = "transport",
        /// Power supply (电力).
        Power = "power",
        /// Gas supply (燃气).
        Gas = "gas",
        /// Water supply (供水).
        WaterSupply = "water_supply",
        /// Telecommunications (通信).
        Telecom = "telecom",
        /// Housing and construction (住房城乡建设).
        Housing = "housing",
        /// Civil affairs and relief (民政).
        CivilAffairs = "civil_affairs",
        /// Market regulation (市场监管).
        MarketRegulation = "market_regulation",
        /// Ecology and environment (生态环境).
        Environment = "environment",
        /// Greening and city appearance (绿化市容).
        Greening = "greening",
        /// Education (教育).
        Education = "education",
        /// Any other field.
        Other = "other",
    }
}

coded_enum! {
    /// What a member does in the emergency system (DOMAIN.md §2.2). A member may hold several roles.
    MemberRole, "member_role" {
        /// Sub-district emergency staff or duty officer (街道应急管理人员/值班员).
        DutyOfficer = "duty_officer",
        /// Community cadre or social worker (社区干部/社区工作者).
        Cadre = "cadre",
        /// Grid member (网格员).
        GridMember = "grid_member",
        /// Information reporter or disaster information officer (信息报告员/灾害信息员).
        InformationReporter = "information_reporter",
        /// Community police officer (社区民警).
        Police = "police",
        /// Owners' committee member (业委会委员).
        OwnersCommitteeMember = "owners_committee_member",
        /// Property-service staff (物业人员).
        PropertyStaff = "property_staff",
        /// Firefighter (消防救援人员).
        Firefighter = "firefighter",
        /// Micro fire station member (微型消防站队员).
        MicroFireStation = "micro_fire_station",
        /// Medical staff (医护人员).
        Medical = "medical",
        /// Volunteer (志愿者).
        Volunteer = "volunteer",
        /// Building-group or stairwell leader (楼组长).
        BuildingLeader = "building_leader",
        /// Trained first responder (应急第一响应人).
        FirstResponder = "first_responder",
        /// Department liaison (部门联络员).
        Liaison = "liaison",
    }
}

coded_enum! {
    /// Whether a member can be called on now.
    MemberStatus, "member_status" {
        /// Available for call-outs and tasks.
        Active = "active",
        /// Temporarily unavailable (ill, away, off shift).
        Unavailable = "unavailable",
        /// Deployed on a task or incident.
        Deployed = "deployed",
        /// No longer active in the system; kept for the record.
        Inactive = "inactive",
    }
}

coded_enum! {
    /// The kind of team, following ERL Art. 39.
    TeamKind, "team_kind" {
        /// Comprehensive standing force: fire and rescue (综合性常备骨干力量).
        Standing = "standing",
        /// Professional rescue team of a department or sector (专业应急救援队伍).
        Professional = "professional",
        /// Grassroots team of a sub-district or community, "to rescue promptly and nearby" (基层应急救援队伍).
        Grassroots = "grassroots",
        /// Volunteer team (志愿者队伍).
        Volunteer = "volunteer",
        /// A unit's own team, for example a factory or a school (单位应急救援队伍).
        Unit = "unit",
        /// A social-force team (社会力量).
        Social = "social",
    }
}

coded_enum! {
    /// The tier of a team in escalation: the community's standing force acts first, professional forces follow.
    TeamTier, "team_tier" {
        /// Standing community force: first on scene, nearby.
        Community = "community",
        /// Professional force: called when the community force cannot cope.
        Professional = "professional",
    }
}

/// A skill code such as `first_aid`, `boat_handling`, `sign_language`: 2 to 48 characters of lowercase ASCII
/// letters, digits and `_`. Skills are open-ended, so they are codes rather than a closed enum.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Skill(String);

impl Skill {
    /// Parses a skill code given in `field`.
    pub fn parse(field: &str, value: &str) -> Result<Skill, Invalid> {
        let value = value.trim();
        if value.is_empty() {
            return Err(Invalid::new(field, InvalidReason::Required));
        }
        if !(2..=48).contains(&value.len()) || !value.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_') {
            return Err(Invalid::new(field, InvalidReason::BadCharacters { allowed: "a-z 0-9 _" }));
        }
        Ok(Skill(value.to_string()))
    }

    /// The code as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A credential held by a member: a first-aid certificate, a boat licence, a professional qualification.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Credential {
    /// What the credential is, for example `first_aid_certificate`.
    pub kind: Skill,
    /// The certificate number, if any.
    pub number: Option<Name>,
    /// Who issued it, if known.
    pub issuer: Option<Name>,
    /// The last day it is valid; `None` for credentials that do not expire.
    pub expires_on: Option<jiff::civil::Date>,
}

/// Where a credential stands on a given day.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CredentialState {
    /// Valid for more than the warning window.
    Valid,
    /// Valid, but expiring within the warning window: renew it.
    ExpiringSoon,
    /// No longer valid.
    Expired,
}

impl Credential {
    /// How many days before expiry a credential is flagged as expiring soon.
    pub const WARNING_DAYS: i32 = 30;

    /// Parses a credential from its parts; `field` is the path of the credential in the input.
    pub fn parse(
        field: &str,
        kind: &str,
        number: Option<&str>,
        issuer: Option<&str>,
        expires_on: Option<&str>,
    ) -> Result<Credential, Invalid> {
        Ok(Credential {
            kind: Skill::parse(&format!("{field}.kind"), kind)?,
            number: Name::parse_optional(&format!("{field}.number"), number)?,
            issuer: Name::parse_optional(&format!("{field}.issuer"), issuer)?,
            expires_on: match expires_on.map(str::trim) {
                None | Some("") => None,
                Some(text) => Some(parse_date(&format!("{field}.expires_on"), text)?),
            },
        })
    }

    /// The state of this credential on `today` (the local date in the member's time zone).
    pub fn state(&self, today: jiff::civil::Date) -> CredentialState {
        CredentialState::on(self.expires_on, today)
    }
}

impl CredentialState {
    /// The state on `today` of a credential whose last valid day is `expires_on` (`None`: never expires).
    pub fn on(expires_on: Option<jiff::civil::Date>, today: jiff::civil::Date) -> CredentialState {
        match expires_on {
            None => CredentialState::Valid,
            Some(last_day) if last_day < today => CredentialState::Expired,
            Some(last_day) => {
                let warn_from = last_day.checked_sub(jiff::Span::new().days(Credential::WARNING_DAYS)).unwrap_or(last_day);
                if today >= warn_from { CredentialState::ExpiringSoon } else { CredentialState::Valid }
            }
        }
    }

    /// The stable code: `valid`, `expiring_soon` or `expired`.
    pub fn code(self) -> &'static str {
        match self {
            CredentialState::Valid => "valid",
            CredentialState::ExpiringSoon => "expiring_soon",
            CredentialState::Expired => "expired",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::civil::date;

    #[test]
    fn parent_levels_must_be_wider() {
        use JurisdictionLevel::*;
        assert!(District.check_parent(Some(City)).is_ok());
        assert!(Grid.check_parent(Some(SubDistrict)).is_ok());
        assert!(District.check_parent(None).is_ok());
        let error = City.check_parent(Some(District)).unwrap_err();
        assert_eq!(error.field, "parent_id");
        assert!(Community.check_parent(Some(Community)).is_err());
    }

    #[test]
    fn paths_contain_their_descendants_only() {
        let city = JurisdictionPath::root(JurisdictionId(1));
        let district = city.child(JurisdictionId(4));
        let other = city.child(JurisdictionId(41));
        assert_eq!(district.as_str(), "/1/4/");
        assert!(city.contains(&district));
        assert!(district.contains(&district));
        assert!(!district.contains(&other), "/1/4/ must not contain /1/41/");
        assert!(!district.contains(&city));
        assert_eq!(district.ids(), vec![JurisdictionId(1), JurisdictionId(4)]);
        assert_eq!(district.leaf(), JurisdictionId(4));
        assert_eq!(district.ancestors_and_self(), vec![city.clone(), district.clone()]);
        assert_eq!(JurisdictionPath::parse("/1/4/"), Some(district));
        for bad in ["", "/", "1/4/", "/1/4", "/1//4/", "/a/"] {
            assert_eq!(JurisdictionPath::parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn enums_parse_their_codes_and_reject_others() {
        assert_eq!(MemberRole::parse("roles[0]", "grid_member").unwrap(), MemberRole::GridMember);
        let error = MemberRole::parse("roles[0]", "wizard").unwrap_err();
        assert_eq!(error.field, "roles[0]");
        assert!(matches!(error.reason, InvalidReason::UnknownValue { .. }));
        for kind in OrganizationKind::ALL {
            assert_eq!(OrganizationKind::parse("kind", kind.code()).unwrap(), *kind);
        }
    }

    #[test]
    fn credentials_expire_with_a_warning_window() {
        let credential = Credential::parse("c", "first_aid", None, None, Some("2027-03-31")).unwrap();
        assert_eq!(credential.state(date(2027, 1, 1)), CredentialState::Valid);
        assert_eq!(credential.state(date(2027, 3, 1)), CredentialState::ExpiringSoon);
        assert_eq!(credential.state(date(2027, 3, 31)), CredentialState::ExpiringSoon);
        assert_eq!(credential.state(date(2027, 4, 1)), CredentialState::Expired);
        let forever = Credential::parse("c", "first_aid", None, None, None).unwrap();
        assert_eq!(forever.state(date(2099, 1, 1)), CredentialState::Valid);
        assert_eq!(Credential::parse("c", "first_aid", None, None, Some("31/03/2027")).unwrap_err().field, "c.expires_on");
    }
}
