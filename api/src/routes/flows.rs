//! `/v1/sites/{site_id}/flows`: a site's call flows. Uploads are compiled and checked, kept as
//! versions, and only go live through `activate`, which first runs the version's flow tests.
//! Every route is behind [`SiteScope`], so another site's flows answer 404.

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;
use vaarta_flows::{Conversation, Diagnostic, FlowModules, FlowTestSuite, SimulationResult};
use vaarta_orchestrator::StorageError;
use vaarta_orchestrator::storage::{FlowSummary, FlowVersion, FlowVersionInfo};

use crate::auth::SiteScope;
use crate::error::{ApiError, ApiJson, ErrorBody, ErrorDetail};
use crate::state::AppState;

/// Largest accepted flow source (bytes); a flow is a script, not a data file.
pub const MAX_SOURCE_BYTES: usize = 256 * 1024;

/// Upload of a new flow version.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FlowUpload {
    /// Rhai source of the flow (at most 256 KiB).
    pub source: String,
    /// Flow tests (`{"tests": [{"name", "conversation", "expect"}]}`, see docs/flows.md), run
    /// when this version is activated.
    #[schema(value_type = Option<Object>)]
    pub tests: Option<serde_json::Value>,
}

/// A flow with its latest version (source included) and which version is active.
#[derive(Debug, Serialize, ToSchema)]
pub struct FlowDetail {
    pub name: String,
    pub latest_version: i64,
    pub active_version: Option<i64>,
    /// The requested version (`?version=`), else the latest.
    pub flow: FlowVersion,
}

/// Which version to activate (default: the latest).
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ActivateRequest {
    pub version: Option<i64>,
}

/// The outcome of a successful activation.
#[derive(Debug, Serialize, ToSchema)]
pub struct Activated {
    pub name: String,
    pub version: i64,
    /// How many flow tests ran (and passed).
    pub tests_passed: usize,
}

/// Selects a version; the default depends on the route.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct VersionQuery {
    /// A specific version number.
    pub version: Option<i64>,
}

/// One problem in a flow, with its position.
#[derive(Debug, Serialize, ToSchema)]
pub struct DiagnosticBody {
    pub line: Option<usize>,
    pub column: Option<usize>,
    pub message: String,
    /// Set when the problem is in an imported module.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub module: Option<String>,
}

/// A failing flow test.
#[derive(Debug, Serialize, ToSchema)]
pub struct FailedTest {
    pub name: String,
    pub failures: Vec<String>,
}

/// Error body of the flow routes: the usual `error`, plus `diagnostics` (`flow_invalid`) or
/// `failed_tests` (`flow_tests_failed`).
#[derive(Debug, Serialize, ToSchema)]
pub struct FlowErrorBody {
    pub error: ErrorDetail,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub diagnostics: Vec<DiagnosticBody>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub failed_tests: Vec<FailedTest>,
}

/// Errors of the flow routes.
#[derive(Debug)]
pub enum FlowsError {
    Api(ApiError),
    /// The flow does not compile or calls what does not exist.
    Invalid(Vec<Diagnostic>),
    /// Activation refused: these tests failed.
    TestsFailed(Vec<FailedTest>),
}

impl From<ApiError> for FlowsError {
    fn from(e: ApiError) -> Self {
        FlowsError::Api(e)
    }
}

impl From<StorageError> for FlowsError {
    fn from(e: StorageError) -> Self {
        FlowsError::Api(e.into())
    }
}

impl IntoResponse for FlowsError {
    fn into_response(self) -> Response {
        let (message, code, diagnostics, failed_tests) = match self {
            FlowsError::Api(e) => return e.into_response(),
            FlowsError::Invalid(diags) => {
                let list: Vec<String> = diags.iter().map(ToString::to_string).collect();
                let body = diags
                    .into_iter()
                    .map(|d| DiagnosticBody {
                        line: d.line,
                        column: d.column,
                        message: d.message,
                        module: d.module,
                    })
                    .collect();
                (
                    format!("the flow is invalid: {}", list.join("; ")),
                    "flow_invalid",
                    body,
                    Vec::new(),
                )
            }
            FlowsError::TestsFailed(failed) => {
                let names: Vec<&str> = failed.iter().map(|f| f.name.as_str()).collect();
                let message = format!(
                    "activation refused; failing flow tests: {}",
                    names.join(", ")
                );
                (message, "flow_tests_failed", Vec::new(), failed)
            }
        };
        let body = FlowErrorBody {
            error: ErrorDetail {
                code: code.to_string(),
                message,
            },
            diagnostics,
            failed_tests,
        };
        (StatusCode::UNPROCESSABLE_ENTITY, axum::Json(body)).into_response()
    }
}

