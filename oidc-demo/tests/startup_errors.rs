//! The `oidc-demo` program's refusals at start-up: each names the variable, the bad
//! value (never a secret) and the fix, and prints the cause chain once.

mod support;

use support::{free_port, run_to_exit, text};

/// Runs the demo with `APP_URL=app_url` and expects a refusal naming `needles`.
async fn refused(app_url: &str, needles: &[&str]) -> String {
    let out = run_to_exit(&[], &[("APP_URL", app_url)]).await;
    let err = text(&out.stderr);
    assert!(
        !out.status.success(),
        "APP_URL={app_url} was accepted:\n{err}"
    );
    for n in needles {
        assert!(
            err.contains(n),
            "APP_URL={app_url}: {n:?} missing in:\n{err}"
        );
    }
    err
}

#[tokio::test]
async fn refuses_an_app_url_without_a_scheme_and_says_to_add_http() {
    refused(
        "localhost:3000",
        &["APP_URL", "localhost:3000", "http://localhost:3000"],
    )
    .await;
    refused(
        "app.example",
        &["APP_URL", "app.example", "https://app.example"],
    )
    .await;
}

#[tokio::test]
async fn refuses_an_app_url_with_a_path_and_points_to_oidc_base_path() {
    refused(
        "https://app.example/shop",
        &["APP_URL", "/shop", "OIDC_BASE_PATH"],
    )
    .await;
}

#[tokio::test]
async fn refuses_an_unspecified_address_as_public_host_and_points_to_bind() {
    refused(
        "http://0.0.0.0:3000",
        &["APP_URL", "0.0.0.0", "BIND=0.0.0.0:3000"],
    )
    .await;
    refused("http://[::]:3000", &["APP_URL", "[::]", "BIND"]).await;
}

#[tokio::test]
async fn refuses_an_app_url_with_a_query_or_credentials() {
    refused("https://app.example/?a=b", &["APP_URL", "?a=b"]).await;
    refused("https://user:pw@app.example", &["APP_URL"]).await;
}

#[tokio::test]
async fn refuses_a_bind_that_is_not_an_address_and_port() {
    let out = run_to_exit(&[], &[("BIND", "0.0.0.0")]).await;
    let err = text(&out.stderr);
    assert!(!out.status.success());
    assert!(
        err.contains("BIND") && err.contains("0.0.0.0:3000"),
        "{err}"
    );
}

#[tokio::test]
async fn an_unreadable_oidc_ca_cert_is_a_start_up_error() {
    let out = run_to_exit(&[], &[("OIDC_CA_CERT", "/nonexistent/ca.pem")]).await;
    let err = text(&out.stderr);
    assert!(!out.status.success(), "OIDC_CA_CERT was ignored:\n{err}");
    assert!(err.contains("/nonexistent/ca.pem"), "{err}");
}

#[tokio::test]
async fn a_start_up_error_prints_its_whole_cause_chain_once() {
    // (An unreachable provider no longer stops the start: a store does.)
    let store = format!("redis://127.0.0.1:{}", free_port());
    let out = run_to_exit(&[], &[("SESSION_STORE", &store)]).await;
    let err = text(&out.stderr);
    assert!(!out.status.success(), "{err}");
    assert!(err.contains("Redis session store"), "{err}");
    // The root cause, the refused TCP connection, is there, and only once.
    assert_eq!(err.to_lowercase().matches("refused").count(), 1, "{err}");
}

#[tokio::test]
async fn a_session_store_error_never_prints_the_store_password() {
    let store = format!(
        "postgres://demo:hunter2-secret@127.0.0.1:{}/sessions",
        free_port()
    );
    let out = run_to_exit(&[], &[("SESSION_STORE", &store)]).await;
    let err = text(&out.stderr) + &text(&out.stdout);
    assert!(!out.status.success(), "{err}");
    assert!(err.contains("session store"), "{err}");
    assert!(!err.contains("hunter2"), "the password is printed:\n{err}");
}

/// An issuer URL that answers every request with an HTML sign-in page, as a
/// provider's login page does when it is taken for the issuer.
async fn html_server() -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let app = axum::Router::new().fallback(|| async {
        axum::response::Html("<!DOCTYPE html><html><title>Sign in</title></html>")
    });
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    url
}

#[tokio::test]
async fn an_issuer_serving_html_is_named_with_status_content_type_and_oidc_issuer() {
    let issuer = html_server().await;
    let out = run_to_exit(&[], &[("OIDC_ISSUER", &issuer), ("OIDC_CLIENT_ID", "x")]).await;
    let err = text(&out.stderr);
    assert!(!out.status.success(), "{err}");
    let url = format!("{issuer}/.well-known/openid-configuration");
    for needle in [
        &url as &str,
        "HTTP 200",
        "Content-Type text/html",
        "OIDC_ISSUER",
        "not a login page",
    ] {
        assert!(err.contains(needle), "{needle:?} missing in:\n{err}");
    }
}

#[tokio::test]
async fn a_short_cookie_key_names_cookie_key_and_how_to_make_one() {
    let out = run_to_exit(&[], &[("COOKIE_KEY", "tooshort-xyzzy")]).await;
    let err = text(&out.stderr);
    assert!(!out.status.success(), "{err}");
    assert!(err.contains("COOKIE_KEY"), "{err}");
    assert!(err.contains("openssl rand -base64 48"), "{err}");
    let all = err + &text(&out.stdout);
    assert!(!all.contains("xyzzy"), "the key is printed:\n{all}");
}

