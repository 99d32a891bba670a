//! Every absolute link Gridline gives out starts with its public address — the address `serve` listens on unless
//! `public_url` is configured — and never with what a request's `Host` header claims.

use std::io::{Read, Write};

use crate::{Server, admin_token, data_dir, fixture_path, http, run, second_admin_token};

/// A GET with a `Host` header of our choosing; the body.
fn get_as(address: &str, host: &str, path: &str) -> (u16, String) {
    let mut stream = std::net::TcpStream::connect(address).unwrap();
    stream.write_all(format!("GET {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n").as_bytes()).unwrap();
    let mut raw = String::new();
    stream.read_to_string(&mut raw).unwrap();
    let (head, body) = raw.split_once("\r\n\r\n").unwrap();
    let status = head.split_whitespace().nth(1).unwrap().parse().unwrap();
    let body = if head.to_ascii_lowercase().contains("transfer-encoding: chunked") {
        let mut out = String::new();
        let mut rest = body;
        while let Some((size, tail)) = rest.split_once("\r\n") {
            let size = usize::from_str_radix(size.trim(), 16).unwrap_or(0);
            if size == 0 {
                break;
            }
            out.push_str(&tail[..size]);
            rest = &tail[size + 2..];
        }
        out
    } else {
        body.to_string()
    };
    (status, body)
}

/// The absolute `http://` links in a text (JSON strings, XML attributes and elements).
fn links(text: &str) -> Vec<String> {
    text.match_indices("http://")
        .map(|(start, _)| text[start..].split(['"', '<', ' ', '\'']).next().unwrap().to_string())
        .filter(|link| !link.starts_with("http://www.w3.org") && !link.starts_with("http://purl.org") && !link.contains("open311.org"))
        .collect()
}

#[test]
fn every_link_resolves_on_the_server_that_gave_it_whatever_the_host_header_says() {
    let (_guard, dir) = data_dir();
    let token = admin_token(&dir, &[]);
    let approver = second_admin_token(&dir, &[]);
    let monaco = fixture_path("spatial", "monaco.osm.gz");
    let (code, stdout, stderr) = run(&dir, &["import", "osm", monaco.to_str().unwrap(), "--store"], None);
    assert_eq!(code, 0, "{stdout}{stderr}");
    // Not the default port: the links must say the port it really listens on.
    let server = Server::start(&dir, &[]);
    assert!(!server.address.ends_with(":8080"));
    let base = format!("http://{}", server.address);
    let boundary = r#"{"type":"MultiPolygon","coordinates":[[[[7.40,43.72],[7.44,43.72],[7.44,43.76],[7.40,43.76],[7.40,43.72]]]]}"#;
    let city = http::request(
        &server.address,
        "POST",
        "/api/v1/jurisdictions",
        Some(&token),
        Some(&format!(r#"{{"level":"city","code":"MC","name_zh":"摩纳哥","boundary":{boundary}}}"#)),
    )
    .unwrap();
    let city: serde_json::Value = serde_json::from_str(&city.body).unwrap();
    let expires = jiff::Timestamp::now().checked_add(jiff::SignedDuration::from_hours(12)).unwrap().to_string();
    let draft = http::request(
        &server.address,
        "POST",
        "/api/v1/warnings/drafts",
        Some(&token),
        Some(&format!(
            r#"{{"jurisdiction_id":{},"level":"yellow","hazard":"gale","headline_zh":"大风黄色预警","description_zh":"大风。","instruction_zh":"注意安全。","area":{boundary},"expires_at":"{expires}"}}"#,
            city["id"]
        )),
    )
    .unwrap();
    let id = serde_json::from_str::<serde_json::Value>(&draft.body).unwrap()["id"].as_i64().unwrap();
    assert_eq!(
        http::request(&server.address, "POST", &format!("/api/v1/warnings/{id}/approve"), Some(&approver), Some(r#"{"version":1}"#))
            .unwrap()
            .status,
        200
    );
    assert_eq!(
        http::request(&server.address, "POST", &format!("/api/v1/warnings/{id}/issue"), Some(&token), Some(r#"{"version":2}"#))
            .unwrap()
            .status,
        200
    );

    let mut checked = 0;
    for path in ["/public/data/catalog.json", "/public/warnings.atom", "/open311/v2/discovery.json", "/open311/v2/discovery.xml"] {
        let (status, honest) = get_as(&server.address, &server.address, path);
        assert_eq!(status, 200, "{path}: {honest}");
        // A forged Host header changes no link.
        let (_, forged) = get_as(&server.address, "evil.example", path);
        assert!(!forged.contains("evil.example"), "{path} took a link from the Host header: {forged}");
        assert_eq!(links(&honest), links(&forged), "{path}");
        let found = links(&honest);
        assert!(!found.is_empty(), "{path} has links");
        for link in found {
            assert!(link.starts_with(&base), "{path}: {link} is not on {base}");
            let target = &link[base.len()..];
            let (status, _) = get_as(&server.address, &server.address, if target.is_empty() { "/" } else { target });
            assert!(status == 200 || status == 303, "{path}: {link} answers {status}");
            checked += 1;
        }
    }
    assert!(checked >= 8, "{checked} links checked");
    // Atom entry ids are IRIs that never change (RFC 4287 §4.2.6): tag: URIs minted by the sender.
    let (_, atom) = get_as(&server.address, &server.address, "/public/warnings.atom");
    assert!(atom.contains("<id>tag:gridline@localhost,"), "{atom}");

    // With a public address configured, links use it whatever address the server listens on.
    drop(server);
    let server = Server::start(&dir, &[("GRIDLINE_PUBLIC_URL", "https://gridline.example.gov.cn")]);
    let (_, catalog) = get_as(&server.address, &server.address, "/public/data/catalog.json");
    assert!(links(&catalog).is_empty(), "no http:// link is left");
    assert!(catalog.contains("https://gridline.example.gov.cn/public/data/"), "{catalog}");
}
