//! Every route, registered with `routes!` so it is documented in OpenAPI by construction.
//! To add one: write a handler with `#[utoipa::path(...)]` (full path, e.g.
//! `/v1/sites/{site_id}/calls`) and add `.routes(routes!(handler))` below.

pub mod analytics;
pub mod call_routes;
pub mod calls;
pub mod campaigns;
pub mod dashboard;
pub mod dnd;
pub mod docs;
pub mod flows;
pub mod format;
pub mod kb;
pub mod kb_upload;
pub mod keys;
pub mod leads;
pub mod outbound_calls;
pub mod sites;
pub mod system;
pub mod transcriptions;
pub mod webhooks;
pub mod widget;

use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::openapi::ApiDoc;
use crate::state::AppState;
use utoipa::OpenApi;

/// All routes with their OpenAPI description.
pub fn all() -> OpenApiRouter<AppState> {
    OpenApiRouter::with_openapi(ApiDoc::openapi())
        .routes(routes!(system::health))
        .routes(routes!(system::ready))
        .routes(routes!(system::metrics))
        .routes(routes!(system::openapi_json))
        .routes(routes!(docs::page))
        .routes(routes!(docs::asset))
        .routes(routes!(sites::list_sites, sites::create_site))
        .routes(routes!(
            sites::get_site,
            sites::update_site,
            sites::delete_site
        ))
        .routes(routes!(keys::list_keys, keys::create_key))
        .routes(routes!(keys::revoke_key))
        .routes(routes!(flows::list_flows))
        .routes(routes!(
            flows::get_flow,
            flows::put_flow,
            flows::delete_flow
        ))
        .routes(routes!(flows::list_versions))
        .routes(routes!(flows::activate_flow))
        .routes(routes!(flows::simulate_flow))
        .routes(routes!(call_routes::list_routes, call_routes::put_route))
        .routes(routes!(call_routes::delete_route))
        .routes(routes!(calls::list_calls, outbound_calls::place_call))
        .routes(routes!(calls::call_events))
        .routes(routes!(calls::get_call))
        .routes(routes!(calls::get_recording))
        .routes(routes!(calls::hangup_call))
        .routes(routes!(calls::transfer_call))
        .routes(routes!(analytics::summary))
        .routes(routes!(analytics::timeline))
        .routes(routes!(analytics::live))
        .routes(routes!(dnd::list_site_dnd, dnd::add_site_dnd))
        .routes(routes!(dnd::delete_site_dnd))
        .routes(routes!(dnd::list_global_dnd, dnd::add_global_dnd))
        .routes(routes!(dnd::delete_global_dnd))
        .merge(
            OpenApiRouter::new()
                .routes(routes!(dnd::import_site_dnd))
                .routes(routes!(dnd::import_global_dnd))
                .layer(dnd::import_limit()),
        )
        .routes(routes!(webhooks::list_deliveries))
        .routes(routes!(webhooks::retry_delivery))
        .routes(routes!(
            campaigns::list_campaigns,
            campaigns::create_campaign
        ))
        .routes(routes!(
            campaigns::get_campaign,
            campaigns::update_campaign,
            campaigns::delete_campaign
        ))
        .routes(routes!(leads::list_leads))
        .routes(routes!(campaigns::start_campaign))
        .routes(routes!(campaigns::pause_campaign))
        .routes(routes!(campaigns::resume_campaign))
        .routes(routes!(campaigns::stop_campaign))
        .routes(routes!(campaigns::export_campaign))
        .merge(
            OpenApiRouter::new()
                .routes(routes!(leads::upload_leads))
                .layer(leads::upload_limit()),
        )
        .routes(routes!(format::format))
        .routes(routes!(widget::widget_socket))
        .routes(routes!(widget::get_widget))
        .routes(routes!(widget::rotate_widget_key))
        .routes(routes!(widget::widget_js))
        .routes(routes!(dashboard::page))
        .routes(routes!(dashboard::asset))
        .routes(routes!(widget::demo_page))
        .routes(routes!(kb::list_documents, kb::create_document))
        .routes(routes!(kb::bulk_documents))
        .routes(routes!(
            kb::get_document,
            kb::update_document,
            kb::delete_document
        ))
        .routes(routes!(kb::search))
        .routes(routes!(kb::reindex))
        .routes(routes!(kb::get_reindex))
        .merge(
            OpenApiRouter::new()
                .routes(routes!(kb_upload::upload_document))
                .layer(kb_upload::upload_limit()),
        )
        .routes(routes!(transcriptions::list_transcriptions))
        .routes(routes!(
            transcriptions::get_transcription,
            transcriptions::delete_transcription
        ))
        .routes(routes!(transcriptions::call_audit))
        .merge(
            OpenApiRouter::new()
                .routes(routes!(transcriptions::create_transcription))
                .layer(transcriptions::upload_limit()),
        )
}
