//! Calls: list and inspect (state, transcript, per-turn latency, event log), live call control
//! (hang up, transfer) and a live event stream per site (server-sent events).

use std::convert::Infallible;
use std::time::Duration;

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::sse::{Event, KeepAlive, Sse};
use futures::Stream;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;
use vaarta_orchestrator::calls::{CallCommand, CallInfo};
use vaarta_orchestrator::storage::analytics::OUTCOME_KEYS;
use vaarta_orchestrator::storage::calls::{CallDetail, CallFilter};
use vaarta_orchestrator::tenancy::Principal;

use crate::auth::Caller;
use crate::error::{ApiError, ApiJson, ErrorBody};
use crate::state::AppState;

/// The site a caller may list: a site key its own; the admin all or `?site_id=`.
fn scope_site(caller: &Principal, requested: Option<Uuid>) -> Result<Option<Uuid>, ApiError> {
    match caller {
        Principal::Admin => Ok(requested),
        Principal::SiteKey { site_id, .. } => match requested {
            Some(r) if r != *site_id => Err(ApiError::not_found("site")),
            _ => Ok(Some(*site_id)),
        },
    }
}

fn check_enum(field: &str, v: &Option<String>, allowed: &[&str]) -> Result<(), ApiError> {
    match v {
        Some(x) if !allowed.contains(&x.as_str()) => Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
            format!("{field}: {x:?} is not one of {}", allowed.join(", ")),
        )),
        _ => Ok(()),
    }
}

/// Calls, newest first. A site key sees its site's calls; the admin all (or `site_id=`).
#[utoipa::path(get, path = "/v1/calls", tag = "calls", security(("bearer" = [])), params(CallFilter),
    responses((status = 200, body = Vec<CallInfo>), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn list_calls(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Query(f): Query<CallFilter>,
) -> Result<axum::Json<Vec<CallInfo>>, ApiError> {
    let site = scope_site(&caller, f.site_id)?;
    check_enum("channel", &f.channel, &["sip", "widget"])?;
    check_enum("direction", &f.direction, &["inbound", "outbound"])?;
    check_enum(
        "state",
        &f.state,
        &["ringing", "active", "holding", "transferring", "ended"],
    )?;
    // The stored outcomes: analytics' outcome keys without its `in_progress` bucket.
    let outcomes: Vec<&str> = OUTCOME_KEYS
        .iter()
        .copied()
        .filter(|k| *k != "in_progress")
        .collect();
    check_enum("outcome", &f.outcome, &outcomes)?;
    if f.limit.is_some_and(|l| !(1..=500).contains(&l)) {
        return Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
            "limit: must be 1..=500",
        ));
    }
    Ok(axum::Json(state.store.calls().list(site, &f).await?))
}

