//! A real-world-shaped CAP feed over HTTPS: the National Weather Service's CAP 1.1 Atom index shape, alerts whose
//! areas are given only by geocodes (FIPS6 and UGC, EMMA_ID, a Chinese administrative code), served with a
//! self-signed certificate the test trusts. Each alert is ingested once, converted to CAP 1.2 and located by its
//! geocodes, or refused with the reason.

use std::path::{Path, PathBuf};

use axum::http::header;
use serde_json::{Value, json};

use crate::{TestApp, World};

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/feed_https").join(name)
}

/// A listener that speaks TLS: every accepted connection is handshaken before axum sees it.
struct TlsListener {
    tcp: tokio::net::TcpListener,
    acceptor: tokio_rustls::TlsAcceptor,
}

impl axum::serve::Listener for TlsListener {
    type Io = tokio_rustls::server::TlsStream<tokio::net::TcpStream>;
    type Addr = std::net::SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        loop {
            let Ok((stream, address)) = self.tcp.accept().await else { continue };
            // A client that does not trust the certificate hangs up during the handshake: wait for the next one.
            if let Ok(tls) = self.acceptor.accept(stream).await {
                return (tls, address);
            }
        }
    }

    fn local_addr(&self) -> std::io::Result<Self::Addr> {
        self.tcp.local_addr()
    }
}

/// Serves the feed and its alerts over HTTPS on localhost; returns the feed's URL and the PEM of its certificate.
async fn https_feed_server(directory: &Path) -> (String, PathBuf) {
    let certificate = rcgen::generate_simple_self_signed(vec!["localhost".to_string()]).unwrap();
    let pem = directory.join("feed-ca.pem");
    std::fs::write(&pem, certificate.cert.pem()).unwrap();
    let key = rustls_pki_types::PrivateKeyDer::Pkcs8(certificate.signing_key.serialize_der().into());
    #[allow(deprecated)]
    let provider = std::sync::Arc::new(tokio_rustls::rustls::crypto::ring::default_provider());
    let config = tokio_rustls::rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(vec![certificate.cert.der().clone()], key)
        .unwrap();
    let router = axum::Router::new()
        .route(
            "/feed.atom",
            axum::routing::get(|| async {
                ([(header::CONTENT_TYPE, "application/atom+xml")], std::fs::read_to_string(fixture("nws_index.atom")).unwrap())
            }),
        )
        .route(
            "/cap/{file}",
            axum::routing::get(|axum::extract::Path(file): axum::extract::Path<String>| async move {
                match std::fs::read_to_string(fixture(&file)) {
                    Ok(text) if !file.contains('/') => Ok(([(header::CONTENT_TYPE, "application/cap+xml")], text)),
                    _ => Err(axum::http::StatusCode::NOT_FOUND),
                }
            }),
        );
    let tcp = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = tcp.local_addr().unwrap().port();
    let listener = TlsListener { tcp, acceptor: tokio_rustls::TlsAcceptor::from(std::sync::Arc::new(config)) };
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    (format!("https://localhost:{port}/feed.atom"), pem)
}

/// Imports boundary files as the boundary table `geocodes-<scheme>`, each feature's id its code.
async fn import_boundary_table(t: &TestApp, scheme: &str, codes: &[&str]) {
    let features: Vec<Value> = codes
        .iter()
        .map(|code| {
            let text = std::fs::read_to_string(fixture(&format!("geocodes/{}_{code}.geojson", scheme.to_ascii_uppercase()))).unwrap();
            let mut feature: Value = serde_json::from_str(&text).unwrap();
            feature["id"] = json!(code);
            feature
        })
        .collect();
    let input = app::commons::LayerImport {
        name: format!("geocodes-{scheme}"),
        title_zh: format!("{scheme} 地理编码边界"),
        title_en: Some(format!("{scheme} geocode boundaries")),
        classification: None,
        organization_id: None,
        jurisdiction_id: None,
    };
    let report =
        t.app.commons().import_layer(&t.system(), input, &json!({"type": "FeatureCollection", "features": features})).await.unwrap();
    assert_eq!(report.inserted as usize, codes.len(), "{report:?}");
}

fn bbox_of(area: &Value) -> [f64; 4] {
    let mut bbox = [f64::MAX, f64::MAX, f64::MIN, f64::MIN];
    fn walk(value: &Value, bbox: &mut [f64; 4]) {
        match value {
            Value::Array(items) if items.len() == 2 && items.iter().all(Value::is_f64) => {
                let (lon, lat) = (items[0].as_f64().unwrap(), items[1].as_f64().unwrap());
                *bbox = [bbox[0].min(lon), bbox[1].min(lat), bbox[2].max(lon), bbox[3].max(lat)];
            }
            Value::Array(items) => items.iter().for_each(|item| walk(item, bbox)),
            Value::Object(map) => map.values().for_each(|item| walk(item, bbox)),
            _ => {}
        }
    }
    walk(area, &mut bbox);
    bbox
}

