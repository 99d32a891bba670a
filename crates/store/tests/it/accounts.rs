//! Accounts, grants, sessions, API tokens, the sign-in throttle.

use store::accounts::*;
use store::registry::Versioned;

use crate::registry::sample_tree;
use crate::{TestStore, conformance};

conformance!(accounts_grants_sessions_and_tokens);

async fn accounts_grants_sessions_and_tokens(t: &TestStore) {
    let tree = sample_tree(t).await;
    let community = tree[2].clone();
    let account = NewAccount {
        username: "cadre.a".into(),
        display_name: "社区干部甲".into(),
        password_hash: "$argon2id$v=19$m=8,t=1,p=1$c2FsdHNhbHQ$aGFzaA".into(),
        locale: "zh-CN".into(),
        member_id: None,
    };
    let created = t.store.write(move |c| Box::pin(async move { insert_account(c, &account, 100).await })).await.unwrap();
    assert!(!created.disabled);
    let (id, community_id) = (created.id, community.id);
    t.store
        .write(move |c| Box::pin(async move { insert_grant(c, id, "community_cadre", Some(community_id), None, 100).await }))
        .await
        .unwrap();

    let mut r = t.store.reader().await.unwrap();
    let grants = grants_of(&mut r.conn(), id).await.unwrap();
    assert_eq!(grants.len(), 1);
    assert_eq!(grants[0].jurisdiction_path.as_deref(), Some(community.path.as_str()));
    assert_eq!(get_account_by_username(&mut r.conn(), "cadre.a").await.unwrap().unwrap().id, id);
    assert_eq!(count_accounts(&mut r.conn()).await.unwrap(), 1);
    drop(r);

    // Sessions expire and are ended by a password change.
    let session = store::accounts::NewSession {
        token_hash: "hash-1".into(),
        public_id: "p1".into(),
        account_id: id,
        at_ms: 100,
        expires_at_ms: 1_000,
        client_address: Some("192.0.2.1".into()),
        user_agent: None,
    };
    t.store.write(move |c| Box::pin(async move { insert_session(c, &session).await })).await.unwrap();
    let mut r = t.store.reader().await.unwrap();
    assert_eq!(session_account(&mut r.conn(), "hash-1", 999).await.unwrap(), Some(id));
    assert_eq!(session_account(&mut r.conn(), "hash-1", 1_000).await.unwrap(), None);
    assert_eq!(session_account(&mut r.conn(), "other", 1).await.unwrap(), None);
    drop(r);
    t.store.write(move |c| Box::pin(async move { set_password(c, id, "new-hash", 200).await })).await.unwrap();
    let mut r = t.store.reader().await.unwrap();
    assert_eq!(session_account(&mut r.conn(), "hash-1", 500).await.unwrap(), None);
    drop(r);

    // Tokens: live until revoked or expired.
    let token = t
        .store
        .write(move |c| Box::pin(async move { insert_api_token(c, id, "pump sensor", "thash", "gl_abcd", 100, Some(5_000)).await }))
        .await
        .unwrap();
    let mut r = t.store.reader().await.unwrap();
    assert_eq!(api_token_account(&mut r.conn(), "thash", 4_999).await.unwrap(), Some((id, token.id)));
    assert_eq!(api_token_account(&mut r.conn(), "thash", 5_000).await.unwrap(), None);
    drop(r);
    let token_id = token.id;
    assert!(t.store.write(move |c| Box::pin(async move { revoke_api_token(c, token_id, 300).await })).await.unwrap());
    assert!(!t.store.write(move |c| Box::pin(async move { revoke_api_token(c, token_id, 301).await })).await.unwrap());
    let mut r = t.store.reader().await.unwrap();
    assert_eq!(api_token_account(&mut r.conn(), "thash", 400).await.unwrap(), None);
    assert_eq!(api_tokens_of(&mut r.conn(), id).await.unwrap()[0].revoked_at, Some(300));
    drop(r);

    // Account updates are versioned.
    let fields = AccountFields { display_name: "甲".into(), locale: "en".into(), member_id: None, disabled: true };
    let stale = fields.clone();
    assert_eq!(
        t.store.write(move |c| Box::pin(async move { update_account(c, id, 1, &stale, 500).await })).await.unwrap(),
        Versioned::Conflict(2)
    );
    assert_eq!(
        t.store.write(move |c| Box::pin(async move { update_account(c, id, 2, &fields, 500).await })).await.unwrap(),
        Versioned::Done(3)
    );

    // Throttle state is upserted and cleared.
    let state = Throttle { failures: 3, window_start: 10, locked_until: 0 };
    t.store.write(move |c| Box::pin(async move { set_throttle(c, "user:cadre.a", state).await })).await.unwrap();
    let next = Throttle { failures: 4, ..state };
    t.store.write(move |c| Box::pin(async move { set_throttle(c, "user:cadre.a", next).await })).await.unwrap();
    let mut r = t.store.reader().await.unwrap();
    assert_eq!(throttle(&mut r.conn(), "user:cadre.a").await.unwrap(), next);
    drop(r);
    t.store.write(|c| Box::pin(async move { clear_throttle(c, "user:cadre.a").await })).await.unwrap();
    let mut r = t.store.reader().await.unwrap();
    assert_eq!(throttle(&mut r.conn(), "user:cadre.a").await.unwrap(), Throttle::default());
}
