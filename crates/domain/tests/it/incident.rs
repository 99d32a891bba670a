//! The incident vocabulary and rules: categories and sub-types, the three scales, the status state machine,
//! de-duplication (with property tests), reporting clocks and the upward report.

use domain::geometry::GeoPoint;
use domain::i18n::{self, Locale};
use domain::incident::*;
use jiff::tz::TimeZone;
use jiff::{SignedDuration, Timestamp};
use proptest::prelude::*;

fn at(text: &str) -> Timestamp {
    text.parse().unwrap()
}

fn point(lon: f64, lat: f64) -> GeoPoint {
    GeoPoint::parse("p", lon, lat).unwrap()
}

fn kind(table: &SubtypeTable, category: &str, subtype: &str) -> IncidentKind {
    table.kind("", category, subtype).unwrap()
}

/// One metre of latitude in degrees on the sphere `GeoPoint::distance_m` uses.
const DEGREES_PER_METRE: f64 = 1.0 / (6_371_008.8 * std::f64::consts::PI / 180.0);

#[test]
fn source_does_no_io_and_derives_no_serde() {
    let source = include_str!("../../src/incident.rs");
    for needle in
        ["std::fs", "std::net", "std::process", "Timestamp::now", "Zoned::now", "SystemTime", "serde::", "Serialize", "Deserialize"]
    {
        assert!(!source.contains(needle), "domain::incident must not use `{needle}`");
    }
}

#[test]
fn every_label_and_message_is_in_both_catalogs() {
    fn check(prefix: &str, codes: &[&str]) {
        for code in codes {
            let key = format!("{prefix}.{code}");
            for locale in Locale::ALL {
                assert!(i18n::lookup(locale, &key).is_some(), "{key} missing in {}", locale.tag());
            }
        }
    }
    check(Category::LABEL_PREFIX, Category::CODES);
    check(Grade::LABEL_PREFIX, Grade::CODES);
    check(WarningLevel::LABEL_PREFIX, WarningLevel::CODES);
    check(ResponseLevel::LABEL_PREFIX, ResponseLevel::CODES);
    check(IncidentStatus::LABEL_PREFIX, IncidentStatus::CODES);
    check(Measure::LABEL_PREFIX, Measure::CODES);
    check("measure_value", Measure::CODES);
    check(ReportingTier::LABEL_PREFIX, ReportingTier::CODES);
    check("dedupe_reason", &["same_subtype", "related_subtype", "same_category", "different_category", "distance", "interval"]);
    check("incident_error", &["invalid_transition", "no_transition", "scale_not_applicable.grade", "scale_not_applicable.warning_level"]);
    let table = SubtypeTable::builtin();
    for entry in table.entries() {
        check("incident_subtype", &[entry.code.as_str()]);
        assert_ne!(entry.label_zh, entry.label_en, "{} has the same label in both languages", entry.code);
    }
    for schedule in [ReportingSchedule::production_safety(), ReportingSchedule::public_health()] {
        for step in schedule.steps() {
            let basis = step.basis.unwrap();
            assert!(i18n::lookup(Locale::ZhCn, basis).is_some() && i18n::lookup(Locale::En, basis).is_some(), "{basis}");
        }
    }
}

#[test]
fn the_builtin_table_covers_every_category_and_is_a_valid_table() {
    let table = SubtypeTable::builtin();
    assert_eq!(SubtypeTable::new(table.entries().to_vec()).unwrap(), table, "the built-in rows pass the table's own checks");
    for category in Category::ALL {
        assert!(table.of_category(*category).count() >= 5, "{category:?} has too few sub-types");
    }
    for code in ["urban_waterlogging", "typhoon", "building_fire", "gas_leak", "infectious_cluster", "crowd_crush"] {
        assert!(table.get_str(code).is_some(), "{code} is shipped with a plan and must be built in");
    }
    let code = |text: &str| SubtypeCode::parse("subtype", text).unwrap();
    assert!(table.is_within(&code("typhoon"), &code("meteorological")));
    assert!(!table.is_within(&code("meteorological"), &code("typhoon")));
    assert_eq!(table.lineage(&code("gas_leak")), vec![&code("gas_leak"), &code("public_facility")]);
    assert_eq!(table.label(&code("urban_waterlogging"), Locale::ZhCn), "城市内涝");
    assert_eq!(table.label(&code("urban_waterlogging"), Locale::En), "Urban waterlogging");
}

