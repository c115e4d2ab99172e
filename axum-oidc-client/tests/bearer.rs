//! The bearer-token layer: one negative test per verification rule, the RFC 6750
//! responses, key fetching and rotation over real HTTP on 127.0.0.1, several
//! issuers, and the extractors.

#[path = "support/bearer_keys.rs"]
mod bearer_keys;

use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::routing::get;
use axum_oidc_client::__private::jose::JoseError;
use axum_oidc_client::__private::jose::{JwkSet, JwksCache};
use axum_oidc_client::Clock;
use axum_oidc_client::ConfigError;
use axum_oidc_client::SigningAlgorithm;
use axum_oidc_client::bearer::{
    BearerError, HmacAlgorithm, JwtClaims, JwtConfiguration, JwtConfigurationBuilder, JwtLayer,
    OidcClaims, OptionalJwtClaims, VerifiedJwt,
};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use bearer_keys::{EC_PUBLIC_PEM, Provider, RSA_PUBLIC_PEM, TestKey};
use http::{HeaderMap, Request, StatusCode, header};
use http_body_util::BodyExt as _;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{Value, json};
use tower::ServiceExt as _;

const NOW: i64 = 1_700_000_000;
const ISSUER: &str = "https://issuer.example";
const AUDIENCE: &str = "orders-api";
const SECRET: &[u8] = b"0123456789abcdef0123456789abcdef";

fn claims(iss: &str) -> Value {
    json!({
        "iss": iss,
        "sub": "user-1",
        "aud": AUDIENCE,
        "exp": NOW + 600,
        "iat": NOW,
        "scope": "orders:read profile",
    })
}

fn with(mut v: Value, key: &str, value: Value) -> Value {
    v[key] = value;
    v
}

fn without(mut v: Value, key: &str) -> Value {
    v.as_object_mut().unwrap().remove(key);
    v
}

/// A builder with the manual clock, the audience and no token cache (so each call
/// verifies afresh; the cache has its own tests).
fn builder() -> JwtConfigurationBuilder {
    JwtConfiguration::builder()
        .with_clock(Clock::manual(NOW))
        .with_audience(AUDIENCE)
        .with_token_cache_capacity(0)
}

/// Trusts `ISSUER` with the RSA and EC fixture keys (static PEM).
fn static_config() -> JwtConfiguration {
    builder()
        .with_public_key_pem(ISSUER, Some("rsa"), SigningAlgorithm::RS256, RSA_PUBLIC_PEM)
        .with_public_key_pem(ISSUER, Some("ec"), SigningAlgorithm::ES256, EC_PUBLIC_PEM)
        .build()
        .unwrap()
}

async fn reject(config: &JwtConfiguration, token: &str) -> BearerError {
    config
        .verify(token)
        .await
        .expect_err("token must be rejected")
}

fn app(layer: JwtLayer) -> Router {
    Router::new()
        .route(
            "/me",
            get(|JwtClaims(c): JwtClaims<OidcClaims>| async move { c.sub }),
        )
        .route(
            "/maybe",
            get(|c: Option<JwtClaims<OidcClaims>>| async move {
                c.map_or("anonymous".to_owned(), |c| c.0.sub)
            }),
        )
        .route(
            "/optional",
            get(|OptionalJwtClaims(c): OptionalJwtClaims| async move {
                c.map_or("anonymous".to_owned(), |c| c.sub)
            }),
        )
        .route(
            "/admin",
            get(|jwt: VerifiedJwt| async move { jwt.issuer().to_owned() })
                .route_layer(layer.require_scopes(["orders:admin"])),
        )
        .layer(layer)
}

struct Answer {
    status: StatusCode,
    headers: HeaderMap,
    body: String,
}

impl Answer {
    fn challenge(&self) -> &str {
        self.headers
            .get(header::WWW_AUTHENTICATE)
            .map_or("", |v| v.to_str().unwrap())
    }
}

async fn call(app: &Router, path: &str, authorization: Option<&str>) -> Answer {
    let mut req = Request::get(path);
    if let Some(a) = authorization {
        req = req.header(header::AUTHORIZATION, a);
    }
    let resp = app
        .clone()
        .oneshot(req.body(Body::empty()).unwrap())
        .await
        .unwrap();
    let status = resp.status();
    let headers = resp.headers().clone();
    let body = resp.into_body().collect().await.unwrap().to_bytes();
    Answer {
        status,
        headers,
        body: String::from_utf8(body.to_vec()).unwrap(),
    }
}

async fn get_with_token(app: &Router, path: &str, token: &str) -> Answer {
    call(app, path, Some(&format!("Bearer {token}"))).await
}

// ---------------------------------------------------------------- accepted tokens

#[tokio::test]
async fn accepts_rs256_token_and_hands_the_claims_to_the_handler() {
    let token = TestKey::rsa("rsa").sign(&claims(ISSUER));
    let app = app(JwtLayer::new(static_config()));
    let a = get_with_token(&app, "/me", &token).await;
    assert_eq!((a.status, a.body.as_str()), (StatusCode::OK, "user-1"));
}

