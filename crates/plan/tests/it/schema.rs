//! The published JSON Schema: the committed file is the function's output, every shipped plan validates, and
//! documents the parser refuses for their shape are refused by the schema too.
//!
//! The validator below implements the part of JSON Schema 2020-12 the plan schema uses (type, const, enum,
//! properties, required, additionalProperties, items, minItems, minimum, maximum, minLength, maxLength, pattern for
//! the simple character-class patterns used, anyOf, oneOf, not, $ref into $defs); it refuses a schema that uses
//! anything else, so the schema cannot quietly grow a keyword this test ignores.

use serde_json::{Value, json};

use crate::parse::MINIMAL;

const COMMITTED: &str = include_str!("../../plan.schema.json");

#[test]
fn the_committed_schema_is_the_published_one() {
    let committed: Value = serde_json::from_str(COMMITTED).expect("plan.schema.json is JSON");
    let generated = plan::json_schema();
    if committed != generated {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("plan.schema.json");
        if std::env::var_os("GRIDLINE_UPDATE_SCHEMA").is_some() {
            std::fs::write(&path, format!("{}\n", serde_json::to_string_pretty(&generated).unwrap())).unwrap();
        }
        panic!("{} is out of date; run the tests with GRIDLINE_UPDATE_SCHEMA=1 to rewrite it", path.display());
    }
}

struct Validator<'s> {
    root: &'s Value,
}

const KEYWORDS: &[&str] = &[
    "$schema",
    "$id",
    "$ref",
    "$defs",
    "title",
    "description",
    "type",
    "const",
    "enum",
    "properties",
    "required",
    "additionalProperties",
    "items",
    "minItems",
    "minimum",
    "maximum",
    "minLength",
    "maxLength",
    "pattern",
    "anyOf",
    "oneOf",
    "not",
];

impl Validator<'_> {
    fn errors(&self, schema: &Value, value: &Value, path: &str) -> Vec<String> {
        let mut errors = Vec::new();
        let Some(schema) = schema.as_object() else { return vec![format!("{path}: schema is not an object")] };
        for key in schema.keys() {
            assert!(KEYWORDS.contains(&key.as_str()), "the schema uses `{key}`, which this validator does not implement");
        }
        if let Some(reference) = schema.get("$ref").and_then(Value::as_str) {
            let name = reference.strip_prefix("#/$defs/").expect("local reference");
            return self.errors(&self.root["$defs"][name], value, path);
        }
        if let Some(expected) = schema.get("type").and_then(Value::as_str) {
            let ok = match expected {
                "object" => value.is_object(),
                "array" => value.is_array(),
                "string" => value.is_string(),
                "integer" => value.is_i64() || value.is_u64(),
                "boolean" => value.is_boolean(),
                other => panic!("type {other}"),
            };
            if !ok {
                return vec![format!("{path}: not {expected}")];
            }
        }
        if let Some(constant) = schema.get("const")
            && value != constant
        {
            errors.push(format!("{path}: not {constant}"));
        }
        if let Some(options) = schema.get("enum").and_then(Value::as_array)
            && !options.contains(value)
        {
            errors.push(format!("{path}: {value} not in enum"));
        }
        if let Some(text) = value.as_str() {
            let length = text.chars().count() as u64;
            if schema.get("minLength").and_then(Value::as_u64).is_some_and(|min| length < min) {
                errors.push(format!("{path}: too short"));
            }
            if schema.get("maxLength").and_then(Value::as_u64).is_some_and(|max| length > max) {
                errors.push(format!("{path}: too long"));
            }
            if let Some(pattern) = schema.get("pattern").and_then(Value::as_str)
                && !matches_pattern(pattern, text)
            {
                errors.push(format!("{path}: {text:?} does not match {pattern}"));
            }
        }
        if let Some(number) = value.as_f64() {
            if schema.get("minimum").and_then(Value::as_f64).is_some_and(|min| number < min) {
                errors.push(format!("{path}: below minimum"));
            }
            if schema.get("maximum").and_then(Value::as_f64).is_some_and(|max| number > max) {
                errors.push(format!("{path}: above maximum"));
            }
        }
        if let Some(object) = value.as_object() {
            let properties = schema.get("properties").and_then(Value::as_object);
            for required in schema.get("required").and_then(Value::as_array).into_iter().flatten() {
                if !object.contains_key(required.as_str().unwrap()) {
                    errors.push(format!("{path}: missing {required}"));
                }
            }
            for (key, item) in object {
                match properties.and_then(|properties| properties.get(key)) {
                    Some(property) => errors.extend(self.errors(property, item, &format!("{path}.{key}"))),
                    None if schema.get("additionalProperties") == Some(&Value::Bool(false)) => {
                        errors.push(format!("{path}: unknown {key}"))
                    }
                    None => {}
                }
            }
        }
        if let Some(items) = value.as_array() {
            if schema.get("minItems").and_then(Value::as_u64).is_some_and(|min| (items.len() as u64) < min) {
                errors.push(format!("{path}: too few items"));
            }
            if let Some(item_schema) = schema.get("items") {
                for (index, item) in items.iter().enumerate() {
                    errors.extend(self.errors(item_schema, item, &format!("{path}[{index}]")));
                }
            }
        }
        if let Some(options) = schema.get("anyOf").and_then(Value::as_array)
            && !options.iter().any(|option| self.errors(option, value, path).is_empty())
        {
            errors.push(format!("{path}: matches none of anyOf"));
        }
        if let Some(options) = schema.get("oneOf").and_then(Value::as_array) {
            let matching = options.iter().filter(|option| self.errors(option, value, path).is_empty()).count();
            if matching != 1 {
                errors.push(format!("{path}: matches {matching} of oneOf"));
            }
        }
        if let Some(negated) = schema.get("not")
            && self.errors(negated, value, path).is_empty()
        {
            errors.push(format!("{path}: matches not"));
        }
        errors
    }
}

