//! HTML of the demo pages. Every value from a token is escaped.

use axum_oidc_client::auth_session::AuthSession;
use html_escape::encode_quoted_attribute as escape;

pub fn layout(title: &str, body: &str) -> String {
    format!(
        r#"<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title} · oidc-demo</title>
<style>
body {{ font-family: system-ui, sans-serif; max-width: 44rem; margin: 3rem auto; padding: 0 1rem; color: #1d2330; }}
nav a, .button {{ margin-right: 1rem; }}
.button {{ display: inline-block; padding: .5rem 1rem; border-radius: .4rem; background: #2456d6; color: #fff; text-decoration: none; border: 0; font-size: 1rem; cursor: pointer; }}
.muted {{ color: #5b6474; }}
pre {{ background: #f3f5f9; padding: 1rem; border-radius: .4rem; overflow-x: auto; }}
</style></head>
<body><nav><a href="/">Home</a><a href="/protected">Protected</a><a href="/me">/me (JSON)</a></nav>
<h1 id="title">{title}</h1>
{body}
</body></html>"#
    )
}

fn who(session: &AuthSession) -> String {
    let claims = session.claims();
    let name = claims.and_then(|c| {
        c.get_str("name")
            .or_else(|| c.get_str("preferred_username"))
    });
    let sub = session.sub().unwrap_or("unknown");
    escape(name.unwrap_or(sub)).into_owned()
}

/// The sign-out button; `base` is the library's base path (`/auth`).
fn sign_out(base: &str) -> String {
    format!(
        r#"<form method="post" action="{}/logout" style="display:inline"><button class="button" id="sign-out" type="submit">Sign out</button></form>"#,
        escape(base)
    )
}

pub fn home(base: &str, session: Option<&AuthSession>) -> String {
    let body = match session {
        Some(s) => format!(
            r#"<p id="status">Signed in as <strong id="user">{}</strong> (<code id="sub">{}</code>).</p>
<p><a class="button" href="/protected">Open the protected page</a> {}</p>"#,
            who(s),
            escape(s.sub().unwrap_or_default()),
            sign_out(base)
        ),
        None => format!(
            r#"<p id="status">You are not signed in.</p>
<p><a class="button" id="sign-in" href="{}/login?next=/">Sign in</a></p>
<p class="muted">Without configuration the demo runs its own development provider: sign in as alice, bob or carol, the password is the user name.</p>"#,
            escape(base)
        ),
    };
    layout("oidc-demo", &body)
}

pub fn protected(base: &str, session: &AuthSession) -> String {
    let claims = session
        .claims()
        .and_then(|c| serde_json::to_string_pretty(c).ok())
        .unwrap_or_default();
    let body = format!(
        r#"<p id="status">Only signed-in users see this page, <strong id="user">{}</strong>.</p>
<p class="muted">Access token expires {} · scopes <code>{}</code></p>
<h2>ID token claims</h2><pre id="claims">{}</pre>
<p>{}</p>"#,
        who(session),
        escape(&session.expires.to_rfc3339()),
        escape(&session.scope),
        escape(&claims),
        sign_out(base)
    );
    layout("Protected", &body)
}
