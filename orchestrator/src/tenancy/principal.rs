//! Who is calling the API, after authentication.

use uuid::Uuid;

/// An authenticated caller. The admin sees every site; a site key sees only its site.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Principal {
    Admin,
    SiteKey { site_id: Uuid, key_id: Uuid },
}

impl Principal {
    /// Whether this caller may see `site_id`. Callers answer "not found" otherwise, so a key
    /// never learns whether another site exists.
    pub fn can_access(&self, site_id: Uuid) -> bool {
        match self {
            Principal::Admin => true,
            Principal::SiteKey { site_id: own, .. } => *own == site_id,
        }
    }

    /// The site a query is restricted to: a key's own site; none for the admin.
    pub fn site_id(&self) -> Option<Uuid> {
        match self {
            Principal::Admin => None,
            Principal::SiteKey { site_id, .. } => Some(*site_id),
        }
    }

    pub fn is_admin(&self) -> bool {
        matches!(self, Principal::Admin)
    }
}
