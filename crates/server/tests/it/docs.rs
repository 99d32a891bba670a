//! The OpenAPI document, metrics, health, and the completeness of the translation catalogs.

use axum::http::StatusCode;

use crate::{Auth, TestApp, World};

#[tokio::test]
async fn openapi_document_matches_its_snapshot() {
    let t = TestApp::new().await;
    let response = t.get("/api/openapi.json", &Auth::None).await;
    assert_eq!(response.status, StatusCode::OK);
    assert_eq!(response.body["openapi"], "3.1.0");
    let paths = response.body["paths"].as_object().unwrap();
    for path in [
        "/api/v1/members",
        "/api/v1/members/{id}",
        "/api/v1/jurisdictions/import",
        "/api/v1/events",
        "/api/v1/sessions",
        "/healthz",
        "/readyz",
    ] {
        assert!(paths.contains_key(path), "{path} is not documented");
    }
    insta::assert_json_snapshot!("openapi", response.body);
}

#[tokio::test]
async fn health_readiness_and_metrics() {
    let t = TestApp::new().await;
    let w = World::build(&t).await;
    assert_eq!(t.get("/healthz", &Auth::None).await.text, "ok");
    assert_eq!(t.get("/readyz", &Auth::None).await.text, "ready");
    t.get("/api/v1/members", &w.cadre_a).await;
    t.get(&format!("/api/v1/members/{}", w.member_b), &w.cadre_a).await;
    let metrics = t.get("/metrics", &Auth::None).await.text;
    assert!(metrics.contains("gridline_http_requests_total{method=\"GET\",route=\"/api/v1/members\",status=\"200\"} 1"), "{metrics}");
    assert!(metrics.contains("gridline_http_requests_total{method=\"GET\",route=\"/api/v1/members/{id}\",status=\"403\"} 1"), "{metrics}");
    assert!(metrics.contains("gridline_http_request_duration_seconds_count{method=\"GET\",route=\"/api/v1/members\"} 1"), "{metrics}");
    assert!(metrics.contains("gridline_db_pool_connections "));
    let events = t.count("events").await;
    assert!(metrics.contains(&format!("gridline_events_total {events}")), "{metrics}");
    // Closing the database makes the server unready, not dead.
    t.app.store().close().await;
    let ready = t.get("/readyz", &Auth::None).await;
    assert_eq!(ready.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(ready.body["code"], "unavailable");
    assert_eq!(t.get("/healthz", &Auth::None).await.status, StatusCode::OK);
}

#[tokio::test]
async fn security_headers_are_on_every_response() {
    let t = TestApp::new().await;
    for path in ["/healthz", "/api/v1/jurisdictions", "/api/v1/nowhere"] {
        let response = t.get(path, &Auth::None).await;
        let csp = response.headers["content-security-policy"].to_str().unwrap();
        assert!(csp.contains("default-src 'self'") && csp.contains("frame-ancestors 'none'"), "{path}: {csp}");
        assert_eq!(response.headers["x-content-type-options"], "nosniff");
        assert_eq!(response.headers["x-frame-options"], "DENY");
    }
}

#[test]
fn every_error_code_has_both_translations() {
    let server_codes = [
        "malformed_json",
        "payload_too_large",
        "unsupported_media_type",
        "route_not_found",
        "method_not_allowed",
        "csrf_failed",
        "bad_query",
        "bad_path",
    ];
    for code in app::AppError::CODES.iter().chain(server_codes.iter()) {
        for locale in domain::Locale::ALL {
            assert!(domain::i18n::lookup(locale, &format!("error.{code}")).is_some(), "error.{code} has no {} text", locale.tag());
        }
    }
    for reason in [
        domain::policy::DenyReason::SignInRequired,
        domain::policy::DenyReason::NotPermitted,
        domain::policy::DenyReason::OutOfScope,
        domain::policy::DenyReason::NotCleared,
    ] {
        assert!(domain::i18n::lookup(domain::Locale::ZhCn, &format!("deny.{}", reason.code())).is_some());
    }
    let enums: Vec<(&str, &[&str])> = vec![
        (domain::registry::JurisdictionLevel::LABEL_PREFIX, domain::registry::JurisdictionLevel::CODES),
        (domain::registry::OrganizationKind::LABEL_PREFIX, domain::registry::OrganizationKind::CODES),
        (domain::registry::Sector::LABEL_PREFIX, domain::registry::Sector::CODES),
        (domain::registry::MemberRole::LABEL_PREFIX, domain::registry::MemberRole::CODES),
        (domain::registry::MemberStatus::LABEL_PREFIX, domain::registry::MemberStatus::CODES),
        (domain::registry::TeamKind::LABEL_PREFIX, domain::registry::TeamKind::CODES),
        (domain::registry::TeamTier::LABEL_PREFIX, domain::registry::TeamTier::CODES),
        (domain::policy::AccountRole::LABEL_PREFIX, domain::policy::AccountRole::CODES),
        (domain::policy::ResourceKind::LABEL_PREFIX, domain::policy::ResourceKind::CODES),
        (domain::Classification::LABEL_PREFIX, domain::Classification::CODES),
    ];
    for (prefix, codes) in enums {
        for code in codes {
            assert!(domain::i18n::lookup(domain::Locale::En, &format!("{prefix}.{code}")).is_some(), "{prefix}.{code} has no label");
        }
    }
    let reasons = [
        "required",
        "too_long",
        "too_short",
        "bad_characters",
        "unknown_value",
        "out_of_range",
        "malformed",
        "ring_not_closed",
        "ring_too_short",
        "zero_area",
        "unsupported_geometry",
        "bad_parent_level",
        "duplicate",
        "not_found",
    ];
    for reason in reasons {
        assert!(domain::i18n::lookup(domain::Locale::ZhCn, &format!("invalid.{reason}")).is_some(), "invalid.{reason}");
    }
}

#[test]
fn problem_titles_never_show_placeholders() {
    for code in app::AppError::CODES.iter().chain(["payload_too_large", "unsupported_media_type"].iter()) {
        for locale in domain::Locale::ALL {
            let title = server::problem::title(locale, code);
            assert!(!title.contains('{'), "{code} title in {}: {title}", locale.tag());
        }
    }
}
