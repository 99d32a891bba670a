//! Open311 GeoReport v2 with a real client from PyPI (`georeport`, installed by `cargo xtask test` into
//! `target/python`, whose path comes in `GRIDLINE_PYTHONPATH`): list services, post a request, read it back, in JSON
//! and in XML, against a running `gridline serve`.

use crate::{Server, admin_token, data_dir, http};

const CLIENT: &str = r#"
import json, sys
import requests, xmltodict
from georeport import GeoReport

base = sys.argv[1]
discovery = requests.get(f"{base}/open311/v2/discovery.json").json()
assert discovery["endpoints"][0]["specification"] == "http://wiki.open311.org/GeoReport_v2", discovery
for fmt in ("json", "xml"):
    client = GeoReport(f"{base}/open311/v2", output_format=fmt)
    services = client.get_service_list()
    codes = [service["service_code"] for service in services]
    assert "urban_waterlogging" in codes and "gas_leak" in codes, codes
    definition = client.get_service_definition("urban_waterlogging")
    assert definition["service_code"] == "urban_waterlogging", definition
    posted = requests.post(
        f"{base}/open311/v2/requests.{fmt}",
        data={"service_code": "urban_waterlogging", "lat": "31.20", "long": "121.45", "description": f"Underpass flooded ({fmt})",
              "first_name": "Li", "last_name": "Lei", "phone": "13800000000", "address_string": "Tianlin Road"},
    )
    assert posted.status_code == 201, (posted.status_code, posted.text)
    if fmt == "json":
        request_id = posted.json()[0]["service_request_id"]
    else:
        request_id = xmltodict.parse(posted.content)["service_requests"]["request"]["service_request_id"]
    read = client.get_service_request(request_id)
    assert read["service_code"] == "urban_waterlogging" and read["status"] == "open", read
    assert read["description"] == f"Underpass flooded ({fmt})", read
    text = json.dumps(read)
    assert "Lei" not in text and "13800000000" not in text, "no personal data leaves through Open311: " + text
    listed = client.get_service_requests(service_code="urban_waterlogging")
    if isinstance(listed, dict):
        listed = [listed]
    assert request_id in [r["service_request_id"] for r in listed], listed
refused = requests.post(f"{base}/open311/v2/requests.json", data={"service_code": "no_such_service", "lat": "31.2", "long": "121.45"})
assert refused.status_code == 400 and refused.json()[0]["code"] == 400, refused.text
print("open311 ok")
"#;

#[test]
fn a_real_open311_client_lists_posts_and_reads_back() {
    let (guard, dir) = data_dir();
    let token = admin_token(&dir, &[]);
    let server = Server::start(&dir, &[]);
    let boundary = r#"{"type":"MultiPolygon","coordinates":[[[[121.3,31.1],[121.6,31.1],[121.6,31.4],[121.3,31.4],[121.3,31.1]]]]}"#;
    let created = http::request(
        &server.address,
        "POST",
        "/api/v1/jurisdictions",
        Some(&token),
        Some(&format!(r#"{{"level":"city","code":"310000","name_zh":"上海市","boundary":{boundary}}}"#)),
    )
    .unwrap();
    assert_eq!(created.status, 201, "{}", created.body);
    let script = guard.path().join("client.py");
    std::fs::write(&script, CLIENT).unwrap();
    let python_path = std::env::var("GRIDLINE_PYTHONPATH").unwrap_or_default();
    let output = std::process::Command::new("python3")
        .arg(&script)
        .arg(format!("http://{}", server.address))
        .env("PYTHONPATH", &python_path)
        .output()
        .expect("python3 runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success() && stdout.contains("open311 ok"),
        "the Open311 client failed (run through `cargo xtask test`, which installs georeport into target/python):\n{stdout}\n{stderr}"
    );
}
