//! `token::parse_token_response` (RFC 6749 sections 5.1 and 5.2).

use axum_oidc_client::__private::token::{TokenError, parse_token_response};

use super::*;

fn token_response() -> impl Strategy<Value = Map<String, Value>> {
    (
        (
            slot("[ -~]{0,12}".prop_map(Value::from)),
            slot(one_of(&["Bearer", "bearer", "BEARER", "bEaReR", "DPoP", "mac", "Bearer ", ""])),
            slot(prop_oneof![
                any::<u64>().prop_map(Value::from),
                (-100i64..0).prop_map(Value::from),
                Just(Value::from(3600.5)),
                Just(Value::from("3600")),
            ]),
        ),
        (
            slot("[ -~]{0,12}".prop_map(Value::from)),
            slot("[a-zA-Z0-9._-]{0,20}".prop_map(Value::from)),
            slot("[a-z ]{0,20}".prop_map(Value::from)),
            prop_oneof![
                5 => Just(None),
                2 => one_of(&["invalid_grant", "invalid_client", "Invalid_Grant", ""]).prop_map(Some),
                1 => ".{0,100}".prop_map(|s| Some(Value::from(s))),
                1 => json_value().prop_map(Some),
            ],
            extra_members(),
        ),
    )
        .prop_map(|((at, tt, exp), (rt, id, scope, error, extra))| {
            object(
                vec![
                    ("access_token", at),
                    ("token_type", tt),
                    ("expires_in", exp),
                    ("refresh_token", rt),
                    ("id_token", id),
                    ("scope", scope),
                    ("error", error),
                ],
                extra,
            )
        })
}

fn status() -> impl Strategy<Value = u16> {
    prop_oneof![
        4 => select(vec![200u16, 201, 204, 299, 300, 302, 400, 401, 403, 429, 500, 502, 503]),
        1 => any::<u16>(),
    ]
}

proptest! {
    #![proptest_config(cases(256))]

    #[test]
    fn token_response_never_panics_on_any_bytes(
        status in any::<u16>(),
        bytes in prop::collection::vec(any::<u8>(), 0..200),
    ) {
        let _ = parse_token_response(status, &bytes);
    }

    #[test]
    fn token_response_accepts_only_bearer_tokens_from_a_success(
        body in token_response(),
        status in status(),
    ) {
        let bytes = serde_json::to_vec(&body).unwrap_or_default();
        let error = body.get("error").and_then(Value::as_str);
        match parse_token_response(status, &bytes) {
            Ok(r) => {
                prop_assert!((200..300).contains(&status));
                prop_assert!(error.is_none(), "error {error:?} accepted as success");
                prop_assert!(!r.access_token.is_empty());
                prop_assert!(r.token_type.eq_ignore_ascii_case("bearer"));
                prop_assert_eq!(body.get("access_token"), Some(&Value::from(r.access_token)));
            }
            Err(TokenError::InvalidGrant) => prop_assert_eq!(error, Some("invalid_grant")),
            Err(TokenError::OAuth(e)) => {
                prop_assert!((400..500).contains(&status));
                prop_assert!(e.code().chars().count() <= 64);
                prop_assert!(error.is_some_and(|full| full.starts_with(e.code())));
            }
            Err(TokenError::Status(s)) => prop_assert_eq!(s, status),
            Err(_) => {}
        }
    }
}
