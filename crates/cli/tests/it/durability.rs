//! An acknowledged write survives `kill -9` of the server.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::{Server, admin_token, data_dir, http};

#[test]
fn no_acknowledged_write_is_lost_when_the_server_is_killed() {
    let (_guard, dir) = data_dir();
    // A jurisdiction for the organizations to belong to.
    let token = admin_token(&dir, &[]);
    let server = Server::start(&dir, &[]);
    let created = http::request(
        &server.address,
        "POST",
        "/api/v1/jurisdictions",
        Some(&token),
        Some(r#"{"level":"city","code":"c","name_zh":"城"}"#),
    )
    .unwrap();
    assert_eq!(created.status, 201, "{}", created.body);
    let city: serde_json::Value = serde_json::from_str(&created.body).unwrap();
    let city_id = city["id"].as_i64().unwrap();

    // Eight clients write as fast as they can; every 201 is recorded.
    let acknowledged = Arc::new(Mutex::new(Vec::<String>::new()));
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let mut writers = Vec::new();
    for client in 0..8 {
        let (address, token, acknowledged, stop) = (server.address.clone(), token.clone(), acknowledged.clone(), stop.clone());
        writers.push(std::thread::spawn(move || {
            let mut index = 0;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                let code = format!("org-{client}-{index}");
                let body = format!(r#"{{"kind":"ngo","code":"{code}","name_zh":"组织","jurisdiction_id":{city_id}}}"#);
                match http::request(&address, "POST", "/api/v1/organizations", Some(&token), Some(&body)) {
                    Ok(response) if response.status == 201 => acknowledged.lock().unwrap().push(code),
                    // No answer at all: the server died before acknowledging.
                    Ok(response) if response.status == 0 => break,
                    Ok(response) => panic!("unexpected answer {}: {}", response.status, response.body),
                    // The connection dies with the server: this write was never acknowledged.
                    Err(_) => break,
                }
                index += 1;
            }
        }));
    }
    // Let them write, then kill the server in the middle of the stream.
    while acknowledged.lock().unwrap().len() < 300 {
        std::thread::sleep(Duration::from_millis(20));
    }
    server.kill_hard();
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    for writer in writers {
        writer.join().unwrap();
    }
    let acknowledged = acknowledged.lock().unwrap().clone();
    assert!(acknowledged.len() >= 300);

    // Restart on the same data directory and count.
    let server = Server::start(&dir, &[]);
    let mut found = std::collections::HashSet::new();
    let mut offset = 0;
    loop {
        let page =
            http::request(&server.address, "GET", &format!("/api/v1/organizations?limit=500&offset={offset}"), Some(&token), None).unwrap();
        assert_eq!(page.status, 200, "{}", page.body);
        let page: serde_json::Value = serde_json::from_str(&page.body).unwrap();
        let items = page["items"].as_array().unwrap();
        if items.is_empty() {
            break;
        }
        found.extend(items.iter().map(|item| item["code"].as_str().unwrap().to_string()));
        offset += items.len();
    }
    let lost: Vec<&String> = acknowledged.iter().filter(|code| !found.contains(*code)).collect();
    assert!(lost.is_empty(), "{} of {} acknowledged writes were lost, e.g. {:?}", lost.len(), acknowledged.len(), lost.first());
    // The audit chain is intact after the crash.
    let (code, stdout, _) = crate::run(&dir, &["audit", "verify"], None);
    assert_eq!(code, 0, "{stdout}");
}
