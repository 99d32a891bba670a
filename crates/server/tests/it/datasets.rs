//! The data commons by role: a utility's gas pipelines shared with the fire brigade (some fields), opened to an
//! incident's command while a gas-leak activation lasts and inside its area only, the vulnerable-resident register
//! likewise, every read in the owner's access log with its purpose, and everything closed again at stand-down
//! without anyone revoking it. Imports: a dirty CSV reported row by row, a file refused whole leaving nothing.

use axum::body::Body;
use axum::http::{Method, Request, StatusCode, header};
use serde_json::{Value, json};

use crate::{Auth, TestApp, TestResponse, World};

async fn post_raw(t: &TestApp, path: &str, auth: &Auth, content_type: &str, body: String) -> TestResponse {
    let mut builder =
        Request::builder().method(Method::POST).uri(path).header(header::ACCEPT_LANGUAGE, "en").header(header::CONTENT_TYPE, content_type);
    if let Auth::Token(token) = auth {
        builder = builder.header(header::AUTHORIZATION, format!("Bearer {token}"));
    }
    t.send(builder.body(Body::from(body)).unwrap()).await
}

async fn put(t: &TestApp, path: &str, auth: &Auth, body: Value) -> TestResponse {
    t.request(Method::PUT, path, auth, Some(body)).await
}

async fn organization(t: &TestApp, world: &World, code: &str, sector: &str) -> i64 {
    t.app
        .registry()
        .create_organization(
            &t.system(),
            serde_json::from_value(
                json!({"kind": "department", "sector": sector, "code": code, "name_zh": code, "jurisdiction_id": world.sub_district}),
            )
            .unwrap(),
        )
        .await
        .unwrap()
        .id
}

fn pipeline(id: &str, lon: f64, pressure: f64) -> Value {
    json!({"type": "Feature", "id": id, "geometry": {"type": "LineString", "coordinates": [[lon, 31.163], [lon + 0.004, 31.166]]},
           "properties": {"material": "PE", "diameter_mm": 160, "pressure_kpa": pressure, "install_year": 2009}})
}

async fn reporter_phones(t: &TestApp, incident: i64) -> i64 {
    let mut reader = t.app.store().reader().await.unwrap();
    reader
        .conn()
        .fetch_one("SELECT COUNT(*) AS n FROM reports WHERE incident_id = $1 AND reporter_phone IS NOT NULL", store::params![incident])
        .await
        .unwrap()
        .get("n")
        .unwrap()
}

fn ids(collection: &TestResponse) -> Vec<String> {
    let mut ids: Vec<String> = collection.body["features"]
        .as_array()
        .unwrap_or(&Vec::new())
        .iter()
        .map(|f| f["id"].as_str().unwrap_or_default().to_string())
        .collect();
    ids.sort();
    ids
}

/// The utility, the fire brigade, the pipelines (one in community A, one in B), the households (in A and B).
struct Commons {
    utility: Auth,
    fire: Auth,
    fire_org: i64,
}

