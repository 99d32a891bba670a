//! The demo's data commons: each department's datasets, typed and classified, shared by rule. The pipelines,
//! closures and hazard sources are synthetic, laid along the extract's real roads and buildings; their owners,
//! classifications and policies are what a city would set.

use std::collections::BTreeMap;

use serde_json::{Value, json};
use spatial::osm::{FacilityKind, OsmData};

use super::Rng;
use crate::commons::{ActivationCondition, DatasetInput, FieldSpec, FieldType, PolicyInput};
use crate::{App, AppError, Context};

fn field(name: &str, kind: FieldType, unit: Option<&str>, classification: &str, title_zh: &str, title_en: &str) -> FieldSpec {
    FieldSpec {
        name: name.into(),
        kind,
        unit: unit.map(Into::into),
        classification: classification.into(),
        title_zh: Some(title_zh.into()),
        title_en: Some(title_en.into()),
        required: false,
    }
}

/// One demo dataset: name, titles, kind, classification, owner's sector, fields, update interval, description.
struct Spec {
    name: &'static str,
    title_zh: &'static str,
    title_en: &'static str,
    kind: &'static str,
    classification: &'static str,
    owner: &'static str,
    fields: Vec<FieldSpec>,
    interval_hours: Option<f64>,
    description_en: &'static str,
}