/// Flow names are also module names (`import "transfer_rules"`): `[a-z0-9_]{1,64}`.
fn valid_name(name: &str) -> bool {
    (1..=64).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
}

fn flow_not_found() -> FlowsError {
    ApiError::not_found("flow").into()
}

/// What `import` resolves to for flow `name`: the shipped modules, overridden by the site's
/// other flows (their active version, else their latest).
async fn site_modules(
    state: &AppState,
    site_id: Uuid,
    name: &str,
) -> Result<FlowModules, FlowsError> {
    let mut modules = vaarta_flows::shipped::modules();
    for flow in state.store.flows().list(site_id).await? {
        if flow.name == name {
            continue;
        }
        let version = flow.active_version.unwrap_or(flow.latest_version);
        if let Some(v) = state
            .store
            .flows()
            .get(site_id, &flow.name, Some(version))
            .await?
        {
            modules.insert(v.name, v.source);
        }
    }
    Ok(modules)
}

/// Runs CPU-bound flow work (compile, simulate, tests) off the async workers.
async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> T + Send + 'static,
) -> Result<T, FlowsError> {
    tokio::task::spawn_blocking(f).await.map_err(|e| {
        tracing::error!(error = %e, "flow task failed");
        FlowsError::Api(ApiError::internal())
    })
}

/// The site's flows with their latest and active versions.
#[utoipa::path(get, path = "/v1/sites/{site_id}/flows", tag = "flows", security(("bearer" = [])),
    params(("site_id" = Uuid, Path)),
    responses((status = 200, body = Vec<FlowSummary>), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn list_flows(
    State(state): State<AppState>,
    scope: SiteScope,
) -> Result<axum::Json<Vec<FlowSummary>>, FlowsError> {
    Ok(axum::Json(state.store.flows().list(scope.site_id()).await?))
}

/// Uploads a new version of a flow. It is compiled and checked (syntax, imports, unknown
/// functions) against the site's other flows and the shipped modules; it is not active until
/// `POST …/activate`.
#[utoipa::path(put, path = "/v1/sites/{site_id}/flows/{name}", tag = "flows", request_body = FlowUpload,
    security(("bearer" = [])),
    params(("site_id" = Uuid, Path), ("name" = String, Path, description = "`[a-z0-9_]{1,64}`")),
    responses(
        (status = 201, description = "the new version", body = FlowVersion),
        (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody),
        (status = 404, body = ErrorBody),
        (status = 413, description = "source over 256 KiB", body = ErrorBody),
        (status = 422, description = "invalid name or tests (`validation_failed`), or the flow does not compile (`flow_invalid`, with `diagnostics`)", body = FlowErrorBody),
    ))]
pub async fn put_flow(
    State(state): State<AppState>,
    scope: SiteScope,
    Path((_site_id, name)): Path<(String, String)>,
    ApiJson(upload): ApiJson<FlowUpload>,
) -> Result<(StatusCode, axum::Json<FlowVersion>), FlowsError> {
    if !valid_name(&name) {
        return Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
            "flow name must be 1..=64 characters of a-z, 0-9 and _",
        )
        .into());
    }
    if upload.source.len() > MAX_SOURCE_BYTES {
        return Err(ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "source_too_large",
            format!(
                "flow source is {} bytes; the limit is {MAX_SOURCE_BYTES}",
                upload.source.len()
            ),
        )
        .into());
    }
    if let Some(tests) = &upload.tests {
        serde_json::from_value::<FlowTestSuite>(tests.clone()).map_err(|e| {
            ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "validation_failed",
                format!("tests: {e}"),
            )
        })?;
    }
    let site_id = scope.site_id();
    let modules = site_modules(&state, site_id, &name).await?;
    let source = upload.source.clone();
    blocking(move || vaarta_flows::check(&source, &modules))
        .await?
        .map_err(FlowsError::Invalid)?;
    let version = state
        .store
        .flows()
        .put(site_id, &name, &upload.source, upload.tests.as_ref())
        .await?;
    tracing::info!(flow = %name, version = version.version, "flow uploaded");
    Ok((StatusCode::CREATED, axum::Json(version)))
}

