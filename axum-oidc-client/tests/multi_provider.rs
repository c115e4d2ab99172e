//! Several providers in one layer, over real HTTP against two embedded development
//! providers on their own ports (so two issuers), both knowing alice as `user-alice`.

#[path = "support/app.rs"]
mod app;
#[path = "support/capture.rs"]
mod capture;

use app::{Browser, authorize_with_hint, bind, layer, location, memory, no_redirect_client, serve};
use axum_oidc_client::store::SharedStore;
use axum_oidc_client::{ConfigError, OAuthConfiguration, ProviderSettings};
use oidc_dev_provider::{ClientRegistration, DevProvider, DevProviderConfig, RunningProvider};
use reqwest::StatusCode;

const SECRET: &str = "multi-client-secret";

struct Setup {
    a: RunningProvider,
    b: RunningProvider,
    origin: String,
    store: SharedStore,
    _server: tokio::task::JoinHandle<()>,
}

async fn provider(origin: &str, name: &str) -> RunningProvider {
    let client =
        ClientRegistration::confidential("multi", SECRET, format!("{origin}/auth/callback/{name}"))
            .with_post_logout_redirect_uri(format!("{origin}/auth/logout/callback"))
            .with_backchannel_logout_uri(format!("{origin}/auth/backchannel-logout"));
    DevProvider::start(DevProviderConfig::default().with_client(client))
        .await
        .expect("dev provider")
}

fn settings(op: &RunningProvider) -> ProviderSettings {
    ProviderSettings::new()
        .with_issuer(op.issuer())
        .with_client_id("multi")
        .with_client_secret(SECRET)
        .with_scopes(["openid", "profile", "email", "offline_access"])
}

async fn setup() -> Setup {
    let bound = bind().await;
    let origin = bound.origin.clone();
    let a = provider(&origin, "a").await;
    let b = provider(&origin, "b").await;
    let config = OAuthConfiguration::builder()
        .with_app_url(&origin)
        .with_provider("a", settings(&a).with_display_name("Provider A"))
        .with_provider("b", settings(&b))
        .build()
        .expect("config");
    let store = memory();
    let server = serve(bound, layer(config, store.clone()));
    Setup {
        a,
        b,
        origin,
        store,
        _server: server,
    }
}

/// Starts a login at `provider` and returns the provider's authorization URL.
async fn start_at(browser: &Browser, provider: &str, next: &str) -> String {
    browser.start_login_at(provider, next).await
}

async fn login(browser: &Browser, provider: &str, user: &str) -> reqwest::Response {
    let auth = start_at(browser, provider, "/me").await;
    let back = authorize_with_hint(&auth, user).await;
    browser.finish_login(&back).await
}

#[tokio::test]
async fn each_provider_signs_in_at_its_own_callback_and_the_session_names_its_issuer() {
    let s = setup().await;
    let (at_a, at_b) = (Browser::new(&s.origin), Browser::new(&s.origin));

    let auth = start_at(&at_a, "a", "/me").await;
    assert!(auth.starts_with(s.a.issuer()), "{auth}");
    let query: std::collections::HashMap<String, String> = url::Url::parse(&auth)
        .unwrap()
        .query_pairs()
        .into_owned()
        .collect();
    assert_eq!(
        query["redirect_uri"],
        format!("{}/auth/callback/a", s.origin)
    );
    let back = authorize_with_hint(&auth, "alice").await;
    assert!(
        back.starts_with(&format!("{}/auth/callback/a?", s.origin)),
        "{back}"
    );
    let done = at_a.finish_login(&back).await;
    assert_eq!(done.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&done), "/me");

    let done = login(&at_b, "b", "alice").await;
    assert_eq!(done.status(), StatusCode::SEE_OTHER);

    let me_a: serde_json::Value = at_a.get_json("/me").await.json().await.unwrap();
    let me_b: serde_json::Value = at_b.get_json("/me").await.json().await.unwrap();
    assert_eq!(me_a["sub"], "user-alice");
    assert_eq!(me_b["sub"], "user-alice");
    assert_eq!(me_a["claims"]["iss"], s.a.issuer());
    assert_eq!(me_b["claims"]["iss"], s.b.issuer());

    // The stored sessions name their provider.
    let listed_a = s
        .store
        .sessions_of(s.a.issuer(), "user-alice")
        .await
        .unwrap();
    let listed_b = s
        .store
        .sessions_of(s.b.issuer(), "user-alice")
        .await
        .unwrap();
    assert_eq!(listed_a.len(), 1);
    assert_eq!(listed_b.len(), 1);
    assert_eq!(listed_a[0].1.provider.as_deref(), Some("a"));
    assert_eq!(listed_b[0].1.provider.as_deref(), Some("b"));
    assert_eq!(s.a.stats().authorization_code_grants, 1);
    assert_eq!(s.b.stats().authorization_code_grants, 1);
}

