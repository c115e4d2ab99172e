use super::build::normalize_base_path;
use super::*;

fn explicit() -> OAuthConfigurationBuilder {
    OAuthConfigurationBuilder::default()
        .with_client_id("c")
        .with_client_secret("s")
        .with_app_url("http://localhost:3000")
        .with_authorization_endpoint("https://op.example/authorize")
        .with_token_endpoint("https://op.example/token")
        .with_oauth2_only("https://op.example/user", "id")
        .with_private_cookie_key("kD9vR2xQ7mW4zL1pT8nB3cF6hJ0sY5gA")
}

#[test]
fn explicit_endpoints_work_without_discovery() {
    let c = explicit().build().unwrap();
    assert_eq!(
        c.redirect_uri().as_str(),
        "http://localhost:3000/auth/callback"
    );
    assert_eq!(
        c.inner.routes.post_logout_redirect_uri.as_str(),
        "http://localhost:3000/auth/logout/callback"
    );
    assert!(!c.inner.cookies.secure);
}

#[test]
fn https_app_url_makes_cookies_secure() {
    let c = explicit()
        .with_app_url("https://app.example")
        .build()
        .unwrap();
    assert!(c.inner.cookies.secure);
}

#[test]
fn refuses_short_cookie_key() {
    assert!(matches!(
        explicit().with_private_cookie_key("short").build(),
        Err(ConfigError::CookieKeyTooShort)
    ));
}

/// The reason a cookie key was refused, if it was refused the way weak keys are.
fn weak_key_refusal(key: &str) -> Option<String> {
    match explicit().with_private_cookie_key(key).build() {
        Err(ConfigError::Invalid { name, reason }) => {
            assert_eq!(name, "COOKIE_KEY");
            assert!(
                reason.contains("openssl rand -base64 48"),
                "the refusal says how to make a key: {reason}"
            );
            assert!(!reason.contains(key), "the key must not be echoed");
            Some(reason)
        }
        Err(e) => panic!("{key:?}: unexpected error {e}"),
        Ok(_) => None,
    }
}

#[test]
fn the_documented_example_cookie_keys_are_refused() {
    for example in [
        "a secret of at least thirty-two bytes!!",
        "a secret of at least thirty-two bytes!",
        "at least thirty-two bytes of secret key material",
        // Changing the case or the punctuation does not make it a secret.
        "A-Secret-Of-At-Least-Thirty-Two-Bytes",
    ] {
        assert!(weak_key_refusal(example).is_some(), "{example:?}");
    }
}

#[test]
fn repeated_sequential_and_low_entropy_cookie_keys_are_refused() {
    for weak in [
        "a".repeat(64).as_str(),
        "0123456789abcdef0123456789abcdef",
        "abcdefghijklmnopqrstuvwxyz0123456789",
        "zyxwvutsrqponmlkjihgfedcba9876543210",
        "Secret1!Secret1!Secret1!Secret1!Secret1!",
        "abababababababababababababababababababab",
        "0000000011111111000000001111111100000000",
        "correct horse battery staple and more words",
        "my-company-production-cookie-secret-2024",
        // 16 random bytes in hex: 128 bits at best, not a margin above the bar.
        "7f3a9c1e5b2d4f6a8c0e1b3d5f7a9c2e",
    ] {
        assert!(weak_key_refusal(weak).is_some(), "{weak:?} was accepted");
    }
}

#[test]
fn an_openssl_rand_base64_48_cookie_key_is_accepted() {
    use base64::Engine as _;
    for _ in 0..20 {
        let bytes: [u8; 48] = rand::random();
        let key = base64::engine::general_purpose::STANDARD.encode(bytes);
        assert_eq!(key.len(), 64);
        assert!(weak_key_refusal(&key).is_none(), "{key:?} was refused");
    }
    // Without building a configuration each time: many more draws.
    for _ in 0..5_000 {
        let bytes: [u8; 48] = rand::random();
        let key = base64::engine::general_purpose::STANDARD.encode(bytes);
        assert_eq!(
            crate::session::cookies::secret_weakness(&key),
            None,
            "{key:?}"
        );
    }
}

#[test]
fn refuses_plain_pkce_without_the_insecure_option() {
    let e = explicit()
        .with_code_challenge_method(CodeChallengeMethod::InsecurePlain)
        .build();
    assert!(matches!(
        e,
        Err(ConfigError::Invalid {
            name: "code_challenge_method",
            ..
        })
    ));
    assert_eq!(
        explicit()
            .insecure_with_plain_pkce()
            .build()
            .unwrap()
            .inner
            .providers
            .first()
            .cell
            .get()
            .unwrap()
            .pkce,
        CodeChallengeMethod::InsecurePlain
    );
}

#[test]
fn refuses_plain_http_to_remote_hosts() {
    let e = explicit()
        .with_token_endpoint("http://op.example/token")
        .build();
    assert!(matches!(e, Err(ConfigError::InsecureUrl("token_endpoint"))));
    explicit()
        .with_token_endpoint("http://127.0.0.1:9/token")
        .build()
        .unwrap();
}

#[test]
fn bad_ca_certificate_is_a_configuration_error() {
    let path = std::env::temp_dir().join("axum-oidc-client-bad-ca.pem");
    std::fs::write(&path, "not a certificate").unwrap();
    let e = explicit()
        .with_custom_ca_cert(path.to_string_lossy())
        .build();
    assert!(matches!(e, Err(ConfigError::CaCert { .. })), "{e:?}");
    let e = explicit()
        .with_custom_ca_cert("/nonexistent/ca.pem")
        .build();
    assert!(matches!(e, Err(ConfigError::CaCert { .. })));
}

#[test]
fn normalizes_and_validates_base_path() {
    assert_eq!(normalize_base_path("/auth/").unwrap(), "/auth");
    assert!(normalize_base_path("auth").is_err());
    assert!(normalize_base_path("//evil").is_err());
}

#[test]
fn oidc_mode_requires_an_issuer() {
    let b = OAuthConfigurationBuilder::default()
        .with_client_id("c")
        .with_app_url("http://localhost:3000")
        .with_authorization_endpoint("https://op.example/authorize")
        .with_token_endpoint("https://op.example/token");
    assert!(matches!(b.build(), Err(ConfigError::Missing(_))));
}

#[tokio::test]
async fn a_discovery_error_kept_by_with_discovered_issuer_is_returned_by_build() {
    let kept = explicit()
        .with_discovered_issuer("http://127.0.0.1:1/nobody")
        .await
        .build();
    assert!(matches!(kept, Err(ConfigError::Discovery(_))), "{kept:?}");
    let at_once = explicit().with_issuer("http://127.0.0.1:1/nobody").await;
    assert!(matches!(at_once, Err(ConfigError::Discovery(_))));
    let not_a_url = explicit().with_discovered_issuer("not a url").await.build();
    assert!(matches!(
        not_a_url,
        Err(ConfigError::InvalidUrl { name: "issuer", .. })
    ));
}
