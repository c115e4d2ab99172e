//! The demo with OIDC_PROVIDERS=a,b over two development providers on their own
//! ports (two issuers, the same users): a chooser at /auth/login, a login at each,
//! and `/me` naming `iss` and `provider`.

mod support;

use oidc_dev_provider::{ClientRegistration, DevProvider, DevProviderConfig, RunningProvider};
use reqwest::StatusCode;
use support::{browser, demo, free_port, location, run_to_exit, text, wait_ready};

const SECRET: &str = "demo-multi-secret";

async fn provider(origin: &str, name: &str) -> RunningProvider {
    let client =
        ClientRegistration::confidential("demo", SECRET, format!("{origin}/auth/callback/{name}"))
            .with_post_logout_redirect_uri(format!("{origin}/auth/logout/callback"))
            .with_backchannel_logout_uri(format!("{origin}/auth/backchannel-logout"));
    DevProvider::start(DevProviderConfig::default().with_client(client))
        .await
        .expect("dev provider")
}

/// Logs `user` in at `provider` through the development provider's `login_hint`.
async fn login(origin: &str, provider: &str, user: &str) -> reqwest::Client {
    let http = browser();
    let start = http
        .get(format!("{origin}/auth/login?provider={provider}&next=/me"))
        .send()
        .await
        .unwrap();
    assert_eq!(start.status(), StatusCode::SEE_OTHER, "login at {provider}");
    let approved = http
        .get(format!("{}&login_hint={user}", location(&start)))
        .send()
        .await
        .unwrap();
    assert!(approved.status().is_redirection(), "{}", approved.status());
    let back = location(&approved);
    assert!(
        back.starts_with(&format!("{origin}/auth/callback/{provider}?")),
        "{back}"
    );
    let done = http.get(back).send().await.unwrap();
    assert_eq!(
        done.status(),
        StatusCode::SEE_OTHER,
        "{user} signs in at {provider}"
    );
    assert_eq!(location(&done), "/me");
    http
}

#[tokio::test]
async fn with_two_providers_each_login_shows_its_iss_and_provider_in_me() {
    let origin = format!("http://127.0.0.1:{}", free_port());
    let a = provider(&origin, "a").await;
    let b = provider(&origin, "b").await;
    let _demo = demo(
        &[],
        &[
            ("APP_URL", origin.as_str()),
            ("SESSION_STORE", "memory"),
            ("OIDC_PROVIDERS", "a,b"),
            ("OIDC_A_ISSUER", a.issuer()),
            ("OIDC_A_CLIENT_ID", "demo"),
            ("OIDC_A_CLIENT_SECRET", SECRET),
            ("OIDC_B_ISSUER", b.issuer()),
            ("OIDC_B_CLIENT_ID", "demo"),
            ("OIDC_B_CLIENT_SECRET", SECRET),
        ],
    )
    .spawn()
    .expect("oidc-demo");
    wait_ready(&origin).await;

    let chooser = browser()
        .get(format!("{origin}/auth/login?next=/me"))
        .send()
        .await
        .unwrap();
    assert_eq!(chooser.status(), StatusCode::OK);
    let page = chooser.text().await.unwrap();
    for name in ["a", "b"] {
        assert!(
            page.contains(&format!("/auth/login?provider={name}&amp;next=%2Fme")),
            "{page}"
        );
    }

    for (name, op) in [("a", &a), ("b", &b)] {
        let alice = login(&origin, name, "alice").await;
        let me: serde_json::Value = alice
            .get(format!("{origin}/me"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(me["iss"], op.issuer(), "{me}");
        assert_eq!(me["provider"], name, "{me}");
        assert_eq!(me["sub"], "user-alice", "{me}");
    }
}

#[tokio::test]
async fn a_provider_missing_its_issuer_is_named_at_start() {
    let out = run_to_exit(
        &[],
        &[
            ("OIDC_PROVIDERS", "corp,partners"),
            ("OIDC_CORP_ISSUER", "http://127.0.0.1:9/corp"),
            ("OIDC_CORP_CLIENT_ID", "shop"),
            ("OIDC_PARTNERS_CLIENT_ID", "shop"),
        ],
    )
    .await;
    let err = text(&out.stderr);
    assert!(!out.status.success(), "{err}");
    assert!(err.contains("OIDC_PARTNERS_ISSUER is required"), "{err}");
}

#[tokio::test]
async fn a_single_provider_says_default_in_me() {
    let origin = format!("http://127.0.0.1:{}", free_port());
    let op_port = free_port().to_string();
    let _demo = demo(
        &[],
        &[
            ("APP_URL", origin.as_str()),
            ("DEV_PROVIDER_PORT", op_port.as_str()),
            ("SESSION_STORE", "memory"),
        ],
    )
    .spawn()
    .expect("oidc-demo");
    wait_ready(&origin).await;
    let http = browser();
    let start = http
        .get(format!("{origin}/auth/login?next=/me"))
        .send()
        .await
        .unwrap();
    assert_eq!(start.status(), StatusCode::SEE_OTHER);
    let approved = http
        .get(format!("{}&login_hint=alice", location(&start)))
        .send()
        .await
        .unwrap();
    let done = http.get(location(&approved)).send().await.unwrap();
    assert_eq!(done.status(), StatusCode::SEE_OTHER);
    let me: serde_json::Value = http
        .get(format!("{origin}/me"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(me["provider"], "default", "{me}");
    assert_eq!(me["iss"], format!("http://127.0.0.1:{op_port}"), "{me}");
}

#[tokio::test]
async fn a_providers_bad_issuer_names_its_variable() {
    let out = run_to_exit(
        &[],
        &[
            ("OIDC_PROVIDERS", "corp"),
            ("OIDC_CORP_ISSUER", "not a url"),
            ("OIDC_CORP_CLIENT_ID", "shop"),
        ],
    )
    .await;
    let err = text(&out.stderr);
    assert!(!out.status.success(), "{err}");
    assert!(err.contains("provider \"corp\""), "{err}");
    assert!(err.contains("OIDC_CORP_ISSUER"), "{err}");
}
