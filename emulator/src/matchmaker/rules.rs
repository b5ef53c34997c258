//! The five rule types, pure: checking a ticket's attributes against a profile, deciding
//! whether tickets may play together ([`Pool`]), and splitting groups into teams ([`pack`]).

use serde_json::{Map, Value, json};

/// A rule type with its attributes (as set by `rules.initial`, then expansions).
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Kind {
    /// Teams: `team_count` teams of `min..=max` players. No ticket attribute.
    PlayerCount { team_count: u32, min: u32, max: u32 },
    /// Attribute `{beacon: ms}`: beacons above `max_latency` (and 0, a failed ping) are dropped;
    /// tickets match when, on one beacon they all kept, their values are within `difference`.
    Latencies { difference: f64, max_latency: f64 },
    /// Attribute: a number; groups use their average; all within `max_difference`.
    NumberDifference { max_difference: f64 },
    /// Attribute: a string; all equal (case-sensitive).
    StringEquality,
    /// Attribute: an array of strings; at least `overlap` values shared by all.
    Intersection { overlap: usize },
}

/// A named rule of a profile (the name is also the ticket attribute's key).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Rule {
    pub name: String,
    pub kind: Kind,
}

/// One ticket attribute, decoded for its rule (aligned with the profile's rules).
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Attr {
    /// `player_count` takes no attribute.
    None,
    Beacons(Vec<(String, f64)>),
    Number(f64),
    Text(String),
    Set(Vec<String>),
}

/// Decodes a ticket's `attributes` for `rules`: every rule but `player_count` must be there
/// with the right type, and no other key may be. The error is the 400's message.
pub(crate) fn decode(rules: &[Rule], attributes: &Value) -> Result<Vec<Attr>, String> {
    let empty = Map::new();
    let object = match attributes {
        Value::Object(o) => o,
        Value::Null => &empty,
        _ => return Err("`attributes` must be a JSON object".into()),
    };
    if let Some(key) = object.keys().find(|k| {
        !rules
            .iter()
            .any(|r| &r.name == *k && !matches!(r.kind, Kind::PlayerCount { .. }))
    }) {
        return Err(format!(
            "attribute `{key}` is not a rule of this profile (unknown attributes are refused)"
        ));
    }
    rules
        .iter()
        .map(|rule| {
            if matches!(rule.kind, Kind::PlayerCount { .. }) {
                return Ok(Attr::None);
            }
            let value = object
                .get(&rule.name)
                .ok_or_else(|| format!("attribute `{}` is required by the profile", rule.name))?;
            let wrong = |what: &str| format!("attribute `{}` must be {what}", rule.name);
            match &rule.kind {
                Kind::PlayerCount { .. } => Ok(Attr::None),
                Kind::Latencies { .. } => {
                    let map = value
                        .as_object()
                        .ok_or_else(|| wrong("an object of beacon latencies in ms"))?;
                    map.iter()
                        .map(|(beacon, ms)| match ms.as_f64() {
                            Some(ms) if ms >= 0.0 => Ok((beacon.clone(), ms)),
                            _ => Err(wrong("an object of beacon latencies in ms (numbers ≥ 0)")),
                        })
                        .collect::<Result<_, _>>()
                        .map(Attr::Beacons)
                }
                Kind::NumberDifference { .. } => value
                    .as_f64()
                    .map(Attr::Number)
                    .ok_or_else(|| wrong("a number")),
                Kind::StringEquality => value
                    .as_str()
                    .map(|s| Attr::Text(s.to_owned()))
                    .ok_or_else(|| wrong("a string")),
                Kind::Intersection { .. } => value
                    .as_array()
                    .and_then(|items| {
                        items
                            .iter()
                            .map(|v| v.as_str().map(str::to_owned))
                            .collect::<Option<Vec<_>>>()
                    })
                    .map(Attr::Set)
                    .ok_or_else(|| wrong("an array of strings")),
            }
        })
        .collect()
}

