//! HTML of the demo pages. Every value from a token is escaped.

use axum_oidc_client::SessionInfo;
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
table {{ border-collapse: collapse; width: 100%; }} td, th {{ text-align: left; padding: .4rem; border-bottom: 1px solid #dde1e8; }}
pre {{ background: #f3f5f9; padding: 1rem; border-radius: .4rem; overflow-x: auto; }}
</style></head>
<body><nav><a href="/">Home</a><a href="/protected">Protected</a><a href="/sessions">Sessions</a><a href="/me">/me (JSON)</a></nav>
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
<p><a class="button" href="/protected">Open the protected page</a> <a class="button" id="your-sessions" href="/sessions">Your sessions</a> {}</p>"#,
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

fn when(t: &chrono::DateTime<chrono::Utc>) -> String {
    t.format("%Y-%m-%d %H:%M:%S UTC").to_string()
}

/// `GET /sessions`: the user's sessions, a `POST /sessions/end` form per session and
/// a `POST /sessions/end-all` form ("sign out everywhere").
pub fn sessions(list: &[SessionInfo]) -> String {
    let rows: String = list
        .iter()
        .map(|s| {
            let agent = s.user_agent.as_deref().unwrap_or("Unknown browser");
            let (marker, label) = if s.current {
                (r#" <strong class="this-browser">(this browser)</strong>"#, "Sign out this browser")
            } else {
                ("", "End")
            };
            format!(
                r#"<tr class="session" data-id="{id}" data-current="{current}"><td>{agent}{marker}</td><td>{created}</td><td>{seen}</td>
<td><form method="post" action="/sessions/end"><input type="hidden" name="id" value="{id}"><button class="button" type="submit">{label}</button></form></td></tr>
"#,
                id = escape(&s.id),
                current = s.current,
                agent = escape(agent),
                created = escape(&when(&s.created_at)),
                seen = escape(&when(&s.last_seen)),
            )
        })
        .collect();
    let body = format!(
        r#"<p id="status">You are signed in on {n} browser{plural}.</p>
<table id="sessions"><thead><tr><th>Browser</th><th>Signed in</th><th>Last seen</th><th></th></tr></thead>
<tbody>
{rows}</tbody></table>
<form method="post" action="/sessions/end-all"><p><button class="button" id="sign-out-everywhere" type="submit">Sign out everywhere</button></p></form>
<p class="muted">Ending a session signs that browser out on every instance of this application.</p>"#,
        n = list.len(),
        plural = if list.len() == 1 { "" } else { "s" },
    );
    layout("Your sessions", &body)
}
