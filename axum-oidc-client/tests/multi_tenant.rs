//! Multi-tenant issuers (Entra ID's `common` and `organizations` endpoints) against the
//! adversarial provider: its discovery document names the template
//! `http://127.0.0.1:PORT/{tenantid}/v2.0`, and each ID token the issuer of its tenant
//! with that tenant in `tid`.
//!
//! `cargo test -p axum-oidc-client --test multi_tenant`

#[path = "support/adversary.rs"]
mod adversary;
#[path = "support/app.rs"]
mod app;
#[allow(dead_code, unused_imports)]
#[path = "conformance/harness.rs"]
mod harness;
#[path = "support/logs.rs"]
mod logs;

use std::time::Duration;

use axum_oidc_client::{ConfigError, DiscoveryError, OAuthConfigurationBuilder};
use reqwest::StatusCode;
use serde_json::json;

use harness::*;

const TENANT_A: &str = "11111111-aaaa-4aaa-8aaa-aaaaaaaaaaaa";
const TENANT_B: &str = "22222222-bbbb-4bbb-8bbb-bbbbbbbbbbbb";
const TENANT_C: &str = "33333333-cccc-4ccc-8ccc-cccccccccccc";

/// The adversary's origin, where the tenants' issuers live.
fn origin(adv: &Adversary) -> String {
    adv.issuer("").trim_end_matches('/').to_owned()
}

fn template(adv: &Adversary) -> String {
    format!("{}/{{tenantid}}/v2.0", origin(adv))
}

fn tenant_issuer(adv: &Adversary, tenant: &str) -> String {
    format!("{}/{tenant}/v2.0", origin(adv))
}

/// An Entra-like `common` case: the discovery document names the template.
fn common(adv: &Adversary) -> String {
    common_as(adv, Behavior::default())
}

/// The `common` case, otherwise behaving as `base`.
fn common_as(adv: &Adversary, base: Behavior) -> String {
    adv.case(
        "common",
        Behavior {
            discovery_issuer: Some(template(adv)),
            ..base
        },
    )
}

/// The provider now signs the user in at `tenant`: the authorization response's and
/// the ID tokens' `iss` name it, and `tid` is `tid`, at login and refresh.
fn sign_in_at(adv: &Adversary, tenant: &str, tid: &str) {
    let iss = tenant_issuer(adv, tenant);
    adv.update("common", |b| {
        b.issued_iss = Some(iss);
        b.id_token_claims = json!({ "tid": tid });
        b.refresh_id_token_claims = json!({ "tid": tid });
    });
}

/// A relying party for the `common` case with the template and, when given, the
/// allow-list; access tokens live 2 s and are refreshed 1 s ahead.
async fn relying_party(adv: &Adversary, allowed: Option<&[&str]>) -> Rp {
    relying_party_as(adv, allowed, Behavior::default()).await
}

/// [`relying_party`] for a `common` case otherwise behaving as `base`.
async fn relying_party_as(adv: &Adversary, allowed: Option<&[&str]>, base: Behavior) -> Rp {
    let template = template(adv);
    let allowed: Option<Vec<String>> = allowed.map(|a| a.iter().map(|t| (*t).into()).collect());
    Rp::start(
        adv,
        &common_as(adv, base),
        move |b| {
            let b = b
                .with_issuer_template(template)
                .with_refresh_margin(Duration::from_secs(1));
            match allowed {
                Some(list) => b.with_allowed_tenants(list),
                None => b,
            }
        },
        |l| l,
    )
    .await
}

#[tokio::test]
async fn users_of_two_tenants_both_log_in_with_their_tenants_issuer() {
    let adv = Adversary::start().await;
    let rp = relying_party(&adv, Some(&[TENANT_A, TENANT_B])).await;
    for tenant in [TENANT_A, TENANT_B] {
        sign_in_at(&adv, tenant, tenant);
        let browser = rp.browser();
        login_ok(&browser).await;
        let me = me_json(&browser).await;
        assert_eq!(me["claims"]["iss"], tenant_issuer(&adv, tenant));
        assert_eq!(me["claims"]["tid"], tenant);
    }
    assert_eq!(rp.sessions().await, 2);
}

