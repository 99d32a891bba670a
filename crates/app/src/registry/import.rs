//! Importing jurisdiction boundaries from GeoJSON (for example the Shanghai districts, or boundaries assembled
//! from OpenStreetMap). Each feature is created, or updated when a jurisdiction with its code exists. Bad
//! features are reported by index with the field at fault and skipped; the good ones are imported.

use domain::Invalid;
use domain::InvalidReason;
use domain::registry::JurisdictionLevel;

use super::jurisdictions::{JurisdictionPatch, NewJurisdiction};
use crate::registry::Registry;
use crate::{AppError, Context};

/// Where to find a feature's code and names.
#[derive(Debug, Clone, Default)]
pub struct ImportOptions {
    /// The level of every imported jurisdiction.
    pub level: Option<JurisdictionLevel>,
    /// The code of the parent jurisdiction for every feature; otherwise each feature's parent is looked up by
    /// the parent-code property, if present and known, else it becomes a root.
    pub parent_code: Option<String>,
    /// Property holding the code (default: the first of `code`, `dt_adcode`, `ct_adcode`, `pr_adcode`, `adcode`, `ref`, `id`).
    pub code_property: Option<String>,
    /// Property holding the Chinese name (default: the first of `name_zh`, `name:zh`, `dt_name`, `ct_name`, `pr_name`, `name`).
    pub name_property: Option<String>,
    /// Property holding the English name (default: `name_en` or `name:en`).
    pub name_en_property: Option<String>,
}

/// What an import did.
#[derive(Debug, Clone, Default, serde::Serialize, utoipa::ToSchema)]
pub struct ImportReport {
    /// Features read.
    pub features: usize,
    /// Jurisdictions created.
    pub created: usize,
    /// Jurisdictions updated.
    pub updated: usize,
    /// Features identical to what is stored.
    pub unchanged: usize,
    /// Features rejected: index, field at fault and message.
    pub rejected: Vec<RejectedFeature>,
}

/// A feature that was not imported.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct RejectedFeature {
    /// Position in the collection, from 0.
    pub index: usize,
    /// The field at fault.
    pub field: Option<String>,
    /// Why, in the caller's language.
    pub message: String,
}

/// What happened to one feature.
enum Imported {
    Created,
    Updated,
    Unchanged,
}

const CODE_KEYS: &[&str] = &["code", "dt_adcode", "ct_adcode", "pr_adcode", "adcode", "ref", "id"];
const NAME_KEYS: &[&str] = &["name_zh", "name:zh", "dt_name", "ct_name", "pr_name", "name"];
const NAME_EN_KEYS: &[&str] = &["name_en", "name:en"];
/// For a feature whose code came from key K, the key of its parent's code.
const PARENT_KEYS: &[(&str, &str)] = &[("dt_adcode", "ct_adcode"), ("ct_adcode", "pr_adcode"), ("pr_adcode", "cn_adcode")];

fn property_text(properties: &serde_json::Map<String, serde_json::Value>, key: &str) -> Option<String> {
    match properties.get(key)? {
        serde_json::Value::String(text) if !text.trim().is_empty() => Some(text.trim().to_string()),
        serde_json::Value::Number(number) => Some(number.to_string()),
        _ => None,
    }
}

