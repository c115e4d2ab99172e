//! `private_key_jwt` (RFC 7523 section 2.2, OIDC Core 9) and `client_secret_jwt`, seen
//! from the wire: what the token and revocation endpoints of `support/capture.rs`
//! receive, verified with the keys the application publishes at `{base}/jwks.json`.

#[path = "support/app.rs"]
mod app;
#[path = "support/capture.rs"]
mod capture;

use std::time::Duration;

use app::bind;
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, Ed25519KeyPair};
use axum_oidc_client::client_auth::ClientSigningKey;
use axum_oidc_client::{ClientAuthMethod, Clock, OAuthConfiguration};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use capture::{CLIENT_ID, CLIENT_SECRET, CaptureProvider};
use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use reqwest::StatusCode;
use serde_json::Value;

const ASSERTION_TYPE: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

fn pem(der: &[u8]) -> String {
    let b64 = STANDARD.encode(der);
    let lines: Vec<&str> = b64
        .as_bytes()
        .chunks(64)
        .map(|c| std::str::from_utf8(c).unwrap())
        .collect();
    format!(
        "-----BEGIN PRIVATE KEY-----\n{}\n-----END PRIVATE KEY-----\n",
        lines.join("\n")
    )
}

fn ec_pem() -> String {
    let doc = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &SystemRandom::new())
        .unwrap();
    pem(doc.as_ref())
}

fn ed_pem() -> String {
    pem(Ed25519KeyPair::generate_pkcs8(&SystemRandom::new())
        .unwrap()
        .as_ref())
}

fn serve(bound: app::Bound, config: OAuthConfiguration) -> app::RunningApp {
    app::start(bound, app::layer(config, app::memory()))
}

async fn published_jwks(rp: &app::RunningApp) -> Value {
    let r = reqwest::get(format!("{}/auth/jwks.json", rp.origin))
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(
        r.headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok()),
        Some("application/jwk-set+json")
    );
    r.json().await.unwrap()
}

/// Verifies the client assertion of `req` with the published keys; returns its
/// header and claims.
fn verify_assertion(
    req: &capture::Captured,
    jwks: &Value,
    audience: &str,
) -> (jsonwebtoken::Header, Value) {
    assert_eq!(req.header("authorization"), None, "no HTTP Basic");
    assert_eq!(req.form_param("client_secret"), None);
    assert_eq!(
        req.form_param("client_assertion_type"),
        Some(ASSERTION_TYPE)
    );
    let jwt = req
        .form_param("client_assertion")
        .expect("client_assertion");
    let header = jsonwebtoken::decode_header(jwt).unwrap();
    let set: JwkSet = serde_json::from_value(jwks.clone()).unwrap();
    let jwk = set
        .find(header.kid.as_deref().expect("kid"))
        .expect("the kid is published");
    let mut v = Validation::new(header.alg);
    v.set_audience(&[audience]);
    v.set_required_spec_claims(&["exp", "iat", "aud", "iss", "sub"]);
    let data = jsonwebtoken::decode::<Value>(jwt, &DecodingKey::from_jwk(jwk).unwrap(), &v)
        .expect("the assertion verifies with the published key");
    (data.header, data.claims)
}

#[tokio::test]
async fn private_key_jwt_authenticates_the_code_exchange_with_aud_the_issuer() {
    let op = CaptureProvider::start().await;
    let bound = bind().await;
    let config = op
        .oidc_builder(&bound.origin, "alice")
        .await
        .with_client_auth_method(ClientAuthMethod::PrivateKeyJwt)
        .with_client_signing_key_pem(&ec_pem(), None)
        .build()
        .unwrap();
    let rp = serve(bound, config);
    assert_eq!(op.login(&rp.browser).await.status(), StatusCode::SEE_OTHER);
    let jwks = published_jwks(&rp).await;
    let token = op.last("/token");
    assert_eq!(token.form_param("client_id"), Some(CLIENT_ID));
    let (header, claims) = verify_assertion(&token, &jwks, op.origin());
    assert_eq!(header.alg, Algorithm::ES256);
    assert_eq!(claims["iss"], CLIENT_ID);
    assert_eq!(claims["sub"], CLIENT_ID);
    assert_eq!(claims["aud"], op.origin());
    let lifetime = claims["exp"].as_i64().unwrap() - claims["iat"].as_i64().unwrap();
    assert!((1..=300).contains(&lifetime), "a short exp: {lifetime} s");
    assert!(claims["jti"].as_str().is_some_and(|j| j.len() >= 16));
}

