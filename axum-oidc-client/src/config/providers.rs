//! The providers of one configuration: one unnamed provider (the single-provider
//! builder), or a named set of them (RFC 9700 section 4.4: each with its own redirect
//! URI, so that a response is bound to the provider it came from).

use std::sync::Arc;

use url::Url;

use super::{ConfigError, ProviderCell};
use crate::health::DiscoveryHealth;

/// The longest provider name.
pub(crate) const MAX_PROVIDER_NAME: usize = 32;

/// One provider of the set.
#[derive(Debug, Clone)]
pub(crate) struct ProviderEntry {
    /// `None` for the provider of the single-provider builder.
    pub name: Option<Arc<str>>,
    /// What the chooser page shows; the name when not set.
    pub display_name: Arc<str>,
    /// The provider, fixed or discovered in the background.
    pub cell: ProviderCell,
    /// `redirect_uri` (RFC 6749 section 3.1.2): `{base}/callback`, or
    /// `{base}/callback/NAME` for a named provider.
    pub redirect_uri: Url,
}

impl ProviderEntry {
    /// The name, `None` for the single provider of the plain builder.
    pub fn name(&self) -> Option<&str> {
        self.name.as_deref()
    }
}

/// The providers, in the order they were configured; never empty.
#[derive(Debug, Clone)]
pub(crate) struct Providers {
    entries: Vec<ProviderEntry>,
}

impl Providers {
    /// The set; `entries` must not be empty.
    pub fn new(entries: Vec<ProviderEntry>) -> Self {
        debug_assert!(!entries.is_empty());
        Self { entries }
    }

    /// Every provider, in configuration order.
    pub fn all(&self) -> &[ProviderEntry] {
        &self.entries
    }

    /// The first provider: the only one of a single-provider configuration, and the
    /// one of a session stored before sessions recorded their provider.
    pub fn first(&self) -> &ProviderEntry {
        &self.entries[0]
    }

    /// The only provider, when there is exactly one.
    pub fn only(&self) -> Option<&ProviderEntry> {
        match self.entries.as_slice() {
            [one] => Some(one),
            _ => None,
        }
    }

    /// Whether the providers are named ([`with_provider`](crate::OAuthConfigurationBuilder::with_provider)):
    /// their redirect URIs are `{base}/callback/NAME` and sessions are keyed by issuer.
    pub fn are_named(&self) -> bool {
        self.first().name.is_some()
    }

    /// The provider named `name`.
    pub fn get(&self, name: &str) -> Option<&ProviderEntry> {
        self.entries.iter().find(|e| e.name() == Some(name))
    }

    /// The provider a route or a record names: `None` is the first provider (the
    /// single one, or a record from before records named their provider).
    pub fn named(&self, name: Option<&str>) -> Option<&ProviderEntry> {
        match name {
            None => Some(self.first()),
            Some(n) => self.get(n),
        }
    }

    /// The providers whose configured issuer is `iss` (OIDC Core 3.1.3.7 step 2).
    pub fn by_issuer(&self, iss: &str) -> Vec<&ProviderEntry> {
        self.entries
            .iter()
            .filter(|e| e.cell.issuer() == Some(iss))
            .collect()
    }

    /// The providers whose tokens may carry `iss`: those with that issuer, and those
    /// with a multi-tenant template that `iss` fills with a plain tenant (the token's
    /// `tid` and the allow-list are checked when it is verified).
    pub fn by_token_issuer(&self, iss: &str) -> Vec<&ProviderEntry> {
        self.entries
            .iter()
            .filter(|e| {
                e.cell.issuer() == Some(iss)
                    || e.cell
                        .issuer_template()
                        .is_some_and(|t| t.tenant_of(iss).is_some())
            })
            .collect()
    }