#[tokio::test]
async fn a_backchannel_logout_from_one_provider_ends_only_its_sessions_for_the_same_sub() {
    let s = setup().await;
    let (at_a, at_b) = (Browser::new(&s.origin), Browser::new(&s.origin));
    login(&at_a, "a", "alice").await;
    login(&at_b, "b", "alice").await;
    assert_eq!(at_a.get_json("/me").await.status(), StatusCode::OK);
    assert_eq!(at_b.get_json("/me").await.status(), StatusCode::OK);

    assert_eq!(
        s.a.logout_subject("user-alice").await,
        1,
        "A's logout token delivered and accepted"
    );
    assert_eq!(
        at_a.get_json("/me").await.status(),
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        at_b.get_json("/me").await.status(),
        StatusCode::OK,
        "B's session of the same sub stays"
    );

    assert_eq!(s.b.logout_subject("user-alice").await, 1);
    assert_eq!(
        at_b.get_json("/me").await.status(),
        StatusCode::UNAUTHORIZED
    );
}

#[tokio::test]
async fn a_response_from_one_provider_delivered_to_another_providers_callback_is_refused() {
    let s = setup().await;
    let victim = Browser::new(&s.origin);
    let auth = start_at(&victim, "a", "/me").await;
    let back = authorize_with_hint(&auth, "alice").await;
    // The code and state A issued, at B's redirect URI (RFC 9700 section 4.4).
    let mixed = back.replacen("/auth/callback/a?", "/auth/callback/b?", 1);
    assert_ne!(mixed, back);
    let r = victim.get(&mixed).await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    assert_eq!(
        victim.get_json("/me").await.status(),
        StatusCode::UNAUTHORIZED,
        "no session"
    );
    assert_eq!(s.a.stats().authorization_code_grants, 0, "no code redeemed");
    assert_eq!(s.b.stats().authorization_code_grants, 0, "no code redeemed");
    assert!(
        s.store
            .sessions_of(s.a.issuer(), "user-alice")
            .await
            .unwrap()
            .is_empty()
    );
    assert!(
        s.store
            .sessions_of(s.b.issuer(), "user-alice")
            .await
            .unwrap()
            .is_empty()
    );

    // The same at the single-provider path, and at a provider that does not exist.
    for path in ["/auth/callback?", "/auth/callback/zz?"] {
        let other = back.replacen("/auth/callback/a?", path, 1);
        let r = victim.get(&other).await;
        assert_eq!(r.status(), StatusCode::BAD_REQUEST, "{path}");
    }
    assert_eq!(s.a.stats().authorization_code_grants, 0);
}