/// What the tickets gathered so far agree on, per rule.
#[derive(Debug, Clone, PartialEq)]
enum Acc {
    Free,
    /// Beacons every ticket kept, with the lowest and highest latency seen.
    Beacons(Vec<(String, f64, f64)>),
    /// Lowest and highest group average.
    Number(f64, f64),
    Text(String),
    Set(Vec<String>),
}

/// Tickets that may play together under one stage's rules. Adding a group gives the new pool,
/// or `None` when a rule would break.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Pool {
    acc: Vec<Acc>,
}

impl Pool {
    pub(crate) fn new(kinds: &[Kind]) -> Self {
        Self {
            acc: vec![Acc::Free; kinds.len()],
        }
    }

    /// The pool with a whole group (its tickets' attributes) added, if every rule still holds.
    pub(crate) fn add(&self, kinds: &[Kind], group: &[&[Attr]]) -> Option<Pool> {
        if group.is_empty() {
            return Some(self.clone());
        }
        let mut acc = self.acc.clone();
        for (i, kind) in kinds.iter().enumerate() {
            let values = group.iter().map(|attrs| attrs.get(i));
            acc[i] = match (kind, &acc[i]) {
                (Kind::PlayerCount { .. }, a) => a.clone(),
                (Kind::StringEquality, current) => {
                    let mut text = match current {
                        Acc::Text(t) => Some(t.clone()),
                        _ => None,
                    };
                    for value in values {
                        let Some(Attr::Text(t)) = value else {
                            return None;
                        };
                        match &text {
                            Some(seen) if seen != t => return None,
                            _ => text = Some(t.clone()),
                        }
                    }
                    Acc::Text(text?)
                }
                (Kind::NumberDifference { max_difference }, current) => {
                    let numbers: Vec<f64> = values
                        .map(|v| match v {
                            Some(Attr::Number(n)) => Some(*n),
                            _ => None,
                        })
                        .collect::<Option<_>>()?;
                    let average = numbers.iter().sum::<f64>() / numbers.len() as f64;
                    let (low, high) = match current {
                        Acc::Number(low, high) => (low.min(average), high.max(average)),
                        _ => (average, average),
                    };
                    if high - low > *max_difference {
                        return None;
                    }
                    Acc::Number(low, high)
                }
                (Kind::Intersection { overlap }, current) => {
                    let mut shared: Option<Vec<String>> = match current {
                        Acc::Set(s) => Some(s.clone()),
                        _ => None,
                    };
                    for value in values {
                        let Some(Attr::Set(set)) = value else {
                            return None;
                        };
                        shared = Some(match shared {
                            None => dedup(set),
                            Some(s) => s.into_iter().filter(|v| set.contains(v)).collect(),
                        });
                    }
                    let shared = shared?;
                    if shared.len() < *overlap {
                        return None;
                    }
                    Acc::Set(shared)
                }
                (
                    Kind::Latencies {
                        difference,
                        max_latency,
                    },
                    current,
                ) => {
                    let mut kept: Option<Vec<(String, f64, f64)>> = match current {
                        Acc::Beacons(b) => Some(b.clone()),
                        _ => None,
                    };
                    for value in values {
                        let Some(Attr::Beacons(beacons)) = value else {
                            return None;
                        };
                        let usable = |ms: f64| ms > 0.0 && ms <= *max_latency;
                        kept = Some(match kept {
                            None => beacons
                                .iter()
                                .filter(|(_, ms)| usable(*ms))
                                .map(|(name, ms)| (name.clone(), *ms, *ms))
                                .collect(),
                            Some(k) => k
                                .into_iter()
                                .filter_map(|(name, low, high)| {
                                    beacons
                                        .iter()
                                        .find(|(n, ms)| *n == name && usable(*ms))
                                        .map(|(_, ms)| (name, low.min(*ms), high.max(*ms)))
                                })
                                .collect(),
                        });
                    }
                    let kept = kept?;
                    if !kept.iter().any(|(_, low, high)| high - low <= *difference) {
                        return None;
                    }
                    Acc::Beacons(kept)
                }
            };
        }
        Some(Pool { acc })
    }

