//! The token endpoint (RFC 6749 3.2, OIDC Core 3.1.3): the
//! `authorization_code` grant with PKCE and the `refresh_token` grant with
//! rotation and reuse detection. A request with a DPoP proof gets tokens
//! bound to the proof's key (RFC 9449 section 5).

use std::time::SystemTime;

use aws_lc_rs::constant_time::verify_slices_are_equal;
use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::claims::{Minted, mint};
use crate::client_auth::authenticate;
use crate::config::ClientRegistration;
use crate::dpop::{invalid_proof, nonce_header, server_proof};
use crate::error::OAuthError;
use crate::params::Params;
use crate::state::{Counters, ProviderState, add_ttl, random_token};
use crate::store::{Grant, RefreshRecord, Store};

/// `POST /token`.
pub(crate) async fn token(
    State(state): State<ProviderState>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let mut response = match handle(&state, &headers, &body) {
        Ok(body) => {
            let mut response = Json(body).into_response();
            // RFC 6749 5.1: token responses must not be cached.
            let headers = response.headers_mut();
            headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
            headers.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
            response
        }
        Err(error) => error.into_response(),
    };
    // RFC 9449 section 8: the nonce to use, on every answer.
    if let Some(nonce) = nonce_header(&state) {
        response.headers_mut().insert("dpop-nonce", nonce);
    }
    response
}

fn handle(state: &ProviderState, headers: &HeaderMap, body: &[u8]) -> Result<Value, OAuthError> {
    let params = Params::from_form(headers, body)?;
    let client = authenticate(state, headers, &params, "/token")?;
    let jkt = server_proof(state, headers, "/token")?.map(|p| p.jkt);
    if client.dpop_bound_access_tokens && jkt.is_none() {
        // RFC 9449 section 5.2: this client's tokens are always DPoP-bound.
        return Err(invalid_proof("this client must send a DPoP proof"));
    }
    let grant_type = params.require("grant_type")?;
    let body = match grant_type {
        "authorization_code" => code_grant(state, client, &params, jkt.as_deref())?,
        "refresh_token" => refresh_grant(state, client, &params, jkt.as_deref())?,
        other => {
            return Err(OAuthError::bad_request(
                "unsupported_grant_type",
                format!("grant_type {other} is not supported"),
            ));
        }
    };
    // One line per issuance, for the demo's logs and tests; never a token.
    tracing::info!(
        client = %client.client_id,
        grant_type,
        token_type = body["token_type"].as_str().unwrap_or_default(),
        client_auth = client.effective_auth_method().as_str(),
        "dev provider issued tokens"
    );
    Ok(body)
}

/// PKCE verification (RFC 7636 4.6): `BASE64URL(SHA256(verifier))` must
/// equal the stored S256 challenge. The verifier itself must be 43 to 128
/// unreserved characters (RFC 7636 4.1).
fn pkce_matches(verifier: &str, challenge: &str) -> bool {
    let well_formed = (43..=128).contains(&verifier.len())
        && verifier
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-._~".contains(&b));
    let computed = URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()));
    well_formed && verify_slices_are_equal(computed.as_bytes(), challenge.as_bytes()).is_ok()
}

/// The token response (RFC 6749 5.1); `token_type` is `DPoP` for tokens
/// bound to a key (RFC 9449 section 5).
fn token_response(
    minted: Minted,
    refresh_token: Option<String>,
    scope: &str,
    jkt: Option<&str>,
) -> Value {
    let mut body = json!({
        "access_token": minted.access_token,
        "token_type": if jkt.is_some() { "DPoP" } else { "Bearer" },
        "expires_in": minted.expires_in,
        "id_token": minted.id_token,
        "scope": scope,
    });
    if let Some(refresh_token) = refresh_token {
        body["refresh_token"] = refresh_token.into();
    }
    body
}

fn signing_failed() -> OAuthError {
    OAuthError {
        status: axum::http::StatusCode::INTERNAL_SERVER_ERROR,
        error: "server_error",
        description: "token signing failed".into(),
        www_authenticate: None,
    }
}

/// Stores a new refresh token for the grant (only for `offline_access`,
/// OIDC Core 11), bound to the DPoP key `jkt` if given.
fn new_refresh_token(
    state: &ProviderState,
    store: &mut Store,
    grant_id: &str,
    jkt: Option<&str>,
) -> String {
    let token = random_token();
    let expires_at = add_ttl(SystemTime::now(), state.config().refresh_token_ttl);
    let record = RefreshRecord {
        grant_id: grant_id.to_owned(),
        expires_at,
        rotated: false,
        jkt: jkt.map(str::to_owned),
    };
    store.refresh.insert(token.clone(), record);
    token
}

