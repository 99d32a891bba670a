//! Reading HTML form submissions: repeated keys (checkboxes) and blank fields as absent.

/// A submitted `application/x-www-form-urlencoded` form.
#[derive(Debug, Clone, Default)]
pub struct FormData {
    pairs: Vec<(String, String)>,
}

impl FormData {
    /// Parses a form body.
    pub fn parse(body: &[u8]) -> FormData {
        FormData { pairs: form_urlencoded::parse(body).map(|(key, value)| (key.into_owned(), value.into_owned())).collect() }
    }

    /// The first value of `key`, as submitted.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.pairs.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
    }

    /// The first value of `key`, trimmed; `None` when absent or blank.
    pub fn text(&self, key: &str) -> Option<String> {
        self.get(key).map(str::trim).filter(|v| !v.is_empty()).map(str::to_string)
    }

    /// Every value of `key` (checkbox groups), blank ones left out.
    pub fn all(&self, key: &str) -> Vec<String> {
        self.pairs.iter().filter(|(k, v)| k == key && !v.trim().is_empty()).map(|(_, v)| v.trim().to_string()).collect()
    }

    /// The value of `key` as an integer, if present and numeric.
    pub fn integer(&self, key: &str) -> Option<i64> {
        self.text(key).and_then(|v| v.parse().ok())
    }

    /// Every (key, value) pair except the CSRF token and passwords, to refill a form after an error.
    pub fn values(&self) -> minijinja::Value {
        let map: std::collections::BTreeMap<String, String> =
            self.pairs.iter().filter(|(k, _)| k != "csrf_token" && !k.contains("password")).map(|(k, v)| (k.clone(), v.clone())).collect();
        minijinja::Value::from(minijinja::value::Serde(&map))
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn repeated_keys_and_blanks() {
        let form = super::FormData::parse(b"roles=a&roles=b&roles=&name=+Li+&empty=&n=42&password=x");
        assert_eq!(form.all("roles"), vec!["a", "b"]);
        assert_eq!(form.text("name").as_deref(), Some("Li"));
        assert_eq!(form.text("empty"), None);
        assert_eq!(form.integer("n"), Some(42));
        assert!(!form.values().to_string().contains("password"));
    }
}
