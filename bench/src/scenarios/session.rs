//! `session`: the same trivial handler as `/plain` (outside the layer) and as
//! `/authed` (behind the layer, `AccessToken` extractor) with a warm, really
//! logged-in session, per store. Both arms send the same headers (session cookie and
//! `Accept: application/json`), so they differ only in the layer and the extractor.

use super::{Rig, RigOptions, compare, require_clean};
use crate::BenchResult;
use crate::report::{Report, Row};
use crate::settings::Settings;

struct StoreCase {
    label: String,
    url: String,
    goal: f64,
    /// Also measure the `AuthSession` extractor.
    with_auth_session: bool,
}

fn cases(settings: &Settings, report: &mut Report) -> Vec<StoreCase> {
    let mut cases = vec![StoreCase {
        label: "memory".into(),
        url: "memory".into(),
        goal: 0.90,
        with_auth_session: true,
    }];
    if !cfg!(feature = "remote-stores") {
        report.note("session: built without the remote-stores feature; remote stores skipped");
        return cases;
    }
    let mut remote = |label: &str, url: Option<&String>, var: &str| match url {
        Some(url) => cases.push(StoreCase {
            label: label.into(),
            url: url.clone(),
            goal: 0.85,
            with_auth_session: false,
        }),
        None => report.note(format!("session: {label} skipped ({var} not set)")),
    };
    remote("redis", settings.redis.as_ref(), "BENCH_REDIS_URL");
    remote("postgres", settings.postgres.as_ref(), "BENCH_POSTGRES_URL");
    remote("mysql", settings.mysql.as_ref(), "BENCH_MYSQL_URL");
    remote("sqlite", Some(&settings.sqlite), "BENCH_SQLITE_URL");
    // Two-tier, the recommended production setup, over every shared store.
    for (label, url, var) in [
        ("two-tier over redis", &settings.redis, "BENCH_REDIS_URL"),
        (
            "two-tier over postgres",
            &settings.postgres,
            "BENCH_POSTGRES_URL",
        ),
        ("two-tier over mysql", &settings.mysql, "BENCH_MYSQL_URL"),
    ] {
        match url {
            Some(url) => cases.push(StoreCase {
                label: label.into(),
                url: format!("tiered+{url}"),
                goal: 0.90,
                with_auth_session: true,
            }),
            None => report.note(format!("session: {label} skipped ({var} not set)")),
        }
    }
    cases
}

pub async fn run(settings: &Settings, report: &mut Report) -> BenchResult<()> {
    for case in cases(settings, report) {
        eprintln!("  store {}", case.label);
        if let Err(e) = run_store(settings, report, &case).await {
            report.note(format!("session/{}: could not run: {e}", case.label));
        }
    }
    if let Some(path) = settings
        .sqlite
        .strip_prefix("sqlite://")
        .and_then(|p| p.split('?').next())
        && std::env::var("BENCH_SQLITE_URL").is_err()
    {
        let _ = std::fs::remove_file(path);
    }
    Ok(())
}

async fn run_store(settings: &Settings, report: &mut Report, case: &StoreCase) -> BenchResult<()> {
    let rig = Rig::start(
        settings,
        RigOptions {
            store: case.url.clone(),
            ..RigOptions::memory()
        },
        |c| c,
    )
    .await?;
    let cookie = rig.login("alice").await?;
    rig.expect("/authed", Some(&cookie), 200).await?;
    rig.expect("/authed", None, 401).await?;
    rig.expect("/plain", Some(&cookie), 200).await?;
    let mut arms = vec![
        rig.load(settings, "/plain", Some(&cookie)),
        rig.load(settings, "/authed", Some(&cookie)),
    ];
    if case.with_auth_session {
        rig.expect("/authed-session", Some(&cookie), 200).await?;
        arms.push(rig.load(settings, "/authed-session", Some(&cookie)));
    }
    let cmp = compare(settings, &arms).await?;
    for (i, s) in cmp.arms.iter().enumerate() {
        require_clean(&format!("{} {}", case.label, arms[i].path), s)?;
    }
    report.push(
        Row::new("session", format!("{}: /plain (no layer)", case.label))
            .load(&cmp.arms[0])
            .figure("baseline"),
    );
    let names = ["/authed (AccessToken)", "/authed-session (AuthSession)"];
    for (i, name) in names.iter().enumerate().take(arms.len() - 1) {
        let i = i + 1;
        let ratio = cmp.ratios[i];
        let mut row = Row::new("session", format!("{}: {name}", case.label))
            .load(&cmp.arms[i])
            .figure(cmp.describe(i));
        if i == 1 {
            row = row.goal(format!("≥ {:.2}", case.goal), ratio >= case.goal);
        }
        report.push(row);
    }
    rig.server.stop().await;
    Ok(())
}