#[test]
fn a_deployment_extends_the_table_with_checked_rows() {
    let table = SubtypeTable::builtin();
    let row = |code: &str, category: &str, parent: Option<&str>| {
        SubtypeEntry::parse("rows[0]", code, category, parent, "下立交积水", "Underpass flooding")
    };
    let extended =
        table.clone().extended(vec![row("underpass_flooding", "natural_disaster", Some("urban_waterlogging")).unwrap()]).unwrap();
    let underpass = SubtypeCode::parse("s", "underpass_flooding").unwrap();
    assert!(extended.is_within(&underpass, &SubtypeCode::parse("s", "flood_drought").unwrap()));
    assert_eq!(extended.label(&underpass, Locale::ZhCn), "下立交积水");
    assert_eq!(extended.kind("report", "natural_disaster", "underpass_flooding").unwrap().subtype(), &underpass);

    let duplicate = table.clone().extended(vec![row("typhoon", "natural_disaster", None).unwrap()]).unwrap_err();
    assert_eq!((duplicate.field.as_str(), duplicate.reason.code()), ("[0].code", "duplicate"));
    let orphan = table.clone().extended(vec![row("x_ray", "natural_disaster", Some("nowhere")).unwrap()]).unwrap_err();
    assert_eq!((orphan.field.as_str(), orphan.reason.code()), ("[0].parent", "not_found"));
    let crossed = table.clone().extended(vec![row("odd_fire", "public_health", Some("fire")).unwrap()]).unwrap_err();
    assert_eq!(crossed.field, "[0].parent");

    assert_eq!(row("Bad Code", "natural_disaster", None).unwrap_err().field, "rows[0].code");
    assert_eq!(row("fine_code", "weather", None).unwrap_err().field, "rows[0].category");
    assert_eq!(SubtypeEntry::parse("r", "fine_code", "natural_disaster", None, " ", "x").unwrap_err().field, "r.label_zh");
}

#[test]
fn kinds_must_pair_a_category_with_one_of_its_sub_types() {
    let table = SubtypeTable::builtin();
    let kind = table.kind("report", "accident_disaster", "gas_leak").unwrap();
    assert_eq!(kind.category(), Category::AccidentDisaster);
    let check = |category: &str, subtype: &str, field: &str, reason: &str| {
        let error = table.kind("report", category, subtype).unwrap_err();
        assert_eq!((error.field.as_str(), error.reason.code()), (field, reason), "{category}/{subtype}");
    };
    check("natural_disaster", "gas_leak", "report.subtype", "malformed");
    check("natural_disaster", "volcano", "report.subtype", "not_found");
    check("natural_disaster", "", "report.subtype", "required");
    check("weather", "typhoon", "report.category", "unknown_value");
}

#[test]
fn relations_between_sub_types() {
    let table = SubtypeTable::builtin();
    let code = |text: &str| SubtypeCode::parse("s", text).unwrap();
    let check = |a: &str, b: &str, expected: KindRelation| {
        assert_eq!(table.relation(&code(a), &code(b)), expected, "{a} / {b}");
        assert_eq!(table.relation(&code(b), &code(a)), expected, "{b} / {a}");
    };
    check("typhoon", "typhoon", KindRelation::Same);
    check("typhoon", "meteorological", KindRelation::Related);
    check("typhoon", "rainstorm", KindRelation::Related);
    check("urban_waterlogging", "rainstorm", KindRelation::SameCategory);
    check("building_fire", "gas_leak", KindRelation::SameCategory);
    check("building_fire", "typhoon", KindRelation::Unrelated);
}

