//! A small JSON API protected by bearer tokens (RFC 6750): each request carries
//! `Authorization: Bearer <JWT access token>`, which [`JwtLayer`] verifies against the
//! issuer's published keys before the handler runs.
//!
//! Configuration comes from the environment through
//! [`JwtConfigurationBuilder::from_env`]:
//!
//! ```text
//! OIDC_ISSUER=https://sso.example/realms/acme JWT_AUDIENCE=orders-api \
//! cargo run -p axum-oidc-client --example api_server
//!
//! curl -H "Authorization: Bearer $TOKEN" http://127.0.0.1:3001/api/me
//! ```
//!
//! `BIND` sets the listening address (default `127.0.0.1:3001`).

use axum::routing::{get, post};
use axum::{Json, Router};
use axum_oidc_client::jwt::{JwtClaims, JwtConfigurationBuilder, JwtLayer, OidcClaims};
use serde::Deserialize;
use serde_json::{Value, json};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "info,axum_oidc_client=debug".into()),
        )
        .init();

    // Discovers each issuer; fails at start-up when one cannot be reached.
    let config = JwtConfigurationBuilder::from_env().await?.build()?;
    let jwt = JwtLayer::new(config);

    let api = Router::new()
        .route("/me", get(me))
        .route(
            "/orders",
            get(list_orders)
                .merge(post(create_order).route_layer(jwt.require_scopes(["orders:write"]))),
        )
        .layer(jwt);
    let app = Router::new()
        .route("/health", get(|| async { "ok" }))
        .nest("/api", api);

    let bind = std::env::var("BIND").unwrap_or_else(|_| "127.0.0.1:3001".into());
    let listener = tokio::net::TcpListener::bind(&bind).await?;
    tracing::info!("listening on http://{}", listener.local_addr()?);
    axum::serve(listener, app).await?;
    Ok(())
}

/// The caller, as the token describes them.
async fn me(JwtClaims(claims): JwtClaims<OidcClaims>) -> Json<Value> {
    Json(json!({
        "sub": claims.sub,
        "issuer": claims.iss,
        "client": claims.azp.or(claims.client_id),
        "scopes": claims.scope,
        "email": claims.email,
    }))
}

/// Any valid token may read.
async fn list_orders(JwtClaims(claims): JwtClaims<OidcClaims>) -> Json<Value> {
    Json(json!({ "owner": claims.sub, "orders": [] }))
}

#[derive(Deserialize)]
struct NewOrder {
    item: String,
    quantity: u32,
}

/// Writing needs the `orders:write` scope; tokens without it get 403.
async fn create_order(
    JwtClaims(claims): JwtClaims<OidcClaims>,
    Json(order): Json<NewOrder>,
) -> Json<Value> {
    Json(json!({
        "owner": claims.sub,
        "item": order.item,
        "quantity": order.quantity,
        "status": "created",
    }))
}
