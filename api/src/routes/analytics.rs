//! Call analytics for dashboards: the summary of a window, the same figures as a timeline, and
//! the calls live now. The JSON shapes are a stable contract (docs/analytics.md).

use axum::extract::{Query, State};
use axum::http::StatusCode;
use chrono::{DateTime, Duration, Utc};
use serde::Serialize;
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;
use vaarta_orchestrator::calls::CallChannel;
use vaarta_orchestrator::storage::analytics::{
    AnalyticsQuery, AnalyticsRepo, Bucket, Figures, Interval, LanguageUsage, LiveSite,
};
use vaarta_orchestrator::tenancy::Principal;

use crate::auth::Caller;
use crate::error::{ApiError, ErrorBody};
use crate::state::AppState;

/// Default `drop_within_s`.
pub const DEFAULT_DROP_WITHIN_S: u32 = 10;
/// Default window when `from` is absent: the 7 days before `to`.
const DEFAULT_WINDOW_DAYS: i64 = 7;
/// Most timeline buckets one request may ask for (93 days of hours, 10 years of days).
pub const MAX_BUCKETS: i64 = 3660;
const MAX_HOURLY_BUCKETS: i64 = 93 * 24;

/// Query parameters of the analytics routes (all optional).
#[derive(Debug, Default, IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)]
pub struct AnalyticsParams {
    /// Admin: one site (default every site). A site key: its own site only (another → 404).
    site_id: Option<Uuid>,
    /// Window start, inclusive, RFC 3339 (default: `to` − 7 days). Calls count by start time.
    from: Option<DateTime<Utc>>,
    /// Window end, exclusive, RFC 3339 (default: now).
    to: Option<DateTime<Utc>>,
    /// `sip` or `widget`.
    channel: Option<String>,
    /// Only the calls of this campaign.
    campaign_id: Option<Uuid>,
    /// A caller hang-up within this many seconds of the answer is a drop (0..=3600, default 10).
    drop_within_s: Option<u32>,
    /// Timeline only: `hour` or `day` (default `hour`), UTC-aligned buckets.
    interval: Option<String>,
}

/// Window and filters echoed in every analytics answer.
#[derive(Debug, Serialize, ToSchema)]
pub struct Scope {
    /// The site counted; null = every site (admin only).
    pub site_id: Option<Uuid>,
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
    pub channel: Option<CallChannel>,
    pub campaign_id: Option<Uuid>,
    pub drop_within_s: u32,
    /// When these figures were computed.
    pub generated_at: DateTime<Utc>,
}

/// `GET /v1/analytics/summary`.
#[derive(Debug, Serialize, ToSchema)]
pub struct Summary {
    #[serde(flatten)]
    pub scope: Scope,
    #[serde(flatten)]
    pub figures: Figures,
    /// Calls not ended now (whenever they started), of the site, channel and campaign.
    pub current_concurrent_calls: i64,
    /// Per language, most calls first.
    pub languages: Vec<LanguageUsage>,
}

/// `GET /v1/analytics/timeline`.
#[derive(Debug, Serialize, ToSchema)]
pub struct Timeline {
    #[serde(flatten)]
    pub scope: Scope,
    pub interval: Interval,
    /// Every bucket of the window, oldest first, zeros included.
    pub buckets: Vec<Bucket>,
}

/// `GET /v1/analytics/live`.
#[derive(Debug, Serialize, ToSchema)]
pub struct Live {
    pub generated_at: DateTime<Utc>,
    /// Calls not ended, all sites shown.
    pub total_current_calls: i64,
    /// A site key: its site (always listed). The admin: every site with a live call, or `site_id`.
    pub sites: Vec<LiveSite>,
}

fn invalid(field: &str, msg: impl std::fmt::Display) -> ApiError {
    ApiError::new(
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
        format!("{field}: {msg}"),
    )
}