/// A flow: its latest (or `?version=`) source and tests, and which version is active.
#[utoipa::path(get, path = "/v1/sites/{site_id}/flows/{name}", tag = "flows", security(("bearer" = [])),
    params(("site_id" = Uuid, Path), ("name" = String, Path), VersionQuery),
    responses((status = 200, body = FlowDetail), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn get_flow(
    State(state): State<AppState>,
    scope: SiteScope,
    Path((_site_id, name)): Path<(String, String)>,
    Query(q): Query<VersionQuery>,
) -> Result<axum::Json<FlowDetail>, FlowsError> {
    if !valid_name(&name) {
        return Err(flow_not_found());
    }
    let site_id = scope.site_id();
    let flows = state.store.flows();
    let latest = flows
        .get(site_id, &name, None)
        .await?
        .ok_or_else(flow_not_found)?;
    let active_version = flows.active(site_id, &name).await?.map(|v| v.version);
    let flow = match q.version {
        Some(v) => flows
            .get(site_id, &name, Some(v))
            .await?
            .ok_or_else(|| ApiError::not_found("flow version"))?,
        None => latest.clone(),
    };
    Ok(axum::Json(FlowDetail {
        name,
        latest_version: latest.version,
        active_version,
        flow,
    }))
}

/// The version history of a flow, newest first (without sources).
#[utoipa::path(get, path = "/v1/sites/{site_id}/flows/{name}/versions", tag = "flows", security(("bearer" = [])),
    params(("site_id" = Uuid, Path), ("name" = String, Path)),
    responses((status = 200, body = Vec<FlowVersionInfo>), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn list_versions(
    State(state): State<AppState>,
    scope: SiteScope,
    Path((_site_id, name)): Path<(String, String)>,
) -> Result<axum::Json<Vec<FlowVersionInfo>>, FlowsError> {
    if !valid_name(&name) {
        return Err(flow_not_found());
    }
    let versions = state.store.flows().versions(scope.site_id(), &name).await?;
    if versions.is_empty() {
        return Err(flow_not_found());
    }
    Ok(axum::Json(versions))
}

/// Makes a version the one calls run (default: the latest). Its stored flow tests run first
/// and activation is refused if any fails. Rollback = activate an older version.
#[utoipa::path(post, path = "/v1/sites/{site_id}/flows/{name}/activate", tag = "flows", request_body = ActivateRequest,
    security(("bearer" = [])),
    params(("site_id" = Uuid, Path), ("name" = String, Path)),
    responses(
        (status = 200, body = Activated),
        (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody),
        (status = 404, description = "no such flow or version", body = ErrorBody),
        (status = 422, description = "`flow_tests_failed` (with `failed_tests`) or `flow_invalid` (with `diagnostics`)", body = FlowErrorBody),
    ))]
pub async fn activate_flow(
    State(state): State<AppState>,
    scope: SiteScope,
    Path((_site_id, name)): Path<(String, String)>,
    ApiJson(req): ApiJson<ActivateRequest>,
) -> Result<axum::Json<Activated>, FlowsError> {
    if !valid_name(&name) {
        return Err(flow_not_found());
    }
    let site_id = scope.site_id();
    let flow = state
        .store
        .flows()
        .get(site_id, &name, req.version)
        .await?
        .ok_or_else(|| {
            ApiError::not_found(if req.version.is_some() {
                "flow version"
            } else {
                "flow"
            })
        })?;
    let suite = match &flow.tests {
        Some(t) => serde_json::from_value::<FlowTestSuite>(t.clone()).map_err(|e| {
            tracing::error!(error = %e, "stored flow tests no longer parse");
            ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "validation_failed",
                format!("stored tests: {e}"),
            )
        })?,
        None => FlowTestSuite::default(),
    };
    let modules = site_modules(&state, site_id, &name).await?;
    let source = flow.source.clone();
    // A flow may only call tools the site has configured (settings.tools.connectors).
    let (src, mods) = (flow.source.clone(), modules.clone());
    let info = blocking(move || vaarta_flows::check(&src, &mods))
        .await?
        .map_err(FlowsError::Invalid)?;
    let missing: Vec<&String> = info
        .tools
        .iter()
        .filter(|t| !scope.site.settings.tools.connectors.contains_key(*t))
        .collect();
    if !missing.is_empty() {
        let names: Vec<&str> = missing.iter().map(|s| s.as_str()).collect();
        return Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "tools_not_configured",
            format!(
                "the flow calls tools the site has not configured in settings.tools.connectors: {}",
                names.join(", ")
            ),
        )
        .into());
    }
    let report = blocking(move || vaarta_flows::run_flow_tests(&source, &modules, &suite))
        .await?
        .map_err(FlowsError::Invalid)?;
    if !report.passed {
        let failed = report
            .results
            .into_iter()
            .filter(|r| !r.passed)
            .map(|r| FailedTest {
                name: r.name,
                failures: r.failures,
            })
            .collect();
        return Err(FlowsError::TestsFailed(failed));
    }
    if !state
        .store
        .flows()
        .activate(site_id, &name, flow.version)
        .await?
    {
        return Err(flow_not_found());
    }
    tracing::info!(flow = %name, version = flow.version, tests = report.total, "flow activated");
    Ok(axum::Json(Activated {
        name,
        version: flow.version,
        tests_passed: report.total,
    }))
}

