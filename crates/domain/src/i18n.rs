//! Translation catalogs: every user-visible string of Gridline, in Simplified Chinese and English.
//!
//! The catalogs are Fluent files, `locales/zh-CN.ftl` and `locales/en.ftl`, compiled into the binary and parsed with
//! the Fluent project's own parser. Code looks strings up by a stable dotted key (`error.not_found`,
//! `invalid.too_long`, `role.grid_member`); the Fluent message id is the key with dots written as hyphens
//! (`error-not_found`). Messages may use variables (`{ $max }`); [`format`] substitutes them. The catalogs use the
//! simple subset of Fluent — text, variables and string literals — and a test fails on anything else, on a message
//! present in one catalog and not the other, and on a message whose variables differ between the two.

use std::collections::{BTreeSet, HashMap};
use std::sync::OnceLock;

use fluent_syntax::ast;

/// The English catalog.
pub const EN_FTL: &str = include_str!("../locales/en.ftl");
/// The Simplified Chinese catalog.
pub const ZH_CN_FTL: &str = include_str!("../locales/zh-CN.ftl");

/// A language Gridline speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Locale {
    /// Simplified Chinese (zh-CN).
    ZhCn,
    /// English.
    En,
}

impl Locale {
    /// Every locale, in the order the user interface offers them.
    pub const ALL: [Locale; 2] = [Locale::ZhCn, Locale::En];

    /// The BCP 47 tag: `zh-CN` or `en`.
    pub fn tag(self) -> &'static str {
        match self {
            Locale::ZhCn => "zh-CN",
            Locale::En => "en",
        }
    }

    /// Parses a tag such as `zh-CN`, `zh`, `zh-Hans`, `en-GB`; `None` for a language Gridline does not speak.
    pub fn from_tag(tag: &str) -> Option<Locale> {
        let primary = tag.trim().split(['-', '_']).next().unwrap_or("").to_ascii_lowercase();
        match primary.as_str() {
            "zh" => Some(Locale::ZhCn),
            "en" => Some(Locale::En),
            _ => None,
        }
    }

    /// Chooses a locale from an HTTP `Accept-Language` header (RFC 9110 §12.5.4), honouring q-values;
    /// falls back to `default` when nothing acceptable is offered.
    pub fn negotiate(accept_language: Option<&str>, default: Locale) -> Locale {
        let Some(header) = accept_language else { return default };
        let mut best: Option<(f32, usize, Locale)> = None;
        for (position, item) in header.split(',').enumerate() {
            let mut parts = item.split(';');
            let tag = parts.next().unwrap_or("").trim();
            let mut quality = 1.0_f32;
            for parameter in parts {
                if let Some(value) = parameter.trim().strip_prefix("q=") {
                    quality = value.trim().parse().unwrap_or(0.0);
                }
            }
            if quality <= 0.0 {
                continue;
            }
            let Some(locale) = Locale::from_tag(tag) else { continue };
            // Higher quality wins; between equal qualities the earlier item wins.
            let better = match best {
                None => true,
                Some((best_quality, _, _)) => quality > best_quality,
            };
            if better {
                best = Some((quality, position, locale));
            }
        }
        best.map(|(_, _, locale)| locale).unwrap_or(default)
    }
}

/// One catalog, parsed: messages by dotted key, in `{name}` placeholder form; and whatever could not be parsed.
struct Parsed {
    messages: Vec<(String, String)>,
    problems: Vec<String>,
}

