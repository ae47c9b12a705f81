//! A table column's values as the domain and drift checks read them: text (categories, as an
//! encoder compares them) or numbers, with missing cells kept as `None` so rows keep their index.

use polars::prelude::{DataType, Series};

/// The cells of `series` as text: strings and categoricals as they are, integers (and floats
/// without a fraction) as integer text, so `3.0` matches an encoder's integer category `3`.
/// `None` for a missing cell; `None` overall for a type with no text form here (lists, structs).
pub fn texts(series: &Series) -> Option<Vec<Option<String>>> {
    let dtype = series.dtype();
    if dtype.is_float() {
        let values = floats(series)?;
        return Some(values.into_iter().map(|v| v.filter(|v| !v.is_nan()).map(integer_text)).collect());
    }
    let readable = matches!(dtype, DataType::String | DataType::Boolean) || dtype.is_integer() || dtype.is_categorical() || dtype.is_enum();
    if !readable {
        return None;
    }
    let cast = series.cast(&DataType::String).ok()?;
    let ca = cast.str().ok()?;
    Some(ca.downcast_iter().flat_map(|array| array.iter().map(|v| v.map(str::to_string))).collect())
}

/// The cells of `series` as numbers: numeric columns, and text columns whose every present cell
/// parses as a number. NaN is a missing cell. `None` when the column is not numeric.
pub fn floats(series: &Series) -> Option<Vec<Option<f64>>> {
    let dtype = series.dtype();
    if dtype.is_primitive_numeric() || matches!(dtype, DataType::Boolean) {
        let cast = series.cast(&DataType::Float64).ok()?;
        let ca = cast.f64().ok()?;
        return Some(ca.downcast_iter().flat_map(|array| array.iter().map(|v| v.copied().filter(|v| !v.is_nan()))).collect());
    }
    if matches!(dtype, DataType::String) {
        let ca = series.str().ok()?;
        return (0..ca.len())
            .map(|i| ca.get(i))
            .map(|v| v.map_or(Some(None), |t| t.trim().parse::<f64>().ok().map(|f| Some(f).filter(|f| !f.is_nan()))))
            .collect();
    }
    None
}

/// A float as an encoder's category text: integers without `.0`.
fn integer_text(value: f64) -> String {
    if value.fract() == 0.0 && value.abs() < 9e15 { format!("{}", value as i64) } else { value.to_string() }
}

#[cfg(test)]
mod tests {
    use super::*;
    use polars::prelude::NamedFrom;

    #[test]
    fn floats_without_fraction_read_as_integer_categories_and_missing_cells_stay_in_place() {
        let s = Series::new("x".into(), &[Some(3.0f64), None, Some(2.5), Some(f64::NAN)]);
        assert_eq!(texts(&s).unwrap(), vec![Some("3".to_string()), None, Some("2.5".to_string()), None]);
        assert_eq!(floats(&s).unwrap(), vec![Some(3.0), None, Some(2.5), None]);
        let words = Series::new("w".into(), &[Some("Lyon"), None]);
        assert_eq!(texts(&words).unwrap(), vec![Some("Lyon".to_string()), None]);
        assert_eq!(floats(&words), None);
        let numbers = Series::new("n".into(), &["1.5", " 2"]);
        assert_eq!(floats(&numbers).unwrap(), vec![Some(1.5), Some(2.0)]);
    }
}
