//! Messages to the operator, in their language.

use std::io::Write as _;

use domain::{Locale, i18n};

/// Prints the catalog message `key` with `params` on standard output. A closed output (the reader went away, as
/// with `gridline serve | head`) loses the message, not the process.
pub fn say(locale: Locale, key: &str, params: &[(&str, String)]) {
    let _ = writeln!(std::io::stdout(), "{}", i18n::format(locale, key, params));
}