#[test]
fn the_three_scales_are_separate_and_social_security_has_no_grade_or_warning() {
    assert!(Grade::I.at_least(Grade::Iii) && !Grade::Iv.at_least(Grade::Iii) && Grade::Iii.at_least(Grade::Iii));
    assert!(WarningLevel::Red.at_least(WarningLevel::Orange) && !WarningLevel::Blue.at_least(WarningLevel::Yellow));
    assert_eq!(ResponseLevel::Level3.raised(), Some(ResponseLevel::Level2));
    assert_eq!(ResponseLevel::Level1.raised(), None);
    assert_eq!(ResponseLevel::from_rank(4), Some(ResponseLevel::Level4));
    assert_eq!(ResponseLevel::from_rank(5), None);
    assert_eq!(WarningLevel::Yellow.rank(), 3);
    assert_eq!(Grade::Ii.most_serious(Grade::Iv), Grade::Ii);

    let scales =
        Scales::parse(Category::NaturalDisaster, Some(Grade::Iv), Some(WarningLevel::Orange), Some(ResponseLevel::Level4)).unwrap();
    assert_eq!(
        (scales.grade(), scales.warning(), scales.response()),
        (Some(Grade::Iv), Some(WarningLevel::Orange), Some(ResponseLevel::Level4))
    );
    assert!(
        Scales::parse(Category::SocialSecurity, None, None, Some(ResponseLevel::Level2)).is_ok(),
        "social security events do get a response level"
    );
    let error = Scales::parse(Category::SocialSecurity, Some(Grade::Iii), None, None).unwrap_err();
    assert_eq!((error.field, error.code()), ("grade", "scale_not_applicable"));
    assert!(error.message(Locale::En).contains("Social security incident"), "{}", error.message(Locale::En));
    assert!(error.message(Locale::ZhCn).contains("社会安全事件"), "{}", error.message(Locale::ZhCn));
    let error = Scales::parse(Category::SocialSecurity, None, Some(WarningLevel::Blue), None).unwrap_err();
    assert_eq!(error.field, "warning_level");
}

#[test]
fn production_safety_grading_takes_the_most_serious_criterion_met() {
    let standard = GradingStandard::production_safety();
    let check = |figures: Figures, expected: Grade| assert_eq!(standard.grade(&figures), Some(expected), "{figures:?}");
    check(Figures::new(), Grade::Iv);
    check(Figures::new().with(Measure::Deaths, 2).with(Measure::SeriouslyInjured, 9), Grade::Iv);
    check(Figures::new().with(Measure::Deaths, 3), Grade::Iii);
    check(Figures::new().with(Measure::Deaths, 1).with(Measure::SeriouslyInjured, 50), Grade::Ii);
    check(Figures::new().with(Measure::DirectLoss10kCny, 10_000), Grade::I);
    check(Figures::new().with(Measure::Deaths, 29), Grade::Ii);
    check(Figures::new().with(Measure::Deaths, 30), Grade::I);
}

#[test]
fn figures_merge_by_taking_the_larger_count() {
    let a = Figures::new().with(Measure::Injured, 3).with(Measure::Trapped, 2);
    let b = Figures::new().with(Measure::Injured, 5).with(Measure::Evacuated, 40);
    let merged = a.merged(&b);
    assert_eq!(merged.iter().collect::<Vec<_>>(), vec![(Measure::Injured, 5), (Measure::Trapped, 2), (Measure::Evacuated, 40)]);
    assert_eq!(merged, b.merged(&a));
    assert_eq!(Measure::Deaths.describe(2, Locale::ZhCn), "死亡 2 人");
    assert_eq!(Measure::Deaths.describe(2, Locale::En), "2 dead");
}

