//! Kubernetes resource quantities (`512Mi`, `1.5Gi`, `500M`, `250m`, `1e9`), parsed exactly:
//! the value is kept as a fraction of integers, so `1.5Gi` is 1610612736 bytes, not a float
//! near it. Memory is rounded up to whole bytes and CPU to whole millicores, as Kubernetes does.

/// A parsed quantity: `numerator / denominator` in base units (bytes, cores).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Quantity {
    numerator: u128,
    denominator: u128,
}

/// Why a quantity did not parse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum QuantityError {
    #[error("`{0}` is not a Kubernetes quantity (a number with an optional suffix: Ki Mi Gi Ti Pi Ei, m k M G T P E, or an exponent)")]
    Syntax(String),
    #[error("`{0}` is negative")]
    Negative(String),
    #[error("`{0}` is too large")]
    TooLarge(String),
}

impl Quantity {
    /// Parses the Kubernetes quantity grammar: sign, decimal number, then a binary suffix,
    /// a decimal suffix or a decimal exponent.
    pub fn parse(text: &str) -> Result<Self, QuantityError> {
        let syntax = || QuantityError::Syntax(text.to_string());
        let too_large = || QuantityError::TooLarge(text.to_string());
        let trimmed = text.trim();
        let (negative, unsigned) = match trimmed.as_bytes().first() {
            Some(b'-') => (true, &trimmed[1..]),
            Some(b'+') => (false, &trimmed[1..]),
            _ => (false, trimmed),
        };
        let number_end = unsigned.find(|c: char| !(c.is_ascii_digit() || c == '.')).unwrap_or(unsigned.len());
        let (number, suffix) = unsigned.split_at(number_end);
        let (whole, fraction) = number.split_once('.').unwrap_or((number, ""));
        if whole.is_empty() && fraction.is_empty() || fraction.contains('.') || whole.len() + fraction.len() > 30 {
            return Err(if whole.len() + fraction.len() > 30 { too_large() } else { syntax() });
        }
        let digits: u128 = format!("{whole}{fraction}").parse().map_err(|_| syntax())?;
        let (mut numerator, mut denominator) = (digits, 10u128.pow(fraction.len() as u32));
        let (multiply, divide) = scale(suffix).ok_or_else(syntax)?;
        numerator = numerator.checked_mul(multiply).ok_or_else(too_large)?;
        denominator = denominator.checked_mul(divide).ok_or_else(too_large)?;
        if negative && numerator > 0 {
            return Err(QuantityError::Negative(text.to_string()));
        }
        Ok(Self { numerator, denominator })
    }

    /// Whole bytes, rounded up.
    pub fn bytes(self) -> u128 {
        self.numerator.div_ceil(self.denominator)
    }

    /// Whole millicores, rounded up (`0.5` and `500m` are 500).
    pub fn millis(self) -> u128 {
        self.numerator.saturating_mul(1000).div_ceil(self.denominator)
    }
}

/// The suffix as (multiply, divide).
fn scale(suffix: &str) -> Option<(u128, u128)> {
    let binary = |power: u32| Some((1u128 << (10 * power), 1));
    let decimal = |power: u32| Some((10u128.pow(power), 1));
    match suffix {
        "" => decimal(0),
        "Ki" => binary(1),
        "Mi" => binary(2),
        "Gi" => binary(3),
        "Ti" => binary(4),
        "Pi" => binary(5),
        "Ei" => binary(6),
        "n" => Some((1, 1_000_000_000)),
        "u" => Some((1, 1_000_000)),
        "m" => Some((1, 1000)),
        "k" => decimal(3),
        "M" => decimal(6),
        "G" => decimal(9),
        "T" => decimal(12),
        "P" => decimal(15),
        "E" => decimal(18),
        _ => exponent(suffix),
    }
}

/// `e3`, `E-2`, `e+6`.
fn exponent(suffix: &str) -> Option<(u128, u128)> {
    let rest = suffix.strip_prefix(['e', 'E'])?;
    let (negative, digits) = match rest.as_bytes().first() {
        Some(b'-') => (true, &rest[1..]),
        Some(b'+') => (false, &rest[1..]),
        _ => (false, rest),
    };
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let power: u32 = digits.parse().ok().filter(|&p| p <= 30)?;
    let factor = 10u128.pow(power);
    Some(if negative { (1, factor) } else { (factor, 1) })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bytes(text: &str) -> u128 {
        Quantity::parse(text).unwrap().bytes()
    }

    #[test]
    fn memory_quantities_are_exact() {
        assert_eq!(bytes("512Mi"), 512 * 1024 * 1024);
        assert_eq!(bytes("1G"), 1_000_000_000);
        assert_eq!(bytes("1.5Gi"), 1_610_612_736);
        assert_eq!(bytes("500M"), 500_000_000);
        assert_eq!(bytes("128974848"), 128_974_848);
        assert_eq!(bytes("129e6"), 129_000_000);
        assert_eq!(bytes("123k"), 123_000);
        assert_eq!(bytes("1Ki"), 1024);
        assert_eq!(bytes("0.1Ki"), 103, "rounded up");
        assert_eq!(bytes("1500m"), 2, "milli-bytes round up");
        assert_eq!(bytes("2E"), 2_000_000_000_000_000_000);
    }

    #[test]
    fn cpu_quantities_are_millicores() {
        assert_eq!(Quantity::parse("500m").unwrap().millis(), 500);
        assert_eq!(Quantity::parse("0.5").unwrap().millis(), 500);
        assert_eq!(Quantity::parse("2").unwrap().millis(), 2000);
        assert_eq!(Quantity::parse("1.25").unwrap().millis(), 1250);
        assert_eq!(Quantity::parse("100n").unwrap().millis(), 1);
    }

    #[test]
    fn bad_quantities_are_errors() {
        for bad in ["", "Mi", "1.2.3", "12 Mi", "1MB", "1e", "1e400", "abc", "."] {
            assert!(Quantity::parse(bad).is_err(), "{bad}");
        }
        assert_eq!(Quantity::parse("-1Gi"), Err(QuantityError::Negative("-1Gi".into())));
        assert!(matches!(Quantity::parse("1234567890123456789012345678901234"), Err(QuantityError::TooLarge(_))));
        assert_eq!(Quantity::parse("-0").unwrap().bytes(), 0);
    }
}
