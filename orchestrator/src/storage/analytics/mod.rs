//! Call analytics (docs/analytics.md is the contract): the summary and timeline figures of a
//! site's calls. Every figure is a sum of mergeable [`Partial`]s: hours already past come from
//! hourly rollups ([`rollups`]), the rest is computed in SQL from the `calls` table (with the
//! per-call columns fixed by [`CallsRepo::finalize`](super::calls::CallsRepo::finalize)) and
//! the turns ([`raw`]). The summary is the timeline with one bucket, so both always agree.

mod partial;
mod raw;
#[cfg(test)]
mod rollup_tests;
pub(crate) mod rollups;
mod window;

use std::collections::BTreeMap;

use chrono::{DateTime, TimeZone, Utc};
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

use super::{StorageError, Store};
use crate::calls::CallChannel;
use crate::with_pool;
pub use partial::{DURATION_BIN_MS, MAX_DROP_WITHIN_S, nearest_rank};
use partial::{Partial, PartialSum};
use window::{Arg, Window, bind_all};

/// Every outcome key of `outcomes` (always all present, zeros included).
pub const OUTCOME_KEYS: &[&str] = &[
    "completed",
    "transferred",
    "transfer_failed",
    "caller_hung_up",
    "rejected",
    "no_answer",
    "busy",
    "failed",
    "declined",
    "invalid_number",
    "hung_up_by_api",
    "in_progress",
];

/// Language reported for calls and turns whose language is unknown (empty).
pub const UNKNOWN_LANGUAGE: &str = "und";

/// What to count: calls of one site (or every site) started in `[from, to)`.
#[derive(Debug, Clone, PartialEq)]
pub struct AnalyticsQuery {
    pub site_id: Option<Uuid>,
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
    pub channel: Option<CallChannel>,
    pub campaign_id: Option<Uuid>,
    /// A caller hang-up within this many seconds of the answer is a drop.
    pub drop_within_s: u32,
}

/// Timeline bucket width; buckets are aligned to UTC hours / days.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Interval {
    Hour,
    Day,
}

impl Interval {
    pub fn millis(self) -> i64 {
        match self {
            Interval::Hour => 3_600_000,
            Interval::Day => 86_400_000,
        }
    }
}

/// Caller hang-ups counted as drops, by reason. Each drop has exactly one reason, taken in this
/// order: during holding, then within the first seconds, then before resolution.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, ToSchema)]
pub struct DropBreakdown {
    /// The caller hung up while a holding message was the call's state.
    pub during_holding: i64,
    /// The caller hung up before the answer or within `drop_within_s` of it.
    pub within_first_seconds: i64,
    /// The caller hung up with their last words unanswered (or no bot turn at all).
    pub before_resolution: i64,
}

/// The figures of a window: the whole summary, or one timeline bucket.
#[derive(Debug, Clone, Default, PartialEq, Serialize, ToSchema)]
pub struct Figures {
    /// Calls started in the window.
    pub total_calls: i64,
    /// Of those, answered (the bot was connected).
    pub answered_calls: i64,
    /// Of those, ended.
    pub ended_calls: i64,
    /// Of those, not ended yet.
    pub in_progress_calls: i64,
    /// Answered, ended without transfer, not a drop, and not failed: `completed`,
    /// `hung_up_by_api`, or a caller hang-up that is not a drop.
    pub ai_handled_calls: i64,
    /// Outcome `transferred`.
    pub transferred_calls: i64,
    /// Outcome `transfer_failed`.
    pub transfer_failed_calls: i64,
    /// Caller hang-ups that are drops (see `drops`).
    pub dropped_calls: i64,
    pub drops: DropBreakdown,
    /// `dropped_calls / ended_calls`, 4 decimals; null when no call ended.
    pub drop_rate: Option<f64>,
    /// Answered calls that played at least one holding message.
    pub holding_calls: i64,
    /// `holding_calls / answered_calls`, 4 decimals; null when none answered.
    pub holding_rate: Option<f64>,
    /// Bot turns with a measured response time.
    pub response_turns: i64,
    /// Mean response time (end of caller speech → first bot audio packet), 0.1 ms.
    pub avg_response_ms: Option<f64>,
    /// Nearest-rank 50th percentile of the response times.
    pub p50_response_ms: Option<i64>,
    /// Nearest-rank 90th percentile of the response times.
    pub p90_response_ms: Option<i64>,
    /// Answered and ended calls (those with a duration).
    pub duration_calls: i64,
    /// Mean duration (answered_at → ended_at), 0.1 ms.
    pub avg_duration_ms: Option<f64>,
    /// Nearest-rank 50th percentile of the durations, in whole seconds (rounded down) as ms.
    pub p50_duration_ms: Option<i64>,
    /// Nearest-rank 90th percentile of the durations, in whole seconds (rounded down) as ms.
    pub p90_duration_ms: Option<i64>,
    /// Most calls open at the same time within the window (calls started earlier included).
    pub peak_concurrent_calls: i64,
    /// Calls per outcome; every outcome key present, `in_progress` for calls not ended.
    pub outcomes: BTreeMap<String, i64>,
}

