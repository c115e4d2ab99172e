//! Parsing of `application/x-www-form-urlencoded` parameters from query
//! strings and request bodies, with the rules of RFC 6749 3.1 and 3.2:
//! parameters without a value count as omitted, and a parameter must not be
//! sent twice.

use std::collections::BTreeMap;

use axum::http::{HeaderMap, header};

use crate::error::OAuthError;

/// Request parameters by name.
#[derive(Debug, Default, Clone)]
pub(crate) struct Params(BTreeMap<String, String>);

impl Params {
    /// Parses urlencoded bytes. Fails with `invalid_request` on a repeated
    /// parameter.
    pub fn parse(raw: &[u8]) -> Result<Self, OAuthError> {
        let mut map = BTreeMap::new();
        for (name, value) in url::form_urlencoded::parse(raw) {
            if value.is_empty() {
                continue;
            }
            if map.insert(name.to_string(), value.to_string()).is_some() {
                return Err(OAuthError::invalid_request(format!(
                    "parameter {name} must not be repeated"
                )));
            }
        }
        Ok(Self(map))
    }

    /// Parses a form body after checking its content type (RFC 6749 3.2
    /// requires `application/x-www-form-urlencoded`).
    pub fn from_form(headers: &HeaderMap, body: &[u8]) -> Result<Self, OAuthError> {
        let content_type = headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        let essence = content_type.split(';').next().unwrap_or("").trim();
        if !body.is_empty() && !essence.eq_ignore_ascii_case("application/x-www-form-urlencoded") {
            return Err(OAuthError::invalid_request(
                "body must be application/x-www-form-urlencoded",
            ));
        }
        Self::parse(body)
    }

    /// The value of a parameter, if present and non-empty.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0.get(name).map(String::as_str)
    }

    /// The value of a required parameter, or `invalid_request`.
    pub fn require(&self, name: &str) -> Result<&str, OAuthError> {
        self.get(name)
            .ok_or_else(|| OAuthError::invalid_request(format!("missing parameter {name}")))
    }

    /// These parameters without those named in `names`.
    pub fn without(&self, names: &[&str]) -> Self {
        let mut map = self.0.clone();
        map.retain(|k, _| !names.contains(&k.as_str()));
        Self(map)
    }

    /// These parameters with `name` set to `value`.
    pub fn with(mut self, name: &str, value: &str) -> Self {
        self.0.insert(name.to_owned(), value.to_owned());
        self
    }

    /// All parameters whose name is not in `known`.
    pub fn others(&self, known: &[&str]) -> BTreeMap<String, String> {
        (self.0.iter())
            .filter(|(k, _)| !known.contains(&k.as_str()))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect()
    }
}

/// Decodes one form-urlencoded component, as used for the client id and
/// secret inside HTTP Basic credentials (RFC 6749 2.3.1). Raw `&` and `=` are
/// taken literally.
pub(crate) fn form_decode(component: &str) -> String {
    let escaped = component.replace('&', "%26").replace('=', "%3D");
    (url::form_urlencoded::parse(escaped.as_bytes()).next())
        .map(|(name, _)| name.into_owned())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repeated_parameters_are_rejected() {
        let err = Params::parse(b"a=1&a=2").expect_err("duplicate");
        assert_eq!(err.error, "invalid_request");
    }

    #[test]
    fn empty_values_count_as_omitted() {
        let params = Params::parse(b"a=&b=x&a=y").expect("parsed");
        assert_eq!(params.get("a"), Some("y"));
        assert!(params.require("c").is_err());
    }

    #[test]
    fn form_decoding_handles_plus_percent_and_raw_separators() {
        assert_eq!(form_decode("my+client%3Aid"), "my client:id");
        assert_eq!(form_decode("a=b&c"), "a=b&c");
        assert_eq!(form_decode(""), "");
    }
}