/// Back-Channel Logout 1.0 section 2.6 step 3 under a template: a logout token with
/// the user's tenant in `iss` and `tid` ends the session; one whose `iss` names another
/// tenant than its `tid`, or a tenant outside the allow-list, ends nothing.
#[tokio::test]
async fn a_backchannel_logout_token_of_the_users_tenant_ends_the_session() {
    let adv = Adversary::start().await;
    let rp = relying_party(&adv, Some(&[TENANT_A, TENANT_B])).await;
    sign_in_at(&adv, TENANT_A, TENANT_A);
    let browser = rp.browser();
    login_ok(&browser).await;
    let sid = adv.seen("common").sids[0].clone();
    let post = |token: String| {
        let url = format!("{}/auth/backchannel-logout", rp.origin);
        async move {
            reqwest::Client::new()
                .post(url)
                .form(&[("logout_token", token)])
                .send()
                .await
                .unwrap()
                .status()
        }
    };
    let token = |tenant: &str, tid: &str| {
        adv.logout_token(
            "common",
            &Sig::By(Key::Rsa1),
            json!({ "sid": sid, "iss": tenant_issuer(&adv, tenant), "tid": tid }),
        )
    };
    for (tenant, tid) in [(TENANT_B, TENANT_A), (TENANT_C, TENANT_C)] {
        assert_eq!(post(token(tenant, tid)).await, StatusCode::BAD_REQUEST);
        assert_eq!(me(&browser).await, StatusCode::OK, "{tenant} {tid}");
    }
    assert_eq!(post(token(TENANT_A, TENANT_A)).await, StatusCode::OK);
    assert_eq!(me(&browser).await, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn every_tenant_logs_in_without_an_allow_list() {
    let adv = Adversary::start().await;
    let rp = relying_party(&adv, None).await;
    sign_in_at(&adv, TENANT_C, TENANT_C);
    login_ok(&rp.browser()).await;
}

/// Logs in and asserts that the callback refuses with 400 and no session, and that
/// the library logged the refusal with `rule` (the text of the rule that failed).
async fn login_is_refused(rp: &Rp, rule: &str) {
    let logs = logs::capture();
    let browser = rp.browser();
    let r = login(&browser, "/me").await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST, "callback status");
    assert!(
        !sets_session(&r),
        "no session cookie: {:?}",
        set_cookies(&r)
    );
    assert_eq!(me(&browser).await, StatusCode::UNAUTHORIZED);
    assert_eq!(rp.sessions().await, 0, "no session may be stored");
    assert_eq!(
        logs.library_lines_with(rule).len(),
        1,
        "the refusal names {rule:?}: {:#?}",
        logs.lines()
    );
}

#[tokio::test]
async fn rejects_an_id_token_whose_issuer_does_not_match_its_tid() {
    let adv = Adversary::start().await;
    let rp = relying_party(&adv, Some(&[TENANT_A, TENANT_B])).await;
    // Both tenants are allowed: only the pairing of iss and tid is wrong.
    sign_in_at(&adv, TENANT_A, TENANT_B);
    login_is_refused(&rp, "issuer does not match the tenant id (tid)").await;
    assert_eq!(adv.seen("common").code_exchanges(), 1);
}

#[tokio::test]
async fn rejects_an_id_token_whose_tid_is_not_a_plain_tenant_id() {
    let adv = Adversary::start().await;
    let rp = relying_party(&adv, None).await;
    // The issuer the template gives for `a/b` would be `.../a/b/v2.0`. As the iss of
    // an authorization response it is refused at once (RFC 9207) ...
    sign_in_at(&adv, "a/b", "a/b");
    login_is_refused(&rp, "wrong_iss").await;
    // ... and, from a provider that does not send one, in the ID token.
    let without_iss = Behavior {
        advertise_iss: false,
        authorize_iss: Echo::Dropped,
        ..Behavior::default()
    };
    let rp = relying_party_as(&adv, None, without_iss).await;
    sign_in_at(&adv, "a/b", "a/b");
    login_is_refused(&rp, "not a plain tenant id").await;
}

#[tokio::test]
async fn rejects_an_id_token_without_tid() {
    let adv = Adversary::start().await;
    let rp = relying_party(&adv, None).await;
    sign_in_at(&adv, TENANT_A, TENANT_A);
    adv.update("common", |b| b.id_token_claims = json!({ "tid": null }));
    login_is_refused(&rp, "tenant id (tid) missing").await;
}

#[tokio::test]
async fn rejects_a_tenant_outside_the_allow_list() {
    let adv = Adversary::start().await;
    let rp = relying_party(&adv, Some(&[TENANT_A, TENANT_B])).await;
    sign_in_at(&adv, TENANT_C, TENANT_C);
    login_is_refused(&rp, "reason=\"tenant_not_allowed\"").await;
    // The allowed tenants still log in.
    sign_in_at(&adv, TENANT_A, TENANT_A);
    login_ok(&rp.browser()).await;
}

#[tokio::test]
async fn rejects_an_authorization_response_iss_outside_the_template() {
    let adv = Adversary::start().await;
    let rp = relying_party(&adv, None).await;
    sign_in_at(&adv, TENANT_A, TENANT_A);
    // RFC 9207: `{tenant issuer}-evil` is no issuer of the template.
    adv.update("common", |b| b.authorize_iss = Echo::Changed);
    login_is_refused(&rp, "wrong_iss").await;
    assert_eq!(
        adv.seen("common").code_exchanges(),
        0,
        "the code is not exchanged"
    );
}

#[tokio::test]
async fn ends_the_session_when_a_refreshed_id_token_names_another_tenant() {
    let adv = Adversary::start().await;
    let rp = relying_party(&adv, Some(&[TENANT_A, TENANT_B])).await;
    sign_in_at(&adv, TENANT_A, TENANT_A);
    adv.update("common", |b| b.expires_in = 2);
    let browser = rp.browser();
    login_ok(&browser).await;
    // A consistent token of another allowed tenant: valid alone, but not the login's.
    let other = tenant_issuer(&adv, TENANT_B);
    adv.update("common", |b| {
        b.refresh_id_token_claims = json!({ "iss": other, "tid": TENANT_B });
    });
    adv.advance(Duration::from_secs(1));
    let logs = logs::capture();
    assert_eq!(me(&browser).await, StatusCode::UNAUTHORIZED);
    assert_eq!(adv.seen("common").refresh_grants(), 1);
    assert_eq!(rp.sessions().await, 0);
    assert!(
        !logs.library_lines_with("issuer changed").is_empty(),
        "OIDC Core 12.2: {:#?}",
        logs.lines()
    );
}

#[tokio::test]
async fn keeps_the_session_when_a_refreshed_id_token_keeps_the_tenant() {
    let adv = Adversary::start().await;
    let rp = relying_party(&adv, Some(&[TENANT_A])).await;
    sign_in_at(&adv, TENANT_A, TENANT_A);
    adv.update("common", |b| b.expires_in = 2);
    let browser = rp.browser();
    login_ok(&browser).await;
    adv.advance(Duration::from_secs(1));
    assert_eq!(me_json(&browser).await["claims"]["tid"], TENANT_A);
    assert_eq!(adv.seen("common").refresh_grants(), 1);
}

#[tokio::test]
async fn a_template_document_is_refused_without_a_configured_template() {
    let adv = Adversary::start().await;
    let issuer = common(&adv);
    let e = builder(&adv, "http://127.0.0.1:3000")
        .with_issuer(&issuer)
        .await
        .unwrap_err();
    assert!(
        matches!(&e, ConfigError::Discovery(DiscoveryError::TemplateNotConfigured { found }) if *found == template(&adv)),
        "{e:?}"
    );
}

#[tokio::test]
async fn a_document_naming_another_template_is_refused() {
    let adv = Adversary::start().await;
    let issuer = common(&adv);
    let other = format!("{}/{{tenantid}}/v1.0", origin(&adv));
    let e = builder(&adv, "http://127.0.0.1:3000")
        .with_issuer_template(other)
        .with_issuer(&issuer)
        .await
        .unwrap_err();
    assert!(
        matches!(
            &e,
            ConfigError::Discovery(DiscoveryError::TemplateNotConfigured { .. })
        ),
        "{e:?}"
    );
}

#[tokio::test]
async fn a_single_tenant_document_is_refused_when_a_template_is_configured() {
    let adv = Adversary::start().await;
    let issuer = adv.case("single", Behavior::default());
    let e = builder(&adv, "http://127.0.0.1:3000")
        .with_issuer_template(template(&adv))
        .with_issuer(&issuer)
        .await
        .unwrap_err();
    assert!(
        matches!(
            &e,
            ConfigError::Discovery(DiscoveryError::IssuerMismatch { .. })
        ),
        "{e:?}"
    );
    // Set after discovery, the template was not what the document named: build refuses.
    let e = builder(&adv, "http://127.0.0.1:3000")
        .with_issuer(&issuer)
        .await
        .unwrap()
        .with_issuer_template(template(&adv))
        .build()
        .unwrap_err();
    assert!(
        matches!(
            &e,
            ConfigError::Invalid {
                name: "OIDC_ISSUER_TEMPLATE",
                ..
            }
        ),
        "{e:?}"
    );
}

#[tokio::test]
async fn lazy_discovery_accepts_the_template_document_too() {
    let adv = Adversary::start().await;
    let issuer = common(&adv);
    sign_in_at(&adv, TENANT_A, TENANT_A);
    let bound = app::bind().await;
    let config = builder(&adv, &bound.origin)
        .with_issuer_template(template(&adv))
        .with_allowed_tenants([TENANT_A])
        .with_lazy_issuer(issuer)
        .build()
        .expect("configuration");
    let rp = app::start(bound, app::layer(config, app::memory()));
    login_ok(&rp.browser).await;
    assert_eq!(me_json(&rp.browser).await["claims"]["tid"], TENANT_A);
}

#[test]
fn allowed_tenants_without_a_template_are_refused() {
    let e = OAuthConfigurationBuilder::default()
        .with_client_id("c")
        .with_app_url("http://localhost:3000")
        .with_lazy_issuer("http://127.0.0.1:9/common/v2.0")
        .with_allowed_tenants([TENANT_A])
        .build()
        .unwrap_err();
    assert!(
        matches!(
            &e,
            ConfigError::Invalid {
                name: "OIDC_ALLOWED_TENANTS",
                ..
            }
        ),
        "{e:?}"
    );
}

#[test]
fn a_template_without_the_placeholder_or_with_odd_tenants_is_refused() {
    let base = || {
        OAuthConfigurationBuilder::default()
            .with_client_id("c")
            .with_app_url("http://localhost:3000")
            .with_lazy_issuer("http://127.0.0.1:9/common/v2.0")
    };
    let e = base()
        .with_issuer_template("http://127.0.0.1:9/common/v2.0")
        .build()
        .unwrap_err();
    assert!(
        matches!(
            &e,
            ConfigError::Invalid {
                name: "OIDC_ISSUER_TEMPLATE",
                ..
            }
        ),
        "{e:?}"
    );
    let e = base()
        .with_issuer_template("http://127.0.0.1:9/{tenantid}/v2.0")
        .with_allowed_tenants(["ok", "a/b"])
        .build()
        .unwrap_err();
    assert!(
        matches!(
            &e,
            ConfigError::Invalid {
                name: "OIDC_ALLOWED_TENANTS",
                ..
            }
        ),
        "{e:?}"
    );
    base()
        .with_issuer_template("http://127.0.0.1:9/{tenantid}/v2.0")
        .with_allowed_tenants(["ok"])
        .build()
        .expect("a valid template");
}

mod bearer {
    //! The bearer layer with an issuer template: access tokens of each tenant.

    use axum_oidc_client::IssuerError;
    use axum_oidc_client::bearer::{BearerError, JwtConfiguration};
    use serde_json::json;

    use super::*;

    /// An access token of `tenant`'s issuer with `tid`, signed by the provider's key.
    fn access_token(adv: &Adversary, tenant: &str, tid: &str) -> String {
        let now = adv.now();
        let claims = json!({
            "iss": tenant_issuer(adv, tenant),
            "tid": tid,
            "sub": "alice",
            "aud": "api",
            "iat": now,
            "exp": now + 300,
            "scope": "read",
        });
        adversary::sign(&Sig::By(Key::Rsa1), "at+jwt", &claims)
    }

    async fn refused(config: &JwtConfiguration, token: &str) -> BearerError {
        config.verify(token).await.expect_err("refused")
    }

    #[tokio::test]
    async fn accepts_each_allowed_tenant_and_refuses_the_rest() {
        let adv = Adversary::start().await;
        let jwks = format!("{}/jwks", common(&adv));
        let config = JwtConfiguration::builder()
            .insecure_allow_http()
            .with_clock(adv.clock().clone())
            .with_issuer_template(template(&adv), jwks)
            .with_allowed_tenants([TENANT_A, TENANT_B])
            .with_audience("api")
            .build()
            .unwrap();
        for tenant in [TENANT_A, TENANT_B] {
            let jwt = config
                .verify(&access_token(&adv, tenant, tenant))
                .await
                .unwrap();
            assert_eq!(jwt.issuer(), tenant_issuer(&adv, tenant));
        }
        let e = refused(&config, &access_token(&adv, TENANT_A, TENANT_B)).await;
        assert!(
            matches!(e, BearerError::Tenant(IssuerError::TenantMismatch)),
            "{e:?}"
        );
        let e = refused(&config, &access_token(&adv, TENANT_C, TENANT_C)).await;
        assert!(
            matches!(e, BearerError::Tenant(IssuerError::TenantNotAllowed)),
            "{e:?}"
        );
        assert_eq!(e.status(), StatusCode::UNAUTHORIZED);
    }

    #[tokio::test]
    async fn shares_the_login_sides_template_and_allow_list() {
        let adv = Adversary::start().await;
        let issuer = common(&adv);
        let login = builder(&adv, "http://127.0.0.1:3000")
            .with_issuer_template(template(&adv))
            .with_allowed_tenants([TENANT_A])
            .with_issuer(&issuer)
            .await
            .unwrap()
            .build()
            .unwrap();
        let config = JwtConfiguration::builder()
            .with_clock(adv.clock().clone())
            .with_oauth_configuration(&login)
            .with_audience("api")
            .build()
            .unwrap();
        let jwt = config
            .verify(&access_token(&adv, TENANT_A, TENANT_A))
            .await
            .unwrap();
        assert_eq!(jwt.issuer(), tenant_issuer(&adv, TENANT_A));
        let e = refused(&config, &access_token(&adv, TENANT_B, TENANT_B)).await;
        assert!(
            matches!(e, BearerError::Tenant(IssuerError::TenantNotAllowed)),
            "{e:?}"
        );
        let e = refused(&config, &access_token(&adv, TENANT_A, "")).await;
        assert!(
            matches!(e, BearerError::Tenant(IssuerError::MissingTenant)),
            "{e:?}"
        );
    }

    #[test]
    fn allowed_tenants_need_a_template() {
        let e = JwtConfiguration::builder()
            .with_jwks_uri("http://127.0.0.1:9", "http://127.0.0.1:9/jwks")
            .with_allowed_tenants([TENANT_A])
            .with_audience("api")
            .build()
            .unwrap_err();
        assert!(
            matches!(
                &e,
                ConfigError::Invalid {
                    name: "OIDC_ALLOWED_TENANTS",
                    ..
                }
            ),
            "{e:?}"
        );
    }
}
