//! The BFF proxy with DPoP-bound tokens (RFC 9449 section 7.1): the upstream API gets
//! `Authorization: DPoP` and a proof of the session's own key for its URL, and its
//! nonce challenge (section 9) is answered once.

use std::sync::{Arc, Mutex};

use axum::Router;
use axum::extract::{Request, State};
use axum::response::{IntoResponse, Response};
use axum::routing::any;
use axum_oidc_client::bff::ApiProxy;
use axum_oidc_client::{AuthenticationLayer, MemoryStore};
use reqwest::StatusCode;

use crate::adversary::{DpopReply, ProofSeen, read_proof};
use crate::harness::*;

const NONCE: &str = "rs-nonce-1";

/// What the upstream saw: each request's `Authorization` and proof.
type Calls = Arc<Mutex<Vec<(String, Option<ProofSeen>)>>>;

/// An API that requires its nonce (RFC 9449 section 9): a proof without it gets 401
/// with a `DPoP` challenge `use_dpop_nonce` and the nonce.
async fn api(State(calls): State<Calls>, req: Request) -> Response {
    let authorization = req
        .headers()
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let proof = read_proof(req.headers());
    let nonce_ok = proof.as_ref().and_then(|p| p.nonce.as_deref()) == Some(NONCE);
    calls.lock().unwrap().push((authorization, proof));
    if nonce_ok {
        "orders".into_response()
    } else {
        (
            StatusCode::UNAUTHORIZED,
            [
                (
                    "www-authenticate",
                    r#"DPoP error="use_dpop_nonce", algs="ES256""#,
                ),
                ("dpop-nonce", NONCE),
            ],
        )
            .into_response()
    }
}

#[tokio::test]
async fn the_proxy_presents_the_dpop_token_with_a_proof_and_answers_the_nonce_challenge() {
    let adv = Adversary::start().await;
    let issuer = adv.case(
        "case",
        Behavior {
            dpop: Some(DpopReply::Bound),
            ..Behavior::default()
        },
    );
    let calls: Calls = Arc::default();
    let api_listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let api_origin = format!("http://{}", api_listener.local_addr().unwrap());
    let api_app = Router::new()
        .route("/{*rest}", any(api))
        .with_state(calls.clone());
    let api_task = tokio::spawn(async move { axum::serve(api_listener, api_app).await.unwrap() });

    let bound = crate::app::bind().await;
    let origin = bound.origin.clone();
    let config = builder(&adv, &origin)
        .with_dpop(true)
        .with_issuer(issuer)
        .await
        .unwrap()
        .build()
        .unwrap();
    let app = crate::app::routes()
        .nest_service("/bff/api", ApiProxy::new(&api_origin).unwrap())
        .layer(AuthenticationLayer::with_store(
            config,
            Arc::new(MemoryStore::default()),
        ));
    let app_task = tokio::spawn(async move { axum::serve(bound.listener, app).await.unwrap() });
    let browser = Browser::new(&origin);
    login_ok(&browser).await;

    let r = browser.get("/bff/api/orders?page=2").await;
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.text().await.unwrap(), "orders");

    let seen = adv.seen("case");
    let access_token = seen.access_tokens.last().unwrap().clone();
    let jkt = seen.token[0].dpop.as_ref().unwrap().jkt.clone();
    let calls = calls.lock().unwrap().clone();
    assert_eq!(calls.len(), 2, "one challenge, one retry");
    for (authorization, proof) in &calls {
        assert_eq!(authorization, &format!("DPoP {access_token}"));
        let proof = proof.as_ref().expect("a proof");
        assert_eq!(proof.jkt, jkt, "the session's key");
        assert_eq!(proof.htm, "GET");
        assert_eq!(proof.htu, format!("{api_origin}/orders"));
        assert_eq!(
            proof.ath.as_deref(),
            Some(axum_oidc_client::dpop::access_token_hash(&access_token).as_str())
        );
    }
    assert_eq!(calls[0].1.as_ref().unwrap().nonce, None);
    assert_eq!(calls[1].1.as_ref().unwrap().nonce.as_deref(), Some(NONCE));
    assert_ne!(
        calls[0].1.as_ref().unwrap().jti,
        calls[1].1.as_ref().unwrap().jti
    );
    api_task.abort();
    app_task.abort();
}
