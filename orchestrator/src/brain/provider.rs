//! Picks each site's brain from its settings and keeps one client per site (so the breaker and
//! the concurrency cap are per site), rebuilt when the settings change.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use uuid::Uuid;

use super::http::HttpBrain;
use super::kb_only::KbOnlyBrain;
use super::{AnswerStream, Brain, BrainError, BrainKind, BrainRequest, BrainSettings, Retriever};
use crate::calls::services::BrainProvider;
use crate::tenancy::SiteSettings;

/// The brains of every site on this node.
pub struct SiteBrains {
    retriever: Option<Arc<dyn Retriever>>,
    cache: Mutex<HashMap<Uuid, CachedBrain>>,
}

/// A site's brain with the settings it was built from (rebuilt when they change).
type CachedBrain = (
    BrainSettings,
    vaarta_flows::tools::ToolsConfig,
    Arc<dyn Brain>,
);

impl SiteBrains {
    pub fn new(retriever: Option<Arc<dyn Retriever>>) -> Self {
        SiteBrains {
            retriever,
            cache: Mutex::new(HashMap::new()),
        }
    }
}

/// A brain that cannot be built (bad settings): every answer fails, so calls fail over.
struct Broken(String);

impl Brain for Broken {
    fn answer(
        &self,
        _: BrainRequest,
    ) -> std::pin::Pin<
        Box<dyn std::future::Future<Output = Result<AnswerStream, BrainError>> + Send + '_>,
    > {
        let e = self.0.clone();
        Box::pin(async move { Err(BrainError::Unavailable(e)) })
    }
}

impl BrainProvider for SiteBrains {
    fn brain_for(&self, site_id: Uuid, settings: &SiteSettings) -> Arc<dyn Brain> {
        let wanted = settings.brain.clone().unwrap_or_default();
        let mut cache = self.cache.lock().unwrap_or_else(|p| p.into_inner());
        // Tools matter to the LLM brain: a change of connectors rebuilds it too.
        if let Some((s, t, b)) = cache.get(&site_id)
            && *s == wanted
            && *t == settings.tools
        {
            return b.clone();
        }
        let brain: Arc<dyn Brain> = match wanted.kind {
            BrainKind::KbOnly => Arc::new(KbOnlyBrain::new(self.retriever.clone())),
            BrainKind::Http => match HttpBrain::new(&wanted) {
                Ok(b) => Arc::new(b),
                Err(e) => Arc::new(Broken(e.to_string())),
            },
            BrainKind::Openai => {
                let tools = (!settings.tools.connectors.is_empty())
                    .then(|| crate::tools::ToolExecutor::new(settings.tools.clone()));
                match super::openai::OpenAiBrain::new(&wanted, self.retriever.clone(), tools) {
                    Ok(b) => Arc::new(b),
                    Err(e) => Arc::new(Broken(e.to_string())),
                }
            }
        };
        cache.insert(site_id, (wanted, settings.tools.clone(), brain.clone()));
        brain
    }
}
