//! `par::parse_par_response` (RFC 9126 sections 2.2 and 2.3).

use axum_oidc_client::__private::par::{ParError, parse_par_response};

use super::*;

proptest! {
    #![proptest_config(cases(256))]

    #[test]
    fn par_response_never_panics_on_any_bytes(
        status in any::<u16>(),
        body in proptest::collection::vec(any::<u8>(), 0..256),
    ) {
        let _ = parse_par_response(status, &body);
    }

    /// Only a 2xx with a non-empty `request_uri` and a positive `expires_in` is a
    /// success; a 5xx is never `par_refused`, whatever its body.
    #[test]
    fn only_a_valid_2xx_is_a_success_and_a_5xx_is_an_outage(
        status in prop_oneof![
            4 => select(vec![200u16, 201, 204, 302, 400, 401, 500, 503]),
            1 => any::<u16>(),
        ],
        request_uri in slot(one_of(&["urn:ietf:params:oauth:request_uri:x", ""])),
        expires_in in slot(prop_oneof![
            any::<u64>().prop_map(Value::from),
            (-100i64..1).prop_map(Value::from),
            Just(Value::from("60")),
        ]),
        error in slot(one_of(&["invalid_request", "server_error", ""])),
    ) {
        let body = object(
            vec![("request_uri", request_uri), ("expires_in", expires_in), ("error", error)],
            Map::new(),
        );
        let body = serde_json::to_vec(&body).unwrap();
        match parse_par_response(status, &body) {
            Ok(r) => {
                prop_assert!((200..300).contains(&status));
                prop_assert!(!r.request_uri.is_empty() && r.expires_in > 0);
            }
            Err(e) => {
                if status >= 500 {
                    prop_assert_eq!(e.failure().reason(), "par_unavailable");
                }
                if let ParError::Refused(_) = e {
                    prop_assert!((400..500).contains(&status));
                }
            }
        }
    }
}