async fn commons(t: &TestApp, world: &World) -> Commons {
    let utility_org = organization(t, world, "gas-utility", "gas").await;
    let fire_org = organization(t, world, "fire-brigade", "fire_rescue").await;
    let utility = Auth::Token(
        t.account(
            "gas.liaison",
            vec![json!({"role": "department_liaison", "jurisdiction_id": world.sub_district, "organization_id": utility_org})],
            None,
        )
        .await,
    );
    let fire = Auth::Token(
        t.account(
            "fire.liaison",
            vec![json!({"role": "department_liaison", "jurisdiction_id": world.sub_district, "organization_id": fire_org})],
            None,
        )
        .await,
    );
    let declared = put(
        t,
        "/api/v1/datasets/gas-pipelines",
        &utility,
        json!({"title_zh": "燃气管网", "title_en": "Gas pipelines", "kind": "gas_pipelines", "classification": "restricted",
               "organization_id": utility_org, "licence": "内部共享",
               "update_interval_hours": 720,
               "fields": [
                   {"name": "material", "type": "text", "classification": "restricted", "title_zh": "材质"},
                   {"name": "diameter_mm", "type": "number", "unit": "mm", "classification": "restricted", "title_zh": "管径"},
                   {"name": "pressure_kpa", "type": "number", "unit": "kPa", "classification": "confidential", "title_zh": "压力"},
                   {"name": "install_year", "type": "integer", "classification": "restricted", "title_zh": "敷设年份"}]}),
    )
    .await;
    assert_eq!(declared.status, StatusCode::OK, "{}", declared.text);
    let features = json!({"type": "FeatureCollection", "features": [pipeline("gp-a", 121.412, 400.0), pipeline("gp-b", 121.422, 380.0)]});
    let imported = post_raw(t, "/api/v1/datasets/gas-pipelines/import", &utility, "application/geo+json", features.to_string()).await;
    assert_eq!((imported.status, imported.body["inserted"].as_u64()), (StatusCode::OK, Some(2)), "{}", imported.text);
    // Households: three in grid A1 (two vulnerable), two in community B (one vulnerable).
    let csv = "code,grid_code,address,lon,lat,residents,phone,email,language,vulnerable_needs,vulnerable_consent\n\
        a-1,A1,幸福路1号,121.4105,31.165,1,13800000001,,zh-CN,独居老人,yes\n\
        a-2,A1,幸福路2号,121.4110,31.165,2,13800000002,,zh-CN,轮椅,yes\n\
        a-3,A1,幸福路3号,121.4115,31.165,3,13800000003,,zh-CN,,\n\
        b-1,B,安康路1号,121.4250,31.165,1,13800000011,,zh-CN,卧床,yes\n\
        b-2,B,安康路2号,121.4255,31.165,2,13800000012,,zh-CN,,\n";
    let households = post_raw(t, "/api/v1/households/import", &world.officer, "text/csv", csv.into()).await;
    assert_eq!((households.status, households.body["vulnerable"].as_i64()), (StatusCode::OK, Some(3)), "{}", households.text);
    Commons { utility, fire, fire_org }
}