    /// `MM_EQUALITY`: the `string_equality` values, by rule name.
    pub(crate) fn equality(&self, rules: &[Rule]) -> Value {
        self.by_rule(rules, |acc| match acc {
            Acc::Text(t) => Some(json!(t)),
            _ => None,
        })
    }

    /// `MM_INTERSECTION`: the values every ticket shares, by `intersection` rule name.
    pub(crate) fn intersection(&self, rules: &[Rule]) -> Value {
        self.by_rule(rules, |acc| match acc {
            Acc::Set(s) => Some(json!(s)),
            _ => None,
        })
    }

    /// A JSON object of what `value` makes of each rule's accumulated value, by rule name
    /// (rules it makes nothing of are left out).
    fn by_rule(&self, rules: &[Rule], value: impl Fn(&Acc) -> Option<Value>) -> Value {
        let map: Map<String, Value> = rules
            .iter()
            .zip(&self.acc)
            .filter_map(|(rule, acc)| Some((rule.name.clone(), value(acc)?)))
            .collect();
        Value::Object(map)
    }
}

fn dedup(values: &[String]) -> Vec<String> {
    let mut out: Vec<String> = Vec::with_capacity(values.len());
    for v in values {
        if !out.contains(v) {
            out.push(v.clone());
        }
    }
    out
}

/// Most placements tried by [`pack`] before it gives up (groups are small; this bounds a
/// hostile mix of many odd-sized groups).
const PACK_BUDGET: usize = 20_000;

/// Puts whole groups (`sizes`, in first-in order) into `team_count` teams of `min..=max`
/// players each; the team index of each group, or `None` when no split exists (or none was
/// found within [`PACK_BUDGET`] placements). Larger groups are placed first; among equal
/// choices, the first team and the first-in group win, so the result is deterministic.
pub(crate) fn pack(sizes: &[u32], team_count: u32, min: u32, max: u32) -> Option<Vec<usize>> {
    let total: u64 = sizes.iter().map(|s| u64::from(*s)).sum();
    if total > u64::from(team_count) * u64::from(max)
        || total < u64::from(team_count) * u64::from(min)
    {
        return None;
    }
    let mut order: Vec<usize> = (0..sizes.len()).collect();
    order.sort_by_key(|&i| (std::cmp::Reverse(sizes[i]), i));
    let mut packer = Packer {
        sizes,
        order,
        loads: vec![0; team_count as usize],
        placed: vec![0; sizes.len()],
        min,
        max,
        budget: PACK_BUDGET,
    };
    packer.place(0).then_some(packer.placed)
}

/// The depth-first search of [`pack`].
struct Packer<'a> {
    sizes: &'a [u32],
    /// Group indexes, largest first.
    order: Vec<usize>,
    loads: Vec<u32>,
    placed: Vec<usize>,
    min: u32,
    max: u32,
    budget: usize,
}

