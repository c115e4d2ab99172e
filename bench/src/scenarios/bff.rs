//! `bff`: one upstream handler called directly (`/__bench/upstream`, outside the
//! layer) and through the backend-for-frontend proxy (`/bff/api/upstream`: CSRF
//! header check, session read, access token attached, a second HTTP hop to the same
//! server), in one run, with a warm, really logged-in session. The figure is
//! proxied ÷ direct.

use super::{Rig, RigOptions, compare, require_clean};
use crate::BenchResult;
use crate::report::{Report, Row};
use crate::settings::Settings;

pub async fn run(settings: &Settings, report: &mut Report) -> BenchResult<()> {
    let rig = Rig::start(settings, RigOptions::memory(), |c| c).await?;
    let cookie = rig.login("alice").await?;
    rig.expect("/__bench/upstream", Some(&cookie), 200).await?;
    // Without the CSRF header the proxy refuses.
    rig.expect("/bff/api/upstream", Some(&cookie), 403).await?;
    let proxied = rig
        .http
        .get(format!("{}/bff/api/upstream", rig.server.origin))
        .header("cookie", &cookie)
        .header("x-csrf", "1")
        .send()
        .await?
        .status();
    if proxied != 200 {
        return Err(format!("/bff/api/upstream answered {proxied}").into());
    }
    let direct = rig.load(settings, "/__bench/upstream", Some(&cookie));
    let mut through = rig.load(settings, "/bff/api/upstream", Some(&cookie));
    through.headers.push(("X-CSRF".into(), "1".into()));
    let arms = [direct, through];
    let cmp = compare(settings, &arms).await?;
    for (i, s) in cmp.arms.iter().enumerate() {
        require_clean(&format!("bff {}", arms[i].path), s)?;
    }
    report.push(
        Row::new("bff", "/__bench/upstream (direct, no layer)")
            .load(&cmp.arms[0])
            .figure("baseline"),
    );
    report.push(
        Row::new(
            "bff",
            "/bff/api/upstream (proxied with the session's token)",
        )
        .load(&cmp.arms[1])
        .figure(cmp.describe(1)),
    );
    rig.server.stop().await;
    Ok(())
}
