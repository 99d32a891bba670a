//! Messages to the operator, in their language.

use domain::{Locale, i18n};

/// Prints the catalog message `key` with `params` on standard output.
pub fn say(locale: Locale, key: &str, params: &[(&str, String)]) {
    println!("{}", i18n::format(locale, key, params));
}
