use super::*;

fn doc(issuer: &str) -> Vec<u8> {
    serde_json::to_vec(&serde_json::json!({
        "issuer": issuer,
        "authorization_endpoint": "https://op.example/authorize",
        "token_endpoint": "https://op.example/token",
        "jwks_uri": "https://op.example/jwks",
        "authorization_response_iss_parameter_supported": true
    }))
    .unwrap()
}

#[test]
fn accepts_matching_issuer() {
    let m = parse_metadata("https://op.example", &doc("https://op.example")).unwrap();
    assert!(m.authorization_response_iss_parameter_supported);
}

#[test]
fn rejects_discovery_issuer_mismatch() {
    let e = parse_metadata("https://op.example", &doc("https://evil.example")).unwrap_err();
    assert!(matches!(e, DiscoveryError::IssuerMismatch { .. }));
}

const ENTRA_TEMPLATE: &str = "https://login.microsoftonline.com/{tenantid}/v2.0";

#[test]
fn accepts_a_template_document_when_the_template_is_configured() {
    let m = parse_metadata_as(ENTRA_TEMPLATE, &doc(ENTRA_TEMPLATE)).unwrap();
    assert_eq!(m.issuer, ENTRA_TEMPLATE);
}

#[test]
fn rejects_a_template_document_without_a_configured_template() {
    let common = "https://login.microsoftonline.com/common/v2.0";
    let e = parse_metadata(common, &doc(ENTRA_TEMPLATE)).unwrap_err();
    assert!(
        matches!(&e, DiscoveryError::TemplateNotConfigured { found } if found == ENTRA_TEMPLATE),
        "{e:?}"
    );
    assert!(e.to_string().contains("with_issuer_template"), "{e}");
}

#[test]
fn rejects_another_document_when_a_template_is_configured() {
    let other = "https://login.microsoftonline.com/{tenantid}/v2.0/";
    let e = parse_metadata_as(ENTRA_TEMPLATE, &doc(other)).unwrap_err();
    assert!(
        matches!(e, DiscoveryError::TemplateNotConfigured { .. }),
        "{e:?}"
    );
    let e = parse_metadata_as(ENTRA_TEMPLATE, &doc("https://evil.example")).unwrap_err();
    assert!(matches!(e, DiscoveryError::IssuerMismatch { .. }), "{e:?}");
    let tenant = "https://login.microsoftonline.com/t1/v2.0";
    let e = parse_metadata_as(ENTRA_TEMPLATE, &doc(tenant)).unwrap_err();
    assert!(matches!(e, DiscoveryError::IssuerMismatch { .. }), "{e:?}");
}

#[test]
fn rejects_issuer_that_differs_only_by_a_trailing_slash() {
    let e = parse_metadata("https://op.example", &doc("https://op.example/")).unwrap_err();
    assert!(matches!(e, DiscoveryError::IssuerMismatch { .. }));
}

#[test]
fn rejects_plain_http_endpoints_for_an_https_issuer() {
    let mut v: serde_json::Value = serde_json::from_slice(&doc("https://op.example")).unwrap();
    v["token_endpoint"] = "http://op.example/token".into();
    let e = parse_metadata("https://op.example", &serde_json::to_vec(&v).unwrap()).unwrap_err();
    assert!(matches!(e, DiscoveryError::InsecureEndpoint(_)));
}

fn cache_control(values: &[&str]) -> Option<Duration> {
    let mut h = http::HeaderMap::new();
    for v in values {
        h.append(http::header::CACHE_CONTROL, v.parse().unwrap());
    }
    cache_max_age(&h)
}

#[test]
fn max_age_is_none_without_cache_control() {
    assert_eq!(cache_control(&[]), None);
    assert_eq!(cache_control(&["public, must-revalidate"]), None);
}

#[test]
fn max_age_is_read_from_cache_control() {
    assert_eq!(
        cache_control(&["max-age=3600"]),
        Some(Duration::from_secs(3600))
    );
    assert_eq!(
        cache_control(&["public, Max-Age = 60 , must-revalidate"]),
        Some(Duration::from_secs(60))
    );
    assert_eq!(
        cache_control(&["max-age=\"120\""]),
        Some(Duration::from_secs(120))
    );
    assert_eq!(
        cache_control(&["public", "max-age=10"]),
        Some(Duration::from_secs(10))
    );
}

#[test]
fn first_max_age_counts() {
    assert_eq!(
        cache_control(&["max-age=10, max-age=99"]),
        Some(Duration::from_secs(10))
    );
}

