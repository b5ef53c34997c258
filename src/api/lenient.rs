//! Serde helpers for fields whose type drifted between Edgegap's API versions: numbers that
//! arrive as strings, `null` where a list or map was expected.

use serde::{Deserialize, Deserializer};

#[derive(Deserialize)]
#[serde(untagged)]
enum NumOrStr {
    Int(i64),
    UInt(u64),
    Float(f64),
    Str(String),
    Bool(bool),
}

fn num<'de, D: Deserializer<'de>>(d: D) -> Result<Option<f64>, D::Error> {
    use serde::de::Error;
    Ok(match Option::<NumOrStr>::deserialize(d)? {
        None => None,
        Some(NumOrStr::Int(i)) => Some(i as f64),
        Some(NumOrStr::UInt(u)) => Some(u as f64),
        Some(NumOrStr::Float(f)) => Some(f),
        Some(NumOrStr::Str(s)) if s.trim().is_empty() => None,
        Some(NumOrStr::Str(s)) => Some(
            s.trim()
                .parse::<f64>()
                .map_err(|_| D::Error::custom(format!("expected a number, got {s:?}")))?,
        ),
        Some(NumOrStr::Bool(b)) => {
            return Err(D::Error::custom(format!("expected a number, got {b}")));
        }
    })
}

/// A number, a numeric string, or null/absent.
pub fn opt_f64<'de, D: Deserializer<'de>>(d: D) -> Result<Option<f64>, D::Error> {
    num(d)
}

fn integral<'de, D: Deserializer<'de>, T: TryFrom<i128>>(d: D) -> Result<Option<T>, D::Error> {
    use serde::de::Error;
    match num(d)? {
        None => Ok(None),
        Some(f) if f.fract() == 0.0 && f.is_finite() => T::try_from(f as i128)
            .map(Some)
            .map_err(|_| D::Error::custom(format!("{f} is out of range"))),
        Some(f) => Err(D::Error::custom(format!(
            "expected a whole number, got {f}"
        ))),
    }
}

/// An unsigned integer, numeric string, or null/absent.
pub fn opt_u64<'de, D: Deserializer<'de>>(d: D) -> Result<Option<u64>, D::Error> {
    integral(d)
}

/// A signed integer, numeric string, or null/absent.
pub fn opt_i64<'de, D: Deserializer<'de>>(d: D) -> Result<Option<i64>, D::Error> {
    integral(d)
}

/// A port number, numeric string, or null/absent.
pub fn opt_u16<'de, D: Deserializer<'de>>(d: D) -> Result<Option<u16>, D::Error> {
    integral(d)
}

/// A bool, `"true"`/`"false"`, or null/absent.
pub fn opt_bool<'de, D: Deserializer<'de>>(d: D) -> Result<Option<bool>, D::Error> {
    use serde::de::Error;
    Ok(match Option::<NumOrStr>::deserialize(d)? {
        None => None,
        Some(NumOrStr::Bool(b)) => Some(b),
        Some(NumOrStr::Str(s)) => match s.trim().to_ascii_lowercase().as_str() {
            "true" | "1" => Some(true),
            "false" | "0" => Some(false),
            "" => None,
            _ => return Err(D::Error::custom(format!("expected a bool, got {s:?}"))),
        },
        Some(NumOrStr::Int(i)) => Some(i != 0),
        Some(NumOrStr::UInt(u)) => Some(u != 0),
        Some(NumOrStr::Float(f)) => {
            return Err(D::Error::custom(format!("expected a bool, got {f}")));
        }
    })
}

/// A list, or `null` read as empty.
pub fn vec_or_null<'de, D: Deserializer<'de>, T: Deserialize<'de>>(
    d: D,
) -> Result<Vec<T>, D::Error> {
    Ok(Option::<Vec<T>>::deserialize(d)?.unwrap_or_default())
}

/// A map, or `null` read as empty.
pub fn map_or_null<'de, D, K, V>(d: D) -> Result<std::collections::BTreeMap<K, V>, D::Error>
where
    D: Deserializer<'de>,
    K: Deserialize<'de> + Ord,
    V: Deserialize<'de>,
{
    Ok(Option::<std::collections::BTreeMap<K, V>>::deserialize(d)?.unwrap_or_default())
}