/// One call: state, transcript with per-turn latency, and its event log.
#[utoipa::path(get, path = "/v1/calls/{call_id}", tag = "calls", security(("bearer" = [])),
    params(("call_id" = Uuid, Path)),
    responses((status = 200, body = CallDetail), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn get_call(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Path(call_id): Path<Uuid>,
) -> Result<axum::Json<CallDetail>, ApiError> {
    state.calls.flush().await;
    let site = scope_site(&caller, None)?;
    let mut detail = state
        .store
        .calls()
        .detail(site, call_id)
        .await?
        .ok_or_else(|| ApiError::not_found("call"))?;
    if let Some(live) = state.calls.get_live(call_id) {
        detail.call = live;
    }
    Ok(axum::Json(detail))
}

/// The call's recording: a stereo WAV (left: caller, right: bot) when the site records calls
/// (`settings.voice.record_calls`).
#[utoipa::path(get, path = "/v1/calls/{call_id}/recording", tag = "calls", security(("bearer" = [])),
    params(("call_id" = Uuid, Path)),
    responses((status = 200, description = "audio/wav", content_type = "audio/wav"), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn get_recording(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Path(call_id): Path<Uuid>,
) -> Result<axum::response::Response, ApiError> {
    use axum::response::IntoResponse;
    let site = scope_site(&caller, None)?;
    let call = state
        .store
        .calls()
        .get(call_id)
        .await?
        .filter(|c| site.is_none_or(|s| s == c.site_id))
        .ok_or_else(|| ApiError::not_found("call"))?;
    let path = state.recordings_dir.join(format!("{}.wav", call.id));
    let file = match tokio::fs::File::open(&path).await {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(ApiError::new(
                StatusCode::NOT_FOUND,
                "no_recording",
                "this call has no recording (the site does not record calls, or it is still running)",
            ));
        }
        Err(e) => {
            tracing::error!(error = %e, path = %path.display(), "opening a recording failed");
            return Err(ApiError::internal());
        }
    };
    let len = file.metadata().await.map(|m| m.len()).unwrap_or(0);
    let chunks = futures::stream::unfold(file, |mut f| async move {
        use tokio::io::AsyncReadExt;
        let mut buf = vec![0u8; 64 * 1024];
        match f.read(&mut buf).await {
            Ok(0) => None,
            Ok(n) => {
                buf.truncate(n);
                Some((Ok::<_, std::io::Error>(axum::body::Bytes::from(buf)), f))
            }
            Err(e) => Some((Err(e), f)),
        }
    });
    let headers = [
        (axum::http::header::CONTENT_TYPE, "audio/wav".to_string()),
        (axum::http::header::CONTENT_LENGTH, len.to_string()),
        (
            axum::http::header::CONTENT_DISPOSITION,
            format!("attachment; filename=\"{call_id}.wav\""),
        ),
    ];
    Ok((headers, axum::body::Body::from_stream(chunks)).into_response())
}

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(default, deny_unknown_fields)]
pub struct HangupRequest {
    /// Stored as the call's end reason.
    pub reason: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TransferRequest {
    /// A transfer target name from the site settings, a `sip:` URI or an E.164 number.
    pub target: String,
    pub reason: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Accepted {
    pub call_id: Uuid,
    pub status: &'static str,
}

fn live_call_of(state: &AppState, caller: &Principal, call_id: Uuid) -> Result<(), ApiError> {
    match state.calls.get_live(call_id) {
        Some(c) if caller.can_access(c.site_id) => Ok(()),
        Some(_) => Err(ApiError::not_found("call")),
        None => Err(ApiError::new(
            StatusCode::CONFLICT,
            "call_not_live",
            "the call is not live on this node (ended, or unknown)",
        )),
    }
}

/// Ends a live call now.
#[utoipa::path(post, path = "/v1/calls/{call_id}/hangup", tag = "calls", security(("bearer" = [])),
    params(("call_id" = Uuid, Path)), request_body = HangupRequest,
    responses((status = 202, body = Accepted), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn hangup_call(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Path(call_id): Path<Uuid>,
    body: axum::body::Bytes,
) -> Result<(StatusCode, axum::Json<Accepted>), ApiError> {
    let req: HangupRequest = if body.iter().all(u8::is_ascii_whitespace) {
        HangupRequest::default()
    } else {
        serde_json::from_slice(&body)
            .map_err(|e| ApiError::new(StatusCode::BAD_REQUEST, "invalid_json", e.to_string()))?
    };
    live_call_of(&state, &caller, call_id)?;
    let reason = req
        .reason
        .unwrap_or_else(|| "hung up through the API".into());
    vaarta_orchestrator::tenancy::validation::text("reason", &reason, 500)?;
    state
        .calls
        .command(call_id, CallCommand::Hangup { reason })
        .map_err(|_| ApiError::new(StatusCode::CONFLICT, "call_not_live", "the call just ended"))?;
    Ok((
        StatusCode::ACCEPTED,
        axum::Json(Accepted {
            call_id,
            status: "hanging_up",
        }),
    ))
}

/// Transfers a live call to a human (REFER; apology and callback if it fails).
#[utoipa::path(post, path = "/v1/calls/{call_id}/transfer", tag = "calls", security(("bearer" = [])),
    params(("call_id" = Uuid, Path)), request_body = TransferRequest,
    responses((status = 202, body = Accepted), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn transfer_call(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Path(call_id): Path<Uuid>,
    ApiJson(req): ApiJson<TransferRequest>,
) -> Result<(StatusCode, axum::Json<Accepted>), ApiError> {
    vaarta_orchestrator::tenancy::validation::text("target", &req.target, 300)?;
    live_call_of(&state, &caller, call_id)?;
    let reason = req
        .reason
        .unwrap_or_else(|| "transferred through the API".into());
    state
        .calls
        .command(
            call_id,
            CallCommand::Transfer {
                target: req.target,
                reason,
            },
        )
        .map_err(|_| ApiError::new(StatusCode::CONFLICT, "call_not_live", "the call just ended"))?;
    Ok((
        StatusCode::ACCEPTED,
        axum::Json(Accepted {
            call_id,
            status: "transferring",
        }),
    ))
}

#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(default, deny_unknown_fields)]
pub struct EventsQuery {
    /// Admin only: one site's events (default: all sites).
    pub site_id: Option<Uuid>,
}

/// Live call events (server-sent events): `event:` is the type (`started`, `state`, `partial`,
/// `turn`, `barge_in`, `holding`, `transfer`, `failure`, `ended`, ...), `data:` the JSON event.
#[utoipa::path(get, path = "/v1/calls/events", tag = "calls", security(("bearer" = [])), params(EventsQuery),
    responses((status = 200, description = "text/event-stream of call events", content_type = "text/event-stream"), (status = 401, body = ErrorBody)))]
pub async fn call_events(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Query(q): Query<EventsQuery>,
) -> Result<Sse<impl Stream<Item = Result<Event, Infallible>>>, ApiError> {
    let site = scope_site(&caller, q.site_id)?;
    let rx = state.calls.subscribe();
    let stream = futures::stream::unfold(rx, move |mut rx| async move {
        loop {
            match rx.recv().await {
                Ok(e) if site.is_none_or(|s| s == e.site_id) => {
                    let json = serde_json::to_value(&e).unwrap_or_default();
                    let kind = json
                        .get("type")
                        .and_then(|t| t.as_str())
                        .unwrap_or("event")
                        .to_string();
                    let ev = Event::default().event(kind).data(json.to_string());
                    return Some((Ok(ev), rx));
                }
                Ok(_) => continue,
                Err(tokio::sync::broadcast::error::RecvError::Lagged(n)) => {
                    let ev = Event::default()
                        .event("lagged")
                        .data(format!("{{\"missed\":{n}}}"));
                    return Some((Ok(ev), rx));
                }
                Err(tokio::sync::broadcast::error::RecvError::Closed) => return None,
            }
        }
    });
    Ok(Sse::new(stream).keep_alive(KeepAlive::new().interval(Duration::from_secs(15))))
}
