//! A demo deployment built from a real OpenStreetMap extract: the extract's own boundaries and map, and, around
//! them, seeded and reproducible synthetic people, households and resources, labelled as such.
//!
//! What is real: roads, buildings, water, facilities and administrative boundaries (from the extract). What is
//! generated (from `seed`, the same every time): the jurisdiction tree below the real boundaries (square
//! communities of about 670 m, each holding 2 × 2 grids, where buildings stand), departments, enterprises,
//! committees, volunteer teams and mutual-aid groups, members with roles, skills and credentials placed at real
//! buildings, households on real buildings (by footprint and levels), a consented vulnerable-resident register
//! (about 3% of households), shelters with a capacity estimate, depots with stock, sensors, and one account per
//! role. The shipped plans (rainstorm waterlogging, typhoon, building fire, gas leak, infectious-disease cluster,
//! crowd crush) are saved as for any installation.
//!
//! The summary is written last, under the `demo.summary` setting: a database without it holds no finished demo.

mod cells;
mod datasets;

use std::collections::{BTreeMap, BTreeSet};

use domain::Locale;
use serde_json::{Value, json};
use spatial::osm::{FacilityKind, OsmData};

use crate::access::{GrantInput, NewAccount};
use crate::commons::LayerImport;
use crate::registry::NewJurisdiction;
use crate::registry::NewOrganization;
use crate::registry::NewTeam;
use crate::registry::Point;
use crate::registry::{CredentialInput, NewMember};
use crate::{App, AppError, Context};
use cells::{Cell, Lattice};

/// The Porto extract (© OpenStreetMap contributors, ODbL; see NOTICE), built into the binary: the default demo city.
pub const PORTO_PBF: &[u8] = include_bytes!("../../../spatial/tests/fixtures/porto.osm.pbf");

/// The setting that marks a finished demo and holds its summary.
pub const SUMMARY_KEY: &str = "demo.summary";

/// A demo account, printed on every start.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct DemoAccount {
    pub username: String,
    pub password: String,
    pub role_en: String,
    pub role_zh: String,
}

/// What the demo holds.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct DemoSummary {
    pub city_en: String,
    pub city_zh: String,
    pub seed: u64,
    pub jurisdictions: usize,
    pub organizations: usize,
    pub members: usize,
    pub households: usize,
    pub vulnerable: usize,
    pub facilities: usize,
    pub shelters: usize,
    pub depots: usize,
    pub sensors: usize,
    pub plans: usize,
    pub accounts: Vec<DemoAccount>,
}

/// A small, fixed pseudo-random generator (SplitMix64): the same seed gives the same demo on every platform and
/// with every version of every dependency.
#[derive(Debug, Clone)]
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }

    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
}

const SURNAMES: &[&str] =
    &["王", "李", "张", "刘", "陈", "杨", "黄", "赵", "吴", "周", "徐", "孙", "马", "朱", "胡", "郭", "何", "林", "罗", "高"];
const GIVEN: &[&str] = &[
    "伟", "芳", "娜", "敏", "静", "丽", "强", "磊", "军", "洋", "勇", "艳", "杰", "娟", "涛", "明", "超", "秀英", "华", "建国", "玉兰",
    "志强", "海燕", "晓东",
];

fn person(rng: &mut Rng) -> String {
    format!("{}{}", rng.pick(SURNAMES), rng.pick(GIVEN))
}

/// Square metres of a ring of (lon, lat), by a local equirectangular projection.
fn ring_area_m2(ring: &[[f64; 2]]) -> f64 {
    let Some(first) = ring.first() else { return 0.0 };
    let kx = 111_320.0 * first[1].to_radians().cos();
    let ky = 110_540.0;
    let twice: f64 = ring.windows(2).map(|w| (w[0][0] * kx) * (w[1][1] * ky) - (w[1][0] * kx) * (w[0][1] * ky)).sum();
    (twice / 2.0).abs()
}

fn ring_contains(ring: &[[f64; 2]], lon: f64, lat: f64) -> bool {
    let mut inside = false;
    for w in ring.windows(2) {
        let (a, b) = (w[0], w[1]);
        if (a[1] > lat) != (b[1] > lat) && lon < a[0] + (lat - a[1]) * (b[0] - a[0]) / (b[1] - a[1]) {
            inside = !inside;
        }
    }
    inside
}

/// The Chinese name of the shipped extracts' cities; others keep their own name.
fn city_name_zh(name: &str) -> String {
    match name {
        "Porto" => "波尔图".into(),
        "Monaco" => "摩纳哥".into(),
        "Krems" | "Krems an der Donau" => "克雷姆斯".into(),
        "Baltimore" => "巴尔的摩".into(),
        other => other.to_string(),
    }
}

struct Place {
    at: [f64; 2],
}

impl App {
    /// The finished demo's summary, if this database holds one.
    pub async fn demo_summary(&self) -> Result<Option<DemoSummary>, AppError> {
        let mut reader = self.store().reader().await?;
        let Some(text) = store::settings::get(&mut reader.conn(), SUMMARY_KEY).await? else { return Ok(None) };
        Ok(serde_json::from_str(&text).ok())
    }

