//! Login start (OIDC Core 3.1.2.1): build the authorization request and the encrypted
//! login cookie that binds `state`, `nonce` and the PKCE verifier to this browser.

use http::{HeaderMap, Uri};
use url::Url;

use crate::access::StepUp;
use crate::config::ProviderConfig;
use crate::config::providers::ProviderEntry;
use crate::pkce;
use crate::secret::{CsrfState, Nonce, random_token};
use crate::session::cookies::{CookieKey, CookieSettings};
use crate::session::cookies::{LoginState, login_cookie};

/// Parameters the library sets itself; configured extras cannot override them.
const RESERVED: &[&str] = &[
    "response_type",
    "client_id",
    "redirect_uri",
    "scope",
    "state",
    "nonce",
    "code_challenge",
    "code_challenge_method",
    // These would replace or move the whole response: request objects (OIDC Core 6)
    // and a response mode other than the query the callback reads.
    "request",
    "request_uri",
    "response_mode",
    // RFC 9449 section 10: the session's DPoP key, set by the library.
    "dpop_jkt",
];

/// A started login: where to send the browser, and the cookie to set.
#[derive(Debug)]
pub struct LoginStart {
    /// The authorization request URL.
    pub authorization_url: Url,
    /// The `Set-Cookie` value of the login cookie.
    pub set_cookie: String,
}

/// A login's authorization request before it is sent: its parameters (for the
/// front channel, or pushed, RFC 9126 section 2.1) and the login cookie.
#[derive(Debug)]
pub(crate) struct PreparedLogin {
    /// Every parameter of the authorization request, in order.
    pub params: Vec<(String, String)>,
    /// The `Set-Cookie` value of the login cookie.
    pub set_cookie: String,
    /// The session-to-be's DPoP key, which proves itself at the PAR endpoint.
    pub dpop: Option<crate::dpop::DpopKey>,
}

/// Prepares a login that returns to `next` (already checked by
/// [`crate::redirect::safe_next`]): the parameters of the authorization request of
/// OIDC Core 3.1.2.1 with PKCE S256 (RFC 7636 4.3), and the login cookie that binds
/// its `state`, `nonce` and verifier to this browser.
///
/// A `step_up` adds `max_age` and `acr_values` to the request (replacing configured
/// extras of those names) and is kept in the login cookie, so the callback verifies
/// `auth_time` and `acr` against what was asked.
///
/// `provider_name` (a named provider's, RFC 9700 section 4.4) is kept in the login
/// cookie too, so the callback refuses a response at another provider's redirect URI.
///
/// With DPoP, the session's key is made here and kept in the login cookie; the
/// request carries its thumbprint as `dpop_jkt` (RFC 9449 section 10), which binds the
/// authorization code to it.
#[allow(clippy::too_many_arguments)]
pub(crate) fn prepare_login(
    provider: &ProviderConfig,
    provider_name: Option<&str>,
    redirect_uri: &Url,
    key: &CookieKey,
    cookies: &CookieSettings,
    next: String,
    step_up: Option<StepUp>,
    now: i64,
) -> PreparedLogin {
    let state = CsrfState::new(random_token(32));
    let nonce = Nonce::new(random_token(32));
    let verifier = pkce::new_verifier();
    let challenge = pkce::challenge(&verifier, provider.pkce);
    let mut params: Vec<(String, String)> = vec![
        ("response_type".into(), "code".into()),
        ("client_id".into(), provider.client_id.clone()),
        ("redirect_uri".into(), redirect_uri.as_str().into()),
        ("scope".into(), provider.scopes.join(" ")),
        ("state".into(), state.secret().into()),
        ("code_challenge".into(), challenge),
        (
            "code_challenge_method".into(),
            provider.pkce.as_str().into(),
        ),
    ];
    if provider.identity == crate::config::IdentityMode::OpenIdConnect {
        params.push(("nonce".into(), nonce.secret().into()));
    }
    let asked: Vec<(&str, String)> = step_up.iter().flat_map(|s| s.request_params()).collect();
    for (k, v) in provider
        .auth_params
        .iter()
        .filter(|(k, _)| !RESERVED.contains(&k.as_str()) && !asked.iter().any(|(a, _)| a == k))
    {
        params.push((k.clone(), v.clone()));
    }
    for (k, v) in asked {
        params.push((k.to_owned(), v));
    }
    // A key that cannot be made here (never seen) is made at the callback instead,
    // with an unbound code.
    let dpop = provider
        .dpop
        .then(crate::dpop::DpopKey::generate)
        .and_then(Result::ok);
    if let Some(key) = &dpop {
        params.push(("dpop_jkt".into(), key.thumbprint().into()));
    }
    let login = LoginState {
        state,
        nonce,
        verifier,
        next,
        started_at: now,
        step_up,
        provider: provider_name.map(str::to_owned),
        dpop_key: dpop.as_ref().map(crate::dpop::DpopKey::to_stored),
    };
    let set_cookie = login_cookie(key, cookies, &login);
    PreparedLogin {
        params,
        set_cookie,
        dpop,
    }
}

