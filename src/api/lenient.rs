//! Serde helpers for fields whose type drifted between Edgegap's API versions: numbers that
//! arrive as strings, `null` where a list or map was expected.

use serde::{Deserialize, Deserializer};

/// One JSON scalar, read in a single pass (`deserialize_any`): no buffering, and no error
/// built for the forms it is not (an untagged enum tries each variant in turn, and each miss
/// formats an error message: the costliest part of decoding a status answer).
enum Scalar {
    Str(String),
    Int(i64),
    UInt(u64),
    Float(f64),
    Bool(bool),
    Null,
}

impl<'de> Deserialize<'de> for Scalar {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Visit;
        impl serde::de::Visitor<'_> for Visit {
            type Value = Scalar;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a number, a string, a bool or null")
            }
            fn visit_bool<E>(self, v: bool) -> Result<Scalar, E> {
                Ok(Scalar::Bool(v))
            }
            fn visit_i64<E>(self, v: i64) -> Result<Scalar, E> {
                Ok(Scalar::Int(v))
            }
            fn visit_u64<E>(self, v: u64) -> Result<Scalar, E> {
                Ok(Scalar::UInt(v))
            }
            fn visit_f64<E>(self, v: f64) -> Result<Scalar, E> {
                Ok(Scalar::Float(v))
            }
            fn visit_str<E>(self, v: &str) -> Result<Scalar, E> {
                Ok(Scalar::Str(v.to_owned()))
            }
            fn visit_string<E>(self, v: String) -> Result<Scalar, E> {
                Ok(Scalar::Str(v))
            }
            fn visit_unit<E>(self) -> Result<Scalar, E> {
                Ok(Scalar::Null)
            }
            fn visit_none<E>(self) -> Result<Scalar, E> {
                Ok(Scalar::Null)
            }
        }
        d.deserialize_any(Visit)
    }
}

fn num<'de, D: Deserializer<'de>>(d: D) -> Result<Option<f64>, D::Error> {
    use serde::de::Error;
    Ok(match Option::<Scalar>::deserialize(d)? {
        None | Some(Scalar::Null) => None,
        Some(Scalar::Int(i)) => Some(i as f64),
        Some(Scalar::UInt(u)) => Some(u as f64),
        Some(Scalar::Float(f)) => Some(f),
        Some(Scalar::Str(s)) if s.trim().is_empty() => None,
        Some(Scalar::Str(s)) => Some(
            s.trim()
                .parse::<f64>()
                .map_err(|_| D::Error::custom(format!("expected a number, got {s:?}")))?,
        ),
        Some(Scalar::Bool(b)) => {
            return Err(D::Error::custom(format!("expected a number, got {b}")));
        }
    })
}

/// A number, a numeric string, or null/absent.
pub(crate) fn opt_f64<'de, D: Deserializer<'de>>(d: D) -> Result<Option<f64>, D::Error> {
    num(d)
}

fn integral<'de, D: Deserializer<'de>, T: TryFrom<i128>>(d: D) -> Result<Option<T>, D::Error> {
    use serde::de::Error;
    // Integers (and integral strings) go through i128 so large values keep every digit;
    // only fractional forms go through f64.
    let wide: Option<i128> = match Option::<Scalar>::deserialize(d)? {
        None | Some(Scalar::Null) => None,
        Some(Scalar::Int(i)) => Some(i128::from(i)),
        Some(Scalar::UInt(u)) => Some(i128::from(u)),
        Some(Scalar::Str(s)) if s.trim().is_empty() => None,
        Some(Scalar::Str(s)) => match s.trim().parse::<i128>() {
            Ok(i) => Some(i),
            Err(_) => Some(
                whole(s.trim().parse::<f64>().map_err(|_| {
                    D::Error::custom(format!("expected a whole number, got {s:?}"))
                })?)
                .map_err(D::Error::custom)?,
            ),
        },
        Some(Scalar::Float(f)) => Some(whole(f).map_err(D::Error::custom)?),
        Some(Scalar::Bool(b)) => {
            return Err(D::Error::custom(format!("expected a number, got {b}")));
        }
    };
    wide.map(|i| T::try_from(i).map_err(|_| D::Error::custom(format!("{i} is out of range"))))
        .transpose()
}

