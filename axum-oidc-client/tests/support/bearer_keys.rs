//! Keys, token signing and a tiny JWKS / discovery server for `tests/bearer.rs`.
//!
//! RSA 2048 and EC P-256 keys come from `tests/fixtures/bearer/` (test-only keys);
//! extra EC keys for rotation are generated with aws-lc-rs. Tokens are signed with
//! `jsonwebtoken::encode`.

#![allow(dead_code)]

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair};
use axum::Json;
use axum::extract::State;
use axum::routing::get;
use http::StatusCode;
use jsonwebtoken::jwk::Jwk;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{Value, json};

pub const RSA_PRIVATE_PEM: &[u8] = include_bytes!("../fixtures/bearer/rsa_private.pem");
pub const RSA_PUBLIC_PEM: &[u8] = include_bytes!("../fixtures/bearer/rsa_public.pem");
pub const EC_PRIVATE_PEM: &[u8] = include_bytes!("../fixtures/bearer/ec_private.pem");
pub const EC_PUBLIC_PEM: &[u8] = include_bytes!("../fixtures/bearer/ec_public.pem");

/// A signing key with its public JWK.
#[derive(Clone)]
pub struct TestKey {
    pub kid: String,
    pub alg: Algorithm,
    pub encoding: EncodingKey,
}

impl TestKey {
    /// The RSA fixture key.
    pub fn rsa(kid: &str) -> Self {
        Self {
            kid: kid.into(),
            alg: Algorithm::RS256,
            encoding: EncodingKey::from_rsa_pem(RSA_PRIVATE_PEM).unwrap(),
        }
    }

    /// The EC P-256 fixture key.
    pub fn ec(kid: &str) -> Self {
        Self {
            kid: kid.into(),
            alg: Algorithm::ES256,
            encoding: EncodingKey::from_ec_pem(EC_PRIVATE_PEM).unwrap(),
        }
    }

    /// A fresh EC P-256 key.
    pub fn generated_ec(kid: &str) -> Self {
        let pkcs8 =
            EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &SystemRandom::new())
                .unwrap();
        Self {
            kid: kid.into(),
            alg: Algorithm::ES256,
            encoding: EncodingKey::from_ec_der(pkcs8.as_ref()),
        }
    }

    /// The public JWK, with `kid`.
    pub fn jwk(&self) -> Value {
        let mut jwk = Jwk::from_encoding_key(&self.encoding, self.alg).unwrap();
        jwk.common.key_id = Some(self.kid.clone());
        serde_json::to_value(jwk).unwrap()
    }

    /// Signs `claims` with this key, `kid` and `typ` in the header.
    pub fn sign(&self, claims: &Value) -> String {
        self.sign_with(claims, |_| {})
    }

    /// Signs `claims` after `edit` adjusted the header.
    pub fn sign_with(&self, claims: &Value, edit: impl FnOnce(&mut Header)) -> String {
        let mut header = Header::new(self.alg);
        header.kid = Some(self.kid.clone());
        edit(&mut header);
        jsonwebtoken::encode(&header, claims, &self.encoding).unwrap()
    }
}

/// A JWK Set document of `keys`.
pub fn jwks(keys: &[&TestKey]) -> Value {
    json!({ "keys": keys.iter().map(|k| k.jwk()).collect::<Vec<_>>() })
}

/// A provider on 127.0.0.1:0 serving discovery and a JWKS that tests can swap.
#[derive(Clone)]
pub struct Provider {
    pub issuer: String,
    jwks: Arc<Mutex<Value>>,
    fetches: Arc<AtomicUsize>,
    failing: Arc<AtomicBool>,
}

#[derive(Clone)]
struct ServerState {
    issuer: String,
    jwks: Arc<Mutex<Value>>,
    fetches: Arc<AtomicUsize>,
    failing: Arc<AtomicBool>,
}

impl Provider {
    /// Starts a provider publishing `keys`.
    pub async fn start(keys: &[&TestKey]) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let issuer = format!("http://{}", listener.local_addr().unwrap());
        let state = ServerState {
            issuer: issuer.clone(),
            jwks: Arc::new(Mutex::new(jwks(keys))),
            fetches: Arc::new(AtomicUsize::new(0)),
            failing: Arc::new(AtomicBool::new(false)),
        };
        let app = axum::Router::new()
            .route("/jwks", get(serve_jwks))
            .route("/.well-known/openid-configuration", get(serve_discovery))
            .with_state(state.clone());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        Self {
            issuer,
            jwks: state.jwks,
            fetches: state.fetches,
            failing: state.failing,
        }
    }

    /// The JWKS URL.
    pub fn jwks_uri(&self) -> String {
        format!("{}/jwks", self.issuer)
    }

    /// Publishes `keys` instead.
    pub fn publish(&self, keys: &[&TestKey]) {
        *self.jwks.lock().unwrap() = jwks(keys);
    }

    /// How many times the JWKS was fetched.
    pub fn fetches(&self) -> usize {
        self.fetches.load(Ordering::SeqCst)
    }

    /// Makes the JWKS endpoint answer 500.
    pub fn fail(&self, failing: bool) {
        self.failing.store(failing, Ordering::SeqCst);
    }
}

async fn serve_jwks(State(s): State<ServerState>) -> Result<Json<Value>, StatusCode> {
    s.fetches.fetch_add(1, Ordering::SeqCst);
    if s.failing.load(Ordering::SeqCst) {
        return Err(StatusCode::INTERNAL_SERVER_ERROR);
    }
    Ok(Json(s.jwks.lock().unwrap().clone()))
}

async fn serve_discovery(State(s): State<ServerState>) -> Json<Value> {
    let i = &s.issuer;
    Json(json!({
        "issuer": i,
        "authorization_endpoint": format!("{i}/authorize"),
        "token_endpoint": format!("{i}/token"),
        "jwks_uri": format!("{i}/jwks"),
    }))
}
