//! Text newtypes: names, codes, contact details. Each has one constructor that checks its rules, so a value of
//! the type is valid wherever it appears.

use crate::error::{Invalid, InvalidReason};

/// Defines a closed set of values carried as stable snake_case codes: `parse` accepts only known codes and
/// names the field at fault otherwise; `label` gives the catalog text in a locale.
#[macro_export]
macro_rules! coded_enum {
    (
        $(#[$meta:meta])*
        $name:ident, $prefix:literal {
            $($(#[$vmeta:meta])* $variant:ident = $code:literal),* $(,)?
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum $name {
            $($(#[$vmeta])* $variant),*
        }

        impl $name {
            /// Every value, in declaration order.
            pub const ALL: &'static [$name] = &[$($name::$variant),*];
            /// Every code, in declaration order.
            pub const CODES: &'static [&'static str] = &[$($code),*];
            /// The catalog key prefix of the labels.
            pub const LABEL_PREFIX: &'static str = $prefix;

            /// The stable snake_case code.
            pub fn code(self) -> &'static str {
                match self {
                    $($name::$variant => $code),*
                }
            }

            /// Parses a code; the error names `field` and lists the allowed codes.
            pub fn parse(field: &str, code: &str) -> Result<$name, $crate::error::Invalid> {
                match code {
                    $($code => Ok($name::$variant),)*
                    _ => Err($crate::error::Invalid::new(
                        field,
                        $crate::error::InvalidReason::UnknownValue { allowed: Self::CODES.to_vec() },
                    )),
                }
            }

            /// The human label in `locale`.
            pub fn label(self, locale: $crate::i18n::Locale) -> &'static str {
                $crate::i18n::lookup(locale, &format!("{}.{}", $prefix, self.code())).unwrap_or(self.code())
            }
        }
    };
}

fn check_length(field: &str, value: &str, min: usize, max: usize) -> Result<(), Invalid> {
    let count = value.chars().count();
    if count == 0 && min > 0 {
        return Err(Invalid::new(field, InvalidReason::Required));
    }
    if count < min {
        return Err(Invalid::new(field, InvalidReason::TooShort { min }));
    }
    if count > max {
        return Err(Invalid::new(field, InvalidReason::TooLong { max }));
    }
    Ok(())
}

/// A human name or title: trimmed, 1 to 200 characters, no control characters.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Name(String);

impl Name {
    /// The longest name accepted.
    pub const MAX: usize = 200;

    /// Parses a name given in `field`.
    pub fn parse(field: &str, value: &str) -> Result<Name, Invalid> {
        let value = value.trim();
        check_length(field, value, 1, Self::MAX)?;
        if value.chars().any(char::is_control) {
            return Err(Invalid::new(field, InvalidReason::BadCharacters { allowed: "printable characters" }));
        }
        Ok(Name(value.to_string()))
    }

    /// Parses an optional name: absent or blank text gives `None`.
    pub fn parse_optional(field: &str, value: Option<&str>) -> Result<Option<Name>, Invalid> {
        match value.map(str::trim) {
            None | Some("") => Ok(None),
            Some(value) => Name::parse(field, value).map(Some),
        }
    }

    /// The name as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The name as an owned string.
    pub fn into_string(self) -> String {
        self.0
    }
}

/// A stable code for a jurisdiction or organization (an administrative-division code such as `310101`, or a
/// short mnemonic such as `water-affairs`): 1 to 64 characters of ASCII letters, digits, `-`, `_` and `.`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Code(String);

impl Code {
    /// Parses a code given in `field`.
    pub fn parse(field: &str, value: &str) -> Result<Code, Invalid> {
        let value = value.trim();
        check_length(field, value, 1, 64)?;
        if !value.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.')) {
            return Err(Invalid::new(field, InvalidReason::BadCharacters { allowed: "A-Z a-z 0-9 - _ ." }));
        }
        Ok(Code(value.to_string()))
    }

    /// The code as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A login name: 3 to 64 characters of lowercase ASCII letters, digits, `.`, `_` and `-`, starting with a letter.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Username(String);

impl Username {
    /// Parses a username given in `field`; uppercase letters are folded to lowercase.
    pub fn parse(field: &str, value: &str) -> Result<Username, Invalid> {
        let value = value.trim().to_ascii_lowercase();
        check_length(field, &value, 3, 64)?;
        let starts_with_letter = value.chars().next().is_some_and(|c| c.is_ascii_lowercase());
        if !starts_with_letter || !value.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '.' | '_' | '-')) {
            return Err(Invalid::new(field, InvalidReason::BadCharacters { allowed: "a-z 0-9 . _ - (starting with a letter)" }));
        }
        Ok(Username(value))
    }

    /// The username as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A password as typed: 10 to 256 characters. Only its Argon2id hash is ever stored.
#[derive(Clone, PartialEq, Eq)]
pub struct Password(String);

impl Password {
    /// Parses a new password given in `field`.
    pub fn parse(field: &str, value: &str) -> Result<Password, Invalid> {
        check_length(field, value, 10, 256)?;
        Ok(Password(value.to_string()))
    }

    /// The password text, for hashing.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Password {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Password(<redacted>)")
    }
}

/// A telephone number: digits with an optional leading `+`, and spaces or dashes between groups; 3 to 20 digits.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Phone(String);

impl Phone {
    /// Parses a phone number given in `field`; spaces and dashes are removed.
    pub fn parse(field: &str, value: &str) -> Result<Phone, Invalid> {
        let compact: String = value.trim().chars().filter(|c| !matches!(c, ' ' | '-')).collect();
        let digits = compact.strip_prefix('+').unwrap_or(&compact);
        if digits.is_empty() {
            return Err(Invalid::new(field, InvalidReason::Required));
        }
        if !digits.chars().all(|c| c.is_ascii_digit()) || !(3..=20).contains(&digits.len()) {
            return Err(Invalid::new(field, InvalidReason::Malformed { expected: "+8613800000000" }));
        }
        Ok(Phone(compact))
    }

    /// The number as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// An e-mail address, checked for a plausible shape only (the mail system is the real check).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Email(String);

impl Email {
    /// Parses an address given in `field`.
    pub fn parse(field: &str, value: &str) -> Result<Email, Invalid> {
        let value = value.trim();
        check_length(field, value, 3, 254)?;
        let plausible = match value.split_once('@') {
            Some((local, domain)) => {
                !local.is_empty()
                    && domain.contains('.')
                    && !domain.starts_with('.')
                    && !domain.ends_with('.')
                    && !value.chars().any(|c| c.is_whitespace() || c.is_control())
                    && !domain.contains('@')
            }
            None => false,
        };
        if !plausible {
            return Err(Invalid::new(field, InvalidReason::Malformed { expected: "name@example.org" }));
        }
        Ok(Email(value.to_string()))
    }

    /// The address as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Parses a calendar date written `YYYY-MM-DD`.
pub fn parse_date(field: &str, value: &str) -> Result<jiff::civil::Date, Invalid> {
    let value = value.trim();
    if value.len() != 10 {
        return Err(Invalid::new(field, InvalidReason::Malformed { expected: "YYYY-MM-DD" }));
    }
    value.parse::<jiff::civil::Date>().map_err(|_| Invalid::new(field, InvalidReason::Malformed { expected: "YYYY-MM-DD" }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_trimmed_and_bounded() {
        assert_eq!(Name::parse("n", "  徐汇区  ").unwrap().as_str(), "徐汇区");
        assert_eq!(Name::parse("n", "   ").unwrap_err().reason, InvalidReason::Required);
        assert_eq!(Name::parse("n", &"字".repeat(201)).unwrap_err().reason, InvalidReason::TooLong { max: 200 });
        assert!(Name::parse("n", &"字".repeat(200)).is_ok());
        assert!(matches!(Name::parse("n", "a\u{0}b").unwrap_err().reason, InvalidReason::BadCharacters { .. }));
    }

    #[test]
    fn codes_usernames_phones_emails() {
        assert!(Code::parse("c", "310101").is_ok());
        assert!(Code::parse("c", "water-affairs.pumps_1").is_ok());
        assert!(Code::parse("c", "a b").is_err());
        assert!(Code::parse("c", "上海").is_err());
        assert_eq!(Username::parse("u", "Duty.Officer").unwrap().as_str(), "duty.officer");
        assert!(Username::parse("u", "1abc").is_err());
        assert!(Username::parse("u", "ab").is_err());
        assert_eq!(Phone::parse("p", "+86 138-0000-0000").unwrap().as_str(), "+8613800000000");
        assert!(Phone::parse("p", "12a").is_err());
        assert!(Phone::parse("p", "+").is_err());
        assert!(Email::parse("e", "a@b.cn").is_ok());
        assert!(Email::parse("e", "a@b").is_err());
        assert!(Email::parse("e", "a b@c.cn").is_err());
        assert!(Email::parse("e", "a@@c.cn").is_err());
        assert!(parse_date("d", "2027-02-28").is_ok());
        assert!(parse_date("d", "2027-02-30").is_err());
        assert!(parse_date("d", "27-02-28").is_err());
        assert!(format!("{:?}", Password::parse("p", "correct horse battery").unwrap()).contains("redacted"));
    }
}
