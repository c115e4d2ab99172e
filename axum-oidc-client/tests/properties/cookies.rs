//! `cookies::read_session_id` and `cookies::read_login_cookie`: no forgery, and the
//! real cookies are found among any noise.

use axum_oidc_client::__private::cookies::{
    CookieKey, CookieSettings, LoginState, login_cookie, login_cookie_name, read_login_cookie,
    read_session_id, session_cookie,
};
use axum_oidc_client::__private::secret::{CsrfState, Nonce, PkceCodeVerifier, SessionId};
use http::{HeaderMap, HeaderValue, header::COOKIE};

use super::*;

fn cookie_settings() -> CookieSettings {
    CookieSettings {
        session_name: "axum_oidc_session".into(),
        login_prefix: "axum_oidc_login_".into(),
        secure: true,
        login_path: "/auth".into(),
        same_site: cookie::SameSite::Lax,
    }
}

/// The `name=value` part of a `Set-Cookie` value.
fn pair_of(set_cookie: &str) -> String {
    set_cookie.split(';').next().unwrap_or_default().to_owned()
}

/// Cookie headers that an attacker could send: pairs with the library's names or
/// others, printable junk values, odd separators, plus raw header bytes.
fn cookie_headers(login_name: String) -> impl Strategy<Value = Vec<Vec<u8>>> {
    let name = prop_oneof![
        Just("axum_oidc_session".to_owned()),
        Just(login_name),
        Just("axum_oidc_login_".to_owned()),
        "[ -~]{0,12}",
    ];
    let value = prop_oneof![
        "[ -~]{0,60}",
        // Looks like a signed value: a 44-character digest and an id.
        "[A-Za-z0-9+/]{43}=[A-Za-z0-9_-]{0,43}",
        // Looks like a sealed value: base64 of nonce, ciphertext and tag.
        prop::collection::vec(any::<u8>(), 0..120)
            .prop_map(|b| base64::engine::general_purpose::STANDARD.encode(b)),
    ];
    let pair = (name, value, any::<bool>()).prop_map(|(n, v, quoted)| {
        if quoted {
            format!("{n}=\"{v}\"")
        } else {
            format!("{n}={v}")
        }
    });
    let header = (
        prop::collection::vec(pair, 0..5),
        select(vec!["; ", ";", " ; ", ";;", ",", "; ;"]),
    )
        .prop_map(|(pairs, sep)| pairs.join(sep).into_bytes());
    let raw = prop::collection::vec(any::<u8>(), 0..80);
    prop::collection::vec(prop_oneof![4 => header, 1 => raw], 0..4)
}

fn header_map(headers: &[Vec<u8>]) -> HeaderMap {
    let mut map = HeaderMap::new();
    for h in headers {
        if let Ok(v) = HeaderValue::from_bytes(h) {
            map.append(COOKIE, v);
        }
    }
    map
}

