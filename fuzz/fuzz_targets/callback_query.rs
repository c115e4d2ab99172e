//! `callback::parse_callback_query`: never panics, and never accepts a repeated
//! `code`, `state`, `iss` or `error`.
#![no_main]

use axum_oidc_client::__private::callback::parse_callback_query;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(raw) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(q) = parse_callback_query(Some(raw)) else {
        return;
    };
    for (key, got) in [
        ("code", &q.code),
        ("state", &q.state),
        ("iss", &q.iss),
        ("error", &q.error),
    ] {
        let mut seen = url::form_urlencoded::parse(raw.as_bytes()).filter(|(k, _)| k == key);
        let first = seen.next();
        assert!(seen.next().is_none(), "repeated {key} accepted");
        assert_eq!(got.as_deref(), first.as_ref().map(|(_, v)| v.as_ref()));
    }
});
