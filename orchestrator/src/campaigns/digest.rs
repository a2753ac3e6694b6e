//! The daily campaign digest: at 20:00 in each campaign's time zone, one email to the site's
//! notification recipients with the campaign's progress, the day's outcomes and its qualified
//! leads. Queued as an `email.send` job whose idempotency key names the campaign and the local
//! date, so however many ticks or nodes ask, a day gets one digest.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use chrono::{DateTime, NaiveTime, Utc};

use super::{Campaign, CampaignStatus};
use crate::storage::jobs::{EMAIL, EmailJob, PushOptions};
use crate::storage::{StorageError, Store};

/// Local time the digest goes out.
pub const DIGEST_AT: NaiveTime = NaiveTime::from_hms_opt(20, 0, 0).expect("valid");

/// Queues the digests due at `now`; returns the emails queued (already queued ones are not).
pub async fn queue_digests(
    store: &Store,
    now: DateTime<Utc>,
) -> Result<Vec<EmailJob>, StorageError> {
    let mut out = Vec::new();
    for c in store
        .campaigns()
        .all_active_since(now - chrono::Duration::days(1))
        .await?
    {
        let Ok(window) = c.spec.window() else {
            continue;
        };
        let local = now.with_timezone(&window.tz);
        if local.time() < DIGEST_AT {
            continue;
        }
        // Finished campaigns get the digest of the day they finished, not after.
        if !matches!(c.status, CampaignStatus::Running | CampaignStatus::Paused)
            && c.updated_at.with_timezone(&window.tz).date_naive() != local.date_naive()
        {
            continue;
        }
        let Some(site) = store.sites().get(c.site_id).await? else {
            continue;
        };
        let n = &site.settings.notifications;
        if !n.daily_digest || n.email_to.is_empty() {
            continue;
        }
        let date = local.date_naive();
        let key = format!("digest:{}:{date}", c.id);
        let job = EmailJob {
            site_id: c.site_id,
            template: "daily_digest".into(),
            to: n.email_to.clone(),
            subject: format!("{}: campaign digest for {date}", c.spec.name),
            text: body(store, &c, &window.tz, date).await?,
            key: key.clone(),
            attempt: 1,
        };
        let opts = PushOptions {
            idempotency_key: Some(format!("email:{key}:1")),
            delay: None,
            max_attempts: Some(1),
        };
        if store.jobs().push(EMAIL, &job, opts).await? {
            out.push(job);
        }
    }
    Ok(out)
}

async fn body(
    store: &Store,
    c: &Campaign,
    tz: &chrono_tz::Tz,
    date: chrono::NaiveDate,
) -> Result<String, StorageError> {
    let p = store.campaigns().progress(c.id).await?;
    let (mut today, mut outcomes, mut qualified) = (0, BTreeMap::<String, i64>::new(), Vec::new());
    let mut after = None;
    loop {
        let page = store.leads().list(c.id, None, after, 1000).await?;
        let Some(last) = page.last() else { break };
        after = Some(last.id);
        for l in &page {
            if l.attempts == 0 || l.updated_at.with_timezone(tz).date_naive() != date {
                continue;
            }
            today += 1;
            *outcomes
                .entry(
                    l.last_outcome
                        .clone()
                        .unwrap_or_else(|| "in progress".into()),
                )
                .or_default() += 1;
            let status = l
                .result
                .as_ref()
                .and_then(|r| r["qualification"]["status"].as_str())
                .map(str::to_lowercase);
            if let Some(s) = status.filter(|s| s == "hot" || s == "qualified") {
                qualified.push(format!(
                    "  {} {} ({s})",
                    l.phone,
                    l.name.as_deref().unwrap_or("")
                ));
            }
        }
        if page.len() < 1000 {
            break;
        }
    }
    let mut t = String::new();
    let _ = writeln!(
        t,
        "Campaign: {} ({})",
        c.spec.name,
        crate::storage::calls::to_text(&c.status)
    );
    let _ = writeln!(t, "Day: {date} ({})\n", c.spec.time_zone);
    let _ = writeln!(
        t,
        "Leads: {} total, {} done, {} waiting, {} on a call now, {} skipped (do not call)",
        p.total, p.done, p.pending, p.dialing, p.skipped
    );
    let _ = writeln!(t, "Leads with an attempt today: {today}");
    for (o, n) in &outcomes {
        let _ = writeln!(t, "  {o}: {n}");
    }
    let _ = writeln!(t, "\nQualified today: {}", qualified.len());
    for q in &qualified {
        let _ = writeln!(t, "{}", q.trim_end());
    }
    Ok(t)
}