#[tokio::test]
async fn without_a_provider_the_login_shows_a_chooser_that_keeps_next() {
    let s = setup().await;
    let browser = Browser::new(&s.origin);
    let r = browser.get("/auth/login?next=%2Fme%3Fx%3D1").await;
    assert_eq!(r.status(), StatusCode::OK);
    assert!(
        r.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    assert_eq!(r.headers()["cache-control"], "no-store");
    let body = r.text().await.unwrap();
    assert!(
        body.contains("href=\"/auth/login?provider=a&amp;next=%2Fme%3Fx%3D1\""),
        "{body}"
    );
    assert!(body.contains(">Provider A</a>"), "{body}");
    assert!(
        body.contains("href=\"/auth/login?provider=b&amp;next=%2Fme%3Fx%3D1\""),
        "{body}"
    );
    // An unsafe `next` is replaced, as for a login.
    let body = browser
        .get("/auth/login?next=https%3A%2F%2Fevil.example")
        .await
        .text()
        .await
        .unwrap();
    assert!(!body.contains("evil"), "{body}");
}

#[tokio::test]
async fn an_unknown_provider_is_refused_with_400() {
    let s = setup().await;
    let browser = Browser::new(&s.origin);
    for name in ["zz", "A", "", "a%2Fb"] {
        let r = browser
            .get(&format!("/auth/login?provider={name}&next=/"))
            .await;
        assert_eq!(r.status(), StatusCode::BAD_REQUEST, "{name:?}");
        assert!(r.headers().get("set-cookie").is_none(), "no login started");
    }
    let r = browser.get_json("/auth/login?provider=zz").await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    let body: serde_json::Value = r.json().await.unwrap();
    assert_eq!(body["error"], "unknown_provider");
}

#[tokio::test]
async fn the_chooser_page_can_be_replaced_by_the_application() {
    use axum::response::IntoResponse as _;
    let bound = bind().await;
    let origin = bound.origin.clone();
    let a = provider(&origin, "a").await;
    let b = provider(&origin, "b").await;
    let config = OAuthConfiguration::builder()
        .with_app_url(&origin)
        .with_provider("a", settings(&a))
        .with_provider("b", settings(&b))
        .build()
        .unwrap();
    let layer = layer(config, memory()).with_provider_chooser(|choices| {
        let names: Vec<&str> = choices.iter().map(|c| c.name.as_str()).collect();
        (StatusCode::OK, format!("pick one of {}", names.join(","))).into_response()
    });
    let _server = serve(bound, layer);
    let r = Browser::new(&origin).get("/auth/login").await;
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.text().await.unwrap(), "pick one of a,b");
}

#[tokio::test]
async fn a_provider_that_is_down_does_not_stop_the_start_nor_the_others() {
    let bound = bind().await;
    let origin = bound.origin.clone();
    let a = provider(&origin, "a").await;
    let config = OAuthConfiguration::builder()
        .with_app_url(&origin)
        .with_provider("a", settings(&a))
        .with_provider(
            "down",
            ProviderSettings::new()
                .with_issuer("http://127.0.0.1:9/nothing-here")
                .with_client_id("multi")
                .with_client_secret(SECRET),
        )
        .build()
        .expect("builds without reaching any provider");
    let _server = serve(bound, layer(config, memory()));
    let browser = Browser::new(&origin);
    assert_eq!(
        login(&browser, "a", "alice").await.status(),
        StatusCode::SEE_OTHER
    );
    let r = browser.get("/auth/login?provider=down").await;
    assert_eq!(r.status(), StatusCode::SERVICE_UNAVAILABLE);
}

