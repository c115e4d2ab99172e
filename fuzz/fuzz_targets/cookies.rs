//! `cookies::read_session_id` and `cookies::read_login_cookie` over `Cookie` headers
//! (one per input line): never panic, and only ever return what the seeds were
//! signed or sealed with (no forgery).
#![no_main]

use axum_oidc_client::__private::cookies::{read_login_cookie, read_session_id};
use axum_oidc_client_fuzz::{SEED_SESSION_ID, SEED_STATE, cookie_key, cookie_settings};
use http::{HeaderMap, HeaderValue, header::COOKIE};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    // The first line is the `state` of the callback, the others are `Cookie` headers.
    let mut lines = data.split(|&b| b == b'\n');
    let state = String::from_utf8_lossy(lines.next().unwrap_or_default());
    let mut headers = HeaderMap::new();
    for line in lines {
        if let Ok(v) = HeaderValue::from_bytes(line) {
            headers.append(COOKIE, v);
        }
    }
    let (key, settings) = (cookie_key(), cookie_settings());
    if let Some(id) = read_session_id(key, settings, &headers) {
        assert_eq!(
            id.secret(),
            SEED_SESSION_ID,
            "forged session cookie accepted"
        );
    }
    if let Some(login) = read_login_cookie(key, settings, &headers, &state) {
        assert_eq!(
            login.state.secret(),
            SEED_STATE,
            "forged login cookie accepted"
        );
        assert_eq!(&*state, SEED_STATE, "login cookie read for another state");
    }
});
