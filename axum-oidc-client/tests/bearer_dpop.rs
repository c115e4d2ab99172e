//! DPoP on the bearer layer (RFC 9449 section 7), over real HTTP on 127.0.0.1:
//! the accepted path and one negative test per rule, replay across two instances
//! sharing a store, and the challenges.

#[path = "support/bearer_keys.rs"]
mod bearer_keys;
#[path = "support/faulty_store.rs"]
mod faulty_store;

use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use axum::routing::{get, post};
use axum_oidc_client::bearer::{
    DpopPolicy, JwtClaims, JwtConfiguration, JwtConfigurationBuilder, JwtLayer, OidcClaims,
};
use axum_oidc_client::dpop::{DpopKey, access_token_hash};
use axum_oidc_client::store::SharedStore;
use axum_oidc_client::{Clock, ConfigError, MemoryStore, SigningAlgorithm};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use bearer_keys::{EC_PUBLIC_PEM, TestKey};
use http::{Method, StatusCode};
use jsonwebtoken::{Algorithm, EncodingKey};
use serde_json::{Value, json};

const NOW: i64 = 1_700_000_000;
const ISSUER: &str = "https://issuer.example";
const AUDIENCE: &str = "orders-api";
const ALGS: &str = "ES256 PS256 RS256 EdDSA";

/// An access token from `ISSUER`, bound to `jkt` when given (RFC 9449 section 6.1).
fn access_token(jkt: Option<&str>) -> String {
    let mut claims = json!({
        "iss": ISSUER, "sub": "user-1", "aud": AUDIENCE,
        "exp": NOW + 600, "iat": NOW, "scope": "orders",
    });
    if let Some(jkt) = jkt {
        claims["cnf"] = json!({ "jkt": jkt });
    }
    TestKey::ec("ec").sign(&claims)
}

fn builder() -> JwtConfigurationBuilder {
    JwtConfiguration::builder()
        .with_clock(Clock::manual(NOW))
        .with_audience(AUDIENCE)
        .with_public_key_pem(ISSUER, Some("ec"), SigningAlgorithm::ES256, EC_PUBLIC_PEM)
}

/// An API on 127.0.0.1:0 whose layer was built by `config` given its origin.
struct Api {
    origin: String,
    http: reqwest::Client,
}

async fn serve(config: impl FnOnce(&str) -> JwtConfiguration) -> Api {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr: SocketAddr = listener.local_addr().unwrap();
    let origin = format!("http://{addr}");
    let layer = JwtLayer::new(config(&origin));
    let me = get(|JwtClaims(c): JwtClaims<OidcClaims>| async move { c.sub });
    let app = Router::new()
        .route("/me", me.clone())
        .route("/orders", post(|| async { "created" }))
        .nest("/v1", Router::new().route("/me", me))
        .layer(layer);
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    Api {
        origin,
        http: reqwest::Client::new(),
    }
}

/// An API requiring DPoP with its own replay store.
async fn required_api() -> Api {
    required_api_with(Arc::new(MemoryStore::default())).await
}

async fn required_api_with(store: SharedStore) -> Api {
    serve(|origin| {
        builder()
            .with_dpop(DpopPolicy::required(store))
            .with_dpop_origin(origin)
            .build()
            .unwrap()
    })
    .await
}

struct Answer {
    status: StatusCode,
    challenges: Vec<String>,
    body: String,
}

impl Answer {
    fn challenge(&self) -> &str {
        self.challenges.first().map_or("", String::as_str)
    }
}

