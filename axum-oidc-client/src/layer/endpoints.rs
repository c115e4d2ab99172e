//! The library's own routes: login, callback, logout, logout return, back-channel logout.

use std::sync::Arc;

use axum::body::Body;
use axum::response::{IntoResponse, Response};
use http::request::Parts;
use http::{Method, Request, StatusCode, header};

use crate::backchannel::{Ended, LogoutTokenError, end_sessions, verify_logout_token};
use crate::callback::{
    CallbackError, Established, check_response_at, claim_exchange, complete_login,
    establish_session, login_cookie_for, parse_callback_query, pending_next,
};
use crate::config::OAuthConfiguration;
use crate::failure::{ErrorPage, Failure};
use crate::logout::{
    LOGOUT_STATE_COOKIE, LogoutContext, end_local_session, is_cross_site, is_same_origin,
    post_logout_state_matches,
};
use crate::observe::LogoutKind;
use crate::pages;
use crate::session::cookies::{cookie_value, removal, session_cookie};
use crate::state::AuthState;

/// Largest back-channel logout request body (bytes).
const MAX_BACKCHANNEL_BODY: usize = 32 * 1024;

#[derive(Debug, Clone)]
pub(super) enum Endpoint {
    Login,
    /// `{base}/callback`, or a named provider's `{base}/callback/NAME`.
    Callback(Option<String>),
    Logout,
    LogoutReturn,
    Backchannel,
    /// `{base}/session`: the session as JSON, for single-page apps.
    Session,
    /// `{base}/jwks.json`: the client's public keys (`private_key_jwt`).
    Jwks,
}

impl Endpoint {
    pub(super) fn of(config: &OAuthConfiguration, path: &str) -> Option<Self> {
        let rest = path.strip_prefix(config.base_path())?;
        Some(match rest {
            "/login" => Self::Login,
            "/callback" => Self::Callback(None),
            "/logout" => Self::Logout,
            "/logout/callback" => Self::LogoutReturn,
            "/backchannel-logout" => Self::Backchannel,
            "/session" => Self::Session,
            "/jwks.json" => Self::Jwks,
            // Any name, known or not, so that an unknown one gets the callback's 4xx;
            // only where named providers are configured.
            _ => match rest.strip_prefix("/callback/") {
                Some(name)
                    if config.inner.providers.are_named()
                        && !name.is_empty()
                        && !name.contains('/') =>
                {
                    Self::Callback(Some(name.to_owned()))
                }
                _ => return None,
            },
        })
    }
}