    /// The provider of a stored session: the one it names, else (a record from before
    /// records named their provider) the first one with its issuer, else the first.
    /// `None` when it names a provider no longer configured.
    pub fn of_record(&self, record: &crate::session::SessionRecord) -> Option<&ProviderEntry> {
        match record.provider.as_deref() {
            Some(name) => self.get(name),
            None => Some(
                self.entries
                    .iter()
                    .find(|e| e.cell.issuer() == Some(record.claims.iss.as_str()))
                    .unwrap_or_else(|| self.first()),
            ),
        }
    }

    /// Starts every provider's background discovery.
    pub fn start_background(&self) {
        for e in &self.entries {
            e.cell.start_background();
        }
    }

    /// How discovery stands: the single provider's, or for several the worst of
    /// theirs (pending before discovered, the most failures), so readiness covers
    /// every provider.
    pub fn health(&self) -> DiscoveryHealth {
        let mut worst = self.first().cell.health();
        for e in &self.entries[1..] {
            let h = e.cell.health();
            if rank(&h) > rank(&worst) {
                worst = h;
            }
        }
        worst
    }
}

/// How bad a discovery state is, to pick the worst of several.
fn rank(h: &DiscoveryHealth) -> (u8, u32) {
    match h {
        DiscoveryHealth::Pending {
            failed_attempts, ..
        } => (2, *failed_attempts),
        DiscoveryHealth::Discovered {
            failed_refreshes, ..
        } => (1, *failed_refreshes),
        _ => (0, 0),
    }
}

/// Checks a provider name: 1 to 32 of `a-z`, `0-9`, `-` and `_`, so that it is a
/// path segment and a query value as it is.
pub(crate) fn check_name(name: &str) -> Result<(), ConfigError> {
    let ok = !name.is_empty()
        && name.len() <= MAX_PROVIDER_NAME
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_');
    if ok {
        Ok(())
    } else {
        Err(ConfigError::Invalid {
            name: "provider name",
            reason: format!(
                "{:?} is not 1 to {MAX_PROVIDER_NAME} characters of a-z, 0-9, - and _",
                name.chars().take(64).collect::<String>()
            ),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn provider_names_are_short_lowercase_path_segments() {
        for good in ["a", "google", "corp-sso", "entra_2", &"x".repeat(32)] {
            assert!(check_name(good).is_ok(), "{good}");
        }
        for bad in [
            "",
            "Google",
            "a b",
            "a/b",
            "a.b",
            "ä",
            &"x".repeat(33),
            "a?b",
        ] {
            let e = check_name(bad).unwrap_err();
            assert!(
                matches!(
                    &e,
                    ConfigError::Invalid {
                        name: "provider name",
                        ..
                    }
                ),
                "{bad}: {e:?}"
            );
        }
    }

    #[tokio::test]
    async fn a_record_finds_its_provider_by_name_else_by_issuer_else_the_first() {
        let p = |iss: &str| {
            crate::ProviderSettings::new()
                .with_issuer(iss)
                .with_client_id("c")
                .with_client_secret("s")
        };
        let config = crate::OAuthConfigurationBuilder::default()
            .with_app_url("https://app.example")
            .with_provider("a", p("https://a.example"))
            .with_provider("b", p("https://b.example"))
            .build()
            .unwrap();
        let providers = &config.inner.providers;
        let mut record = crate::session::tests::record("alice", None);
        let name = |r: &crate::session::SessionRecord| providers.of_record(r).map(|e| e.name());
        // A record from before records named their provider: its issuer's.
        Arc::make_mut(&mut record.claims).iss = "https://b.example".into();
        assert_eq!(name(&record), Some(Some("b")));
        Arc::make_mut(&mut record.claims).iss = "https://gone.example".into();
        assert_eq!(name(&record), Some(Some("a")));
        // A record naming its provider: that one, or none when it is gone.
        record.provider = Some("b".into());
        assert_eq!(name(&record), Some(Some("b")));
        record.provider = Some("removed".into());
        assert_eq!(name(&record), None);
        assert!(providers.are_named());
        assert!(providers.only().is_none());
        assert!(matches!(
            providers.health(),
            DiscoveryHealth::Pending { .. }
        ));
    }
}