/// Runs a text conversation (`{"caller": ["haan", ...], "tools": {...}}`) through the flow
/// with mocked brain, kb and tools; returns transcript, actions and error. Default version: the
/// active one, else the latest; `?version=` picks another.
#[utoipa::path(post, path = "/v1/sites/{site_id}/flows/{name}/simulate", tag = "flows",
    request_body(content = Object, description = "A conversation: `caller` turns plus optional mocks (see docs/flows.md)"),
    security(("bearer" = [])),
    params(("site_id" = Uuid, Path), ("name" = String, Path), VersionQuery),
    responses(
        (status = 200, description = "transcript, actions, outcome, error", body = Object),
        (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody),
        (status = 404, body = ErrorBody),
        (status = 422, description = "invalid conversation or `flow_invalid`", body = FlowErrorBody),
    ))]
pub async fn simulate_flow(
    State(state): State<AppState>,
    scope: SiteScope,
    Path((_site_id, name)): Path<(String, String)>,
    Query(q): Query<VersionQuery>,
    ApiJson(conversation): ApiJson<Conversation>,
) -> Result<axum::Json<SimulationResult>, FlowsError> {
    if !valid_name(&name) {
        return Err(flow_not_found());
    }
    let site_id = scope.site_id();
    let flows = state.store.flows();
    let flow = match q.version {
        Some(v) => flows
            .get(site_id, &name, Some(v))
            .await?
            .ok_or_else(|| ApiError::not_found("flow version"))?,
        None => match flows.active(site_id, &name).await? {
            Some(active) => active,
            None => flows
                .get(site_id, &name, None)
                .await?
                .ok_or_else(flow_not_found)?,
        },
    };
    let modules = site_modules(&state, site_id, &name).await?;
    let result = blocking(move || vaarta_flows::simulate(&flow.source, &modules, &conversation))
        .await?
        .map_err(FlowsError::Invalid)?;
    Ok(axum::Json(result))
}

/// Deletes a flow with all its versions. A flow that a route uses cannot be deleted (409
/// `flow_routed`): change or delete the route first.
#[utoipa::path(delete, path = "/v1/sites/{site_id}/flows/{name}", tag = "flows", security(("bearer" = [])),
    params(("site_id" = Uuid, Path), ("name" = String, Path)),
    responses((status = 204), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn delete_flow(
    State(state): State<AppState>,
    scope: SiteScope,
    Path((_site_id, name)): Path<(String, String)>,
) -> Result<StatusCode, FlowsError> {
    if !valid_name(&name) {
        return Err(flow_not_found());
    }
    let site_id = scope.site_id();
    let used = state.store.routes().using_flow(site_id, &name).await?;
    if !used.is_empty() {
        let list: Vec<String> = used
            .iter()
            .map(|r| format!("{} {}", r.channel, r.number))
            .collect();
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "flow_routed",
            format!("routes use this flow: {}", list.join(", ")),
        )
        .into());
    }
    if !state.store.flows().delete(site_id, &name).await? {
        return Err(flow_not_found());
    }
    tracing::info!(flow = %name, "flow deleted");
    Ok(StatusCode::NO_CONTENT)
}