pub(super) async fn handle(
    state: Arc<AuthState>,
    endpoint: Endpoint,
    req: Request<Body>,
) -> Response {
    let (req, body) = req.into_parts();
    let method = req.method.clone();
    match (&endpoint, method) {
        (Endpoint::Login, Method::GET) => login(&state, &req).await,
        (Endpoint::Callback(provider), Method::GET) => {
            callback(&state, provider.as_deref(), &req).await
        }
        (Endpoint::Logout, Method::GET) if state.config.inner.routes.logout_via_get => {
            if is_cross_site(&req.headers) {
                cross_site_logout_refused(&req)
            } else {
                logout(&state, &req).await
            }
        }
        (Endpoint::Logout, Method::POST) => {
            let app_origin = state.config.inner.routes.redirect_uri.origin();
            if is_same_origin(&app_origin.ascii_serialization(), &req.headers) {
                crate::bff::logout_answer(&req, logout(&state, &req).await)
            } else {
                cross_site_logout_refused(&req)
            }
        }
        (Endpoint::LogoutReturn, Method::GET) => logout_return(&state, &req),
        (Endpoint::Backchannel, Method::POST) => backchannel(&state, &req, body).await,
        (Endpoint::Session, Method::GET) => crate::bff::session(&state, &req).await,
        (Endpoint::Jwks, Method::GET) => jwks_response(&state.config),
        _ => {
            let mut r = if pages::is_api_request(&req.headers) {
                pages::json(StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed")
            } else {
                crate::failure::error_page(&ErrorPage::of(
                    Failure::user("method_not_allowed"),
                    None,
                ))
            };
            let allow = match endpoint {
                Endpoint::Backchannel => "POST",
                Endpoint::Logout if state.config.inner.routes.logout_via_get => "GET, POST",
                Endpoint::Logout => "POST",
                _ => "GET",
            };
            r.headers_mut()
                .insert(header::ALLOW, http::HeaderValue::from_static(allow));
            r
        }
    }
}

fn cross_site_logout_refused(req: &Parts) -> Response {
    let failure = Failure::user("cross_site_logout");
    failure.note("logout refused: a cross-site request");
    if pages::is_api_request(&req.headers) {
        pages::json(StatusCode::FORBIDDEN, "forbidden")
    } else {
        crate::failure::error_page(&ErrorPage::of(failure, None))
    }
}

fn query_param(req: &Parts, name: &str) -> Option<String> {
    let q = req.uri.query()?;
    url::form_urlencoded::parse(q.as_bytes())
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
}

async fn login(state: &AuthState, req: &Parts) -> Response {
    if let Some(r) = login_on_app_host(state, req) {
        return r;
    }
    let next = crate::redirect::safe_next(query_param(req, "next").as_deref());
    let providers = &state.config.inner.providers;
    // With one unnamed provider, as before: a `provider` parameter means nothing.
    let entry = match (providers.are_named(), query_param(req, "provider")) {
        (false, _) => providers.first(),
        (true, Some(name)) => match providers.get(&name) {
            Some(e) => e,
            None => return unknown_provider(req),
        },
        (true, None) => match providers.only() {
            Some(e) => e,
            None => return chooser(state, &next),
        },
    };
    let Some(provider) = entry.cell.ready().await else {
        return provider_not_discovered(req);
    };
    // `max_age` / `acr_values` from a step-up layer's link; from anyone else they only
    // make this login stricter.
    let step_up = crate::access::StepUp::from_login_query(req.uri.query().unwrap_or_default());
    let start =
        match crate::login::begin_login(&state.config, entry, &provider, next, step_up).await {
            Ok(start) => start,
            Err(e) => return par_failed(req, &e),
        };
    let mut r = pages::see_other(start.authorization_url.as_str());
    pages::append_cookie(&mut r, &start.set_cookie);
    r
}

/// A pushed authorization request that failed (RFC 9126): no login cookie, and no
/// redirect to the provider with the parameters in the front channel.
fn par_failed(req: &Parts, e: &crate::par::ParError) -> Response {
    let failure = e.failure();
    failure.log("login refused: the pushed authorization request failed", e);
    crate::failure::failure(pages::is_api_request(&req.headers), failure, None)
}

/// A login naming a provider that is not configured: 400, whatever asked.
fn unknown_provider(req: &Parts) -> Response {
    let failure = Failure::user("unknown_provider");
    failure.note("login refused: the provider parameter names no configured provider");
    if pages::is_api_request(&req.headers) {
        pages::json(StatusCode::BAD_REQUEST, "unknown_provider")
    } else {
        crate::failure::error_page(&ErrorPage::of(failure, None))
    }
}

/// The provider chooser (several providers, none named): the application's page, or
/// the library's list of links.
fn chooser(state: &AuthState, next: &str) -> Response {
    let choices = crate::chooser::choices(
        &state.config.inner.providers,
        state.config.base_path(),
        next,
    );
    let mut r = match &state.chooser {
        Some(page) => page(&choices),
        None => crate::chooser::default_page(&choices),
    };
    pages::no_store(&mut r);
    r
}

/// A login started on a host other than APP_URL's would set its login cookie where
/// the provider never returns: the browser is sent to the same path on APP_URL's
/// origin first, without a cookie or a `state`.
fn login_on_app_host(state: &AuthState, req: &Parts) -> Option<Response> {
    let app = &state.config.inner.routes.redirect_uri;
    let host = crate::login::request_host(&req.headers, &req.uri)?;
    if crate::login::same_host(app, host) {
        return None;
    }
    let request_host = host.get(..255).unwrap_or(host);
    let app_host = &app[url::Position::BeforeHost..url::Position::AfterPort];
    match crate::login::host_redirect(app, &req.headers, &req.uri) {
        Some(target) => {
            tracing::warn!(
                reason = "host_mismatch",
                request_host,
                app_host,
                "login started on a host other than APP_URL's; sent to APP_URL's host"
            );
            Some(pages::see_other(&target))
        }
        None => {
            tracing::warn!(
                reason = "host_mismatch",
                request_host,
                app_host,
                "login request still names another host than APP_URL's after a redirect \
                 there: a proxy in front rewrites Host; have it pass Host or set \
                 X-Forwarded-Host"
            );
            None
        }
    }
}

async fn callback(state: &AuthState, provider: Option<&str>, req: &Parts) -> Response {
    let c = &state.config.inner;
    let api = pages::is_api_request(&req.headers);
    let failed = |e: &CallbackError, next: Option<&str>| callback_failed(state, api, e, next);
    let query = match parse_callback_query(req.uri.query()) {
        Ok(q) => q,
        Err(e) => return failed(&e, None),
    };
    let checked = check_response_at(&state.config, provider, &query, &req.headers, c.clock.now());
    let (login, code) = match checked {
        Ok(v) => v,
        Err(e) => {
            let next = pending_next(&state.config, &query, &req.headers);
            return failed(&e, next.as_deref());
        }
    };
    let login_cookie = login_cookie_for(&state.config, login.state.secret());
    let clear_login = removal(&login_cookie, &c.cookies.login_path, &c.cookies);

    // Nothing is written to the store before the code is redeemed: the login cookie
    // is free, so before that point the request may be anyone's. One exchange per
    // `state` in this process, and a bounded number per token endpoint.
    let mut claim = match claim_exchange(&state.config, &login) {
        Ok(claim) => claim,
        Err(e @ CallbackError::Busy) => return failed(&e, Some(&login.next)),
        Err(e) => {
            let mut r = failed(&e, Some(&login.next));
            pages::append_cookie(&mut r, &clear_login);
            return r;
        }
    };
    let completed = complete_login(&state.config, &login, &code).await;
    if matches!(&completed, Err(e) if e.is_provider_fault()) {
        claim.retryable();
    }
    drop(claim);
    let record = match completed {
        Ok(r) => r,
        Err(e) => {
            let mut r = failed(&e, Some(&login.next));
            pages::append_cookie(&mut r, &clear_login);
            return r;
        }
    };
    match establish_session(
        &state.config,
        &state.store,
        &req.headers,
        login.state.secret(),
        record,
        login.step_up.is_some(),
        &state.enrichers,
    )
    .await
    {
        Established::Session { id, ttl } => {
            tracing::debug!("login completed; new session created");
            let mut r = pages::see_other(&login.next);
            pages::append_cookie(&mut r, &session_cookie(&c.cookie_key, &c.cookies, &id, ttl));
            pages::append_cookie(&mut r, &clear_login);
            r
        }
        Established::Replayed => {
            let mut r = failed(&CallbackError::Replayed, Some(&login.next));
            pages::append_cookie(&mut r, &clear_login);
            r
        }
        Established::OtherUser => {
            let mut r = failed(&CallbackError::StepUpUserChanged, Some("/"));
            pages::append_cookie(&mut r, &clear_login);
            r
        }
        Established::EnrichmentFailed(e) => {
            let mut r = crate::enrich::failed_login(api, &e);
            pages::append_cookie(&mut r, &clear_login);
            r
        }
        Established::StoreFailed(e) => {
            crate::observe::login(STORE_UNAVAILABLE.reason());
            store_unavailable(api, "login callback failed", &e)
        }
    }
}

/// A failed callback: logged once with its reason and cause chain, counted, and
/// answered with its class's page (a new login to `next` for the user's side).
fn callback_failed(
    state: &AuthState,
    api: bool,
    e: &CallbackError,
    next: Option<&str>,
) -> Response {
    let failure = e.failure();
    failure.log("login callback failed", e);
    crate::observe::login(failure.reason());
    let retry = pages::login_link(state.config.base_path(), next.unwrap_or("/"));
    crate::failure::failure(api, failure, Some(retry))
}

/// A login while the provider has not been discovered yet: 503 with `Retry-After`
/// (the background task retries at most a minute apart, and logs its own failures).
fn provider_not_discovered(req: &Parts) -> Response {
    let failure = Failure::local_outage("provider_not_discovered");
    failure.note(
        "login refused: the OpenID provider has not been discovered yet (it could not be \
         reached); retrying in the background",
    );
    crate::failure::failure(pages::is_api_request(&req.headers), failure, None)
}

const STORE_UNAVAILABLE: Failure = Failure::local_outage("store_unavailable");

fn store_unavailable(api: bool, what: &'static str, e: &crate::store::StoreError) -> Response {
    STORE_UNAVAILABLE.log(what, e);
    crate::failure::failure(api, STORE_UNAVAILABLE, None)
}

async fn logout(state: &AuthState, req: &Parts) -> Response {
    let c = &state.config.inner;
    let ended = match end_local_session(&state.config, &state.store, &req.headers).await {
        Ok(ended) => ended,
        Err(e) => {
            let api = pages::is_api_request(&req.headers);
            return store_unavailable(api, "logout failed", &e);
        }
    };
    let ctx = LogoutContext {
        config: &state.config,
        session: ended.as_ref().map(|(record, _)| &**record),
    };
    let mut resp = state.logout.handle_logout(ctx).await;
    if let Some((record, id)) = &ended {
        // Counted and audited whatever the handler: a redirect to the provider's
        // end-session endpoint is an RP-initiated logout, anything else a local one.
        let kind = if sends_to_end_session(state, record, &resp) {
            LogoutKind::RpInitiated
        } else {
            LogoutKind::Local
        };
        crate::observe::logout(kind);
        crate::observe::audit::logout(kind, &record.claims.sub, &record.claims.iss, id.secret());
    }
    pages::no_store(&mut resp);
    pages::append_cookie(
        &mut resp,
        &removal(&c.cookies.session_name, "/", &c.cookies),
    );
    resp
}

/// Whether the handler's answer sends the browser to the provider's end-session
/// endpoint (RP-Initiated Logout 1.0 section 2).
fn sends_to_end_session(
    state: &AuthState,
    record: &crate::session::SessionRecord,
    resp: &Response,
) -> bool {
    let Some(endpoint) = state
        .config
        .inner
        .providers
        .of_record(record)
        .and_then(|e| e.cell.get())
        .and_then(|p| p.end_session_endpoint.clone())
    else {
        return false;
    };
    resp.status().is_redirection()
        && resp
            .headers()
            .get(header::LOCATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|l| url::Url::parse(l).ok())
            .is_some_and(|l| l.origin() == endpoint.origin() && l.path() == endpoint.path())
}

/// Where the provider sends the browser after RP-initiated logout: the `state` must
/// equal the one in the logout cookie (RP-Initiated Logout 1.0 section 3).
fn logout_return(state: &AuthState, req: &Parts) -> Response {
    let c = &state.config.inner;
    let returned = query_param(req, "state");
    let expected = cookie_value(&req.headers, LOGOUT_STATE_COOKIE);
    let ok = post_logout_state_matches(returned.as_deref(), expected);
    let mut resp = if ok {
        pages::see_other("/")
    } else {
        let failure = Failure::user("logout_state_mismatch");
        failure.note("post-logout return with a missing or wrong state");
        crate::failure::error_page(&ErrorPage::of(failure, None))
    };
    pages::append_cookie(
        &mut resp,
        &removal(LOGOUT_STATE_COOKIE, &c.routes.base_path, &c.cookies),
    );
    resp
}

fn backchannel_error(status: StatusCode, code: &'static str) -> Response {
    pages::json(status, code)
}

async fn backchannel(state: &AuthState, req: &Parts, body: Body) -> Response {
    let c = &state.config.inner;
    let providers = &c.providers;
    let several = providers.are_named();
    if !several {
        // One provider: as before, what it lacks is said before the body is read.
        if providers.first().cell.issuer().is_none() {
            return backchannel_error(
                StatusCode::NOT_IMPLEMENTED,
                "backchannel_logout_unsupported",
            );
        }
        match providers.first().cell.get() {
            None => {
                return backchannel_error(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "temporarily_unavailable",
                );
            }
            Some(p) if p.jwks.is_none() || p.issuer.is_none() => {
                return backchannel_error(
                    StatusCode::NOT_IMPLEMENTED,
                    "backchannel_logout_unsupported",
                );
            }
            Some(_) => {}
        }
    }
    let is_form = req
        .headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"));
    if !is_form {
        return backchannel_error(StatusCode::BAD_REQUEST, "invalid_request");
    }
    let Ok(body) = axum::body::to_bytes(body, MAX_BACKCHANNEL_BODY).await else {
        return backchannel_error(StatusCode::BAD_REQUEST, "invalid_request");
    };
    let mut tokens = url::form_urlencoded::parse(&body).filter(|(k, _)| k == "logout_token");
    let (Some((_, token)), None) = (tokens.next(), tokens.next()) else {
        return backchannel_error(StatusCode::BAD_REQUEST, "invalid_request");
    };
    // Several providers: the token's `iss`, read unverified, chooses the provider
    // (or providers, for one issuer with several clients); each verifies it with its
    // own keys, issuer and client id.
    let candidates: Vec<&crate::config::providers::ProviderEntry> = if several {
        let Some(iss) =
            crate::backchannel::peek_issuer(&token, &crate::jose::SigningAlgorithm::ALL)
        else {
            tracing::debug!("logout token rejected: no readable iss");
            return backchannel_error(StatusCode::BAD_REQUEST, "invalid_request");
        };
        providers.by_token_issuer(&iss)
    } else {
        vec![providers.first()]
    };
    if candidates.is_empty() {
        tracing::debug!("logout token rejected: its iss is none of the providers'");
        return backchannel_error(StatusCode::BAD_REQUEST, "invalid_request");
    }
    let mut outcome = None;
    for entry in candidates {
        // A provider not discovered yet is tried once more now, as a login does.
        let Some(provider) = entry.cell.ready().await else {
            return backchannel_error(StatusCode::SERVICE_UNAVAILABLE, "temporarily_unavailable");
        };
        let (Some(jwks), Some(issuer)) = (&provider.jwks, provider.id_token_issuer()) else {
            continue;
        };
        let verified = verify_logout_token(
            &token,
            jwks,
            &provider.algorithms,
            issuer,
            &provider.client_id,
            provider.leeway,
            c.clock.now(),
        )
        .await;
        let done = verified.is_ok();
        outcome = Some((verified, provider.leeway));
        if done {
            break;
        }
    }
    let Some((verified, leeway)) = outcome else {
        return backchannel_error(
            StatusCode::NOT_IMPLEMENTED,
            "backchannel_logout_unsupported",
        );
    };
    let valid = match verified {
        Ok(v) => v,
        Err(LogoutTokenError::Keys) => {
            return backchannel_error(StatusCode::SERVICE_UNAVAILABLE, "temporarily_unavailable");
        }
        Err(e) => {
            tracing::debug!(reason = %e, "logout token rejected");
            return backchannel_error(StatusCode::BAD_REQUEST, "invalid_request");
        }
    };
    match end_sessions(&state.store, &valid, leeway, several).await {
        Ended::Sessions(n) => {
            tracing::debug!(sessions = n, "back-channel logout ended sessions");
            let mut r = StatusCode::OK.into_response();
            pages::no_store(&mut r);
            r
        }
        Ended::Replayed => {
            tracing::debug!(reason = %LogoutTokenError::Replayed, "logout token rejected");
            backchannel_error(StatusCode::BAD_REQUEST, "invalid_request")
        }
        Ended::StoreFailed(e) => {
            tracing::warn!(error = %e, "store unavailable during back-channel logout");
            backchannel_error(StatusCode::SERVICE_UNAVAILABLE, "temporarily_unavailable")
        }
    }
}

/// `GET {base}/jwks.json`: the public keys of every provider's `private_key_jwt`
/// keys, for providers that fetch the client's `jwks_uri` (OIDC Dynamic Client
/// Registration 1.0 section 2). Public members only.
fn jwks_response(config: &OAuthConfiguration) -> Response {
    let set = crate::client_auth::jwk_set(
        config
            .inner
            .providers
            .all()
            .iter()
            .flat_map(|e| e.cell.client_public_jwks()),
    );
    (
        [
            (header::CONTENT_TYPE, "application/jwk-set+json"),
            (header::CACHE_CONTROL, "public, max-age=300"),
        ],
        set.to_string(),
    )
        .into_response()
}
