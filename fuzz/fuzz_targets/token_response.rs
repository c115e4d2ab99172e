//! `token::parse_token_response`: never panics, accepts only a 2xx answer without an
//! `error` that carries a non-empty Bearer access token, and keeps OAuth error codes short.
#![no_main]

use axum_oidc_client::__private::token::{TokenError, parse_token_response};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    // The first two bytes pick the status: mostly one of the usual ones.
    let (status, body) = match data {
        [a, b, body @ ..] => {
            let raw = u16::from_le_bytes([*a, *b]);
            let usual = [200, 201, 204, 302, 400, 401, 403, 429, 500, 503];
            let status = if raw & 0x8000 == 0 {
                usual[usize::from(raw) % usual.len()]
            } else {
                raw & 0x7fff
            };
            (status, body)
        }
        _ => return,
    };
    match parse_token_response(status, body) {
        Ok(r) => {
            assert!((200..300).contains(&status));
            assert!(!r.access_token.is_empty());
            assert!(r.token_type.eq_ignore_ascii_case("bearer"));
        }
        Err(TokenError::OAuth(e)) => {
            assert!((400..500).contains(&status));
            assert!(e.code().chars().count() <= 64);
        }
        Err(TokenError::Status(s)) => assert_eq!(s, status),
        Err(_) => {}
    }
});
