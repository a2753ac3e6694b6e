//! The website voice widget: the call socket `/v1/widget/ws`, the embeddable `/widget.js`, the
//! `/demo` page and each site's public widget key (`/v1/sites/{site_id}/widget`). Refusals
//! happen after the upgrade, as an `error` message and a close code + reason, because a browser
//! script cannot read the body of a refused upgrade.

use std::time::{Duration, Instant};

use axum::extract::ws::{
    CloseFrame, Message, WebSocket, WebSocketUpgrade, rejection::WebSocketUpgradeRejection,
};
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use serde::{Deserialize, Serialize};
use tracing::Instrument;
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;
use vaarta_orchestrator::calls::widget::{
    ClientMessage, CloseReason, Outgoing, Refusal, ServerMessage, SocketOrigin, WidgetGateway,
};

use crate::auth::SiteScope;
use crate::error::{ApiError, ErrorBody};
use crate::state::AppState;

/// How long a socket may stay open before its `start` message.
const START_TIMEOUT: Duration = Duration::from_secs(10);
/// Frames beyond this never reach the protocol checks (the WebSocket layer drops the socket).
const MAX_MESSAGE_BYTES: usize = 1 << 20;
/// How long a closing socket waits for the browser's close frame.
const CLOSE_WAIT: Duration = Duration::from_secs(3);

const WIDGET_JS: &str = include_str!("../../assets/widget/widget.js");
const DEMO_HTML: &str = include_str!("../../assets/widget/demo.html");

#[derive(Debug, Default, Deserialize, IntoParams)]
pub struct WidgetSocketQuery {
    /// The site whose widget this is.
    pub site_id: Option<String>,
    /// The site's public widget key (`GET /v1/sites/{site_id}/widget`).
    pub key: Option<String>,
}

/// Browser voice calls: a WebSocket carrying JSON control messages and PCM16 16 kHz audio
/// (docs/widget.md). Refusals close the socket with 4401 `bad_key`, 4403
/// `origin_not_allowed`, 4404 `unknown_site`, 4429 `too_many_sessions`, 4503 `unavailable`.
#[utoipa::path(get, path = "/v1/widget/ws", tag = "widget", params(WidgetSocketQuery),
    responses((status = 101, description = "WebSocket: the widget protocol"), (status = 426, description = "not a WebSocket request", body = ErrorBody)))]
pub async fn widget_socket(
    State(state): State<AppState>,
    Query(q): Query<WidgetSocketQuery>,
    headers: HeaderMap,
    ws: Result<WebSocketUpgrade, WebSocketUpgradeRejection>,
) -> Response {
    let ws = match ws {
        Ok(ws) => ws,
        Err(e) => {
            return ApiError::new(
                StatusCode::UPGRADE_REQUIRED,
                "upgrade_required",
                format!("/v1/widget/ws is a WebSocket: {e}"),
            )
            .into_response();
        }
    };
    let text = |name: header::HeaderName| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
    };
    let from = SocketOrigin {
        origin: text(header::ORIGIN),
        host: text(header::HOST),
    };
    let gateway = state.widget.clone();
    let verdict = match (&gateway, q.site_id.as_deref(), q.key.as_deref()) {
        (None, _, _) => Err(Refusal::new(
            CloseReason::Unavailable,
            "this node takes no calls (voice is off or the speech models are missing)",
        )),
        (_, None, _) => Err(Refusal::new(
            CloseReason::UnknownSite,
            "site_id is required",
        )),
        (_, _, None) => Err(Refusal::new(CloseReason::BadKey, "key is required")),
        (Some(gw), Some(site), Some(key)) => gw.authorize(site, key, &from).await,
    };
    ws.max_message_size(MAX_MESSAGE_BYTES)
        .on_upgrade(move |socket| async move {
            match (verdict, gateway) {
                (Ok(site_id), Some(gw)) => drive(socket, gw, site_id).await,
                (Err(r), _) => {
                    tracing::info!(refusal = %r, origin = ?from.origin, "widget socket refused");
                    refuse(socket, &r).await
                }
                (Ok(_), None) => {}
            }
        })
}

async fn send(socket: &mut WebSocket, m: &ServerMessage) -> bool {
    let json = serde_json::to_string(m).unwrap_or_default();
    socket.send(Message::Text(json.into())).await.is_ok()
}

