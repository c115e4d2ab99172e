//! Sending logout tokens to relying parties (OpenID Connect Back-Channel
//! Logout 1.0 sections 2.5 and 2.7).

use tokio::task::JoinSet;

use crate::claims::logout_token;
use crate::state::{Counters, ProviderState};
use crate::store::Session;

/// Sends one logout token per (ended session, participating client with a
/// `backchannel_logout_uri`) concurrently, each as a form POST with the
/// client's 5 s timeout. Returns how many were answered with a 2xx status
/// (section 2.8), which is also added to the statistics.
pub(crate) async fn notify(state: &ProviderState, ended: &[Session]) -> usize {
    let mut deliveries = JoinSet::new();
    for session in ended {
        for client_id in &session.clients {
            let Some(uri) = state
                .client(client_id)
                .and_then(|c| c.backchannel_logout_uri.clone())
            else {
                continue;
            };
            let Some(token) = logout_token(state, client_id, &session.sub, &session.sid) else {
                continue;
            };
            let http = state.inner.http.clone();
            let client_id = client_id.clone();
            deliveries.spawn(async move {
                // Section 2.5: application/x-www-form-urlencoded, parameter logout_token.
                let result = http.post(&uri).form(&[("logout_token", token.as_str())]).send().await;
                match result {
                    Ok(response) if response.status().is_success() => true,
                    Ok(response) => {
                        let status = response.status();
                        tracing::warn!(client = %client_id, %status, "back-channel logout rejected");
                        false
                    }
                    Err(error) => {
                        // The error names the URL but never carries the token.
                        tracing::warn!(client = %client_id, %error, "back-channel logout failed");
                        false
                    }
                }
            });
        }
    }
    let mut delivered = 0;
    while let Some(outcome) = deliveries.join_next().await {
        if matches!(outcome, Ok(true)) {
            delivered += 1;
            Counters::bump(&state.counters().backchannel_logouts_sent);
        }
    }
    delivered
}

impl ProviderState {
    /// Ends every provider session of the user `sub`, revokes the grants
    /// issued in them, and sends logout tokens (with `sid` and `sub`) to each
    /// client that took part in one of those sessions and registered a
    /// `backchannel_logout_uri`. Returns the number of logout tokens
    /// delivered successfully.
    pub async fn logout_subject(&self, sub: &str) -> usize {
        let ended: Vec<Session> = {
            let mut store = self.store();
            let sids: Vec<String> = (store.sessions.values())
                .filter(|s| s.sub == sub)
                .map(|s| s.sid.clone())
                .collect();
            sids.iter()
                .filter_map(|sid| store.end_session(sid))
                .collect()
        };
        notify(self, &ended).await
    }
}