impl Api {
    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.origin)
    }

    /// Sends `method path` with `Authorization: <authorization>` and the `proofs`.
    async fn send(
        &self,
        method: Method,
        path: &str,
        authorization: Option<String>,
        proofs: &[&str],
    ) -> Answer {
        let mut req = self.http.request(method, self.url(path));
        if let Some(a) = authorization {
            req = req.header("authorization", a);
        }
        for p in proofs {
            req = req.header("dpop", *p);
        }
        let resp = req.send().await.unwrap();
        Answer {
            status: resp.status(),
            challenges: resp
                .headers()
                .get_all("www-authenticate")
                .iter()
                .map(|v| v.to_str().unwrap().to_owned())
                .collect(),
            body: resp.text().await.unwrap(),
        }
    }

    /// `GET path` with `Authorization: DPoP <token>` and `proof`.
    async fn dpop_get(&self, path: &str, token: &str, proof: &str) -> Answer {
        self.send(Method::GET, path, Some(format!("DPoP {token}")), &[proof])
            .await
    }
}

/// A proof from `key` for `GET /me` on `api` at `NOW`, bound to `token`.
fn proof_for(key: &DpopKey, api: &Api, path: &str, token: &str) -> String {
    key.proof(&Method::GET, &api.url(path), NOW, None, Some(token))
        .unwrap()
}

/// A proof with exactly `header` and `claims`, signed by `key` with ES256.
fn raw_proof(key: &DpopKey, header: &Value, claims: &Value) -> String {
    let b64 = |v: &Value| URL_SAFE_NO_PAD.encode(v.to_string());
    let input = format!("{}.{}", b64(header), b64(claims));
    let sig = jsonwebtoken::crypto::sign(
        input.as_bytes(),
        &EncodingKey::from_ec_der(key.to_pkcs8_der()),
        Algorithm::ES256,
    )
    .unwrap();
    format!("{input}.{sig}")
}

fn proof_header(key: &DpopKey) -> Value {
    json!({"typ": "dpop+jwt", "alg": "ES256", "jwk": key.public_jwk()})
}

fn proof_claims(api: &Api, token: &str) -> Value {
    json!({
        "jti": "jti-1", "htm": "GET", "htu": api.url("/me"), "iat": NOW,
        "ath": access_token_hash(token),
    })
}

fn assert_invalid_proof(answer: &Answer, description: &str) {
    assert_eq!(answer.status, StatusCode::UNAUTHORIZED, "{}", answer.body);
    assert_eq!(
        answer.challenge(),
        format!(
            "DPoP realm=\"api\", error=\"invalid_dpop_proof\", \
             error_description=\"{description}\", algs=\"{ALGS}\""
        )
    );
    assert_eq!(answer.challenges.len(), 1);
    assert!(!answer.body.contains('.'), "no token or proof in the body");
}

fn assert_invalid_token(answer: &Answer, description: &str) {
    assert_eq!(answer.status, StatusCode::UNAUTHORIZED, "{}", answer.body);
    assert_eq!(
        answer.challenge(),
        format!(
            "DPoP realm=\"api\", error=\"invalid_token\", \
             error_description=\"{description}\", algs=\"{ALGS}\""
        )
    );
}

// ---------------------------------------------------------------- accepted

#[tokio::test]
async fn accepts_a_dpop_bound_token_with_a_valid_proof() {
    let api = required_api().await;
    let key = DpopKey::generate().unwrap();
    let token = access_token(Some(key.thumbprint()));
    let answer = api
        .dpop_get("/me?page=2", &token, &proof_for(&key, &api, "/me", &token))
        .await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
    assert_eq!(answer.body, "user-1");
    // A fresh proof for the next request is accepted too.
    let answer = api
        .dpop_get("/me", &token, &proof_for(&key, &api, "/me", &token))
        .await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
}

#[tokio::test]
async fn the_htu_of_a_nested_route_is_its_full_path() {
    let api = required_api().await;
    let key = DpopKey::generate().unwrap();
    let token = access_token(Some(key.thumbprint()));
    let answer = api
        .dpop_get("/v1/me", &token, &proof_for(&key, &api, "/v1/me", &token))
        .await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
}

// ---------------------------------------------------------------- one test per rule