#[test]
fn the_status_machine_allows_exactly_its_transitions() {
    use IncidentStatus::*;
    let allowed = [
        (Reported, Verified),
        (Reported, Merged),
        (Reported, Rejected),
        (Verified, Responding),
        (Verified, Closed),
        (Verified, Merged),
        (Responding, Stabilized),
        (Stabilized, Responding),
        (Stabilized, Closed),
        (Merged, Reported),
        (Merged, Verified),
        (Rejected, Reported),
    ];
    for from in IncidentStatus::ALL {
        for to in IncidentStatus::ALL {
            let expected = allowed.contains(&(*from, *to));
            assert_eq!(transition(*from, *to).is_ok(), expected, "{from:?} -> {to:?}");
        }
    }
    let error = transition(Reported, Closed).unwrap_err();
    assert_eq!(error.code(), "invalid_transition");
    assert_eq!(error.allowed_codes(), vec!["verified", "merged", "rejected"]);
    assert_eq!(error.message(Locale::En), "An incident that is Reported cannot become Closed; allowed: Verified, Merged, Rejected");
    assert_eq!(error.message(Locale::ZhCn), "事件当前为“已报告”，不能变为“已关闭”；允许的状态：已核实、已合并、已驳回");
    let closed = transition(Closed, Responding).unwrap_err();
    assert!(closed.allowed_codes().is_empty());
    assert!(closed.message(Locale::En).ends_with("allowed: none, the incident is closed"), "{}", closed.message(Locale::En));
    let open: Vec<_> = IncidentStatus::ALL.iter().filter(|s| s.is_open()).collect();
    assert_eq!(open, vec![&Reported, &Verified, &Responding, &Stabilized]);
}

// ----- De-duplication.

fn waterlogging(table: &SubtypeTable, lon: f64, lat: f64, time: &str) -> Sighting {
    Sighting { kind: kind(table, "natural_disaster", "urban_waterlogging"), position: point(lon, lat), at: at(time) }
}

#[test]
fn a_close_report_of_the_same_kind_is_proposed_with_its_reasons() {
    let table = SubtypeTable::builtin();
    let rules = DedupeRules::default();
    let new = waterlogging(&table, 121.4737, 31.2304, "2026-07-20T08:12:00Z");
    let north_430 = waterlogging(&table, 121.4737, 31.2304 + 430.0 * DEGREES_PER_METRE, "2026-07-20T08:00:00Z");
    let assessment = rules.assess(&table, &new, &north_430).unwrap();
    let reasons: Vec<String> = assessment.reasons.iter().map(|reason| reason.message(Locale::En)).collect();
    assert_eq!(reasons, vec!["same sub-type", "430 m away", "12 minutes apart"]);
    let reasons: Vec<String> = assessment.reasons.iter().map(|reason| reason.message(Locale::ZhCn)).collect();
    assert_eq!(reasons, vec!["同一子类", "相距 430 米", "相隔 12 分钟"]);
    assert!((assessment.score - (0.5 + 0.3 * (1.0 - 430.0 / 800.0) + 0.2 * (1.0 - 12.0 / 90.0))).abs() < 1e-3, "{}", assessment.score);

    let candidates = vec![
        (7_i64, north_430.clone()),
        (3, waterlogging(&table, 121.4737, 31.2304, "2026-07-20T08:10:00Z")),
        // Too far: 2 km.
        (9, waterlogging(&table, 121.4737, 31.2304 + 2_000.0 * DEGREES_PER_METRE, "2026-07-20T08:10:00Z")),
        // Too long ago: 3 hours.
        (11, waterlogging(&table, 121.4737, 31.2304, "2026-07-20T05:10:00Z")),
        // A gas leak at the same spot: another category, below the minimum score.
        (
            12,
            Sighting {
                kind: kind(&table, "accident_disaster", "gas_leak"),
                position: point(121.4737, 31.2304),
                at: at("2026-07-20T08:12:00Z"),
            },
        ),
        // A second, weaker report of incident 3 does not displace its best one.
        (3, north_430.clone()),
    ];
    let proposals = rules.propose(&table, &new, &candidates);
    let keys: Vec<i64> = proposals.iter().map(|proposal| proposal.key).collect();
    assert_eq!(keys, vec![3, 7]);
    assert!(proposals[0].assessment.score > proposals[1].assessment.score);
    assert!(proposals.iter().all(|proposal| proposal.assessment.score >= rules.min_score()));
}

