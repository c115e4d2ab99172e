//! Micro-benchmarks of the per-request path of a signed-in request.
//!
//! ```sh
//! cargo bench -p axum-oidc-client --bench hot_path
//! ```
//!
//! - `cookie/*`: `cookies::read_session_id` (HMAC-SHA256 check of the session cookie);
//! - `session/key_of`: the store key (SHA-256 of the id);
//! - `store/memory_get`: a lookup in a `MemoryStore` holding 10,000 sessions;
//! - `router/*`: one request through a `Router` with `tower::ServiceExt::oneshot`,
//!   outside the layer, behind it without a cookie, with a warm session through
//!   `AccessToken` and `AuthSession`, and with a forged cookie;
//! - `jws/*`: parsing and checking the signature of an ID token (RS256, ES256);
//! - `dpop/*`: a session's DPoP key (made at each login start with DPoP) and a proof
//!   of it from its stored form (each call with a DPoP-bound token).
//!
//! Nothing here touches the network: the configuration names endpoints on
//! 127.0.0.1:9 that are never called, and sessions are written to the store directly.

use std::hint::black_box;
use std::sync::Arc;
use std::time::Duration;

use aws_lc_rs::encoding::AsDer;
use aws_lc_rs::rsa::{KeyPair as RsaKeyPair, KeySize, PublicKeyComponents};
use aws_lc_rs::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, KeyPair};
use axum::Router;
use axum::body::Body;
use axum::routing::get;
use axum_oidc_client::__private::cookies::{
    CookieKey, CookieSettings, read_session_id, session_cookie,
};
use axum_oidc_client::__private::id_token::IdTokenClaims;
use axum_oidc_client::__private::jose::JwkSet;
use axum_oidc_client::__private::jose::UnverifiedJws;
use axum_oidc_client::__private::secret::{
    AccessTokenValue, IdTokenValue, RefreshTokenValue, SessionId,
};
use axum_oidc_client::__private::session::{SessionKey, SessionRecord, TokenSet, new_session_id};
use axum_oidc_client::auth_session::AuthSession;
use axum_oidc_client::store::AuthCache;
use axum_oidc_client::{
    AccessToken, AuthenticationLayer, MemoryStore, OAuthConfiguration, OAuthConfigurationBuilder,
    SigningAlgorithm,
};
use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use criterion::{Criterion, criterion_group, criterion_main};
use http::{HeaderMap, HeaderValue, Request, header};
use tower::ServiceExt as _;

const SECRET: &str = "+D19HNLhNHWXD7JBxyv+GulLZaN0C1kut/v1ZKYOxXsY8oG/PAQkBwav+r6B5UVJ";

fn config() -> OAuthConfiguration {
    OAuthConfigurationBuilder::default()
        .with_client_id("bench")
        .with_client_secret("bench-secret")
        .with_app_url("http://127.0.0.1:3000")
        .with_authorization_endpoint("http://127.0.0.1:9/authorize")
        .with_token_endpoint("http://127.0.0.1:9/token")
        .with_oauth2_only("http://127.0.0.1:9/user", "id")
        .with_private_cookie_key(SECRET)
        .build()
        .expect("configuration")
}

fn settings() -> CookieSettings {
    CookieSettings {
        session_name: "axum_oidc_session".into(),
        login_prefix: "axum_oidc_login_".into(),
        secure: false,
        login_path: "/auth".into(),
        same_site: cookie::SameSite::Lax,
    }
}

fn filler(len: usize) -> String {
    let bytes: Vec<u8> = (0..len).map(|_| rand::random::<u8>()).collect();
    let mut s = URL_SAFE_NO_PAD.encode(bytes);
    s.truncate(len);
    s
}

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

/// A session shaped like one from the development provider: JWT-sized tokens and
/// the usual profile claims.
fn record(sub: &str) -> SessionRecord {
    let now = now();
    let claims: IdTokenClaims = serde_json::from_value(serde_json::json!({
        "iss": "http://127.0.0.1:9", "sub": sub, "aud": "bench", "exp": now + 300,
        "iat": now, "auth_time": now, "nonce": filler(43), "sid": filler(22),
        "at_hash": filler(22), "name": "Alice Anderson", "email": "alice@example.com",
        "email_verified": true, "preferred_username": "alice"
    }))
    .expect("claims");
    SessionRecord {
        tokens: TokenSet {
            access_token: AccessTokenValue::new(filler(760)),
            token_type: "Bearer".into(),
            refresh_token: Some(RefreshTokenValue::new(filler(43))),
            id_token: Some(IdTokenValue::new(filler(900))),
            scope: "openid profile email offline_access".into(),
            expires_at: now + 3600,
            dpop_key: None,
        },
        claims: claims.into(),
        created_at: now,
        last_seen: now,
        user_agent: None,
        enriched_claims: Vec::new(),
        provider: None,
    }
}