fn pick(
    properties: &serde_json::Map<String, serde_json::Value>,
    explicit: Option<&String>,
    defaults: &[&'static str],
) -> Option<(String, String)> {
    match explicit {
        Some(key) => property_text(properties, key).map(|value| (key.clone(), value)),
        None => defaults.iter().find_map(|key| property_text(properties, key).map(|value| (key.to_string(), value))),
    }
}

impl Registry {
    /// Imports every feature of a GeoJSON FeatureCollection (or a single Feature) as a jurisdiction.
    pub async fn import_boundaries(
        &self,
        ctx: &Context,
        geojson: &serde_json::Value,
        options: &ImportOptions,
    ) -> Result<ImportReport, AppError> {
        self.jurisdictions_changed();
        let features: Vec<&serde_json::Value> = match geojson.get("type").and_then(|t| t.as_str()) {
            Some("FeatureCollection") => geojson
                .get("features")
                .and_then(|f| f.as_array())
                .ok_or_else(|| Invalid::new("features", InvalidReason::Required))?
                .iter()
                .collect(),
            Some("Feature") => vec![geojson],
            _ => return Err(Invalid::new("type", InvalidReason::UnknownValue { allowed: vec!["FeatureCollection", "Feature"] }).into()),
        };
        let level = options.level.ok_or_else(|| Invalid::new("level", InvalidReason::Required))?;
        let fixed_parent = match &options.parent_code {
            Some(code) => {
                Some(self.find_jurisdiction_by_code(code).await?.ok_or_else(|| Invalid::new("parent", InvalidReason::NotFound))?.id)
            }
            None => None,
        };
        let mut report = ImportReport { features: features.len(), ..ImportReport::default() };
        for (index, feature) in features.into_iter().enumerate() {
            match self.import_feature(ctx, feature, level, fixed_parent, options).await {
                Ok(Imported::Created) => report.created += 1,
                Ok(Imported::Updated) => report.updated += 1,
                Ok(Imported::Unchanged) => report.unchanged += 1,
                Err(error) => {
                    let mut message = error.message(ctx.locale);
                    // The operator at the command line may see what went wrong inside.
                    if let (AppError::Internal(detail), true) = (&error, ctx.is_system()) {
                        message = format!("{message} ({detail})");
                    }
                    report.rejected.push(RejectedFeature { index, field: error.field().map(str::to_string), message })
                }
            }
        }
        Ok(report)
    }

    /// Imports one feature.
    async fn import_feature(
        &self,
        ctx: &Context,
        feature: &serde_json::Value,
        level: JurisdictionLevel,
        fixed_parent: Option<i64>,
        options: &ImportOptions,
    ) -> Result<Imported, AppError> {
        let empty = serde_json::Map::new();
        let properties = feature.get("properties").and_then(|p| p.as_object()).unwrap_or(&empty);
        let (code_key, code) = pick(properties, options.code_property.as_ref(), CODE_KEYS)
            .ok_or_else(|| Invalid::new("properties.code", InvalidReason::Required))?;
        let (_, name_zh) = pick(properties, options.name_property.as_ref(), NAME_KEYS)
            .ok_or_else(|| Invalid::new("properties.name", InvalidReason::Required))?;
        let name_en = pick(properties, options.name_en_property.as_ref(), NAME_EN_KEYS).map(|(_, name)| name);
        let geometry =
            feature.get("geometry").filter(|g| !g.is_null()).ok_or_else(|| Invalid::new("geometry", InvalidReason::Required))?.clone();
        match self.find_jurisdiction_by_code(&code).await? {
            Some(existing) => {
                let patch = JurisdictionPatch {
                    version: Some(existing.version),
                    code: None,
                    name_zh: Some(name_zh),
                    name_en: name_en.map(Some),
                    timezone: None,
                    boundary: Some(Some(geometry)),
                    mode: None,
                };
                let updated = self.update_jurisdiction(ctx, existing.id, patch).await?;
                Ok(if updated.version == existing.version { Imported::Unchanged } else { Imported::Updated })
            }
            None => {
                let parent_id = match fixed_parent {
                    Some(id) => Some(id),
                    None => match PARENT_KEYS
                        .iter()
                        .find(|(key, _)| *key == code_key)
                        .and_then(|(_, parent_key)| property_text(properties, parent_key))
                    {
                        Some(parent_code) => self.find_jurisdiction_by_code(&parent_code).await?.map(|row| row.id),
                        None => None,
                    },
                };
                let input = NewJurisdiction {
                    parent_id,
                    level: level.code().to_string(),
                    code,
                    name_zh,
                    name_en,
                    timezone: None,
                    boundary: Some(geometry),
                };
                self.create_jurisdiction(ctx, input).await?;
                Ok(Imported::Created)
            }
        }
    }
}
