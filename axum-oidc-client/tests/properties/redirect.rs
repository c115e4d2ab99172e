//! `redirect::safe_next`: always a same-origin path.

use axum_oidc_client::__private::redirect::{MAX_NEXT_LEN, safe_next};
use http::HeaderValue;

use super::*;
use crate::redirect_oracle::{local_path, percent_decode};

/// Pieces that open redirects are made of.
const NEXT_PIECES: &[&str] = &[
    "/",
    "//",
    "///",
    "\\",
    "/\\",
    "%2F",
    "%2f",
    "%5C",
    "%5c",
    "%252F",
    "%C0%AF",
    "%E2%88%95",
    "\t",
    "\n",
    "\r",
    "%09",
    "%0a",
    "%0D",
    "%00",
    "%",
    "%%",
    "%2",
    " ",
    "%20",
    "+",
    "evil.example",
    "@",
    ":",
    "javascript:",
    "http:",
    "https://",
    "?",
    "#",
    ".",
    "..",
    "%2e%2e",
    "a",
    "\u{0}",
    "\u{7f}",
    "\u{85}",
    "\u{a0}",
    "\u{2028}",
    "\u{ff0f}",
    "\u{ff3c}",
    "é",
    "\u{1f600}",
];

fn next_target() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => prop::collection::vec(select(NEXT_PIECES), 0..8).prop_map(|p| p.concat()),
        1 => prop::collection::vec(select(NEXT_PIECES), 0..8).prop_map(|p| format!("/{}", p.concat())),
        1 => any::<String>(),
    ]
}

proptest! {
    #![proptest_config(cases(256))]

    #[test]
    fn safe_next_always_yields_a_same_origin_path(next in next_target()) {
        let out = safe_next(Some(&next));
        prop_assert!(local_path(out.as_bytes()), "{next:?} -> {out:?}");
        prop_assert!(out.is_ascii() && !out.contains(' '), "{next:?} -> {out:?}");
        prop_assert!(HeaderValue::from_str(&out).is_ok(), "{out:?} is no Location value");
        prop_assert!(local_path(&percent_decode(&out)), "{next:?} -> {out:?} decodes to a non-local path");
        for base in ["http://app.invalid/", "https://app.example:8443/deep/path/?q=1#f"] {
            let base = url::Url::parse(base).map_err(|e| TestCaseError::fail(e.to_string()))?;
            let joined = base.join(&out).map_err(|e| TestCaseError::fail(e.to_string()))?;
            prop_assert_eq!(joined.origin(), base.origin(), "{:?} -> {:?}", next, out);
        }
        // Either the input, made ASCII, or the fallback.
        let encoded: String = next
            .bytes()
            .map(|b| if b.is_ascii() { char::from(b).to_string() } else { format!("%{b:02X}") })
            .collect();
        prop_assert!(out == "/" || out == encoded, "{next:?} -> {out:?}");
        // Bounded, encoding included, and stable: feeding the result back changes
        // nothing.
        prop_assert!(out.len() <= MAX_NEXT_LEN, "{} bytes", out.len());
        prop_assert_eq!(safe_next(Some(&out)), out);
    }

    #[test]
    fn safe_next_keeps_plain_relative_paths(
        segments in prop::collection::vec("[A-Za-z0-9._~-]{1,10}", 0..5),
        query in prop::option::of("[a-z0-9=&]{0,20}"),
        fragment in prop::option::of("[a-z0-9]{0,10}"),
    ) {
        let mut next = format!("/{}", segments.join("/"));
        if let Some(q) = query {
            next.push('?');
            next.push_str(&q);
        }
        if let Some(f) = fragment {
            next.push('#');
            next.push_str(&f);
        }
        prop_assert_eq!(safe_next(Some(&next)), next);
    }
}
