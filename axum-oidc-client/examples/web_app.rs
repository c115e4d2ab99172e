//! A small server-rendered application: a public home page, a protected profile page,
//! login and logout.
//!
//! Configuration comes from the environment through
//! [`OAuthConfigurationBuilder::from_env`]:
//!
//! ```text
//! OIDC_ISSUER=https://sso.example/realms/acme \
//! OIDC_CLIENT_ID=web-app OIDC_CLIENT_SECRET=… \
//! APP_URL=http://localhost:3000 COOKIE_KEY="$(openssl rand -base64 48)" \
//! cargo run -p axum-oidc-client --example web_app
//! ```
//!
//! Register `{APP_URL}/auth/callback` as the redirect URI at the provider, and
//! `{APP_URL}/auth/logout/callback` as the post-logout redirect URI. `BIND` sets the
//! listening address (default `127.0.0.1:3000`).

use axum::Router;
use axum::response::Html;
use axum::routing::get;
use axum_oidc_client::auth_session::AuthSession;
use axum_oidc_client::{
    AuthenticationLayer, OAuthConfigurationBuilder, OidcLogoutHandler, OptionalAuthSession,
};
use html_escape::encode_quoted_attribute as escape;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "info,axum_oidc_client=debug".into()),
        )
        .init();

    // Discovery runs here: a wrong issuer or client setting fails at start-up.
    let config = OAuthConfigurationBuilder::from_env().await?.build()?;
    let auth = AuthenticationLayer::new(config).with_logout_handler(OidcLogoutHandler);

    let app = Router::new()
        .route("/", get(home))
        .route("/profile", get(profile))
        .layer(auth);

    let bind = std::env::var("BIND").unwrap_or_else(|_| "127.0.0.1:3000".into());
    let listener = tokio::net::TcpListener::bind(&bind).await?;
    tracing::info!("listening on http://{}", listener.local_addr()?);
    axum::serve(listener, app).await?;
    Ok(())
}

/// Public: shows who is signed in, if anyone.
async fn home(OptionalAuthSession(session): OptionalAuthSession) -> Html<String> {
    let body = match session {
        Some(s) => format!(
            "<p>Signed in as <strong>{}</strong>.</p>\
             <p><a href=\"/profile\">Your profile</a></p>\
             <form method=\"post\" action=\"/auth/logout\"><button>Sign out</button></form>",
            escape(display_name(&s))
        ),
        None => "<p>You are not signed in.</p>\
                 <p><a href=\"/auth/login?next=/profile\">Sign in</a></p>"
            .to_owned(),
    };
    page("Home", &body)
}

/// Protected: an anonymous browser is redirected to the login and comes back here.
async fn profile(session: AuthSession) -> Html<String> {
    let claims = session.claims();
    let row = |name: &str, value: Option<&str>| {
        format!(
            "<tr><th>{}</th><td>{}</td></tr>",
            escape(name),
            escape(value.unwrap_or("—"))
        )
    };
    let rows = [
        row("Subject", session.sub()),
        row("Name", claims.and_then(|c| c.get_str("name"))),
        row("E-mail", claims.and_then(|c| c.get_str("email"))),
        row("Issuer", claims.map(|c| c.iss.as_str())),
        row("Scopes", Some(&session.scope)),
        row("Access token expires", Some(&session.expires.to_rfc3339())),
    ]
    .concat();
    page(
        "Profile",
        &format!(
            "<table>{rows}</table>\
             <form method=\"post\" action=\"/auth/logout\"><button>Sign out</button></form>\
             <p><a href=\"/\">Home</a></p>"
        ),
    )
}

fn display_name(s: &AuthSession) -> &str {
    s.claims()
        .and_then(|c| {
            c.get_str("name")
                .or_else(|| c.get_str("preferred_username"))
        })
        .or_else(|| s.sub())
        .unwrap_or("unknown user")
}

fn page(title: &str, body: &str) -> Html<String> {
    Html(format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">\
         <title>{title}</title></head><body><h1>{title}</h1>{body}</body></html>"
    ))
}