/// Calls and turns per language.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct LanguageUsage {
    /// Language code ("en", "hi", "pa"); `und` when unknown.
    pub language: String,
    /// Calls whose (final) language is this one.
    pub calls: i64,
    /// Transcript turns (caller and bot) in this language, of the window's calls.
    pub turns: i64,
}

/// One timeline bucket `[start, end)` (the first and last only count their part inside the window).
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct Bucket {
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
    #[serde(flatten)]
    pub figures: Figures,
}

/// A live count of one site.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, ToSchema)]
pub struct LiveSite {
    pub site_id: Uuid,
    /// Calls not ended.
    pub current_calls: i64,
    /// By state: `ringing`, `active`, `holding`, `transferring` (all present).
    pub by_state: BTreeMap<String, i64>,
    /// By channel: `sip`, `widget` (all present).
    pub by_channel: BTreeMap<String, i64>,
}

/// Bucket width of the summary: one bucket wider than any window.
const SINGLE: i64 = i64::MAX / 4;

/// Analytics reads: `store.analytics()`.
pub struct AnalyticsRepo<'a> {
    store: &'a Store,
}

/// One hour in milliseconds: the rollups' granularity.
pub(crate) const HOUR_MS: i64 = 3_600_000;

fn millis(t: DateTime<Utc>) -> i64 {
    t.timestamp_millis()
}

fn at_millis(ms: i64) -> DateTime<Utc> {
    Utc.timestamp_millis_opt(ms).single().unwrap_or_default()
}

impl<'a> AnalyticsRepo<'a> {
    pub(super) fn new(store: &'a Store) -> Self {
        Self { store }
    }

    /// Figures of the whole window (one bucket) and its calls and turns per language.
    pub async fn summary(
        &self,
        q: &AnalyticsQuery,
    ) -> Result<(Figures, Vec<LanguageUsage>), StorageError> {
        Ok(summary_of(
            q,
            self.partials(q, millis(q.from), SINGLE).await?,
        ))
    }

    /// Figures per `interval` bucket, every bucket present. The first bucket starts at `from`
    /// truncated to the interval (UTC).
    pub async fn timeline(
        &self,
        q: &AnalyticsQuery,
        interval: Interval,
    ) -> Result<Vec<Bucket>, StorageError> {
        let step = interval.millis();
        let base = millis(q.from).div_euclid(step) * step;
        let n = Self::bucket_count(q, interval);
        let mut parts = self.partials(q, base, step).await?;
        Ok((0..n)
            .map(|i| Bucket {
                start: at_millis(base + i * step),
                end: at_millis(base + (i + 1) * step),
                figures: parts
                    .remove(&i)
                    .unwrap_or_default()
                    .figures(q.drop_within_s),
            })
            .collect())
    }

    /// Number of buckets `interval` makes of the window (to refuse absurd requests early).
    pub fn bucket_count(q: &AnalyticsQuery, interval: Interval) -> i64 {
        let step = interval.millis();
        let base = millis(q.from).div_euclid(step) * step;
        (millis(q.to) - base + step - 1).div_euclid(step).max(1)
    }

    /// The window's partials per bucket `(started − base) / step`. For one site, the full past
    /// hours come from the hourly rollups and only the window's partial first and last hours
    /// (and the current hour) from the calls; across every site, all from the calls.
    async fn partials(
        &self,
        q: &AnalyticsQuery,
        base: i64,
        step: i64,
    ) -> Result<BTreeMap<i64, Partial>, StorageError> {
        let now_hour = rollups::floor_hour(millis(Utc::now()));
        let h0 = rollups::floor_hour(millis(q.from) + HOUR_MS - 1);
        let h1 = rollups::floor_hour(millis(q.to)).min(now_hour);
        if q.site_id.is_none() || h0 >= h1 {
            return self.raw(q, base, step).await;
        }
        let mut out: BTreeMap<i64, PartialSum> = BTreeMap::new();
        let mut add = |bucket: i64, p: Partial| out.entry(bucket).or_default().add(p);
        if millis(q.from) < h0 {
            for (b, p) in self
                .raw(
                    &AnalyticsQuery {
                        to: at_millis(h0),
                        ..q.clone()
                    },
                    base,
                    step,
                )
                .await?
            {
                add(b, p);
            }
        }
        for (hour, p) in self.hours(q, h0, h1).await? {
            add((hour - base).div_euclid(step), p);
        }
        if h1 < millis(q.to) {
            for (b, p) in self
                .raw(
                    &AnalyticsQuery {
                        from: at_millis(h1),
                        ..q.clone()
                    },
                    base,
                    step,
                )
                .await?
            {
                add(b, p);
            }
        }
        Ok(out.into_iter().map(|(b, sum)| (b, sum.finish())).collect())
    }

