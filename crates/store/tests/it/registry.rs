//! Jurisdictions, organizations, members and teams.

use domain::registry::JurisdictionPath;
use store::StoreError;
use store::list::{ListQuery, Visibility};
use store::registry::*;

use crate::{TestStore, conformance};

conformance!(
    jurisdiction_paths_and_subtree_listing,
    stale_updates_conflict_and_change_nothing,
    unique_codes_are_reported,
    members_round_trip_and_list_by_visibility,
    search_paging_and_sorting,
    teams_keep_their_membership,
    deletes_are_versioned,
);

pub fn jurisdiction(level: &str, code: &str, name: &str) -> JurisdictionFields {
    JurisdictionFields {
        level: level.into(),
        code: code.into(),
        name_zh: name.into(),
        name_en: None,
        timezone: "Asia/Shanghai".into(),
        boundary: None,
        bbox: None,
        mode: "peacetime".into(),
    }
}

async fn insert(t: &TestStore, parent: Option<&JurisdictionRow>, fields: JurisdictionFields) -> JurisdictionRow {
    let parent = parent.map(|p| (p.id, p.path.clone()));
    t.store
        .write(move |c| {
            Box::pin(async move { insert_jurisdiction(c, parent.as_ref().map(|(id, path)| (*id, path)), &fields, 1_000).await })
        })
        .await
        .unwrap()
}

pub async fn sample_tree(t: &TestStore) -> Vec<JurisdictionRow> {
    let city = insert(t, None, jurisdiction("city", "310000", "上海市")).await;
    let district = insert(t, Some(&city), jurisdiction("district", "310104", "徐汇区")).await;
    let mut communities = Vec::new();
    // Enough siblings that ids such as 4 and 40 both occur, to prove subtree ranges do not confuse them.
    for index in 0..12 {
        communities.push(insert(t, Some(&district), jurisdiction("community", &format!("c{index}"), &format!("社区{index}"))).await);
    }
    let grid = insert(t, Some(&communities[0]), jurisdiction("grid", "g0", "网格0")).await;
    let mut all = vec![city, district];
    all.extend(communities);
    all.push(grid);
    all
}

async fn jurisdiction_paths_and_subtree_listing(t: &TestStore) {
    let tree = sample_tree(t).await;
    let (city, district, first_community, grid) = (&tree[0], &tree[1], &tree[2], tree.last().unwrap());
    assert_eq!(city.path, JurisdictionPath::root(domain::ids::JurisdictionId(city.id)));
    assert_eq!(grid.path, first_community.path.child(domain::ids::JurisdictionId(grid.id)));
    assert_eq!(district.version, 1);

    let mut r = t.store.reader().await.unwrap();
    let mut query = ListQuery::new(Visibility::Everything, 100);
    query.within = Some(first_community.path.clone());
    let page = list_jurisdictions(&mut r.conn(), &query).await.unwrap();
    let codes: Vec<&str> = page.items.iter().map(|j| j.code.as_str()).collect();
    assert_eq!(codes, vec!["c0", "g0"], "a subtree holds the jurisdiction and its descendants only");
    assert_eq!(page.total, 2);

    query.within = Some(district.path.clone());
    assert_eq!(list_jurisdictions(&mut r.conn(), &query).await.unwrap().total, 14);

    let found = get_jurisdiction_by_code(&mut r.conn(), "310104").await.unwrap().unwrap();
    assert_eq!(found.id, district.id);
    assert!(get_jurisdiction_by_code(&mut r.conn(), "nope").await.unwrap().is_none());
}