/// Closes with a handshake: sends the close frame, then reads (and drops) what the browser still
/// sends until its close frame. Dropping a socket with unread input makes the kernel reset the
/// connection, and the browser would see 1006 instead of our code and reason.
async fn close(mut socket: WebSocket, code: u16, reason: String) {
    if socket
        .send(Message::Close(Some(CloseFrame {
            code,
            reason: reason.into(),
        })))
        .await
        .is_err()
    {
        return;
    }
    let _ = tokio::time::timeout(CLOSE_WAIT, async {
        while let Some(Ok(m)) = socket.recv().await {
            if matches!(m, Message::Close(_)) {
                break;
            }
        }
    })
    .await;
}

async fn refuse(mut socket: WebSocket, r: &Refusal) {
    let _ = send(&mut socket, &r.to_message()).await;
    close(socket, r.reason.code(), r.close_text()).await;
}

/// Waits for `start`: the first message must be it.
async fn start_message(socket: &mut WebSocket) -> Result<(u32, Option<String>), Refusal> {
    let first = tokio::time::timeout(START_TIMEOUT, socket.recv())
        .await
        .map_err(|_| Refusal::new(CloseReason::Timeout, "no start message within 10 s"))?;
    match first {
        Some(Ok(Message::Text(t))) => match serde_json::from_str::<ClientMessage>(&t) {
            Ok(ClientMessage::Start {
                sample_rate,
                visitor_id,
            }) => Ok((sample_rate, visitor_id)),
            Ok(_) => Err(Refusal::new(
                CloseReason::BadMessage,
                "the first message must be {\"type\": \"start\"}",
            )),
            Err(e) => Err(Refusal::new(
                CloseReason::BadMessage,
                format!("not a widget message: {e}"),
            )),
        },
        Some(Ok(Message::Binary(_))) => Err(Refusal::new(
            CloseReason::BadMessage,
            "audio before the start message",
        )),
        _ => Err(Refusal::new(
            CloseReason::BadMessage,
            "the socket closed before start",
        )),
    }
}

/// One widget call: browser input to the call, the call's audio and messages to the browser.
async fn drive(mut socket: WebSocket, gw: WidgetGateway, site_id: Uuid) {
    let (rate, visitor) = match start_message(&mut socket).await {
        Ok(s) => s,
        Err(r) => return refuse(socket, &r).await,
    };
    let mut call = match gw.start(site_id, rate, visitor).await {
        Ok(c) => c,
        Err(r) => {
            tracing::info!(refusal = %r, %site_id, "widget call refused");
            return refuse(socket, &r).await;
        }
    };
    let span = tracing::info_span!("widget", call_id = %call.call_id, site_id = %site_id);
    async move {
        if !send(&mut socket, &ServerMessage::Ready { call_id: call.call_id, sample_rate: vaarta_orchestrator::calls::widget::protocol::WIDGET_RATE }).await {
            return call.hangup("the widget socket broke").await;
        }
        let idle = Duration::from_secs(gw.limits().idle_timeout_s.max(1));
        let mut last_in = Instant::now();
        loop {
            tokio::select! {
                msg = socket.recv() => {
                    let verdict = match msg {
                        None | Some(Err(_)) | Some(Ok(Message::Close(_))) => {
                            call.hangup("the visitor closed the widget").await;
                            return;
                        }
                        Some(Ok(Message::Binary(b))) => call.audio(&b).await,
                        Some(Ok(Message::Text(t))) => match serde_json::from_str::<ClientMessage>(&t) {
                            Ok(m) => call.control(m).await,
                            Err(e) => Err(Refusal::new(CloseReason::BadMessage, format!("not a widget message: {e}"))),
                        },
                        Some(Ok(_)) => Ok(()),
                    };
                    last_in = Instant::now();
                    if let Err(r) = verdict {
                        tracing::info!(refusal = %r, "widget session closed for a bad frame");
                        call.hangup(&format!("widget protocol error: {r}")).await;
                        // Frees the site's widget slot before the close handshake.
                        drop(call);
                        return refuse(socket, &r).await;
                    }
                }
                out = call.next() => match out {
                    Some(Outgoing::Audio(pcm)) => {
                        let bytes: Vec<u8> = pcm.iter().flat_map(|s| s.to_le_bytes()).collect();
                        if socket.send(Message::Binary(bytes.into())).await.is_err() {
                            return call.hangup("the widget socket broke").await;
                        }
                    }
                    Some(Outgoing::Message(m)) => {
                        let ended = matches!(m, ServerMessage::Ended { .. });
                        if !send(&mut socket, &m).await {
                            return call.hangup("the widget socket broke").await;
                        }
                        if ended {
                            drop(call);
                            return close(socket, CloseReason::Ended.code(), "call ended".into()).await;
                        }
                    }
                    None => return close(socket, CloseReason::Ended.code(), "call ended".into()).await,
                },
                _ = tokio::time::sleep_until((last_in + idle).into()) => {
                    call.hangup("the widget went idle").await;
                    drop(call);
                    let r = Refusal::new(CloseReason::Timeout, format!("nothing received for {} s", idle.as_secs()));
                    return refuse(socket, &r).await;
                }
            }
        }
    }
    .instrument(span)
    .await
}