#[test]
fn provider_names_and_settings_are_checked_at_build() {
    let ok = || {
        ProviderSettings::new()
            .with_issuer("https://op.example")
            .with_client_id("c")
            .with_client_secret("s")
    };
    let build = |b: axum_oidc_client::OAuthConfigurationBuilder| b.build().err();
    let base = || OAuthConfiguration::builder().with_app_url("https://app.example");

    let e = build(base().with_provider("Bad Name", ok())).unwrap();
    assert!(e.to_string().contains("\"Bad Name\""), "{e}");
    let e = build(base().with_provider("a", ok()).with_provider("a", ok())).unwrap();
    assert!(e.to_string().contains("configured twice"), "{e}");
    let e = build(base().with_provider(
        "a",
        ProviderSettings::new().with_issuer("https://op.example"),
    ))
    .unwrap();
    assert!(
        matches!(&e, ConfigError::Provider { name, .. } if name == "a"),
        "{e:?}"
    );
    assert!(e.to_string().contains("OIDC_CLIENT_ID"), "{e}");
    let e = build(base().with_provider("a", ok().with_issuer("http://op.example"))).unwrap();
    assert!(
        matches!(&e, ConfigError::Provider { source, .. } if matches!(**source, ConfigError::InsecureUrl("issuer"))),
        "{e:?}"
    );
    // The single-provider settings do not mix with named providers.
    let e = build(base().with_client_id("c").with_provider("a", ok())).unwrap();
    assert!(e.to_string().contains("with_provider"), "{e}");
    let config = base()
        .with_provider("a", ok())
        .with_provider("b-2_x", ok())
        .build()
        .unwrap();
    assert_eq!(config.provider_names(), ["a", "b-2_x"]);
    assert_eq!(
        config.provider_redirect_uri("b-2_x").unwrap().as_str(),
        "https://app.example/auth/callback/b-2_x"
    );
    assert_eq!(config.provider_issuer("a"), Some("https://op.example"));
}

#[tokio::test]
async fn a_step_up_login_goes_back_to_the_provider_of_the_session() {
    use axum::routing::get;
    use axum_oidc_client::access::{acr_values, step_up};
    let bound = bind().await;
    let origin = bound.origin.clone();
    let a = provider(&origin, "a").await;
    let b = provider(&origin, "b").await;
    let config = OAuthConfiguration::builder()
        .with_app_url(&origin)
        .with_provider("a", settings(&a))
        .with_provider("b", settings(&b))
        .build()
        .unwrap();
    let app = app::routes()
        .route(
            "/strict",
            get(|| async { "strict" }).route_layer(step_up(acr_values(["urn:example:never"]))),
        )
        .layer(layer(config, memory()));
    let _server = tokio::spawn(async move { axum::serve(bound.listener, app).await.unwrap() });

    let browser = Browser::new(&origin);
    login(&browser, "b", "alice").await;
    let r = browser.get("/strict").await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let again = location(&r);
    assert!(again.starts_with("/auth/login?"), "{again}");
    assert!(again.ends_with("&provider=b"), "{again}");
    let r = browser.get(&again).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert!(location(&r).starts_with(b.issuer()), "{}", location(&r));
}

