//! Table tests over a small fixed set of users.

use super::*;
use crate::scim::error::{ScimError, ScimType};
use crate::scim::schema::{Registry, SchemaDef, ENTERPRISE_URN};
use serde_json::json;

fn users() -> Vec<Value> {
    vec![
        json!({
            "schemas": [USER_URN, ENTERPRISE_URN],
            "id": "Ab1",
            "externalId": "Ext-1",
            "userName": "bjensen",
            "name": {"givenName": "Barbara", "familyName": "Jensen"},
            "displayName": "Babs \"B\" O'Jensen",
            "title": "Tour Guide",
            "userType": "Employee",
            "active": true,
            "emails": [
                {"value": "bjensen@example.com", "type": "work", "primary": true},
                {"value": "babs@jensen.org", "type": "home"}
            ],
            "x509Certificates": [{"value": "QUJD"}],
            "meta": {"resourceType": "User", "created": "2024-01-01T00:00:00Z",
                     "lastModified": "2024-03-01T10:00:00Z"},
            ENTERPRISE_URN: {"employeeNumber": "701984", "department": "Tours",
                             "manager": {"value": "M-1", "displayName": "John Smith"}}
        }),
        json!({
            "schemas": [USER_URN],
            "id": "cd2",
            "externalId": "ext-2",
            "USERNAME": "JSmith",
            "name": {"givenName": "John", "familyName": "Smith"},
            "title": null,
            "userType": "Employee",
            "active": false,
            "emails": [{"value": "john@EXAMPLE.org", "type": "work"}],
            "meta": {"resourceType": "User", "created": "2024-02-01T00:00:00Z",
                     "lastModified": "2024-03-01T12:00:00+02:00"}
        }),
        json!({
            "schemas": [USER_URN],
            "id": "ef3",
            "userName": "Émile",
            "nickName": "",
            "title": "Engineer",
            "userType": "Contractor",
            "active": true,
            "emails": [],
            "name": {},
            "meta": {"resourceType": "User", "created": "2024-06-01T00:00:00Z",
                     "lastModified": "2025-01-01T00:00:00Z"}
        }),
        json!({
            "schemas": [USER_URN],
            "id": "gh4",
            "userName": "zed",
            "emails": [
                {"value": "zed@work.example.com", "type": "home"},
                {"value": "zed@x.io", "type": "work", "primary": false}
            ],
            "meta": {"resourceType": "User", "created": "2024-07-01T00:00:00Z",
                     "lastModified": "2024-07-01T00:00:00Z"}
        }),
    ]
}

fn user_rt() -> &'static ResourceType {
    &Registry::builtin().user
}

/// The ids of the users matching `filter`, in dataset order.
fn ids(filter: &str) -> Vec<String> {
    let f = parse(filter).unwrap_or_else(|e| panic!("{filter:?} must parse: {e}"));
    users()
        .iter()
        .filter(|u| matches(user_rt(), &f, u).unwrap_or_else(|e| panic!("{filter:?}: {e}")))
        .map(|u| u["id"].as_str().unwrap().to_string())
        .collect()
}

fn parse_err(filter: &str) -> ScimError {
    match parse(filter) {
        Ok(f) => panic!("{filter:?} must not parse, got {f}"),
        Err(e) => e,
    }
}

fn eval_err(filter: &str) -> ScimError {
    let f = parse(filter).unwrap();
    match matches(user_rt(), &f, &users()[0]) {
        Ok(b) => panic!("{filter:?} must fail, got {b}"),
        Err(e) => e,
    }
}

fn assert_invalid_filter(e: &ScimError) {
    assert_eq!(e.status, 400, "{e}");
    assert_eq!(e.scim_type, Some(ScimType::InvalidFilter), "{e}");
}