#[tokio::test]
async fn rejects_a_dpop_token_without_a_proof() {
    let api = required_api().await;
    let key = DpopKey::generate().unwrap();
    let token = access_token(Some(key.thumbprint()));
    let answer = api
        .send(Method::GET, "/me", Some(format!("DPoP {token}")), &[])
        .await;
    assert_invalid_proof(&answer, "a DPoP proof is required");
}

#[tokio::test]
async fn rejects_two_dpop_headers() {
    let api = required_api().await;
    let key = DpopKey::generate().unwrap();
    let token = access_token(Some(key.thumbprint()));
    let (a, b) = (
        proof_for(&key, &api, "/me", &token),
        proof_for(&key, &api, "/me", &token),
    );
    let answer = api
        .send(Method::GET, "/me", Some(format!("DPoP {token}")), &[&a, &b])
        .await;
    assert_invalid_proof(&answer, "exactly one DPoP proof is required");
}

#[tokio::test]
async fn rejects_a_proof_with_a_wrong_typ() {
    let api = required_api().await;
    let key = DpopKey::generate().unwrap();
    let token = access_token(Some(key.thumbprint()));
    let mut header = proof_header(&key);
    header["typ"] = json!("JWT");
    let proof = raw_proof(&key, &header, &proof_claims(&api, &token));
    let answer = api.dpop_get("/me", &token, &proof).await;
    assert_invalid_proof(&answer, "the DPoP proof type is not accepted");
}

#[tokio::test]
async fn rejects_alg_none_and_hs256_proofs() {
    let api = required_api().await;
    let key = DpopKey::generate().unwrap();
    let token = access_token(Some(key.thumbprint()));
    let b64 = |v: &Value| URL_SAFE_NO_PAD.encode(v.to_string());
    let claims = proof_claims(&api, &token);
    let mut header = proof_header(&key);
    header["alg"] = json!("none");
    let none = format!("{}.{}.", b64(&header), b64(&claims));
    header["alg"] = json!("HS256");
    let input = format!("{}.{}", b64(&header), b64(&claims));
    let sig = jsonwebtoken::crypto::sign(
        input.as_bytes(),
        &EncodingKey::from_secret(b"0123456789abcdef0123456789abcdef"),
        Algorithm::HS256,
    )
    .unwrap();
    let hs256 = format!("{input}.{sig}");
    for proof in [none, hs256] {
        let answer = api.dpop_get("/me", &token, &proof).await;
        assert_invalid_proof(&answer, "the DPoP proof algorithm is not allowed");
    }
}

#[tokio::test]
async fn rejects_a_proof_whose_jwk_holds_a_private_key() {
    let api = required_api().await;
    let key = DpopKey::generate().unwrap();
    let token = access_token(Some(key.thumbprint()));
    let mut header = proof_header(&key);
    header["jwk"]["d"] = json!("bm90IHJlYWxseSBhIGtleQ");
    let proof = raw_proof(&key, &header, &proof_claims(&api, &token));
    let answer = api.dpop_get("/me", &token, &proof).await;
    assert_invalid_proof(&answer, "the DPoP proof key is not acceptable");
}

#[tokio::test]
async fn rejects_a_proof_with_a_bad_signature() {
    let api = required_api().await;
    let key = DpopKey::generate().unwrap();
    let other = DpopKey::generate().unwrap();
    let token = access_token(Some(key.thumbprint()));
    // Names `key` in its jwk, signed by `other`.
    let proof = raw_proof(&other, &proof_header(&key), &proof_claims(&api, &token));
    let answer = api.dpop_get("/me", &token, &proof).await;
    assert_invalid_proof(&answer, "the DPoP proof signature is invalid");
}

#[tokio::test]
async fn rejects_a_proof_for_another_method() {
    let api = required_api().await;
    let key = DpopKey::generate().unwrap();
    let token = access_token(Some(key.thumbprint()));
    let proof = key
        .proof(&Method::POST, &api.url("/me"), NOW, None, Some(&token))
        .unwrap();
    let answer = api.dpop_get("/me", &token, &proof).await;
    assert_invalid_proof(&answer, "the DPoP proof is for another method");
}

