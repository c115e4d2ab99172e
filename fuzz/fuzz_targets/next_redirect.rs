//! `redirect::safe_next`: never panics, and its answer is always a same-origin path
//! that starts with exactly one `/`, has no backslash, whitespace or control character
//! (also after one round of percent-decoding), is a valid `Location` value, and is
//! stable when fed back.
#![no_main]

use libfuzzer_sys::fuzz_target;

use axum_oidc_client::__private::redirect::{MAX_NEXT_LEN, safe_next};

#[path = "../../axum-oidc-client/tests/support/redirect_oracle.rs"]
mod redirect_oracle;
use redirect_oracle::{local_path, percent_decode};

fuzz_target!(|data: &[u8]| {
    let Ok(next) = std::str::from_utf8(data) else {
        return;
    };
    let out = safe_next(Some(next));
    assert!(local_path(out.as_bytes()), "{next:?} -> {out:?}");
    assert!(out.is_ascii() && !out.contains(' '), "{next:?} -> {out:?}");
    assert!(local_path(&percent_decode(&out)), "{next:?} -> {out:?}");
    assert!(http::HeaderValue::from_str(&out).is_ok(), "{out:?}");
    let base = url::Url::parse("https://app.example:8443/deep/path/?q=1").expect("base URL");
    let joined = base.join(&out).expect("a path joins");
    assert_eq!(joined.origin(), base.origin(), "{next:?} -> {out:?}");
    // Bounded, encoding included; fed back, the answer stays the same.
    assert!(
        out.len() <= MAX_NEXT_LEN,
        "{} bytes for {next:?}",
        out.len()
    );
    assert_eq!(safe_next(Some(&out)), out, "not stable for {next:?}");
});
