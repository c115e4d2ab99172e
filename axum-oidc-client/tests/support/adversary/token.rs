//! The adversary's token endpoint: client authentication, PKCE, one-time codes,
//! rotating refresh tokens, DPoP, and the faults its case asks for.

use super::*;

/// Whether the client authenticated with one of the `methods` the case advertises
/// (OIDC Core 9): `client_secret_basic` alone in the header, or `client_secret_post`
/// alone in the form. A method the case does not advertise is refused.
pub(super) fn client_authenticated(
    headers: &HeaderMap,
    form: &HashMap<String, String>,
    methods: &[&str],
) -> bool {
    let expected = format!(
        "Basic {}",
        STANDARD.encode(format!("{CLIENT_ID}:{CLIENT_SECRET}"))
    );
    let header = headers.get(header::AUTHORIZATION);
    let in_form = form.contains_key("client_secret");
    let basic = header
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v == expected)
        && !in_form;
    let post = header.is_none()
        && form.get("client_id").map(String::as_str) == Some(CLIENT_ID)
        && form.get("client_secret").map(String::as_str) == Some(CLIENT_SECRET);
    (basic && methods.contains(&"client_secret_basic"))
        || (post && methods.contains(&"client_secret_post"))
}

fn pkce_ok(grant: &Grant, verifier: Option<&String>) -> bool {
    match (&grant.code_challenge, verifier) {
        (Some(challenge), Some(verifier)) => {
            b64(&sha2::Sha256::digest(verifier.as_bytes())) == *challenge
        }
        (None, None) => true,
        _ => false,
    }
}

/// The token endpoint (RFC 6749 sections 4.1.3 and 6), with DPoP when the case speaks it.
pub(super) async fn token(
    State(s): State<Arc<Inner>>,
    Path(name): Path<String>,
    headers: HeaderMap,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    let grant_type = form.get("grant_type").cloned().unwrap_or_default();
    let mut authenticated = false;
    let proof = read_proof(&headers);
    let mut challenge = None;
    let reply = s.with_case(&name, |case| {
        authenticated = client_authenticated(&headers, &form, &case.behavior.token_auth_methods);
        case.seen.token.push(TokenCall {
            grant_type: grant_type.clone(),
            form: form.clone(),
            client_authenticated: authenticated,
            authorization_header: headers.contains_key(header::AUTHORIZATION),
            dpop: proof.clone(),
        });
        challenge = dpop::challenge(case.behavior.dpop, proof.as_ref(), &mut case.dpop_nonces);
        match grant_type.as_str() {
            "authorization_code" => case.behavior.token,
            _ => case.behavior.refresh,
        }
    });
    let Some(reply) = reply else {
        return not_found();
    };
    match reply {
        TokenReply::Normal => {}
        TokenReply::InvalidGrant => {
            return oauth_error(StatusCode::BAD_REQUEST, "invalid_grant");
        }
        TokenReply::ServerError => {
            return (
                StatusCode::INTERNAL_SERVER_ERROR,
                "<html><body>Internal Server Error</body></html>",
            )
                .into_response();
        }
        TokenReply::Hang => {
            tokio::time::sleep(Duration::from_secs(60)).await;
            return oauth_error(StatusCode::SERVICE_UNAVAILABLE, "temporarily_unavailable");
        }
    }
    if !authenticated {
        return oauth_error(StatusCode::UNAUTHORIZED, "invalid_client");
    }
    if let Some(nonce) = challenge {
        let mut r = oauth_error(StatusCode::BAD_REQUEST, "use_dpop_nonce");
        r.headers_mut()
            .insert("dpop-nonce", nonce.parse().expect("a header value"));
        return r;
    }
    s.with_case(&name, |case| {
        issue(&s, &name, case, &grant_type, &form, proof.as_ref())
    })
    .unwrap_or_else(not_found)
}

/// Issues tokens for a grant (RFC 6749 4.1.3 and 6), honouring PKCE and one-time codes,
/// rotating refresh tokens.
fn issue(
    s: &Inner,
    name: &str,
    case: &mut Case,
    grant_type: &str,
    form: &HashMap<String, String>,
    proof: Option<&ProofSeen>,
) -> Response {
    let (grant, refresh) = match grant_type {
        "authorization_code" => {
            let code = form.get("code").cloned().unwrap_or_default();
            let Some(grant) = case.codes.remove(&code) else {
                return oauth_error(StatusCode::BAD_REQUEST, "invalid_grant");
            };
            if !pkce_ok(&grant, form.get("code_verifier"))
                || grant.redirect_uri.as_ref() != form.get("redirect_uri")
            {
                return oauth_error(StatusCode::BAD_REQUEST, "invalid_grant");
            }
            (grant, false)
        }
        "refresh_token" => {
            let rt = form.get("refresh_token").cloned().unwrap_or_default();
            let Some(grant) = case.refresh_tokens.remove(&rt) else {
                // Reuse of a rotated refresh token (RFC 9700 section 4.14.2): the
                // grant is revoked, as providers that detect reuse do.
                if let Some(sid) = case.used_refresh_tokens.get(&rt).cloned() {
                    case.seen.refresh_token_reuse += 1;
                    case.refresh_tokens.retain(|_, g| g.sid != sid);
                }
                return oauth_error(StatusCode::BAD_REQUEST, "invalid_grant");
            };
            case.used_refresh_tokens.insert(rt, grant.sid.clone());
            (grant, true)
        }
        _ => return oauth_error(StatusCode::BAD_REQUEST, "unsupported_grant_type"),
    };
    let (access_token, token_type) =
        match dpop::issued(case.behavior.dpop, proof, case.behavior.token_type) {
            Ok(issued) => issued,
            Err(error) => return oauth_error(StatusCode::BAD_REQUEST, error),
        };
    let refresh_token = unique("rt");
    case.access_tokens
        .insert(access_token.clone(), grant.sub.clone());
    case.refresh_tokens
        .insert(refresh_token.clone(), grant.clone());
    case.seen.access_tokens.push(access_token.clone());
    let mut body = json!({
        "access_token": access_token,
        "token_type": token_type,
        "expires_in": case.behavior.expires_in,
        "refresh_token": refresh_token,
        "scope": "openid profile email",
    });
    let with_id_token = if refresh {
        case.behavior.refresh_returns_id_token
    } else {
        case.behavior.login_returns_id_token
    };
    if with_id_token {
        body["id_token"] = s
            .id_token(name, case, &grant, &access_token, refresh)
            .into();
    }
    ([(header::CACHE_CONTROL, "no-store")], Json(body)).into_response()
}
