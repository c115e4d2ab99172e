//! Two providers in one layer, one of them `oidc-provider` from npm (an OpenID
//! Certified provider we did not write), the other the embedded development
//! provider: the same `sub` (`user-alice`) at two issuers is two users.

#[path = "support/app.rs"]
mod app;
#[path = "support/node_provider.rs"]
mod node_provider;

use app::{Browser, authorize_with_hint, bind, layer, memory, serve};
use axum_oidc_client::{OAuthConfiguration, ProviderSettings};
use node_provider::NodeProvider;
use oidc_dev_provider::{ClientRegistration, DevProvider, DevProviderConfig, RunningProvider};
use reqwest::StatusCode;
use serde_json::json;

const SECRET: &str = "two-providers-secret-0123456789";
const SUB: &str = "user-alice";

struct Setup {
    dev: RunningProvider,
    node: NodeProvider,
    origin: String,
    _server: tokio::task::JoinHandle<()>,
}

async fn setup() -> Setup {
    let bound = bind().await;
    let origin = bound.origin.clone();
    let dev = DevProvider::start(DevProviderConfig::default().with_client(
        ClientRegistration::confidential("shop", SECRET, format!("{origin}/auth/callback/dev")),
    ))
    .await
    .expect("dev provider");
    let node = NodeProvider::start(json!({ "clients": [{
        "client_id": "shop",
        "client_secret": SECRET,
        "redirect_uris": [format!("{origin}/auth/callback/node")],
        "backchannel_logout_uri": format!("{origin}/auth/backchannel-logout"),
        "backchannel_logout_session_required": true,
        "grant_types": ["authorization_code", "refresh_token"],
    }] }))
    .await;
    let settings = |issuer: &str| {
        ProviderSettings::new()
            .with_issuer(issuer)
            .with_client_id("shop")
            .with_client_secret(SECRET)
    };
    let config = OAuthConfiguration::builder()
        .with_app_url(&origin)
        .with_provider("dev", settings(dev.issuer()))
        .with_provider(
            "node",
            settings(&node.issuer)
                .with_scopes(["openid", "profile", "offline_access"])
                .with_auth_param("prompt", "consent"),
        )
        .build()
        .expect("config");
    let server = serve(bound, layer(config, memory()));
    Setup {
        dev,
        node,
        origin,
        _server: server,
    }
}

async fn me(browser: &Browser) -> (StatusCode, serde_json::Value) {
    let r = browser.get_json("/me").await;
    let status = r.status();
    (status, r.json().await.unwrap_or_default())
}

#[tokio::test]
async fn the_same_sub_at_oidc_provider_and_the_embedded_provider_is_two_users_and_a_logout_ends_one()
 {
    if !node_provider::should_run() {
        return;
    }
    let s = setup().await;
    let (at_dev, at_node) = (Browser::new(&s.origin), Browser::new(&s.origin));

    let back = authorize_with_hint(&at_dev.start_login_at("dev", "/me").await, "alice").await;
    assert_eq!(
        at_dev.finish_login(&back).await.status(),
        StatusCode::SEE_OTHER
    );
    let auth = at_node.start_login_at("node", "/me").await;
    assert!(auth.starts_with(&s.node.issuer), "{auth}");
    let back = s.node.authorize(&auth, SUB).await;
    assert!(
        back.starts_with(&format!("{}/auth/callback/node?", s.origin)),
        "{back}"
    );
    assert_eq!(
        at_node.finish_login(&back).await.status(),
        StatusCode::SEE_OTHER
    );

    let (status, dev_me) = me(&at_dev).await;
    assert_eq!(status, StatusCode::OK);
    let (status, node_me) = me(&at_node).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(dev_me["sub"], SUB);
    assert_eq!(node_me["sub"], SUB);
    assert_eq!(dev_me["claims"]["iss"], s.dev.issuer());
    assert_eq!(node_me["claims"]["iss"], s.node.issuer.as_str());

    // oidc-provider ends its user's session and posts a logout token: only the
    // session of its issuer ends.
    s.node.logout_sub(SUB).await;
    let stats = s.node.stats().await;
    assert!(
        stats["backchannel_logouts_sent"].as_u64().unwrap_or(0) >= 1,
        "{stats}"
    );
    assert!(
        stats["backchannel_errors"]
            .as_array()
            .is_none_or(|e| e.is_empty()),
        "{stats}"
    );
    assert_eq!(me(&at_node).await.0, StatusCode::UNAUTHORIZED);
    assert_eq!(
        me(&at_dev).await.0,
        StatusCode::OK,
        "the embedded provider's user-alice is someone else"
    );
}

#[tokio::test]
async fn a_code_from_oidc_provider_delivered_to_the_other_providers_callback_is_refused() {
    if !node_provider::should_run() {
        return;
    }
    let s = setup().await;
    let victim = Browser::new(&s.origin);
    let back = s
        .node
        .authorize(&victim.start_login_at("node", "/me").await, SUB)
        .await;
    let mixed = back.replacen("/auth/callback/node?", "/auth/callback/dev?", 1);
    assert_ne!(mixed, back);
    let r = victim.get(&mixed).await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    assert_eq!(me(&victim).await.0, StatusCode::UNAUTHORIZED, "no session");
    assert_eq!(
        s.dev.stats().authorization_code_grants,
        0,
        "no code sent to the wrong provider"
    );
    // The same response at its own callback still completes: nothing was spent.
    assert_eq!(
        victim.finish_login(&back).await.status(),
        StatusCode::SEE_OTHER
    );
    assert_eq!(me(&victim).await.0, StatusCode::OK);
}
