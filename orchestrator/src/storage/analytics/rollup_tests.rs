//! The rollups give exactly the figures computed straight from the calls: for pseudo-random
//! calls over three days (both channels, a campaign, every outcome, holding, hang-ups at every
//! talk time, open calls), for aligned and unaligned windows, every slice and several
//! `drop_within_s`, in the summary and in every timeline bucket — also after past hours change
//! (late turns, an outcome rewritten, a backdated call, orphans ended at start-up).

use chrono::{DateTime, Duration, Utc};
use uuid::Uuid;

use super::*;
use crate::calls::{
    CallEvent, CallEventKind, CallInfo, CallOutcome, CallState, Direction, Speaker, TurnLatency,
    TurnRecord,
};
use crate::storage_test;

/// xorshift64*: deterministic calls without a dependency on `rand`'s API.
struct Rng(u64);

impl Rng {
    fn next(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D) % n
    }
}

const OUTCOMES: [CallOutcome; 8] = [
    CallOutcome::Completed,
    CallOutcome::CallerHungUp,
    CallOutcome::CallerHungUp,
    CallOutcome::Transferred,
    CallOutcome::TransferFailed,
    CallOutcome::NoAnswer,
    CallOutcome::Failed,
    CallOutcome::HungUpByApi,
];

struct Spec {
    site: Uuid,
    channel: CallChannel,
    campaign: Option<Uuid>,
    started: DateTime<Utc>,
    answered: Option<DateTime<Utc>>,
    ended: Option<(DateTime<Utc>, CallOutcome)>,
    language: &'static str,
    /// (speaker, first_packet_ms)
    turns: Vec<(Speaker, Option<u32>)>,
    held_at_end: bool,
}

async fn write(store: &Store, s: &Spec) -> CallInfo {
    let mut c = CallInfo {
        id: Uuid::now_v7(),
        site_id: s.site,
        channel: s.channel,
        direction: if s.campaign.is_some() {
            Direction::Outbound
        } else {
            Direction::Inbound
        },
        caller: "+919800000001".into(),
        callee: "+911140000000".into(),
        flow: None,
        flow_version: None,
        campaign_id: s.campaign,
        lead_id: None,
        state: CallState::Ringing,
        language: s.language.into(),
        started_at: s.started,
        answered_at: None,
        ended_at: None,
        outcome: None,
        end_reason: None,
    };
    let calls = store.calls();
    calls.insert(&c).await.unwrap();
    let at = s.answered.unwrap_or(s.started);
    if let Some(a) = s.answered {
        c.answered_at = Some(a);
        c.state = CallState::Active;
        calls.update(&c).await.unwrap();
    }
    for (seq, (speaker, fp)) in s.turns.iter().enumerate() {
        let t = TurnRecord {
            seq: seq as u32,
            speaker: *speaker,
            text: "…".into(),
            language: s.language.into(),
            confidence: 0.9,
            started_at: at,
            ended_at: at,
            interrupted: false,
            latency: fp.map(|ms| TurnLatency {
                first_packet_ms: Some(ms),
                ..Default::default()
            }),
        };
        calls.add_turn(c.id, &t).await.unwrap();
    }
    if s.held_at_end {
        let events = [
            CallEventKind::Holding {
                level: 1,
                text: "ek second".into(),
            },
            CallEventKind::State {
                state: CallState::Holding,
            },
        ];
        for (seq, kind) in events.into_iter().enumerate() {
            calls
                .add_event(
                    seq as u32,
                    &CallEvent {
                        call_id: c.id,
                        site_id: s.site,
                        at,
                        kind,
                    },
                )
                .await
                .unwrap();
        }
    }
    if let Some((end, outcome)) = s.ended {
        c.state = CallState::Ended;
        c.ended_at = Some(end);
        c.outcome = Some(outcome);
        calls.update(&c).await.unwrap();
    }
    c
}