#[tokio::test]
async fn by_role_a_gas_leak_opens_pipelines_and_register_to_its_command_and_stand_down_closes_them() {
    let t = TestApp::new().await;
    let world = World::build(&t).await;
    t.app.incidents().ensure_shipped_plans().await.unwrap();
    let c = commons(&t, &world).await;
    // The utility shares the pipelines with the fire brigade, without the pressure, and, while a gas leak of grade
    // III or worse is activated, everything with its command inside the incident's area.
    let shared = t
        .post(
            "/api/v1/datasets/gas-pipelines/policies",
            &c.utility,
            json!({"organization_id": c.fire_org, "fields": ["material", "diameter_mm"]}),
        )
        .await;
    assert_eq!(shared.status, StatusCode::CREATED, "{}", shared.text);
    let bound = t
        .post(
            "/api/v1/datasets/gas-pipelines/policies",
            &c.utility,
            json!({"activation": {"category": "accident_disaster", "min_grade": "grade_iii"}, "note": "燃气泄漏应急"}),
        )
        .await;
    assert_eq!(bound.status, StatusCode::CREATED, "{}", bound.text);
    assert_eq!(bound.body["open_for_incidents"], json!([]));

    // Nobody takes the dataset over by importing a layer under its name, nor the register.
    for (name, org) in [("gas-pipelines", c.fire_org), ("vulnerable-residents", c.fire_org)] {
        let takeover = t
            .post(
                &format!("/api/v1/layers?name={name}&title_zh=x&classification=public&organization_id={org}"),
                &c.fire,
                json!({"type": "FeatureCollection", "features": []}),
            )
            .await;
        assert_eq!(takeover.status, StatusCode::FORBIDDEN, "{name}: {}", takeover.text);
    }
    assert_eq!(t.get("/api/v1/datasets/gas-pipelines", &c.utility).await.body["owned"], true, "still the utility's");
    // The fire brigade: both pipelines, their geometry and the two shared fields, never the pressure.
    let fire = t.get("/api/v1/datasets/gas-pipelines/features", &c.fire).await;
    assert_eq!((fire.status, ids(&fire)), (StatusCode::OK, vec!["gp-a".to_string(), "gp-b".to_string()]), "{}", fire.text);
    for feature in fire.body["features"].as_array().unwrap() {
        let properties = feature["properties"].as_object().unwrap();
        assert!(feature["geometry"]["coordinates"].is_array());
        assert_eq!(properties["material"], "PE");
        assert!(!properties.contains_key("pressure_kpa") && !properties.contains_key("install_year"), "{properties:?}");
    }
    let catalogue = t.get("/api/v1/datasets/gas-pipelines", &c.fire).await;
    let field_names: Vec<&str> = catalogue.body["fields"].as_array().unwrap().iter().map(|f| f["name"].as_str().unwrap()).collect();
    assert_eq!(field_names, vec!["material", "diameter_mm"], "the catalogue shows the fire brigade only its fields");
    // The duty officer, before any incident: nothing (the dataset is restricted), and not the register either.
    assert_eq!(t.get("/api/v1/datasets/gas-pipelines/features", &world.officer).await.status, StatusCode::FORBIDDEN);
    assert_eq!(t.get("/api/v1/datasets/vulnerable-residents/features", &world.officer).await.status, StatusCode::FORBIDDEN);

    // A gas leak in community A, graded III, affecting community A; the duty officer activates the gas-leak plan.
    let reported = t
        .post(
            "/api/v1/reports",
            &world.officer,
            json!({"category": "accident_disaster", "subtype": "gas_leak", "description": "燃气泄漏，闻到强烈气味", "lon": 121.414, "lat": 31.1645,
                   "reporter_name": "刘女士", "reporter_phone": "13912340000"}),
        )
        .await;
    assert_eq!(reported.status, StatusCode::CREATED, "{}", reported.text);
    let incident = reported.body["incident"]["id"].as_i64().unwrap();
    let current = t.get(&format!("/api/v1/incidents/{incident}"), &world.officer).await;
    let graded = t
        .patch(
            &format!("/api/v1/incidents/{incident}"),
            &world.officer,
            json!({"version": current.body["version"], "grade": "grade_iii", "affected": [world.community_a]}),
        )
        .await;
    assert_eq!(graded.status, StatusCode::OK, "{}", graded.text);
    let verified = t
        .post(
            &format!("/api/v1/incidents/{incident}/status"),
            &world.officer,
            json!({"version": graded.body["version"], "status": "verified"}),
        )
        .await;
    assert_eq!(verified.status, StatusCode::OK, "{}", verified.text);
    let activated =
        t.post(&format!("/api/v1/incidents/{incident}/activate"), &world.officer, json!({"version": verified.body["version"]})).await;
    assert_eq!(activated.status, StatusCode::OK, "{}", activated.text);
    assert_eq!(activated.body["plan_code"], "gas-leak");

    // Its command now reads the whole pipeline inside the incident's area (community A), with the pressure…
    let command = t.get("/api/v1/datasets/gas-pipelines/features", &world.officer).await;
    assert_eq!((command.status, ids(&command)), (StatusCode::OK, vec!["gp-a".to_string()]), "{}", command.text);
    assert_eq!(command.body["features"][0]["properties"]["pressure_kpa"], 400.0);
    // … and the vulnerable residents inside it, only those.
    let register = t.get("/api/v1/datasets/vulnerable-residents/features", &world.officer).await;
    assert_eq!((register.status, ids(&register)), (StatusCode::OK, vec!["a-1".to_string(), "a-2".to_string()]), "{}", register.text);
    assert_eq!(register.body["features"][0]["properties"]["needs"], "独居老人");
    // The owner sees the policy open for this incident, and each read with the incident as its purpose.
    let policies = t.get("/api/v1/datasets/gas-pipelines/policies", &c.utility).await;
    assert_eq!(policies.body[1]["open_for_incidents"], json!([incident]), "{}", policies.text);
    let log = t.get("/api/v1/datasets/gas-pipelines/access-log", &c.utility).await;
    assert_eq!(log.status, StatusCode::OK, "{}", log.text);
    let entries = log.body.as_array().unwrap();
    assert_eq!(entries.len(), 2, "the fire brigade's read and the command's: {}", log.text);
    assert_eq!((entries[0]["purpose"].as_str(), entries[0]["incident_id"].as_i64()), (Some("incident"), Some(incident)));
    assert!(entries[0]["fields"].as_array().unwrap().contains(&json!("pressure_kpa")));
    assert_eq!(entries[1]["purpose"], "policy");
    assert_eq!(
        t.get("/api/v1/datasets/gas-pipelines/access-log", &c.fire).await.status,
        StatusCode::FORBIDDEN,
        "only the owner sees its log"
    );
    let register_log = t.get("/api/v1/datasets/vulnerable-residents/access-log", &world.admin).await;
    assert_eq!(register_log.body[0]["incident_id"], incident, "{}", register_log.text);
    assert_eq!(register_log.body[0]["features"], 2);

    assert_eq!(reporter_phones(&t, incident).await, 1, "the reporter's phone is kept while the response runs");
    // Stand-down: nobody revokes anything, and the access is gone.
    let now = t.get(&format!("/api/v1/incidents/{incident}"), &world.officer).await;
    let stood_down =
        t.post(&format!("/api/v1/incidents/{incident}/stand-down"), &world.officer, json!({"version": now.body["version"]})).await;
    assert_eq!(stood_down.status, StatusCode::OK, "{}", stood_down.text);
    assert_eq!(t.get("/api/v1/datasets/gas-pipelines/features", &world.officer).await.status, StatusCode::FORBIDDEN);
    assert_eq!(t.get("/api/v1/datasets/vulnerable-residents/features", &world.officer).await.status, StatusCode::FORBIDDEN);
    assert_eq!(t.get("/api/v1/datasets/gas-pipelines/policies", &c.utility).await.body[1]["open_for_incidents"], json!([]));
    // And the personal data the response gathered is purged (Art. 85): the reporter's contact is gone, the
    // audit log says so.
    assert_eq!(reporter_phones(&t, incident).await, 0, "the reporter's phone is purged at stand-down");
    assert!(t.audit(50).await.iter().any(|a| a.action == "data.purge"), "the purge is audited");
    // The fire brigade's standing share is untouched.
    assert_eq!(t.get("/api/v1/datasets/gas-pipelines/features", &c.fire).await.status, StatusCode::OK);
}

