use super::*;

#[test]
fn parses_success_and_error_bodies() {
    let ok = parse_token_response(
        200,
        br#"{"access_token":"a","token_type":"bearer","expires_in":60}"#,
    )
    .unwrap();
    assert_eq!(ok.expires_in, Some(60));
    assert!(matches!(
        parse_token_response(400, br#"{"error":"invalid_grant"}"#),
        Err(TokenError::InvalidGrant)
    ));
    assert!(
        matches!(parse_token_response(401, br#"{"error":"invalid_client"}"#), Err(TokenError::InvalidClient(e)) if e.code() == "invalid_client")
    );
    assert!(matches!(
        parse_token_response(503, b"down"),
        Err(TokenError::Status(503))
    ));
    assert!(matches!(
        parse_token_response(200, b"{}"),
        Err(TokenError::InvalidResponse)
    ));
    assert!(matches!(
        parse_token_response(200, br#"{"access_token":"a","token_type":"DPoP"}"#),
        Err(TokenError::UnsupportedTokenType)
    ));
}

#[test]
fn debug_hides_tokens() {
    let r = parse_token_response(200, br#"{"access_token":"SECRET-A","token_type":"Bearer","refresh_token":"SECRET-R","id_token":"SECRET-I"}"#).unwrap();
    let d = format!("{r:?}");
    assert!(!d.contains("SECRET"));
}

#[test]
fn a_refused_client_keeps_its_code_and_description_in_the_cause_chain() {
    let e = parse_token_response(
        401,
        br#"{"error":"invalid_client","error_description":"client authentication failed"}"#,
    )
    .unwrap_err();
    assert_eq!(
        crate::observe::error_chain(&e),
        "token endpoint refused the client: invalid_client: client authentication failed"
    );
    assert_eq!(e.failure().reason(), "invalid_client");
    assert_eq!(
        e.failure().class(),
        crate::failure::FailureClass::Configuration
    );
}

#[test]
fn an_error_description_is_filtered_capped_and_never_repeats_what_was_sent() {
    let long = "x".repeat(500);
    let body = format!(
        r#"{{"error":"invalid_request\r\nfake","error_description":"bad code c0de-SECRET \u001b[2J{long}"}}"#
    );
    let r = redacted(parse_token_response(400, body.as_bytes()), &["c0de-SECRET"]);
    let Err(TokenError::OAuth(e)) = r else {
        panic!("{r:?}")
    };
    assert_eq!(e.code(), "invalid_request");
    let d = e.description().unwrap();
    assert!(d.starts_with("bad code [redacted] [2Jxxx"), "{d}");
    assert!(d.chars().count() <= MAX_OAUTH_ERROR_DESCRIPTION_LEN);
    // A value cut short by the cap is redacted too.
    let mut e = OAuthErrorResponse::sanitize("x", Some(&format!("{} abcdefgh", "y".repeat(193))));
    e.redact(&["abcdefghij"]);
    assert!(e.description().unwrap().ends_with(" [redacted]"), "{e}");
    assert!(d.chars().all(|c| (' '..='~').contains(&c)));
}

#[test]
fn token_endpoint_errors_map_to_their_reason_and_class() {
    use crate::failure::FailureClass::{Configuration, Outage, User};
    let cases: &[(u16, &[u8], &str, crate::failure::FailureClass)] = &[
        (400, br#"{"error":"invalid_grant"}"#, "invalid_grant", User),
        (
            401,
            br#"{"error":"invalid_client"}"#,
            "invalid_client",
            Configuration,
        ),
        (
            400,
            br#"{"error":"unauthorized_client"}"#,
            "unauthorized_client",
            Configuration,
        ),
        (
            400,
            br#"{"error":"redirect_uri_mismatch"}"#,
            "redirect_uri_mismatch",
            Configuration,
        ),
        (
            400,
            br#"{"error":"invalid_redirect_uri"}"#,
            "redirect_uri_mismatch",
            Configuration,
        ),
        (
            400,
            br#"{"error":"invalid_request","error_description":"redirect_uri did not match"}"#,
            "redirect_uri_mismatch",
            Configuration,
        ),
        (
            400,
            br#"{"error":"invalid_request"}"#,
            "token_request_rejected",
            Configuration,
        ),
        (
            400,
            br#"{"error":"invalid_scope"}"#,
            "invalid_scope",
            Configuration,
        ),
        (401, b"Unauthorized", "invalid_client", Configuration),
        (503, b"down", "token_endpoint_unavailable", Outage),
        (
            400,
            br#"{"error":"temporarily_unavailable"}"#,
            "token_endpoint_unavailable",
            Outage,
        ),
        (200, b"{}", "invalid_token_response", Outage),
        (
            200,
            br#"{"access_token":"a","token_type":"DPoP"}"#,
            "unsupported_token_type",
            Configuration,
        ),
    ];
    for (status, body, reason, class) in cases {
        let f = parse_token_response(*status, body).unwrap_err().failure();
        assert_eq!(
            (f.reason(), f.class()),
            (*reason, *class),
            "{status} {body:?}"
        );
    }
}
