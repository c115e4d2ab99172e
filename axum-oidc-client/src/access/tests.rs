//! Every rule kind, met and failed.

use serde_json::{Value, json};

use super::*;

fn missing(path: &str) -> AccessError {
    AccessError::Missing {
        path: ClaimPath::parse(path).unwrap(),
    }
}

#[test]
fn exists_is_met_by_any_non_null_value() {
    for v in [json!("x"), json!(0), json!(false), json!([]), json!({})] {
        assert_eq!(claim("c").exists().check(&json!({ "c": v })), Ok(()));
    }
}

#[test]
fn exists_fails_for_an_absent_or_null_claim() {
    let rule = claim("c").exists();
    assert_eq!(rule.check(&json!({})), Err(missing("c")));
    assert_eq!(rule.check(&json!({"c": null})), Err(missing("c")));
    assert_eq!(rule.check(&json!("not an object")), Err(missing("c")));
}

#[test]
fn equals_compares_exact_json() {
    let rule = claim("email_verified").equals(true);
    assert_eq!(rule.check(&json!({"email_verified": true})), Ok(()));
    let not_equal = Err(AccessError::NotEqual {
        path: ClaimPath::name("email_verified"),
    });
    assert_eq!(rule.check(&json!({"email_verified": "true"})), not_equal);
    assert_eq!(rule.check(&json!({"email_verified": false})), not_equal);
    assert_eq!(rule.check(&json!({})), Err(missing("email_verified")));
}

#[test]
fn contains_finds_the_value_in_an_array_or_as_the_single_value() {
    let rule = claim("groups").contains("admin");
    assert_eq!(rule.check(&json!({"groups": ["staff", "admin"]})), Ok(()));
    assert_eq!(rule.check(&json!({"groups": "admin"})), Ok(()));
}

#[test]
fn contains_fails_for_another_value_a_case_change_or_an_unsplit_string() {
    let rule = claim("groups").contains("admin");
    let not_contained = Err(AccessError::NotContained {
        path: ClaimPath::name("groups"),
    });
    for groups in [
        json!(["staff"]),
        json!([]),
        json!(["Admin"]),
        json!("admin staff"),
        json!(["admin-x"]),
        json!({"admin": true}),
        json!(1),
        json!([["admin"]]),
    ] {
        assert_eq!(
            rule.check(&json!({ "groups": groups })),
            not_contained,
            "{groups}"
        );
    }
    assert_eq!(rule.check(&json!({})), Err(missing("groups")));
    assert_eq!(rule.check(&json!({"groups": null})), Err(missing("groups")));
}

#[test]
fn contains_any_needs_one_of_the_values() {
    let rule = claim("roles").contains_any(["admin", "owner"]);
    assert!(rule.is_met(&json!({"roles": ["viewer", "owner"]})));
    assert!(matches!(
        rule.check(&json!({"roles": ["viewer"]})),
        Err(AccessError::NoneMet(v)) if v.len() == 2
    ));
}

#[test]
fn a_nested_keycloak_path_is_checked_at_its_level_only() {
    let rule = claim("realm_access.roles").contains("admin");
    assert!(rule.is_met(&json!({"realm_access": {"roles": ["admin"]}})));
    // The same value elsewhere does not count.
    assert_eq!(
        rule.check(&json!({"roles": ["admin"], "realm_access": {}})),
        Err(missing("realm_access.roles"))
    );
    assert_eq!(
        rule.check(&json!({"realm_access.roles": ["admin"]})),
        Err(missing("realm_access.roles"))
    );
}

#[test]
fn a_namespaced_auth0_claim_is_one_name_not_a_path() {
    let rule = claim(["https://example.com/roles"]).contains("admin");
    assert!(rule.is_met(&json!({"https://example.com/roles": ["admin"]})));
    let nested = json!({"https://example": {"com/roles": ["admin"]}});
    assert!(matches!(
        rule.check(&nested),
        Err(AccessError::Missing { .. })
    ));
}

fn verified(email: &str) -> Value {
    json!({"email": email, "email_verified": true})
}

#[test]
fn email_domain_allows_a_verified_address_in_a_listed_domain() {
    let rule = email_domain(["example.com", "Example.ORG"]);
    for email in ["alice@example.com", "bob@EXAMPLE.com", "c@example.org"] {
        assert_eq!(rule.check(&verified(email)), Ok(()), "{email}");
    }
}

#[test]
fn email_domain_refuses_other_domains_and_lookalikes() {
    let rule = email_domain(["example.com"]);
    for email in [
        "eve@evil.com",
        "eve@sub.example.com",
        "eve@example.com.evil",
        "eve@evil-example.com",
        "eve@evilexample.com",
        "\"eve@example.com\"@evil.com",
        "example.com",
        "@example.com",
        "eve@example.com ",
        "",
    ] {
        assert_eq!(
            rule.check(&verified(email)),
            Err(AccessError::EmailDomainNotAllowed),
            "{email}"
        );
    }
    assert_eq!(
        rule.check(&json!({"email": ["a@example.com"], "email_verified": true})),
        Err(AccessError::EmailDomainNotAllowed)
    );
}