#[tokio::test]
async fn accepts_es256_token_with_keys_fetched_from_the_jwks_uri() {
    let key = TestKey::ec("ec-1");
    let provider = Provider::start(&[&key]).await;
    let config = builder()
        .with_jwks_uri(&provider.issuer, provider.jwks_uri())
        .build()
        .unwrap();
    let jwt = config
        .verify(&key.sign(&claims(&provider.issuer)))
        .await
        .unwrap();
    assert_eq!(jwt.issuer(), provider.issuer);
    assert_eq!(jwt.claims::<OidcClaims>().unwrap().sub, "user-1");
    assert_eq!(provider.fetches(), 1);
}

#[tokio::test]
async fn discovers_the_jwks_uri_from_the_issuer() {
    let key = TestKey::rsa("rsa-1");
    let provider = Provider::start(&[&key]).await;
    let config = builder()
        .with_discovered_issuer(&provider.issuer)
        .await
        .build()
        .unwrap();
    config.fetch_keys().await.unwrap();
    config
        .verify(&key.sign(&claims(&provider.issuer)))
        .await
        .unwrap();
}

#[tokio::test]
async fn accepts_a_rotated_key_once_its_kid_is_published() {
    let old = TestKey::generated_ec("2024-01");
    let new = TestKey::generated_ec("2024-02");
    let provider = Provider::start(&[&old]).await;
    let config = builder()
        .with_jwks_uri(&provider.issuer, provider.jwks_uri())
        .with_jwks_refetch_interval(Duration::ZERO)
        .build()
        .unwrap();
    let old_token = old.sign(&claims(&provider.issuer));
    let new_token = new.sign(&claims(&provider.issuer));
    config.verify(&old_token).await.unwrap();
    // Not yet published: refused even after the refetch.
    assert!(matches!(
        reject(&config, &new_token).await,
        BearerError::Jose(JoseError::UnknownKid)
    ));

    provider.publish(&[&old, &new]);
    config.verify(&new_token).await.unwrap();
    // Tokens signed with the old key still pass while it is published.
    config.verify(&old_token).await.unwrap();
    assert_eq!(provider.fetches(), 3);
}

#[tokio::test]
async fn trusts_two_issuers_each_only_with_its_own_keys() {
    let a_key = TestKey::generated_ec("a");
    let b_key = TestKey::generated_ec("b");
    let a = Provider::start(&[&a_key]).await;
    let b = Provider::start(&[&b_key]).await;
    let config = builder()
        .with_jwks_uri(&a.issuer, a.jwks_uri())
        .with_jwks_uri(&b.issuer, b.jwks_uri())
        .with_jwks_refetch_interval(Duration::ZERO)
        .build()
        .unwrap();
    assert_eq!(
        config
            .verify(&a_key.sign(&claims(&a.issuer)))
            .await
            .unwrap()
            .issuer(),
        a.issuer
    );
    assert_eq!(
        config
            .verify(&b_key.sign(&claims(&b.issuer)))
            .await
            .unwrap()
            .issuer(),
        b.issuer
    );
    // Claims issuer A, signed by B (with B's kid): A's key set has no such key.
    let forged = b_key.sign(&claims(&a.issuer));
    assert!(matches!(
        reject(&config, &forged).await,
        BearerError::Jose(JoseError::UnknownKid)
    ));
    // Same, reusing A's kid: the signature does not verify.
    let forged = b_key.sign_with(&claims(&a.issuer), |h| h.kid = Some("a".into()));
    assert!(matches!(
        reject(&config, &forged).await,
        BearerError::Jose(JoseError::BadSignature)
    ));
}

#[tokio::test]
async fn accepts_hs256_only_from_the_issuer_configured_with_that_secret() {
    let config = builder()
        .with_hmac_secret("gateway", HmacAlgorithm::HS256, SECRET)
        .with_public_key_pem(ISSUER, Some("rsa"), SigningAlgorithm::RS256, RSA_PUBLIC_PEM)
        .build()
        .unwrap();
    let hs = |c: &Value, alg| {
        jsonwebtoken::encode(&Header::new(alg), c, &EncodingKey::from_secret(SECRET)).unwrap()
    };
    config
        .verify(&hs(&claims("gateway"), Algorithm::HS256))
        .await
        .unwrap();
    // The same secret and issuer, another HMAC algorithm: not allowed.
    assert!(matches!(
        reject(&config, &hs(&claims("gateway"), Algorithm::HS512)).await,
        BearerError::Jose(JoseError::AlgNotAllowed(a)) if a == "HS512"
    ));
    // An RSA token naming the HMAC issuer: not allowed either.
    let rs = TestKey::rsa("rsa").sign(&claims("gateway"));
    assert!(matches!(
        reject(&config, &rs).await,
        BearerError::Jose(JoseError::AlgNotAllowed(a)) if a == "RS256"
    ));
}

