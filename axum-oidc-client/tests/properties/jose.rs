//! `jose::UnverifiedJws::parse`: `none`, HMAC and disallowed algorithms never pass.

use axum_oidc_client::__private::jose::{JoseError, SigningAlgorithm, UnverifiedJws};

use super::*;

/// Whether `alg` names an algorithm that must never pass: `none` or HMAC.
fn forbidden_alg(alg: &str) -> bool {
    alg.eq_ignore_ascii_case("none") || alg.to_ascii_uppercase().starts_with("HS")
}

/// Writes `s` as a JSON string with every character `\u`-escaped.
fn escaped_json_string(s: &str) -> String {
    let mut out = String::from("\"");
    for unit in s.encode_utf16() {
        out.push_str(&format!("\\u{unit:04x}"));
    }
    out.push('"');
    out
}

/// A JOSE header as text, and every `alg` string it spells (duplicates included).
#[derive(Debug, Clone)]
struct HeaderText {
    text: String,
    algs: Vec<String>,
}

fn jose_header() -> impl Strategy<Value = HeaderText> {
    let alg = prop_oneof![
        6 => select(ALG_NAMES).prop_map(str::to_owned),
        1 => ".{0,8}",
    ];
    (
        alg,
        0u8..4,
        slot("[a-z0-9-]{0,8}".prop_map(Value::from)),
        slot(one_of(&["JWT", "logout+jwt", "at+jwt", "jwt"])),
        prop::option::weighted(0.15, json_value()),
        extra_members(),
        prop::option::weighted(0.15, select(ALG_NAMES)),
    )
        .prop_map(|(alg, form, kid, typ, crit, extra, dup)| {
            let mut algs = vec![alg.clone()];
            let mut members = object(vec![("kid", kid), ("typ", typ), ("crit", crit)], extra);
            members.remove("alg");
            let rest = serde_json::to_string(&Value::Object(members)).unwrap_or_default();
            let rest = rest.trim_start_matches('{').trim_end_matches('}');
            let alg_json = match form {
                0 => escaped_json_string(&alg),
                _ => Value::from(alg).to_string(),
            };
            let mut text = format!("{{\"alg\":{alg_json}");
            if !rest.is_empty() {
                text.push(',');
                text.push_str(rest);
            }
            if let Some(d) = dup {
                algs.push(d.to_owned());
                text.push_str(&format!(",\"alg\":{}", Value::from(d)));
            }
            text.push('}');
            if form == 3 {
                // Only the `alg`, as a JSON array: not a JOSE header at all.
                algs.truncate(1);
                text = format!("[{}]", Value::from(algs[0].clone()));
            }
            HeaderText { text, algs }
        })
}

fn allowed_algs() -> impl Strategy<Value = Vec<SigningAlgorithm>> {
    prop::sample::subsequence(
        SigningAlgorithm::ALL.to_vec(),
        0..=SigningAlgorithm::ALL.len(),
    )
}

proptest! {
    #![proptest_config(cases(256))]

    #[test]
    fn jws_parse_never_panics_on_any_string(raw in any::<String>(), allowed in allowed_algs()) {
        if let Ok(jws) = UnverifiedJws::parse(&raw, &allowed) {
            prop_assert!(allowed.contains(&jws.alg));
            prop_assert_eq!(jws.alg.name(), jws.header.alg.as_str());
        }
    }

    #[test]
    fn jws_parse_never_accepts_none_hmac_or_disallowed_algorithms(
        header in jose_header(),
        payload in prop_oneof![
            json_value().prop_map(|v| v.to_string().into_bytes()),
            prop::collection::vec(any::<u8>(), 0..40),
        ],
        sig in prop::collection::vec(any::<u8>(), 0..70),
        allowed in allowed_algs(),
        extra_parts in select(vec!["", ".", ".x", ".."]),
    ) {
        let token = format!(
            "{}.{}.{}{extra_parts}",
            b64(header.text.as_bytes()),
            b64(&payload),
            b64(&sig)
        );
        match UnverifiedJws::parse(&token, &allowed) {
            Ok(jws) => {
                prop_assert!(extra_parts.is_empty(), "{token} has more than three parts");
                prop_assert!(
                    !header.algs.iter().any(|a| forbidden_alg(a)),
                    "header {} accepted",
                    header.text
                );
                prop_assert!(allowed.contains(&jws.alg));
                prop_assert_eq!(jws.alg.name(), jws.header.alg.as_str());
                prop_assert!(jws.header.crit.is_none());
                prop_assert_eq!(jws.payload(), &payload[..]);
            }
            Err(JoseError::AlgNone) => {
                prop_assert!(header.algs.iter().any(|a| a.eq_ignore_ascii_case("none")));
            }
            Err(_) => {}
        }
    }

    #[test]
    fn jws_parse_accepts_every_well_formed_token_with_an_allowed_algorithm(
        alg in select(SigningAlgorithm::ALL.to_vec()),
        kid in prop::option::of("[ -~]{0,10}"),
        typ in prop::option::of(select(vec!["JWT", "logout+jwt", "at+jwt"])),
        payload in prop::collection::vec(any::<u8>(), 0..60),
        sig in prop::collection::vec(any::<u8>(), 0..70),
    ) {
        let mut header = json!({ "alg": alg.name() });
        if let Some(kid) = &kid {
            header["kid"] = kid.clone().into();
        }
        if let Some(typ) = typ {
            header["typ"] = typ.into();
        }
        let token = format!(
            "{}.{}.{}",
            b64(header.to_string().as_bytes()),
            b64(&payload),
            b64(&sig)
        );
        let jws = UnverifiedJws::parse(&token, &SigningAlgorithm::ALL)
            .map_err(|e| TestCaseError::fail(format!("{token}: {e}")))?;
        prop_assert_eq!(jws.alg, alg);
        prop_assert_eq!(&jws.header.kid, &kid);
        prop_assert_eq!(jws.payload(), &payload[..]);
    }
}

#[test]
fn jws_with_a_duplicate_alg_member_is_refused() {
    let header = br#"{"alg":"RS256","alg":"none"}"#;
    let token = format!("{}.{}.{}", b64(header), b64(b"{}"), b64(b"sig"));
    assert!(UnverifiedJws::parse(&token, &SigningAlgorithm::ALL).is_err());
}