/// The front-channel authorization request (OIDC Core 3.1.2.1): `params` in the
/// query of the authorization endpoint.
pub(crate) fn front_channel_url(endpoint: &Url, params: &[(String, String)]) -> Url {
    let mut url = endpoint.clone();
    url.query_pairs_mut().extend_pairs(params);
    url
}

/// [`prepare_login`] with the parts of `config` it takes, at the configured clock's
/// now, for the provider `entry` (whose discovered configuration is `provider`).
pub(crate) fn prepare_login_for(
    config: &crate::config::OAuthConfiguration,
    entry: &ProviderEntry,
    provider: &ProviderConfig,
    next: String,
    step_up: Option<StepUp>,
) -> PreparedLogin {
    let c = &config.inner;
    prepare_login(
        provider,
        entry.name(),
        &entry.redirect_uri,
        &c.cookie_key,
        &c.cookies,
        next,
        step_up,
        c.clock.now(),
    )
}

/// A front-channel login (no pushed request, whatever the provider's setting): what
/// tests and benchmarks drive without a network.
pub(crate) fn start_login_for(
    config: &crate::config::OAuthConfiguration,
    entry: &ProviderEntry,
    provider: &ProviderConfig,
    next: String,
    step_up: Option<StepUp>,
) -> LoginStart {
    let prepared = prepare_login_for(config, entry, provider, next, step_up);
    LoginStart {
        authorization_url: front_channel_url(&provider.authorization_endpoint, &prepared.params),
        set_cookie: prepared.set_cookie,
    }
}

/// Starts a login: the authorization request through the browser, or pushed first
/// when the provider has a PAR endpoint in use (RFC 9126 sections 2 and 4), the
/// browser then carrying only `client_id` and `request_uri`. A failed push is an
/// error, never a fallback to the front channel.
pub(crate) async fn begin_login(
    config: &crate::config::OAuthConfiguration,
    entry: &ProviderEntry,
    provider: &ProviderConfig,
    next: String,
    step_up: Option<StepUp>,
) -> Result<LoginStart, crate::par::ParError> {
    let prepared = prepare_login_for(config, entry, provider, next, step_up);
    let authorization_url = match &provider.par_endpoint {
        None => front_channel_url(&provider.authorization_endpoint, &prepared.params),
        Some(endpoint) => {
            let pushed =
                crate::par::push(provider, endpoint, &prepared.params, prepared.dpop.as_ref())
                    .await?;
            crate::par::redirect_url(
                &provider.authorization_endpoint,
                &provider.client_id,
                &pushed.request_uri,
            )
        }
    };
    Ok(LoginStart {
        authorization_url,
        set_cookie: prepared.set_cookie,
    })
}

/// The query parameter a host-mismatch redirect adds, so that a second mismatch on
/// the way back (a proxy that rewrites `Host` and sets no `X-Forwarded-Host`) goes on
/// with the login instead of redirecting in a loop.
pub(crate) const HOST_CHECKED_PARAM: &str = "host_checked";

/// The host a request was addressed to: `X-Forwarded-Host` (its first value) when
/// present, else `Host`, else the request target's authority (HTTP/2).
pub(crate) fn request_host<'a>(headers: &'a HeaderMap, uri: &'a Uri) -> Option<&'a str> {
    let header = |name| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(',').next())
            .map(str::trim)
            .filter(|v| !v.is_empty())
    };
    header("x-forwarded-host")
        .or_else(|| header(http::header::HOST.as_str()))
        .or_else(|| uri.authority().map(|a| a.as_str()))
}

/// Whether `host` (`name[:port]`, `[v6][:port]`) names the same host and port as
/// `app` (APP_URL). A missing port is the default port of APP_URL's scheme; the
/// scheme itself is not compared, since TLS may end at a proxy.
pub(crate) fn same_host(app: &Url, host: &str) -> bool {
    // The `Host` grammar (RFC 9110 section 7.2) is an authority without userinfo.
    let Ok(authority) = host.parse::<http::uri::Authority>() else {
        return false;
    };
    if host.contains('@') {
        return false;
    }
    let port = authority.port_u16();
    // Something after the host that is not a port number (`app.example:x`).
    if authority.as_str().len() > authority.host().len() && port.is_none() {
        return false;
    }
    let name = authority.host();
    let name = name.strip_suffix('.').unwrap_or(name);
    let app_port = app.port_or_known_default();
    app.host_str()
        .is_some_and(|app_name| app_name.eq_ignore_ascii_case(name))
        && port.or(default_port(app.scheme())) == app_port
}

fn default_port(scheme: &str) -> Option<u16> {
    match scheme {
        "http" => Some(80),
        "https" => Some(443),
        _ => None,
    }
}