#[tokio::test]
async fn accepts_rfc9068_access_token_with_at_jwt_type() {
    let config = builder()
        .with_public_key_pem(ISSUER, Some("rsa"), SigningAlgorithm::RS256, RSA_PUBLIC_PEM)
        .with_rfc9068_profile(true)
        .build()
        .unwrap();
    let c = with(
        with(claims(ISSUER), "client_id", json!("web")),
        "jti",
        json!("t-1"),
    );
    let typed = |t: &'static str| TestKey::rsa("rsa").sign_with(&c, |h| h.typ = Some(t.into()));
    config.verify(&typed("at+jwt")).await.unwrap();
    config.verify(&typed("application/at+jwt")).await.unwrap();
}

#[tokio::test]
async fn shares_a_jwks_cache_with_the_login_side_without_fetching_twice() {
    let key = TestKey::ec("k");
    let provider = Provider::start(&[&key]).await;
    let shared = JwksCache::new(provider.jwks_uri().parse().unwrap(), reqwest::Client::new());
    shared.keys().await.unwrap(); // the login side fetched the keys
    let config = builder()
        .with_jwks_cache(&provider.issuer, shared.clone())
        .build()
        .unwrap();
    config
        .verify(&key.sign(&claims(&provider.issuer)))
        .await
        .unwrap();
    assert_eq!(provider.fetches(), 1);
}

