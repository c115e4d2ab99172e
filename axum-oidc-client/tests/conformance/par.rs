//! Pushed authorization requests (RFC 9126): the request is POSTed to the provider,
//! client-authenticated, and the browser carries only `client_id` and `request_uri`;
//! a failed push never falls back to the front channel.

use reqwest::StatusCode;

use crate::adversary::ParReply;
use crate::harness::*;

fn par(reply: ParReply, required: bool) -> Behavior {
    Behavior {
        par: Some(reply),
        require_par: required,
        ..Behavior::default()
    }
}

fn query(url: &str) -> Vec<(String, String)> {
    url::Url::parse(url)
        .expect("URL")
        .query_pairs()
        .into_owned()
        .collect()
}

/// The provider requires PAR: the login pushes, the browser carries `client_id` and
/// `request_uri` only, and the login completes.
#[tokio::test]
async fn a_required_pushed_request_logs_in_with_request_uri_only() {
    let t = Trial::new(par(ParReply::Normal, true)).await;
    let authorization_url = t.browser.start_login("/me").await;
    let names: Vec<String> = query(&authorization_url)
        .into_iter()
        .map(|(k, _)| k)
        .collect();
    assert_eq!(names, ["client_id", "request_uri"], "{authorization_url}");
    let approved = t.browser.get(&authorization_url).await;
    assert_eq!(approved.status(), StatusCode::SEE_OTHER);
    let r = t.browser.finish_login(&location(&approved)).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER, "{:?}", r.text().await);
    assert_eq!(me(&t.browser).await, StatusCode::OK);

    let seen = t.seen();
    assert_eq!(seen.pushed.len(), 1);
    let pushed = &seen.pushed[0];
    assert!(
        pushed.client_authenticated,
        "client_secret_basic at the PAR endpoint"
    );
    for name in [
        "response_type",
        "client_id",
        "redirect_uri",
        "scope",
        "state",
        "nonce",
        "code_challenge",
        "code_challenge_method",
    ] {
        assert!(
            pushed.form.contains_key(name),
            "{name} pushed: {:?}",
            pushed.form.keys()
        );
    }
    assert_eq!(seen.code_exchanges(), 1);
}

/// Configured PAR at a provider that offers but does not require it; the
/// `client_secret_post` client sends `client_id` once, with its secret.
#[tokio::test]
async fn a_configured_pushed_request_is_authenticated_as_at_the_token_endpoint() {
    let behavior = Behavior {
        token_auth_methods: vec!["client_secret_post"],
        ..par(ParReply::Normal, false)
    };
    let t = Trial::with(behavior, |b| b.with_pushed_authorization_requests(true)).await;
    t.login_ok().await;
    let seen = t.seen();
    assert_eq!(seen.pushed.len(), 1);
    assert!(seen.pushed[0].client_authenticated);
    assert!(!seen.pushed[0].authorization_header);
    let front = &seen.authorize[0];
    assert!(front.contains_key("request_uri") && !front.contains_key("state"));
}

/// Not configured and not required: the front channel, as before.
#[tokio::test]
async fn an_offered_but_not_required_par_endpoint_is_not_used_unless_configured() {
    let t = Trial::new(par(ParReply::Normal, false)).await;
    t.login_ok().await;
    assert!(t.seen().pushed.is_empty());
    assert!(t.seen().authorize[0].contains_key("state"));
}

/// A trial whose error pages show their reason code.
async fn trial_with_reasons(behavior: Behavior, configured: bool) -> Trial {
    Trial::with_layer(
        behavior,
        |b| b.with_pushed_authorization_requests(configured),
        |l| {
            l.with_error_pages(|page: &axum_oidc_client::ErrorPage| {
                use axum::response::IntoResponse;
                (page.status, page.reason).into_response()
            })
        },
    )
    .await
}

/// Starts a login expected to fail at the push: no redirect, no login cookie, the
/// reason on the page.
async fn login_start_fails(t: &Trial, status: StatusCode, reason: &str) {
    let r = t.browser.get("/auth/login?next=%2Fme").await;
    assert_eq!(r.status(), status);
    assert!(
        r.headers().get("location").is_none(),
        "no redirect to the provider"
    );
    assert!(
        set_cookies(&r).is_empty(),
        "no login cookie: {:?}",
        set_cookies(&r)
    );
    assert_eq!(r.text().await.unwrap(), reason);
    let json = t.browser.get_json("/auth/login?next=%2Fme").await;
    assert_eq!(json.status(), status);
    assert_eq!(t.seen().pushed.len(), 2);
    assert!(
        t.seen().authorize.is_empty(),
        "nothing in the front channel"
    );
}

#[tokio::test]
async fn a_failing_par_endpoint_answers_503_par_unavailable() {
    let t = trial_with_reasons(par(ParReply::ServerError, true), false).await;
    login_start_fails(&t, StatusCode::SERVICE_UNAVAILABLE, "par_unavailable").await;
}

#[tokio::test]
async fn a_par_endpoint_that_times_out_answers_503_par_unavailable() {
    let t = Trial::with_layer(
        par(ParReply::Hang, true),
        |b| b.with_http_timeout(std::time::Duration::from_millis(500)),
        |l| {
            l.with_error_pages(|page: &axum_oidc_client::ErrorPage| {
                use axum::response::IntoResponse;
                (page.status, page.reason).into_response()
            })
        },
    )
    .await;
    login_start_fails(&t, StatusCode::SERVICE_UNAVAILABLE, "par_unavailable").await;
}

#[tokio::test]
async fn a_refused_pushed_request_answers_an_error_page_never_the_front_channel() {
    let t = trial_with_reasons(par(ParReply::Refused, false), true).await;
    login_start_fails(&t, StatusCode::BAD_GATEWAY, "par_refused").await;
}

/// Required by the provider, or configured, without a PAR endpoint: refused at build.
#[tokio::test]
async fn pushed_requests_without_a_par_endpoint_are_refused_at_build() {
    let adv = Adversary::start().await;
    for (case, required, configured) in [("req", true, false), ("conf", false, true)] {
        let issuer = adv.case(
            case,
            Behavior {
                require_par: required,
                ..Behavior::default()
            },
        );
        let e = builder(&adv, "http://localhost:3000")
            .with_pushed_authorization_requests(configured)
            .with_issuer(&issuer)
            .await
            .expect("discovery")
            .build()
            .unwrap_err();
        assert!(
            e.to_string().contains("pushed_authorization_request"),
            "{case}: {e}"
        );
    }
}

/// With lazy discovery the missing endpoint shows at discovery: the login answers
/// 503 and the discovery health names the reason.
#[tokio::test]
async fn configured_pushed_requests_without_a_par_endpoint_refuse_the_login_after_lazy_discovery() {
    let adv = Adversary::start().await;
    let issuer = adv.case("lazy", Behavior::default());
    let bound = crate::app::bind().await;
    let origin = bound.origin.clone();
    let config = builder(&adv, &origin)
        .with_pushed_authorization_requests(true)
        .with_lazy_issuer(issuer)
        .build()
        .expect("nothing to check before discovery");
    let _server = crate::app::serve(
        bound,
        crate::app::layer(config.clone(), crate::app::memory()),
    );
    let browser = Browser::new(&origin);
    let r = browser.get("/auth/login?next=%2Fme").await;
    assert_eq!(r.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert!(r.headers().get("location").is_none());
    match config.discovery_health() {
        axum_oidc_client::DiscoveryHealth::Pending {
            last_error: Some(e),
            ..
        } => assert!(e.contains("pushed_authorization_request_endpoint"), "{e}"),
        other => panic!("{other:?}"),
    }
}
