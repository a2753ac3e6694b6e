//! `POST /v1/format`: the voice channel's answer formatting, shared with the chatbot so chat and
//! call answers come from one place (strip markdown/URLs/emoji/lists for calls, speakable
//! numbers, call phrasing such as "Aap line par bane rahein…").

use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use vaarta_orchestrator::voice::{Channel, format_response};

use crate::auth::Caller;
use crate::error::{ApiError, ApiJson, ErrorBody};
use crate::state::AppState;

/// Longest text accepted, in characters.
const MAX_CHARS: usize = 20_000;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FormatRequest {
    pub text: String,
    /// `call` (spoken) or `chat`.
    pub channel: String,
    /// Language code: `hi` (Hinglish), `en`, `pa`. Default `hi`.
    #[serde(default)]
    pub language: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Formatted {
    pub text: String,
}

/// Formats an answer for a channel (any valid key or the admin token).
#[utoipa::path(post, path = "/v1/format", tag = "format", security(("bearer" = [])), request_body = FormatRequest,
    responses((status = 200, body = Formatted), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn format(
    State(_state): State<AppState>,
    _caller: Caller,
    ApiJson(req): ApiJson<FormatRequest>,
) -> Result<axum::Json<Formatted>, ApiError> {
    let invalid =
        |m: String| ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed", m);
    let channel = match req.channel.as_str() {
        "call" => Channel::Call,
        "chat" => Channel::Chat,
        other => {
            return Err(invalid(format!(
                "channel: {other:?} is not one of call, chat"
            )));
        }
    };
    let language = req.language.unwrap_or_else(|| "hi".into());
    if !["hi", "en", "pa"].contains(&language.split(['-', '_']).next().unwrap_or("")) {
        return Err(invalid(format!(
            "language: {language:?} is not one of hi, en, pa"
        )));
    }
    let chars = req.text.chars().count();
    if chars > MAX_CHARS {
        return Err(invalid(format!(
            "text: {chars} characters; at most {MAX_CHARS}"
        )));
    }
    let lang = vaarta_orchestrator::voice::Lang::from_code(&language);
    let text = tokio::task::spawn_blocking(move || format_response(&req.text, channel, lang))
        .await
        .map_err(|_| ApiError::internal())?;
    Ok(axum::Json(Formatted { text }))
}