/// The parsed parameters; every problem is a 422 naming the parameter.
struct Parsed {
    query: AnalyticsQuery,
    interval: Option<Interval>,
}

fn parse(pairs: &[(String, String)], allow_interval: bool) -> Result<Parsed, ApiError> {
    let mut seen = std::collections::HashSet::new();
    let (
        mut site_id,
        mut from,
        mut to,
        mut channel,
        mut campaign_id,
        mut drop_within_s,
        mut interval,
    ) = (None, None, None, None, None, None, None);
    for (k, v) in pairs {
        if !seen.insert(k.as_str()) {
            return Err(invalid(k, "given more than once"));
        }
        let uuid = |v: &str| {
            v.parse::<Uuid>()
                .map_err(|_| invalid(k, format!("{v:?} is not a UUID")))
        };
        let time = |v: &str| {
            DateTime::parse_from_rfc3339(v)
                .map(|t| t.with_timezone(&Utc))
                .map_err(|_| {
                    invalid(
                        k,
                        format!("{v:?} is not an RFC 3339 time such as 2026-11-21T00:00:00Z"),
                    )
                })
        };
        match k.as_str() {
            "site_id" => site_id = Some(uuid(v)?),
            "from" => from = Some(time(v)?),
            "to" => to = Some(time(v)?),
            "channel" => {
                channel = Some(match v.as_str() {
                    "sip" => CallChannel::Sip,
                    "widget" => CallChannel::Widget,
                    _ => return Err(invalid(k, format!("{v:?} is not one of sip, widget"))),
                })
            }
            "campaign_id" => campaign_id = Some(uuid(v)?),
            "drop_within_s" => {
                drop_within_s = Some(v.parse::<u32>().ok().filter(|n| *n <= 3600).ok_or_else(
                    || {
                        invalid(
                            k,
                            format!("{v:?} is not a whole number of seconds 0..=3600"),
                        )
                    },
                )?)
            }
            "interval" if allow_interval => {
                interval = Some(match v.as_str() {
                    "hour" => Interval::Hour,
                    "day" => Interval::Day,
                    _ => return Err(invalid(k, format!("{v:?} is not one of hour, day"))),
                })
            }
            _ => return Err(invalid(k, "unknown parameter")),
        }
    }
    let to = to.unwrap_or_else(Utc::now);
    let from = from.unwrap_or(to - Duration::days(DEFAULT_WINDOW_DAYS));
    if from >= to {
        return Err(invalid("from", "must be before to"));
    }
    let query = AnalyticsQuery {
        site_id,
        from,
        to,
        channel,
        campaign_id,
        drop_within_s: drop_within_s.unwrap_or(DEFAULT_DROP_WITHIN_S),
    };
    let interval = allow_interval.then(|| interval.unwrap_or(Interval::Hour));
    if let Some(i) = interval {
        let max = if i == Interval::Hour {
            MAX_HOURLY_BUCKETS
        } else {
            MAX_BUCKETS
        };
        if AnalyticsRepo::bucket_count(&query, i) > max {
            return Err(invalid(
                "from",
                format!(
                    "the window has more than {max} buckets of one {}; use a shorter window or interval=day",
                    if i == Interval::Hour { "hour" } else { "day" }
                ),
            ));
        }
    }
    Ok(Parsed { query, interval })
}

/// A site key is held to its site; the admin may name any existing site (or none: all sites).
async fn scope_site(
    state: &AppState,
    caller: &Principal,
    requested: Option<Uuid>,
) -> Result<Option<Uuid>, ApiError> {
    match (caller, requested) {
        (Principal::SiteKey { site_id, .. }, Some(r)) if r != *site_id => {
            Err(ApiError::not_found("site"))
        }
        (Principal::SiteKey { site_id, .. }, _) => Ok(Some(*site_id)),
        (Principal::Admin, Some(r)) => {
            state
                .store
                .sites()
                .get(r)
                .await?
                .ok_or_else(|| ApiError::not_found("site"))?;
            Ok(Some(r))
        }
        (Principal::Admin, None) => Ok(None),
    }
}

