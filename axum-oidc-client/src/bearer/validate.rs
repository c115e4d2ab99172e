//! The claim rules as pure functions of the claims, the rules and the clock.

use super::claims::{ClaimsView, markers};
use super::error::BearerError;
use crate::jose::JoseError;
use crate::jose::time::{TimeError, TimeRules};

/// The claims every RFC 9068 access token must carry (RFC 9068 section 2.2).
pub(crate) const RFC9068_CLAIMS: [&str; 7] =
    ["iss", "exp", "aud", "sub", "client_id", "iat", "jti"];

/// What a token's claims must satisfy, besides its issuer (checked when routing).
#[derive(Debug, Clone)]
pub(crate) struct ClaimRules {
    /// Accepted audiences; empty only with `insecure_skip_audience`.
    pub(crate) audiences: Box<[Box<str>]>,
    /// Clock skew tolerated for `exp` and `nbf`, seconds.
    pub(crate) leeway: i64,
    /// Claims that must be present (user-configured plus RFC 9068 ones).
    pub(crate) required: Box<[Box<str>]>,
    /// RFC 9068 mode: `typ` must be `at+jwt`.
    pub(crate) rfc9068: bool,
    /// `insecure_accept_id_tokens`: OIDC ID tokens pass as access tokens.
    pub(crate) accept_id_tokens: bool,
}

/// Checks `exp`, `nbf`, `aud` and the required claims, in that order.
pub(crate) fn check_claims(
    view: &ClaimsView<'_>,
    rules: &ClaimRules,
    now: i64,
) -> Result<(), BearerError> {
    let exp = view
        .exp
        .ok_or_else(|| BearerError::MissingClaim("exp".into()))?;
    check_time(exp, view.nbf, rules.leeway, now)?;
    if !rules.audiences.is_empty() {
        let aud = view
            .aud
            .as_ref()
            .ok_or_else(|| BearerError::MissingClaim("aud".into()))?;
        if !rules.audiences.iter().any(|a| aud.contains(a)) {
            return Err(BearerError::WrongAudience);
        }
    }
    if let Some((_, name)) = rules
        .required
        .iter()
        .enumerate()
        .find(|(i, _)| view.present & (1 << i) == 0)
    {
        return Err(BearerError::MissingClaim(name.to_string()));
    }
    Ok(())
}

/// `exp` must lie after `now - leeway` (RFC 7519 section 4.1.4); `nbf`, when present,
/// at or before `now + leeway` (section 4.1.5).
pub(crate) fn check_time(
    exp: i64,
    nbf: Option<i64>,
    leeway: i64,
    now: i64,
) -> Result<(), BearerError> {
    let time = TimeRules { now, leeway };
    time.check_exp(exp)
        .and_then(|()| nbf.map_or(Ok(()), |nbf| time.check_nbf(nbf)))
        .map_err(|e| match e {
            TimeError::Expired => BearerError::Expired,
            _ => BearerError::NotYetValid,
        })
}

/// Refuses an OIDC ID token presented as an access token.
///
/// A token typed `at+jwt` is an access token (RFC 9068 section 2.1). Any other token
/// is an ID token, and refused, when it carries a claim only ID tokens carry:
/// `nonce` (OIDC Core 2), `at_hash` or `c_hash` (OIDC Core 3.1.3.6, 3.3.2.11), or
/// `auth_time` with an `azp` that is one of its audiences and no `scope` (an ID
/// token's `azp` is the client it was issued to, OIDC Core 2). ID tokens are meant
/// for the client, not for a resource server: they reach the browser (for example
/// as `id_token_hint` of RP-initiated logout), so accepting them would let anyone
/// who saw one call the API.
pub(crate) fn check_not_id_token(
    view: &ClaimsView<'_>,
    typ: Option<&str>,
    rules: &ClaimRules,
) -> Result<(), BearerError> {
    if rules.accept_id_tokens || typ.is_some_and(|t| media_type(t).eq_ignore_ascii_case("at+jwt")) {
        return Ok(());
    }
    let m = view.markers;
    let hashes = m & (markers::NONCE | markers::AT_HASH | markers::C_HASH) != 0;
    let azp_is_audience = view
        .azp
        .as_ref()
        .zip(view.aud.as_ref())
        .is_some_and(|(azp, aud)| aud.contains(&azp.0));
    let authenticated_client =
        m & markers::AUTH_TIME != 0 && m & markers::SCOPE == 0 && azp_is_audience;
    if hashes || authenticated_client {
        Err(BearerError::IdToken)
    } else {
        Ok(())
    }
}

/// A media type without its optional `application/` prefix (RFC 7515 section 4.1.9).
fn media_type(t: &str) -> &str {
    t.get(..12)
        .filter(|p| p.eq_ignore_ascii_case("application/"))
        .map_or(t, |_| &t[12..])
}

/// The header `typ` rule (RFC 8725 section 3.11, RFC 9068 sections 2.1 and 4).
///
/// In RFC 9068 mode `typ` must be `at+jwt` (the `application/` prefix is optional,
/// RFC 7515 section 4.1.9; media types compare case-insensitively). Otherwise a
/// missing `typ`, `JWT` and `at+jwt` pass, and every other explicitly typed JWT
/// (`…+jwt`, such as `logout+jwt` or `dpop+jwt`) is refused: it is some other kind
/// of token.
pub(crate) fn check_typ(typ: Option<&str>, rfc9068: bool) -> Result<(), BearerError> {
    let t = typ.map(media_type);
    let ok = match t {
        Some(t) if t.eq_ignore_ascii_case("at+jwt") => true,
        _ if rfc9068 => false,
        None => true,
        Some(t) => !t
            .get(t.len().saturating_sub(4)..)
            .is_some_and(|s| s.eq_ignore_ascii_case("+jwt")),
    };
    if ok {
        Ok(())
    } else {
        Err(BearerError::Jose(JoseError::WrongType))
    }
}

