//! The adversary's pushed authorization request endpoint (RFC 9126).

use super::*;

/// The pushed authorization request endpoint (RFC 9126 section 2).
pub(super) async fn par(
    State(s): State<Arc<Inner>>,
    Path(name): Path<String>,
    headers: HeaderMap,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    let reply = s.with_case(&name, |case| {
        let authenticated =
            client_authenticated(&headers, &form, &case.behavior.token_auth_methods);
        case.seen.pushed.push(TokenCall {
            grant_type: String::new(),
            form: form.clone(),
            client_authenticated: authenticated,
            authorization_header: headers.contains_key(header::AUTHORIZATION),
            dpop: read_proof(&headers),
        });
        match case.behavior.par {
            None => return Some(not_found()),
            Some(ParReply::ServerError) => {
                return Some(
                    (
                        StatusCode::INTERNAL_SERVER_ERROR,
                        "<html><body>Internal Server Error</body></html>",
                    )
                        .into_response(),
                );
            }
            Some(ParReply::Refused) => {
                return Some(oauth_error(StatusCode::BAD_REQUEST, "invalid_request"));
            }
            Some(ParReply::Hang) => return None,
            Some(ParReply::Normal) => {}
        }
        if !authenticated {
            return Some(oauth_error(StatusCode::UNAUTHORIZED, "invalid_client"));
        }
        let mut pushed = form.clone();
        pushed.insert("client_id".into(), CLIENT_ID.into());
        let uri = unique("urn:ietf:params:oauth:request_uri:req");
        case.pushed.insert(uri.clone(), pushed);
        Some(
            (
                StatusCode::CREATED,
                Json(json!({ "request_uri": uri, "expires_in": 60 })),
            )
                .into_response(),
        )
    });
    match reply {
        None => not_found(),
        Some(Some(r)) => r,
        Some(None) => {
            tokio::time::sleep(Duration::from_secs(60)).await;
            oauth_error(StatusCode::SERVICE_UNAVAILABLE, "temporarily_unavailable")
        }
    }
}
