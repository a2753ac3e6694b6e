//! Authentication and tenant scoping for `/v1` routes.
//!
//! Handlers take [`Caller`] (any authenticated caller), [`AdminOnly`], or [`SiteScope`] (a
//! caller allowed to see the `{site_id}` of the path; resolves the site). A site key asking
//! for another site gets 404, exactly as for a site that does not exist.

use axum::extract::{FromRequestParts, RawPathParams};
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use uuid::Uuid;
use vaarta_orchestrator::tenancy::{Principal, Site};

use crate::error::ApiError;
use crate::state::AppState;

/// The authenticated caller of this request.
#[derive(Debug, Clone)]
pub struct Caller(pub Principal);

/// The caller must hold the admin token.
#[derive(Debug, Clone)]
pub struct AdminOnly;

/// The caller may see the path's `{site_id}`, which exists; carries the loaded site.
#[derive(Debug, Clone)]
pub struct SiteScope {
    pub caller: Principal,
    pub site: Site,
}

impl SiteScope {
    pub fn site_id(&self) -> Uuid {
        self.site.site_id
    }
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Resolves a bearer token to a principal (admin token or a live site key).
pub async fn authenticate(state: &AppState, token: &str) -> Result<Principal, ApiError> {
    if constant_time_eq(token.as_bytes(), state.admin_token.as_bytes()) {
        return Ok(Principal::Admin);
    }
    match state.store.api_keys().authenticate(token).await? {
        Some(key) => Ok(Principal::SiteKey {
            site_id: key.site_id,
            key_id: key.key_id,
        }),
        None => Err(ApiError::unauthorized("invalid or revoked API key")),
    }
}

/// Loads `site_id` if `caller` may see it; otherwise 404, never 403.
pub async fn resolve_site(
    state: &AppState,
    caller: &Principal,
    site_id: Uuid,
) -> Result<Site, ApiError> {
    if !caller.can_access(site_id) {
        return Err(ApiError::not_found("site"));
    }
    state
        .store
        .sites()
        .get(site_id)
        .await?
        .ok_or_else(|| ApiError::not_found("site"))
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        if let Some(caller) = parts.extensions.get::<Caller>() {
            return Ok(caller.clone());
        }
        let header = parts.headers.get(AUTHORIZATION).ok_or_else(|| {
            ApiError::unauthorized("missing Authorization: Bearer <token> header")
        })?;
        let value = header
            .to_str()
            .map_err(|_| ApiError::unauthorized("malformed Authorization header"))?;
        let token = match value.split_once(' ') {
            Some((scheme, token)) if scheme.eq_ignore_ascii_case("bearer") => token.trim(),
            _ => {
                return Err(ApiError::unauthorized(
                    "Authorization must be 'Bearer <token>'",
                ));
            }
        };
        let principal = authenticate(state, token).await?;
        let span = tracing::Span::current();
        match &principal {
            Principal::Admin => span.record("principal", "admin"),
            Principal::SiteKey { site_id, .. } => {
                span.record("principal", tracing::field::display(site_id))
            }
        };
        let caller = Caller(principal);
        parts.extensions.insert(caller.clone());
        Ok(caller)
    }
}

impl FromRequestParts<AppState> for AdminOnly {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let Caller(p) = Caller::from_request_parts(parts, state).await?;
        if p.is_admin() {
            Ok(AdminOnly)
        } else {
            Err(ApiError::forbidden("this operation needs the admin token"))
        }
    }
}

impl FromRequestParts<AppState> for SiteScope {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let Caller(caller) = Caller::from_request_parts(parts, state).await?;
        let params = RawPathParams::from_request_parts(parts, state)
            .await
            .map_err(|_| ApiError::not_found("site"))?;
        let raw = params
            .iter()
            .find(|(k, _)| *k == "site_id")
            .map(|(_, v)| v.to_string())
            .ok_or_else(|| {
                tracing::error!("SiteScope used on a route without a {{site_id}} parameter");
                ApiError::internal()
            })?;
        let site_id = Uuid::parse_str(&raw).map_err(|_| ApiError::not_found("site"))?;
        let site = resolve_site(state, &caller, site_id).await?;
        tracing::Span::current().record("site_id", tracing::field::display(site_id));
        Ok(SiteScope { caller, site })
    }
}