#[test]
fn no_store_and_no_cache_mean_zero() {
    assert_eq!(cache_control(&["no-store"]), Some(Duration::ZERO));
    assert_eq!(
        cache_control(&["max-age=600, No-Cache"]),
        Some(Duration::ZERO)
    );
    assert_eq!(
        cache_control(&["max-age=600", "no-store"]),
        Some(Duration::ZERO)
    );
}

#[test]
fn invalid_max_age_is_stale_and_huge_is_capped() {
    assert_eq!(cache_control(&["max-age=abc"]), Some(Duration::ZERO));
    assert_eq!(cache_control(&["max-age=-5"]), Some(Duration::ZERO));
    assert_eq!(cache_control(&["max-age"]), Some(Duration::ZERO));
    assert_eq!(
        cache_control(&["max-age=99999999999999999999999"]),
        Some(Duration::from_secs(1 << 31))
    );
}

/// Serves a discovery document, built by `body` from the issuer, at the discovery
/// path of the returned issuer, with the given status and headers.
async fn serve(status: u16, headers: &[(&str, &str)], body: fn(&str) -> String) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let issuer = format!("http://{}", listener.local_addr().unwrap());
    let mut resp = http::Response::builder().status(status);
    for (k, v) in headers {
        resp = resp.header(*k, *v);
    }
    let resp = resp.body(body(&issuer)).unwrap();
    let app = axum::Router::new().route(
        "/.well-known/openid-configuration",
        axum::routing::get(move || {
            let resp = resp.clone();
            async move { resp }
        }),
    );
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    issuer
}

fn local_doc(issuer: &str) -> String {
    serde_json::json!({
        "issuer": issuer,
        "authorization_endpoint": format!("{issuer}/authorize"),
        "token_endpoint": format!("{issuer}/token"),
    })
    .to_string()
}

#[tokio::test]
async fn discover_document_returns_the_responses_max_age() {
    let json = ("content-type", "application/json");
    let http = reqwest::Client::new();
    let issuer = serve(
        200,
        &[json, ("cache-control", "public, max-age=900")],
        local_doc,
    )
    .await;
    let (meta, max_age) = discover_document(&http, &issuer).await.unwrap();
    assert_eq!(meta.issuer, issuer);
    assert_eq!(max_age, Some(Duration::from_secs(900)));

    let issuer = serve(200, &[json], local_doc).await;
    assert_eq!(discover_document(&http, &issuer).await.unwrap().1, None);
    assert_eq!(discover(&http, &issuer).await.unwrap().issuer, issuer);
}

#[tokio::test]
async fn an_issuer_serving_html_names_the_url_status_content_type_and_the_fix() {
    let html = ("content-type", "text/html; charset=utf-8");
    let issuer = serve(200, &[html], |_| {
        "<!DOCTYPE html><html>Sign in</html>".into()
    })
    .await;
    let e = discover(&reqwest::Client::new(), &issuer)
        .await
        .unwrap_err();
    let text = e.to_string();
    assert!(
        matches!(e, DiscoveryError::NotJson { status: 200, .. }),
        "{e:?}"
    );
    for needle in [
        &format!("{issuer}/.well-known/openid-configuration") as &str,
        "HTTP 200",
        "Content-Type text/html; charset=utf-8",
        "OIDC_ISSUER",
        "not a login page",
    ] {
        assert!(text.contains(needle), "{needle:?} missing from {text}");
    }
    let root = std::error::Error::source(&e).unwrap().to_string();
    assert!(root.contains("expected value"), "{root}");
}

#[tokio::test]
async fn an_error_status_and_json_that_is_not_metadata_name_the_url() {
    let issuer = serve(404, &[], |_| "not here".into()).await;
    let e = discover(&reqwest::Client::new(), &issuer)
        .await
        .unwrap_err();
    assert!(
        e.to_string().contains("HTTP 404") && e.to_string().contains("OIDC_ISSUER"),
        "{e}"
    );
    let issuer = serve(200, &[("content-type", "application/json")], |_| {
        "{}".into()
    })
    .await;
    let e = discover(&reqwest::Client::new(), &issuer)
        .await
        .unwrap_err();
    let text = e.to_string();
    assert!(
        text.contains(&issuer) && text.contains("missing field"),
        "{text}"
    );
}

#[test]
fn discovery_url_strips_one_trailing_slash() {
    assert_eq!(
        discovery_url("https://op.example/realms/x/")
            .unwrap()
            .as_str(),
        "https://op.example/realms/x/.well-known/openid-configuration"
    );
}
