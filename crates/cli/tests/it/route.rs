//! `gridline route` says where each point met the road and how far from it (as OSRM's waypoints do), and says when
//! a destination lies inside the closed area instead of quietly routing to a road outside it.

use crate::{data_dir, fixture_path, gridline};

fn route(args: &[&str]) -> (i32, String, String) {
    let monaco = fixture_path("spatial", "monaco.osm.gz");
    let output = gridline().arg("route").arg(&monaco).args(args).output().unwrap();
    (
        output.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

#[test]
fn route_reports_where_each_point_meets_the_road_and_a_destination_inside_a_closure() {
    // From the Jardin Exotique to the water of Port Hercule: the destination is off any road.
    let (code, stdout, stderr) = route(&["--from", "7.4130,43.7310", "--to", "7.4245,43.7350", "--json"]);
    assert_eq!(code, 0, "{stdout}{stderr}");
    let answer: serde_json::Value = serde_json::from_str(stdout.trim()).unwrap();
    assert!(answer["seconds"].as_f64().unwrap() > 0.0, "{answer}");
    let waypoints = answer["waypoints"].as_array().unwrap();
    assert_eq!(waypoints.len(), 2);
    for waypoint in waypoints {
        let location = waypoint["location"].as_array().unwrap();
        assert!(
            (7.40..7.45).contains(&location[0].as_f64().unwrap()) && (43.72..43.76).contains(&location[1].as_f64().unwrap()),
            "{waypoint}"
        );
        assert!(waypoint["distance_m"].as_f64().unwrap() >= 0.0);
    }
    assert!(waypoints[1]["distance_m"].as_f64().unwrap() > 20.0, "the harbour is off the road: {answer}");
    assert_eq!(answer["same_place"], false);

    // Two points that meet the road at the same place are 0 s apart, and the answer says why.
    let (_, stdout, _) = route(&["--from", "7.4245,43.7350", "--to", "7.4245,43.7350", "--json"]);
    let answer: serde_json::Value = serde_json::from_str(stdout.trim()).unwrap();
    assert_eq!((answer["seconds"].as_f64(), answer["same_place"].as_bool()), (Some(0.0), Some(true)), "{answer}");

    // A destination inside the closed area is said to be there; the route ends at the nearest open road outside.
    let (_guard, dir) = data_dir();
    std::fs::create_dir_all(&dir).unwrap();
    let closure = dir.join("closure.geojson");
    std::fs::write(
        &closure,
        r#"{"type":"Polygon","coordinates":[[[7.4115,43.7300],[7.4145,43.7300],[7.4145,43.7320],[7.4115,43.7320],[7.4115,43.7300]]]}"#,
    )
    .unwrap();
    let (code, stdout, stderr) =
        route(&["--from", "7.4245,43.7350", "--to", "7.4130,43.7310", "--close", closure.to_str().unwrap(), "--json"]);
    assert!(code == 0 || code == 2, "{stdout}{stderr}");
    let answer: serde_json::Value = serde_json::from_str(stdout.trim()).unwrap();
    assert_eq!(answer["waypoints"][1]["inside_closure"], true, "{answer}");
    assert_eq!(answer["waypoints"][0]["inside_closure"], false, "{answer}");
    let (_, text, _) = route(&["--from", "7.4245,43.7350", "--to", "7.4130,43.7310", "--close", closure.to_str().unwrap()]);
    assert!(text.contains("it lies inside the closed area"), "{text}");
    assert!(text.contains("meets the road"), "{text}");
}