/// Where to send a login started on a host other than APP_URL's: the same path and
/// query on APP_URL's origin, marked with [`HOST_CHECKED_PARAM`]. `None` when the
/// host is APP_URL's, or when this request already is such a redirect's arrival.
pub(crate) fn host_redirect(app: &Url, headers: &HeaderMap, uri: &Uri) -> Option<String> {
    let host = request_host(headers, uri)?;
    if same_host(app, host) {
        return None;
    }
    let query = uri.query().unwrap_or_default();
    if url::form_urlencoded::parse(query.as_bytes()).any(|(k, _)| k == HOST_CHECKED_PARAM) {
        return None;
    }
    let mut target = app.origin().ascii_serialization();
    target.push_str(uri.path());
    target.push('?');
    if !query.is_empty() {
        target.push_str(query);
        target.push('&');
    }
    target.push_str(HOST_CHECKED_PARAM);
    target.push_str("=1");
    Some(target)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_pushed_parameters_are_the_front_channel_ones() {
        let config = crate::OAuthConfigurationBuilder::default()
            .with_client_id("my-app")
            .with_client_secret("s3cret")
            .with_app_url("https://app.example")
            .with_authorization_endpoint("https://op.example/authorize")
            .with_token_endpoint("https://op.example/token")
            .with_oauth2_only("https://op.example/user", "id")
            .with_auth_param("prompt", "login")
            .with_auth_param("state", "forged")
            .build()
            .unwrap();
        let entry = config.inner.providers.first();
        let provider = entry.cell.get().unwrap();
        let step_up = StepUp::from_login_query("max_age=60&acr_values=gold");
        let prepared = prepare_login_for(&config, entry, &provider, "/".into(), step_up);
        let url = front_channel_url(&provider.authorization_endpoint, &prepared.params);
        let front: Vec<(String, String)> = url.query_pairs().into_owned().collect();
        assert_eq!(front, prepared.params);
        let names: Vec<&str> = prepared.params.iter().map(|(k, _)| k.as_str()).collect();
        for name in [
            "response_type",
            "client_id",
            "redirect_uri",
            "scope",
            "state",
            "code_challenge",
            "code_challenge_method",
            "prompt",
            "max_age",
            "acr_values",
        ] {
            assert_eq!(names.iter().filter(|n| **n == name).count(), 1, "{name}");
        }
        assert!(!prepared.params.iter().any(|(_, v)| v == "forged"));
    }

    fn app(s: &str) -> Url {
        Url::parse(s).unwrap()
    }

    #[test]
    fn the_same_host_and_port_match_with_the_default_port_filled_in() {
        assert!(same_host(&app("http://localhost:3000"), "localhost:3000"));
        assert!(same_host(&app("http://localhost:3000"), "LOCALHOST:3000"));
        assert!(same_host(&app("https://app.example"), "app.example"));
        assert!(same_host(&app("https://app.example"), "app.example:443"));
        assert!(same_host(&app("http://[::1]:8080/"), "[::1]:8080"));
        assert!(!same_host(&app("http://localhost:3000"), "127.0.0.1:3000"));
        assert!(!same_host(&app("http://localhost:3000"), "localhost:3001"));
        assert!(!same_host(&app("http://localhost:3000"), "localhost"));
        assert!(!same_host(&app("https://app.example"), "app.example:80"));
        assert!(!same_host(&app("https://app.example"), "app.example:x"));
        assert!(!same_host(&app("http://[::1]:8080/"), "[::1]"));
    }

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(*k, v.parse().unwrap());
        }
        h
    }

    #[test]
    fn a_login_on_another_host_goes_to_the_same_path_on_app_url() {
        let app = app("http://localhost:3000");
        let uri: Uri = "/auth/login?next=%2Fme".parse().unwrap();
        assert_eq!(
            host_redirect(&app, &headers(&[("host", "127.0.0.1:3000")]), &uri).as_deref(),
            Some("http://localhost:3000/auth/login?next=%2Fme&host_checked=1")
        );
        assert_eq!(
            host_redirect(&app, &headers(&[("host", "localhost:3000")]), &uri),
            None
        );
        // X-Forwarded-Host wins over Host.
        let proxied = headers(&[
            ("host", "127.0.0.1:9000"),
            ("x-forwarded-host", "localhost:3000, inner"),
        ]);
        assert_eq!(host_redirect(&app, &proxied, &uri), None);
        // Once redirected, a second mismatch goes on rather than looping.
        let back: Uri = "/auth/login?next=%2Fme&host_checked=1".parse().unwrap();
        assert_eq!(
            host_redirect(&app, &headers(&[("host", "127.0.0.1:3000")]), &back),
            None
        );
        let bare: Uri = "/auth/login".parse().unwrap();
        assert_eq!(
            host_redirect(&app, &headers(&[("host", "elsewhere")]), &bare).as_deref(),
            Some("http://localhost:3000/auth/login?host_checked=1")
        );
    }
}
