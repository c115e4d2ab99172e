//! Discovery document, JWKS and ID token signatures.

mod common;

use common::*;
use oidc_dev_provider::{DevProviderConfig, SigningAlg};
use serde_json::Value;

#[tokio::test]
async fn discovery_document_lists_every_endpoint_below_the_issuer() {
    let provider = start().await;
    let issuer = provider.issuer().to_owned();
    assert_eq!(issuer, format!("http://{}", provider.addr()));
    let url = format!("{issuer}/.well-known/openid-configuration");
    let doc: Value = http()
        .get(url)
        .send()
        .await
        .expect("get")
        .json()
        .await
        .expect("json");

    assert_eq!(doc["issuer"], issuer.as_str());
    for (field, path) in [
        ("authorization_endpoint", "/authorize"),
        ("token_endpoint", "/token"),
        ("userinfo_endpoint", "/userinfo"),
        ("jwks_uri", "/jwks"),
        ("end_session_endpoint", "/logout"),
        ("revocation_endpoint", "/revoke"),
    ] {
        assert_eq!(doc[field], format!("{issuer}{path}"), "{field}");
    }
    assert_eq!(doc["response_types_supported"], serde_json::json!(["code"]));
    assert_eq!(
        doc["code_challenge_methods_supported"],
        serde_json::json!(["S256"])
    );
    assert_eq!(
        doc["subject_types_supported"],
        serde_json::json!(["public"])
    );
    assert_eq!(doc["id_token_signing_alg_values_supported"][0], "RS256");
    assert_eq!(doc["backchannel_logout_supported"], true);
    assert_eq!(doc["backchannel_logout_session_supported"], true);
    assert_eq!(doc["authorization_response_iss_parameter_supported"], true);
    let scopes = doc["scopes_supported"].as_array().expect("scopes");
    assert!(scopes.iter().any(|s| s == "offline_access"));
    let grants = doc["grant_types_supported"].as_array().expect("grants");
    assert!(grants.iter().any(|g| g == "refresh_token"));
    let methods = doc["token_endpoint_auth_methods_supported"]
        .as_array()
        .expect("methods");
    assert!(methods.iter().any(|m| m == "client_secret_basic"));
    assert!(
        doc["claims_supported"]
            .as_array()
            .is_some_and(|c| c.iter().any(|c| c == "sid"))
    );
}

#[tokio::test]
async fn iss_parameter_can_be_switched_off() {
    let config = DevProviderConfig::default()
        .with_client(test_client())
        .with_advertise_iss_parameter(false);
    let provider = start_with(config).await;
    let url = format!("{}/.well-known/openid-configuration", provider.issuer());
    let doc: Value = http()
        .get(url)
        .send()
        .await
        .expect("get")
        .json()
        .await
        .expect("json");
    assert_eq!(doc["authorization_response_iss_parameter_supported"], false);

    let redirect = login_with_hint(&provider, &Pkce::new(), "openid", "alice").await;
    assert!(query_param(&redirect, "code").is_some());
    assert_eq!(query_param(&redirect, "iss"), None);
}

#[tokio::test]
async fn jwks_publishes_signing_keys_with_kid_use_and_alg() {
    let provider = start().await;
    let url = format!("{}/jwks", provider.issuer());
    let doc: Value = http()
        .get(url)
        .send()
        .await
        .expect("get")
        .json()
        .await
        .expect("json");
    let keys = doc["keys"].as_array().expect("keys");
    assert_eq!(keys.len(), 2);
    assert_eq!(keys[0]["kty"], "RSA");
    assert_eq!(keys[0]["alg"], "RS256");
    for key in keys {
        assert_eq!(key["use"], "sig");
        assert!(key["kid"].as_str().is_some_and(|k| !k.is_empty()));
        assert!(key.get("d").is_none(), "no private material");
    }
}

