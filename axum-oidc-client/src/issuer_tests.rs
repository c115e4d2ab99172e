use super::*;

const TEMPLATE: &str = "https://login.microsoftonline.com/{tenantid}/v2.0";
const T1: &str = "9188040d-6c67-4c5b-b112-36a304b66dad";
const T2: &str = "72f988bf-86f1-41af-91ab-2d7cd011db47";

fn template() -> IssuerTemplate {
    IssuerTemplate::new(TEMPLATE, false).unwrap()
}

fn iss(tenant: &str) -> String {
    format!("https://login.microsoftonline.com/{tenant}/v2.0")
}

fn invalid_setting(e: TemplateError) -> (&'static str, String) {
    (e.setting, e.reason)
}

#[test]
fn accepts_the_template_filled_with_the_tokens_own_tenant() {
    let t = template();
    assert_eq!(t.check(&iss(T1), Some(T1)), Ok(()));
    assert_eq!(t.check(&iss(T2), Some(T2)), Ok(()));
    assert_eq!(t.template(), TEMPLATE);
    assert_eq!(t.issuer_for(T1).as_deref(), Some(iss(T1).as_str()));
    assert_eq!(t.tenant_of(&iss(T2)), Some(T2));
}

#[test]
fn rejects_an_issuer_of_another_tenant_than_the_tid() {
    assert_eq!(
        template().check(&iss(T2), Some(T1)),
        Err(IssuerError::TenantMismatch)
    );
}

#[test]
fn rejects_an_issuer_that_is_not_the_template_at_all() {
    let t = template();
    assert_eq!(
        t.check(&format!("https://evil.example/{T1}/v2.0"), Some(T1)),
        Err(IssuerError::WrongIssuer)
    );
    // The template itself, the `common` issuer, and a trailing slash are other issuers.
    for other in [
        TEMPLATE.to_owned(),
        "https://login.microsoftonline.com/common/v2.0".to_owned(),
        format!("{}/", iss(T1)),
    ] {
        assert_ne!(t.check(&other, Some(T1)), Ok(()), "{other}");
    }
}

#[test]
fn rejects_a_token_without_tid() {
    let t = template();
    assert_eq!(t.check(&iss(T1), None), Err(IssuerError::MissingTenant));
    assert_eq!(t.check(&iss(T1), Some("")), Err(IssuerError::MissingTenant));
}

#[test]
fn rejects_a_tid_with_characters_that_reshape_the_issuer() {
    let t = template();
    for odd in [
        "a/b",
        "a?b",
        "a#b",
        "..",
        "a.b",
        "a%2Fb",
        "a@b",
        "a:b",
        "a b",
        "é",
        &"a".repeat(65),
    ] {
        let claimed = format!("https://login.microsoftonline.com/{odd}/v2.0");
        assert_eq!(
            t.check(&claimed, Some(odd)),
            Err(IssuerError::InvalidTenant),
            "{odd:?}"
        );
        assert_eq!(t.tenant_of(&claimed), None, "{odd:?}");
    }
    assert!(
        is_plain_tenant(T1) && is_plain_tenant("contoso_1") && is_plain_tenant(&"a".repeat(64))
    );
}

#[test]
fn rejects_a_tenant_outside_the_allow_list() {
    let t = template().with_allowed_tenants([T1]).unwrap();
    assert_eq!(t.check(&iss(T1), Some(T1)), Ok(()));
    assert_eq!(
        t.check(&iss(T2), Some(T2)),
        Err(IssuerError::TenantNotAllowed)
    );
    assert_eq!(t.allowed_tenants(), Some(&[T1.to_owned()][..]));
    // Compared exactly: Entra tenant ids are lower-case.
    assert_eq!(
        t.check(&iss(&T1.to_uppercase()), Some(&T1.to_uppercase())),
        Err(IssuerError::TenantNotAllowed)
    );
}

#[test]
fn exact_issuers_are_compared_exactly_and_ignore_tid() {
    let e = IssuerExpectation::Exact("https://op.example");
    assert_eq!(issuer_matches(e, "https://op.example", None), Ok(()));
    assert_eq!(
        issuer_matches(e, "https://op.example", Some("x")),
        Ok(()),
        "tid means nothing without a template"
    );
    assert_eq!(
        issuer_matches(e, "https://op.example/", None),
        Err(IssuerError::WrongIssuer)
    );
}