#[cfg(test)]
mod tests {
    use super::super::claims::parse;
    use super::*;

    const NOW: i64 = 1_000_000;

    fn rules() -> ClaimRules {
        ClaimRules {
            audiences: vec!["api".into()].into(),
            leeway: 60,
            required: Box::new([]),
            rfc9068: false,
            accept_id_tokens: false,
        }
    }

    fn check(payload: &str, rules: &ClaimRules) -> Result<(), BearerError> {
        let v = parse(payload.as_bytes(), &rules.required)?;
        check_claims(&v, rules, NOW)
    }

    #[test]
    fn accepts_valid_claims() {
        check(r#"{"exp":1000100,"aud":["x","api"]}"#, &rules()).unwrap();
    }

    #[test]
    fn rejects_token_without_exp() {
        let e = check(r#"{"aud":"api"}"#, &rules()).unwrap_err();
        assert!(matches!(e, BearerError::MissingClaim(n) if n == "exp"));
    }

    #[test]
    fn rejects_expired_token_beyond_the_leeway_only() {
        check(r#"{"exp":999941,"aud":"api"}"#, &rules()).unwrap();
        let e = check(r#"{"exp":999940,"aud":"api"}"#, &rules()).unwrap_err();
        assert!(matches!(e, BearerError::Expired));
    }

    #[test]
    fn rejects_nbf_in_the_future_beyond_the_leeway_only() {
        check(r#"{"exp":2000000,"nbf":1000060,"aud":"api"}"#, &rules()).unwrap();
        let e = check(r#"{"exp":2000000,"nbf":1000061,"aud":"api"}"#, &rules()).unwrap_err();
        assert!(matches!(e, BearerError::NotYetValid));
    }

    #[test]
    fn rejects_wrong_or_missing_audience() {
        let e = check(r#"{"exp":2000000,"aud":["apix"]}"#, &rules()).unwrap_err();
        assert!(matches!(e, BearerError::WrongAudience));
        let e = check(r#"{"exp":2000000}"#, &rules()).unwrap_err();
        assert!(matches!(e, BearerError::MissingClaim(n) if n == "aud"));
        let skip = ClaimRules {
            audiences: Box::new([]),
            ..rules()
        };
        check(r#"{"exp":2000000}"#, &skip).unwrap();
    }

    #[test]
    fn rejects_missing_required_claim() {
        let r = ClaimRules {
            required: vec!["sub".into(), "scope".into()].into(),
            ..rules()
        };
        check(r#"{"exp":2000000,"aud":"api","sub":"u","scope":""}"#, &r).unwrap();
        let e = check(r#"{"exp":2000000,"aud":"api","sub":"u"}"#, &r).unwrap_err();
        assert!(matches!(e, BearerError::MissingClaim(n) if n == "scope"));
    }

    #[test]
    fn typ_rules_follow_rfc_9068_and_explicit_typing() {
        for ok in [
            None,
            Some("JWT"),
            Some("at+jwt"),
            Some("application/AT+JWT"),
        ] {
            check_typ(ok, false).unwrap();
        }
        for bad in ["logout+jwt", "application/dpop+jwt", "secevent+JWT"] {
            assert!(check_typ(Some(bad), false).is_err(), "{bad}");
        }
        check_typ(Some("at+jwt"), true).unwrap();
        check_typ(Some("application/at+jwt"), true).unwrap();
        for bad in [None, Some("JWT"), Some("at+jwt2"), Some("application/")] {
            assert!(check_typ(bad, true).is_err(), "{bad:?}");
        }
    }

    fn id_token_check(
        payload: &str,
        typ: Option<&str>,
        rules: &ClaimRules,
    ) -> Result<(), BearerError> {
        let v = parse(payload.as_bytes(), &rules.required)?;
        check_not_id_token(&v, typ, rules)
    }

    #[test]
    fn each_id_token_marker_alone_refuses_an_untyped_token() {
        for marker in [
            r#""nonce":"n""#,
            r#""at_hash":"h""#,
            r#""c_hash":"h""#,
            r#""auth_time":1,"azp":"api""#,
        ] {
            let p = format!(r#"{{"aud":"api",{marker}}}"#);
            let e = id_token_check(&p, Some("JWT"), &rules()).unwrap_err();
            assert!(matches!(e, BearerError::IdToken), "{marker}");
            id_token_check(&p, Some("application/at+jwt"), &rules()).unwrap();
            let lax = ClaimRules {
                accept_id_tokens: true,
                ..rules()
            };
            id_token_check(&p, None, &lax).unwrap();
        }
        // auth_time alone, azp for another party, or a scope: an access token.
        for p in [
            r#"{"aud":"api","auth_time":1}"#,
            r#"{"aud":"api","auth_time":1,"azp":"web"}"#,
            r#"{"aud":"api","auth_time":1,"azp":"api","scope":"read"}"#,
            r#"{"aud":"api","auth_time":1,"azp":"api","scp":["read"]}"#,
            r#"{"aud":"api","nonce":null}"#,
        ] {
            id_token_check(p, None, &rules()).unwrap();
        }
    }
}
