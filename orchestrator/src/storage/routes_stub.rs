//! TEMPORARY STUB
pub struct RouteRepo;
impl RouteRepo { pub async fn resolve_sip(&self, _c: &str) -> Result<Option<(uuid::Uuid, String)>, super::StorageError> { Ok(None) } }
impl super::Store { pub fn routes(&self) -> RouteRepo { RouteRepo } }