async fn prepare(
    state: &AppState,
    caller: &Principal,
    pairs: &[(String, String)],
    timeline: bool,
) -> Result<Parsed, ApiError> {
    let mut p = parse(pairs, timeline)?;
    p.query.site_id = scope_site(state, caller, p.query.site_id).await?;
    // Calls ending right now are in the database before counting.
    state.calls.flush().await;
    Ok(p)
}

fn scope(q: &AnalyticsQuery) -> Scope {
    Scope {
        site_id: q.site_id,
        from: q.from,
        to: q.to,
        channel: q.channel,
        campaign_id: q.campaign_id,
        drop_within_s: q.drop_within_s,
        generated_at: Utc::now(),
    }
}

/// Totals, AI-handled / transferred / dropped calls, response times, durations, concurrency,
/// holding rate, languages and outcomes of the calls started in `[from, to)`.
#[utoipa::path(get, path = "/v1/analytics/summary", tag = "analytics", security(("bearer" = [])), params(AnalyticsParams),
    responses((status = 200, body = Summary), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn summary(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Query(pairs): Query<Vec<(String, String)>>,
) -> Result<axum::Json<Summary>, ApiError> {
    let p = prepare(&state, &caller, &pairs, false).await?;
    let a = state.store.analytics();
    let q = &p.query;
    let started = std::time::Instant::now();
    let (figures, languages) = a.summary(q).await?;
    let summary = Summary {
        scope: scope(q),
        figures,
        current_concurrent_calls: a.current(q).await?,
        languages,
    };
    metrics::histogram!(crate::metrics::ANALYTICS_QUERY, "route" => "summary")
        .record(started.elapsed().as_secs_f64());
    Ok(axum::Json(summary))
}

/// The summary's figures per hour or day (UTC), every bucket present.
#[utoipa::path(get, path = "/v1/analytics/timeline", tag = "analytics", security(("bearer" = [])), params(AnalyticsParams),
    responses((status = 200, body = Timeline), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn timeline(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Query(pairs): Query<Vec<(String, String)>>,
) -> Result<axum::Json<Timeline>, ApiError> {
    let p = prepare(&state, &caller, &pairs, true).await?;
    let interval = p.interval.unwrap_or(Interval::Hour);
    let started = std::time::Instant::now();
    let buckets = state.store.analytics().timeline(&p.query, interval).await?;
    metrics::histogram!(crate::metrics::ANALYTICS_QUERY, "route" => "timeline")
        .record(started.elapsed().as_secs_f64());
    Ok(axum::Json(Timeline {
        scope: scope(&p.query),
        interval,
        buckets,
    }))
}

/// Calls not ended now, per site, by state and channel (every node's calls: read from the database).
#[utoipa::path(get, path = "/v1/analytics/live", tag = "analytics", security(("bearer" = [])),
    params(("site_id" = Option<Uuid>, Query, description = "Admin: one site. A site key: its own (another → 404).")),
    responses((status = 200, body = Live), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn live(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Query(pairs): Query<Vec<(String, String)>>,
) -> Result<axum::Json<Live>, ApiError> {
    let mut site = None;
    for (k, v) in &pairs {
        match k.as_str() {
            "site_id" if site.is_none() => {
                site = Some(
                    v.parse::<Uuid>()
                        .map_err(|_| invalid(k, format!("{v:?} is not a UUID")))?,
                )
            }
            "site_id" => return Err(invalid(k, "given more than once")),
            _ => return Err(invalid(k, "unknown parameter")),
        }
    }
    let site = scope_site(&state, &caller, site).await?;
    state.calls.flush().await;
    let sites = state.store.analytics().live(site).await?;
    Ok(axum::Json(Live {
        generated_at: Utc::now(),
        total_current_calls: sites.iter().map(|s| s.current_calls).sum(),
        sites,
    }))
}