#[tokio::test]
async fn rejects_a_proof_for_another_uri() {
    let api = required_api().await;
    let key = DpopKey::generate().unwrap();
    let token = access_token(Some(key.thumbprint()));
    for uri in [
        api.url("/orders"),
        "https://evil.example/me".to_owned(),
        api.url("/me").replace("127.0.0.1", "localhost"),
    ] {
        let proof = key
            .proof(&Method::GET, &uri, NOW, None, Some(&token))
            .unwrap();
        let answer = api.dpop_get("/me", &token, &proof).await;
        assert_invalid_proof(&answer, "the DPoP proof is for another URI");
    }
}

#[tokio::test]
async fn rejects_a_stale_proof() {
    let api = required_api().await;
    let key = DpopKey::generate().unwrap();
    let token = access_token(Some(key.thumbprint()));
    // Older than max_age (60 s) plus the leeway (60 s).
    let proof = key
        .proof(&Method::GET, &api.url("/me"), NOW - 121, None, Some(&token))
        .unwrap();
    let answer = api.dpop_get("/me", &token, &proof).await;
    assert_invalid_proof(&answer, "the DPoP proof is too old");
}

#[tokio::test]
async fn rejects_a_proof_issued_in_the_future() {
    let api = required_api().await;
    let key = DpopKey::generate().unwrap();
    let token = access_token(Some(key.thumbprint()));
    let proof = key
        .proof(&Method::GET, &api.url("/me"), NOW + 61, None, Some(&token))
        .unwrap();
    let answer = api.dpop_get("/me", &token, &proof).await;
    assert_invalid_proof(&answer, "the DPoP proof is not yet valid");
}

#[tokio::test]
async fn rejects_a_replayed_proof() {
    let api = required_api().await;
    let key = DpopKey::generate().unwrap();
    let token = access_token(Some(key.thumbprint()));
    let proof = proof_for(&key, &api, "/me", &token);
    assert_eq!(
        api.dpop_get("/me", &token, &proof).await.status,
        StatusCode::OK
    );
    let answer = api.dpop_get("/me", &token, &proof).await;
    assert_invalid_proof(&answer, "the DPoP proof was already used");
}

#[tokio::test]
async fn rejects_a_proof_replayed_at_another_instance_sharing_the_memory_store() {
    let store: SharedStore = Arc::new(MemoryStore::default());
    replayed_across_instances(store.clone(), store).await;
}

/// Two instances, each with its own connection to the Redis server.
#[cfg(feature = "redis")]
#[tokio::test]
async fn rejects_a_proof_replayed_at_another_instance_sharing_a_redis_store() {
    use axum_oidc_client::store::{RedisStore, SessionCodec};
    let Ok(url) = std::env::var("AXUM_OIDC_TEST_REDIS_URL") else {
        eprintln!("AXUM_OIDC_TEST_REDIS_URL is not set: skipped");
        return;
    };
    let open = || async {
        let store = RedisStore::connect(&url, SessionCodec::encrypted(&[3u8; 32]))
            .await
            .expect("Redis at AXUM_OIDC_TEST_REDIS_URL");
        Arc::new(store) as SharedStore
    };
    replayed_across_instances(open().await, open().await).await;
}

async fn replayed_across_instances(a: SharedStore, b: SharedStore) {
    // Both instances serve the same external origin behind a load balancer.
    let origin = "https://api.example";
    let config = |store: SharedStore| {
        move |_: &str| {
            builder()
                .with_dpop(DpopPolicy::required(store))
                .with_dpop_origin(origin)
                .build()
                .unwrap()
        }
    };
    let (one, two) = (serve(config(a)).await, serve(config(b)).await);
    let key = DpopKey::generate().unwrap();
    let token = access_token(Some(key.thumbprint()));
    let proof = key
        .proof(
            &Method::GET,
            &format!("{origin}/me"),
            NOW,
            None,
            Some(&token),
        )
        .unwrap();
    let first = one.dpop_get("/me", &token, &proof).await;
    assert_eq!(first.status, StatusCode::OK, "{}", first.body);
    let again = two.dpop_get("/me", &token, &proof).await;
    assert_invalid_proof(&again, "the DPoP proof was already used");
}

