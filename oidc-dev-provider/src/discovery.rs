//! Provider metadata (OpenID Connect Discovery 1.0 section 3) and the JWK
//! Set (RFC 7517 5).

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use crate::authorize::SUPPORTED_SCOPES;
use crate::config::SigningAlg;
use crate::state::ProviderState;

/// Client authentication methods (OIDC Core 9, RFC 7523 section 2.2).
const AUTH_METHODS: [&str; 4] = [
    "client_secret_basic",
    "client_secret_post",
    "private_key_jwt",
    "none",
];

/// Algorithms accepted for `private_key_jwt` assertions.
const ASSERTION_ALGS: [&str; 4] = ["RS256", "PS256", "ES256", "EdDSA"];

/// Builds the discovery document. `id_token_signing_alg_values_supported`
/// always contains RS256 (Discovery 1.0 section 3); ES256 is listed too
/// because both keys are published, and the algorithm in use comes first.
pub(crate) fn metadata(state: &ProviderState) -> Value {
    let mut algs = vec![SigningAlg::RS256.as_str(), SigningAlg::ES256.as_str()];
    if state.keys().active_alg() == SigningAlg::ES256 {
        algs.reverse();
    }
    json!({
        "issuer": state.issuer(),
        "authorization_endpoint": state.endpoint("/authorize"),
        "token_endpoint": state.endpoint("/token"),
        "userinfo_endpoint": state.endpoint("/userinfo"),
        "jwks_uri": state.endpoint("/jwks"),
        "end_session_endpoint": state.endpoint("/logout"),
        "revocation_endpoint": state.endpoint("/revoke"),
        "pushed_authorization_request_endpoint": state.endpoint("/par"),
        "scopes_supported": SUPPORTED_SCOPES,
        "response_types_supported": ["code"],
        "response_modes_supported": ["query"],
        "grant_types_supported": ["authorization_code", "refresh_token"],
        "code_challenge_methods_supported": ["S256"],
        "id_token_signing_alg_values_supported": algs,
        "token_endpoint_auth_methods_supported": AUTH_METHODS,
        "token_endpoint_auth_signing_alg_values_supported": ASSERTION_ALGS,
        "revocation_endpoint_auth_methods_supported": AUTH_METHODS,
        "revocation_endpoint_auth_signing_alg_values_supported": ASSERTION_ALGS,
        // RFC 9449 section 5.1.
        "dpop_signing_alg_values_supported": crate::dpop::SUPPORTED_ALGS,
        "subject_types_supported": ["public"],
        "claims_supported": [
            "iss", "sub", "aud", "exp", "iat", "auth_time", "acr", "nonce", "sid", "azp",
            "at_hash",
            "name", "preferred_username", "email", "email_verified", "groups"
        ],
        "prompt_values_supported": ["none", "login", "consent", "select_account"],
        "acr_values_supported": [crate::ACR_PASSWORD, crate::ACR_MFA],
        "request_parameter_supported": false,
        "request_uri_parameter_supported": false,
        "claims_parameter_supported": false,
        "backchannel_logout_supported": true,
        "backchannel_logout_session_supported": true,
        "frontchannel_logout_supported": false,
        "authorization_response_iss_parameter_supported": state.config().advertise_iss_parameter,
    })
}

fn cacheable_json(body: Value) -> Response {
    let mut response = Json(body).into_response();
    // Keys are regenerated on every start; short caching keeps RPs current.
    let value = HeaderValue::from_static("public, max-age=60");
    response.headers_mut().insert(header::CACHE_CONTROL, value);
    response
}

/// `GET /.well-known/openid-configuration` (Discovery 1.0 section 4).
pub(crate) async fn openid_configuration(State(state): State<ProviderState>) -> Response {
    cacheable_json(metadata(&state))
}

/// `GET /jwks`: the public keys with `kid`, `use: sig` and `alg`.
pub(crate) async fn jwks(State(state): State<ProviderState>) -> Response {
    cacheable_json(state.keys().jwks())
}