#[tokio::test]
async fn refresh_logout_and_revocation_go_to_the_provider_of_the_session() {
    use axum_oidc_client::{AuthenticationLayer, OidcLogoutHandler};
    let bound = bind().await;
    let origin = bound.origin.clone();
    let a = provider(&origin, "a").await;
    let b = provider(&origin, "b").await;
    // Access tokens shorter than the refresh margin: every request refreshes.
    b.set_access_token_ttl(std::time::Duration::from_secs(5));
    let config = OAuthConfiguration::builder()
        .with_app_url(&origin)
        .with_provider("a", settings(&a))
        .with_provider("b", settings(&b))
        .build()
        .unwrap();
    let layer =
        AuthenticationLayer::with_store(config, memory()).with_logout_handler(OidcLogoutHandler);
    let _server = serve(bound, layer);
    let browser = Browser::new(&origin);
    login(&browser, "b", "alice").await;

    assert_eq!(browser.get_json("/me").await.status(), StatusCode::OK);
    assert!(b.stats().refresh_grants >= 1, "refreshed at b");
    assert_eq!(a.stats().refresh_grants, 0, "never at a");

    let r = browser.logout().await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let end_session = location(&r);
    assert!(
        end_session.starts_with(b.issuer()),
        "RP-initiated logout at b's end_session_endpoint: {end_session}"
    );
    for _ in 0..50 {
        if b.stats().revocations >= 1 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert!(b.stats().revocations >= 1, "tokens revoked at b");
    assert_eq!(a.stats().revocations, 0, "nothing sent to a");
}

#[test]
fn the_bearer_layer_shares_every_named_provider_with_an_issuer() {
    use axum_oidc_client::bearer::JwtConfiguration;
    let oidc = |iss: &str| {
        ProviderSettings::new()
            .with_issuer(iss)
            .with_client_id("c")
            .with_client_secret("s")
    };
    let config = OAuthConfiguration::builder()
        .with_app_url("https://app.example")
        .with_provider("a", oidc("https://a.example"))
        .with_provider("b", oidc("https://b.example"))
        .with_provider(
            "github",
            ProviderSettings::new()
                .with_client_id("gh")
                .with_client_secret("s")
                .with_authorization_endpoint("https://github.com/login/oauth/authorize")
                .with_token_endpoint("https://github.com/login/oauth/access_token")
                .with_oauth2_only("https://api.github.com/user", "id"),
        )
        .build()
        .unwrap();
    let api = JwtConfiguration::builder()
        .with_oauth_configuration(&config)
        .with_audience("api")
        .build()
        .unwrap();
    let mut issuers: Vec<&str> = api.issuers().collect();
    issuers.sort_unstable();
    assert_eq!(issuers, ["https://a.example", "https://b.example"]);
}

#[tokio::test]
async fn an_oauth2_only_provider_sits_next_to_an_openid_one() {
    let bound = bind().await;
    let origin = bound.origin.clone();
    let a = provider(&origin, "a").await;
    let gh = capture::CaptureProvider::start().await;
    let config = OAuthConfiguration::builder()
        .with_app_url(&origin)
        .with_provider("a", settings(&a))
        .with_provider(
            "github",
            ProviderSettings::new()
                .with_display_name("GitHub")
                .with_client_id(capture::CLIENT_ID)
                .with_client_secret(capture::CLIENT_SECRET)
                .with_authorization_endpoint(gh.url("/authorize"))
                .with_token_endpoint(gh.url("/token"))
                .with_oauth2_only(gh.url("/user"), "id")
                .with_scopes(["read:user"]),
        )
        .build()
        .unwrap();
    let store = memory();
    let _server = serve(bound, layer(config, store.clone()));
    let browser = Browser::new(&origin);
    let auth = start_at(&browser, "github", "/me").await;
    let back = gh.authorize(&auth).await;
    assert!(
        back.starts_with(&format!("{origin}/auth/callback/github?")),
        "{back}"
    );
    let done = browser.finish_login(&back).await;
    assert_eq!(done.status(), StatusCode::SEE_OTHER);
    let me: serde_json::Value = browser.get_json("/me").await.json().await.unwrap();
    assert_eq!(me["sub"], "42");
    assert_eq!(me["claims"]["iss"], gh.origin());
    let listed = store.sessions_of(gh.origin(), "42").await.unwrap();
    assert_eq!(listed[0].1.provider.as_deref(), Some("github"));
    assert_eq!(gh.last("/authorize").query_param("nonce"), None);
    // The OpenID provider is untouched and still works.
    assert_eq!(
        login(&Browser::new(&origin), "a", "alice").await.status(),
        StatusCode::SEE_OTHER
    );
}

/// A logout token signed with the capture provider's key (`fixtures/rsa1.pem`).
fn logout_token(iss: &str, aud: &str, sub: &str, jti: &str) -> String {
    logout_token_with(iss, aud, serde_json::json!({ "sub": sub }), jti)
}

/// The same, naming the sessions with `subject` (`sub` and/or `sid`).
fn logout_token_with(iss: &str, aud: &str, subject: serde_json::Value, jti: &str) -> String {
    use jsonwebtoken::{Algorithm, EncodingKey, Header, encode};
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    let mut header = Header::new(Algorithm::RS256);
    header.kid = Some("capture-rsa-1".into());
    header.typ = Some("logout+jwt".into());
    let mut claims = serde_json::json!({
        "iss": iss, "aud": aud, "iat": now, "exp": now + 120, "jti": jti,
        "events": { "http://schemas.openid.net/event/backchannel-logout": {} },
    });
    for (name, value) in subject.as_object().expect("sub and/or sid") {
        claims[name] = value.clone();
    }
    let key = EncodingKey::from_rsa_pem(include_bytes!("fixtures/rsa1.pem")).unwrap();
    encode(&header, &claims, &key).unwrap()
}

#[tokio::test]
async fn a_logout_token_is_verified_by_the_provider_its_iss_names_and_ends_only_that_issuers_sessions()
 {
    let bound = bind().await;
    let origin = bound.origin.clone();
    let a = provider(&origin, "a").await;
    let cap = capture::CaptureProvider::start().await;
    let config = OAuthConfiguration::builder()
        .with_app_url(&origin)
        .with_provider("a", settings(&a))
        .with_provider(
            "cap",
            ProviderSettings::new()
                .with_issuer(cap.origin())
                .with_client_id(capture::CLIENT_ID)
                .with_client_secret(capture::CLIENT_SECRET),
        )
        .build()
        .unwrap();
    let discovery = config.clone();
    let store = memory();
    let _server = serve(bound, layer(config, store.clone()));
    let alice_at_a = Browser::new(&origin);
    login(&alice_at_a, "a", "alice").await;
    // Both providers discovered (in the background): until then a logout token of a
    // provider not discovered yet is rightly answered 503, for the provider to retry.
    let started = std::time::Instant::now();
    while matches!(
        discovery.discovery_health(),
        axum_oidc_client::DiscoveryHealth::Pending { .. }
    ) {
        assert!(
            started.elapsed() < std::time::Duration::from_secs(10),
            "{:?}",
            discovery.discovery_health()
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    let backchannel = |token: String| {
        let origin = origin.clone();
        async move {
            no_redirect_client()
                .post(format!("{origin}/auth/backchannel-logout"))
                .form(&[("logout_token", token)])
                .send()
                .await
                .unwrap()
        }
    };

    // Signed with cap's key but naming a's issuer: verified with a's keys, refused.
    let forged = logout_token(a.issuer(), "multi", "user-alice", "j1");
    assert_eq!(backchannel(forged).await.status(), StatusCode::BAD_REQUEST);
    assert_eq!(alice_at_a.get_json("/me").await.status(), StatusCode::OK);

    // An issuer that is none of the providers'.
    let stranger = logout_token("https://stranger.example", "multi", "user-alice", "j2");
    assert_eq!(
        backchannel(stranger).await.status(),
        StatusCode::BAD_REQUEST
    );
    assert_eq!(
        backchannel("not a jwt".into()).await.status(),
        StatusCode::BAD_REQUEST
    );

    // A valid token of cap for the same `sub` (by `sub` alone): accepted, and it ends
    // cap's sessions of user-alice only, none of a's.
    let valid = logout_token(cap.origin(), capture::CLIENT_ID, "user-alice", "j3");
    assert_eq!(backchannel(valid).await.status(), StatusCode::OK);
    assert_eq!(
        alice_at_a.get_json("/me").await.status(),
        StatusCode::OK,
        "a's session of the same sub stays"
    );

    // A valid token of cap naming a's session by its `sid` alone: a `sid` is unique
    // per provider only, so it ends no session of a.
    let a_sid = store
        .sessions_of(a.issuer(), "user-alice")
        .await
        .unwrap()
        .first()
        .and_then(|(_, r)| r.sid().map(str::to_owned))
        .expect("a's session has a sid");
    let same_sid = logout_token_with(
        cap.origin(),
        capture::CLIENT_ID,
        serde_json::json!({ "sid": a_sid }),
        "j4",
    );
    assert_eq!(backchannel(same_sid).await.status(), StatusCode::OK);
    assert_eq!(
        alice_at_a.get_json("/me").await.status(),
        StatusCode::OK,
        "a's session with the same sid stays"
    );
}