#[tokio::test]
async fn answers_503_when_the_replay_store_fails_and_accepts_the_proof_once_it_is_back() {
    let store = faulty_store::FaultyStore::new(Arc::new(MemoryStore::default()));
    let api = required_api_with(Arc::new(store.clone())).await;
    let key = DpopKey::generate().unwrap();
    let token = access_token(Some(key.thumbprint()));
    let proof = proof_for(&key, &api, "/me", &token);
    store.fail_next("insert_once", 1);
    let answer = api.dpop_get("/me", &token, &proof).await;
    assert_eq!(
        answer.status,
        StatusCode::SERVICE_UNAVAILABLE,
        "{}",
        answer.body
    );
    assert!(answer.challenges.is_empty());
    assert!(answer.body.contains("temporarily_unavailable"));
    // The jti was not recorded: the client's retry passes.
    let answer = api.dpop_get("/me", &token, &proof).await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
}

#[tokio::test]
async fn rejects_a_proof_for_another_access_token() {
    let api = required_api().await;
    let key = DpopKey::generate().unwrap();
    let token = access_token(Some(key.thumbprint()));
    let other = access_token(None);
    let proof = proof_for(&key, &api, "/me", &other);
    let answer = api.dpop_get("/me", &token, &proof).await;
    assert_invalid_proof(&answer, "the DPoP proof is for another access token");
}

#[tokio::test]
async fn rejects_a_proof_key_that_does_not_match_cnf_jkt() {
    let api = required_api().await;
    let bound = DpopKey::generate().unwrap();
    let thief = DpopKey::generate().unwrap();
    let token = access_token(Some(bound.thumbprint()));
    let answer = api
        .dpop_get("/me", &token, &proof_for(&thief, &api, "/me", &token))
        .await;
    assert_invalid_token(&answer, "the access token is bound to another key");
}

#[tokio::test]
async fn rejects_an_unbound_token_with_the_dpop_scheme() {
    let api = required_api().await;
    let key = DpopKey::generate().unwrap();
    let token = access_token(None);
    let answer = api
        .dpop_get("/me", &token, &proof_for(&key, &api, "/me", &token))
        .await;
    assert_invalid_token(&answer, "the access token is not DPoP-bound");
}

#[tokio::test]
async fn rejects_the_bearer_scheme_where_dpop_is_required() {
    let api = required_api().await;
    let key = DpopKey::generate().unwrap();
    let token = access_token(Some(key.thumbprint()));
    let answer = api
        .send(Method::GET, "/me", Some(format!("Bearer {token}")), &[])
        .await;
    assert_eq!(answer.status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        answer.challenge(),
        format!("DPoP realm=\"api\", algs=\"{ALGS}\"")
    );
    // And without any credentials: the same bare DPoP challenge (RFC 9449 7.1).
    let answer = api.send(Method::GET, "/me", None, &[]).await;
    assert_eq!(answer.status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        answer.challenge(),
        format!("DPoP realm=\"api\", algs=\"{ALGS}\"")
    );
}

