//! Finds and compiles the flow a call runs: the site's active version of the named flow, or
//! the shipped flow of that name when the site has not uploaded one. `import` resolves to the
//! shipped modules overridden by the site's other flows.

use uuid::Uuid;
use vaarta_flows::{FlowModules, FlowProgram};

use crate::storage::{StorageError, Store};

/// Why a call has no flow to run.
#[derive(Debug, thiserror::Error)]
pub enum FlowLoadError {
    #[error("site has no active flow named {0:?}")]
    NotFound(String),
    #[error("flow {name:?} does not compile: {message}")]
    Invalid { name: String, message: String },
    #[error(transparent)]
    Storage(#[from] StorageError),
}

/// What `import` resolves to for flow `name` of a site: the shipped modules, overridden by the
/// site's other flows (their active version, else their latest).
pub async fn site_modules(
    store: &Store,
    site_id: Uuid,
    name: &str,
) -> Result<FlowModules, StorageError> {
    let mut modules = vaarta_flows::shipped::modules();
    for flow in store.flows().list(site_id).await? {
        if flow.name == name {
            continue;
        }
        let version = flow.active_version.unwrap_or(flow.latest_version);
        if let Some(v) = store
            .flows()
            .get(site_id, &flow.name, Some(version))
            .await?
        {
            modules.insert(v.name, v.source);
        }
    }
    Ok(modules)
}

/// The compiled flow and its version (`None` for a shipped flow).
pub async fn load_flow(
    store: &Store,
    site_id: Uuid,
    name: &str,
) -> Result<(FlowProgram, Option<i64>), FlowLoadError> {
    let (source, version) = match store.flows().active(site_id, name).await? {
        Some(v) => (v.source, Some(v.version)),
        None => match vaarta_flows::shipped::flow(name) {
            Some((src, _)) => (src.to_string(), None),
            None => return Err(FlowLoadError::NotFound(name.to_string())),
        },
    };
    let modules = site_modules(store, site_id, name).await?;
    let flow_name = name.to_string();
    let compiled = tokio::task::spawn_blocking(move || FlowProgram::compile(&source, &modules))
        .await
        .map_err(|e| FlowLoadError::Invalid {
            name: flow_name.clone(),
            message: e.to_string(),
        })?;
    let program = compiled.map_err(|d| FlowLoadError::Invalid {
        name: name.to_string(),
        message: d
            .iter()
            .map(|x| x.to_string())
            .collect::<Vec<_>>()
            .join("; "),
    })?;
    Ok((program, version))
}