#[tokio::test]
async fn a_postgres_store_on_a_dead_port_leads_with_the_store_and_ends_with_the_refusal() {
    let port = free_port();
    let store = format!("postgres://demo:hunter2-secret@127.0.0.1:{port}/sessions");
    let out = run_to_exit(&[], &[("SESSION_STORE", &store)]).await;
    let err = text(&out.stderr);
    assert!(!out.status.success(), "{err}");
    let first = err.lines().next().unwrap_or_default();
    assert_eq!(
        first,
        format!(
            "oidc-demo: error: cannot connect to the PostgreSQL session store at \
             127.0.0.1:{port}: check SESSION_STORE and that the server is running"
        )
    );
    assert_eq!(
        err.to_ascii_lowercase()
            .matches("connection refused")
            .count(),
        1,
        "{err}"
    );
    assert!(!err.contains("pool timed out"), "{err}");
    assert!(!err.contains("hunter2"), "{err}");
}

#[tokio::test]
async fn a_public_app_url_without_oidc_issuer_says_the_embedded_provider_is_local_only() {
    let bind = format!("127.0.0.1:{}", free_port());
    let out = run_to_exit(&[], &[("APP_URL", "https://app.example"), ("BIND", &bind)]).await;
    let err = text(&out.stderr);
    assert!(!out.status.success(), "{err}");
    for needle in [
        "APP_URL=https://app.example",
        "embedded development provider",
        "set OIDC_ISSUER",
    ] {
        assert!(err.contains(needle), "{needle:?} missing in:\n{err}");
    }
    assert!(
        !text(&out.stdout).contains("oidc-dev-provider listening"),
        "started anyway"
    );
}

#[tokio::test]
async fn settings_given_as_variables_are_named_with_the_variable_when_refused() {
    for (name, value, fix) in [
        ("OIDC_BASE_PATH", "login", "OIDC_BASE_PATH=/login"),
        (
            "OIDC_REFRESH_MARGIN_SECS",
            "abc",
            "OIDC_REFRESH_MARGIN_SECS=30",
        ),
        ("DEV_PROVIDER_PORT", "99999", "DEV_PROVIDER_PORT=3001"),
        ("SESSION_LOCAL_TTL_SECS", "0", "SESSION_LOCAL_TTL_SECS=300"),
    ] {
        let out = run_to_exit(&[], &[(name, value)]).await;
        let err = text(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{name}={value}: {err}");
        assert!(err.contains(&format!("{name}={value:?}")), "{err}");
        assert!(err.contains(fix), "{err}");
    }
}

#[tokio::test]
async fn a_local_tier_ttl_without_a_tiered_store_is_refused_naming_both_settings() {
    let out = run_to_exit(&[], &[("SESSION_LOCAL_TTL_SECS", "300")]).await;
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("SESSION_STORE"), "{err}");
    assert!(err.contains("SESSION_LOCAL_TTL_SECS"), "{err}");
    assert!(err.contains("tiered+"), "{err}");
}

#[tokio::test]
async fn private_key_jwt_without_a_key_file_names_oidc_client_key_file() {
    let out = run_to_exit(
        &[],
        &[
            ("OIDC_ISSUER", "https://op.example"),
            ("OIDC_CLIENT_ID", "x"),
            ("OIDC_CLIENT_AUTH", "private_key_jwt"),
        ],
    )
    .await;
    let err = text(&out.stderr);
    assert!(!out.status.success(), "{err}");
    assert!(
        err.contains("OIDC_CLIENT_KEY_FILE") && err.contains("PKCS#8"),
        "{err}"
    );
}

#[tokio::test]
async fn a_client_key_file_that_is_not_pkcs8_names_the_file_and_the_fix() {
    let dir = std::env::temp_dir().join(format!("demo-key-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("key.pem");
    std::fs::write(
        &file,
        "-----BEGIN RSA PRIVATE KEY-----\nAAAA\n-----END RSA PRIVATE KEY-----\n",
    )
    .unwrap();
    let path = file.to_str().unwrap();
    let out = run_to_exit(
        &[],
        &[
            ("OIDC_ISSUER", "https://op.example"),
            ("OIDC_CLIENT_ID", "x"),
            ("OIDC_CLIENT_AUTH", "private_key_jwt"),
            ("OIDC_CLIENT_KEY_FILE", path),
        ],
    )
    .await;
    let err = text(&out.stderr);
    assert!(!out.status.success(), "{err}");
    assert!(err.contains(path) && err.contains("openssl pkcs8"), "{err}");
}

#[tokio::test]
async fn an_unknown_oidc_client_auth_lists_the_methods() {
    let out = run_to_exit(
        &[],
        &[
            ("OIDC_ISSUER", "https://op.example"),
            ("OIDC_CLIENT_ID", "x"),
            ("OIDC_CLIENT_AUTH", "jwt"),
        ],
    )
    .await;
    let err = text(&out.stderr);
    assert!(!out.status.success(), "{err}");
    assert!(
        err.contains("OIDC_CLIENT_AUTH") && err.contains("private_key_jwt"),
        "{err}"
    );
}