#[tokio::test]
async fn the_register_is_read_by_the_assigned_grid_member_only_and_every_read_is_logged() {
    let t = TestApp::new().await;
    let world = World::build(&t).await;
    let c = commons(&t, &world).await;
    let grid = t.get("/api/v1/datasets/vulnerable-residents/features", &world.grid_a1_member).await;
    assert_eq!((grid.status, ids(&grid)), (StatusCode::OK, vec!["a-1".to_string(), "a-2".to_string()]), "{}", grid.text);
    let page = t.get("/api/v1/datasets/vulnerable-residents", &world.grid_a1_member).await;
    assert_eq!((page.status, page.body["classification"].as_str()), (StatusCode::OK, Some("confidential")), "{}", page.text);
    assert_eq!(t.get("/api/v1/datasets/vulnerable-residents", &c.fire).await.status, StatusCode::FORBIDDEN);
    for who in [&c.fire, &c.utility, &world.liaison, &world.cadre_b, &world.admin] {
        let refused = t.get("/api/v1/datasets/vulnerable-residents/features", who).await;
        assert_eq!(refused.status, StatusCode::FORBIDDEN, "nobody else reads the register: {}", refused.text);
    }
    let log = t.get("/api/v1/datasets/vulnerable-residents/access-log", &world.admin).await;
    assert_eq!((log.body[0]["purpose"].as_str(), log.body[0]["features"].as_i64()), (Some("assigned"), Some(2)), "{}", log.text);
}