/// The patterns of the plan schema are `^[class]{min,max}$` or `^[class][class]{min,max}$`; anything else panics.
fn matches_pattern(pattern: &str, text: &str) -> bool {
    fn class(spec: &str) -> impl Fn(char) -> bool + '_ {
        move |c: char| {
            let bytes: Vec<char> = spec.chars().collect();
            let mut index = 0;
            while index < bytes.len() {
                if index + 2 < bytes.len() && bytes[index + 1] == '-' {
                    if (bytes[index]..=bytes[index + 2]).contains(&c) {
                        return true;
                    }
                    index += 3;
                } else {
                    if bytes[index] == c {
                        return true;
                    }
                    index += 1;
                }
            }
            false
        }
    }
    let inner = pattern.strip_prefix('^').and_then(|p| p.strip_suffix('$')).expect("anchored pattern");
    let parts: Vec<&str> = inner.split('[').filter(|part| !part.is_empty()).collect();
    let mut chars = text.chars().peekable();
    for (position, part) in parts.iter().enumerate() {
        let (spec, quantifier) = part.split_once(']').expect("character class");
        let (min, max) = if quantifier.is_empty() {
            (1, 1)
        } else {
            let range = quantifier.strip_prefix('{').and_then(|q| q.strip_suffix('}')).expect("{min,max}");
            let (min, max) = range.split_once(',').unwrap();
            (min.parse::<usize>().unwrap(), max.parse::<usize>().unwrap())
        };
        let matches = class(spec);
        let mut count = 0;
        while count < max && chars.peek().is_some_and(|c| matches(*c)) {
            chars.next();
            count += 1;
        }
        if count < min {
            return false;
        }
        let _ = position;
    }
    chars.next().is_none()
}

fn validate(value: &Value) -> Vec<String> {
    let schema = plan::json_schema();
    let validator = Validator { root: &schema };
    validator.errors(&schema, value, "")
}

#[test]
fn the_pattern_matcher_used_here_is_right() {
    assert!(matches_pattern("^[a-z][a-z0-9_-]{1,63}$", "rainstorm-waterlogging"));
    assert!(!matches_pattern("^[a-z][a-z0-9_-]{1,63}$", "r"));
    assert!(!matches_pattern("^[a-z][a-z0-9_-]{1,63}$", "Rain"));
    assert!(matches_pattern("^[A-Za-z0-9._-]{1,64}$", "310104011001-rc"));
    assert!(!matches_pattern("^[A-Za-z0-9._-]{1,64}$", "a b"));
}