    /// Whether the database holds anything a demo would overwrite (any jurisdiction or organization).
    pub async fn is_empty_installation(&self) -> Result<bool, AppError> {
        let ctx = Context::system("demo", Locale::En);
        let params = crate::util::ListParams { limit: Some(1), ..Default::default() };
        let jurisdictions = self.registry().list_jurisdictions(&ctx, &params, &Default::default()).await?;
        Ok(jurisdictions.total == 0)
    }

    /// Builds the demo from an extract. `name` is the city's name when the extract has no boundary naming it.
    pub async fn build_demo(
        &self,
        data: &OsmData,
        name: &str,
        seed: u64,
        progress: &mut (dyn FnMut(&str) + Send),
    ) -> Result<DemoSummary, AppError> {
        let ctx = Context::system("demo", Locale::En);
        let mut rng = Rng(seed);
        let buildings: Vec<&spatial::osm::Building> =
            data.buildings.iter().filter(|b| b.footprint.first().is_some_and(|ring| ring.len() >= 4)).collect();
        if buildings.is_empty() {
            return Err(domain::error::Invalid::new("osm", domain::error::InvalidReason::Required).into());
        }

        // The extent: every building, padded by 100 m.
        let (mut west, mut south, mut east, mut north) = (180.0f64, 90.0f64, -180.0f64, -90.0f64);
        for b in &buildings {
            west = west.min(b.centroid[0]);
            east = east.max(b.centroid[0]);
            south = south.min(b.centroid[1]);
            north = north.max(b.centroid[1]);
        }
        let mid_lat = (south + north) / 2.0;
        let pad_lat = 100.0 / 110_540.0;
        let pad_lon = 100.0 / (111_320.0 * mid_lat.to_radians().cos());
        let lattice = Lattice::new(west - pad_lon, south - pad_lat, mid_lat, 335.0);

        // Real boundaries: the finest level with at least two usable areas, below the city's.
        let usable: Vec<&spatial::osm::AdminBoundary> = data.boundaries.iter().filter(|b| b.area.is_some() && b.name.is_some()).collect();
        let city_boundary = usable.iter().filter(|b| b.admin_level.is_some_and(|l| l <= 8)).max_by_key(|b| b.admin_level);
        let city_en = city_boundary.and_then(|b| b.name.clone()).unwrap_or_else(|| name.to_string());
        let mut levels: BTreeMap<u8, Vec<&spatial::osm::AdminBoundary>> = BTreeMap::new();
        for b in &usable {
            if let Some(level) = b.admin_level
                && city_boundary.is_none_or(|c| c.admin_level.is_some_and(|cl| level > cl))
            {
                levels.entry(level).or_default().push(b);
            }
        }
        let parishes: Vec<&spatial::osm::AdminBoundary> =
            levels.into_iter().rev().find(|(_, found)| found.len() >= 2).map(|(_, found)| found).unwrap_or_default();

        // Buildings by grid cell; grid cells by community cell; community cells by sub-district.
        let mut by_grid: BTreeMap<Cell, Vec<usize>> = BTreeMap::new();
        for (i, b) in buildings.iter().enumerate() {
            by_grid.entry(lattice.grid_cell(b.centroid[0], b.centroid[1])).or_default().push(i);
        }
        let mut by_community: BTreeMap<Cell, Vec<Cell>> = BTreeMap::new();
        for grid in by_grid.keys() {
            by_community.entry(Lattice::community_of(*grid)).or_default().push(*grid);
        }
        // A community belongs to the parish most of its buildings stand in (or to none).
        let sub_district_of = |community: Cell| -> Option<usize> {
            let mut votes = vec![0usize; parishes.len()];
            for grid in &by_community[&community] {
                for &b in &by_grid[grid] {
                    let [lon, lat] = buildings[b].centroid;
                    if let Some(p) = parishes.iter().position(|p| p.area.as_ref().is_some_and(|a| a.contains(lon, lat))) {
                        votes[p] += 1;
                    }
                }
            }
            let outside = by_community[&community].iter().map(|g| by_grid[g].len()).sum::<usize>() - votes.iter().sum::<usize>();
            let (best, count) = votes.iter().enumerate().max_by_key(|(i, n)| (**n, usize::MAX - i))?;
            (*count > outside).then_some(best)
        };
        // Sub-districts 0..n are the real parishes, each kept even when no community falls to it; the last one
        // holds the communities outside them.
        let rest = parishes.len();
        let mut communities_of: BTreeMap<usize, Vec<Cell>> = (0..rest).map(|i| (i, Vec::new())).collect();
        for community in by_community.keys() {
            communities_of.entry(sub_district_of(*community).unwrap_or(rest)).or_default().push(*community);
        }

        progress("jurisdictions");
        let city_code = format!("demo-{}", city_en.to_ascii_lowercase().chars().filter(char::is_ascii_alphanumeric).collect::<String>());
        let city_code = if city_code == "demo-" { "demo-city".to_string() } else { city_code };
        let city_zh = city_name_zh(&city_en);
        let city_ring = vec![vec![
            [west - 3.0 * pad_lon, south - 3.0 * pad_lat],
            [east + 3.0 * pad_lon, south - 3.0 * pad_lat],
            [east + 3.0 * pad_lon, north + 3.0 * pad_lat],
            [west - 3.0 * pad_lon, north + 3.0 * pad_lat],
            [west - 3.0 * pad_lon, south - 3.0 * pad_lat],
        ]];
        let mut jurisdictions = 0usize;
        let city = self
            .registry()
            .create_jurisdiction(
                &ctx,
                NewJurisdiction {
                    parent_id: None,
                    level: "city".into(),
                    code: city_code.clone(),
                    name_zh: format!("{city_zh}（演示）"),
                    name_en: Some(format!("{city_en} (demo)")),
                    timezone: None,
                    boundary: Some(json!({"type": "MultiPolygon", "coordinates": [city_ring]})),
                },
            )
            .await?
            .id;
        jurisdictions += 1;
        let mut sub_districts: Vec<(i64, String, String)> = Vec::new();
        let mut grid_ids: BTreeMap<Cell, (i64, String)> = BTreeMap::new();
        let mut community_ids: BTreeMap<Cell, (i64, usize)> = BTreeMap::new();
        let mut community_number = 0;
        for (index, communities) in &communities_of {
            let (name_en, name_zh, boundary) = if let Some(parish) = parishes.get(*index) {
                let parish_name = parish.name.clone().unwrap_or_default();
                let geometry = match &parish.geometry {
                    spatial::Geometry::Polygon(rings) => json!({"type": "MultiPolygon", "coordinates": [rings]}),
                    spatial::Geometry::MultiPolygon(polygons) => json!({"type": "MultiPolygon", "coordinates": polygons}),
                    spatial::Geometry::Circle { .. } => Value::Null,
                };
                (parish_name.clone(), parish_name, geometry)
            } else {
                let cells: BTreeSet<Cell> = communities.iter().copied().collect();
                let outline = lattice.outline(&cells, 2);
                let label_en = if parishes.is_empty() { city_en.clone() } else { format!("{city_en}, outside the parishes") };
                let label_zh = if parishes.is_empty() { city_zh.clone() } else { format!("{city_zh}其他片区") };
                (label_en, label_zh, json!({"type": "MultiPolygon", "coordinates": outline}))
            };
            let code = format!("{city_code}-s{:02}", index + 1);
            let sub_district = self
                .registry()
                .create_jurisdiction(
                    &ctx,
                    NewJurisdiction {
                        parent_id: Some(city),
                        level: "sub_district".into(),
                        code: code.clone(),
                        name_zh: format!("{name_zh}街道"),
                        name_en: Some(name_en.clone()),
                        timezone: None,
                        boundary: (!boundary.is_null()).then_some(boundary),
                    },
                )
                .await?
                .id;
            jurisdictions += 1;
            sub_districts.push((sub_district, name_zh.clone(), name_en.clone()));
            for community in communities {
                community_number += 1;
                let community_code = format!("{code}-c{community_number:03}");
                let ring = lattice.outline(&BTreeSet::from([*community]), 2);
                let community_id = self
                    .registry()
                    .create_jurisdiction(
                        &ctx,
                        NewJurisdiction {
                            parent_id: Some(sub_district),
                            level: "community".into(),
                            code: community_code.clone(),
                            name_zh: format!("{name_zh}第{community_number}社区"),
                            name_en: Some(format!("{name_en} community {community_number}")),
                            timezone: None,
                            boundary: Some(json!({"type": "MultiPolygon", "coordinates": ring})),
                        },
                    )
                    .await?
                    .id;
                jurisdictions += 1;
                community_ids.insert(*community, (community_id, sub_districts.len() - 1));
                for (n, grid) in by_community[community].iter().enumerate() {
                    let grid_code = format!("{community_code}-g{}", n + 1);
                    let ring = lattice.outline(&BTreeSet::from([*grid]), 1);
                    let grid_id = self
                        .registry()
                        .create_jurisdiction(
                            &ctx,
                            NewJurisdiction {
                                parent_id: Some(community_id),
                                level: "grid".into(),
                                code: grid_code.clone(),
                                name_zh: format!("第{community_number}社区第{}网格", n + 1),
                                name_en: Some(format!("Community {community_number}, grid {}", n + 1)),
                                timezone: None,
                                boundary: Some(json!({"type": "MultiPolygon", "coordinates": ring})),
                            },
                        )
                        .await?
                        .id;
                    jurisdictions += 1;
                    grid_ids.insert(*grid, (grid_id, grid_code));
                }
            }
        }

        progress("map_layers");
        self.commons().import_osm_datasets(&ctx, data, Some(city)).await?;

        progress("organizations");
        let mut organizations = 0usize;
        let mut org = |kind: &str, sector: Option<&str>, code: String, name_zh: String, name_en: String, jurisdiction: i64| {
            organizations += 1;
            NewOrganization {
                kind: kind.into(),
                sector: sector.map(Into::into),
                code,
                name_zh,
                name_en: Some(name_en),
                jurisdiction_id: jurisdiction,
                parent_id: None,
                contact_phone: None,
                contact_email: None,
                address: None,
            }
        };
        let departments: &[(&str, &str, &str)] = &[
            ("emergency_management", "应急管理局", "Emergency management bureau"),
            ("water_affairs", "水务局", "Water affairs bureau"),
            ("fire_rescue", "消防救援支队", "Fire and rescue brigade"),
            ("public_security", "公安分局", "Public security bureau"),
            ("health", "卫生健康委", "Health commission"),
            ("meteorology", "气象局", "Meteorological bureau"),
            ("transport", "交通委", "Transport commission"),
            ("gas", "燃气公司", "Gas utility"),
            ("power", "供电公司", "Power utility"),
            ("civil_affairs", "民政局", "Civil affairs bureau"),
        ];
        let mut department_ids: BTreeMap<&str, i64> = BTreeMap::new();
        for (sector, zh, en) in departments {
            let kind = if matches!(*sector, "gas" | "power") { "utility" } else { "department" };
            let input = org(
                kind,
                Some(sector),
                format!("{city_code}-{}", sector.replace('_', "-")),
                format!("{city_zh}{zh}"),
                format!("{city_en} {en}"),
                city,
            );
            department_ids.insert(sector, self.registry().create_organization(&ctx, input).await?.id);
        }
        let enterprises: &[(&str, &str, &str)] = &[
            ("logistics", "顺达物流有限公司", "Shunda Logistics Ltd."),
            ("construction", "城建工程有限公司", "City Construction Works Ltd."),
            ("supermarket", "惠民连锁超市", "Huimin Supermarkets"),
        ];
        let mut enterprise_ids = Vec::new();
        for (code, zh, en) in enterprises {
            let input = org("enterprise", None, format!("{city_code}-{code}"), zh.to_string(), format!("{en} (synthetic)"), city);
            enterprise_ids.push(self.registry().create_organization(&ctx, input).await?.id);
        }
        let mut offices = Vec::new();
        let mut volunteer_teams = Vec::new();
        let mut property_companies = Vec::new();
        for (n, (sub_district, zh, en)) in sub_districts.iter().enumerate() {
            let code = format!("{city_code}-s{:02}", n + 1);
            offices.push(
                self.registry()
                    .create_organization(
                        &ctx,
                        org(
                            "government_office",
                            None,
                            format!("{code}-office"),
                            format!("{zh}街道办事处"),
                            format!("{en} sub-district office"),
                            *sub_district,
                        ),
                    )
                    .await?
                    .id,
            );
            volunteer_teams.push(
                self.registry()
                    .create_organization(
                        &ctx,
                        org(
                            "volunteer_team",
                            None,
                            format!("{code}-volunteers"),
                            format!("{zh}志愿服务队"),
                            format!("{en} volunteer team"),
                            *sub_district,
                        ),
                    )
                    .await?
                    .id,
            );
            property_companies.push(
                self.registry()
                    .create_organization(
                        &ctx,
                        org(
                            "property_company",
                            None,
                            format!("{code}-property"),
                            format!("{zh}物业服务公司"),
                            format!("{en} property services"),
                            *sub_district,
                        ),
                    )
                    .await?
                    .id,
            );
        }
        let mut committees: BTreeMap<Cell, i64> = BTreeMap::new();
        let mut mutual_aid: BTreeMap<Cell, i64> = BTreeMap::new();
        for (cell, (community, _)) in &community_ids {
            let number = committees.len() + 1;
            let input = org(
                "residents_committee",
                None,
                format!("{city_code}-rc{number:03}"),
                format!("第{number}社区居委会"),
                format!("Community {number} residents' committee"),
                *community,
            );
            committees.insert(*cell, self.registry().create_organization(&ctx, input).await?.id);
            let input = org(
                "mutual_aid_group",
                None,
                format!("{city_code}-ma{number:03}"),
                format!("第{number}社区楼栋互助组"),
                format!("Community {number} building mutual-aid group"),
                *community,
            );
            mutual_aid.insert(*cell, self.registry().create_organization(&ctx, input).await?.id);
        }

        progress("members");
        let place_in = |rng: &mut Rng, cells: &[usize]| -> Place {
            let building = cells[rng.below(cells.len())];
            Place { at: buildings[building].centroid }
        };
        let all: Vec<usize> = (0..buildings.len()).collect();
        let mut members = 0usize;
        let today = crate::time::local_date(self.now_ms(), &self.config().default_timezone);
        let date_in = |days: i64| today.checked_add(jiff::Span::new().days(days)).map(|d| d.to_string()).unwrap_or_default();
        let mut new_member = |rng: &mut Rng, jurisdiction: i64, organization: Option<i64>, roles: &[&str], skills: &[&str], at: &Place| {
            members += 1;
            let credentials = skills
                .iter()
                .filter(|s| **s == "first_aid")
                .map(|_| CredentialInput {
                    kind: "first_aid_certificate".into(),
                    number: Some(format!("FA-{:06}", rng.below(1_000_000))),
                    issuer: Some("Red Cross (synthetic)".into()),
                    // Some expire within the month, a few have lapsed: the console highlights them.
                    expires_on: Some(date_in(*rng.pick(&[-20, 12, 25, 200, 400, 700]))),
                })
                .collect();
            NewMember {
                jurisdiction_id: jurisdiction,
                organization_id: organization,
                name: person(rng),
                phone: Some(format!("+3519{:08}", rng.below(100_000_000))),
                email: Some(format!("member{members}@example.org")),
                roles: roles.iter().map(|r| r.to_string()).collect(),
                skills: skills.iter().map(|s| s.to_string()).collect(),
                credentials,
                home: Some(Point { lon: at.at[0], lat: at.at[1] }),
                base: Some(Point { lon: at.at[0], lat: at.at[1] }),
                status: None,
            }
        };
        let volunteer_skills: &[&[&str]] = &[
            &["first_aid"],
            &["boat_handling", "swimming"],
            &["sign_language"],
            &["first_aid", "driving"],
            &["electrician"],
            &["elderly_care"],
        ];
        let mut first_grid_member = None;
        let mut first_cadre = None;
        let mut first_volunteer = None;
        for (grid, (grid_id, _)) in &grid_ids {
            let at = place_in(&mut rng, &by_grid[grid]);
            let input = new_member(&mut rng, *grid_id, None, &["grid_member", "information_reporter"], &["first_aid"], &at);
            let id = self.registry().create_member(&ctx, input).await?.id;
            first_grid_member.get_or_insert((id, *grid_id));
        }
        for (cell, (community_id, sub_index)) in &community_ids {
            let local: Vec<usize> = by_community[cell].iter().flat_map(|g| by_grid[g].iter().copied()).collect();
            let at = place_in(&mut rng, &local);
            let input = new_member(&mut rng, *community_id, Some(committees[cell]), &["cadre"], &["first_aid"], &at);
            let id = self.registry().create_member(&ctx, input).await?.id;
            first_cadre.get_or_insert((id, *community_id));
            let at = place_in(&mut rng, &local);
            let input = new_member(&mut rng, *community_id, Some(mutual_aid[cell]), &["building_leader"], &["elderly_care"], &at);
            self.registry().create_member(&ctx, input).await?;
            let at = place_in(&mut rng, &local);
            let input =
                new_member(&mut rng, *community_id, Some(property_companies[*sub_index]), &["property_staff"], &["electrician"], &at);
            self.registry().create_member(&ctx, input).await?;
            for _ in 0..2 {
                let at = place_in(&mut rng, &local);
                let skills = *rng.pick(volunteer_skills);
                let input = new_member(&mut rng, *community_id, Some(volunteer_teams[*sub_index]), &["volunteer"], skills, &at);
                let id = self.registry().create_member(&ctx, input).await?.id;
                first_volunteer.get_or_insert((id, volunteer_teams[*sub_index]));
            }
        }
        let mut duty_officer = None;
        for (n, (sub_district, _, _)) in sub_districts.iter().enumerate() {
            let at = place_in(&mut rng, &all);
            let input = new_member(&mut rng, *sub_district, Some(offices[n]), &["duty_officer"], &[], &at);
            duty_officer.get_or_insert(self.registry().create_member(&ctx, input).await?.id);
        }
        // Responders where the extract has their stations.
        let station = |kind: FacilityKind| data.facilities.iter().find(|f| f.kind == kind).map(|f| Place { at: f.at });
        let mut liaisons: BTreeMap<&str, i64> = BTreeMap::new();
        for (sector, _, _) in departments {
            let at = match *sector {
                "fire_rescue" => station(FacilityKind::FireStation),
                "public_security" => station(FacilityKind::Police),
                "health" => station(FacilityKind::Hospital),
                _ => None,
            }
            .unwrap_or_else(|| place_in(&mut rng, &all));
            let roles: &[&str] = match *sector {
                "fire_rescue" => &["firefighter", "liaison"],
                "public_security" => &["police", "liaison"],
                "health" => &["medical", "liaison"],
                _ => &["liaison"],
            };
            let input = new_member(&mut rng, city, Some(department_ids[sector]), roles, &[], &at);
            liaisons.insert(sector, self.registry().create_member(&ctx, input).await?.id);
        }
        let at = place_in(&mut rng, &all);
        let input = new_member(&mut rng, city, Some(enterprise_ids[0]), &["first_responder"], &["driving"], &at);
        let enterprise_member = self.registry().create_member(&ctx, input).await?.id;

        progress("teams");
        for (n, (sub_district, zh, en)) in sub_districts.iter().enumerate() {
            self.registry()
                .create_team(
                    &ctx,
                    NewTeam {
                        kind: "volunteer".into(),
                        tier: "community".into(),
                        name_zh: format!("{zh}防汛抢险志愿队"),
                        name_en: Some(format!("{en} flood volunteers")),
                        jurisdiction_id: *sub_district,
                        organization_id: Some(volunteer_teams[n]),
                        leader_member_id: None,
                        member_ids: Vec::new(),
                    },
                )
                .await?;
        }

        progress("households");
        let mut csv = String::from("code,grid_code,address,lon,lat,residents,phone,email,language,vulnerable_needs,vulnerable_consent\n");
        let needs = ["wheelchair user", "bedridden", "home oxygen", "hearing impaired", "lives alone (over 80)", "visually impaired"];
        let mut households = 0usize;
        for (grid, building_ids) in &by_grid {
            let (_, grid_code) = &grid_ids[grid];
            for &b in building_ids {
                let building = buildings[b];
                let floor_area = ring_area_m2(&building.footprint[0]) * f64::from(building.levels.unwrap_or(3.0).clamp(1.0, 30.0));
                let count = ((floor_area / 90.0).round() as usize).clamp(1, 24);
                for flat in 1..=count {
                    households += 1;
                    let vulnerable = rng.unit() < 0.03;
                    let (need, consent) = if vulnerable { (*rng.pick(&needs), "yes") } else { ("", "") };
                    let language = if rng.unit() < 0.5 { "zh-CN" } else { "en" };
                    csv.push_str(&format!(
                        "h{households},{grid_code},\"{osm} · {flat}\",{lon:.7},{lat:.7},{residents},+3512{phone:08},h{households}@example.org,{language},{need},{consent}\n",
                        osm = building.osm_id,
                        lon = building.centroid[0],
                        lat = building.centroid[1],
                        residents = 1 + rng.below(4),
                        phone = rng.below(100_000_000),
                    ));
                }
            }
        }
        let imported = self.registry().import_households(&ctx, &csv).await?;
        if let Some(first) = imported.rejected.first() {
            tracing::warn!(line = first.line, field = %first.field, "demo household rejected: {}", first.message);
        }

        progress("resources");
        // Shelters: schools, community centres, shelters and assembly points, at 3.5 m² of covered floor a person
        // (the Sphere standard's minimum), from the building they stand in; 200 people where none is found.
        let mut shelters = Vec::new();
        for facility in &data.facilities {
            if !matches!(
                facility.kind,
                FacilityKind::School | FacilityKind::CommunityCentre | FacilityKind::Shelter | FacilityKind::AssemblyPoint
            ) {
                continue;
            }
            let [lon, lat] = facility.at;
            let floor = buildings
                .iter()
                .find(|b| ring_contains(&b.footprint[0], lon, lat))
                .map(|b| ring_area_m2(&b.footprint[0]) * f64::from(b.levels.unwrap_or(2.0).clamp(1.0, 10.0)));
            let capacity = floor.map_or(200, |area| ((area / 3.5) as i64).clamp(20, 3000));
            shelters.push(json!({
                "type": "Feature", "id": facility.osm_id,
                "geometry": {"type": "Point", "coordinates": facility.at},
                "properties": {
                    "name": facility.name.clone().unwrap_or_else(|| facility.kind.label_en().to_string()),
                    "kind": facility.kind.code(), "capacity": capacity, "occupancy": 0,
                    "capacity_basis": if floor.is_some() { "3.5 m² of floor per person (Sphere)" } else { "default 200" },
                },
            }));
        }
        let stock_items: &[(&str, &str, std::ops::Range<usize>)] = &[
            ("sandbags", "编织袋/沙袋", 500..3000),
            ("water_pumps", "抽水泵", 2..12),
            ("life_jackets", "救生衣", 40..200),
            ("tents", "帐篷", 10..60),
            ("blankets", "棉被", 100..600),
            ("drinking_water_l", "饮用水（升）", 1000..8000),
            ("generators", "发电机", 1..6),
        ];
        let mut depots = Vec::new();
        for (n, (_, zh, en)) in sub_districts.iter().enumerate() {
            let at = place_in(&mut rng, &all);
            let mut stock = serde_json::Map::new();
            for (item, _, range) in stock_items {
                stock.insert((*item).into(), json!(range.start + rng.below(range.end - range.start)));
            }
            depots.push(json!({
                "type": "Feature", "id": format!("depot-{}", n + 1),
                "geometry": {"type": "Point", "coordinates": at.at},
                "properties": {"name": format!("{en} depot / {zh}应急物资储备点"), "owner": format!("{en} sub-district office"), "stock": stock},
            }));
        }
        let at = place_in(&mut rng, &all);
        depots.push(json!({
            "type": "Feature", "id": "depot-supermarket",
            "geometry": {"type": "Point", "coordinates": at.at},
            "properties": {"name": "Huimin Supermarkets warehouse / 惠民连锁超市仓库", "owner": "Huimin Supermarkets (enterprise)",
                "stock": {"drinking_water_l": 20000 + rng.below(10000), "instant_noodles": 3000 + rng.below(3000), "blankets": 200 + rng.below(300)}},
        }));
        let mut sensors = Vec::new();
        for (n, _) in sub_districts.iter().enumerate() {
            let at = place_in(&mut rng, &all);
            sensors.push(json!({"type": "Feature", "id": format!("rain-{}", n + 1), "geometry": {"type": "Point", "coordinates": at.at},
                "properties": {"kind": "rain_gauge", "quantity": "rainfall_1h", "unit": "mm/h", "owner": "meteorology", "interval_s": 300}}));
        }
        for (n, water) in data.water.iter().filter(|w| w.line.len() >= 2 || !w.polygons.is_empty()).take(6).enumerate() {
            let at =
                water.line.first().copied().or_else(|| water.polygons.first().and_then(|p| p.first()).and_then(|r| r.first()).copied());
            if let Some(at) = at {
                sensors.push(json!({"type": "Feature", "id": format!("level-{}", n + 1), "geometry": {"type": "Point", "coordinates": at},
                    "properties": {"kind": "water_level_gauge", "quantity": "water_level", "unit": "m", "owner": "water_affairs", "interval_s": 300}}));
            }
        }
        for n in 0..(sub_districts.len() * 3) {
            let at = place_in(&mut rng, &all);
            sensors.push(json!({"type": "Feature", "id": format!("gas-{}", n + 1), "geometry": {"type": "Point", "coordinates": at.at},
                "properties": {"kind": "gas_detector", "quantity": "methane_lel", "unit": "%LEL", "owner": "gas", "interval_s": 60}}));
        }
        // Smoke detectors in the tallest buildings.
        let mut tall: Vec<usize> = (0..buildings.len()).collect();
        tall.sort_by(|a, b| buildings[*b].levels.unwrap_or(0.0).total_cmp(&buildings[*a].levels.unwrap_or(0.0)).then(a.cmp(b)));
        for (n, b) in tall.into_iter().take(sub_districts.len() * 4).enumerate() {
            sensors.push(json!({"type": "Feature", "id": format!("smoke-{}", n + 1), "geometry": {"type": "Point", "coordinates": buildings[b].centroid},
                "properties": {"kind": "smoke_detector", "quantity": "smoke", "unit": "alarm", "owner": "fire_rescue", "interval_s": 600}}));
        }
        type Extra<'a> = (&'a str, &'a str, &'a str, Option<&'a str>, Option<i64>, &'a Vec<Value>);
        let extra: [Extra; 2] = [
            ("demo-shelters", "避难场所（估算容量）", "Shelters (estimated capacity)", None, None, &shelters),
            ("demo-depots", "应急物资储备", "Depots and stock", Some("internal"), Some(department_ids["emergency_management"]), &depots),
        ];
        // The sensors are registered as real sensors of their departments, ready for readings over HTTP or MQTT.
        for feature in &sensors {
            let p = &feature["properties"];
            let owner = department_ids.get(p["owner"].as_str().unwrap_or_default()).copied();
            let (min, max) = match p["unit"].as_str() {
                Some("mm/h") => (0.0, 300.0),
                Some("m") => (-5.0, 30.0),
                Some("%LEL") => (0.0, 100.0),
                _ => (0.0, 1.0),
            };
            let input = crate::monitoring::NewSensor {
                code: feature["id"].as_str().unwrap_or_default().to_string(),
                kind: p["kind"].as_str().unwrap_or_default().to_string(),
                quantity: p["quantity"].as_str().unwrap_or_default().to_string(),
                unit: p["unit"].as_str().unwrap_or_default().to_string(),
                lon: feature["geometry"]["coordinates"][0].as_f64().unwrap_or_default(),
                lat: feature["geometry"]["coordinates"][1].as_f64().unwrap_or_default(),
                organization_id: owner,
                interval_seconds: p["interval_s"].as_i64().unwrap_or(300),
                min_value: Some(min),
                max_value: Some(max),
            };
            self.monitoring().create_sensor(&ctx, input).await?;
        }
        self.monitoring()
            .save_rule(
                &ctx,
                "code: rain-sustained\ntitle_zh: 雨量持续超限\ntitle_en: Sustained heavy rain\nsensors: { kind: rain_gauge }\n\
             condition: { above: 30, for_minutes: 10, hysteresis: 5 }\nactions:\n  draft_warning: { level: orange, hazard: rainstorm }\n\
             \x20 open_incident: { category: natural_disaster, subtype: urban_waterlogging }\n",
            )
            .await?;
        self.monitoring().save_rule(
            &ctx,
            "code: level-rise-underpass\ntitle_zh: 下穿通道附近水位快速上涨\ntitle_en: Fast rise near an underpass\n\
             sensors: { kind: water_level_gauge, near: { layer: underpasses, within_m: 500 } }\n\
             condition: { rises_by: 0.5, within_minutes: 30, hysteresis: 0.1 }\nactions:\n\
             \x20 create_task: { title_zh: 检查下穿通道积水并视情封闭, title_en: Check the underpass for water and close it if needed, due_minutes: 20 }\n",
        )
        .await?;
        for (layer, title_zh, title_en, classification, organization, features) in extra {
            let input = LayerImport {
                name: layer.into(),
                title_zh: format!("{title_zh}（演示）"),
                title_en: Some(format!("{title_en} (demo)")),
                classification: classification.map(Into::into),
                organization_id: organization,
                jurisdiction_id: Some(city),
            };
            self.commons().import_layer(&ctx, input, &json!({"type": "FeatureCollection", "features": features})).await?;
        }
        // The shelters and depots as datasets (capacities public, stock internal), and the departments' own.
        for (name, kind, classification, owner, fields) in [
            (
                "demo-shelters",
                "shelters",
                "public",
                department_ids.get("civil_affairs").copied(),
                vec![
                    ("capacity", crate::commons::FieldType::Integer, "public"),
                    ("occupancy", crate::commons::FieldType::Integer, "public"),
                ],
            ),
            ("demo-depots", "material_reserves", "internal", Some(department_ids["emergency_management"]), vec![]),
        ] {
            let layer = self.commons().get_dataset(&ctx, name).await?;
            let input = crate::commons::DatasetInput {
                title_zh: layer.title_zh.clone(),
                title_en: layer.title_en.clone(),
                kind: kind.into(),
                classification: classification.into(),
                organization_id: owner,
                jurisdiction_id: Some(city),
                fields: fields
                    .into_iter()
                    .map(|(name, kind, class)| crate::commons::FieldSpec {
                        name: name.into(),
                        kind,
                        unit: None,
                        classification: class.into(),
                        title_zh: None,
                        title_en: None,
                        required: false,
                    })
                    .collect(),
                licence: Some("CC-BY-4.0".into()),
                description_zh: None,
                description_en: None,
                update_interval_hours: Some(24.0),
            };
            self.commons().save_dataset(&ctx, name, input).await?;
        }
        // A generator of their own, so that adding datasets changes nothing else the seed decides.
        let datasets = self.seed_datasets(&ctx, data, &department_ids, city, &mut Rng(seed ^ 0xDA7A_5E75)).await?;
        tracing::debug!(datasets, "demo datasets");