/// A site's widget: the public key and how to embed it.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct WidgetInfo {
    pub site_id: Uuid,
    /// Public: safe to put in a web page. Only opens voice calls, only from `allowed_origins`.
    pub key: String,
    /// The site's `settings.widget_origins`.
    pub allowed_origins: Vec<String>,
    /// The tag to paste into the site's pages.
    pub embed_html: String,
    /// A page to try the widget on this server.
    pub demo_url: String,
}

fn base_url(headers: &HeaderMap) -> String {
    let host = headers
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("127.0.0.1:8080");
    let proto = headers
        .get("x-forwarded-proto")
        .and_then(|v| v.to_str().ok())
        .filter(|p| *p == "https")
        .unwrap_or("http");
    format!("{proto}://{host}")
}

fn widget_info(scope: &SiteScope, key: String, headers: &HeaderMap) -> WidgetInfo {
    let (base, site_id) = (base_url(headers), scope.site_id());
    WidgetInfo {
        site_id,
        embed_html: format!(
            "<script src=\"{base}/widget.js\" data-site-id=\"{site_id}\" data-key=\"{key}\"></script>"
        ),
        demo_url: format!("{base}/demo?site_id={site_id}"),
        key,
        allowed_origins: scope.site.settings.widget_origins.clone(),
    }
}

/// The site's widget key (created on first use) and embed snippet.
#[utoipa::path(get, path = "/v1/sites/{site_id}/widget", tag = "widget", security(("bearer" = [])),
    params(("site_id" = Uuid, Path)),
    responses((status = 200, body = WidgetInfo), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn get_widget(
    State(state): State<AppState>,
    scope: SiteScope,
    headers: HeaderMap,
) -> Result<axum::Json<WidgetInfo>, ApiError> {
    let key = state
        .store
        .widget_keys()
        .get_or_create(scope.site_id())
        .await?;
    Ok(axum::Json(widget_info(&scope, key, &headers)))
}

/// Replaces the site's widget key: pages with the old key stop connecting.
#[utoipa::path(post, path = "/v1/sites/{site_id}/widget/key", tag = "widget", security(("bearer" = [])),
    params(("site_id" = Uuid, Path)),
    responses((status = 200, body = WidgetInfo), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn rotate_widget_key(
    State(state): State<AppState>,
    scope: SiteScope,
    headers: HeaderMap,
) -> Result<axum::Json<WidgetInfo>, ApiError> {
    let key = state.store.widget_keys().rotate(scope.site_id()).await?;
    tracing::info!(site_id = %scope.site_id(), "widget key rotated");
    Ok(axum::Json(widget_info(&scope, key, &headers)))
}

/// The embeddable widget script (no dependencies): `<script src="/widget.js"
/// data-site-id="…" data-key="…"></script>`.
#[utoipa::path(get, path = "/widget.js", tag = "widget",
    responses((status = 200, description = "JavaScript", content_type = "application/javascript", body = String)))]
pub async fn widget_js() -> Response {
    (
        [
            (
                header::CONTENT_TYPE,
                "application/javascript; charset=utf-8",
            ),
            (header::CACHE_CONTROL, "public, max-age=300"),
        ],
        WIDGET_JS,
    )
        .into_response()
}

#[derive(Debug, Deserialize, IntoParams)]
pub struct DemoQuery {
    pub site_id: Option<String>,
}

/// A page to try a site's widget.
#[utoipa::path(get, path = "/demo", tag = "widget", params(DemoQuery),
    responses((status = 200, description = "HTML page", content_type = "text/html", body = String), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn demo_page(
    State(state): State<AppState>,
    Query(q): Query<DemoQuery>,
) -> Result<Html<String>, ApiError> {
    let raw = q.site_id.ok_or_else(|| {
        ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_request",
            "site_id: required (/demo?site_id=…)",
        )
    })?;
    let site_id = Uuid::parse_str(&raw).map_err(|_| ApiError::not_found("site"))?;
    let site = state
        .store
        .sites()
        .get(site_id)
        .await?
        .ok_or_else(|| ApiError::not_found("site"))?;
    let key = state.store.widget_keys().get_or_create(site_id).await?;
    let page = DEMO_HTML
        .replace("{{site_name}}", &html_escape(&site.name))
        .replace("{{site_id}}", &site_id.to_string())
        .replace("{{key}}", &html_escape(&key));
    Ok(Html(page))
}

fn html_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}
