//! The published JSON Schema (draft 2020-12) of plan documents, for editors and other systems that write plans.
//!
//! It is written by hand to match the serde model in `model.rs`, and its code lists come from the enums
//! themselves, so they cannot drift. A test checks that every shipped plan validates against it, that documents the
//! parser refuses for their shape are refused by the schema too, and that the committed `plan.schema.json` equals
//! this function's output. The schema checks shape only; references between parts and to the registry are the
//! linter's.

use serde_json::{Value, json};

use crate::codes::{Anchor, CodeSet, Function, OverdueTarget, Phase, PlanKind, Statute};
use crate::model::{FORMAT, Minutes, Text};
use domain::incident::{Category, Grade, Measure, ReportingTier, ResponseLevel, WarningLevel};
use domain::policy::AccountRole;
use domain::registry::{JurisdictionLevel, JurisdictionMode, MemberRole, OrganizationKind, Sector};

fn codes<T: CodeSet>(description: &str) -> Value {
    json!({ "description": description, "type": "string", "enum": T::CODE_LIST })
}

fn single_key(key: &str, value: Value) -> Value {
    json!({ "type": "object", "properties": { key: value }, "required": [key], "additionalProperties": false })
}

/// The JSON Schema of a plan document.
pub fn json_schema() -> Value {
    let reference = |name: &str| json!({ "$ref": format!("#/$defs/{name}") });
    let list = |items: Value| json!({ "type": "array", "items": items });
    let text_part = json!({ "type": "string", "minLength": 1, "maxLength": Text::MAX });
    let mut schema = json!({
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": "urn:gridline:schema:plan:1",
        "title": "Gridline emergency plan (预案)",
        "description": "An emergency plan as data: scope, triggers, responsibility matrix, action templates, escalation and upward reporting.",
        "type": "object",
        "properties": {
            "format": { "const": FORMAT },
            "code": reference("plan_code"),
            "version": { "type": "integer", "minimum": 1, "maximum": u32::MAX },
            "title": reference("text"),
            "kind": reference("plan_kind"),
            "summary": reference("text"),
            "scope": reference("scope"),
            "triggers": list(reference("trigger")),
            "matrix": list(reference("responsibility")),
            "actions": list(reference("action")),
            "escalation": reference("escalation"),
            "reporting": reference("reporting"),
            "modes": reference("modes"),
            "stand_down": reference("stand_down"),
        },
        "required": ["format", "code", "version", "title", "kind", "scope", "triggers", "matrix", "actions", "escalation", "reporting"],
        "additionalProperties": false,
    });
    let mut defs = serde_json::Map::new();
    defs.insert(
        "text".into(),
        json!({
            "description": "Text in Simplified Chinese and English; both are required.",
            "type": "object",
            "properties": { "zh": text_part.clone(), "en": text_part },
            "required": ["zh", "en"],
            "additionalProperties": false,
        }),
    );
    defs.insert("plan_code".into(), json!({ "type": "string", "pattern": "^[a-z][a-z0-9_-]{1,63}$" }));
    defs.insert("identifier".into(), json!({ "type": "string", "pattern": "^[a-z][a-z0-9_-]{0,63}$" }));
    defs.insert(
        "subtype".into(),
        json!({ "description": "A sub-type code of the deployment's table.", "type": "string", "pattern": "^[a-z][a-z0-9_]{1,47}$" }),
    );
    defs.insert(
        "registry_code".into(),
        json!({ "description": "The code of a jurisdiction or organization.", "type": "string", "pattern": "^[A-Za-z0-9._-]{1,64}$" }),
    );
    defs.insert("minutes".into(), json!({ "type": "integer", "minimum": 0, "maximum": Minutes::MAX }));
    defs.insert("category".into(), codes::<Category>("A category of the Emergency Response Law, Art. 2."));
    defs.insert("grade".into(), codes::<Grade>("Event grade I–IV."));
    defs.insert("warning_level".into(), codes::<WarningLevel>("Warning level 1–4 (red, orange, yellow, blue)."));
    defs.insert("response_level".into(), codes::<ResponseLevel>("Response level 1–4; level_1 is the highest."));
    defs.insert("measure".into(), codes::<Measure>("A figure of the incident."));
    defs.insert("reporting_tier".into(), codes::<ReportingTier>("A tier of the upward reporting chain."));
    defs.insert("member_role".into(), codes::<MemberRole>("A member's role."));
    defs.insert("account_role".into(), codes::<AccountRole>("A role granted to an account."));
    defs.insert("sector".into(), codes::<Sector>("The field an organization works in."));
    defs.insert("org_kind".into(), codes::<OrganizationKind>("The kind of organization."));
    defs.insert("jurisdiction_level".into(), codes::<JurisdictionLevel>("A level of the jurisdiction tree."));
    defs.insert("mode".into(), codes::<JurisdictionMode>("A jurisdiction's operating mode."));
    defs.insert("function".into(), codes::<Function>("A function of the responsibility matrix."));
    defs.insert("plan_kind".into(), codes::<PlanKind>("The kind of plan."));
    defs.insert("anchor".into(), codes::<Anchor>("Where a party is looked for."));
    defs.insert("phase".into(), codes::<Phase>("When an action's task is created."));
    defs.insert("overdue_target".into(), codes::<OverdueTarget>("To whom an overdue task escalates."));
    defs.insert("statute".into(), codes::<Statute>("The statutory reporting regulation."));
    defs.insert(
        "scope".into(),
        json!({
            "type": "object",
            "properties": {
                "categories": { "type": "array", "items": reference("category"), "minItems": 1 },
                "subtypes": list(reference("subtype")),
                "levels": list(reference("jurisdiction_level")),
                "jurisdictions": list(reference("registry_code")),
            },
            "required": ["categories"],
            "additionalProperties": false,
        }),
    );
    defs.insert("condition".into(), json!({
        "description": "A condition on the incident: exactly one key.",
        "oneOf": [
            single_key("all", list(reference("condition"))),
            single_key("any", list(reference("condition"))),
            single_key("grade_at_least", reference("grade")),
            single_key("warning_at_least", reference("warning_level")),
            single_key("subtype_in", list(reference("subtype"))),
            single_key("at_least", json!({
                "type": "object",
                "properties": { "measure": reference("measure"), "value": { "type": "integer", "minimum": 0 } },
                "required": ["measure", "value"],
                "additionalProperties": false,
            })),
            single_key("affected_at_least", json!({
                "type": "object",
                "properties": { "level": reference("jurisdiction_level"), "count": { "type": "integer", "minimum": 0, "maximum": u32::MAX } },
                "required": ["level", "count"],
                "additionalProperties": false,
            })),
        ],
    }));
    defs.insert(
        "trigger".into(),
        json!({
            "type": "object",
            "properties": {
                "id": reference("identifier"),
                "response_level": reference("response_level"),
                "when": reference("condition"),
                "note": reference("text"),
            },
            "required": ["id", "response_level", "when"],
            "additionalProperties": false,
        }),
    );
    defs.insert("party".into(), json!({
        "description": "An organization (by code, or by sector and/or kind), a member role (alone or within that organization), or an account role alone.",
        "type": "object",
        "properties": {
            "organization": reference("registry_code"),
            "sector": reference("sector"),
            "org_kind": reference("org_kind"),
            "member_role": reference("member_role"),
            "account_role": reference("account_role"),
            "at": reference("anchor"),
        },
        "additionalProperties": false,
        "anyOf": [
            { "required": ["organization"] },
            { "required": ["sector"] },
            { "required": ["org_kind"] },
            { "required": ["member_role"] },
            { "required": ["account_role"] },
        ],
        "not": {
            "anyOf": [
                { "required": ["organization", "sector"] },
                { "required": ["organization", "org_kind"] },
                { "required": ["member_role", "account_role"] },
                { "required": ["account_role", "organization"] },
                { "required": ["account_role", "sector"] },
                { "required": ["account_role", "org_kind"] },
            ],
        },
    }));
    defs.insert(
        "responsibility".into(),
        json!({
            "type": "object",
            "properties": {
                "function": reference("function"),
                "lead": reference("party"),
                "support": list(reference("party")),
                "duties": reference("text"),
            },
            "required": ["function"],
            "additionalProperties": false,
        }),
    );
    defs.insert(
        "action".into(),
        json!({
            "type": "object",
            "properties": {
                "id": reference("identifier"),
                "function": reference("function"),
                "title": reference("text"),
                "owner": reference("party"),
                "within_minutes": reference("minutes"),
                "after": list(reference("identifier")),
                "from_level": reference("response_level"),
                "when": reference("condition"),
                "phase": reference("phase"),
                "reports_to": reference("reporting_tier"),
            },
            "required": ["id", "function", "title", "within_minutes"],
            "additionalProperties": false,
        }),
    );
    defs.insert(
        "escalation".into(),
        json!({
            "type": "object",
            "properties": {
                "handles_up_to": reference("response_level"),
                "command": list(json!({
                    "type": "object",
                    "properties": {
                        "id": reference("identifier"),
                        "when": reference("condition"),
                        "to": {
                            "oneOf": [
                                { "const": "next_level" },
                                single_key("level", reference("jurisdiction_level")),
                            ],
                        },
                    },
                    "required": ["id", "when", "to"],
                    "additionalProperties": false,
                })),
                "overdue": {
                    "type": "object",
                    "properties": { "after_minutes": reference("minutes"), "to": reference("overdue_target") },
                    "required": ["after_minutes", "to"],
                    "additionalProperties": false,
                },
            },
            "required": ["handles_up_to", "overdue"],
            "additionalProperties": false,
        }),
    );
    defs.insert("reporting".into(), json!({
        "type": "object",
        "properties": {
            "statute": reference("statute"),
            "chain": list(json!({
                "type": "object",
                "properties": { "from": reference("reporting_tier"), "to": reference("reporting_tier"), "within_minutes": reference("minutes") },
                "required": ["from", "to", "within_minutes"],
                "additionalProperties": false,
            })),
            "deadlines": list(json!({
                "type": "object",
                "properties": { "to": reference("reporting_tier"), "within_minutes": reference("minutes") },
                "required": ["to", "within_minutes"],
                "additionalProperties": false,
            })),
        },
        "required": ["chain"],
        "additionalProperties": false,
    }));
    defs.insert(
        "modes".into(),
        json!({
            "type": "object",
            "properties": { "on_activation": reference("mode") },
            "required": ["on_activation"],
            "additionalProperties": false,
        }),
    );
    defs.insert(
        "stand_down".into(),
        json!({
            "type": "object",
            "properties": { "keep_functions": list(reference("function")) },
            "additionalProperties": false,
        }),
    );
    schema["$defs"] = Value::Object(defs);
    schema
}
