//! Unit tests of the callback's pure steps.

use super::*;

#[test]
fn a_refreshed_record_keeps_the_user_agent_of_the_login() {
    let config = crate::OAuthConfigurationBuilder::default()
        .with_client_id("my-app")
        .with_client_secret("s3cret")
        .with_app_url("https://app.example")
        .with_authorization_endpoint("https://op.example/authorize")
        .with_token_endpoint("https://op.example/token")
        .with_oauth2_only("https://op.example/user", "id")
        .build()
        .unwrap();
    let provider = config
        .inner
        .providers
        .first()
        .cell
        .get()
        .expect("configured endpoints");
    let response: AccessTokenResponse =
        serde_json::from_str(r#"{"access_token":"at-2","token_type":"Bearer"}"#).unwrap();
    let mut login = crate::session::tests::record("alice", None);
    login.user_agent = Some("Firefox/133".into());
    let claims = (*login.claims).clone();
    let refreshed = new_record(&provider, &response, claims.clone(), Some(&login), 50);
    assert_eq!(refreshed.user_agent.as_deref(), Some("Firefox/133"));
    // A login has no previous record: the callback fills it from the request.
    assert_eq!(
        new_record(&provider, &response, claims, None, 50).user_agent,
        None
    );
}

/// Two named OAuth 2.0 providers (no issuer, so no `iss` check), and a browser
/// whose login went to `to`: its cookie header and the response's `state`.
fn login_at(to: &str) -> (OAuthConfiguration, HeaderMap, String) {
    let p = |host: &str| {
        crate::ProviderSettings::new()
            .with_client_id("c")
            .with_client_secret("s")
            .with_authorization_endpoint(format!("https://{host}/authorize"))
            .with_token_endpoint(format!("https://{host}/token"))
            .with_oauth2_only(format!("https://{host}/user"), "id")
    };
    let config = crate::OAuthConfigurationBuilder::default()
        .with_app_url("https://app.example")
        .with_provider("a", p("a.example"))
        .with_provider("b", p("b.example"))
        .build()
        .unwrap();
    let entry = config.inner.providers.get(to).unwrap();
    let provider = entry.cell.get().unwrap();
    let start = crate::login::start_login_for(&config, entry, &provider, "/".into(), None);
    let state = start
        .authorization_url
        .query_pairs()
        .find(|(k, _)| k == "state")
        .unwrap()
        .1
        .into_owned();
    let pair = start.set_cookie.split(';').next().unwrap().to_owned();
    let mut headers = HeaderMap::new();
    headers.insert(http::header::COOKIE, pair.parse().unwrap());
    (config, headers, state)
}

#[test]
fn rejects_a_response_at_another_providers_redirect_uri() {
    let (config, headers, state) = login_at("a");
    let query = CallbackQuery {
        code: Some("code-from-a".into()),
        state: Some(state),
        ..CallbackQuery::default()
    };
    let now = config.inner.clock.now();
    let (login, code) = check_response_at(&config, Some("a"), &query, &headers, now).unwrap();
    assert_eq!(
        (login.provider.as_deref(), code.as_str()),
        (Some("a"), "code-from-a")
    );
    for route in [Some("b"), None, Some("zz")] {
        assert!(
            matches!(
                check_response_at(&config, route, &query, &headers, now),
                Err(CallbackError::ProviderMismatch)
            ),
            "{route:?}"
        );
    }
}

#[test]
fn parses_a_normal_response() {
    let q = parse_callback_query(Some("code=c1&state=s1&iss=https%3A%2F%2Fop")).unwrap();
    assert_eq!(q.code.as_deref(), Some("c1"));
    assert_eq!(q.iss.as_deref(), Some("https://op"));
}

#[test]
fn rejects_duplicate_parameters() {
    assert!(matches!(
        parse_callback_query(Some("state=a&state=b&code=c")),
        Err(CallbackError::MalformedQuery)
    ));
    assert!(matches!(
        parse_callback_query(Some("code=a&code=b")),
        Err(CallbackError::MalformedQuery)
    ));
}

#[test]
fn rejects_oversized_queries() {
    let big = format!("code={}", "a".repeat(MAX_CALLBACK_QUERY));
    assert!(matches!(
        parse_callback_query(Some(&big)),
        Err(CallbackError::MalformedQuery)
    ));
}

#[test]
fn garbage_parses_to_nothing_useful() {
    let q = parse_callback_query(Some("%%%&&&==&\u{0}")).unwrap();
    assert_eq!(q, CallbackQuery::default());
}

#[test]
fn an_authorization_error_about_the_redirect_uri_is_told_apart() {
    let q = parse_callback_query(Some(
        "error=invalid_request&error_description=Invalid+redirect_uri&state=s",
    ))
    .unwrap();
    assert_eq!(q.error_description.as_deref(), Some("Invalid redirect_uri"));
    assert!(crate::token::names_redirect_uri(
        q.error_description.as_deref().unwrap()
    ));
}
