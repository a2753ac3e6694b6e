//! The storage suite; every test runs on SQLite and on PostgreSQL.

use uuid::Uuid;

use crate::storage_test;
use crate::tenancy::{NewSite, SitePatch, SiteSettings};

fn new_site(name: &str) -> NewSite {
    let settings: SiteSettings = serde_json::from_value(serde_json::json!({
        "languages": ["hi-IN", "en-IN"],
        "voices": {"en-IN": "en_IN-voice"},
        "webhook_url": "https://crm.example/hook"
    }))
    .unwrap();
    NewSite {
        name: name.into(),
        settings,
    }
}

storage_test!(ping_and_migrate_twice, |store| {
    store.ping().await.unwrap();
    store.migrate().await.unwrap();
});

storage_test!(site_create_get_list, |store| {
    let a = store.sites().create(&new_site("Alpha")).await.unwrap();
    let b = store.sites().create(&new_site("Beta")).await.unwrap();
    assert_eq!(store.sites().get(a.site_id).await.unwrap(), Some(a.clone()));
    assert_eq!(store.sites().get(Uuid::now_v7()).await.unwrap(), None);
    let all = store.sites().list(100, 0).await.unwrap();
    assert_eq!(all, vec![a.clone(), b.clone()]);
    assert_eq!(store.sites().list(1, 1).await.unwrap(), vec![b]);
    assert_eq!(all[0].settings.languages, vec!["hi-IN", "en-IN"]);
});

storage_test!(site_update_and_delete_cascades_keys, |store| {
    let a = store.sites().create(&new_site("Alpha")).await.unwrap();
    let patch = SitePatch {
        name: Some("Alpha 2".into()),
        settings: None,
    };
    let updated = store
        .sites()
        .update(a.site_id, &patch)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(updated.name, "Alpha 2");
    assert_eq!(updated.settings, a.settings);
    assert!(updated.updated_at >= a.updated_at);
    assert_eq!(store.sites().get(a.site_id).await.unwrap(), Some(updated));
    assert_eq!(
        store.sites().update(Uuid::now_v7(), &patch).await.unwrap(),
        None
    );

    let (_key, secret) = store.api_keys().create(a.site_id, "ci").await.unwrap();
    assert!(store.sites().delete(a.site_id).await.unwrap());
    assert!(!store.sites().delete(a.site_id).await.unwrap());
    assert_eq!(store.api_keys().list(a.site_id).await.unwrap(), vec![]);
    assert_eq!(store.api_keys().authenticate(&secret).await.unwrap(), None);
});

storage_test!(key_create_authenticate_revoke, |store| {
    let a = store.sites().create(&new_site("Alpha")).await.unwrap();
    let (key, secret) = store.api_keys().create(a.site_id, "backend").await.unwrap();
    assert!(secret.starts_with(&key.prefix), "{secret} / {}", key.prefix);
    assert_eq!(key.last_used_at, None);

    let authed = store
        .api_keys()
        .authenticate(&secret)
        .await
        .unwrap()
        .expect("valid key");
    assert_eq!(authed.key_id, key.key_id);
    assert_eq!(authed.site_id, a.site_id);
    let listed = store.api_keys().list(a.site_id).await.unwrap();
    assert_eq!(listed.len(), 1);
    assert!(listed[0].last_used_at.is_some(), "last use is recorded");

    // A key with the right prefix but a wrong secret is refused.
    let forged = format!("{}{}", &secret[..secret.len() - 4], "0000");
    let forged = if forged == secret {
        format!("{}{}", &secret[..secret.len() - 4], "1111")
    } else {
        forged
    };
    assert_eq!(store.api_keys().authenticate(&forged).await.unwrap(), None);
    assert_eq!(
        store.api_keys().authenticate("garbage").await.unwrap(),
        None
    );

    let revoked = store
        .api_keys()
        .revoke(a.site_id, key.key_id)
        .await
        .unwrap()
        .unwrap();
    let first = revoked.revoked_at.expect("revoked");
    let again = store
        .api_keys()
        .revoke(a.site_id, key.key_id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        again.revoked_at,
        Some(first),
        "revoking twice keeps the first time"
    );
    assert_eq!(store.api_keys().authenticate(&secret).await.unwrap(), None);
});

storage_test!(keys_are_scoped_to_their_site, |store| {
    let a = store.sites().create(&new_site("Alpha")).await.unwrap();
    let b = store.sites().create(&new_site("Beta")).await.unwrap();
    let (ka, _) = store.api_keys().create(a.site_id, "a").await.unwrap();
    store.api_keys().create(b.site_id, "b").await.unwrap();
    assert_eq!(
        store.api_keys().list(a.site_id).await.unwrap(),
        vec![ka.clone()]
    );
    assert_eq!(
        store.api_keys().get(b.site_id, ka.key_id).await.unwrap(),
        None
    );
    assert_eq!(
        store.api_keys().revoke(b.site_id, ka.key_id).await.unwrap(),
        None
    );
    assert_eq!(
        store
            .api_keys()
            .get(a.site_id, ka.key_id)
            .await
            .unwrap()
            .unwrap()
            .revoked_at,
        None
    );
    // The foreign key refuses keys for a site that does not exist.
    assert!(store.api_keys().create(Uuid::now_v7(), "x").await.is_err());
});