#[test]
fn every_shipped_plan_and_the_broken_fixture_validate() {
    for (name, text) in plan::shipped() {
        let value: Value = serde_json::from_str(text).unwrap();
        assert_eq!(validate(&value), Vec::<String>::new(), "{name}");
    }
    // The broken fixture is well-formed: its gaps are the linter's to find, not the schema's.
    let broken: Value = serde_json::from_str(include_str!("../fixtures/broken.plan.json")).unwrap();
    assert_eq!(validate(&broken), Vec::<String>::new());
    let minimal: Value = serde_json::from_str(MINIMAL).unwrap();
    assert_eq!(validate(&minimal), Vec::<String>::new());
}

#[test]
fn documents_of_the_wrong_shape_are_refused_by_parser_and_schema_alike() {
    type Edit = Box<dyn Fn(&mut Value)>;
    let edits: Vec<(&str, Edit)> = vec![
        ("version zero", Box::new(|plan| plan["version"] = json!(0))),
        ("unknown field", Box::new(|plan| plan["colour"] = json!("red"))),
        ("missing kind", Box::new(|plan| drop(plan.as_object_mut().unwrap().remove("kind")))),
        ("unknown role", Box::new(|plan| plan["matrix"][0]["lead"]["member_role"] = json!("wizard"))),
        ("two roles", Box::new(|plan| plan["matrix"][1]["lead"]["member_role"] = json!("cadre"))),
        ("account role with sector", Box::new(|plan| plan["matrix"][1]["lead"]["sector"] = json!("health"))),
        ("code and sector", Box::new(|plan| plan["matrix"][0]["lead"] = json!({ "organization": "x", "sector": "health" }))),
        ("empty party", Box::new(|plan| plan["matrix"][0]["lead"] = json!({ "at": "home" }))),
        ("minutes as text", Box::new(|plan| plan["actions"][0]["within_minutes"] = json!("30"))),
        ("minutes too large", Box::new(|plan| plan["actions"][0]["within_minutes"] = json!(20_000))),
        ("empty text", Box::new(|plan| plan["title"]["en"] = json!(""))),
        ("text without zh", Box::new(|plan| drop(plan["title"].as_object_mut().unwrap().remove("zh")))),
        (
            "two-key condition",
            Box::new(|plan| plan["triggers"][0]["when"] = json!({ "warning_at_least": "blue", "grade_at_least": "grade_iv" })),
        ),
        ("unknown condition", Box::new(|plan| plan["triggers"][0]["when"] = json!({ "colour_at_least": "blue" }))),
        (
            "bad hand-over",
            Box::new(|plan| {
                plan["escalation"]["command"] = json!([{ "id": "x", "when": { "grade_at_least": "grade_iv" }, "to": "upstairs" }])
            }),
        ),
        ("no categories", Box::new(|plan| plan["scope"]["categories"] = json!([]))),
        ("bad plan code", Box::new(|plan| plan["code"] = json!("Minimal Plan"))),
        ("wrong format", Box::new(|plan| plan["format"] = json!("gridline.plan/2"))),
        ("negative count", Box::new(|plan| plan["triggers"][0]["when"] = json!({ "at_least": { "measure": "deaths", "value": -1 } }))),
    ];
    for (what, edit) in edits {
        let mut value: Value = serde_json::from_str(MINIMAL).unwrap();
        edit(&mut value);
        assert!(plan::parse(&value.to_string()).is_err(), "the parser accepts {what}");
        assert!(!validate(&value).is_empty(), "the schema accepts {what}");
    }
    // And a few documents both accept: optional parts, a sector with a kind, nested conditions.
    let mut value: Value = serde_json::from_str(MINIMAL).unwrap();
    value["matrix"][0]["lead"] =
        json!({ "sector": "health", "org_kind": "department", "member_role": "liaison", "at": "each_affected_community" });
    value["triggers"][0]["when"] =
        json!({ "all": [{ "any": [{ "subtype_in": ["typhoon"] }] }, { "affected_at_least": { "level": "grid", "count": 2 } }] });
    value["escalation"]["command"] = json!([{ "id": "up", "when": { "grade_at_least": "grade_iii" }, "to": { "level": "district" } }]);
    value["modes"] = json!({ "on_activation": "heightened" });
    assert!(plan::parse(&value.to_string()).is_ok());
    assert_eq!(validate(&value), Vec::<String>::new());
}