#[tokio::test]
async fn private_key_jwt_authenticates_refresh_and_revocation_with_a_fresh_jti() {
    let op = CaptureProvider::start().await;
    op.script(|s| {
        s.expires_in = Some(300);
        s.issue_refresh_tokens = true;
    });
    let clock = Clock::manual(1_900_000_000);
    let bound = bind().await;
    let config = op
        .oauth2_builder(&bound.origin)
        .with_clock(clock.clone())
        .with_revocation_endpoint(op.url("/revoke"))
        .with_client_signing_key_pem(&ed_pem(), Some("current"))
        .with_client_signing_key_pem(&ec_pem(), Some("next"))
        .with_client_auth_method(ClientAuthMethod::PrivateKeyJwt)
        .build()
        .unwrap();
    let rp = serve(bound, config);
    assert_eq!(op.login(&rp.browser).await.status(), StatusCode::SEE_OTHER);
    clock.advance(Duration::from_secs(400));
    assert_eq!(rp.browser.get_json("/me").await.status(), StatusCode::OK);
    rp.browser.logout().await;
    for _ in 0..50 {
        if op.requests_to("/revoke").len() >= 2 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }

    let jwks = published_jwks(&rp).await;
    let kids: Vec<&str> = jwks["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["kid"].as_str().unwrap())
        .collect();
    assert_eq!(kids, ["current", "next"], "every key is published");

    let tokens = op.requests_to("/token");
    assert_eq!(tokens.len(), 2, "code exchange and refresh");
    assert_eq!(tokens[1].form_param("grant_type"), Some("refresh_token"));
    let revocations = op.requests_to("/revoke");
    assert_eq!(revocations.len(), 2);
    let token_endpoint = op.url("/token");
    let mut jtis = Vec::new();
    for req in tokens.iter() {
        let (header, claims) = verify_assertion(req, &jwks, &token_endpoint);
        assert_eq!(
            header.kid.as_deref(),
            Some("current"),
            "the first key signs"
        );
        assert_eq!(header.alg, Algorithm::EdDSA);
        jtis.push(claims["jti"].as_str().unwrap().to_owned());
    }
    for req in revocations.iter() {
        // OAuth 2.0 only: no issuer, so `aud` is the token endpoint.
        let (_, claims) = verify_assertion(req, &jwks, &token_endpoint);
        jtis.push(claims["jti"].as_str().unwrap().to_owned());
    }
    let mut unique = jtis.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), jtis.len(), "a fresh jti each time: {jtis:?}");
}

#[tokio::test]
async fn the_published_jwks_has_no_private_member() {
    let op = CaptureProvider::start().await;
    let bound = bind().await;
    let config = op
        .oauth2_builder(&bound.origin)
        .with_client_signing_key_pem(&ec_pem(), None)
        .with_client_signing_key_pem(&ed_pem(), None)
        .build()
        .unwrap();
    let rp = serve(bound, config);
    let jwks = published_jwks(&rp).await;
    let keys = jwks["keys"].as_array().unwrap();
    assert_eq!(keys.len(), 2);
    for k in keys {
        for private in ["d", "p", "q", "dp", "dq", "qi", "k"] {
            assert!(k.get(private).is_none(), "{private} published in {k}");
        }
    }
}

#[tokio::test]
async fn client_secret_jwt_is_an_hs256_assertion_with_the_secret() {
    let op = CaptureProvider::start().await;
    let bound = bind().await;
    let config = op
        .oauth2_builder(&bound.origin)
        .with_client_auth_method(ClientAuthMethod::ClientSecretJwt)
        .build()
        .unwrap();
    let rp = serve(bound, config);
    assert_eq!(op.login(&rp.browser).await.status(), StatusCode::SEE_OTHER);
    let token = op.last("/token");
    assert_eq!(token.header("authorization"), None);
    assert_eq!(token.form_param("client_secret"), None);
    assert_eq!(
        token.form_param("client_assertion_type"),
        Some(ASSERTION_TYPE)
    );
    let jwt = token.form_param("client_assertion").unwrap();
    let mut v = Validation::new(Algorithm::HS256);
    v.set_audience(&[op.url("/token")]);
    let data =
        jsonwebtoken::decode::<Value>(jwt, &DecodingKey::from_secret(CLIENT_SECRET.as_bytes()), &v)
            .expect("HS256 with the client secret");
    assert_eq!(data.claims["iss"], CLIENT_ID);
    assert_eq!(data.claims["sub"], CLIENT_ID);
}

#[tokio::test]
async fn a_key_given_as_a_client_signing_key_signs_too() {
    let op = CaptureProvider::start().await;
    let bound = bind().await;
    let key = ClientSigningKey::from_pkcs8_pem(&ec_pem(), Some("k")).unwrap();
    let config = op
        .oauth2_builder(&bound.origin)
        .with_client_signing_key(key)
        .with_client_auth_method(ClientAuthMethod::PrivateKeyJwt)
        .build()
        .unwrap();
    let rp = serve(bound, config);
    assert_eq!(op.login(&rp.browser).await.status(), StatusCode::SEE_OTHER);
    let jwks = published_jwks(&rp).await;
    verify_assertion(&op.last("/token"), &jwks, &op.url("/token"));
}