impl Packer<'_> {
    /// Places `order[k..]`; `true` once every group is in a team and every team has `min`.
    fn place(&mut self, k: usize) -> bool {
        let Some(&group) = self.order.get(k) else {
            return self.loads.iter().all(|l| *l >= self.min);
        };
        let size = self.sizes[group];
        let mut tried: Vec<u32> = Vec::new();
        for team in 0..self.loads.len() {
            if self.budget == 0 {
                return false;
            }
            let load = self.loads[team];
            // Two teams with the same load are interchangeable: try one of them.
            if load + size > self.max || tried.contains(&load) {
                continue;
            }
            tried.push(load);
            self.budget -= 1;
            self.loads[team] += size;
            self.placed[group] = team;
            if self.place(k + 1) {
                return true;
            }
            self.loads[team] -= size;
        }
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rules() -> Vec<Rule> {
        let rule = |name: &str, kind| Rule {
            name: name.into(),
            kind,
        };
        vec![
            rule(
                "size",
                Kind::PlayerCount {
                    team_count: 2,
                    min: 1,
                    max: 2,
                },
            ),
            rule(
                "beacons",
                Kind::Latencies {
                    difference: 100.0,
                    max_latency: 200.0,
                },
            ),
            rule(
                "elo",
                Kind::NumberDifference {
                    max_difference: 50.0,
                },
            ),
            rule("mode", Kind::StringEquality),
            rule("maps", Kind::Intersection { overlap: 1 }),
        ]
    }

    fn ticket(chicago: f64, elo: f64, mode: &str, maps: &[&str]) -> Vec<Attr> {
        decode(
            &rules(),
            &json!({"beacons": {"Chicago": chicago, "Tokyo": 0}, "elo": elo, "mode": mode, "maps": maps}),
        )
        .expect("valid")
    }

    #[test]
    fn decode_refuses_missing_unknown_and_mistyped_attributes() {
        let r = rules();
        let ok = json!({"beacons": {}, "elo": 1, "mode": "a", "maps": []});
        assert!(decode(&r, &ok).is_ok());
        let mut unknown = ok.clone();
        unknown["size"] = json!(2);
        assert!(decode(&r, &unknown).unwrap_err().contains("`size`"));
        let mut missing = ok.clone();
        missing.as_object_mut().unwrap().remove("elo");
        assert!(decode(&r, &missing).unwrap_err().contains("`elo`"));
        let mut typed = ok;
        typed["mode"] = json!(3);
        assert!(decode(&r, &typed).unwrap_err().contains("a string"));
        assert!(decode(&r, &json!([])).is_err());
    }

    #[test]
    fn pool_applies_every_rule() {
        let kinds: Vec<Kind> = rules().into_iter().map(|r| r.kind).collect();
        let a = ticket(20.0, 1000.0, "ranked", &["Airport", "Vault"]);
        let pool = Pool::new(&kinds).add(&kinds, &[&a]).expect("alone");
        let fits = |t: &Vec<Attr>| pool.add(&kinds, &[t]).is_some();
        assert!(fits(&ticket(110.0, 1040.0, "ranked", &["Vault"])));
        for (refused, why) in [
            (
                ticket(130.0, 1000.0, "ranked", &["Vault"]),
                "latency difference",
            ),
            (
                ticket(250.0, 1000.0, "ranked", &["Vault"]),
                "over max latency",
            ),
            (ticket(20.0, 1051.0, "ranked", &["Vault"]), "elo"),
            (ticket(20.0, 1000.0, "Ranked", &["Vault"]), "case-sensitive"),
            (ticket(20.0, 1000.0, "ranked", &["Dock"]), "no shared map"),
        ] {
            assert!(!fits(&refused), "{why}");
        }
        // A group is judged on its average elo.
        let high = ticket(20.0, 1100.0, "ranked", &["Vault"]);
        let low = ticket(20.0, 960.0, "ranked", &["Vault"]);
        let both = pool.add(&kinds, &[&high, &low]).expect("average 1030");
        assert_eq!(both.intersection(&rules()), json!({"maps": ["Vault"]}));
        assert_eq!(both.equality(&rules()), json!({"mode": "ranked"}));
    }

    #[test]
    fn pack_splits_whole_groups_into_teams() {
        assert_eq!(pack(&[1, 1, 2], 2, 2, 2), Some(vec![1, 1, 0]));
        assert_eq!(pack(&[1, 1, 1], 2, 2, 2), None, "not full");
        assert_eq!(pack(&[3], 2, 1, 2), None, "a group bigger than a team");
        assert_eq!(pack(&[2, 1, 1, 2], 2, 2, 3), Some(vec![0, 0, 1, 1]));
        assert!(pack(&[1, 1, 1], 2, 1, 2).is_some(), "partial");
        // First-fit on solos (1,1,1) would leave the party of 2 no room; the search finds 2+1+1.
        assert!(pack(&[1, 1, 1, 2, 1], 2, 3, 3).is_some());
    }
}
