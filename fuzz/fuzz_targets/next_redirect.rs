//! `redirect::safe_next`: never panics, and its answer is always a same-origin path
//! that starts with exactly one `/`, has no backslash, whitespace or control character
//! (also after one round of percent-decoding), is a valid `Location` value, and is
//! stable when fed back.
#![no_main]

use libfuzzer_sys::fuzz_target;

use axum_oidc_client::redirect::{MAX_NEXT_LEN, safe_next};

fn local_path(b: &[u8]) -> bool {
    b.first() == Some(&b'/')
        && b.get(1) != Some(&b'/')
        && !b.iter().any(|&c| c == b'\\' || c.is_ascii_control())
}

fn percent_decode(s: &str) -> Vec<u8> {
    let b = s.as_bytes();
    let hex = |i: usize| b.get(i).and_then(|c| char::from(*c).to_digit(16));
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%'
            && let (Some(h), Some(l)) = (hex(i + 1), hex(i + 2))
        {
            out.push((h * 16 + l) as u8);
            i += 3;
            continue;
        }
        out.push(b[i]);
        i += 1;
    }
    out
}

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
    // Fed back, the answer stays the same (unless percent-encoding made it longer
    // than `MAX_NEXT_LEN`, which it may: up to three times).
    if out.len() <= MAX_NEXT_LEN {
        assert_eq!(safe_next(Some(&out)), out, "not stable for {next:?}");
    }
});
