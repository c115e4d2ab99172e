//! `bearer`: a route behind `JwtLayer` against the same route without it, with an
//! RS256 and an ES256 access token, with the layer's verified-token cache (default;
//! wrk repeats one token, so this is the cache-hit path) and without it (every request
//! checks the signature).

use super::{compare, load, require_clean};
use crate::BenchResult;
use crate::child::ChildServer;
use crate::report::{Report, Row};
use crate::settings::Settings;

pub async fn run(settings: &Settings, report: &mut Report) -> BenchResult<()> {
    let mut server = ChildServer::spawn("bearer", settings.pin).await?;
    server.ready().await?;
    let http = crate::login::client(8)?;
    let tokens = server.tokens.clone();
    if tokens.is_empty() {
        report.note("bearer: skipped, the server issued no tokens");
        return Ok(());
    }
    let unauth = http.get(format!("{}/jwt", server.origin)).send().await?;
    if unauth.status() != 401 {
        return Err(format!("/jwt without a token answered {}", unauth.status()).into());
    }
    for (alg, token) in &tokens {
        let bearer = format!("Bearer {token}");
        for path in ["/plain", "/jwt", "/jwt-nocache"] {
            let status = http
                .get(format!("{}{path}", server.origin))
                .header("authorization", &bearer)
                .send()
                .await?
                .status();
            if status != 200 {
                return Err(format!("{path} with the {alg} token answered {status}").into());
            }
        }
        let arms: Vec<_> = ["/plain", "/jwt", "/jwt-nocache"]
            .iter()
            .map(|p| {
                let mut l = load(settings, &server.origin, p, None);
                l.server_pid = Some(server.pid);
                l.headers.push(("Authorization".into(), bearer.clone()));
                l
            })
            .collect();
        let cmp = compare(settings, &arms).await?;
        for (i, s) in cmp.arms.iter().enumerate() {
            require_clean(&format!("{alg} {}", arms[i].path), s)?;
        }
        report.push(
            Row::new(
                "bearer",
                format!("{alg} ({} B token): /plain (no layer)", token.len()),
            )
            .load(&cmp.arms[0])
            .figure("baseline"),
        );
        for (i, name) in [
            (1, "/jwt, JwtLayer (token cache hit)"),
            (2, "/jwt-nocache, JwtLayer (signature every request)"),
        ] {
            report.push(
                Row::new("bearer", format!("{alg}: {name}"))
                    .load(&cmp.arms[i])
                    .figure(cmp.describe(i)),
            );
        }
    }
    server.stop().await;
    Ok(())
}
