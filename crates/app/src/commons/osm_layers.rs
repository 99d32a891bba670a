//! Storing an OpenStreetMap extract's roads, buildings, water and facilities as map layers.

use serde_json::{Value, json};
use spatial::osm::OsmData;

/// The layers of an extract: (name, Chinese title, English title, GeoJSON FeatureCollection).
pub fn layers(data: &OsmData) -> Vec<(&'static str, &'static str, &'static str, Value)> {
    let facilities: Vec<Value> = data
        .facilities
        .iter()
        .map(|facility| {
            json!({
                "type": "Feature",
                "id": facility.osm_id,
                "geometry": {"type": "Point", "coordinates": facility.at},
                "properties": {
                    "name": facility.name.clone().unwrap_or_else(|| facility.kind.label_zh().to_string()),
                    "kind": facility.kind.code(),
                    "kind_zh": facility.kind.label_zh(),
                    "kind_en": facility.kind.label_en(),
                },
            })
        })
        .collect();
    let buildings: Vec<Value> = data
        .buildings
        .iter()
        .filter(|building| building.footprint.first().is_some_and(|ring| ring.len() >= 4))
        .map(|building| {
            json!({
                "type": "Feature",
                "id": building.osm_id,
                "geometry": {"type": "Polygon", "coordinates": building.footprint},
                "properties": {"levels": building.levels, "centroid": building.centroid, "address": building.address},
            })
        })
        .collect();
    let water: Vec<Value> = data
        .water
        .iter()
        .filter_map(|water| {
            let geometry = if !water.polygons.is_empty() {
                json!({"type": "MultiPolygon", "coordinates": water.polygons})
            } else if water.line.len() >= 2 {
                json!({"type": "LineString", "coordinates": water.line})
            } else {
                return None;
            };
            Some(json!({"type": "Feature", "id": water.osm_id, "geometry": geometry, "properties": {"name": water.name, "kind": water.kind}}))
        })
        .collect();
    // Roads: the drivable graph's edges grouped by the way they came from, as segments.
    let graph = &data.graph;
    let mut roads: std::collections::BTreeMap<u64, Vec<[[f64; 2]; 2]>> = std::collections::BTreeMap::new();
    for edge in 0..graph.edge_count() as u32 {
        let (tail, head, _, _, road) = graph.edge(edge);
        let segment = [graph.node_coord(tail), graph.node_coord(head)];
        let reverse = [segment[1], segment[0]];
        let segments = roads.entry(road).or_default();
        // A two-way road has both directions; draw it once.
        if !segments.contains(&reverse) {
            segments.push(segment);
        }
    }
    let roads: Vec<Value> = roads
        .into_iter()
        .map(|(road, segments)| json!({"type": "Feature", "id": format!("w{road}"), "geometry": {"type": "MultiLineString", "coordinates": segments}, "properties": {}}))
        .collect();
    vec![
        ("osm-roads", "道路", "Roads", json!({"type": "FeatureCollection", "features": roads})),
        ("osm-buildings", "建筑", "Buildings", json!({"type": "FeatureCollection", "features": buildings})),
        ("osm-water", "水系", "Water", json!({"type": "FeatureCollection", "features": water})),
        ("osm-facilities", "设施", "Facilities", json!({"type": "FeatureCollection", "features": facilities})),
    ]
}

impl crate::commons::Commons {
    /// Stores an extract's layers as public datasets of kind `osm` under the ODbL, each with its import report
    /// (the features refused, by index, field and reason). Importing the same extract again changes nothing.
    pub async fn import_osm_datasets(
        &self,
        ctx: &crate::Context,
        data: &OsmData,
        jurisdiction_id: Option<i64>,
    ) -> Result<Vec<(&'static str, crate::commons::layers::LayerImportReport)>, crate::AppError> {
        let mut reports = Vec::new();
        for (name, title_zh, title_en, collection) in layers(data) {
            let input = crate::commons::layers::LayerImport {
                name: name.to_string(),
                title_zh: title_zh.to_string(),
                title_en: Some(title_en.to_string()),
                classification: None,
                organization_id: None,
                jurisdiction_id,
            };
            let report = self.import_layer(ctx, input, &collection).await?;
            let dataset = crate::commons::datasets::DatasetInput {
                title_zh: title_zh.to_string(),
                title_en: Some(title_en.to_string()),
                kind: "osm".into(),
                classification: "public".into(),
                organization_id: None,
                jurisdiction_id,
                fields: Vec::new(),
                licence: Some(OSM_LICENCE.into()),
                description_zh: Some("来自 OpenStreetMap 数据摘录。".into()),
                description_en: Some("From an OpenStreetMap extract.".into()),
                update_interval_hours: None,
            };
            self.save_dataset(ctx, name, dataset).await?;
            reports.push((name, report));
        }
        Ok(reports)
    }
}

/// The licence of OpenStreetMap data.
pub const OSM_LICENCE: &str = "ODbL-1.0 © OpenStreetMap contributors";