proptest! {
    #![proptest_config(cases(256))]

    #[test]
    fn forged_cookies_never_yield_a_session_or_login(
        headers in cookie_headers("axum_oidc_login_placeholder".into()),
        state in "[A-Za-z0-9_-]{0,43}",
    ) {
        let key = CookieKey::generate();
        let settings = cookie_settings();
        let login_name = login_cookie_name(&settings, &state);
        // Give the random pairs the real login cookie name for this `state`.
        let headers: Vec<Vec<u8>> = headers
            .into_iter()
            .map(|h| {
                String::from_utf8_lossy(&h)
                    .replace("axum_oidc_login_placeholder", &login_name)
                    .into_bytes()
            })
            .collect();
        let map = header_map(&headers);
        prop_assert!(read_session_id(&key, &settings, &map).is_none());
        prop_assert!(read_login_cookie(&key, &settings, &map, &state).is_none());
    }

    #[test]
    fn session_cookie_round_trips_among_noise_and_rejects_tampering(
        id in "[A-Za-z0-9_-]{1,64}",
        noise in cookie_headers("axum_oidc_login_x".into()),
        at in any::<prop::sample::Index>(),
        tamper in any::<prop::sample::Index>(),
        replacement in select(
            "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/_-="
                .chars()
                .collect::<Vec<_>>(),
        ),
    ) {
        let key = CookieKey::generate();
        let settings = cookie_settings();
        let id = SessionId::new(id);
        let pair = pair_of(&session_cookie(&key, &settings, &id, 3600));
        let mut headers = noise.clone();
        let slot = at.index(headers.len() + 1);
        headers.insert(slot, pair.clone().into_bytes());
        prop_assert_eq!(read_session_id(&key, &settings, &header_map(&headers)), Some(id.clone()));
        // Another key does not accept it.
        prop_assert!(read_session_id(&CookieKey::generate(), &settings, &header_map(&headers)).is_none());

        // Any one changed character of the value is refused.
        let (name, value) = pair.split_once('=').unwrap_or_default();
        let i = tamper.index(value.len());
        let original = value.as_bytes()[i] as char;
        prop_assume!(original != replacement);
        let mut tampered = value.to_owned();
        tampered.replace_range(i..=i, &replacement.to_string());
        let mut headers = noise;
        headers.push(format!("{name}={tampered}").into_bytes());
        prop_assert!(read_session_id(&key, &settings, &header_map(&headers)).is_none());
    }

    #[test]
    fn login_cookie_round_trips_only_for_its_own_state(
        state in "[A-Za-z0-9_-]{1,43}",
        other_state in "[A-Za-z0-9_-]{1,43}",
        nonce in "[A-Za-z0-9_-]{0,43}",
        verifier in "[A-Za-z0-9._~-]{43,128}",
        next in ".{0,60}",
        started_at in any::<i64>(),
        noise in cookie_headers("axum_oidc_login_x".into()),
        tamper in any::<prop::sample::Index>(),
    ) {
        let key = CookieKey::generate();
        let settings = cookie_settings();
        let login = LoginState {
            state: CsrfState::new(state.clone()),
            nonce: Nonce::new(nonce.clone()),
            verifier: PkceCodeVerifier::new(verifier.clone()),
            next: next.clone(),
            started_at,
            step_up: None,
            provider: None,
            dpop_key: None,
        };
        let pair = pair_of(&login_cookie(&key, &settings, &login));
        let mut headers = noise.clone();
        headers.push(pair.clone().into_bytes());
        let map = header_map(&headers);
        let back = read_login_cookie(&key, &settings, &map, &state)
            .ok_or_else(|| TestCaseError::fail("login cookie not read back"))?;
        prop_assert_eq!(back.state.secret(), state.as_str());
        prop_assert_eq!(back.nonce.secret(), nonce.as_str());
        prop_assert_eq!(back.verifier.secret(), verifier.as_str());
        prop_assert_eq!(back.next, next);
        prop_assert_eq!(back.started_at, started_at);
        if other_state != state {
            prop_assert!(read_login_cookie(&key, &settings, &map, &other_state).is_none());
        }

        let (name, value) = pair.split_once('=').unwrap_or_default();
        let i = tamper.index(value.len());
        let mut tampered = value.as_bytes().to_vec();
        tampered[i] = if tampered[i] == b'A' { b'B' } else { b'A' };
        let tampered = String::from_utf8_lossy(&tampered).into_owned();
        let mut headers = noise;
        headers.push(format!("{name}={tampered}").into_bytes());
        prop_assert!(read_login_cookie(&key, &settings, &header_map(&headers), &state).is_none());
    }
}

/// The cookies in `fuzz/seeds/cookies` were made with the fixed secret `[7; 32]`
/// outside this crate. They still verify: the cookie format (key derivation, signing,
/// sealing) has not changed, and the fuzzer starts from cookies that get past the
/// cryptography.
#[test]
fn cookies_made_with_a_fixed_secret_still_verify() {
    let key = CookieKey::derive(&[7; 32]).expect("32 bytes");
    let settings = cookie_settings();
    let seed = |name: &str| {
        let path = format!(
            "{}/../fuzz/seeds/cookies/{name}",
            env!("CARGO_MANIFEST_DIR")
        );
        let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
        let mut lines = text.lines();
        let state = lines.next().unwrap_or_default().to_owned();
        let headers: Vec<Vec<u8>> = lines.map(|l| l.as_bytes().to_vec()).collect();
        (state, header_map(&headers))
    };
    for name in ["valid_session", "both_among_noise"] {
        let (_, headers) = seed(name);
        let id = read_session_id(&key, &settings, &headers);
        assert_eq!(id, Some(SessionId::new("seed-session-id")), "{name}");
    }
    for name in ["valid_login", "both_among_noise"] {
        let (state, headers) = seed(name);
        let login = read_login_cookie(&key, &settings, &headers, &state).expect(name);
        assert_eq!(login.state.secret(), "seed-state");
        assert_eq!(login.next, "/after?x=1");
    }
    let (state, headers) = seed("forged");
    assert!(read_session_id(&key, &settings, &headers).is_none());
    assert!(read_login_cookie(&key, &settings, &headers, &state).is_none());
}