#[tokio::test]
async fn optional_layer_lets_anonymous_requests_through_with_none() {
    let app = app(JwtLayer::new(static_config()).optional());
    for path in ["/maybe", "/optional"] {
        let a = call(&app, path, None).await;
        assert_eq!((a.status, a.body.as_str()), (StatusCode::OK, "anonymous"));
        let token = TestKey::ec("ec").sign(&claims(ISSUER));
        let a = get_with_token(&app, path, &token).await;
        assert_eq!((a.status, a.body.as_str()), (StatusCode::OK, "user-1"));
    }
    // The required extractor still refuses an anonymous request.
    let a = call(&app, "/me", None).await;
    assert_eq!(a.status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn optional_layer_still_refuses_a_present_but_invalid_token() {
    let app = app(JwtLayer::new(static_config()).optional());
    let expired = TestKey::ec("ec").sign(&with(claims(ISSUER), "exp", json!(NOW - 3600)));
    let a = get_with_token(&app, "/optional", &expired).await;
    assert_eq!(a.status, StatusCode::UNAUTHORIZED);
    assert!(a.challenge().contains(r#"error="invalid_token""#));
}

#[tokio::test]
async fn route_scope_passes_when_granted_by_scope_or_scp() {
    let app = app(JwtLayer::new(static_config()));
    let key = TestKey::rsa("rsa");
    let by_scope = key.sign(&with(claims(ISSUER), "scope", json!("orders:admin x")));
    let by_scp = key.sign(&with(
        without(claims(ISSUER), "scope"),
        "scp",
        json!(["orders:admin"]),
    ));
    for token in [by_scope, by_scp] {
        let a = get_with_token(&app, "/admin", &token).await;
        assert_eq!((a.status, a.body.as_str()), (StatusCode::OK, ISSUER));
    }
}

#[tokio::test]
async fn require_scopes_also_works_as_the_only_layer_of_a_route() {
    let jwt = JwtLayer::new(static_config()).optional();
    let app: Router = Router::new().route(
        "/purge",
        get(|| async { "purged" }).route_layer(jwt.require_scopes(["orders:admin"])),
    );
    let key = TestKey::ec("ec");
    assert_eq!(
        call(&app, "/purge", None).await.status,
        StatusCode::UNAUTHORIZED
    );
    let reader = key.sign(&claims(ISSUER));
    assert_eq!(
        get_with_token(&app, "/purge", &reader).await.status,
        StatusCode::FORBIDDEN
    );
    let admin = key.sign(&with(claims(ISSUER), "scope", json!("orders:admin")));
    let a = get_with_token(&app, "/purge", &admin).await;
    assert_eq!((a.status, a.body.as_str()), (StatusCode::OK, "purged"));
}

// ------------------------------------------------------------ one rule per test

#[tokio::test]
async fn rejects_token_with_a_bad_signature() {
    let token = TestKey::rsa("rsa").sign(&claims(ISSUER));
    // Swap in another payload, keep the signature.
    let mut parts: Vec<&str> = token.split('.').collect();
    let evil = URL_SAFE_NO_PAD.encode(with(claims(ISSUER), "sub", json!("admin")).to_string());
    parts[1] = &evil;
    let e = reject(&static_config(), &parts.join(".")).await;
    assert!(
        matches!(e, BearerError::Jose(JoseError::BadSignature)),
        "{e:?}"
    );
}

#[tokio::test]
async fn rejects_unknown_kid_even_after_one_refetch() {
    let key = TestKey::generated_ec("known");
    let provider = Provider::start(&[&key]).await;
    let config = builder()
        .with_jwks_uri(&provider.issuer, provider.jwks_uri())
        .with_jwks_refetch_interval(Duration::ZERO)
        .build()
        .unwrap();
    let stranger = TestKey::generated_ec("unknown").sign(&claims(&provider.issuer));
    let e = reject(&config, &stranger).await;
    assert!(
        matches!(e, BearerError::Jose(JoseError::UnknownKid)),
        "{e:?}"
    );
    assert_eq!(provider.fetches(), 2, "fetched once, refetched once");
}

#[tokio::test]
async fn rejects_unsigned_alg_none_token() {
    let b64 = |v: Value| URL_SAFE_NO_PAD.encode(v.to_string());
    let token = format!(
        "{}.{}.",
        b64(json!({"alg": "none", "typ": "JWT"})),
        b64(claims(ISSUER))
    );
    let e = reject(&static_config(), &token).await;
    assert!(matches!(e, BearerError::Jose(JoseError::AlgNone)), "{e:?}");
}

#[tokio::test]
async fn rejects_hs256_token_signed_with_the_rsa_public_key_as_secret() {
    let token = jsonwebtoken::encode(
        &Header {
            kid: Some("rsa".into()),
            ..Header::new(Algorithm::HS256)
        },
        &claims(ISSUER),
        &EncodingKey::from_secret(RSA_PUBLIC_PEM),
    )
    .unwrap();
    let e = reject(&static_config(), &token).await;
    assert!(
        matches!(&e, BearerError::Jose(JoseError::AlgNotAllowed(a)) if a == "HS256"),
        "{e:?}"
    );
}

#[tokio::test]
async fn rejects_algorithm_outside_the_allow_list() {
    let config = builder()
        .with_jwks_json(ISSUER, TestKey::rsa("rsa").jwk().to_string())
        .with_algorithms([SigningAlgorithm::ES256])
        .build()
        .unwrap();
    let token = TestKey::rsa("rsa").sign(&claims(ISSUER));
    let e = reject(&config, &token).await;
    assert!(
        matches!(&e, BearerError::Jose(JoseError::AlgNotAllowed(a)) if a == "RS256"),
        "{e:?}"
    );
}

#[tokio::test]
async fn rejects_token_from_an_untrusted_issuer() {
    for iss in [
        "https://evil.example",
        "https://issuer.example/",
        "HTTPS://ISSUER.EXAMPLE",
    ] {
        let token = TestKey::rsa("rsa").sign(&claims(iss));
        let e = reject(&static_config(), &token).await;
        assert!(matches!(e, BearerError::UnknownIssuer), "{iss}: {e:?}");
    }
    let token = TestKey::rsa("rsa").sign(&without(claims(ISSUER), "iss"));
    let e = reject(&static_config(), &token).await;
    assert!(
        matches!(&e, BearerError::MissingClaim(c) if c == "iss"),
        "{e:?}"
    );
}

#[tokio::test]
async fn rejects_token_for_another_audience() {
    let token = TestKey::rsa("rsa").sign(&with(claims(ISSUER), "aud", json!(["billing", "x"])));
    let e = reject(&static_config(), &token).await;
    assert!(matches!(e, BearerError::WrongAudience), "{e:?}");
}

#[tokio::test]
async fn rejects_expired_token() {
    let token = TestKey::rsa("rsa").sign(&with(claims(ISSUER), "exp", json!(NOW - 61)));
    let e = reject(&static_config(), &token).await;
    assert!(matches!(e, BearerError::Expired), "{e:?}");
    let no_exp = TestKey::rsa("rsa").sign(&without(claims(ISSUER), "exp"));
    let e = reject(&static_config(), &no_exp).await;
    assert!(
        matches!(&e, BearerError::MissingClaim(c) if c == "exp"),
        "{e:?}"
    );
}

#[tokio::test]
async fn rejects_token_whose_nbf_is_in_the_future() {
    let token = TestKey::rsa("rsa").sign(&with(claims(ISSUER), "nbf", json!(NOW + 120)));
    let e = reject(&static_config(), &token).await;
    assert!(matches!(e, BearerError::NotYetValid), "{e:?}");
}

#[tokio::test]
async fn rejects_token_missing_a_required_claim() {
    let config = builder()
        .with_public_key_pem(ISSUER, Some("rsa"), SigningAlgorithm::RS256, RSA_PUBLIC_PEM)
        .with_required_claims(["sub", "scope"])
        .build()
        .unwrap();
    config
        .verify(&TestKey::rsa("rsa").sign(&claims(ISSUER)))
        .await
        .unwrap();
    let token = TestKey::rsa("rsa").sign(&without(claims(ISSUER), "scope"));
    let e = reject(&config, &token).await;
    assert!(
        matches!(&e, BearerError::MissingClaim(c) if c == "scope"),
        "{e:?}"
    );
}

#[tokio::test]
async fn rejects_wrong_typ_and_missing_claims_when_rfc9068_is_required() {
    let config = builder()
        .with_public_key_pem(ISSUER, Some("rsa"), SigningAlgorithm::RS256, RSA_PUBLIC_PEM)
        .with_rfc9068_profile(true)
        .build()
        .unwrap();
    let full = with(
        with(claims(ISSUER), "client_id", json!("web")),
        "jti",
        json!("t-1"),
    );
    let key = TestKey::rsa("rsa");
    let plain_jwt = key.sign(&full); // typ JWT
    let e = reject(&config, &plain_jwt).await;
    assert!(
        matches!(e, BearerError::Jose(JoseError::WrongType)),
        "{e:?}"
    );
    let no_jti = key.sign_with(&without(full, "jti"), |h| h.typ = Some("at+jwt".into()));
    let e = reject(&config, &no_jti).await;
    assert!(
        matches!(&e, BearerError::MissingClaim(c) if c == "jti"),
        "{e:?}"
    );
}

#[tokio::test]
async fn rejects_other_explicitly_typed_jwts_even_without_rfc9068() {
    let token =
        TestKey::rsa("rsa").sign_with(&claims(ISSUER), |h| h.typ = Some("logout+jwt".into()));
    let e = reject(&static_config(), &token).await;
    assert!(
        matches!(e, BearerError::Jose(JoseError::WrongType)),
        "{e:?}"
    );
}

#[tokio::test]
async fn answers_403_insufficient_scope_naming_the_required_scope() {
    let app = app(JwtLayer::new(static_config()));
    let token = TestKey::rsa("rsa").sign(&claims(ISSUER));
    let a = get_with_token(&app, "/admin", &token).await;
    assert_eq!(a.status, StatusCode::FORBIDDEN);
    assert_eq!(
        a.challenge(),
        r#"Bearer realm="api", error="insufficient_scope", error_description="the access token lacks a required scope", scope="orders:admin""#
    );
    assert_eq!(a.body, r#"{"error":"insufficient_scope"}"#);
}

// ------------------------------------------------------- RFC 6750 responses

#[tokio::test]
async fn answers_401_with_a_bare_challenge_without_a_token() {
    let app = app(JwtLayer::new(static_config()));
    for auth in [None, Some("Basic dXNlcjpwYXNz")] {
        let a = call(&app, "/me", auth).await;
        assert_eq!(a.status, StatusCode::UNAUTHORIZED, "{auth:?}");
        assert_eq!(a.challenge(), r#"Bearer realm="api""#, "{auth:?}");
        assert_eq!(a.body, r#"{"error":"unauthorized"}"#);
    }
}

#[tokio::test]
async fn answers_400_invalid_request_for_a_malformed_authorization_header() {
    let app = app(JwtLayer::new(static_config()));
    for auth in ["Bearer", "Bearer    ", "Bearer a b c", "Bearer a\"b"] {
        let a = call(&app, "/me", Some(auth)).await;
        assert_eq!(a.status, StatusCode::BAD_REQUEST, "{auth:?}");
        assert!(
            a.challenge()
                .starts_with(r#"Bearer realm="api", error="invalid_request""#),
            "{auth:?}: {}",
            a.challenge()
        );
        assert_eq!(a.body, r#"{"error":"invalid_request"}"#);
    }
}

#[tokio::test]
async fn answers_401_invalid_token_for_tokens_that_are_not_jws() {
    let app = app(JwtLayer::new(static_config()));
    let huge = "a".repeat(20 * 1024);
    let cases = [
        ("two parts", "abc.def"),
        ("four parts", "a.b.c.d"),
        ("bad base64 length", "e30.a.e30"),
        ("standard base64 alphabet", "e3+/.e30.e30"),
        ("huge", huge.as_str()),
    ];
    for (what, token) in cases {
        let a = get_with_token(&app, "/me", token).await;
        assert_eq!(a.status, StatusCode::UNAUTHORIZED, "{what}");
        assert!(a.challenge().contains(r#"error="invalid_token""#), "{what}");
        assert!(
            !a.body.contains(token) && !a.challenge().contains(token),
            "{what}"
        );
    }
    let e = reject(&static_config(), "e30.a.e30").await;
    assert!(
        matches!(e, BearerError::Jose(JoseError::BadBase64)),
        "{e:?}"
    );
}

/// RFC 7515 section 4: the JOSE header is a JSON object; an array holding the same
/// values is not read field by field.
#[tokio::test]
async fn refuses_a_jose_header_that_is_a_json_array() {
    let token = format!(
        "{}.{}.{}",
        URL_SAFE_NO_PAD.encode(r#"["RS256","JWT","rsa"]"#),
        URL_SAFE_NO_PAD.encode(claims(ISSUER).to_string()),
        URL_SAFE_NO_PAD.encode("sig")
    );
    let e = reject(&static_config(), &token).await;
    assert!(
        matches!(e, BearerError::Jose(JoseError::BadHeader)),
        "{e:?}"
    );
}

#[tokio::test]
async fn answers_invalid_token_with_a_description_and_never_echoes_the_token() {
    let app = app(JwtLayer::new(static_config()));
    let token = TestKey::rsa("rsa").sign(&with(claims(ISSUER), "aud", json!("billing")));
    let a = get_with_token(&app, "/me", &token).await;
    assert_eq!(a.status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        a.challenge(),
        r#"Bearer realm="api", error="invalid_token", error_description="the access token is not meant for this resource""#
    );
    assert_eq!(a.body, r#"{"error":"invalid_token"}"#);
    assert_eq!(a.headers[header::CACHE_CONTROL], "no-store");
    for part in token.split('.') {
        assert!(!a.body.contains(part) && !a.challenge().contains(part));
    }
}

#[tokio::test]
async fn answers_503_with_retry_after_when_the_keys_cannot_be_fetched() {
    let key = TestKey::ec("k");
    let provider = Provider::start(&[&key]).await;
    provider.fail(true);
    let layer = JwtLayer::new(
        builder()
            .with_jwks_uri(&provider.issuer, provider.jwks_uri())
            .build()
            .unwrap(),
    );
    let a = get_with_token(&app(layer), "/me", &key.sign(&claims(&provider.issuer))).await;
    assert_eq!(a.status, StatusCode::SERVICE_UNAVAILABLE);
    assert!(a.headers.contains_key(header::RETRY_AFTER));
    assert_eq!(a.body, r#"{"error":"temporarily_unavailable"}"#);
}

#[tokio::test]
async fn extractor_without_a_layer_is_a_server_error() {
    let app: Router = Router::new().route(
        "/me",
        get(|JwtClaims(c): JwtClaims<OidcClaims>| async move { c.sub }),
    );
    assert_eq!(
        call(&app, "/me", None).await.status,
        StatusCode::INTERNAL_SERVER_ERROR
    );
}

#[tokio::test]
async fn claims_that_do_not_fit_the_handler_type_are_an_invalid_token() {
    #[derive(Clone, serde::Deserialize)]
    struct NeedsTenant {
        #[allow(dead_code)]
        tenant: String,
    }
    let app: Router = Router::new()
        .route("/t", get(|_: JwtClaims<NeedsTenant>| async { "ok" }))
        .layer(JwtLayer::new(static_config()));
    let a = get_with_token(&app, "/t", &TestKey::rsa("rsa").sign(&claims(ISSUER))).await;
    assert_eq!(a.status, StatusCode::UNAUTHORIZED);
    assert!(a.challenge().contains(r#"error="invalid_token""#));
}

// ------------------------------------------------------- verified-token cache

#[tokio::test]
async fn cached_token_is_refused_once_it_expires() {
    let clock = Clock::manual(NOW);
    let config = builder()
        .with_public_key_pem(ISSUER, Some("rsa"), SigningAlgorithm::RS256, RSA_PUBLIC_PEM)
        .with_clock(clock.clone())
        .with_token_cache_capacity(100)
        .build()
        .unwrap();
    let token = TestKey::rsa("rsa").sign(&with(claims(ISSUER), "exp", json!(NOW + 30)));
    config.verify(&token).await.unwrap();
    config.verify(&token).await.unwrap();
    clock.advance(Duration::from_secs(91));
    assert!(matches!(
        reject(&config, &token).await,
        BearerError::Expired
    ));
}

#[tokio::test]
async fn cached_token_is_verified_again_after_its_key_is_withdrawn() {
    let old = TestKey::generated_ec("old");
    let new = TestKey::generated_ec("new");
    let provider = Provider::start(&[&old]).await;
    let config = builder()
        .with_jwks_uri(&provider.issuer, provider.jwks_uri())
        .with_jwks_refetch_interval(Duration::ZERO)
        .with_token_cache_capacity(100)
        .build()
        .unwrap();
    let old_token = old.sign(&claims(&provider.issuer));
    config.verify(&old_token).await.unwrap();
    config.verify(&old_token).await.unwrap();
    assert_eq!(
        provider.fetches(),
        1,
        "the second call was served from the cache"
    );

    // The provider drops the old key; a token with the new kid makes the cache refetch.
    provider.publish(&[&new]);
    config
        .verify(&new.sign(&claims(&provider.issuer)))
        .await
        .unwrap();
    let e = reject(&config, &old_token).await;
    assert!(
        matches!(e, BearerError::Jose(JoseError::UnknownKid)),
        "{e:?}"
    );
}

// ------------------------------------------------ ID tokens are not access tokens

/// An OIDC ID token of the trusted issuer for the audience: what the bearer layer
/// saw when the client id was its audience (OIDC Core 2, 3.1.3.6, 3.3.2.11).
fn id_token_claims(marker: &str, value: Value) -> Value {
    with(without(claims(ISSUER), "scope"), marker, value)
}

/// Asserts the layer answers 401 `invalid_token` (RFC 6750 section 3.1) to `token`.
async fn assert_refused_as_invalid_token(token: &str) {
    let a = get_with_token(&app(JwtLayer::new(static_config())), "/me", token).await;
    assert_eq!(a.status, StatusCode::UNAUTHORIZED, "{}", a.body);
    assert!(
        a.challenge().contains(r#"error="invalid_token""#),
        "{}",
        a.challenge()
    );
}

#[tokio::test]
async fn the_bearer_layer_refuses_a_token_carrying_a_nonce_as_an_id_token() {
    let token = TestKey::rsa("rsa").sign(&id_token_claims("nonce", json!("n-1")));
    assert_refused_as_invalid_token(&token).await;
}

#[tokio::test]
async fn the_bearer_layer_refuses_a_token_carrying_an_at_hash_as_an_id_token() {
    let token =
        TestKey::rsa("rsa").sign(&id_token_claims("at_hash", json!("77QmUPtjPfzWtF2AnpK9RQ")));
    assert_refused_as_invalid_token(&token).await;
}

#[tokio::test]
async fn the_bearer_layer_refuses_a_token_carrying_a_c_hash_as_an_id_token() {
    let token =
        TestKey::rsa("rsa").sign(&id_token_claims("c_hash", json!("LDktKdoQak3Pk0cnXxCltA")));
    assert_refused_as_invalid_token(&token).await;
}

#[tokio::test]
async fn the_bearer_layer_refuses_a_token_with_auth_time_and_azp_as_audience_but_no_scope() {
    let c = with(
        id_token_claims("auth_time", json!(NOW - 10)),
        "azp",
        json!(AUDIENCE),
    );
    assert_refused_as_invalid_token(&TestKey::rsa("rsa").sign(&c)).await;
    // With a scope it is an access token as many providers issue them.
    let with_scope = with(c, "scope", json!("orders:read"));
    static_config()
        .verify(&TestKey::rsa("rsa").sign(&with_scope))
        .await
        .unwrap();
}

#[tokio::test]
async fn an_at_jwt_typed_token_without_id_token_markers_is_an_access_token() {
    let c = with(
        with(claims(ISSUER), "auth_time", json!(NOW - 10)),
        "azp",
        json!(AUDIENCE),
    );
    let token = TestKey::rsa("rsa").sign_with(&c, |h| h.typ = Some("at+jwt".into()));
    let a = get_with_token(&app(JwtLayer::new(static_config())), "/me", &token).await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.body);
    // RFC 9068 section 2.1: the type alone marks an access token, whatever it carries.
    let typed_with_nonce = TestKey::rsa("rsa").sign_with(&with(c, "nonce", json!("n")), |h| {
        h.typ = Some("at+jwt".into())
    });
    static_config().verify(&typed_with_nonce).await.unwrap();
}

#[tokio::test]
async fn insecure_accept_id_tokens_restores_accepting_id_tokens() {
    let config = builder()
        .with_public_key_pem(ISSUER, Some("rsa"), SigningAlgorithm::RS256, RSA_PUBLIC_PEM)
        .insecure_accept_id_tokens()
        .build()
        .unwrap();
    for (marker, value) in [
        ("nonce", json!("n-1")),
        ("at_hash", json!("77QmUPtjPfzWtF2AnpK9RQ")),
        ("c_hash", json!("LDktKdoQak3Pk0cnXxCltA")),
    ] {
        let token = TestKey::rsa("rsa").sign(&id_token_claims(marker, value));
        config.verify(&token).await.unwrap();
    }
    let e = reject(
        &static_config(),
        &TestKey::rsa("rsa").sign(&id_token_claims("nonce", json!("n-1"))),
    )
    .await;
    assert!(matches!(e, BearerError::IdToken), "{e:?}");
}

// ------------------------------------------------------- configuration

#[tokio::test]
async fn a_failed_discovery_surfaces_at_build() {
    let e = builder()
        .with_discovered_issuer("http://issuer.example")
        .await
        .with_audience(AUDIENCE)
        .build()
        .unwrap_err();
    assert!(matches!(e, ConfigError::InsecureUrl { .. }), "{e:?}");
}

#[test]
fn build_refuses_configurations_that_would_be_unsafe() {
    let base = || JwtConfiguration::builder().with_clock(Clock::manual(NOW));
    let e = base()
        .with_public_key_pem(ISSUER, None, SigningAlgorithm::RS256, RSA_PUBLIC_PEM)
        .build()
        .unwrap_err();
    assert!(matches!(e, ConfigError::MissingAudience), "{e:?}");
    base()
        .with_public_key_pem(ISSUER, None, SigningAlgorithm::RS256, RSA_PUBLIC_PEM)
        .insecure_skip_audience()
        .build()
        .unwrap();

    let e = base()
        .with_hmac_secret(ISSUER, HmacAlgorithm::HS256, RSA_PUBLIC_PEM)
        .with_audience(AUDIENCE)
        .build()
        .unwrap_err();
    assert!(matches!(e, ConfigError::HmacSecretLooksLikeKey(_)), "{e:?}");

    let e = base()
        .with_hmac_secret(ISSUER, HmacAlgorithm::HS512, SECRET)
        .with_audience(AUDIENCE)
        .build()
        .unwrap_err();
    assert!(
        matches!(e, ConfigError::HmacSecretTooShort { min: 64, .. }),
        "{e:?}"
    );

    let e = base()
        .with_public_key_pem(ISSUER, None, SigningAlgorithm::RS256, RSA_PUBLIC_PEM)
        .with_hmac_secret(ISSUER, HmacAlgorithm::HS256, SECRET)
        .with_audience(AUDIENCE)
        .build()
        .unwrap_err();
    assert!(matches!(e, ConfigError::ConflictingKeySources(_)), "{e:?}");

    let e = base()
        .with_jwks_uri(ISSUER, "http://keys.example/jwks")
        .with_audience(AUDIENCE)
        .build()
        .unwrap_err();
    assert!(matches!(e, ConfigError::InsecureUrl { .. }), "{e:?}");

    let e = base()
        .with_public_key_pem(ISSUER, None, SigningAlgorithm::ES256, RSA_PUBLIC_PEM)
        .with_audience(AUDIENCE)
        .build()
        .unwrap_err();
    assert!(matches!(e, ConfigError::InvalidKey { .. }), "{e:?}");

    let e = base()
        .with_public_key_pem(ISSUER, None, SigningAlgorithm::RS256, RSA_PUBLIC_PEM)
        .with_audience(AUDIENCE)
        .with_leeway(Duration::from_secs(3600))
        .build()
        .unwrap_err();
    assert!(matches!(e, ConfigError::LeewayTooLarge(3600)), "{e:?}");

    let e = base().with_audience(AUDIENCE).build().unwrap_err();
    assert!(matches!(e, ConfigError::NoIssuer), "{e:?}");
}

#[test]
fn static_keys_accept_a_single_jwk_or_a_jwk_set() {
    let key = TestKey::ec("k");
    for json in [
        key.jwk().to_string(),
        json!({"keys": [key.jwk()]}).to_string(),
    ] {
        JwtConfiguration::builder()
            .with_jwks_json(ISSUER, json)
            .with_audience(AUDIENCE)
            .build()
            .unwrap();
    }
    let e = JwtConfiguration::builder()
        .with_jwks_json(ISSUER, r#"{"keys":[{"kty":"oct","k":"c2VjcmV0"}]}"#)
        .with_audience(AUDIENCE)
        .build()
        .unwrap_err();
    assert!(matches!(e, ConfigError::NoUsableKeys(_)), "{e:?}");
}

#[test]
fn fixed_jwks_cache_serves_static_keys_for_a_shared_issuer() {
    let key = TestKey::ec("k");
    let set = JwkSet::parse(bearer_keys::jwks(&[&key]).to_string().as_bytes()).unwrap();
    let config = builder()
        .with_jwks_cache(ISSUER, JwksCache::fixed(set))
        .build()
        .unwrap();
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    rt.block_on(config.verify(&key.sign(&claims(ISSUER))))
        .unwrap();
}

// ------------------------------------------------------- robustness

mod never_panics {
    use super::*;
    use proptest::prelude::*;

    fn b64(bytes: &[u8]) -> String {
        URL_SAFE_NO_PAD.encode(bytes)
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(200))]

        #[test]
        fn verify_never_panics_on_arbitrary_parts(
            header in prop::collection::vec(any::<u8>(), 0..64),
            payload in prop::collection::vec(any::<u8>(), 0..256),
            json_payload in "\\{(\"[a-z]{1,4}\":(-?[0-9]{1,20}(\\.[0-9]e9)?|\"[ -~]{0,8}\"|\\[\\]|null|true),?){0,6}\\}",
            sig in "[A-Za-z0-9_-]{0,90}",
            raw in "[ -~]{0,120}",
        ) {
            let config = builder()
                .with_hmac_secret("gateway", HmacAlgorithm::HS256, SECRET)
                .with_public_key_pem(ISSUER, Some("rsa"), SigningAlgorithm::RS256, RSA_PUBLIC_PEM)
                .with_required_claims(["sub"])
                .build()
                .unwrap();
            let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
            let hs = b64(br#"{"alg":"HS256"}"#);
            for token in [
                format!("{}.{}.{}", b64(&header), b64(&payload), sig),
                format!("{}.{}.{}", hs, b64(json_payload.as_bytes()), sig),
                raw.clone(),
            ] {
                prop_assert!(rt.block_on(config.verify(&token)).is_err());
            }
        }
    }
}
