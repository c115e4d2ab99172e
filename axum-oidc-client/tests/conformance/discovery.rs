//! Discovery (OIDC Discovery 1.0 section 4.3): the document's `issuer` must be exactly
//! the configured issuer, or start-up fails.

use axum_oidc_client::__private::discovery::DiscoveryError;
use axum_oidc_client::ConfigError;

use crate::harness::*;

async fn discover(adv: &Adversary, issuer: &str) -> Result<(), ConfigError> {
    builder(adv, "http://127.0.0.1:9")
        .with_issuer(issuer)
        .await
        .map(|_| ())
}

fn assert_issuer_mismatch(r: Result<(), ConfigError>) {
    assert!(
        matches!(
            r,
            Err(ConfigError::Discovery(
                DiscoveryError::IssuerMismatch { .. }
            ))
        ),
        "expected an issuer mismatch, got {r:?}"
    );
}

#[tokio::test]
async fn accepts_a_discovery_document_with_the_exact_issuer() {
    let adv = Adversary::start().await;
    let issuer = adv.case("good", Behavior::default());
    discover(&adv, &issuer).await.expect("discovery");
    assert_eq!(adv.seen("good").discovery, 1);
}

#[tokio::test]
async fn rejects_discovery_document_with_another_issuer() {
    let adv = Adversary::start().await;
    let other = adv.issuer("other");
    let issuer = adv.case(
        "mismatch",
        Behavior {
            discovery_issuer: Some(other),
            ..Behavior::default()
        },
    );
    assert_issuer_mismatch(discover(&adv, &issuer).await);
    assert_eq!(adv.seen("mismatch").discovery, 1);
}

#[tokio::test]
async fn rejects_discovery_issuer_that_differs_only_by_a_trailing_slash() {
    let adv = Adversary::start().await;
    let slashed = format!("{}/", adv.issuer("slash"));
    let issuer = adv.case(
        "slash",
        Behavior {
            discovery_issuer: Some(slashed),
            ..Behavior::default()
        },
    );
    assert_issuer_mismatch(discover(&adv, &issuer).await);
}

#[tokio::test]
async fn rejects_configured_issuer_with_a_trailing_slash_the_document_lacks() {
    let adv = Adversary::start().await;
    let issuer = adv.case("noslash", Behavior::default());
    assert_issuer_mismatch(discover(&adv, &format!("{issuer}/")).await);
    assert_eq!(adv.seen("noslash").discovery, 1);
}

/// Client authentication (OIDC Core 9, OIDC Discovery 1.0 section 3
/// `token_endpoint_auth_methods_supported`): with no method configured, a provider
/// that allows only `client_secret_post` gets the secret in the form.
#[tokio::test]
async fn a_provider_that_allows_only_client_secret_post_is_used_with_client_secret_post() {
    let t = Trial::new(Behavior {
        token_auth_methods: vec!["client_secret_post"],
        ..Behavior::default()
    })
    .await;
    t.login_ok().await;
    let seen = t.seen();
    let call = &seen.token[0];
    assert!(!call.authorization_header, "no Authorization header");
    assert_eq!(
        call.form.get("client_id").map(String::as_str),
        Some(CLIENT_ID)
    );
    assert_eq!(
        call.form.get("client_secret").map(String::as_str),
        Some(CLIENT_SECRET)
    );
    assert!(call.client_authenticated);
}

#[tokio::test]
async fn a_provider_that_allows_both_secret_methods_is_used_with_client_secret_basic() {
    let t = Trial::new(Behavior {
        token_auth_methods: vec!["client_secret_post", "client_secret_basic"],
        ..Behavior::default()
    })
    .await;
    t.login_ok().await;
    let call = &t.seen().token[0];
    assert!(call.authorization_header);
    assert_eq!(call.form.get("client_secret"), None);
}

#[tokio::test]
async fn a_configured_auth_method_the_provider_does_not_list_is_refused_at_build() {
    let adv = Adversary::start().await;
    let issuer = adv.case(
        "post-only",
        Behavior {
            token_auth_methods: vec!["client_secret_post"],
            ..Behavior::default()
        },
    );
    let e = builder(&adv, "http://127.0.0.1:9")
        .with_client_auth_method(axum_oidc_client::ClientAuthMethod::ClientSecretBasic)
        .with_issuer(&issuer)
        .await
        .expect("discovery")
        .build()
        .unwrap_err();
    match &e {
        ConfigError::Invalid { name, reason } => {
            assert_eq!(*name, "client_auth_method");
            assert!(reason.contains("client_secret_post"), "{reason}");
        }
        other => panic!("expected an invalid client_auth_method, got {other:?}"),
    }
}

#[tokio::test]
async fn a_provider_that_allows_no_secret_method_is_refused_at_build() {
    let adv = Adversary::start().await;
    let issuer = adv.case(
        "jwt-only",
        Behavior {
            token_auth_methods: vec!["private_key_jwt"],
            ..Behavior::default()
        },
    );
    let e = builder(&adv, "http://127.0.0.1:9")
        .with_issuer(&issuer)
        .await
        .expect("discovery")
        .build()
        .unwrap_err();
    assert!(
        matches!(&e, ConfigError::Invalid { name: "client_auth_method", reason } if reason.contains("private_key_jwt")),
        "{e:?}"
    );
}
