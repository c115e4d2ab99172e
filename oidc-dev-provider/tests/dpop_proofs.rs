//! DPoP proofs at the token endpoint (RFC 9449 sections 4.3, 5 and 8): a valid
//! proof gets DPoP-bound tokens, and each rule of section 4.3, broken alone,
//! gets `invalid_dpop_proof`.

mod common;

use common::jose::*;
use common::*;
use oidc_dev_provider::{DevProviderConfig, RunningProvider};
use reqwest::StatusCode;
use serde_json::{Value, json};

/// Signs alice in for the test client; the code and its PKCE verifier.
async fn code(provider: &RunningProvider) -> (String, Pkce) {
    let pkce = Pkce::new();
    let redirect = login_with_hint(provider, &pkce, "openid offline_access", "alice").await;
    (query_param(&redirect, "code").expect("code"), pkce)
}

/// The code exchange with one `DPoP` header per proof.
async fn exchange_with(
    provider: &RunningProvider,
    code: &str,
    verifier: &str,
    proofs: &[String],
) -> reqwest::Response {
    let mut request = http()
        .post(format!("{}/token", provider.issuer()))
        .basic_auth(CLIENT_ID, Some(CLIENT_SECRET));
    for proof in proofs {
        request = request.header("DPoP", proof);
    }
    request
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", REDIRECT_URI),
            ("code_verifier", verifier),
        ])
        .send()
        .await
        .expect("token request")
}

/// A fresh provider, a login, and the code exchange with the proofs `make`
/// builds from a key and the token endpoint URL.
async fn exchange_proved(make: impl FnOnce(&TestKey, &str) -> Vec<String>) -> (StatusCode, Value) {
    let provider = start().await;
    let (code, pkce) = code(&provider).await;
    let proofs = make(&TestKey::new(), &format!("{}/token", provider.issuer()));
    let r = exchange_with(&provider, &code, &pkce.verifier, &proofs).await;
    (r.status(), r.json().await.expect("json"))
}

/// The token endpoint refused the proof, for the reason `why` names.
fn assert_invalid_proof((status, body): (StatusCode, Value), why: &str) {
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(body["error"], "invalid_dpop_proof", "{body}");
    let description = body["error_description"].as_str().unwrap_or_default();
    assert!(description.contains(why), "{description:?} names {why:?}");
}

fn signed(key: &TestKey, header: Value, claims: Value) -> Vec<String> {
    vec![key.sign(&header, &claims)]
}

#[tokio::test]
async fn a_valid_proof_gets_dpop_bound_tokens_with_the_keys_thumbprint() {
    let provider = start().await;
    let doc: Value = http()
        .get(format!(
            "{}/.well-known/openid-configuration",
            provider.issuer()
        ))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        doc["dpop_signing_alg_values_supported"],
        json!(["ES256", "PS256", "EdDSA"])
    );
    let key = TestKey::new();
    let (code, pkce) = code(&provider).await;
    // section 4.3 check 9: htu is compared without its query.
    let htu = format!("{}/token?ignored=1", provider.issuer());
    let r = exchange_with(&provider, &code, &pkce.verifier, &[key.proof("POST", &htu)]).await;
    assert_eq!(r.status(), StatusCode::OK);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["token_type"], "DPoP");
    let access = jwt_claims(body["access_token"].as_str().unwrap());
    assert_eq!(access["cnf"]["jkt"], key.thumbprint());
}

#[tokio::test]
async fn without_a_proof_tokens_stay_bearer_tokens() {
    let (status, body) = exchange_proved(|_, _| vec![]).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["token_type"], "Bearer");
    assert!(jwt_claims(body["access_token"].as_str().unwrap())["cnf"].is_null());
}

#[tokio::test]
async fn two_dpop_headers_are_refused() {
    let r = exchange_proved(|k, htu| vec![k.proof("POST", htu), k.proof("POST", htu)]).await;
    assert_invalid_proof(r, "more than one DPoP header");
}

#[tokio::test]
async fn a_proof_that_is_not_a_jwt_is_refused() {
    let r = exchange_proved(|_, _| vec!["not-a-jwt".into()]).await;
    assert_invalid_proof(r, "not a well-formed JWT");
}

#[tokio::test]
async fn a_proof_of_another_typ_is_refused() {
    let r = exchange_proved(|k, htu| {
        let header = json!({"typ": "JWT", "alg": "ES256", "jwk": k.jwk()});
        signed(k, header, proof_claims("POST", htu))
    })
    .await;
    assert_invalid_proof(r, "typ is not dpop+jwt");
}

#[tokio::test]
async fn a_proof_with_a_symmetric_alg_is_refused() {
    let r = exchange_proved(|k, htu| {
        let header = json!({"typ": "dpop+jwt", "alg": "HS256", "jwk": k.jwk()});
        signed(k, header, proof_claims("POST", htu))
    })
    .await;
    assert_invalid_proof(r, "alg is not one of");
}

#[tokio::test]
async fn a_proof_without_jwk_is_refused() {
    let r = exchange_proved(|k, htu| {
        let header = json!({"typ": "dpop+jwt", "alg": "ES256"});
        signed(k, header, proof_claims("POST", htu))
    })
    .await;
    assert_invalid_proof(r, "jwk is missing or unusable");
}

#[tokio::test]
async fn a_proof_whose_jwk_holds_a_private_key_is_refused() {
    let r = exchange_proved(|k, htu| {
        let mut jwk = k.jwk();
        jwk["d"] = "c2VjcmV0".into();
        let header = json!({"typ": "dpop+jwt", "alg": "ES256", "jwk": jwk});
        signed(k, header, proof_claims("POST", htu))
    })
    .await;
    assert_invalid_proof(r, "jwk contains a private key");
}

