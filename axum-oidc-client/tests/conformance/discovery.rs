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
