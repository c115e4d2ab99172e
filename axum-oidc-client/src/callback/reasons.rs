//! The reason code and class of each callback failure (see [`crate::FailureClass`]).
//! The checks themselves stay where they are; this only names their outcome.

use crate::failure::Failure;
use crate::id_token::IdTokenError;
use crate::userinfo::UserInfoError;

/// An authorization error response (RFC 6749 4.1.2.1, OIDC Core 3.1.2.6).
pub(super) fn authorization_error(code: &str) -> Failure {
    match code {
        "access_denied" => Failure::user("access_denied"),
        "login_required"
        | "consent_required"
        | "interaction_required"
        | "account_selection_required" => Failure::user("interaction_required"),
        "unauthorized_client" => Failure::configuration("unauthorized_client"),
        "invalid_client" => Failure::configuration("invalid_client"),
        "invalid_scope" => Failure::configuration("invalid_scope"),
        "unsupported_response_type" => Failure::configuration("unsupported_response_type"),
        "invalid_request" | "invalid_request_uri" | "request_not_supported" => {
            Failure::configuration("authorization_request_rejected")
        }
        "server_error" | "temporarily_unavailable" => {
            Failure::provider_outage("provider_unavailable")
        }
        _ => Failure::user("provider_error"),
    }
}

/// An ID token from the token endpoint comes over TLS from the configured provider:
/// an issuer, audience or time mismatch there is the configuration's (or the
/// clock's), a bad signature or nonce looks forged.
pub(super) fn id_token_failure(e: &IdTokenError) -> Failure {
    match e {
        IdTokenError::Keys(_) => Failure::provider_outage("jwks_unavailable"),
        IdTokenError::WrongIssuer => Failure::configuration("id_token_wrong_issuer"),
        IdTokenError::TenantNotAllowed => Failure::user("tenant_not_allowed"),
        IdTokenError::WrongAudience
        | IdTokenError::MissingAzp
        | IdTokenError::WrongAzp
        | IdTokenError::UntrustedAudience => Failure::configuration("id_token_wrong_audience"),
        IdTokenError::Expired | IdTokenError::IssuedInFuture | IdTokenError::IssuedTooLongAgo => {
            Failure::configuration("id_token_clock_skew")
        }
        IdTokenError::MissingNonce | IdTokenError::NonceMismatch => Failure::user("nonce_mismatch"),
        IdTokenError::Authentication(_) => Failure::user("step_up_not_met"),
        _ => Failure::user("id_token_invalid"),
    }
}

pub(super) fn userinfo_failure(e: &UserInfoError) -> Failure {
    match e {
        UserInfoError::Http(_) => Failure::provider_outage("userinfo_unreachable"),
        UserInfoError::Status(s) if *s >= 500 => Failure::provider_outage("userinfo_unavailable"),
        UserInfoError::Status(_) => Failure::configuration("userinfo_rejected"),
        UserInfoError::NotConfigured => Failure::configuration("userinfo_not_configured"),
        UserInfoError::Invalid | UserInfoError::MissingSub | UserInfoError::SubMismatch => {
            Failure::user("userinfo_invalid")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::callback::CallbackError;

    #[test]
    fn every_callback_failure_maps_to_the_class_intended() {
        use crate::failure::FailureClass::{Configuration, Outage, User};
        let token = |status: u16, body: &[u8]| {
            CallbackError::Token(crate::token::parse_token_response(status, body).unwrap_err())
        };
        let cases = [
            (CallbackError::MalformedQuery, "malformed_response", User),
            (CallbackError::MissingState, "missing_state", User),
            (CallbackError::StateMismatch, "state_mismatch", User),
            (CallbackError::LoginExpired, "login_expired", User),
            (CallbackError::MissingIss, "missing_iss", User),
            (CallbackError::WrongIss, "wrong_iss", User),
            (CallbackError::Replayed, "replayed", User),
            (CallbackError::MissingCode, "missing_code", User),
            (CallbackError::ProviderMismatch, "provider_mismatch", User),
            (
                CallbackError::StepUpUserChanged,
                "step_up_user_changed",
                User,
            ),
            (
                CallbackError::IdToken(IdTokenError::Authentication(
                    crate::access::StepUpError::MissingAuthTime,
                )),
                "step_up_not_met",
                User,
            ),
            (
                CallbackError::ProviderError("access_denied".into()),
                "access_denied",
                User,
            ),
            (
                CallbackError::ProviderError("login_required".into()),
                "interaction_required",
                User,
            ),
            (
                CallbackError::ProviderError("weird".into()),
                "provider_error",
                User,
            ),
            (
                CallbackError::ProviderError("unauthorized_client".into()),
                "unauthorized_client",
                Configuration,
            ),
            (
                CallbackError::ProviderError("server_error".into()),
                "provider_unavailable",
                Outage,
            ),
            (
                CallbackError::RedirectUriRefused("invalid_request".into()),
                "redirect_uri_mismatch",
                Configuration,
            ),
            (
                token(401, br#"{"error":"invalid_client"}"#),
                "invalid_client",
                Configuration,
            ),
            (
                token(400, br#"{"error":"invalid_grant"}"#),
                "invalid_grant",
                User,
            ),
            (token(502, b""), "token_endpoint_unavailable", Outage),
            (
                CallbackError::MissingIdToken,
                "missing_id_token",
                Configuration,
            ),
            (
                CallbackError::IdToken(IdTokenError::WrongIssuer),
                "id_token_wrong_issuer",
                Configuration,
            ),
            (
                CallbackError::IdToken(IdTokenError::WrongAudience),
                "id_token_wrong_audience",
                Configuration,
            ),
            (
                CallbackError::IdToken(IdTokenError::Expired),
                "id_token_clock_skew",
                Configuration,
            ),
            (
                CallbackError::IdToken(IdTokenError::NonceMismatch),
                "nonce_mismatch",
                User,
            ),
            (
                CallbackError::IdToken(IdTokenError::AtHashMismatch),
                "id_token_invalid",
                User,
            ),
            (
                CallbackError::UserInfo(UserInfoError::Status(503)),
                "userinfo_unavailable",
                Outage,
            ),
            (
                CallbackError::UserInfo(UserInfoError::SubMismatch),
                "userinfo_invalid",
                User,
            ),
            (CallbackError::Busy, "busy", Outage),
            (
                CallbackError::NotDiscovered,
                "provider_not_discovered",
                Outage,
            ),
        ];
        for (e, reason, class) in cases {
            let f = e.failure();
            assert_eq!((f.reason(), f.class()), (reason, class), "{e}");
        }
    }
}