fn parse_catalog(name: &str, source: &str) -> Parsed {
    let mut parsed = Parsed { messages: Vec::new(), problems: Vec::new() };
    let resource = match fluent_syntax::parser::parse(source) {
        Ok(resource) => resource,
        Err((resource, errors)) => {
            for error in errors {
                parsed.problems.push(format!("{name}: syntax error at bytes {:?}: {:?}", error.pos, error.kind));
            }
            resource
        }
    };
    for entry in resource.body {
        match entry {
            ast::Entry::Message(message) => {
                let key = message.id.name.replace('-', ".");
                let Some(pattern) = message.value else {
                    parsed.problems.push(format!("{name}: {key} has no value"));
                    continue;
                };
                let mut text = String::new();
                for element in pattern.elements {
                    match element {
                        ast::PatternElement::TextElement { value } => text.push_str(value),
                        ast::PatternElement::Placeable { expression: ast::Expression::Inline(inline) } => match inline {
                            ast::InlineExpression::VariableReference { id } => {
                                text.push('{');
                                text.push_str(id.name);
                                text.push('}');
                            }
                            ast::InlineExpression::StringLiteral { value } => text.push_str(value),
                            other => parsed.problems.push(format!("{name}: {key} uses an unsupported expression {other:?}")),
                        },
                        other => parsed.problems.push(format!("{name}: {key} uses an unsupported construct {other:?}")),
                    }
                }
                if !message.attributes.is_empty() {
                    parsed.problems.push(format!("{name}: {key} has attributes, which Gridline does not use"));
                }
                parsed.messages.push((key, text));
            }
            ast::Entry::Term(term) => parsed.problems.push(format!("{name}: term -{} is not supported", term.id.name)),
            ast::Entry::Junk { content } => parsed.problems.push(format!("{name}: cannot parse {content:?}")),
            _ => {}
        }
    }
    parsed
}

/// Both catalogs, joined by key.
struct Catalog {
    by_key: HashMap<&'static str, (&'static str, &'static str)>,
    entries: Vec<(&'static str, &'static str, &'static str)>,
    problems: Vec<String>,
}

fn catalog() -> &'static Catalog {
    static CATALOG: OnceLock<Catalog> = OnceLock::new();
    CATALOG.get_or_init(|| {
        let en = parse_catalog("en.ftl", EN_FTL);
        let zh = parse_catalog("zh-CN.ftl", ZH_CN_FTL);
        let mut problems = en.problems;
        problems.extend(zh.problems);
        let zh_by_key: HashMap<String, String> = zh.messages.iter().cloned().collect();
        let en_keys: BTreeSet<&String> = en.messages.iter().map(|(key, _)| key).collect();
        for (key, _) in &zh.messages {
            if !en_keys.contains(key) {
                problems.push(format!("{key} is in zh-CN.ftl but not in en.ftl"));
            }
        }
        let mut entries = Vec::new();
        let mut seen = BTreeSet::new();
        for (key, english) in en.messages {
            if !seen.insert(key.clone()) {
                problems.push(format!("{key} appears twice in en.ftl"));
                continue;
            }
            let chinese = match zh_by_key.get(&key) {
                Some(chinese) => chinese.clone(),
                None => {
                    problems.push(format!("{key} is in en.ftl but not in zh-CN.ftl"));
                    english.clone()
                }
            };
            // Leaked once, at first use: the catalogs live as long as the program, and this lets lookups hand out
            // `&'static str` without copying.
            let key: &'static str = Box::leak(key.into_boxed_str());
            let english: &'static str = Box::leak(english.into_boxed_str());
            let chinese: &'static str = Box::leak(chinese.into_boxed_str());
            entries.push((key, english, chinese));
        }
        let by_key = entries.iter().map(|(key, en, zh)| (*key, (*en, *zh))).collect();
        Catalog { by_key, entries, problems }
    })
}

/// Problems found while loading the catalogs (a test requires there are none).
pub fn catalog_problems() -> &'static [String] {
    &catalog().problems
}

/// The string for `key` in `locale`, or `None` when the catalog has no such key.
pub fn lookup(locale: Locale, key: &str) -> Option<&'static str> {
    catalog().by_key.get(key).map(|(en, zh)| match locale {
        Locale::ZhCn => *zh,
        Locale::En => *en,
    })
}

/// The string for `key` in `locale`; the key itself when the catalog lacks it (a test forbids that for every
/// key the code uses, so users never see a raw key).
pub fn text<'a>(locale: Locale, key: &'a str) -> &'a str {
    lookup(locale, key).unwrap_or(key)
}

