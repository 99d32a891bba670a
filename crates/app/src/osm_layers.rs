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
                "properties": {"levels": building.levels, "centroid": building.centroid},
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