#[test]
fn area_wide_hazards_have_wider_limits_and_the_search_window_covers_them() {
    let table = SubtypeTable::builtin();
    let rules = DedupeRules::default();
    let typhoon =
        |lat: f64, time: &str| Sighting { kind: kind(&table, "natural_disaster", "typhoon"), position: point(121.47, lat), at: at(time) };
    let a = typhoon(31.23, "2026-09-16T06:00:00Z");
    let b = typhoon(31.23 + 3_000.0 * DEGREES_PER_METRE, "2026-09-16T10:00:00Z");
    assert!(rules.assess(&table, &a, &b).is_some(), "typhoon damage 3 km and 4 h apart can be one incident");
    let fire = |lat: f64| Sighting {
        kind: kind(&table, "accident_disaster", "building_fire"),
        position: point(121.47, lat),
        at: at("2026-09-16T06:00:00Z"),
    };
    assert!(
        rules.assess(&table, &fire(31.23), &fire(31.23 + 3_000.0 * DEGREES_PER_METRE)).is_none(),
        "two fires 3 km apart are two incidents"
    );

    let (bbox, from, to) = rules.search_window(&table, &fire(31.23));
    assert!(bbox.contains(b.position) && bbox.contains(a.position), "the window must be as wide as the widest limits");
    assert!(from <= at("2026-09-16T00:00:00Z") && to >= at("2026-09-16T12:00:00Z"));
}

#[test]
fn rules_from_data_are_checked() {
    let limits = DedupeLimits::parse("dedupe", 500.0, 60).unwrap();
    assert_eq!((limits.max_distance_m(), limits.max_interval()), (500.0, SignedDuration::from_mins(60)));
    assert_eq!(DedupeLimits::parse("dedupe", 0.0, 60).unwrap_err().field, "dedupe.max_distance_m");
    assert_eq!(DedupeLimits::parse("dedupe", 500.0, 0).unwrap_err().field, "dedupe.max_interval_minutes");
    let parse = |weights, related, category, min| DedupeRules::parse("dedupe", limits.clone(), Vec::new(), weights, related, category, min);
    assert!(parse((0.4, 0.4, 0.2), 0.8, 0.5, 0.7).is_ok());
    assert_eq!(parse((0.4, 0.4, 0.4), 0.8, 0.5, 0.7).unwrap_err().field, "dedupe.weights");
    assert_eq!(parse((0.4, 0.4, 0.2), 0.5, 0.8, 0.7).unwrap_err().field, "dedupe.category_similarity");
    assert_eq!(parse((0.4, 0.4, 0.2), 0.8, 0.5, 1.5).unwrap_err().field, "dedupe.min_score");
    assert_eq!(parse((-0.1, 0.9, 0.2), 0.8, 0.5, 0.5).unwrap_err().field, "dedupe.weight_kind");
}

const SUBTYPES: &[(&str, &str)] = &[
    ("natural_disaster", "urban_waterlogging"),
    ("natural_disaster", "rainstorm"),
    ("natural_disaster", "typhoon"),
    ("natural_disaster", "meteorological"),
    ("accident_disaster", "gas_leak"),
    ("accident_disaster", "building_fire"),
    ("public_health", "infectious_cluster"),
];

fn sighting_strategy() -> impl Strategy<Value = (usize, f64, f64, i64)> {
    (0..SUBTYPES.len(), 121.3f64..121.6, 31.1f64..31.4, 0i64..(3 * 24 * 3600))
}

fn make_sighting(table: &SubtypeTable, (index, lon, lat, seconds): (usize, f64, f64, i64)) -> Sighting {
    let (category, subtype) = SUBTYPES[index];
    Sighting {
        kind: kind(table, category, subtype),
        position: point(lon, lat),
        at: at("2026-07-20T00:00:00Z").checked_add(SignedDuration::from_secs(seconds)).unwrap(),
    }
}

fn score_or_zero(rules: &DedupeRules, table: &SubtypeTable, a: &Sighting, b: &Sighting) -> f64 {
    rules.assess(table, a, b).map(|assessment| assessment.score).unwrap_or(0.0)
}