#[test]
fn operators_select_the_expected_users() {
    let table: &[(&str, &[&str])] = &[
        // eq / ne, caseExact=false userName, case-insensitive attribute names and operators
        (r#"userName eq "bjensen""#, &["Ab1"]),
        (r#"USERNAME EQ "BJensen""#, &["Ab1"]),
        (r#"userName Eq "jsmith""#, &["cd2"]),
        (r#"userName eq "émile""#, &["ef3"]),
        (r#"userName ne "bjensen""#, &["cd2", "ef3", "gh4"]),
        // caseExact id / externalId
        (r#"id eq "Ab1""#, &["Ab1"]),
        (r#"id eq "ab1""#, &[]),
        (r#"externalId eq "ext-1""#, &[]),
        (r#"externalId eq "Ext-1""#, &["Ab1"]),
        (r#"externalId sw "EXT""#, &[]),
        (r#"externalId ne "Ext-1""#, &["cd2", "ef3", "gh4"]),
        // co / sw / ew honour caseExact=false
        (r#"userName co "SMI""#, &["cd2"]),
        (r#"userName sw "j""#, &["cd2"]),
        (r#"userName sw "bjensen""#, &["Ab1"]),
        (r#"userName ew "ED""#, &["gh4"]),
        (r#"userName ew "zed""#, &["gh4"]),
        (r#"userName co """#, &["Ab1", "cd2", "ef3", "gh4"]),
        // ordering on strings (folded), lexicographic
        (r#"userName gt "jsmith""#, &["ef3", "gh4"]),
        (r#"userName ge "JSMITH""#, &["cd2", "ef3", "gh4"]),
        (r#"userName lt "c""#, &["Ab1"]),
        (r#"userName le "bjensen""#, &["Ab1"]),
        // booleans
        ("active eq true", &["Ab1", "ef3"]),
        ("active eq false", &["cd2"]),
        ("active ne true", &["cd2", "gh4"]),
        // pr: null, "" and [] are not present; {} is not either
        ("title pr", &["Ab1", "ef3"]),
        ("nickName pr", &[]),
        ("emails pr", &["Ab1", "cd2", "gh4"]),
        ("name pr", &["Ab1", "cd2"]),
        ("name.givenName pr", &["Ab1", "cd2"]),
        // null
        ("title eq null", &["cd2", "gh4"]),
        ("title ne null", &["Ab1", "ef3"]),
        ("title gt null", &[]),
        // dateTimes compare as instants: cd2's 12:00+02:00 is Ab1's 10:00Z
        (
            r#"meta.lastModified eq "2024-03-01T10:00:00Z""#,
            &["Ab1", "cd2"],
        ),
        (
            r#"meta.lastModified gt "2024-03-01T10:00:00Z""#,
            &["ef3", "gh4"],
        ),
        (
            r#"meta.lastModified ge "2024-03-01T11:00:00+01:00""#,
            &["Ab1", "cd2", "ef3", "gh4"],
        ),
        (
            r#"meta.lastModified lt "2024-07-01T00:00:00.001Z""#,
            &["Ab1", "cd2", "gh4"],
        ),
        (r#"meta.created le "2024-02-01T00:00:00Z""#, &["Ab1", "cd2"]),
        (r#"meta.created gt "not a date""#, &[]),
        (
            r#"meta.resourceType eq "User""#,
            &["Ab1", "cd2", "ef3", "gh4"],
        ),
        (r#"meta.resourceType eq "user""#, &[]),
        // multi-valued: any value
        (r#"emails.value eq "babs@jensen.org""#, &["Ab1"]),
        (r#"emails.value co "example.""#, &["Ab1", "cd2", "gh4"]),
        (r#"emails.type eq "home""#, &["Ab1", "gh4"]),
        (
            r#"emails.value ne "babs@jensen.org""#,
            &["cd2", "ef3", "gh4"],
        ),
        // a complex multi-valued attribute without sub-attribute compares its value
        (r#"emails co "@example.com""#, &["Ab1"]),
        (r#"emails eq "JOHN@example.org""#, &["cd2"]),
        // primary defaults to false when omitted (RFC 7643 §2.4)
        ("emails.primary eq true", &["Ab1"]),
        ("emails.primary eq false", &["Ab1", "cd2", "gh4"]),
        ("emails.primary pr", &["Ab1", "gh4"]),
        (
            "emails[primary eq false and type eq \"work\"]",
            &["cd2", "gh4"],
        ),
        // schemas (multi-valued reference, caseExact)
        (&format!(r#"schemas eq "{ENTERPRISE_URN}""#), &["Ab1"]),
        // wrong-type values match nothing, so their ne matches everything
        (r#"active eq "true""#, &[]),
        (r#"active ne "true""#, &["Ab1", "cd2", "ef3", "gh4"]),
        ("userName eq 5", &[]),
        // JSON string escapes
        (r#"displayName eq "babs \"b\" o'jensen""#, &["Ab1"]),
        (r#"displayName co "\u0022B\u0022""#, &["Ab1"]),
    ];
    for (filter, want) in table {
        assert_eq!(ids(filter), *want, "filter {filter:?}");
    }
}

#[test]
fn logic_precedence_and_grouping() {
    let x = r#"userType eq "Employee""#; // Ab1 cd2
    let y = "title pr"; // Ab1 ef3
    let z = "active eq false"; // cd2
    let table: Vec<(String, &[&str])> = vec![
        (format!("{x} and {y}"), &["Ab1"]),
        (format!("{x} or {y}"), &["Ab1", "cd2", "ef3"]),
        (format!("not ({x})"), &["ef3", "gh4"]),
        (format!("not({x})"), &["ef3", "gh4"]),
        (format!("NOT({x}) and active eq true"), &["ef3"]),
        // and binds tighter than or; parentheses override
        (format!("{y} or {x} and {z}"), &["Ab1", "cd2", "ef3"]),
        (format!("{y} or ({x} and {z})"), &["Ab1", "cd2", "ef3"]),
        (format!("({y} or {x}) and {z}"), &["cd2"]),
        (format!("({x} or {y}) and not (active eq true)"), &["cd2"]),
        (format!("{x} or {y} and not ({z})"), &["Ab1", "cd2", "ef3"]),
        (format!("not (not ({x}))"), &["Ab1", "cd2"]),
        (
            r#"userName eq "zed" or userName eq "jsmith" or userName eq "nobody""#.into(),
            &["cd2", "gh4"],
        ),
    ];
    for (filter, want) in &table {
        assert_eq!(ids(filter), *want, "filter {filter:?}");
    }
}

#[test]
fn value_paths_need_one_element_to_satisfy_everything() {
    let table: &[(&str, &[&str])] = &[
        (r#"emails[type eq "work"]"#, &["Ab1", "cd2", "gh4"]),
        // gh4 has a work email and an example.com email, but not in one element
        (
            r#"emails[type eq "work" and value co "example.com"]"#,
            &["Ab1"],
        ),
        (
            r#"emails[type eq "home" and value co "example.com"]"#,
            &["gh4"],
        ),
        (r#"emails[TYPE eq "work" and primary eq true]"#, &["Ab1"]),
        (r#"emails[not (type eq "work")]"#, &["Ab1", "gh4"]),
        (r#"emails[not(type eq "work")]"#, &["Ab1", "gh4"]),
        (
            r#"emails[type eq "home" or value ew ".io"]"#,
            &["Ab1", "gh4"],
        ),
        (r#"not (emails[type eq "home"])"#, &["cd2", "ef3"]),
        (r#"emails[value pr] and userName sw "j""#, &["cd2"]),
        // unknown sub-attributes have no value
        (r#"emails[nosuch eq "x"]"#, &[]),
        (r#"emails[nosuch ne "x"]"#, &["Ab1", "cd2", "gh4"]),
        // a value path on a single-valued complex attribute tests that one object
        (r#"name[givenName sw "bar"]"#, &["Ab1"]),
        // not complex: nothing to iterate
        (r#"userName[value eq "bjensen"]"#, &[]),
    ];
    for (filter, want) in table {
        assert_eq!(ids(filter), *want, "filter {filter:?}");
    }
}

#[test]
fn urn_paths_and_enterprise_extension() {
    let ent = ENTERPRISE_URN;
    let table: Vec<(String, &[&str])> = vec![
        (format!(r#"{USER_URN}:userName eq "bjensen""#), &["Ab1"]),
        (
            format!(r#"{}:name.familyName eq "smith""#, USER_URN.to_uppercase()),
            &["cd2"],
        ),
        (format!(r#"{ent}:employeeNumber eq "701984""#), &["Ab1"]),
        (format!(r#"{ent}:department sw "tour""#), &["Ab1"]),
        (format!(r#"{ent}:manager.displayName co "smith""#), &["Ab1"]),
        (format!(r#"{ent}:manager eq "M-1""#), &["Ab1"]),
        (format!("{ent}:manager pr"), &["Ab1"]),
        (
            format!(r#"{ent}:employeeNumber ne "701984""#),
            &["cd2", "ef3", "gh4"],
        ),
        // without its URN an extension attribute is not a core attribute
        (r#"employeeNumber eq "701984""#.into(), &[]),
        (
            r#"urn:example:unknown:1.0:userName eq "bjensen""#.into(),
            &[],
        ),
    ];
    for (filter, want) in &table {
        assert_eq!(ids(filter), *want, "filter {filter:?}");
    }
}

#[test]
fn unknown_attributes_have_no_value_but_fail_validation() {
    assert_eq!(ids(r#"nosuch eq "x""#), Vec::<String>::new());
    assert_eq!(ids("nosuch pr"), Vec::<String>::new());
    assert_eq!(ids("nosuch eq null"), ["Ab1", "cd2", "ef3", "gh4"]);
    assert_eq!(ids(r#"nosuch ne "x""#), ["Ab1", "cd2", "ef3", "gh4"]);
    assert_eq!(ids("name.nosuch pr"), Vec::<String>::new());
    // a Group has no userName: simply false there (root queries, P-3.4.2.1-04)
    let group = json!({"id": "g", "displayName": "G", "members": [{"value": "Ab1"}]});
    let f = parse(r#"userName eq "x" or members.value eq "Ab1""#).unwrap();
    assert!(matches(&Registry::builtin().group, &f, &group).unwrap());
    for bad in [
        r#"nosuch eq "x""#,
        "nosuch pr",
        r#"name.nosuch eq "x""#,
        r#"emails[nosuch eq "x"]"#,
        r#"emails[value.x eq "x"]"#,
        r#"nosuch[value eq "x"]"#,
        r#"userName[value eq "x"]"#,
        r#"name eq "x""#,
        r#"employeeNumber eq "1""#,
    ] {
        let f = parse(bad).unwrap();
        let e = validate(user_rt(), &f).expect_err(bad);
        assert_invalid_filter(&e);
        assert!(e.detail.contains('"'), "{bad}: {}", e.detail);
    }
    for good in [
        r#"userName eq "x""#,
        "name eq null",
        r#"emails[type eq "work"]"#,
        r#"emails co "x""#,
        &format!(r#"{ENTERPRISE_URN}:manager.value eq "x""#),
    ] {
        validate(user_rt(), &parse(good).unwrap()).unwrap_or_else(|e| panic!("{good}: {e}"));
    }
}

#[test]
fn operators_that_cannot_apply_fail_with_invalid_filter() {
    for bad in [
        "active gt true",
        "active le false",
        r#"x509Certificates.value lt "AA""#,
        r#"x509Certificates ge "AA""#,
        r#"emails[primary gt false]"#,
        r#"active co "t""#,
        r#"meta.created sw "2024""#,
        r#"x509Certificates.value co "A""#,
        // also when the term would never be reached
        r#"userName eq "nobody" and active gt true"#,
        r#"nosuch pr or not (active lt true)"#,
    ] {
        let e = eval_err(bad);
        assert_invalid_filter(&e);
        assert!(
            e.detail.contains("cannot be applied"),
            "{bad}: {}",
            e.detail
        );
        assert_invalid_filter(&validate(user_rt(), &parse(bad).unwrap()).unwrap_err());
    }
    // binary compares case-exactly with eq
    assert_eq!(ids(r#"x509Certificates.value eq "QUJD""#), ["Ab1"]);
    assert_eq!(
        ids(r#"x509Certificates.value eq "qujd""#),
        Vec::<String>::new()
    );
}

#[test]
fn matches_element_for_the_patch_engine() {
    let rt = user_rt();
    let emails = rt.resolve_str("emails").unwrap();
    let f = |s: &str| match parse(&format!("emails[{s}]")).unwrap() {
        Filter::ValuePath(vp) => *vp.filter,
        other => panic!("{other}"),
    };
    let work = json!({"value": "a@x.com", "type": "WORK"});
    let home = json!({"value": "b@y.com", "type": "home", "primary": true});
    let cond = f(r#"type eq "work" and value co "@X""#);
    assert!(matches_element(rt, &emails, &cond, &work).unwrap());
    assert!(!matches_element(rt, &emails, &cond, &home).unwrap());
    assert!(matches_element(rt, &emails, &f("primary eq false"), &work).unwrap());
    assert!(matches_element(rt, &emails, &f("primary eq true"), &home).unwrap());
    assert!(!matches_element(rt, &emails, &f("value pr"), &json!("a@x.com")).unwrap());
    assert_invalid_filter(&matches_element(rt, &emails, &f("primary gt true"), &work).unwrap_err());
    assert_invalid_filter(&validate_element(&emails, &f(r#"nosuch eq "x""#)).unwrap_err());
    validate_element(&emails, &f(r#"display eq "x""#)).unwrap();
    let members = Registry::builtin().group.resolve_str("members").unwrap();
    let m = json!({"value": "u1", "display": "U"});
    assert!(matches_element(
        &Registry::builtin().group,
        &members,
        &f(r#"value eq "u1""#),
        &m
    )
    .unwrap());
}

#[test]
fn user_name_eq_finds_a_required_conjunct() {
    let get = |s: &str| user_name_eq(&parse(s).unwrap());
    assert_eq!(get(r#"userName eq "Bob""#).as_deref(), Some("Bob"));
    assert_eq!(
        get(r#"active eq true and USERNAME eq "Bob""#).as_deref(),
        Some("Bob")
    );
    assert_eq!(
        get(&format!(r#"{USER_URN}:userName eq "Bob""#)).as_deref(),
        Some("Bob")
    );
    assert_eq!(get(r#"userName eq "Bob" or active eq true"#), None);
    assert_eq!(get(r#"not (userName eq "Bob")"#), None);
    assert_eq!(get(r#"userName ne "Bob""#), None);
    assert_eq!(get(r#"userName co "Bob""#), None);
    assert_eq!(
        get(r#"(userName eq "Bob" or title pr) and active eq true"#),
        None
    );
}

/// A resource type with the attribute types the built-in schemas lack.
fn thing_rt() -> ResourceType {
    let schema = SchemaDef::parse(
        r#"{"id": "urn:example:Thing", "name": "Thing", "attributes": [
            {"name": "count", "type": "integer"},
            {"name": "ratio", "type": "decimal"},
            {"name": "sizes", "type": "integer", "multiValued": true},
            {"name": "code", "type": "string", "caseExact": true},
            {"name": "parts", "type": "complex", "multiValued": true, "subAttributes": [
                {"name": "value", "type": "integer"}, {"name": "label", "type": "string"}]}
        ]}"#,
    )
    .unwrap();
    ResourceType {
        name: "Thing".into(),
        endpoint: "/Things".into(),
        schema,
        extensions: vec![],
        common: vec![],
    }
}

#[test]
fn numbers_compare_numerically() {
    let rt = thing_rt();
    let things = [
        json!({"count": 9, "ratio": 0.5, "sizes": [1, 20], "code": "Ab",
               "parts": [{"value": 3, "label": "x"}]}),
        json!({"count": 10, "ratio": 2, "sizes": [], "code": "ab",
               "parts": [{"value": 30, "label": "y"}, {"value": 4}]}),
        json!({"count": "11", "ratio": null}),
    ];
    let which = |s: &str| -> Vec<usize> {
        let f = parse(s).unwrap();
        (0..things.len())
            .filter(|&i| matches(&rt, &f, &things[i]).unwrap())
            .collect()
    };
    assert_eq!(which("count gt 9"), [1]);
    assert_eq!(which("count ge 9"), [0, 1]);
    assert_eq!(which("count lt 10.5"), [0, 1]);
    assert_eq!(which("count eq 10.0"), [1]);
    assert_eq!(which("count eq 11"), Vec::<usize>::new());
    assert_eq!(which("ratio le 0.5"), [0]);
    assert_eq!(which("ratio gt 1"), [1]);
    assert_eq!(which("ratio eq 2.0"), [1]);
    assert_eq!(which("sizes gt 10"), [0]);
    assert_eq!(which("sizes pr"), [0]);
    assert_eq!(which("sizes eq null"), [1, 2]);
    assert_eq!(which(r#"count eq "9""#), Vec::<usize>::new());
    assert_eq!(which("parts gt 10"), [1]);
    assert_eq!(
        which(r#"parts[value lt 5 and label eq "Y"]"#),
        Vec::<usize>::new()
    );
    assert_eq!(which("parts[value lt 5 and not (label pr)]"), [1]);
    assert_eq!(which(r#"code eq "ab""#), [1]);
    assert_eq!(which(r#"code co "A""#), [0]);
    assert_eq!(which(r#"code gt "AB""#), [0, 1]);
    assert_invalid_filter(&matches(&rt, &parse("count co 1").unwrap(), &things[0]).unwrap_err());
}

#[test]
fn not_without_space_is_bridged_only_at_token_starts() {
    let same =
        |a: &str, b: &str| assert_eq!(parse(a).unwrap(), parse(b).unwrap(), "{a:?} vs {b:?}");
    same(r#"not(userName eq "x")"#, r#"not (userName eq "x")"#);
    same("NoT(title pr)", "not (title pr)");
    same(
        r#"emails[not(type eq "work")]"#,
        r#"emails[not (type eq "work")]"#,
    );
    same("(not(title pr))", "(not (title pr))");
    same(
        r#"title pr and not(not(userName eq "a"))"#,
        r#"title pr and not (not (userName eq "a"))"#,
    );
    // inside strings, or as the tail of a name, nothing changes
    same(r#"notes eq "not(""#, r#"notes eq "not(""#);
    let f = parse(r#"userName eq "a\"not(b" or not(title pr)"#).unwrap();
    assert_eq!(f.to_string(), r#"userName eq "a\"not(b" or not (title pr)"#);
    let f = parse(r#"title eq "not(x)""#).unwrap();
    assert_eq!(f.to_string(), r#"title eq "not(x)""#);
    assert_invalid_filter(&parse_err("cannot(title pr)"));
    assert_invalid_filter(&parse_err("x.not(title pr)"));
}

/// The column a detail reports.
fn column_of(e: &ScimError) -> usize {
    let rest = e
        .detail
        .split("column ")
        .nth(1)
        .unwrap_or_else(|| panic!("no column in {:?}", e.detail));
    rest.split(':').next().unwrap().parse().unwrap()
}

#[test]
fn invalid_filters_report_a_column() {
    // (filter, column, words the detail must contain)
    let table: &[(&str, usize, &str)] = &[
        (
            "userName",
            9,
            "unexpected end of filter, expected an operator",
        ),
        ("userName eq", 10, r#"unexpected "eq""#),
        (r#"userName eq "x" and"#, 17, r#"unexpected "and""#),
        (r#"userName eq "x" and "#, 17, r#"unexpected "and""#),
        (
            r#"userName eq and title pr"#,
            13,
            r#"unexpected "and", expected a comparison value"#,
        ),
        (
            r#"userName regex "x""#,
            10,
            r#"unexpected "regex", expected an operator"#,
        ),
        (r#"(userName eq "x""#, 17, r#"expected "and", "or" or ")""#),
        (r#"userName eq "x")"#, 16, r#"unexpected ")""#),
        (
            r#"userName eq "x" garbage"#,
            17,
            r#"unexpected "garbage", expected "and" or "or""#,
        ),
        (r#"userName eq "abc"#, 13, "unterminated string"),
        (r#"   userName eq 'x'"#, 16, "unexpected character '\\''"),
        (r#"userName eq bjensen"#, 13, "expected a comparison value"),
        (r#"title pr "x""#, 10, r#"unexpected "\"x\"""#),
        (r#"1abc eq "x""#, 1, "expected an attribute path"),
        (r#"name.a.b eq "x""#, 1, "more than one sub-attribute"),
        (
            r#"title eq "é" and name. eq "x""#,
            18,
            "is not an attribute path",
        ),
        (
            r#"title eq "ok" or title eq "\q""#,
            27,
            "invalid comparison value",
        ),
        (
            r#"emails[type eq "work"].value eq "x""#,
            23,
            r#"unexpected ".""#,
        ),
        (
            r#"emails[type eq "work""#,
            22,
            r#"expected "and", "or" or "]""#,
        ),
        (r#"active eq True"#, 11, "expected a comparison value"),
        // columns count characters of the caller's string, across the not( bridge
        (
            r#"not(title pr) and not(userName eq "é") zz"#,
            40,
            r#"unexpected "zz""#,
        ),
        ("\u{3000}é eq 1", 2, "unexpected character 'é'"),
    ];
    for (filter, col, words) in table {
        let e = parse_err(filter);
        assert_invalid_filter(&e);
        assert_eq!(column_of(&e), *col, "{filter:?}: {}", e.detail);
        assert!(
            e.detail.contains(words),
            "{filter:?}: {:?} lacks {words:?}",
            e.detail
        );
    }
}

#[test]
fn invalid_filters_without_a_position() {
    for (filter, words) in [
        ("", "empty"),
        ("   ", "empty"),
        (
            &format!("{}title pr{}", "(".repeat(70), ")".repeat(70)),
            "levels deep",
        ),
        (&vec!["title pr"; 1100].join(" or "), "comparisons"),
    ] {
        let e = parse_err(filter);
        assert_invalid_filter(&e);
        assert!(e.detail.contains(words), "{}", e.detail);
    }
}