impl App {
    /// Declares and fills the demo's datasets and their sharing policies; answers how many datasets.
    pub(super) async fn seed_datasets(
        &self,
        ctx: &Context,
        data: &OsmData,
        departments: &BTreeMap<&str, i64>,
        city: i64,
        rng: &mut Rng,
    ) -> Result<usize, AppError> {
        let roads: Vec<Value> = crate::commons::layers(data)
            .into_iter()
            .find(|(name, ..)| *name == "osm-roads")
            .and_then(|(_, _, _, collection)| collection["features"].as_array().cloned())
            .unwrap_or_default();
        let pipes = |share: f64, prefix: &str, rng: &mut Rng, make: &mut dyn FnMut(&mut Rng) -> Value| -> Vec<Value> {
            let mut out = Vec::new();
            for road in &roads {
                if rng.unit() < share {
                    let properties = make(rng);
                    out.push(json!({"type": "Feature", "id": format!("{prefix}-{}", out.len() + 1), "geometry": road["geometry"], "properties": properties}));
                }
            }
            out
        };
        let gas = pipes(0.3, "gas", rng, &mut |rng| {
            let medium = rng.unit() < 0.2;
            json!({"material": rng.pick(&["PE", "steel", "cast_iron"]), "diameter_mm": rng.pick(&[63, 110, 160, 250]),
                   "pressure_kpa": if medium { 200 + rng.below(200) } else { 2 + rng.below(3) }, "install_year": 1975 + rng.below(48)})
        });
        let water = pipes(0.4, "water", rng, &mut |rng| {
            json!({"material": rng.pick(&["ductile_iron", "PE", "PVC"]), "diameter_mm": rng.pick(&[100, 150, 200, 300, 500]),
                   "pressure_kpa": 250 + rng.below(250), "install_year": 1960 + rng.below(63)})
        });
        let drainage = pipes(0.3, "drain", rng, &mut |rng| {
            json!({"material": rng.pick(&["concrete", "PVC"]), "diameter_mm": rng.pick(&[300, 600, 800, 1200]),
                   "capacity_mm_h": rng.pick(&[30, 36, 50]), "install_year": 1950 + rng.below(73)})
        });
        let power = pipes(
            0.15,
            "power",
            rng,
            &mut |rng| json!({"voltage_kv": rng.pick(&[0.4, 10.0, 35.0]), "underground": rng.unit() < 0.7, "install_year": 1980 + rng.below(43)}),
        );
        let closures =
            pipes(0.004, "closure", rng, &mut |rng| json!({"reason": rng.pick(&["works", "flooding", "event"]), "until": "2026-12-31"}));
        let underpasses =
            pipes(0.01, "underpass", rng, &mut |rng| json!({"low_lying": true, "clearance_m": 3.0 + rng.below(20) as f64 / 10.0}));
        let buildings = &data.buildings;
        let hazards: Vec<Value> = (0..buildings.len().min(40))
            .map(|n| {
                let b = &buildings[rng.below(buildings.len().max(1))];
                let kind = *rng.pick(&["chemical_storage", "construction_site", "old_building", "old_building", "fuel_station"]);
                json!({"type": "Feature", "id": format!("hazard-{}", n + 1), "geometry": {"type": "Point", "coordinates": b.centroid},
                       "properties": {"kind": kind, "risk": rng.pick(&["low", "medium", "high"]), "inspected": format!("2026-{:02}-15", 1 + rng.below(10))}})
            })
            .collect();
        let critical: Vec<Value> = data
            .facilities
            .iter()
            .filter(|f| {
                matches!(
                    f.kind,
                    FacilityKind::Hospital
                        | FacilityKind::Clinic
                        | FacilityKind::FireStation
                        | FacilityKind::Police
                        | FacilityKind::TownHall
                )
            })
            .map(|f| {
                json!({"type": "Feature", "id": f.osm_id, "geometry": {"type": "Point", "coordinates": f.at},
                       "properties": {"name": f.name.clone().unwrap_or_else(|| f.kind.label_en().to_string()), "kind": f.kind.code(),
                                      "backup_power": rng.unit() < 0.6}})
            })
            .collect();
        let pipeline_fields = |pressure_class: &str| {
            vec![
                field("material", FieldType::Text, None, "restricted", "材质", "Material"),
                field("diameter_mm", FieldType::Integer, Some("mm"), "restricted", "管径", "Diameter"),
                field("pressure_kpa", FieldType::Integer, Some("kPa"), pressure_class, "压力", "Pressure"),
                field("install_year", FieldType::Integer, None, "restricted", "敷设年份", "Installed"),
            ]
        };
        let specs: Vec<(Spec, Vec<Value>)> = vec![
            (
                Spec {
                    name: "gas-pipelines",
                    title_zh: "燃气管网",
                    title_en: "Gas pipelines",
                    kind: "gas_pipelines",
                    classification: "restricted",
                    owner: "gas",
                    fields: pipeline_fields("confidential"),
                    interval_hours: Some(24.0 * 30.0),
                    description_en: "Synthetic, laid along real roads: the gas utility's mains with material, diameter, pressure and age.",
                },
                gas,
            ),
            (
                Spec {
                    name: "water-pipelines",
                    title_zh: "供水管网",
                    title_en: "Water mains",
                    kind: "water_pipelines",
                    classification: "internal",
                    owner: "water_affairs",
                    fields: pipeline_fields("internal")
                        .into_iter()
                        .map(|mut f| {
                            f.classification = "internal".into();
                            f
                        })
                        .collect(),
                    interval_hours: Some(24.0 * 30.0),
                    description_en: "Synthetic water mains along real roads.",
                },
                water,
            ),
            (
                Spec {
                    name: "drainage",
                    title_zh: "排水管网",
                    title_en: "Drainage",
                    kind: "drainage",
                    classification: "internal",
                    owner: "water_affairs",
                    fields: vec![
                        field("material", FieldType::Text, None, "internal", "材质", "Material"),
                        field("diameter_mm", FieldType::Integer, Some("mm"), "internal", "管径", "Diameter"),
                        field("capacity_mm_h", FieldType::Integer, Some("mm/h"), "internal", "排水能力", "Design rainfall"),
                        field("install_year", FieldType::Integer, None, "internal", "敷设年份", "Installed"),
                    ],
                    interval_hours: Some(24.0 * 90.0),
                    description_en: "Synthetic storm drains with their design rainfall.",
                },
                drainage,
            ),
            (
                Spec {
                    name: "power-lines",
                    title_zh: "电力线路",
                    title_en: "Power lines",
                    kind: "power_lines",
                    classification: "restricted",
                    owner: "power",
                    fields: vec![
                        field("voltage_kv", FieldType::Number, Some("kV"), "restricted", "电压", "Voltage"),
                        field("underground", FieldType::Boolean, None, "restricted", "地下敷设", "Underground"),
                        field("install_year", FieldType::Integer, None, "restricted", "敷设年份", "Installed"),
                    ],
                    interval_hours: Some(24.0 * 30.0),
                    description_en: "Synthetic power lines.",
                },
                power,
            ),
            (
                Spec {
                    name: "road-closures",
                    title_zh: "道路封闭",
                    title_en: "Road closures",
                    kind: "road_closures",
                    classification: "public",
                    owner: "transport",
                    fields: vec![
                        field("reason", FieldType::Text, None, "public", "原因", "Reason"),
                        field("until", FieldType::Date, None, "public", "预计解除", "Until"),
                    ],
                    interval_hours: Some(24.0),
                    description_en: "Roads closed now (synthetic), for everyone's map.",
                },
                closures,
            ),
            (
                Spec {
                    name: "underpasses",
                    title_zh: "下穿通道（易积水）",
                    title_en: "Underpasses (low-lying)",
                    kind: "underpasses",
                    classification: "public",
                    owner: "transport",
                    fields: vec![
                        field("low_lying", FieldType::Boolean, None, "public", "低洼", "Low-lying"),
                        field("clearance_m", FieldType::Number, Some("m"), "public", "限高", "Clearance"),
                    ],
                    interval_hours: None,
                    description_en: "Low-lying underpasses (synthetic), joined by the water-level rules.",
                },
                underpasses,
            ),
            (
                Spec {
                    name: "hazard-sources",
                    title_zh: "风险隐患点",
                    title_en: "Hazard sources",
                    kind: "hazard_sources",
                    classification: "restricted",
                    owner: "emergency_management",
                    fields: vec![
                        field("kind", FieldType::Text, None, "restricted", "类型", "Kind"),
                        field("risk", FieldType::Text, None, "restricted", "风险等级", "Risk"),
                        field("inspected", FieldType::Date, None, "restricted", "上次检查", "Last inspected"),
                    ],
                    interval_hours: Some(24.0 * 30.0),
                    description_en: "Chemical storage, construction sites, old buildings, fuel stations (synthetic).",
                },
                hazards,
            ),
            (
                Spec {
                    name: "critical-facilities",
                    title_zh: "关键设施",
                    title_en: "Critical facilities",
                    kind: "critical_facilities",
                    classification: "internal",
                    owner: "emergency_management",
                    fields: vec![
                        field("kind", FieldType::Text, None, "public", "类型", "Kind"),
                        field("backup_power", FieldType::Boolean, None, "internal", "备用电源", "Backup power"),
                    ],
                    interval_hours: None,
                    description_en: "Hospitals, clinics, fire and police stations, town halls from the extract.",
                },
                critical,
            ),
        ];
        let system = Context::system("demo", ctx.locale);
        let count = specs.len();
        for (spec, features) in specs {
            let owner = departments.get(spec.owner).copied();
            let input = DatasetInput {
                title_zh: format!("{}（演示）", spec.title_zh),
                title_en: Some(format!("{} (demo)", spec.title_en)),
                kind: spec.kind.into(),
                classification: spec.classification.into(),
                organization_id: owner,
                jurisdiction_id: Some(city),
                fields: spec.fields,
                licence: Some(if spec.classification == "public" { "CC-BY-4.0" } else { "内部共享 / internal use" }.into()),
                description_zh: None,
                description_en: Some(spec.description_en.into()),
                update_interval_hours: spec.interval_hours,
            };
            self.commons().save_dataset(&system, spec.name, input).await?;
            self.commons().upsert_dataset(&system, spec.name, &features, &[]).await?;
        }
        // The gas utility shares its mains with the fire brigade (no pressure), and everything with the command of a
        // gas leak (an accident disaster) of grade III or worse, inside its area, while it is activated; the hazard
        // sources open to any activated incident's command.
        let shares = [
            (
                "gas-pipelines",
                PolicyInput {
                    organization_id: departments.get("fire_rescue").copied(),
                    fields: Some(vec!["material".into(), "diameter_mm".into()]),
                    ..Default::default()
                },
            ),
            (
                "gas-pipelines",
                PolicyInput {
                    activation: Some(ActivationCondition {
                        category: Some("accident_disaster".into()),
                        min_grade: Some("grade_iii".into()),
                        radius_m: None,
                        roles: Vec::new(),
                    }),
                    note: Some("燃气泄漏应急 / gas leak response".into()),
                    ..Default::default()
                },
            ),
            (
                "power-lines",
                PolicyInput {
                    activation: Some(ActivationCondition {
                        category: None,
                        min_grade: Some("grade_ii".into()),
                        radius_m: None,
                        roles: Vec::new(),
                    }),
                    ..Default::default()
                },
            ),
            (
                "hazard-sources",
                PolicyInput {
                    activation: Some(ActivationCondition { category: None, min_grade: None, radius_m: None, roles: Vec::new() }),
                    ..Default::default()
                },
            ),
            ("hazard-sources", PolicyInput { organization_id: departments.get("fire_rescue").copied(), ..Default::default() }),
        ];
        for (name, policy) in shares {
            self.commons().create_policy(&system, name, policy).await?;
        }
        Ok(count)
    }
}
