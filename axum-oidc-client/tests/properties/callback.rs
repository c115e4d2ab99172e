//! `callback::parse_callback_query`: repeated parameters are always refused.

use axum_oidc_client::__private::callback::{
    CallbackError, MAX_CALLBACK_QUERY, parse_callback_query,
};

use super::*;

const CALLBACK_KEYS: &[&str] = &["code", "state", "iss", "error"];

/// One `key[=value]` pair: which key, how it is spelled, and its value.
#[derive(Debug, Clone)]
struct QueryPair {
    key: String,
    spelling: u8,
    value: Option<String>,
}

impl QueryPair {
    fn render(&self) -> String {
        let key: String = match self.spelling {
            // Every byte percent-encoded: `%73%74%61%74%65` is still `state`.
            0 => self.key.bytes().map(|b| format!("%{b:02X}")).collect(),
            // Only the first character encoded.
            1 => match self.key.char_indices().nth(1) {
                Some((i, _)) if self.key.is_char_boundary(1) => {
                    let rest: String =
                        url::form_urlencoded::byte_serialize(&self.key.as_bytes()[i..]).collect();
                    format!("%{:02X}{rest}", self.key.as_bytes()[0])
                }
                _ => url::form_urlencoded::byte_serialize(self.key.as_bytes()).collect(),
            },
            _ => url::form_urlencoded::byte_serialize(self.key.as_bytes()).collect(),
        };
        match &self.value {
            Some(v) => {
                let v: String = url::form_urlencoded::byte_serialize(v.as_bytes()).collect();
                format!("{key}={v}")
            }
            None => key,
        }
    }
}

fn query_pair() -> impl Strategy<Value = QueryPair> {
    let key = prop_oneof![
        8 => select(CALLBACK_KEYS).prop_map(str::to_owned),
        2 => select(vec!["session_state", "error_description", "codes", "State", "x"])
            .prop_map(str::to_owned),
        1 => ".{0,6}",
    ];
    (key, 0u8..4, prop::option::weighted(0.9, ".{0,20}")).prop_map(|(key, spelling, value)| {
        QueryPair {
            key,
            spelling,
            value,
        }
    })
}

proptest! {
    #![proptest_config(cases(256))]

    #[test]
    fn callback_query_never_panics_on_any_string(raw in any::<String>()) {
        if let Ok(q) = parse_callback_query(Some(&raw)) {
            // Whatever it returns is what the form decoder sees, each key at most once.
            for &key in CALLBACK_KEYS {
                let seen: Vec<_> = url::form_urlencoded::parse(raw.as_bytes())
                    .filter(|(k, _)| k == key)
                    .map(|(_, v)| v.into_owned())
                    .collect();
                prop_assert!(seen.len() <= 1, "{key} repeated yet accepted");
                let got = match key {
                    "code" => &q.code,
                    "state" => &q.state,
                    "iss" => &q.iss,
                    _ => &q.error,
                };
                prop_assert_eq!(got.as_ref(), seen.first());
            }
        }
    }

    #[test]
    fn callback_query_rejects_every_repeated_parameter(
        pairs in prop::collection::vec(query_pair(), 0..8),
        sep in select(vec!["&", "&&"]),
        pad in prop::option::weighted(0.05, Just(())),
    ) {
        let mut raw = pairs.iter().map(QueryPair::render).collect::<Vec<_>>().join(sep);
        if pad.is_some() {
            raw.push_str(&format!("&pad={}", "a".repeat(MAX_CALLBACK_QUERY)));
        }
        let count = |key: &str| pairs.iter().filter(|p| p.key == key).count();
        let repeated = CALLBACK_KEYS.iter().any(|k| count(k) > 1);
        let result = parse_callback_query(Some(&raw));
        if repeated || raw.len() > MAX_CALLBACK_QUERY {
            prop_assert!(
                matches!(result, Err(CallbackError::MalformedQuery)),
                "accepted {raw:?}"
            );
        } else {
            let q = result.map_err(|e| TestCaseError::fail(format!("{raw:?}: {e}")))?;
            let value = |key: &str| {
                pairs
                    .iter()
                    .find(|p| p.key == key)
                    .map(|p| p.value.clone().unwrap_or_default())
            };
            prop_assert_eq!(q.code, value("code"));
            prop_assert_eq!(q.state, value("state"));
            prop_assert_eq!(q.iss, value("iss"));
            prop_assert_eq!(q.error, value("error"));
        }
    }
}

#[test]
fn callback_query_counts_percent_encoded_keys_as_repeats() {
    assert!(matches!(
        parse_callback_query(Some("state=a&%73tate=b&code=c")),
        Err(CallbackError::MalformedQuery)
    ));
    assert!(parse_callback_query(None).is_ok());
}