proptest! {
    #[test]
    fn assessment_is_symmetric_and_bounded(a in sighting_strategy(), b in sighting_strategy()) {
        let table = SubtypeTable::builtin();
        let rules = DedupeRules::default();
        let (a, b) = (make_sighting(&table, a), make_sighting(&table, b));
        let ab = rules.assess(&table, &a, &b);
        let ba = rules.assess(&table, &b, &a);
        prop_assert_eq!(&ab, &ba);
        if let Some(assessment) = ab {
            prop_assert!((0.0..=1.0).contains(&assessment.score));
        }
    }

    #[test]
    fn the_score_never_rises_with_distance(
        a in sighting_strategy(),
        b in sighting_strategy(),
        near in 0.0f64..6_000.0,
        extra in 0.0f64..6_000.0,
    ) {
        let table = SubtypeTable::builtin();
        let rules = DedupeRules::default();
        let a = make_sighting(&table, a);
        let b = make_sighting(&table, b);
        let place = |metres: f64| Sighting { position: point(a.position.lon(), a.position.lat() + metres * DEGREES_PER_METRE), ..b.clone() };
        let closer = score_or_zero(&rules, &table, &a, &place(near));
        let farther = score_or_zero(&rules, &table, &a, &place(near + extra));
        prop_assert!(closer >= farther, "{} m: {}, {} m: {}", near, closer, near + extra, farther);
    }

    #[test]
    fn the_score_never_rises_with_time(
        a in sighting_strategy(),
        b in sighting_strategy(),
        soon in 0i64..(8 * 24 * 3600),
        extra in 0i64..(8 * 24 * 3600),
        earlier in proptest::bool::ANY,
    ) {
        let table = SubtypeTable::builtin();
        let rules = DedupeRules::default();
        let a = make_sighting(&table, a);
        let b = make_sighting(&table, b);
        let sign = if earlier { -1 } else { 1 };
        let when = |seconds: i64| Sighting { at: a.at.checked_add(SignedDuration::from_secs(sign * seconds)).unwrap(), ..b.clone() };
        let sooner = score_or_zero(&rules, &table, &a, &when(soon));
        let later = score_or_zero(&rules, &table, &a, &when(soon + extra));
        prop_assert!(sooner >= later, "{} s: {}, {} s: {}", soon, sooner, soon + extra, later);
    }

    #[test]
    fn proposals_are_sorted_unique_and_above_the_minimum(
        new in sighting_strategy(),
        candidates in proptest::collection::vec((0u8..6, sighting_strategy()), 0..30),
    ) {
        let table = SubtypeTable::builtin();
        let rules = DedupeRules::default();
        let new = make_sighting(&table, new);
        let candidates: Vec<(u8, Sighting)> = candidates.into_iter().map(|(key, s)| (key, make_sighting(&table, s))).collect();
        let proposals = rules.propose(&table, &new, &candidates);
        let mut keys: Vec<u8> = proposals.iter().map(|p| p.key).collect();
        keys.sort();
        keys.dedup();
        prop_assert_eq!(keys.len(), proposals.len());
        for pair in proposals.windows(2) {
            prop_assert!(pair[0].assessment.score >= pair[1].assessment.score);
        }
        for proposal in &proposals {
            prop_assert!(proposal.assessment.score >= rules.min_score());
            let best = candidates.iter().filter(|(key, _)| *key == proposal.key).map(|(_, s)| score_or_zero(&rules, &table, &new, s)).fold(0.0, f64::max);
            prop_assert_eq!(proposal.assessment.score, best);
        }
    }
}

// ----- Reporting clocks.