#[tokio::test]
async fn an_https_cap_1_1_feed_with_geocode_only_areas_is_ingested_once_located_or_refused_with_the_reason() {
    let t = TestApp::new().await;
    World::build(&t).await;
    import_boundary_table(&t, "same", &["027031", "027075"]).await;
    import_boundary_table(&t, "ugc", &["MNZ020", "MNZ021"]).await;
    import_boundary_table(&t, "emma_id", &["EI806", "EI807", "EI808", "EI809"]).await;
    let directory = tempfile::tempdir().unwrap();
    let (url, ca) = https_feed_server(directory.path()).await;
    let feed = app::warnings::FeedConfig { name: "nws".into(), url, ca_file: Some(ca.clone()), interval_seconds: 60 };

    // Without the feed's certificate the connection is refused: the public roots do not vouch for it.
    let untrusting = app::transport::HttpClient::default();
    let refused = t.app.warnings().poll_feed(&feed, &untrusting, &mut std::collections::HashSet::new()).await.unwrap_err();
    assert!(refused.0.contains("TLS") || refused.0.contains("certificate"), "{refused:?}");
    assert_eq!(t.count("warnings").await, 0);

    let client = app::transport::HttpClient::trusting(&[ca]).unwrap();
    let mut seen = std::collections::HashSet::new();
    let report = t.app.warnings().poll_feed(&feed, &client, &mut seen).await.unwrap();
    assert_eq!((report.entries, report.ingested, report.converted), (5, 3, 2), "{report:?}");
    let rejected: std::collections::BTreeMap<&str, &str> = report.rejected.iter().map(|(id, why)| (id.as_str(), why.as_str())).collect();
    let unknown = rejected.get("https://alerts.example.test/cap/wwacapget.php?x=XX.unknown-zones").expect("the unknown zones are refused");
    assert!(
        unknown.contains("none is a known boundary") && unknown.contains("FIPS6 099991") && unknown.contains("UGC XXZ999"),
        "{unknown}"
    );
    assert!(rejected.get("https://alerts.example.test/cap/gone").is_some_and(|why| why.contains("404")), "{rejected:?}");

    // Each is located by its geocodes.
    let warnings = t.app.warnings().public_warnings(50).await.unwrap();
    let area_of = |sender: &str| {
        let row = warnings.iter().find(|w| w.fields.sender == sender).unwrap_or_else(|| panic!("{sender} ingested"));
        bbox_of(&serde_json::from_str(&row.fields.area).unwrap())
    };
    let [west, south, east, north] = area_of("w-nws.webmaster@noaa.gov");
    assert!(
        west > -92.5 && east < -89.0 && south > 46.9 && north < 48.5,
        "Cook and Lake counties, Minnesota: {west},{south},{east},{north}"
    );
    let [west, south, east, north] = area_of("forecasts@met.ie");
    assert!(west > -7.0 && east < -4.5 && south > 53.0 && north < 56.0, "the Irish Sea coast: {west},{south},{east},{north}");
    let [west, south, east, north] = area_of("shanghai-meteo@example.cn");
    let close = |a: f64, b: f64| (a - b).abs() < 1e-9;
    assert!(
        close(west, 121.40) && close(south, 31.12) && close(east, 121.5) && close(north, 31.22),
        "Xuhui by its administrative code: {west},{south},{east},{north}"
    );
    // The CAP 1.1 alerts are kept as the CAP 1.2 they were converted to.
    let blizzard = warnings.iter().find(|w| w.fields.sender == "w-nws.webmaster@noaa.gov").unwrap();
    assert!(blizzard.fields.cap_xml.as_deref().unwrap().contains("urn:oasis:names:tc:emergency:cap:1.2"));

    // Polled again, by this process or a fresh one: nothing new, the refused ones refused again for the same reason.
    let again = t.app.warnings().poll_feed(&feed, &client, &mut seen).await.unwrap();
    assert_eq!((again.ingested, again.known), (0, 4), "{again:?}");
    let fresh = t.app.warnings().poll_feed(&feed, &client, &mut std::collections::HashSet::new()).await.unwrap();
    assert_eq!((fresh.ingested, fresh.known, fresh.rejected.len()), (0, 3, 2), "{fresh:?}");
    assert_eq!(t.count("warnings").await, 3);
}
