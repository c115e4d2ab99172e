//! `public`: a route behind the layer whose handler asks for no session, without a
//! cookie, against the same handler outside the layer.

use super::{Rig, RigOptions, compare, require_clean};
use crate::BenchResult;
use crate::report::{Report, Row};
use crate::settings::Settings;

pub async fn run(settings: &Settings, report: &mut Report) -> BenchResult<()> {
    let rig = Rig::start(settings, RigOptions::memory(), |c| c).await?;
    rig.expect("/public", None, 200).await?;
    rig.expect("/plain", None, 200).await?;
    let arms = [
        rig.load(settings, "/plain", None),
        rig.load(settings, "/public", None),
    ];
    let cmp = compare(settings, &arms).await?;
    require_clean("/plain", &cmp.arms[0])?;
    require_clean("/public", &cmp.arms[1])?;
    report.push(
        Row::new("public", "/plain (no layer, no cookie)")
            .load(&cmp.arms[0])
            .figure("baseline"),
    );
    let loss = 1.0 - cmp.ratios[1];
    report.push(
        Row::new("public", "/public (behind the layer, no cookie)")
            .load(&cmp.arms[1])
            .figure(format!("{}; loss {:.1} %", cmp.describe(1), loss * 100.0))
            .goal("loss ≤ 3 %", loss <= 0.03),
    );
    rig.server.stop().await;
    Ok(())
}