#[tokio::test]
async fn rejects_a_dpop_bound_token_with_the_bearer_scheme() {
    let key = DpopKey::generate().unwrap();
    let token = access_token(Some(key.thumbprint()));
    // DPoP allowed: unbound bearer tokens pass, bound ones need their proof.
    let allowed = serve(|origin| {
        builder()
            .with_dpop(DpopPolicy::allowed(Arc::new(MemoryStore::default())))
            .with_dpop_origin(origin)
            .build()
            .unwrap()
    })
    .await;
    let answer = allowed
        .send(Method::GET, "/me", Some(format!("Bearer {token}")), &[])
        .await;
    assert_eq!(answer.status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        answer.challenge(),
        format!(
            "DPoP realm=\"api\", error=\"invalid_token\", error_description=\"a DPoP-bound \
             access token needs the DPoP scheme\", algs=\"{ALGS}\""
        )
    );
    let unbound = access_token(None);
    let answer = allowed
        .send(Method::GET, "/me", Some(format!("Bearer {unbound}")), &[])
        .await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
    let answer = allowed
        .dpop_get("/me", &token, &proof_for(&key, &allowed, "/me", &token))
        .await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
    // Without DPoP configured, a bound token is refused all the same.
    let plain = serve(|_| builder().build().unwrap()).await;
    let answer = plain
        .send(Method::GET, "/me", Some(format!("Bearer {token}")), &[])
        .await;
    assert_eq!(answer.status, StatusCode::UNAUTHORIZED);
    assert!(
        answer
            .challenge()
            .starts_with("Bearer realm=\"api\", error=\"invalid_token\"")
    );
    let answer = plain
        .send(Method::GET, "/me", Some(format!("Bearer {unbound}")), &[])
        .await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
}

#[tokio::test]
async fn an_api_allowing_dpop_challenges_with_both_schemes() {
    let allowed = serve(|origin| {
        builder()
            .with_dpop(DpopPolicy::allowed(Arc::new(MemoryStore::default())))
            .with_dpop_origin(origin)
            .build()
            .unwrap()
    })
    .await;
    let answer = allowed.send(Method::GET, "/me", None, &[]).await;
    assert_eq!(answer.status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        answer.challenges,
        [
            "Bearer realm=\"api\"".to_owned(),
            format!("DPoP realm=\"api\", algs=\"{ALGS}\"")
        ]
    );
}

#[tokio::test]
async fn the_dpop_scheme_is_another_scheme_where_dpop_is_not_configured() {
    let plain = serve(|_| builder().build().unwrap()).await;
    let key = DpopKey::generate().unwrap();
    let token = access_token(Some(key.thumbprint()));
    let answer = plain
        .dpop_get("/me", &token, &proof_for(&key, &plain, "/me", &token))
        .await;
    assert_eq!(answer.status, StatusCode::UNAUTHORIZED);
    assert_eq!(answer.challenges, ["Bearer realm=\"api\"".to_owned()]);
}

// ---------------------------------------------------------------- configuration

#[test]
fn dpop_needs_an_origin_from_the_setting_or_an_url_audience() {
    let store = || -> SharedStore { Arc::new(MemoryStore::default()) };
    let err = builder()
        .with_dpop(DpopPolicy::required(store()))
        .build()
        .unwrap_err();
    assert!(
        matches!(err, ConfigError::Missing("with_dpop_origin")),
        "{err}"
    );
    builder()
        .with_audience("https://api.example/orders")
        .with_dpop(DpopPolicy::required(store()))
        .build()
        .unwrap();
    let err = builder()
        .with_dpop(DpopPolicy::required(store()))
        .with_dpop_origin("api.example")
        .build()
        .unwrap_err();
    assert!(
        matches!(
            err,
            ConfigError::InvalidUrl {
                name: "with_dpop_origin",
                ..
            }
        ),
        "{err}"
    );
    let err = builder()
        .with_dpop(DpopPolicy::required(store()).with_algorithms([]))
        .with_dpop_origin("https://api.example")
        .build()
        .unwrap_err();
    assert!(matches!(err, ConfigError::NoAlgorithms), "{err}");
    let err = builder()
        .with_dpop(DpopPolicy::required(store()).with_max_age(std::time::Duration::from_secs(3600)))
        .with_dpop_origin("https://api.example")
        .build()
        .unwrap_err();
    assert!(matches!(err, ConfigError::Invalid { .. }), "{err}");
}
