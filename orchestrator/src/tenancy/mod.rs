//! Multi-tenancy: sites (tenants), their settings, API keys and who is calling.

pub(crate) mod api_key;
mod principal;
mod settings;
mod site;
pub mod validation;

pub use api_key::{ApiKey, GeneratedKey, KEY_PREFIX};
pub use principal::Principal;
pub use settings::{
    CallingHours, NotificationSettings, SiteSettings, TransferTarget, VoiceSettings,
};
pub use site::{NewSite, Site, SitePatch};
pub use validation::ValidationError;
pub mod admin_token;