    /// The figures straight from the calls, without rollups (to check the rollups against).
    #[doc(hidden)]
    pub async fn summary_from_calls(
        &self,
        q: &AnalyticsQuery,
    ) -> Result<(Figures, Vec<LanguageUsage>), StorageError> {
        Ok(summary_of(q, self.raw(q, millis(q.from), SINGLE).await?))
    }

    /// Calls not ended now, of the site (channel, campaign), whenever they started.
    pub async fn current(&self, q: &AnalyticsQuery) -> Result<i64, StorageError> {
        let w = Window::any_time(q);
        let sql = format!(
            "SELECT COUNT(*) FROM calls c WHERE {} AND c.ended_at IS NULL",
            w.where_sql()
        );
        let n = with_pool!(self.store, |pool| {
            bind_all!(
                sqlx::query_scalar::<_, i64>(sqlx::AssertSqlSafe(sql.clone())),
                w.args
            )
            .fetch_one(pool)
            .await
        })?;
        Ok(n)
    }

    /// Calls not ended, per site (one site, or every site with a live call), by state and channel.
    pub async fn live(&self, site_id: Option<Uuid>) -> Result<Vec<LiveSite>, StorageError> {
        let mut w = Window::empty();
        if let Some(s) = site_id {
            w.push("c.site_id = ", Arg::Uuid(s));
        }
        let sql = format!(
            "SELECT c.site_id, c.state, c.channel, COUNT(*) FROM calls c WHERE {} AND c.ended_at IS NULL GROUP BY 1, 2, 3",
            w.where_sql()
        );
        let rows: Vec<(Uuid, String, String, i64)> = with_pool!(self.store, |pool| {
            bind_all!(
                sqlx::query_as::<_, (Uuid, String, String, i64)>(sqlx::AssertSqlSafe(sql.clone())),
                w.args
            )
            .fetch_all(pool)
            .await
        })?;
        let empty = |site_id| LiveSite {
            site_id,
            current_calls: 0,
            by_state: ["ringing", "active", "holding", "transferring"]
                .iter()
                .map(|k| (k.to_string(), 0))
                .collect(),
            by_channel: ["sip", "widget"]
                .iter()
                .map(|k| (k.to_string(), 0))
                .collect(),
        };
        let mut sites: BTreeMap<Uuid, LiveSite> = BTreeMap::new();
        if let Some(s) = site_id {
            sites.insert(s, empty(s));
        }
        for (site, st, ch, n) in rows {
            let e = sites.entry(site).or_insert_with(|| empty(site));
            e.current_calls += n;
            *e.by_state.entry(st).or_default() += n;
            *e.by_channel.entry(ch).or_default() += n;
        }
        Ok(sites.into_values().collect())
    }
}

/// The figures and languages of the summary's single bucket.
fn summary_of(
    q: &AnalyticsQuery,
    mut buckets: BTreeMap<i64, Partial>,
) -> (Figures, Vec<LanguageUsage>) {
    let p = buckets.remove(&0).unwrap_or_default();
    (p.figures(q.drop_within_s), languages(&p))
}