fn whole(f: f64) -> Result<i128, String> {
    if f.is_finite() && f.fract() == 0.0 && f.abs() < 1e30 {
        Ok(f as i128)
    } else {
        Err(format!("expected a whole number, got {f}"))
    }
}

/// An unsigned integer, numeric string, or null/absent.
pub(crate) fn opt_u64<'de, D: Deserializer<'de>>(d: D) -> Result<Option<u64>, D::Error> {
    integral(d)
}

/// A signed integer, numeric string, or null/absent.
pub(crate) fn opt_i64<'de, D: Deserializer<'de>>(d: D) -> Result<Option<i64>, D::Error> {
    integral(d)
}

/// A port number, numeric string, or null/absent.
pub(crate) fn opt_u16<'de, D: Deserializer<'de>>(d: D) -> Result<Option<u16>, D::Error> {
    integral(d)
}

/// A bool, `"true"`/`"false"`, or null/absent.
pub(crate) fn opt_bool<'de, D: Deserializer<'de>>(d: D) -> Result<Option<bool>, D::Error> {
    use serde::de::Error;
    Ok(match Option::<Scalar>::deserialize(d)? {
        None | Some(Scalar::Null) => None,
        Some(Scalar::Bool(b)) => Some(b),
        Some(Scalar::Str(s)) => match s.trim().to_ascii_lowercase().as_str() {
            "true" | "1" => Some(true),
            "false" | "0" => Some(false),
            "" => None,
            _ => return Err(D::Error::custom(format!("expected a bool, got {s:?}"))),
        },
        Some(Scalar::Int(i)) => Some(i != 0),
        Some(Scalar::UInt(u)) => Some(u != 0),
        Some(Scalar::Float(f)) => {
            return Err(D::Error::custom(format!("expected a bool, got {f}")));
        }
    })
}

/// A bool, `"true"`/`"false"`, or null/absent read as `false`.
pub(crate) fn bool_or_false<'de, D: Deserializer<'de>>(d: D) -> Result<bool, D::Error> {
    Ok(opt_bool(d)?.unwrap_or(false))
}

/// A list, or `null` read as empty.
pub(crate) fn vec_or_null<'de, D: Deserializer<'de>, T: Deserialize<'de>>(
    d: D,
) -> Result<Vec<T>, D::Error> {
    Ok(Option::<Vec<T>>::deserialize(d)?.unwrap_or_default())
}

/// A map, or `null` read as empty.
pub(crate) fn map_or_null<'de, D, K, V>(d: D) -> Result<std::collections::BTreeMap<K, V>, D::Error>
where
    D: Deserializer<'de>,
    K: Deserialize<'de> + Ord,
    V: Deserialize<'de>,
{
    Ok(Option::<std::collections::BTreeMap<K, V>>::deserialize(d)?.unwrap_or_default())
}

#[derive(Deserialize)]
#[serde(untagged)]
enum ListOrOne<T> {
    List(Vec<T>),
    One(T),
}

/// A list of strings, a single string (read as a one-item list), or `null` read as empty.
/// Numbers and bools in the list are kept as their text.
pub(crate) fn strings<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    Ok(match Option::<ListOrOne<Scalar>>::deserialize(d)? {
        None => Vec::new(),
        Some(ListOrOne::List(items)) => items.into_iter().filter_map(Scalar::into_text).collect(),
        Some(ListOrOne::One(item)) => item.into_text().into_iter().collect(),
    })
}

impl Scalar {
    fn into_text(self) -> Option<String> {
        match self {
            Self::Str(s) => Some(s),
            Self::Int(i) => Some(i.to_string()),
            Self::UInt(u) => Some(u.to_string()),
            Self::Float(f) => Some(f.to_string()),
            Self::Bool(b) => Some(b.to_string()),
            Self::Null => None,
        }
    }
}