#[tokio::test]
async fn a_dirty_csv_is_reported_row_by_row_and_a_file_refused_whole_leaves_nothing() {
    let t = TestApp::postgres().await;
    let world = World::build(&t).await;
    let c = commons(&t, &world).await;
    let csv = "id,name,lon,lat,material,diameter_mm,install_year\n\
        v-1,Valve 1,121.412,31.163,steel,100,2001\n\
        v-2,Valve 2,121.999,95.0,steel,100,2001\n\
        v-3,Valve 3,abc,31.163,steel,100,2001\n\
        v-4,Valve 4,121.413,31.163,steel,wide,2001\n\
        v-5,Valve 5,121.414,31.163,steel,80,2001.5\n\
        v-1,Valve 1 again,121.415,31.163,steel,100,2001\n\
        ,No id,121.416,31.163,steel,100,2001\n\
        \"v-6\",\"Valve 6, east gate\",121.417,31.163,\"PE \"\"100\"\"\",90,2015\n";
    let first = post_raw(&t, "/api/v1/datasets/gas-pipelines/import", &c.utility, "text/csv", csv.into()).await;
    assert_eq!(first.status, StatusCode::OK, "{}", first.text);
    let problems: Vec<(i64, &str)> =
        first.body["rejected"].as_array().unwrap().iter().map(|p| (p["line"].as_i64().unwrap(), p["field"].as_str().unwrap())).collect();
    assert_eq!(problems, vec![(3, "lon"), (4, "lon"), (5, "diameter_mm"), (6, "install_year"), (7, "id"), (8, "id")], "{}", first.text);
    assert!(first.body["rejected"][4]["reason"].as_str().unwrap().contains("line 2"), "a duplicate names its first line");
    assert_eq!((first.body["rows"].as_u64(), first.body["inserted"].as_u64()), (Some(8), Some(2)));
    let again = post_raw(&t, "/api/v1/datasets/gas-pipelines/import", &c.utility, "text/csv", csv.into()).await;
    assert_eq!(
        (again.body["inserted"].as_u64(), again.body["updated"].as_u64(), again.body["unchanged"].as_u64()),
        (Some(0), Some(0), Some(2))
    );
    let all = t.get("/api/v1/datasets/gas-pipelines/features", &c.utility).await;
    let v6 = all.body["features"].as_array().unwrap().iter().find(|f| f["id"] == "v-6").unwrap().clone();
    assert_eq!(
        (v6["properties"]["name"].as_str(), v6["properties"]["material"].as_str()),
        (Some("Valve 6, east gate"), Some("PE \"100\""))
    );
    assert_eq!(v6["properties"]["diameter_mm"], 90.0);
    assert_eq!(all.body["features"].as_array().unwrap().len(), 4, "the two pipelines and the two good valves");

    // Refused whole: no id column, not UTF-8, not JSON. Nothing written.
    let before = t.count("feature_versions").await;
    let no_id =
        post_raw(&t, "/api/v1/datasets/gas-pipelines/import", &c.utility, "text/csv", "name,lon,lat\nX,121.41,31.16\n".into()).await;
    assert_eq!((no_id.status, no_id.body["field"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("header.id")), "{}", no_id.text);
    let broken = post_raw(
        &t,
        "/api/v1/datasets/gas-pipelines/import",
        &c.utility,
        "application/geo+json",
        "{\"type\": \"FeatureCollection\", ".into(),
    )
    .await;
    assert_eq!(broken.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", broken.text);
    assert_eq!(t.count("feature_versions").await, before, "a file refused whole writes nothing");
    // Somebody else's dataset: refused.
    let foreign = post_raw(&t, "/api/v1/datasets/gas-pipelines/import", &c.fire, "text/csv", csv.into()).await;
    assert_eq!(foreign.status, StatusCode::FORBIDDEN);

    // Versioned: a change through the upsert API, then the dataset "as of" before it.
    let before_change = app::time::rfc3339(t.app.now_ms());
    t.clock.advance_ms(60_000);
    let changed = t
        .post(
            "/api/v1/datasets/gas-pipelines/features",
            &c.utility,
            json!({"upsert": [pipeline("gp-a", 121.412, 420.0)], "delete": ["v-1"]}),
        )
        .await;
    assert_eq!((changed.body["updated"].as_u64(), changed.body["deleted"].as_u64()), (Some(1), Some(1)), "{}", changed.text);
    let then = t.get(&format!("/api/v1/datasets/gas-pipelines/features?as_of={before_change}"), &c.utility).await;
    assert_eq!(ids(&then), vec!["gp-a", "gp-b", "v-1", "v-6"], "{}", then.text);
    let gp_a = then.body["features"].as_array().unwrap().iter().find(|f| f["id"] == "gp-a").unwrap().clone();
    assert_eq!(gp_a["properties"]["pressure_kpa"], 400.0, "as it was");
    let now = t.get("/api/v1/datasets/gas-pipelines/features", &c.utility).await;
    assert_eq!(ids(&now), vec!["gp-a", "gp-b", "v-6"]);
    // The map shows it as of that time too.
    let map =
        t.get(&format!("/api/v1/layers/gas-pipelines/features?bbox=121.3,31.1,121.5,31.2&zoom=14&as_of={before_change}"), &c.utility).await;
    assert_eq!(
        (map.status, ids(&map)),
        (StatusCode::OK, vec!["gp-a".to_string(), "gp-b".to_string(), "v-1".to_string(), "v-6".to_string()]),
        "{}",
        map.text
    );
    let bad = t.get("/api/v1/layers/gas-pipelines/features?bbox=121.3,31.1,121.5,31.2&as_of=yesterday", &c.utility).await;
    assert_eq!((bad.status, bad.body["field"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("as_of")));
}

#[tokio::test]
async fn an_osm_extract_imports_as_public_datasets_with_its_report_and_again_changes_nothing() {
    let t = TestApp::new().await;
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../spatial/tests/fixtures/monaco.osm.gz");
    let (data, osm_report) = spatial::osm::import_path(&path, &mut |_| {}).unwrap();
    let first = t.app.commons().import_osm_datasets(&t.system(), &data, None).await.unwrap();
    let names: Vec<&str> = first.iter().map(|(name, _)| *name).collect();
    assert_eq!(names, vec!["osm-roads", "osm-buildings", "osm-water", "osm-facilities"]);
    for (name, report) in &first {
        assert_eq!(report.inserted as usize + report.rejected.len(), report.features, "{name}: every feature stored or reported");
        assert!(report.rejected.iter().all(|r| r.field.is_some() && !r.message.is_empty()), "{name}: {:?}", report.rejected);
    }
    assert!(first[1].1.inserted > 100, "Monaco's buildings");
    // The geo engine's own report: the ways and relations it could not use, one by one.
    assert!(osm_report.examples.len() <= spatial::osm::ImportReport::MAX_EXAMPLES.min(osm_report.problem_count()));
    let again = t.app.commons().import_osm_datasets(&t.system(), &data, None).await.unwrap();
    assert!(again.iter().all(|(_, r)| r.inserted == 0 && r.updated == 0), "importing the same extract again changes nothing");
    // CSV rows placed by address: on the building of that address, its centroid.
    let addressed = data.buildings.iter().find(|b| b.address.is_some()).expect("Monaco's extract has addressed buildings");
    let address = addressed.address.clone().unwrap();
    let world = World::build(&t).await;
    let declared = put(
        &t,
        "/api/v1/datasets/aeds",
        &world.admin,
        json!({"title_zh": "除颤器", "kind": "critical_facilities", "classification": "public",
        "fields": [{"name": "address", "type": "text", "classification": "public"}]}),
    )
    .await;
    assert_eq!(declared.status, StatusCode::OK, "{}", declared.text);
    let csv = format!("id,name,lon,lat,address\naed-1,AED,,,\"{}\"\naed-2,AED 2,,,Nowhere Street 999\n", address.to_uppercase());
    let imported = post_raw(&t, "/api/v1/datasets/aeds/import", &world.admin, "text/csv", csv).await;
    assert_eq!(imported.body["inserted"], 1, "{}", imported.text);
    assert_eq!((imported.body["rejected"][0]["line"].as_i64(), imported.body["rejected"][0]["field"].as_str()), (Some(3), Some("address")));
    let placed = t.get("/api/v1/datasets/aeds/features", &world.admin).await;
    assert_eq!(placed.body["features"][0]["geometry"]["coordinates"], json!(addressed.centroid), "{}", placed.text);

    let catalogue = t.get("/api/v1/datasets", &Auth::None).await;
    let buildings = catalogue.body.as_array().unwrap().iter().find(|d| d["name"] == "osm-buildings").unwrap().clone();
    assert_eq!((buildings["kind"].as_str(), buildings["classification"].as_str()), (Some("osm"), Some("public")));
    assert!(buildings["licence"].as_str().unwrap().contains("ODbL"));
}

/// Every public URL, followed from the portal's links and the catalogue's downloads, carries nothing classified
/// above public: no protected field, no personal data, no exact incident.
#[tokio::test]
async fn a_crawl_of_every_public_url_finds_nothing_above_public() {
    let t = TestApp::new().await;
    let world = World::build(&t).await;
    let _c = commons(&t, &world).await;
    let declared = put(
        &t,
        "/api/v1/datasets/shelters",
        &world.admin,
        json!({"title_zh": "应急避难场所", "title_en": "Shelters", "kind": "shelters", "classification": "public", "organization_id": world.water,
               "licence": "CC-BY-4.0", "fields": [
                   {"name": "capacity", "type": "integer", "classification": "public"},
                   {"name": "occupancy", "type": "integer", "classification": "public"},
                   {"name": "contact_phone", "type": "text", "classification": "restricted"},
                   {"name": "notes", "type": "text", "classification": "internal"}]}),
    )
    .await;
    assert_eq!(declared.status, StatusCode::OK, "{}", declared.text);
    let shelters = json!({"type": "FeatureCollection", "features": [
        {"type": "Feature", "id": "s-1", "geometry": {"type": "Point", "coordinates": [121.413, 31.163]},
         "properties": {"name": "田林中学", "capacity": 800, "occupancy": 120, "contact_phone": "021-5555-0101", "notes": "钥匙在物业"}},
        {"type": "Feature", "id": "s-2", "geometry": {"type": "Point", "coordinates": [121.423, 31.163]},
         "properties": {"name": "体育馆", "capacity": 1500, "occupancy": 0, "contact_phone": "021-5555-0102", "notes": "备用发电机"}}]});
    let imported = post_raw(&t, "/api/v1/datasets/shelters/import", &world.admin, "application/geo+json", shelters.to_string()).await;
    assert_eq!(imported.body["inserted"], 2, "{}", imported.text);
    // Three incidents in one cell, one alone in another.
    for (i, (lon, lat)) in [(121.4112, 31.1611), (121.4127, 31.1626), (121.4143, 31.1641), (121.4260, 31.1660)].iter().enumerate() {
        let reported = t
            .post("/api/v1/reports", &world.officer, json!({"category": "accident_disaster", "subtype": "gas_leak", "description": format!("秘密描述{i}"), "lon": lon, "lat": lat}))
            .await;
        assert_eq!(reported.status, StatusCode::CREATED, "{}", reported.text);
        // Only confirmed incidents count on the public map: the duty officer verifies these.
        let id = reported.body["incident"]["id"].as_i64().unwrap();
        let version = reported.body["incident"]["version"].clone();
        let verified =
            t.post(&format!("/api/v1/incidents/{id}/status"), &world.officer, json!({"version": version, "status": "verified"})).await;
        assert_eq!(verified.status, StatusCode::OK, "{}", verified.text);
    }
    assert_eq!(t.get("/api/v1/incidents?open=true", &world.officer).await.body["total"], 4);
    // An unverified report in the same cell does not lift anything.
    let unverified = t
        .post(
            "/api/v1/reports",
            &world.officer,
            json!({"category": "accident_disaster", "subtype": "gas_leak", "description": "秘密描述x", "lon": 121.4265, "lat": 31.1665}),
        )
        .await;
    assert_eq!(unverified.status, StatusCode::CREATED);

    let forbidden = [
        "contact_phone",
        "021-5555",
        "notes",
        "钥匙在物业",
        "备用发电机",
        "pressure_kpa",
        "gas-pipelines",
        "燃气管网",
        "vulnerable-residents",
        "独居老人",
        "13800000001",
        "幸福路",
        "秘密描述",
        "121.4112",
        "121.4127",
        "121.4143",
        "121.426,",
    ];
    let mut queue: Vec<String> =
        ["/public/data", "/public/data/catalog.json", "/public/warnings", "/public/warnings.atom"].iter().map(|s| s.to_string()).collect();
    let mut seen = std::collections::BTreeSet::new();
    while let Some(path) = queue.pop() {
        if !seen.insert(path.clone()) {
            continue;
        }
        let response = t.get(&path, &Auth::None).await;
        assert_eq!(response.status, StatusCode::OK, "{path}: {}", response.text);
        for word in forbidden {
            assert!(!response.text.contains(word), "{path} shows {word:?}: {}", response.text);
        }
        // Follow every link to a public page or file, in HTML and in JSON alike.
        for part in response.text.split("/public/").skip(1) {
            let end = part.find(['"', '\'', '<', ' ', '#', ')', '\\']).unwrap_or(part.len());
            let link = format!("/public/{}", &part[..end]);
            if !link.ends_with('/') && !seen.contains(&link) {
                queue.push(link);
            }
        }
    }
    for expected in [
        "/public/data/shelters.geojson",
        "/public/data/shelters.csv",
        "/public/data/osm-roads.geojson",
        "/public/data/live/incidents.geojson",
    ] {
        assert!(seen.contains(expected) || expected.contains("osm"), "the crawl reached {expected}: {seen:?}");
    }
    let csv = t.get("/public/data/shelters.csv", &Auth::None).await;
    assert!(csv.text.starts_with("id,name,lon,lat,capacity,occupancy\n"), "{}", csv.text);
    let counts = t.get("/public/data/live/incidents.geojson", &Auth::None).await;
    let features = counts.body["features"].as_array().unwrap();
    assert_eq!(features.len(), 1, "the cell of one incident is suppressed: {}", counts.text);
    assert_eq!(features[0]["properties"]["count"], 3);
    assert_eq!(features[0]["geometry"]["coordinates"], json!([121.4125, 31.1625]), "placed at the cell's centre");
    for hidden in ["/public/data/gas-pipelines.geojson", "/public/data/vulnerable-residents.csv", "/public/data/nothing.geojson"] {
        assert_eq!(t.get(hidden, &Auth::None).await.status, StatusCode::NOT_FOUND, "{hidden}");
    }
}

#[tokio::test]
async fn a_dataset_older_than_its_interval_is_flagged_once_to_its_owner_and_fresh_again_after_an_update() {
    let t = TestApp::new().await;
    let world = World::build(&t).await;
    let c = commons(&t, &world).await;
    assert_eq!(t.app.commons().flag_stale_datasets().await.unwrap(), 0);
    t.clock.advance_ms(31 * 24 * 3_600_000);
    assert_eq!(t.app.commons().flag_stale_datasets().await.unwrap(), 1, "the pipelines promised a monthly update");
    assert_eq!(t.app.commons().flag_stale_datasets().await.unwrap(), 0, "flagged once");
    let view = t.get("/api/v1/datasets/gas-pipelines", &c.utility).await;
    assert_eq!((view.body["stale"].as_bool(), view.body["stale_since"].is_string()), (Some(true), true), "{}", view.text);
    let layers = t.get("/api/v1/layers", &c.utility).await;
    let layer = layers.body.as_array().unwrap().iter().find(|l| l["name"] == "gas-pipelines").unwrap().clone();
    assert_eq!(layer["stale"], true, "the map greys it");
    let events = t.count("events").await;
    assert!(events > 0);
    let updated =
        t.post("/api/v1/datasets/gas-pipelines/features", &c.utility, json!({"upsert": [pipeline("gp-c", 121.415, 300.0)]})).await;
    assert_eq!(updated.body["inserted"], 1, "{}", updated.text);
    assert_eq!(t.get("/api/v1/datasets/gas-pipelines", &c.utility).await.body["stale"], false, "an update makes it fresh");
}

/// A resident sees who viewed the household's record: a code by text to the registered phone, then the reads, each
/// with who and why. Unregistered numbers get the same answer and no text; wrong codes are counted and spent.
#[tokio::test]
async fn a_resident_sees_who_viewed_the_record_with_a_code_sent_by_text() {
    let (t, received, _) = crate::warnings::app_with_receivers().await;
    let world = World::build(&t).await;
    commons(&t, &world).await;
    // The grid member reads the register (a-1 and a-2 are in grid A1).
    assert_eq!(t.get("/api/v1/datasets/vulnerable-residents/features", &world.grid_a1_member).await.status, StatusCode::OK);
    let form = |path: &str, body: String| {
        Request::builder()
            .method(Method::POST)
            .uri(path.to_string())
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .header(header::ACCEPT_LANGUAGE, "en")
            .header(header::ORIGIN, "http://gridline.test")
            .header(header::HOST, "gridline.test")
            .body(Body::from(body))
            .unwrap()
    };
    let asked = t.send(form("/public/my-data/code", "phone=138-0000-0001".into())).await;
    assert_eq!(asked.status, StatusCode::OK, "{}", asked.text);
    let unknown = t.send(form("/public/my-data/code", "phone=13999999999".into())).await;
    assert_eq!(unknown.status, StatusCode::OK, "the same answer for a number nobody registered");
    // The text goes out after the answer (so that the answer's timing says nothing).
    let sms = || -> Vec<String> { received.lock().unwrap().iter().filter(|r| r.path == "/sms").map(|r| r.body.clone()).collect() };
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while sms().is_empty() && std::time::Instant::now() < deadline {
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    let texts = sms();
    assert_eq!(texts.len(), 1, "one text, to the registered number: {texts:?}");
    let text: Value = serde_json::from_str(&texts[0]).unwrap();
    assert_eq!(text["to"], "13800000001");
    let code: String = text["text"].as_str().unwrap().chars().filter(char::is_ascii_digit).take(6).collect();
    assert_eq!(code.len(), 6, "{text}");
    let wrong = if code == "000000" { "111111" } else { "000000" };
    let refused = t.send(form("/public/my-data", format!("phone=13800000001&code={wrong}"))).await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    let shown = t.send(form("/public/my-data", format!("phone=13800000001&code={code}"))).await;
    assert_eq!(shown.status, StatusCode::OK, "{}", shown.text);
    assert!(shown.text.contains("assigned grid"), "the grid member's read, with its purpose: {}", shown.text);
    let again = t.send(form("/public/my-data", format!("phone=13800000001&code={code}"))).await;
    assert_eq!(again.status, StatusCode::UNPROCESSABLE_ENTITY, "a code is used once");
    // Without the page's own origin, the form is refused.
    let mut cross = form("/public/my-data/code", "phone=13800000001".into());
    cross.headers_mut().insert(header::ORIGIN, "http://evil.test".parse().unwrap());
    assert_eq!(t.send(cross).await.status, StatusCode::FORBIDDEN);
}