#[test]
fn production_safety_deadlines_follow_the_regulation() {
    let schedule = ReportingSchedule::production_safety();
    let deadlines = schedule.deadlines(at("2026-07-20T02:00:00Z"), &[]);
    let due: Vec<(ReportingTier, Timestamp)> = deadlines.iter().map(|d| (d.to, d.due)).collect();
    assert_eq!(
        due,
        vec![
            (ReportingTier::CountyDepartment, at("2026-07-20T03:00:00Z")),
            (ReportingTier::City, at("2026-07-20T05:00:00Z")),
            (ReportingTier::Province, at("2026-07-20T07:00:00Z")),
            (ReportingTier::National, at("2026-07-20T09:00:00Z")),
        ]
    );
    assert_eq!(schedule.total_to(ReportingTier::City), Some(SignedDuration::from_mins(180)));
    assert_eq!(schedule.total_to(ReportingTier::Grid), None);

    // The county department received it after 20 minutes: its own 2 hours run from then.
    let received = [(ReportingTier::CountyDepartment, at("2026-07-20T02:20:00Z"))];
    let deadlines = schedule.deadlines(at("2026-07-20T02:00:00Z"), &received);
    assert_eq!(deadlines[0].done_at, Some(at("2026-07-20T02:20:00Z")));
    assert!(!deadlines[0].is_late(at("2026-07-20T06:00:00Z")));
    assert_eq!((deadlines[1].starts, deadlines[1].started_by_receipt), (at("2026-07-20T02:20:00Z"), true));
    assert_eq!(deadlines[1].due, at("2026-07-20T04:20:00Z"));
    assert!(deadlines[1].is_late(at("2026-07-20T04:21:00Z")));
    assert!(!deadlines[1].is_late(at("2026-07-20T04:20:00Z")));
}

#[test]
fn public_health_deadlines_and_statutory_lookup() {
    let schedule = ReportingSchedule::statutory_for(Category::PublicHealth).unwrap();
    assert_eq!(schedule, ReportingSchedule::public_health());
    assert_eq!(schedule.total_to(ReportingTier::CountyGovernment), Some(SignedDuration::from_mins(240)));
    assert_eq!(schedule.total_to(ReportingTier::National), Some(SignedDuration::from_mins(540)));
    assert_eq!(ReportingSchedule::statutory_for(Category::AccidentDisaster), Some(ReportingSchedule::production_safety()));
    assert_eq!(ReportingSchedule::statutory_for(Category::NaturalDisaster), None);
}

#[test]
fn a_plan_schedule_must_be_a_chain() {
    let step = |from, to, minutes| ReportingStep { from, to, within: SignedDuration::from_mins(minutes), basis: None };
    use ReportingTier::*;
    let chain = ReportingSchedule::new(
        "upward",
        vec![step(Grid, Community, 10), step(Community, SubDistrict, 20), step(SubDistrict, CountyGovernment, 30)],
    )
    .unwrap();
    assert_eq!(chain.total_to(CountyGovernment), Some(SignedDuration::from_mins(60)));
    let error = ReportingSchedule::new("upward", vec![step(Grid, Community, 10), step(SubDistrict, CountyGovernment, 30)]).unwrap_err();
    assert_eq!(error.field, "upward.steps[1].from");
    let error = ReportingSchedule::new("upward", vec![step(Grid, Community, 10), step(Community, Grid, 30)]).unwrap_err();
    assert_eq!(error.field, "upward.steps[1].to");
    assert_eq!(ReportingSchedule::new("upward", vec![]).unwrap_err().field, "upward.steps");
    assert_eq!(ReportingSchedule::new("upward", vec![step(Grid, Community, -1)]).unwrap_err().field, "upward.steps[0].within");
}

// ----- The upward report.

fn facts(table: &SubtypeTable) -> IncidentFacts {
    IncidentFacts {
        reference: "INC-2026-000042".into(),
        kind: kind(table, "natural_disaster", "urban_waterlogging"),
        summary: "漕溪北路下立交积水约40厘米，两辆小客车熄火，车内4人被困。".into(),
        place: "漕溪北路下立交".into(),
        jurisdiction: ("徐家汇街道".into(), "Xujiahui Sub-district".into()),
        position: Some(point(121.43712, 31.19134)),
        occurred_at: at("2026-07-20T07:55:00Z"),
        reported_at: at("2026-07-20T08:00:00Z"),
        scales: Scales::parse(Category::NaturalDisaster, Some(Grade::Iv), Some(WarningLevel::Orange), Some(ResponseLevel::Level4)).unwrap(),
        figures: Figures::new().with(Measure::Trapped, 4).with(Measure::Injured, 1).with(Measure::PondingDepthCm, 40),
        actions: vec![
            TimelineEntry { at: at("2026-07-20T08:15:00Z"), text: "消防救援站转移被困人员4人".into() },
            TimelineEntry { at: at("2026-07-20T08:05:00Z"), text: "交警封闭下立交".into() },
        ],
        needs: vec!["移动泵车2台".into(), "沙袋200只".into()],
        timeline: vec![TimelineEntry { at: at("2026-07-20T08:00:00Z"), text: "网格员报告积水".into() }],
        source_reports: 3,
        reporting_unit: "徐家汇街道城运中心".into(),
        contact: Some("021-64870000".into()),
    }
}

