//! A site is one tenant: a business whose chatbot Vaarta gives a voice.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use super::settings::SiteSettings;
use super::validation::{self, ValidationError};

/// Longest accepted site name, in characters.
pub const MAX_SITE_NAME: usize = 200;

/// A stored site.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Site {
    /// The tenant id used in every `/v1/sites/{site_id}/...` path.
    pub site_id: Uuid,
    pub name: String,
    pub settings: SiteSettings,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// What is needed to create a site.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewSite {
    /// Display name, 1..=200 characters.
    pub name: String,
    #[serde(default)]
    pub settings: SiteSettings,
}

impl Site {
    /// For API responses: secrets in the settings redacted.
    pub fn redacted(mut self) -> Site {
        self.settings = self.settings.redacted();
        self
    }
}

impl NewSite {
    pub fn validate(&self) -> Result<(), ValidationError> {
        validation::text("name", &self.name, MAX_SITE_NAME)?;
        self.settings.validate()
    }
}

/// A partial update: absent fields are left as they are; `settings` replaces the whole object.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SitePatch {
    pub name: Option<String>,
    pub settings: Option<SiteSettings>,
}

impl SitePatch {
    pub fn validate(&self) -> Result<(), ValidationError> {
        if let Some(n) = &self.name {
            validation::text("name", n, MAX_SITE_NAME)?;
        }
        if let Some(s) = &self.settings {
            s.validate()?;
        }
        Ok(())
    }
}