/// The string for `key` in `locale` with every `{name}` replaced by its value from `params`.
pub fn format(locale: Locale, key: &str, params: &[(&str, String)]) -> String {
    let mut out = text(locale, key).to_string();
    for (name, value) in params {
        out = out.replace(&format!("{{{name}}}"), value);
    }
    out
}

/// Every key of the catalog, for completeness tests and for shipping the catalog to the browser.
pub fn keys() -> impl Iterator<Item = &'static str> {
    catalog().entries.iter().map(|(key, _, _)| *key)
}

/// Every `(key, en, zh)` entry of the catalog.
pub fn entries() -> &'static [(&'static str, &'static str, &'static str)] {
    &catalog().entries
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn negotiation_honours_quality_and_order() {
        let check = |header: Option<&str>, expected: Locale| {
            assert_eq!(Locale::negotiate(header, Locale::ZhCn), expected, "header {header:?}");
        };
        check(None, Locale::ZhCn);
        check(Some("en"), Locale::En);
        check(Some("en-GB,en;q=0.9"), Locale::En);
        check(Some("fr-FR, en;q=0.5, zh-CN;q=0.8"), Locale::ZhCn);
        check(Some("zh-Hans-CN"), Locale::ZhCn);
        check(Some("de, fr"), Locale::ZhCn);
        check(Some("en;q=0, zh;q=0.1"), Locale::ZhCn);
        check(Some("en;q=0"), Locale::ZhCn);
        check(Some("en, zh"), Locale::En);
        check(Some("garbage;;;q=x"), Locale::ZhCn);
    }

    #[test]
    fn catalog_has_unique_keys_and_matching_placeholders() {
        assert_eq!(catalog_problems(), &[] as &[String], "the Fluent catalogs have problems");
        let mut seen = std::collections::HashSet::new();
        for (key, en, zh) in entries() {
            assert!(seen.insert(*key), "duplicate catalog key {key}");
            assert!(!en.trim().is_empty() && !zh.trim().is_empty(), "empty text for {key}");
            assert_eq!(placeholders(en), placeholders(zh), "placeholders differ between en and zh for {key}");
        }
    }

    fn placeholders(text: &str) -> Vec<String> {
        let mut names: Vec<String> =
            text.split('{').skip(1).filter_map(|rest| rest.split_once('}').map(|(name, _)| name.to_string())).collect();
        names.sort();
        names
    }

    #[test]
    fn format_substitutes_parameters() {
        let text = format(Locale::En, "invalid.too_long", &[("max", "5".to_string())]);
        assert!(text.contains('5'), "{text}");
        let text = format(Locale::ZhCn, "invalid.too_long", &[("max", "5".to_string())]);
        assert!(text.contains('5') && !text.contains("{max}"), "{text}");
    }
}

#[cfg(test)]
mod fluent_tests {
    use super::*;

    #[test]
    fn a_key_missing_from_one_catalog_is_reported() {
        let en = parse_catalog("en", "a-b = one\nc-d = two { $x }\n");
        let zh = parse_catalog("zh", "a-b = 一\n");
        assert_eq!(en.messages, vec![("a.b".to_string(), "one".to_string()), ("c.d".to_string(), "two {x}".to_string())]);
        assert_eq!(zh.messages.len(), 1);
        let broken = parse_catalog("zh", "a-b = { -term }\nbad line\n");
        assert!(broken.problems.iter().any(|p| p.contains("unsupported")), "{:?}", broken.problems);
        assert!(broken.problems.iter().any(|p| p.contains("cannot parse")), "{:?}", broken.problems);
    }

    #[test]
    fn trailing_spaces_survive_as_string_literals() {
        assert_eq!(lookup(Locale::En, "punct.colon"), Some(": "));
        assert_eq!(lookup(Locale::ZhCn, "punct.colon"), Some("："));
    }
}