fn random_call(
    r: &mut Rng,
    site: Uuid,
    campaign: Uuid,
    start: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Spec {
    let span = (now - start).num_milliseconds() as u64;
    let started = start + Duration::milliseconds(r.next(span) as i64);
    let answered = (r.next(8) != 0).then(|| started + Duration::milliseconds(r.next(4000) as i64));
    // Talk times straddle drop_within_s (0 / 10 / 45 s) and the whole-second bins.
    let talk = [
        0,
        999,
        1000,
        9_999,
        10_000,
        10_001,
        44_500,
        45_000,
        61_234,
        300_000 + r.next(3_000_000) as i64,
    ][r.next(10) as usize];
    let end = answered.unwrap_or(started) + Duration::milliseconds(talk);
    let ended = (r.next(10) != 0 && end < now)
        .then(|| (end, OUTCOMES[r.next(OUTCOMES.len() as u64) as usize]));
    let n_turns = if answered.is_some() { r.next(5) } else { 0 };
    let first_speaker = r.next(2);
    let turns = (0..n_turns)
        .map(|i| {
            if (i + first_speaker).is_multiple_of(2) {
                (Speaker::Caller, None)
            } else {
                (
                    Speaker::Bot,
                    (r.next(4) != 0).then(|| 300 + r.next(2200) as u32),
                )
            }
        })
        .collect();
    let channel = if r.next(4) == 0 {
        CallChannel::Widget
    } else {
        CallChannel::Sip
    };
    Spec {
        site,
        channel,
        campaign: (channel == CallChannel::Sip && r.next(3) == 0).then_some(campaign),
        started,
        answered,
        ended,
        language: ["hi", "en", "pa", ""][r.next(4) as usize],
        turns,
        held_at_end: r.next(6) == 0,
    }
}

/// Asserts the summary and every timeline bucket equal the figures computed from the calls.
async fn assert_agree(store: &Store, q: &AnalyticsQuery) {
    let a = store.analytics();
    let (figures, languages) = a.summary(q).await.unwrap();
    let (expected, expected_languages) = a.summary_from_calls(q).await.unwrap();
    assert_eq!(figures, expected, "summary of {q:?}");
    assert_eq!(languages, expected_languages, "languages of {q:?}");
    let interval = if (q.to - q.from) > Duration::hours(30) {
        Interval::Day
    } else {
        Interval::Hour
    };
    for b in a.timeline(q, interval).await.unwrap() {
        let part = AnalyticsQuery {
            from: b.start.max(q.from),
            to: b.end.min(q.to),
            ..q.clone()
        };
        assert_eq!(
            b.figures,
            a.summary_from_calls(&part).await.unwrap().0,
            "bucket {} of {q:?}",
            b.start
        );
    }
}

storage_test!(rollups_give_the_figures_of_the_calls, |store| {
    let new_site = |name: &str| crate::tenancy::NewSite {
        name: name.into(),
        settings: Default::default(),
    };
    let site = store
        .sites()
        .create(&new_site("Rollups"))
        .await
        .unwrap()
        .site_id;
    let other = store
        .sites()
        .create(&new_site("Neighbour"))
        .await
        .unwrap()
        .site_id;
    let campaign = Uuid::now_v7();
    let now = Utc::now();
    let start = now - Duration::hours(60);
    let mut r = Rng(0x9E37_79B9_7F4A_7C15);
    for i in 0..260 {
        let s = random_call(
            &mut r,
            if i % 5 == 4 { other } else { site },
            campaign,
            start,
            now,
        );
        write(&store, &s).await;
    }

    let q = |from: DateTime<Utc>, to: DateTime<Utc>, channel, campaign_id, drop_within_s| {
        AnalyticsQuery {
            site_id: Some(site),
            from,
            to,
            channel,
            campaign_id,
            drop_within_s,
        }
    };
    let hour =
        |t: DateTime<Utc>| t - Duration::milliseconds(t.timestamp_millis().rem_euclid(HOUR_MS));
    let windows = [
        (start - Duration::hours(2), now + Duration::hours(1)),
        (
            start + Duration::minutes(97) + Duration::seconds(17),
            start + Duration::hours(41) + Duration::minutes(5),
        ),
        (
            hour(start) + Duration::hours(3),
            hour(start) + Duration::hours(27),
        ),
        (now - Duration::minutes(130), now + Duration::minutes(10)),
    ];
    let slices = [
        (None, None),
        (Some(CallChannel::Sip), None),
        (Some(CallChannel::Widget), None),
        (None, Some(campaign)),
        (Some(CallChannel::Sip), Some(campaign)),
    ];
    for (i, (from, to)) in windows.iter().enumerate() {
        for (j, (channel, campaign_id)) in slices.iter().enumerate() {
            let drop_within_s = [10, 0, 45][(i + j) % 3];
            let query = q(*from, *to, *channel, *campaign_id, drop_within_s);
            // The timelines compare bucket by bucket; keep that to a few slices.
            if j < 2 {
                assert_agree(&store, &query).await;
            } else {
                let a = store.analytics();
                assert_eq!(
                    a.summary(&query).await.unwrap(),
                    a.summary_from_calls(&query).await.unwrap(),
                    "{query:?}"
                );
            }
        }
    }
    let stored: i64 = crate::with_pool!(store, |pool| sqlx::query_scalar(
        "SELECT COUNT(*) FROM analytics_rollups"
    )
    .fetch_one(pool)
    .await)
    .unwrap();
    assert!(stored > 100, "hourly rollups were stored: {stored}");

    // Past hours change: late turns of an old call, an old outcome rewritten, a call written
    // after the fact spanning five hours, and the calls still open ended as orphans.
    let whole = q(
        start - Duration::hours(2),
        now + Duration::hours(1),
        None,
        None,
        10,
    );
    let before = store.analytics().summary(&whole).await.unwrap().0;
    let mut old = write(
        &store,
        &Spec {
            site,
            channel: CallChannel::Sip,
            campaign: None,
            started: start + Duration::hours(5),
            answered: Some(start + Duration::hours(5)),
            ended: Some((start + Duration::hours(10), CallOutcome::Completed)),
            language: "pa",
            turns: vec![(Speaker::Caller, None), (Speaker::Bot, Some(777))],
            held_at_end: false,
        },
    )
    .await;
    let late = TurnRecord {
        seq: 2,
        speaker: Speaker::Bot,
        text: "late".into(),
        language: "pa".into(),
        confidence: 0.9,
        started_at: old.started_at,
        ended_at: old.started_at,
        interrupted: false,
        latency: Some(TurnLatency {
            first_packet_ms: Some(5_555),
            ..Default::default()
        }),
    };
    store.calls().add_turn(old.id, &late).await.unwrap();
    old.outcome = Some(CallOutcome::CallerHungUp);
    store.calls().update(&old).await.unwrap();
    store.calls().end_orphans("node restarted").await.unwrap();
    let after = store.analytics().summary(&whole).await.unwrap().0;
    assert_eq!(after.total_calls, before.total_calls + 1);
    assert_eq!(after.in_progress_calls, 0);
    assert_eq!(after.response_turns, before.response_turns + 2);
    for (from, to) in &windows[..3] {
        assert_agree(&store, &q(*from, *to, None, None, 10)).await;
    }
    assert_agree(
        &store,
        &q(windows[1].0, windows[1].1, Some(CallChannel::Sip), None, 0),
    )
    .await;
});

// Duration percentiles are nearest-rank over whole seconds (rounded down); the mean is exact.
storage_test!(duration_percentiles_are_whole_seconds, |store| {
    let site = store
        .sites()
        .create(&crate::tenancy::NewSite {
            name: "Durations".into(),
            settings: Default::default(),
        })
        .await
        .unwrap()
        .site_id;
    let t0: DateTime<Utc> = "2026-11-20T10:00:00Z".parse().unwrap();
    for (i, ms) in [1_500, 2_999, 61_234].into_iter().enumerate() {
        let started = t0 + Duration::minutes(i as i64);
        let spec = Spec {
            site,
            channel: CallChannel::Sip,
            campaign: None,
            started,
            answered: Some(started),
            ended: Some((started + Duration::milliseconds(ms), CallOutcome::Completed)),
            language: "en",
            turns: vec![],
            held_at_end: false,
        };
        write(&store, &spec).await;
    }
    let q = AnalyticsQuery {
        site_id: Some(site),
        from: t0,
        to: t0 + Duration::hours(1),
        channel: None,
        campaign_id: None,
        drop_within_s: 10,
    };
    let (f, _) = store.analytics().summary(&q).await.unwrap();
    assert_eq!(
        (
            f.duration_calls,
            f.avg_duration_ms,
            f.p50_duration_ms,
            f.p90_duration_ms
        ),
        (3, Some(21_911.0), Some(2_000), Some(61_000))
    );
});