/// `grant_type=authorization_code` (RFC 6749 4.1.3, OIDC Core 3.1.3.2). A
/// code bound to a DPoP key (RFC 9449 section 10) needs a proof of that key;
/// `jkt` is the key of the request's proof.
fn code_grant(
    state: &ProviderState,
    client: &ClientRegistration,
    params: &Params,
    jkt: Option<&str>,
) -> Result<Value, OAuthError> {
    let code = params.require("code")?;
    let mut store = state.store();
    let Some(record) = store.codes.get_mut(code) else {
        return Err(OAuthError::invalid_grant(
            "unknown or expired authorization code",
        ));
    };
    if record.client_id != client.client_id {
        return Err(OAuthError::invalid_grant(
            "code was issued to another client",
        ));
    }
    if record.used {
        // RFC 6749 4.1.2: a reused code revokes what was issued from it.
        let grant_id = record.grant_id.clone();
        store.revoke_grant(&grant_id);
        tracing::warn!(client = %client.client_id, "authorization code reused; grant revoked");
        return Err(OAuthError::invalid_grant(
            "authorization code already used; tokens issued from it are revoked",
        ));
    }
    // Any attempt consumes the code, also a failing one.
    record.used = true;
    let record = record.clone();
    match params.get("redirect_uri") {
        None => return Err(OAuthError::invalid_request("missing redirect_uri")),
        Some(uri) if uri != record.redirect_uri => {
            return Err(OAuthError::invalid_grant(
                "redirect_uri differs from the authorization request",
            ));
        }
        Some(_) => {}
    }
    let verifier = params.get("code_verifier").unwrap_or_default();
    if !pkce_matches(verifier, &record.code_challenge) {
        return Err(OAuthError::invalid_grant("PKCE verification failed"));
    }
    match (&record.dpop_jkt, jkt) {
        (Some(_), None) => {
            return Err(invalid_proof(
                "the code is bound to a DPoP key: a proof of it is required",
            ));
        }
        (Some(bound), Some(jkt)) if bound != jkt => {
            return Err(OAuthError::invalid_grant(
                "the code is bound to another DPoP key",
            ));
        }
        _ => {}
    }
    let grant = Grant {
        client_id: record.client_id.clone(),
        sub: record.sub.clone(),
        sid: record.sid.clone(),
        scope: record.scope.clone(),
        auth_time: record.auth_time,
        acr: record.acr,
    };
    store.grants.insert(record.grant_id.clone(), grant.clone());
    let minted = mint(
        state,
        &mut store,
        &record.grant_id,
        &grant,
        &grant.scope,
        record.nonce.as_deref(),
        jkt,
    )
    .ok_or_else(signing_failed)?;
    // RFC 9449 section 5: a public client's refresh token is bound to its key.
    let refresh_jkt = jkt.filter(|_| client.is_public());
    let refresh = (grant.scope.split(' ').any(|s| s == "offline_access"))
        .then(|| new_refresh_token(state, &mut store, &record.grant_id, refresh_jkt));
    Counters::bump(&state.counters().authorization_code_grants);
    Ok(token_response(minted, refresh, &grant.scope, jkt))
}

/// `grant_type=refresh_token` (RFC 6749 6, OIDC Core 12). With rotation on,
/// the presented token is retired and a replayed retired token revokes the
/// whole grant. A refresh token bound to a DPoP key (a public client's, RFC
/// 9449 section 5) is only used with a proof of that key (section 5.8).
fn refresh_grant(
    state: &ProviderState,
    client: &ClientRegistration,
    params: &Params,
    jkt: Option<&str>,
) -> Result<Value, OAuthError> {
    let token = params.require("refresh_token")?;
    let mut store = state.store();
    let invalid = || OAuthError::invalid_grant("unknown, expired or revoked refresh token");
    let record = store.refresh.get(token).cloned().ok_or_else(invalid)?;
    let grant = store
        .grants
        .get(&record.grant_id)
        .cloned()
        .ok_or_else(invalid)?;
    if grant.client_id != client.client_id {
        return Err(OAuthError::invalid_grant(
            "refresh token was issued to another client",
        ));
    }
    if let Some(bound) = &record.jkt
        && jkt != Some(bound.as_str())
    {
        return Err(OAuthError::invalid_grant(
            "the refresh token is bound to another DPoP key",
        ));
    }
    if record.rotated {
        store.revoke_grant(&record.grant_id);
        Counters::bump(&state.counters().refresh_reuse_detected);
        tracing::warn!(client = %client.client_id, "rotated refresh token reused; grant revoked");
        return Err(OAuthError::invalid_grant(
            "refresh token was already used; the grant has been revoked",
        ));
    }
    // RFC 6749 6: a narrower scope may be requested, never a wider one.
    let scope = match params.get("scope") {
        None => grant.scope.clone(),
        Some(requested) => {
            let granted: Vec<&str> = grant.scope.split(' ').collect();
            if !requested.split(' ').all(|s| granted.contains(&s)) {
                return Err(OAuthError::bad_request(
                    "invalid_scope",
                    "scope exceeds the original grant",
                ));
            }
            requested.to_owned()
        }
    };
    let new_refresh = if state.config().rotate_refresh_tokens {
        if let Some(old) = store.refresh.get_mut(token) {
            old.rotated = true;
        }
        let bound = record.jkt.as_deref().or(jkt.filter(|_| client.is_public()));
        Some(new_refresh_token(
            state,
            &mut store,
            &record.grant_id,
            bound,
        ))
    } else {
        None
    };
    let minted = mint(
        state,
        &mut store,
        &record.grant_id,
        &grant,
        &scope,
        None,
        jkt,
    )
    .ok_or_else(signing_failed)?;
    Counters::bump(&state.counters().refresh_grants);
    Ok(token_response(minted, new_refresh, &scope, jkt))
}

#[cfg(test)]
mod tests {
    use super::pkce_matches;

    #[test]
    fn pkce_s256_accepts_the_rfc_7636_example_and_rejects_others() {
        // Appendix B of RFC 7636.
        let verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
        let challenge = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";
        assert!(pkce_matches(verifier, challenge));
        assert!(!pkce_matches(
            "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXx",
            challenge
        ));
        assert!(!pkce_matches("short", challenge));
    }
}