/// Calls and turns per language, most calls first (unknown = [`UNKNOWN_LANGUAGE`]).
fn languages(p: &Partial) -> Vec<LanguageUsage> {
    let name = |l: &String| {
        if l.is_empty() {
            UNKNOWN_LANGUAGE.to_string()
        } else {
            l.clone()
        }
    };
    let mut by: BTreeMap<String, (i64, i64)> = BTreeMap::new();
    for (l, n) in &p.call_languages {
        by.entry(name(l)).or_default().0 += n;
    }
    for (l, n) in &p.turn_languages {
        by.entry(name(l)).or_default().1 += n;
    }
    let mut v: Vec<LanguageUsage> = by
        .into_iter()
        .map(|(language, (calls, turns))| LanguageUsage {
            language,
            calls,
            turns,
        })
        .collect();
    v.sort_by(|a, b| {
        b.calls
            .cmp(&a.calls)
            .then(b.turns.cmp(&a.turns))
            .then(a.language.cmp(&b.language))
    });
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::calls::{
        CallEvent, CallEventKind, CallInfo, CallState, Direction, Speaker, TurnLatency, TurnRecord,
    };
    use crate::storage_test;

    // A call left open by a node that died is ended at start-up (`end_orphans`); its analytics
    // columns are fixed then too: duration, holding state at the end, last speaker.
    storage_test!(orphans_are_finalized_for_analytics, |store| {
        let site = store
            .sites()
            .create(&crate::tenancy::NewSite {
                name: "Orphans".into(),
                settings: Default::default(),
            })
            .await
            .unwrap()
            .site_id;
        let started = Utc::now() - chrono::Duration::minutes(5);
        let mut call = CallInfo {
            id: Uuid::now_v7(),
            site_id: site,
            channel: CallChannel::Sip,
            direction: Direction::Inbound,
            caller: "+919800000001".into(),
            callee: "+911140000000".into(),
            flow: None,
            flow_version: None,
            campaign_id: None,
            lead_id: None,
            state: CallState::Active,
            language: "pa".into(),
            started_at: started,
            answered_at: Some(started),
            ended_at: None,
            outcome: None,
            end_reason: None,
        };
        store.calls().insert(&call).await.unwrap();
        let turn = |seq, speaker| TurnRecord {
            seq,
            speaker,
            text: "…".into(),
            language: "pa".into(),
            confidence: 0.9,
            started_at: started,
            ended_at: started,
            interrupted: false,
            latency: (speaker == Speaker::Bot).then(|| TurnLatency {
                first_packet_ms: Some(650),
                ..Default::default()
            }),
        };
        store
            .calls()
            .add_turn(call.id, &turn(0, Speaker::Caller))
            .await
            .unwrap();
        store
            .calls()
            .add_turn(call.id, &turn(1, Speaker::Bot))
            .await
            .unwrap();
        for (seq, kind) in [
            CallEventKind::Holding {
                level: 1,
                text: "ek second".into(),
            },
            CallEventKind::State {
                state: CallState::Holding,
            },
        ]
        .into_iter()
        .enumerate()
        {
            store
                .calls()
                .add_event(
                    seq as u32,
                    &CallEvent {
                        call_id: call.id,
                        site_id: site,
                        at: started,
                        kind,
                    },
                )
                .await
                .unwrap();
        }
        let q = AnalyticsQuery {
            site_id: Some(site),
            from: started - chrono::Duration::hours(1),
            to: Utc::now() + chrono::Duration::hours(1),
            channel: None,
            campaign_id: None,
            drop_within_s: 10,
        };
        // While live, the call's turns count; its duration and holding count once it has ended.
        let (f, _) = store.analytics().summary(&q).await.unwrap();
        assert_eq!(
            (
                f.in_progress_calls,
                f.duration_calls,
                f.holding_calls,
                f.response_turns,
                f.p50_response_ms
            ),
            (1, 0, 0, 1, Some(650))
        );
        assert_eq!(store.analytics().current(&q).await.unwrap(), 1);

        assert_eq!(
            store.calls().end_orphans("node restarted").await.unwrap(),
            1
        );
        let (f, languages) = store.analytics().summary(&q).await.unwrap();
        assert_eq!(
            (
                f.in_progress_calls,
                f.ended_calls,
                f.duration_calls,
                f.holding_calls
            ),
            (0, 1, 1, 1)
        );
        assert!(f.avg_duration_ms.unwrap() >= 300_000.0, "{f:?}");
        assert_eq!(f.outcomes["failed"], 1);
        assert_eq!(
            languages,
            vec![LanguageUsage {
                language: "pa".into(),
                calls: 1,
                turns: 2
            }]
        );
        assert_eq!(store.analytics().current(&q).await.unwrap(), 0);
        // Ended while holding with the bot's answer last: a failure, not a drop nor AI-handled.
        assert_eq!((f.dropped_calls, f.ai_handled_calls), (0, 0));
        call.outcome = Some(crate::calls::CallOutcome::CallerHungUp);
        call.state = CallState::Ended;
        call.ended_at = Some(Utc::now());
        store.calls().update(&call).await.unwrap();
        let (f, _) = store.analytics().summary(&q).await.unwrap();
        assert_eq!((f.dropped_calls, f.drops.during_holding), (1, 1));
    });

    #[test]
    fn timeline_buckets_are_aligned_to_utc() {
        let q = AnalyticsQuery {
            site_id: None,
            from: "2026-11-21T10:30:00Z".parse().unwrap(),
            to: "2026-11-21T13:00:00Z".parse().unwrap(),
            channel: None,
            campaign_id: None,
            drop_within_s: 10,
        };
        assert_eq!(AnalyticsRepo::bucket_count(&q, Interval::Hour), 3);
        assert_eq!(AnalyticsRepo::bucket_count(&q, Interval::Day), 1);
    }
}