fn cookie_header(value: &str) -> HeaderMap {
    let mut h = HeaderMap::new();
    h.insert(
        header::COOKIE,
        HeaderValue::from_str(value).expect("header"),
    );
    h
}

fn cookie_benches(c: &mut Criterion) {
    let key = CookieKey::derive(SECRET.as_bytes()).expect("key");
    let s = settings();
    let id = new_session_id();
    let set = session_cookie(&key, &s, &id, 3600);
    let pair = set.split(';').next().expect("pair").to_owned();
    let valid = cookie_header(&pair);
    let among_others = cookie_header(&format!(
        "_ga=GA1.1.1234567890.1700000000; theme=dark; {pair}; csrftoken={}",
        filler(32)
    ));
    let forged = cookie_header(&pair.replacen('A', "B", 1).replacen('a', "b", 1));
    let none = HeaderMap::new();
    assert!(read_session_id(&key, &s, &valid).is_some());
    assert!(read_session_id(&key, &s, &forged).is_none());
    let mut g = c.benchmark_group("cookie");
    g.bench_function("read_session_id/valid", |b| {
        b.iter(|| read_session_id(&key, &s, black_box(&valid)))
    });
    g.bench_function("read_session_id/valid_among_4_cookies", |b| {
        b.iter(|| read_session_id(&key, &s, black_box(&among_others)))
    });
    g.bench_function("read_session_id/forged", |b| {
        b.iter(|| read_session_id(&key, &s, black_box(&forged)))
    });
    g.bench_function("read_session_id/no_cookie", |b| {
        b.iter(|| read_session_id(&key, &s, black_box(&none)))
    });
    g.finish();
    c.bench_function("session/key_of", |b| {
        b.iter(|| SessionKey::of(black_box(&id)))
    });
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime")
}

/// A memory store with 10,000 other sessions and one for `id`.
fn store_with(rt: &tokio::runtime::Runtime, id: &SessionId) -> MemoryStore {
    let store = MemoryStore::default();
    rt.block_on(async {
        for i in 0..10_000 {
            let k = SessionKey::of(&new_session_id());
            store
                .put(
                    &k,
                    Arc::new(record(&format!("user-{i}"))),
                    Duration::from_secs(3600),
                )
                .await
                .expect("put");
        }
        store
            .put(
                &SessionKey::of(id),
                Arc::new(record("alice")),
                Duration::from_secs(3600),
            )
            .await
            .expect("put");
        store.session_count().await;
    });
    store
}

fn store_benches(c: &mut Criterion) {
    let rt = runtime();
    let id = new_session_id();
    let store = store_with(&rt, &id);
    let key = SessionKey::of(&id);
    let missing = SessionKey::of(&new_session_id());
    c.bench_function("store/memory_get/hit", |b| {
        b.to_async(&rt).iter(|| store.get(black_box(&key)))
    });
    c.bench_function("store/memory_get/miss", |b| {
        b.to_async(&rt).iter(|| store.get(black_box(&missing)))
    });
}

fn router_benches(c: &mut Criterion) {
    let rt = runtime();
    let config = config();
    let id = new_session_id();
    let store = store_with(&rt, &id);
    let s = settings();
    let set = session_cookie(config.cookie_key(), &s, &id, 3600);
    let pair = set.split(';').next().expect("pair").to_owned();
    let forged = pair.replacen('A', "B", 1).replacen('a', "b", 1);
    let layered = Router::new()
        .route("/public", get(|| async { "ok" }))
        .route("/authed", get(|_t: AccessToken| async { "ok" }))
        .route("/authed-session", get(|_s: AuthSession| async { "ok" }))
        .layer(AuthenticationLayer::with_store(config, Arc::new(store)));
    let app = layered.merge(Router::new().route("/plain", get(|| async { "ok" })));
    let request = |path: &str, cookie: Option<&str>| {
        let mut r = Request::get(path).header(header::ACCEPT, "application/json");
        if let Some(c) = cookie {
            r = r.header(header::COOKIE, c);
        }
        r.body(Body::empty()).expect("request")
    };
    let status = |path: &str, cookie: Option<&str>| {
        rt.block_on(app.clone().oneshot(request(path, cookie)))
            .expect("infallible")
            .status()
            .as_u16()
    };
    assert_eq!(status("/plain", Some(&pair)), 200);
    assert_eq!(status("/public", None), 200);
    assert_eq!(status("/authed", Some(&pair)), 200);
    assert_eq!(status("/authed-session", Some(&pair)), 200);
    assert_eq!(status("/authed", Some(&forged)), 401);
    let mut g = c.benchmark_group("router");
    for (name, path, cookie) in [
        ("plain_no_layer", "/plain", Some(pair.as_str())),
        ("public_behind_layer", "/public", None),
        ("authed_access_token", "/authed", Some(pair.as_str())),
        (
            "authed_auth_session",
            "/authed-session",
            Some(pair.as_str()),
        ),
        ("forged_cookie_401", "/authed", Some(forged.as_str())),
    ] {
        g.bench_function(name, |b| {
            b.to_async(&rt)
                .iter(|| app.clone().oneshot(request(path, cookie)))
        });
    }
    g.finish();
}

