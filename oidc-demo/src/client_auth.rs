//! OIDC_CLIENT_AUTH and OIDC_CLIENT_KEY_FILE: how the demo authenticates at the token
//! endpoint, with errors that name the variable to fix.

use std::path::Path;

use axum_oidc_client::client_auth::ClientSigningKey;
use axum_oidc_client::{ClientAuthMethod, OAuthConfigurationBuilder};

/// OIDC_CLIENT_AUTH's value as a method.
pub fn parse_method(value: &str) -> Result<ClientAuthMethod, String> {
    Ok(match value.trim() {
        "private_key_jwt" => ClientAuthMethod::PrivateKeyJwt,
        "client_secret_jwt" => ClientAuthMethod::ClientSecretJwt,
        "client_secret_basic" => ClientAuthMethod::ClientSecretBasic,
        "client_secret_post" => ClientAuthMethod::ClientSecretPost,
        "none" => ClientAuthMethod::None,
        _ => {
            return Err(format!(
                "OIDC_CLIENT_AUTH={value:?} is not a client authentication method: write \
                 private_key_jwt, client_secret_jwt, client_secret_basic, client_secret_post \
                 or none"
            ));
        }
    })
}

/// Applies OIDC_CLIENT_AUTH (`method`) and OIDC_CLIENT_KEY_FILE (`key_file`) to `b`.
pub fn apply(
    b: OAuthConfigurationBuilder,
    method: Option<&str>,
    key_file: Option<&Path>,
) -> Result<OAuthConfigurationBuilder, String> {
    let method = method.map(parse_method).transpose()?;
    let mut b = b;
    if let Some(path) = key_file {
        let pem = std::fs::read_to_string(path).map_err(|e| {
            format!(
                "OIDC_CLIENT_KEY_FILE={}: cannot be read: {e}",
                path.display()
            )
        })?;
        let key = ClientSigningKey::from_pkcs8_pem(&pem, None)
            .map_err(|e| format!("OIDC_CLIENT_KEY_FILE={}: {e}", path.display()))?;
        tracing::info!(kid = key.kid(), alg = ?key.algorithm(), "client signing key for private_key_jwt");
        b = b.with_client_signing_key(key);
    } else if method == Some(ClientAuthMethod::PrivateKeyJwt) {
        return Err(
            "OIDC_CLIENT_AUTH=private_key_jwt needs OIDC_CLIENT_KEY_FILE=<PKCS#8 PEM \
                    private key file> (convert a key with `openssl pkcs8 -topk8 -nocrypt`)"
                .into(),
        );
    }
    if let Some(m) = method {
        b = b.with_client_auth_method(m);
    }
    Ok(b)
}

#[cfg(test)]
mod tests {
    use super::*;

    const ED_PEM: &str = "-----BEGIN PRIVATE KEY-----\n\
        MC4CAQAwBQYDK2VwBCIEINTuctv5E1hK1bbY8fdp+K06/nwoy/HU++CXqI9EdVhC\n\
        -----END PRIVATE KEY-----\n";

    fn temp(name: &str, contents: &str) -> std::path::PathBuf {
        let dir =
            std::env::temp_dir().join(format!("oidc-demo-client-auth-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let p = dir.join(name);
        std::fs::write(&p, contents).unwrap();
        p
    }

    #[test]
    fn an_unknown_method_names_the_variable_and_the_choices() {
        let e = parse_method("private-key-jwt").unwrap_err();
        assert!(
            e.contains("OIDC_CLIENT_AUTH") && e.contains("private_key_jwt"),
            "{e}"
        );
        assert_eq!(
            parse_method("private_key_jwt"),
            Ok(ClientAuthMethod::PrivateKeyJwt)
        );
    }

    #[test]
    fn private_key_jwt_without_a_key_file_names_oidc_client_key_file() {
        let e = apply(
            OAuthConfigurationBuilder::default(),
            Some("private_key_jwt"),
            None,
        )
        .unwrap_err();
        assert!(e.contains("OIDC_CLIENT_KEY_FILE"), "{e}");
    }

    #[test]
    fn an_unreadable_or_invalid_key_file_names_the_file() {
        let missing = Path::new("/nonexistent/client-key.pem");
        let e = apply(OAuthConfigurationBuilder::default(), None, Some(missing)).unwrap_err();
        assert!(
            e.contains("OIDC_CLIENT_KEY_FILE=/nonexistent/client-key.pem"),
            "{e}"
        );
        let bad = temp(
            "bad.pem",
            "-----BEGIN RSA PRIVATE KEY-----\nAAAA\n-----END RSA PRIVATE KEY-----\n",
        );
        let e = apply(OAuthConfigurationBuilder::default(), None, Some(&bad)).unwrap_err();
        assert!(
            e.contains("OIDC_CLIENT_KEY_FILE") && e.contains("PKCS#8"),
            "{e}"
        );
    }

    #[test]
    fn a_pkcs8_key_file_is_accepted() {
        let good = temp("good.pem", ED_PEM);
        assert!(
            apply(
                OAuthConfigurationBuilder::default(),
                Some("private_key_jwt"),
                Some(&good)
            )
            .is_ok()
        );
    }
}
