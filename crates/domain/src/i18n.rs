//! Translation catalogs: every user-visible string of Gridline, in Simplified Chinese and English.
//!
//! Strings are looked up by a stable dotted key (`error.not_found`, `invalid.too_long`, `role.grid_member`).
//! The catalog is written as one table in which each key carries both languages, so a string cannot exist in
//! one language only. Messages may name parameters as `{name}`; [`format`] substitutes them.

use std::collections::HashMap;
use std::sync::OnceLock;

mod catalog;

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

fn table() -> &'static HashMap<&'static str, (&'static str, &'static str)> {
    static TABLE: OnceLock<HashMap<&'static str, (&'static str, &'static str)>> = OnceLock::new();
    TABLE.get_or_init(|| catalog::CATALOG.iter().map(|(key, en, zh)| (*key, (*en, *zh))).collect())
}

/// The string for `key` in `locale`, or `None` when the catalog has no such key.
pub fn lookup(locale: Locale, key: &str) -> Option<&'static str> {
    table().get(key).map(|(en, zh)| match locale {
        Locale::ZhCn => *zh,
        Locale::En => *en,
    })
}

/// The string for `key` in `locale`; the key itself when the catalog lacks it (a test forbids that for every
/// key the code uses, so users never see a raw key).
pub fn text(locale: Locale, key: &str) -> &str {
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
    catalog::CATALOG.iter().map(|(key, _, _)| *key)
}

/// Every `(key, en, zh)` entry of the catalog.
pub fn entries() -> &'static [(&'static str, &'static str, &'static str)] {
    catalog::CATALOG
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