#[test]
fn email_domain_refuses_an_unverified_or_missing_address() {
    let rule = email_domain(["example.com"]);
    for claims in [
        json!({"email": "carol@example.com", "email_verified": false}),
        json!({"email": "carol@example.com", "email_verified": "true"}),
        json!({"email": "carol@example.com"}),
    ] {
        assert_eq!(
            rule.check(&claims),
            Err(AccessError::EmailNotVerified),
            "{claims}"
        );
    }
    assert_eq!(
        rule.check(&json!({"email_verified": true})),
        Err(missing("email"))
    );
}

#[test]
fn the_insecure_email_rule_skips_only_the_verification() {
    let rule = insecure_email_domain_unverified(["example.com"]);
    assert!(rule.is_met(&json!({"email": "carol@example.com", "email_verified": false})));
    assert_eq!(
        rule.check(&json!({"email": "carol@evil.com"})),
        Err(AccessError::EmailDomainNotAllowed)
    );
}

#[test]
#[should_panic(expected = "invalid email domain")]
fn an_email_domain_with_an_at_sign_is_refused() {
    let _ = email_domain(["@example.com"]);
}

#[test]
#[should_panic(expected = "at least one domain")]
fn an_empty_domain_list_is_refused() {
    let _ = email_domain(Vec::<String>::new());
}

#[test]
fn all_of_reports_the_first_rule_that_fails() {
    let rule = all_of([
        claim("groups").contains("staff"),
        claim("tenant").equals("t1"),
        claim("acr").exists(),
    ]);
    assert!(rule.is_met(&json!({"groups": ["staff"], "tenant": "t1", "acr": "x"})));
    assert_eq!(
        rule.check(&json!({"groups": ["staff"], "tenant": "t2"})),
        Err(AccessError::NotEqual {
            path: ClaimPath::name("tenant")
        })
    );
    assert_eq!(
        rule.check(&json!({"groups": ["staff"], "tenant": "t1"})),
        Err(missing("acr"))
    );
}

#[test]
fn any_of_reports_why_every_alternative_failed() {
    let rule = claim("groups")
        .contains("admin")
        .or(email_domain(["example.com"]));
    assert!(rule.is_met(&json!({"groups": ["admin"]})));
    assert!(rule.is_met(&verified("a@example.com")));
    assert_eq!(
        rule.check(&json!({"groups": ["staff"], "email": "b@example.com"})),
        Err(AccessError::NoneMet(vec![
            AccessError::NotContained {
                path: ClaimPath::name("groups")
            },
            AccessError::EmailNotVerified,
        ]))
    );
}

#[test]
fn and_needs_both_sides() {
    let rule = claim("groups")
        .contains("admin")
        .and(email_domain(["example.com"]));
    assert!(
        rule.is_met(
            &json!({"groups": ["admin"], "email": "a@example.com", "email_verified": true})
        )
    );
    assert!(
        !rule.is_met(&json!({"groups": ["admin"], "email": "a@evil.com", "email_verified": true}))
    );
    assert!(!rule.is_met(&verified("a@example.com")));
}

#[test]
#[should_panic(expected = "all_of needs at least one")]
fn an_empty_all_of_is_refused_because_it_would_allow_everyone() {
    let _ = all_of([]);
}

#[test]
#[should_panic(expected = "any_of needs at least one")]
fn an_empty_any_of_is_refused() {
    let _ = any_of([]);
}

#[test]
fn errors_and_debug_never_show_claim_values() {
    let rule = claim("groups").contains("admin");
    let err = rule
        .check(&json!({"groups": ["secret-group-name"]}))
        .unwrap_err();
    assert!(!format!("{err} {err:?}").contains("secret-group-name"));
    assert_eq!(format!("{rule:?}"), r#"claim(groups).contains("admin")"#);
}

/// Claims sets shaped like tokens' payloads: nested objects and arrays of scalars.
fn arbitrary_claims() -> impl proptest::strategy::Strategy<Value = Value> {
    use proptest::prelude::*;
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        "[a-z@.]{0,12}".prop_map(Value::from),
    ];
    leaf.prop_recursive(4, 64, 6, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..6).prop_map(Value::from),
            proptest::collection::btree_map("[a-z_.@]{0,8}", inner, 0..6)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

proptest::proptest! {
    #[test]
    fn checking_any_claims_never_panics_and_any_of_agrees_with_or(claims in arbitrary_claims()) {
        let a = claim("groups").contains("admin");
        let b = email_domain(["example.com"]);
        let c = claim("realm_access.roles").contains("admin");
        let either = a.clone().or(b.clone());
        proptest::prop_assert_eq!(either.is_met(&claims), a.is_met(&claims) || b.is_met(&claims));
        let both = a.clone().and(c.clone());
        proptest::prop_assert_eq!(both.is_met(&claims), a.is_met(&claims) && c.is_met(&claims));
        let _ = claim("x").exists().check(&claims);
        let _ = claim("x.y").equals(1).check(&claims);
    }

    #[test]
    fn parsing_any_dotted_path_never_panics(s in "\\PC{0,40}") {
        if let Ok(p) = ClaimPath::parse(&s) {
            proptest::prop_assert_eq!(p.to_string(), s);
        }
    }
}