#[tokio::test]
async fn a_proof_signed_by_another_key_than_its_jwk_is_refused() {
    let r = exchange_proved(|k, htu| {
        let other = TestKey::new();
        signed(&other, k.proof_header(), proof_claims("POST", htu))
    })
    .await;
    assert_invalid_proof(r, "signature does not verify");
}

#[tokio::test]
async fn a_proof_without_jti_is_refused() {
    let r = exchange_proved(|k, htu| {
        let mut claims = proof_claims("POST", htu);
        claims.as_object_mut().unwrap().remove("jti");
        signed(k, k.proof_header(), claims)
    })
    .await;
    assert_invalid_proof(r, "no jti claim");
}

#[tokio::test]
async fn a_proof_for_another_method_is_refused() {
    let r = exchange_proved(|k, htu| vec![k.proof("GET", htu)]).await;
    assert_invalid_proof(r, "htm is not the request method");
}

#[tokio::test]
async fn a_proof_for_another_uri_is_refused() {
    let r = exchange_proved(|k, htu| vec![k.proof("POST", &htu.replace("/token", "/par"))]).await;
    assert_invalid_proof(r, "htu is not the request URI");
}

#[tokio::test]
async fn a_proof_older_than_five_minutes_is_refused() {
    let r = exchange_proved(|k, htu| {
        let mut claims = proof_claims("POST", htu);
        claims["iat"] = (now() - 301).into();
        signed(k, k.proof_header(), claims)
    })
    .await;
    assert_invalid_proof(r, "too old");
}

#[tokio::test]
async fn a_proof_issued_more_than_a_minute_ahead_is_refused() {
    let r = exchange_proved(|k, htu| {
        let mut claims = proof_claims("POST", htu);
        claims["iat"] = (now() + 120).into();
        signed(k, k.proof_header(), claims)
    })
    .await;
    assert_invalid_proof(r, "issued in the future");
}

#[tokio::test]
async fn a_proof_is_used_once() {
    let provider = start().await;
    let key = TestKey::new();
    let proof = key.proof("POST", &format!("{}/token", provider.issuer()));
    let (first, pkce) = code(&provider).await;
    let r = exchange_with(
        &provider,
        &first,
        &pkce.verifier,
        std::slice::from_ref(&proof),
    )
    .await;
    assert_eq!(r.status(), StatusCode::OK);
    let (second, pkce) = code(&provider).await;
    let r = exchange_with(&provider, &second, &pkce.verifier, &[proof]).await;
    assert_invalid_proof((r.status(), r.json().await.unwrap()), "already used");
}

#[tokio::test]
async fn with_nonces_on_a_proof_needs_the_providers_nonce() {
    let config = DevProviderConfig::default()
        .with_client(test_client())
        .with_dpop_nonce(true);
    let provider = start_with(config).await;
    let key = TestKey::new();
    let htu = format!("{}/token", provider.issuer());
    let (code, pkce) = code(&provider).await;

    let r = exchange_with(&provider, &code, &pkce.verifier, &[key.proof("POST", &htu)]).await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    let nonce = r.headers()["dpop-nonce"].to_str().unwrap().to_owned();
    assert_eq!(r.json::<Value>().await.unwrap()["error"], "use_dpop_nonce");

    let mut wrong = proof_claims("POST", &htu);
    wrong["nonce"] = "not-the-nonce".into();
    let proofs = [key.sign(&key.proof_header(), &wrong)];
    let r = exchange_with(&provider, &code, &pkce.verifier, &proofs).await;
    assert_eq!(r.json::<Value>().await.unwrap()["error"], "use_dpop_nonce");

    let mut claims = proof_claims("POST", &htu);
    claims["nonce"] = nonce.into();
    let proofs = [key.sign(&key.proof_header(), &claims)];
    let r = exchange_with(&provider, &code, &pkce.verifier, &proofs).await;
    assert_eq!(
        r.status(),
        StatusCode::OK,
        "the code is not spent by a nonce challenge"
    );
    assert_eq!(r.json::<Value>().await.unwrap()["token_type"], "DPoP");
}

#[tokio::test]
async fn an_eddsa_proof_is_accepted_and_bound_to_its_thumbprint() {
    use aws_lc_rs::signature::{Ed25519KeyPair, KeyPair};
    use base64::Engine;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use sha2::{Digest, Sha256};

    let pkcs8 = Ed25519KeyPair::generate_pkcs8(&aws_lc_rs::rand::SystemRandom::new()).unwrap();
    let pair = Ed25519KeyPair::from_pkcs8(pkcs8.as_ref()).unwrap();
    let x = URL_SAFE_NO_PAD.encode(pair.public_key().as_ref());
    let thumbprint = URL_SAFE_NO_PAD.encode(Sha256::digest(
        format!(r#"{{"crv":"Ed25519","kty":"OKP","x":"{x}"}}"#).as_bytes(),
    ));
    let (status, body) = exchange_proved(|_, htu| {
        let header = json!({"typ": "dpop+jwt", "alg": "EdDSA",
            "jwk": {"kty": "OKP", "crv": "Ed25519", "x": x}});
        let input = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(header.to_string()),
            URL_SAFE_NO_PAD.encode(proof_claims("POST", htu).to_string())
        );
        let signature = URL_SAFE_NO_PAD.encode(pair.sign(input.as_bytes()).as_ref());
        vec![format!("{input}.{signature}")]
    })
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let access = jwt_claims(body["access_token"].as_str().unwrap());
    assert_eq!(access["cnf"]["jkt"], thumbprint);
}