#[test]
fn a_refreshed_token_must_keep_the_logins_tenant() {
    let t = template();
    let original = iss(T1);
    let refreshed = IssuerExpectation::Refreshed {
        template: &t,
        original: &original,
    };
    assert_eq!(issuer_matches(refreshed, &iss(T1), Some(T1)), Ok(()));
    assert_eq!(
        issuer_matches(refreshed, &iss(T2), Some(T2)),
        Err(IssuerError::IssuerChanged)
    );
    assert_eq!(
        issuer_matches(refreshed, &iss(T1), Some(T2)),
        Err(IssuerError::TenantMismatch)
    );
}

#[test]
fn a_template_must_hold_the_placeholder_once_after_the_scheme() {
    for bad in [
        "https://login.microsoftonline.com/common/v2.0",
        "https://login.example/{tenantid}/{tenantid}",
        "{tenantid}://login.example/v2.0",
        "not a url {tenantid}",
    ] {
        let (name, reason) = invalid_setting(IssuerTemplate::new(bad, false).unwrap_err());
        assert_eq!(name, "OIDC_ISSUER_TEMPLATE", "{bad}");
        assert!(reason.contains("with_issuer_template"), "{reason}");
    }
}

#[test]
fn a_template_must_use_https_unless_allowed() {
    let plain = "http://op.example/{tenantid}/v2.0";
    assert!(IssuerTemplate::new(plain, false).is_err());
    assert!(IssuerTemplate::new(plain, true).is_ok());
    assert!(IssuerTemplate::new("http://127.0.0.1:8080/{tenantid}/v2.0", false).is_ok());
}

#[test]
fn an_allow_list_must_name_plain_tenants() {
    let (name, _) = invalid_setting(
        template()
            .with_allowed_tenants(Vec::<String>::new())
            .unwrap_err(),
    );
    assert_eq!(name, "OIDC_ALLOWED_TENANTS");
    let (_, reason) = invalid_setting(template().with_allowed_tenants([T1, "a/b"]).unwrap_err());
    assert!(reason.contains("\"a/b\""), "{reason}");
}

#[test]
fn the_response_iss_under_a_template_must_name_a_plain_tenant() {
    // The provider-level helpers are exercised through the login tests; the shape rule
    // they rely on is `tenant_of`.
    let t = template();
    assert_eq!(t.tenant_of(TEMPLATE), None);
    assert_eq!(t.tenant_of(&iss("")), None);
    assert_eq!(
        t.tenant_of("https://login.microsoftonline.com/t1/v2.0/x"),
        None
    );
}

mod properties {
    use proptest::prelude::*;

    use super::*;

    proptest! {
        /// Arbitrary `iss` and `tid` never panic, and are accepted only when `tid` is
        /// plain, allowed, and fills the template into exactly `iss`.
        #[test]
        fn accepts_only_the_template_filled_with_an_allowed_plain_tid(
            iss in ".{0,80}",
            tid in proptest::option::of("[a-zA-Z0-9_/?#.%-]{0,70}"),
            prefix_iss in any::<bool>(),
        ) {
            let t = template().with_allowed_tenants([T1, "a-b_c"]).unwrap();
            let iss = match (&tid, prefix_iss) {
                (Some(tid), true) => format!("https://login.microsoftonline.com/{tid}/v2.0"),
                _ => iss,
            };
            if t.check(&iss, tid.as_deref()).is_ok() {
                let tid = tid.unwrap();
                prop_assert!(is_plain_tenant(&tid));
                prop_assert!(t.allows(&tid));
                prop_assert_eq!(t.issuer_for(&tid), Some(iss.clone()));
                prop_assert_eq!(t.tenant_of(&iss), Some(tid.as_str()));
            }
        }

        /// The tenant read back from a filled template is the one filled in.
        #[test]
        fn tenant_of_inverts_issuer_for(tenant in "[a-zA-Z0-9_-]{1,64}") {
            let t = template();
            let iss = t.issuer_for(&tenant).unwrap();
            prop_assert_eq!(t.tenant_of(&iss), Some(tenant.as_str()));
            prop_assert_eq!(t.check(&iss, Some(&tenant)), Ok(()));
        }
    }
}