async fn stale_updates_conflict_and_change_nothing(t: &TestStore) {
    let tree = sample_tree(t).await;
    let district = tree[1].clone();
    let mut renamed = jurisdiction("district", "310104", "徐汇区（新）");
    renamed.name_en = Some("Xuhui".into());
    renamed.boundary = Some(r#"{"type":"MultiPolygon","coordinates":[]}"#.into());
    renamed.bbox = Some([121.0, 31.0, 121.5, 31.3]);
    let id = district.id;
    let first = renamed.clone();
    let outcome = t.store.write(move |c| Box::pin(async move { update_jurisdiction(c, id, 1, &first, 2_000).await })).await.unwrap();
    assert_eq!(outcome, Versioned::Done(2));

    let stale = jurisdiction("district", "310104", "stale");
    let outcome = t.store.write(move |c| Box::pin(async move { update_jurisdiction(c, id, 1, &stale, 3_000).await })).await.unwrap();
    assert_eq!(outcome, Versioned::Conflict(2));
    let missing = jurisdiction("district", "x", "x");
    let outcome = t.store.write(move |c| Box::pin(async move { update_jurisdiction(c, 999_999, 1, &missing, 3_000).await })).await.unwrap();
    assert_eq!(outcome, Versioned::Missing);

    let mut r = t.store.reader().await.unwrap();
    let stored = get_jurisdiction(&mut r.conn(), id, true).await.unwrap().unwrap();
    assert_eq!(stored.name_zh, "徐汇区（新）");
    assert_eq!(stored.name_en.as_deref(), Some("Xuhui"));
    assert_eq!(stored.bbox, Some([121.0, 31.0, 121.5, 31.3]));
    assert_eq!(stored.version, 2);
    assert_eq!(stored.updated_at, 2_000);
    assert!(stored.boundary.is_some());
    let without = get_jurisdiction(&mut r.conn(), id, false).await.unwrap().unwrap();
    assert!(without.boundary.is_none());
}

async fn unique_codes_are_reported(t: &TestStore) {
    sample_tree(t).await;
    let duplicate = jurisdiction("district", "310104", "again");
    let error = t.store.write(move |c| Box::pin(async move { insert_jurisdiction(c, None, &duplicate, 1).await })).await.unwrap_err();
    match error {
        StoreError::Unique { constraint } => assert!(constraint.contains("code"), "{constraint}"),
        other => panic!("expected a unique violation, got {other:?}"),
    }
    // Nothing of the failed write remains, and the store still writes.
    let mut r = t.store.reader().await.unwrap();
    assert_eq!(list_jurisdictions(&mut r.conn(), &ListQuery::new(Visibility::Everything, 100)).await.unwrap().total, 15);
    drop(r);
    insert(t, None, jurisdiction("city", "other", "其他")).await;
}

pub fn member(jurisdiction_id: i64, name: &str, organization_id: Option<i64>) -> MemberFields {
    MemberFields {
        jurisdiction_id,
        organization_id,
        name: name.into(),
        phone: Some("+8613800000000".into()),
        email: None,
        roles: vec!["grid_member".into(), "volunteer".into()],
        skills: vec!["first_aid".into()],
        credentials: serde_json::json!([{"kind": "first_aid_certificate", "expires_on": "2027-01-31"}]),
        next_credential_expiry: Some("2027-01-31".into()),
        home: Some((121.43, 31.18)),
        base: None,
        status: "active".into(),
    }
}

async fn insert_member_at(t: &TestStore, place: &JurisdictionRow, fields: MemberFields) -> MemberRow {
    let path = place.path.clone();
    t.store.write(move |c| Box::pin(async move { insert_member(c, &fields, &path, 5_000).await })).await.unwrap()
}

async fn insert_org(t: &TestStore, place: &JurisdictionRow, code: &str) -> OrganizationRow {
    let fields = OrganizationFields {
        kind: "department".into(),
        sector: Some("water_affairs".into()),
        code: code.into(),
        name_zh: "水务局".into(),
        name_en: Some("Water Affairs Bureau".into()),
        jurisdiction_id: place.id,
        parent_id: None,
        contact_phone: None,
        contact_email: None,
        address: None,
    };
    let path = place.path.clone();
    t.store.write(move |c| Box::pin(async move { insert_organization(c, &fields, &path, 4_000).await })).await.unwrap()
}

async fn members_round_trip_and_list_by_visibility(t: &TestStore) {
    let tree = sample_tree(t).await;
    let (district, community_a, community_b, grid) = (&tree[1], &tree[2], &tree[3], tree.last().unwrap());
    let water = insert_org(t, district, "water").await;
    let a = insert_member_at(t, grid, member(grid.id, "张三", None)).await;
    let b = insert_member_at(t, community_b, member(community_b.id, "李四", Some(water.id))).await;
    let c = insert_member_at(t, community_b, member(community_b.id, "王五", None)).await;

    let mut r = t.store.reader().await.unwrap();
    let stored = get_member(&mut r.conn(), a.id).await.unwrap().unwrap();
    assert_eq!(stored, a);
    assert_eq!(stored.fields.roles, vec!["grid_member", "volunteer"]);
    assert_eq!(stored.fields.credentials[0]["expires_on"], "2027-01-31");
    assert_eq!(stored.fields.home, Some((121.43, 31.18)));
    assert_eq!(stored.path, grid.path);

    let ids = |visibility: Visibility| {
        let query = ListQuery::new(visibility, 100);
        async move {
            let mut r = t.store.reader().await.unwrap();
            let mut ids: Vec<i64> = list_members(&mut r.conn(), &query).await.unwrap().items.iter().map(|m| m.id).collect();
            ids.sort();
            ids
        }
    };
    assert_eq!(ids(Visibility::Everything).await, vec![a.id, b.id, c.id]);
    let community_a_only =
        Visibility::Some { subtrees: vec![community_a.path.clone()], ancestors_of: vec![], organizations: vec![], own_id: None };
    assert_eq!(ids(community_a_only).await, vec![a.id]);
    let water_only = Visibility::Some { subtrees: vec![], ancestors_of: vec![], organizations: vec![water.id], own_id: None };
    assert_eq!(ids(water_only).await, vec![b.id]);
    let own = Visibility::Some { subtrees: vec![], ancestors_of: vec![], organizations: vec![], own_id: Some(c.id) };
    assert_eq!(ids(own).await, vec![c.id]);
    let nothing = Visibility::Some { subtrees: vec![], ancestors_of: vec![], organizations: vec![], own_id: None };
    assert_eq!(ids(nothing).await, Vec::<i64>::new());

    // Organizations placed above a scope are visible through `ancestors_of`; those beside it are not.
    let beside = insert_org(t, community_b, "beside").await;
    let above = ListQuery::new(
        Visibility::Some { subtrees: vec![], ancestors_of: vec![grid.path.clone()], organizations: vec![], own_id: None },
        100,
    );
    let mut r = t.store.reader().await.unwrap();
    let visible: Vec<i64> = list_organizations(&mut r.conn(), &above).await.unwrap().items.iter().map(|o| o.id).collect();
    assert_eq!(visible, vec![water.id]);
    assert_ne!(beside.id, water.id);
}

async fn search_paging_and_sorting(t: &TestStore) {
    let tree = sample_tree(t).await;
    let place = &tree[2];
    for name in ["Alice", "alicia", "Bob", "100%_sure", "Carol"] {
        insert_member_at(t, place, member(place.id, name, None)).await;
    }
    let mut r = t.store.reader().await.unwrap();
    let names = |page: store::list::Page<MemberRow>| page.items.into_iter().map(|m| m.fields.name).collect::<Vec<_>>();
    let mut query = ListQuery::new(Visibility::Everything, 100);
    query.search = Some("ALI".into());
    query.sort = Some(("name".into(), false));
    assert_eq!(names(list_members(&mut r.conn(), &query).await.unwrap()), vec!["Alice", "alicia"]);
    query.search = Some("%_".into());
    assert_eq!(names(list_members(&mut r.conn(), &query).await.unwrap()), vec!["100%_sure"], "wildcards are literal");

    let mut query = ListQuery::new(Visibility::Everything, 2);
    query.sort = Some(("name".into(), true));
    let first = list_members(&mut r.conn(), &query).await.unwrap();
    assert_eq!(first.total, 5);
    query.offset = 2;
    let second = list_members(&mut r.conn(), &query).await.unwrap();
    let mut all = names(first);
    all.extend(names(second));
    assert_eq!(all.len(), 4);
    assert!(all.windows(2).all(|pair| pair[0] >= pair[1]), "descending by name across pages: {all:?}");

    // An unknown sort column falls back to the default instead of reaching SQL.
    query.sort = Some(("name; DROP TABLE members".into(), false));
    assert_eq!(list_members(&mut r.conn(), &query).await.unwrap().total, 5);
}

async fn teams_keep_their_membership(t: &TestStore) {
    let tree = sample_tree(t).await;
    let place = &tree[2];
    let one = insert_member_at(t, place, member(place.id, "一", None)).await;
    let two = insert_member_at(t, place, member(place.id, "二", None)).await;
    let fields = TeamFields {
        kind: "grassroots".into(),
        tier: "community".into(),
        name_zh: "应急分队".into(),
        name_en: None,
        jurisdiction_id: place.id,
        organization_id: None,
        leader_member_id: Some(one.id),
        member_ids: vec![one.id, two.id],
    };
    let path = place.path.clone();
    let created = t.store.write(move |c| Box::pin(async move { insert_team(c, &fields, &path, 1).await })).await.unwrap();
    assert_eq!(created.fields.member_ids, vec![one.id, two.id]);
    let mut changed = created.fields.clone();
    changed.member_ids = vec![two.id];
    let (id, path) = (created.id, place.path.clone());
    let outcome = t.store.write(move |c| Box::pin(async move { update_team(c, id, 1, &changed, &path, 2).await })).await.unwrap();
    assert_eq!(outcome, Versioned::Done(2));
    let mut r = t.store.reader().await.unwrap();
    assert_eq!(get_team(&mut r.conn(), id).await.unwrap().unwrap().fields.member_ids, vec![two.id]);
    let page = list_teams(&mut r.conn(), &ListQuery::new(Visibility::Everything, 10)).await.unwrap();
    assert_eq!(page.items[0].fields.member_ids, vec![two.id]);
    assert_eq!(member_dependents(&mut r.conn(), one.id).await.unwrap(), vec![("team", 1)], "still the leader");
}

async fn deletes_are_versioned(t: &TestStore) {
    let tree = sample_tree(t).await;
    let grid = tree.last().unwrap().clone();
    let mut r = t.store.reader().await.unwrap();
    assert_eq!(jurisdiction_dependents(&mut r.conn(), tree[2].id).await.unwrap(), vec![("jurisdiction", 1)]);
    drop(r);
    let id = grid.id;
    assert_eq!(t.store.write(move |c| Box::pin(async move { delete_jurisdiction(c, id, 7).await })).await.unwrap(), Versioned::Conflict(1));
    assert_eq!(t.store.write(move |c| Box::pin(async move { delete_jurisdiction(c, id, 1).await })).await.unwrap(), Versioned::Done(0));
    assert_eq!(t.store.write(move |c| Box::pin(async move { delete_jurisdiction(c, id, 1).await })).await.unwrap(), Versioned::Missing);
}
