//! Which trusted issuer a token's `iss` selects: an exact issuer first, then a
//! multi-tenant template whose shape `iss` has, checked against the token's `tid`
//! (see [`crate::issuer`]).

use super::BearerError;
use super::keys::Issuer;

/// The issuer `iss` selects, with its index. An exact issuer wins; else the first
/// template `iss` is an issuer of, whose rule (`tid` present, plain, matching `iss`,
/// allowed) must hold ([`BearerError::Tenant`]); else [`BearerError::UnknownIssuer`].
pub(crate) fn select<'i>(
    issuers: &'i [Issuer],
    iss: &str,
    tid: Option<&str>,
) -> Result<(usize, &'i Issuer), BearerError> {
    if let Some(exact) = issuers
        .iter()
        .enumerate()
        .find(|(_, i)| i.template.is_none() && *i.iss == *iss)
    {
        return Ok(exact);
    }
    for (index, issuer) in issuers.iter().enumerate() {
        if let Some(template) = &issuer.template
            && template.tenant_of(iss).is_some()
        {
            template.check(iss, tid).map_err(BearerError::Tenant)?;
            return Ok((index, issuer));
        }
    }
    Err(BearerError::UnknownIssuer)
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use jsonwebtoken::DecodingKey;

    use super::*;
    use crate::IssuerError;
    use crate::bearer::HmacAlgorithm;
    use crate::bearer::keys::IssuerKeys;
    use crate::issuer::IssuerTemplate;

    const TEMPLATE: &str = "https://login.microsoftonline.com/{tenantid}/v2.0";

    fn issuer(iss: &str, template: Option<IssuerTemplate>) -> Issuer {
        Issuer {
            iss: iss.into(),
            template: template.map(Arc::new),
            keys: IssuerKeys::Hmac {
                algorithm: HmacAlgorithm::HS256,
                key: DecodingKey::from_secret(&[7; 32]),
            },
        }
    }

    fn issuers() -> Vec<Issuer> {
        let template = IssuerTemplate::new(TEMPLATE, false)
            .unwrap()
            .with_allowed_tenants(["t1", "t2"])
            .unwrap();
        vec![
            issuer("https://op.example", None),
            issuer(TEMPLATE, Some(template)),
            // An exact issuer of the template's shape wins over the template.
            issuer("https://login.microsoftonline.com/t9/v2.0", None),
        ]
    }

    fn tenant_iss(t: &str) -> String {
        format!("https://login.microsoftonline.com/{t}/v2.0")
    }

    #[test]
    fn selects_the_template_for_an_allowed_tenant_and_exact_issuers_first() {
        let issuers = issuers();
        assert_eq!(select(&issuers, "https://op.example", None).unwrap().0, 0);
        assert_eq!(
            select(&issuers, &tenant_iss("t1"), Some("t1")).unwrap().0,
            1
        );
        assert_eq!(
            select(&issuers, &tenant_iss("t2"), Some("t2")).unwrap().0,
            1
        );
        assert_eq!(select(&issuers, &tenant_iss("t9"), None).unwrap().0, 2);
    }

    #[test]
    fn rejects_a_tenant_issuer_whose_tid_differs() {
        let e = select(&issuers(), &tenant_iss("t1"), Some("t2")).unwrap_err();
        assert!(
            matches!(e, BearerError::Tenant(IssuerError::TenantMismatch)),
            "{e:?}"
        );
    }

    #[test]
    fn rejects_a_tenant_issuer_without_tid() {
        let e = select(&issuers(), &tenant_iss("t1"), None).unwrap_err();
        assert!(
            matches!(e, BearerError::Tenant(IssuerError::MissingTenant)),
            "{e:?}"
        );
    }

    #[test]
    fn rejects_a_tid_that_is_not_plain() {
        let e = select(&issuers(), &tenant_iss("t1"), Some("t1/../t2")).unwrap_err();
        assert!(
            matches!(e, BearerError::Tenant(IssuerError::InvalidTenant)),
            "{e:?}"
        );
    }

    #[test]
    fn rejects_a_tenant_outside_the_allow_list() {
        let e = select(&issuers(), &tenant_iss("t3"), Some("t3")).unwrap_err();
        assert!(
            matches!(e, BearerError::Tenant(IssuerError::TenantNotAllowed)),
            "{e:?}"
        );
    }

    #[test]
    fn an_issuer_of_neither_kind_is_unknown() {
        for iss in [
            "https://evil.example",
            TEMPLATE,
            "https://login.microsoftonline.com/a/b/v2.0",
        ] {
            let e = select(&issuers(), iss, Some("t1")).unwrap_err();
            assert!(matches!(e, BearerError::UnknownIssuer), "{iss}: {e:?}");
        }
    }
}