#[test]
fn the_upward_report_carries_the_facts_in_both_languages() {
    let table = SubtypeTable::builtin();
    let tz = TimeZone::get("Asia/Shanghai").unwrap();
    let facts = facts(&table);
    let report = upward_report(&facts, &table, &tz, None, &[]);
    let zh = report.text(Locale::ZhCn);
    let en = report.text(Locale::En);
    assert!(zh.starts_with("关于漕溪北路下立交城市内涝事件的信息报告（INC-2026-000042）"), "{zh}");
    for needle in [
        "事件类型：自然灾害：城市内涝",
        "发生时间：2026年7月20日15时55分",
        "首报时间：2026年7月20日16时00分，共 3 条来源报告",
        "事件等级：一般（Ⅳ级）",
        "预警级别：二级（橙色）",
        "响应级别：四级响应",
        "人员伤亡：受伤 1 人、被困 4 人",
        "其他数据：积水深度 40 厘米",
        // Actions are listed in time order whatever order they were given in.
        "已采取的措施：2026年7月20日16时05分 交警封闭下立交；2026年7月20日16时15分 消防救援站转移被困人员4人",
        "需要支援的事项：移动泵车2台、沙袋200只",
        "发生地点：徐家汇街道漕溪北路下立交（经度 121.43712，纬度 31.19134）",
        "报告单位：徐家汇街道城运中心",
    ] {
        assert!(zh.contains(needle), "missing {needle:?} in\n{zh}");
    }
    for needle in [
        "Incident report: Urban waterlogging at 漕溪北路下立交 (INC-2026-000042)",
        "Type of event: Natural disaster: Urban waterlogging",
        "When: 2026-07-20 15:55 CST",
        "Event grade: Grade IV, general",
        "Casualties: 1 injured, 4 trapped",
        "Support needed: 移动泵车2台, 沙袋200只",
    ] {
        assert!(en.contains(needle), "missing {needle:?} in\n{en}");
    }
    assert_eq!(report.item("summary").unwrap().value(Locale::En), facts.summary);
    assert!(report.deadlines.is_empty() && report.item("deadlines").is_none());
    assert_eq!(upward_report(&facts, &table, &tz, None, &[]), report, "the report is a pure function of the facts");
}

#[test]
fn an_upward_report_lists_its_deadlines_and_ungraded_events_say_so() {
    let table = SubtypeTable::builtin();
    let tz = TimeZone::get("Asia/Shanghai").unwrap();
    let mut facts = facts(&table);
    facts.kind = kind(&table, "accident_disaster", "gas_leak");
    facts.figures = Figures::new();
    let schedule = ReportingSchedule::production_safety();
    let report = upward_report(&facts, &table, &tz, Some(&schedule), &[]);
    assert_eq!(report.deadlines.len(), 4);
    let zh = report.text(Locale::ZhCn);
    assert!(zh.contains("报送时限：事发单位报县级主管部门：2026年7月20日17时00分前"), "{zh}");
    assert!(zh.contains("人员伤亡：暂无人员伤亡报告"), "{zh}");
    assert!(report.text(Locale::En).contains("the unit where it happened to county-level department by 2026-07-20 17:00 CST"));

    facts.kind = kind(&table, "social_security", "mass_incident");
    facts.scales = Scales::parse(Category::SocialSecurity, None, None, Some(ResponseLevel::Level3)).unwrap();
    let report = upward_report(&facts, &table, &tz, None, &[]);
    assert_eq!(report.item("grade").unwrap().value(Locale::ZhCn), "不适用：社会安全事件不分级");
    assert_eq!(report.item("warning").unwrap().value(Locale::En), "none");
}
