use std::time::Duration;

use serde_json::json;

use super::*;

const NOW: i64 = 1_700_000_000;
const NO_LEEWAY: Duration = Duration::ZERO;

fn claims(extra: serde_json::Value) -> IdTokenClaims {
    let mut base =
        json!({"iss": "https://op", "sub": "alice", "aud": "app", "exp": NOW + 600, "iat": NOW});
    for (k, v) in extra.as_object().unwrap() {
        base[k] = v.clone();
    }
    serde_json::from_value(base).unwrap()
}

fn five_minutes() -> StepUp {
    max_age(Duration::from_secs(300))
}

#[test]
fn a_login_within_max_age_is_fresh_enough() {
    let c = claims(json!({"auth_time": NOW - 300}));
    assert_eq!(five_minutes().check(&c, NOW, NO_LEEWAY), Ok(()));
}

#[test]
fn rejects_a_login_older_than_max_age() {
    let c = claims(json!({"auth_time": NOW - 301}));
    assert_eq!(
        five_minutes().check(&c, NOW, NO_LEEWAY),
        Err(StepUpError::LoginTooOld)
    );
}

#[test]
fn the_leeway_stretches_max_age_and_no_further() {
    let leeway = Duration::from_secs(60);
    let c = claims(json!({"auth_time": NOW - 360}));
    assert_eq!(five_minutes().check(&c, NOW, leeway), Ok(()));
    let c = claims(json!({"auth_time": NOW - 361}));
    assert_eq!(
        five_minutes().check(&c, NOW, leeway),
        Err(StepUpError::LoginTooOld)
    );
}

#[test]
fn rejects_a_missing_auth_time_when_max_age_is_required() {
    let c = claims(json!({}));
    assert_eq!(
        five_minutes().check(&c, NOW, NO_LEEWAY),
        Err(StepUpError::MissingAuthTime)
    );
}

#[test]
fn rejects_an_auth_time_in_the_future() {
    let c = claims(json!({"auth_time": NOW + 61}));
    assert_eq!(
        five_minutes().check(&c, NOW, Duration::from_secs(60)),
        Err(StepUpError::AuthTimeInFuture)
    );
}

#[test]
fn max_age_zero_accepts_only_a_login_at_this_second() {
    let zero = max_age(Duration::ZERO);
    assert_eq!(
        zero.check(&claims(json!({"auth_time": NOW})), NOW, NO_LEEWAY),
        Ok(())
    );
    assert_eq!(
        zero.check(&claims(json!({"auth_time": NOW - 1})), NOW, NO_LEEWAY),
        Err(StepUpError::LoginTooOld)
    );
}

#[test]
fn an_acr_among_the_requested_values_is_accepted() {
    let mfa = acr_values(["urn:example:mfa", "urn:example:hwk"]);
    let c = claims(json!({"acr": "urn:example:hwk"}));
    assert_eq!(mfa.check(&c, NOW, NO_LEEWAY), Ok(()));
}

#[test]
fn rejects_a_weaker_acr() {
    let mfa = acr_values(["urn:example:mfa"]);
    let c = claims(json!({"acr": "urn:example:pwd"}));
    assert_eq!(
        mfa.check(&c, NOW, NO_LEEWAY),
        Err(StepUpError::AcrNotAccepted)
    );
}

#[test]
fn rejects_a_missing_acr_when_acr_values_are_required() {
    let mfa = acr_values(["urn:example:mfa"]);
    assert_eq!(
        mfa.check(&claims(json!({})), NOW, NO_LEEWAY),
        Err(StepUpError::MissingAcr)
    );
    assert_eq!(
        mfa.check(&claims(json!({"acr": null})), NOW, NO_LEEWAY),
        Err(StepUpError::MissingAcr)
    );
}

#[test]
fn rejects_an_acr_that_is_not_a_string() {
    let mfa = acr_values(["1"]);
    let c = claims(json!({"acr": 1}));
    assert_eq!(
        mfa.check(&c, NOW, NO_LEEWAY),
        Err(StepUpError::AcrNotAccepted)
    );
}

#[test]
fn both_rules_apply_together() {
    let rule = five_minutes().and_acr_values(["urn:example:mfa"]);
    let fresh_pwd = claims(json!({"auth_time": NOW, "acr": "urn:example:pwd"}));
    assert_eq!(
        rule.check(&fresh_pwd, NOW, NO_LEEWAY),
        Err(StepUpError::AcrNotAccepted)
    );
    let old_mfa = claims(json!({"auth_time": NOW - 900, "acr": "urn:example:mfa"}));
    assert_eq!(
        rule.check(&old_mfa, NOW, NO_LEEWAY),
        Err(StepUpError::LoginTooOld)
    );
}

#[test]
#[should_panic(expected = "invalid acr value")]
fn an_acr_value_with_a_space_is_refused_when_built() {
    let _ = acr_values(["urn:a urn:b"]);
}

#[test]
#[should_panic(expected = "acr_values needs")]
fn an_empty_acr_list_is_refused_when_built() {
    let _ = acr_values(Vec::<String>::new());
}

#[test]
fn the_login_query_carries_max_age_and_acr_values() {
    let rule =
        StepUp::from_login_query("next=%2Fx&max_age=300&acr_values=urn%3Aa+urn%3Ab").unwrap();
    assert_eq!(rule.max_age(), Some(Duration::from_secs(300)));
    assert_eq!(rule.acr_values(), ["urn:a", "urn:b"]);
    let params: Vec<_> = rule.request_params().collect();
    assert_eq!(
        params,
        [
            ("max_age", "300".to_owned()),
            ("acr_values", "urn:a urn:b".to_owned())
        ]
    );
}

#[test]
fn a_malformed_login_query_parameter_is_ignored() {
    assert_eq!(StepUp::from_login_query("next=%2F"), None);
    assert_eq!(StepUp::from_login_query("max_age=-1"), None);
    assert_eq!(StepUp::from_login_query("max_age=99999999999"), None);
    assert_eq!(StepUp::from_login_query("acr_values=a%22b"), None);
    assert_eq!(StepUp::from_login_query("acr_values="), None);
    let many = ["a"; MAX_ACR_VALUES + 1].join("+");
    assert_eq!(
        StepUp::from_login_query(&format!("acr_values={many}")),
        None
    );
}

#[test]
fn the_challenge_names_acr_values_and_max_age() {
    let rule = five_minutes().and_acr_values(["urn:a", "urn:b"]);
    assert_eq!(
        rule.challenge_params(),
        ", acr_values=\"urn:a urn:b\", max_age=\"300\""
    );
}

proptest::proptest! {
    /// The login endpoint reads `max_age` / `acr_values` from anyone's query: it never
    /// panics, and whatever it accepts stays within the bounds that keep the
    /// authorization request and the RFC 9470 challenge well-formed.
    #[test]
    fn the_login_query_parser_never_panics_and_keeps_its_bounds(
        query in "((max_age|acr_values|next)=([0-9]{1,12}|[ -~]{0,40}|(%[0-9A-F]{2}|[a-z:+]){0,60})&?){0,4}|.{0,200}"
    ) {
        if let Some(rule) = StepUp::from_login_query(&query) {
            proptest::prop_assert!(rule.acr_values().len() <= MAX_ACR_VALUES);
            proptest::prop_assert!(rule.acr_values().iter().all(|v| valid_acr(v)));
            proptest::prop_assert!(rule.max_age().is_none_or(|m| m.as_secs() <= MAX_MAX_AGE));
            proptest::prop_assert!(!rule.challenge_params().contains(['\r', '\n']));
        }
    }
}