#[tokio::test]
async fn id_token_verifies_against_the_jwks_and_carries_the_required_claims() {
    let provider = start().await;
    let tokens = tokens_for(&provider, "openid profile email", "alice").await;
    let jwks = jwks(&provider).await;
    let id_token = tokens["id_token"].as_str().expect("id_token");
    let (typ, claims) = verify(id_token, &jwks, provider.issuer(), CLIENT_ID);

    assert_eq!(typ.as_deref(), Some("JWT"));
    assert_eq!(
        jsonwebtoken::decode_header(id_token).expect("header").alg,
        jsonwebtoken::Algorithm::RS256
    );
    assert_eq!(claims["sub"], "user-alice");
    assert_eq!(claims["azp"], CLIENT_ID);
    assert_eq!(claims["nonce"], "n-456");
    assert_eq!(claims["name"], "Alice Anderson");
    assert_eq!(claims["preferred_username"], "alice");
    assert_eq!(claims["email"], "alice@example.com");
    assert_eq!(claims["email_verified"], true);
    assert!(claims["sid"].as_str().is_some_and(|s| !s.is_empty()));
    assert!(claims["auth_time"].as_u64().is_some());
    assert!(claims["exp"].as_u64() > claims["iat"].as_u64());

    // OIDC Core 3.1.3.6: at_hash is the left half of SHA-256(access_token).
    use base64::Engine;
    use sha2::Digest;
    let access_token = tokens["access_token"].as_str().expect("access_token");
    let digest = sha2::Sha256::digest(access_token.as_bytes());
    let expected = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(&digest[..16]);
    assert_eq!(claims["at_hash"], expected.as_str());

    // The access token is an RFC 9068 JWT signed with the same key.
    let (typ, at) = verify(access_token, &jwks, provider.issuer(), CLIENT_ID);
    assert_eq!(typ.as_deref(), Some("at+jwt"));
    assert_eq!(at["client_id"], CLIENT_ID);
    assert_eq!(at["scope"], "openid profile email");
    assert_eq!(at["sid"], claims["sid"]);
    assert!(at["jti"].as_str().is_some());
}

/// RFC 9068 section 2.2.2: with `profile` the access token also carries the user's
/// name, so an API can greet the user; without it, not.
#[tokio::test]
async fn the_access_token_carries_the_name_only_with_the_profile_scope() {
    let provider = start().await;
    let jwks = jwks(&provider).await;
    let at_of = |tokens: &Value| tokens["access_token"].as_str().unwrap().to_owned();
    let with = tokens_for(&provider, "openid profile", "alice").await;
    let (_, at) = verify(&at_of(&with), &jwks, provider.issuer(), CLIENT_ID);
    assert_eq!(at["name"], "Alice Anderson");
    let without = tokens_for(&provider, "openid", "alice").await;
    let (_, at) = verify(&at_of(&without), &jwks, provider.issuer(), CLIENT_ID);
    assert!(at.get("name").is_none(), "{at}");
}

#[tokio::test]
async fn es256_id_tokens_verify_against_the_jwks() {
    let config = DevProviderConfig::default()
        .with_client(test_client())
        .with_signing_alg(SigningAlg::ES256);
    let provider = start_with(config).await;
    let tokens = tokens_for(&provider, "openid", "bob").await;
    let id_token = tokens["id_token"].as_str().expect("id_token");
    let header = jsonwebtoken::decode_header(id_token).expect("header");
    assert_eq!(header.alg, jsonwebtoken::Algorithm::ES256);
    let (_, claims) = verify(
        id_token,
        &jwks(&provider).await,
        provider.issuer(),
        CLIENT_ID,
    );
    assert_eq!(claims["sub"], "user-bob");
    // Without the profile and email scopes those claims are withheld.
    assert!(claims.get("email").is_none());
}

#[tokio::test]
async fn issuer_with_a_path_serves_discovery_below_that_path() {
    let listener_probe = std::net::TcpListener::bind("127.0.0.1:0").expect("probe");
    let addr = listener_probe.local_addr().expect("addr");
    drop(listener_probe);
    let issuer = format!("http://{addr}/realms/dev");
    let config = DevProviderConfig::default()
        .with_bind(addr)
        .with_issuer(issuer.clone())
        .with_client(test_client());
    let provider = start_with(config).await;
    assert_eq!(provider.issuer(), issuer);
    let url = format!("{issuer}/.well-known/openid-configuration");
    let doc: Value = http()
        .get(url)
        .send()
        .await
        .expect("get")
        .json()
        .await
        .expect("json");
    assert_eq!(doc["token_endpoint"], format!("{issuer}/token"));
    let tokens = tokens_for(&provider, "openid", "carol").await;
    assert!(tokens["access_token"].is_string());
}