struct Signer {
    alg: jsonwebtoken::Algorithm,
    key: jsonwebtoken::EncodingKey,
    jwk: serde_json::Value,
}

fn rsa_signer() -> Signer {
    let pair = RsaKeyPair::generate(KeySize::Rsa2048).expect("rsa");
    let pkcs8 = pair.as_der().expect("pkcs8");
    let pem = format!(
        "-----BEGIN PRIVATE KEY-----\n{}\n-----END PRIVATE KEY-----\n",
        STANDARD.encode(pkcs8.as_ref())
    );
    let c = PublicKeyComponents::<Vec<u8>>::from(pair.public_key());
    Signer {
        alg: jsonwebtoken::Algorithm::RS256,
        key: jsonwebtoken::EncodingKey::from_rsa_pem(pem.as_bytes()).expect("pem"),
        jwk: serde_json::json!({"kty": "RSA", "kid": "r1", "alg": "RS256",
            "n": URL_SAFE_NO_PAD.encode(&c.n), "e": URL_SAFE_NO_PAD.encode(&c.e)}),
    }
}

fn ec_signer() -> Signer {
    let pair = EcdsaKeyPair::generate(&ECDSA_P256_SHA256_FIXED_SIGNING).expect("ec");
    let pkcs8 = pair.to_pkcs8v1().expect("pkcs8");
    let point = pair.public_key().as_ref();
    Signer {
        alg: jsonwebtoken::Algorithm::ES256,
        key: jsonwebtoken::EncodingKey::from_ec_der(pkcs8.as_ref()),
        jwk: serde_json::json!({"kty": "EC", "kid": "e1", "alg": "ES256", "crv": "P-256",
            "x": URL_SAFE_NO_PAD.encode(&point[1..33]), "y": URL_SAFE_NO_PAD.encode(&point[33..65])}),
    }
}

fn jws_benches(c: &mut Criterion) {
    let _ = jsonwebtoken::crypto::CryptoProvider::install_default(
        &jsonwebtoken::crypto::aws_lc::DEFAULT_PROVIDER,
    );
    let signers = [rsa_signer(), ec_signer()];
    let set = JwkSet::parse(
        serde_json::json!({"keys": signers.iter().map(|s| s.jwk.clone()).collect::<Vec<_>>()})
            .to_string()
            .as_bytes(),
    )
    .expect("jwks");
    let claims = serde_json::to_value(record("alice").claims).expect("claims");
    let mut g = c.benchmark_group("jws");
    for s in &signers {
        let mut h = jsonwebtoken::Header::new(s.alg);
        h.kid = s.jwk["kid"].as_str().map(str::to_owned);
        let token = jsonwebtoken::encode(&h, &claims, &s.key).expect("sign");
        UnverifiedJws::parse(&token, &SigningAlgorithm::ALL)
            .expect("parse")
            .verify(&set)
            .expect("verify");
        let name = format!("{:?}", s.alg);
        g.bench_function(format!("parse/{name}"), |b| {
            b.iter(|| UnverifiedJws::parse(black_box(&token), &SigningAlgorithm::ALL))
        });
        g.bench_function(format!("parse_and_verify/{name}"), |b| {
            b.iter(|| {
                UnverifiedJws::parse(black_box(&token), &SigningAlgorithm::ALL)
                    .and_then(|j| j.verify(&set))
            })
        });
    }
    g.finish();
}

/// What DPoP adds: a session key made at each login start, and a proof signed for
/// each call made with a DPoP-bound token (the BFF proxy, `AuthSession::dpop_proof`),
/// from the key as the session stores it.
fn dpop_benches(c: &mut Criterion) {
    use axum_oidc_client::dpop::DpopKey;
    let key = DpopKey::generate().expect("key");
    let stored = key.to_stored();
    let mut g = c.benchmark_group("dpop");
    g.bench_function("key_generate", |b| b.iter(DpopKey::generate));
    g.bench_function("proof", |b| {
        b.iter(|| {
            key.proof(
                &http::Method::GET,
                black_box("https://api.example/orders"),
                1_900_000_000,
                None,
                Some("at"),
            )
        })
    });
    g.bench_function("stored_key_and_proof", |b| {
        b.iter(|| {
            DpopKey::from_stored(black_box(&stored)).and_then(|k| {
                k.proof(
                    &http::Method::GET,
                    "https://api.example/orders",
                    1_900_000_000,
                    None,
                    Some("at"),
                )
            })
        })
    });
    g.finish();
}

criterion_group!(
    name = benches;
    config = Criterion::default()
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2))
        .sample_size(30);
    targets = cookie_benches, store_benches, router_benches, jws_benches, dpop_benches
);
criterion_main!(benches);
