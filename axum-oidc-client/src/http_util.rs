//! Small helpers for the outgoing HTTP calls to the provider.

use std::time::Instant;

use crate::observe::{self, ProviderEndpoint};

/// Sends a request to the provider, timed for
/// [`PROVIDER_REQUEST_SECONDS`](crate::observe::PROVIDER_REQUEST_SECONDS): from the
/// send until the response is dropped, so the body read ([`read_limited`]) counts
/// too. A request that gets no response is recorded at once.
pub(crate) async fn send(
    req: reqwest::RequestBuilder,
    endpoint: ProviderEndpoint,
) -> reqwest::Result<reqwest::Response> {
    let started = Instant::now();
    match req.send().await {
        Ok(mut resp) => {
            resp.extensions_mut().insert(Timing {
                endpoint,
                started: Some(started),
            });
            Ok(resp)
        }
        Err(e) => {
            observe::provider_request(endpoint, started.elapsed());
            Err(e)
        }
    }
}

/// Records the time of a call to the provider when its response is dropped (after its
/// body was read, or when the caller gave up on it). A copy records nothing.
struct Timing {
    endpoint: ProviderEndpoint,
    started: Option<Instant>,
}

impl Clone for Timing {
    fn clone(&self) -> Self {
        Self {
            endpoint: self.endpoint,
            started: None,
        }
    }
}

impl Drop for Timing {
    fn drop(&mut self) {
        if let Some(started) = self.started.take() {
            observe::provider_request(self.endpoint, started.elapsed());
        }
    }
}

/// Reads a response body, failing once it exceeds `max` bytes.
pub(crate) async fn read_limited(mut resp: reqwest::Response, max: usize) -> Result<Vec<u8>, ()> {
    if resp.content_length().is_some_and(|n| n > max as u64) {
        return Err(());
    }
    let mut body = Vec::new();
    while let Some(chunk) = resp.chunk().await.map_err(|_| ())? {
        if body.len() + chunk.len() > max {
            return Err(());
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// Whether a URL may be used: https, or http towards this machine.
pub(crate) fn url_is_acceptable(u: &url::Url) -> bool {
    match u.scheme() {
        "https" => true,
        "http" => {
            matches!(
                u.host(),
                Some(url::Host::Domain("localhost"))
                    | Some(url::Host::Ipv4(std::net::Ipv4Addr::LOCALHOST))
                    | Some(url::Host::Ipv6(std::net::Ipv6Addr::LOCALHOST))
            ) || u
                .host()
                .is_some_and(|h| matches!(h, url::Host::Ipv4(ip) if ip.is_loopback()))
        }
        _ => false,
    }
}
