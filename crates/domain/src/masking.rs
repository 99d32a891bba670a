//! Masking of personal data for display to people who may see that a record exists but not its personal
//! fields (`138****5678`, `z***@example.org`, `张*`). Masking is irreversible and keeps just enough for a
//! person who already knows the value to recognise it.

/// Masks a phone number: keeps the country prefix, the first three and the last four digits.
pub fn phone(value: &str) -> String {
    let (prefix, digits) = match value.strip_prefix("+86") {
        Some(rest) => ("+86", rest),
        None => ("", value),
    };
    let count = digits.chars().count();
    if count <= 4 {
        return format!("{prefix}{}", "*".repeat(count));
    }
    let keep_head = if count >= 11 { 3 } else { 1 };
    let head: String = digits.chars().take(keep_head).collect();
    let tail: String = digits.chars().skip(count - 4).collect();
    format!("{prefix}{head}{}{tail}", "*".repeat(count - keep_head - 4))
}

/// Masks an e-mail address: keeps the first character of the local part and the domain.
pub fn email(value: &str) -> String {
    match value.split_once('@') {
        Some((local, domain)) => {
            let first: String = local.chars().take(1).collect();
            format!("{first}***@{domain}")
        }
        None => "***".to_string(),
    }
}

/// Masks a person's name: keeps the first character (the family name in Chinese), stars for the rest.
pub fn person_name(value: &str) -> String {
    let mut characters = value.chars();
    match characters.next() {
        Some(first) => {
            let rest = characters.filter(|c| !c.is_whitespace()).count().max(1);
            format!("{first}{}", "*".repeat(rest))
        }
        None => String::new(),
    }
}

/// Coarsens a coordinate to two decimal places (about one kilometre), enough to place a person in their
/// community on a map without revealing their address.
pub fn coordinate(value: f64) -> f64 {
    (value * 100.0).round() / 100.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks_keep_only_a_recognisable_part() {
        assert_eq!(phone("+8613812345678"), "+86138****5678");
        assert_eq!(phone("13812345678"), "138****5678");
        assert_eq!(phone("87654321"), "8***4321");
        assert_eq!(phone("123"), "***");
        assert_eq!(email("zhang.san@example.org"), "z***@example.org");
        assert_eq!(email("broken"), "***");
        assert_eq!(person_name("张三丰"), "张**");
        assert_eq!(person_name("Li Wei"), "L****");
        assert_eq!(person_name("王"), "王*");
        assert_eq!(coordinate(121.473_712), 121.47);
    }
}