        progress("plans_accounts");
        self.incidents().ensure_shipped_plans().await?;
        let plans = self.incidents().list_plans(&ctx).await?.len();
        let (grid_member, grid) = first_grid_member.unwrap_or_default();
        let (cadre, community) = first_cadre.unwrap_or_default();
        let (volunteer, volunteer_org) = first_volunteer.unwrap_or_default();
        let water = department_ids["water_affairs"];
        type Spec<'a> = (&'a str, &'a str, &'a str, Option<i64>, Vec<GrantInput>);
        let account_specs: Vec<Spec> = vec![
            ("officer", "Duty officer", "值班员", duty_officer, vec![grant("duty_officer", Some(city), None)]),
            ("cadre", "Community cadre", "社区干部", Some(cadre), vec![grant("community_cadre", Some(community), None)]),
            ("grid", "Grid member", "网格员", Some(grid_member), vec![grant("grid_member", Some(grid), None)]),
            (
                "liaison",
                "Department liaison (water affairs)",
                "部门联络员（水务）",
                liaisons.get("water_affairs").copied(),
                vec![grant("department_liaison", Some(city), Some(water))],
            ),
            ("volunteer", "Volunteer", "志愿者", Some(volunteer), vec![grant("volunteer", None, Some(volunteer_org))]),
            ("enterprise", "Enterprise", "企业", Some(enterprise_member), vec![grant("enterprise", None, Some(enterprise_ids[0]))]),
            ("resident", "Public (resident)", "公众（居民）", None, Vec::new()),
            ("admin", "Administrator", "管理员", None, vec![grant("admin", None, None)]),
        ];
        let mut accounts = Vec::new();
        for (username, role_en, role_zh, member_id, grants) in account_specs {
            let password = format!("{username}-demo-{seed}");
            self.access()
                .create_account(
                    &ctx,
                    NewAccount {
                        username: username.into(),
                        display_name: Some(format!("{role_zh} / {role_en}")),
                        password: Some(password.clone()),
                        locale: None,
                        member_id,
                        grants,
                    },
                )
                .await?;
            accounts.push(DemoAccount { username: username.into(), password, role_en: role_en.into(), role_zh: role_zh.into() });
        }

        let summary = DemoSummary {
            city_en,
            city_zh,
            seed,
            jurisdictions,
            organizations,
            members,
            households: imported.imported,
            vulnerable: imported.vulnerable,
            facilities: data.facilities.len(),
            shelters: shelters.len(),
            depots: depots.len(),
            sensors: sensors.len(),
            plans,
            accounts,
        };
        let text = serde_json::to_string(&summary).map_err(|e| AppError::Internal(e.to_string()))?;
        let now = self.now_ms();
        let layers = format!("{},demo-shelters,demo-depots", crate::commons::DEFAULT_MAP_LAYERS);
        self.store()
            .write(move |c| {
                Box::pin(async move {
                    store::settings::get_or_insert(c, crate::commons::DEFAULT_MAP_LAYERS_KEY, &layers, now).await?;
                    store::settings::get_or_insert(c, SUMMARY_KEY, &text, now).await
                })
            })
            .await?;
        Ok(summary)
    }
}

fn grant(role: &str, jurisdiction_id: Option<i64>, organization_id: Option<i64>) -> GrantInput {
    GrantInput { role: role.into(), jurisdiction_id, organization_id }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_generator_is_fixed() {
        let mut rng = Rng(7);
        let first: Vec<u64> = (0..3).map(|_| rng.next()).collect();
        let mut again = Rng(7);
        assert_eq!(first, (0..3).map(|_| again.next()).collect::<Vec<_>>());
        assert_ne!(first[0], first[1]);
        let mut rng = Rng(1);
        assert!((0..1000).all(|_| (0.0..1.0).contains(&rng.unit())));
    }

    #[test]
    fn areas_are_in_square_metres() {
        // A square of 0.001° at the equator: about 111 m × 110.5 m.
        let ring = [[0.0, 0.0], [0.001, 0.0], [0.001, 0.001], [0.0, 0.001], [0.0, 0.0]];
        assert!((ring_area_m2(&ring) - 12_305.0).abs() < 50.0, "{}", ring_area_m2(&ring));
        assert!(ring_contains(&ring, 0.0005, 0.0005));
        assert!(!ring_contains(&ring, 0.0015, 0.0005));
    }
}
