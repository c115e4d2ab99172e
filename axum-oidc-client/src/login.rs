//! Login start (OIDC Core 3.1.2.1): build the authorization request and the encrypted
//! login cookie that binds `state`, `nonce` and the PKCE verifier to this browser.

use url::Url;

use crate::config::ProviderConfig;
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
];

/// A started login: where to send the browser, and the cookie to set.
#[derive(Debug)]
pub struct LoginStart {
    /// The authorization request URL.
    pub authorization_url: Url,
    /// The `Set-Cookie` value of the login cookie.
    pub set_cookie: String,
}

/// Starts a login that returns to `next` (already checked by [`crate::redirect::safe_next`]):
/// the authorization request of OIDC Core 3.1.2.1 with PKCE S256 (RFC 7636 4.3), and
/// the login cookie that binds its `state`, `nonce` and verifier to this browser.
pub(crate) fn start_login(
    provider: &ProviderConfig,
    redirect_uri: &Url,
    key: &CookieKey,
    cookies: &CookieSettings,
    next: String,
    now: i64,
) -> LoginStart {
    let state = CsrfState::new(random_token(32));
    let nonce = Nonce::new(random_token(32));
    let verifier = pkce::new_verifier();
    let challenge = pkce::challenge(&verifier, provider.pkce);
    let mut url = provider.authorization_endpoint.clone();
    {
        let mut q = url.query_pairs_mut();
        q.append_pair("response_type", "code")
            .append_pair("client_id", &provider.client_id)
            .append_pair("redirect_uri", redirect_uri.as_str())
            .append_pair("scope", &provider.scopes.join(" "))
            .append_pair("state", state.secret())
            .append_pair("code_challenge", &challenge)
            .append_pair("code_challenge_method", provider.pkce.as_str());
        if provider.identity == crate::config::IdentityMode::OpenIdConnect {
            q.append_pair("nonce", nonce.secret());
        }
        for (k, v) in provider
            .auth_params
            .iter()
            .filter(|(k, _)| !RESERVED.contains(&k.as_str()))
        {
            q.append_pair(k, v);
        }
    }
    let login = LoginState {
        state,
        nonce,
        verifier,
        next,
        started_at: now,
    };
    let set_cookie = login_cookie(key, cookies, &login);
    LoginStart {
        authorization_url: url,
        set_cookie,
    }
}

/// [`start_login`] with the parts of `config` it takes, at the configured clock's now.
pub(crate) fn start_login_for(
    config: &crate::config::OAuthConfiguration,
    provider: &ProviderConfig,
    next: String,
) -> LoginStart {
    let c = &config.inner;
    start_login(
        provider,
        &c.routes.redirect_uri,
        &c.cookie_key,
        &c.cookies,
        next,
        c.clock.now(),
    )
}