/// A list of numbers or numeric strings, or `null` read as empty. A `null` (or empty string)
/// item becomes `NaN`, so parallel arrays keep their alignment.
pub(crate) fn f64_list<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<f64>, D::Error> {
    use serde::de::Error;
    let items = Option::<Vec<Scalar>>::deserialize(d)?.unwrap_or_default();
    items
        .into_iter()
        .map(|item| match item {
            Scalar::Int(i) => Ok(i as f64),
            Scalar::UInt(u) => Ok(u as f64),
            Scalar::Float(f) => Ok(f),
            Scalar::Null => Ok(f64::NAN),
            Scalar::Bool(b) => Err(D::Error::custom(format!("expected a number, got {b}"))),
            Scalar::Str(s) if s.trim().is_empty() => Ok(f64::NAN),
            Scalar::Str(s) => s
                .trim()
                .parse::<f64>()
                .map_err(|_| D::Error::custom(format!("expected a number, got {s:?}"))),
        })
        .collect()
}

/// A string, or `null`/absent; numbers are kept as their text.
pub(crate) fn opt_string<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    Ok(Option::<Scalar>::deserialize(d)?.and_then(Scalar::into_text))
}

/// `Display`, `Serialize` and `Deserialize` of an open enum kept on the wire as its string:
/// a type with `parse(&str) -> Self` and `as_wire(&self) -> &str`. `null_is_default`: a
/// `null` or missing value decodes as `Default` (the matchmaker's statuses); otherwise a
/// string is required.
macro_rules! wire_string {
    ($ty:ty) => {
        $crate::api::lenient::wire_string!(@common $ty);
        impl<'de> serde::Deserialize<'de> for $ty {
            fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                let s = <String as serde::Deserialize>::deserialize(deserializer)?;
                Ok(Self::parse(&s))
            }
        }
    };
    ($ty:ty, null_is_default) => {
        $crate::api::lenient::wire_string!(@common $ty);
        impl<'de> serde::Deserialize<'de> for $ty {
            fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                Ok($crate::api::lenient::opt_string(deserializer)?
                    .map(|s| Self::parse(&s))
                    .unwrap_or_default())
            }
        }
    };
    (@common $ty:ty) => {
        impl std::fmt::Display for $ty {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_wire())
            }
        }
        impl serde::Serialize for $ty {
            fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.serialize_str(self.as_wire())
            }
        }
    };
}
pub(crate) use wire_string;

/// `parse` and `as_wire` of an open enum (one with an `Other(String)` variant), from one table
/// of its variants and their wire names, so that reading and writing always agree. `parse`
/// trims the value, drops the wire `prefix` (as written or in lower case: `Status.`/`status.`),
/// reads the rest in any letter case as one of the variant's spellings (the first is the
/// wire form, the others are also accepted) and keeps anything else as `Other`, as sent.
/// `as_wire` writes `prefix` and the first spelling.
macro_rules! wire_names {
    ($ty:ty, prefix: $prefix:literal, {
        $($variant:ident => $wire:literal $(| $alias:literal)*),+ $(,)?
    }) => {
        impl $ty {
            #[doc = concat!(
                "Parses a wire value (`", $prefix, "` optional, any letter case); anything ",
                "unknown is kept as `Other`, as sent."
            )]
            pub fn parse(value: &str) -> Self {
                let bare = $crate::api::lenient::strip_wire_prefix(value.trim(), $prefix);
                match bare.to_ascii_uppercase().as_str() {
                    $($wire $(| $alias)* => Self::$variant,)+
                    _ => Self::Other(value.to_owned()),
                }
            }

            /// The wire form (an `Other` keeps its text as sent).
            pub fn as_wire(&self) -> &str {
                match self {
                    $(Self::$variant => concat!($prefix, $wire),)+
                    Self::Other(other) => other,
                }
            }
        }
    };
}
pub(crate) use wire_names;

/// `value` without `prefix`, written as is or in lower case (`Status.` or `status.`).
pub(crate) fn strip_wire_prefix<'a>(value: &'a str, prefix: &str) -> &'a str {
    let lower = || prefix.bytes().map(|b| b.to_ascii_lowercase());
    match value.get(..prefix.len()) {
        Some(head) if head == prefix || head.bytes().eq(lower()) => &value[prefix.len()..],
        _ => value,
    }
}
