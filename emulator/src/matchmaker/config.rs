//! The matchmaker's JSON configuration (version 3.3.x), checked the way Edgegap's dashboard
//! checks it before a matchmaker starts: [`parse`] gives a [`Config`] or a
//! [`MatchmakerConfigError`].

use std::collections::BTreeMap;
use std::time::Duration;

use serde_json::{Map, Value};

use super::rules::{Kind, Rule};

/// A matchmaker configuration with one profile, `profile`, that deploys `app` `version` with
/// the `initial` rules and the `expansions` given (Edgegap's JSON, version 3.3.2): tickets
/// expire after 5 minutes and are removed a minute later, idle groups after 5 minutes. The
/// answer is JSON to change further (`config["inspect"] = true.into()`) before
/// [`EmulatorBuilder::matchmaker`](crate::EmulatorBuilder::matchmaker) takes it as text.
pub fn matchmaker_config(
    profile: &str,
    (app, version): (&str, &str),
    rules: Value,
    expansions: Value,
) -> Value {
    serde_json::json!({
        "version": "3.3.2",
        "profiles": { profile: {
            "ticket_expiration_period": "5m",
            "ticket_removal_period": "1m",
            "group_inactivity_removal_period": "5m",
            "application": { "name": app, "version": version },
            "rules": { "initial": rules, "expansions": expansions },
        }},
    })
}

/// A `player_count` rule (Edgegap's JSON, for [`matchmaker_config`]'s rules): `team_count`
/// teams of `min..=max` players each.
pub fn player_count_rule(team_count: u32, min: u32, max: u32) -> Value {
    serde_json::json!({ "type": "player_count",
        "attributes": { "team_count": team_count, "min_team_size": min, "max_team_size": max } })
}

/// Why a matchmaker configuration was refused (the emulator refuses what Edgegap's dashboard
/// refuses, and a few typos it could not act on).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum MatchmakerConfigError {
    /// The text is not JSON.
    Json(String),
    /// `version` is not a 3.3.x version (the only format the emulator implements).
    Version(String),
    /// A key is missing, unknown or of the wrong type, or a value is out of range. `path` names
    /// it (`profiles.casual.rules.initial.match_size.attributes.team_count`).
    Invalid {
        /// Where in the JSON.
        path: String,
        /// What is wrong.
        problem: String,
    },
    /// A duration is not Go's format (`"30s"`, `"5m"`, `"1h30m"`, `"500ms"`) or is not positive.
    Duration {
        /// Where in the JSON.
        path: String,
        /// The text given.
        value: String,
    },
    /// A profile's `application` names an app version the emulator does not serve.
    UnknownAppVersion {
        /// The profile.
        profile: String,
        /// `application.name`.
        app: String,
        /// `application.version`.
        version: String,
    },
    /// `min_team_size` is above `max_team_size`, initially or once an expansion applies.
    MinAboveMax {
        /// The profile.
        profile: String,
        /// `initial` or the expansion's key (seconds).
        stage: String,
        /// `min_team_size` at that stage.
        min: u64,
        /// `max_team_size` at that stage.
        max: u64,
    },
}

impl std::fmt::Display for MatchmakerConfigError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Json(e) => write!(f, "not valid JSON: {e}"),
            Self::Version(v) => write!(
                f,
                "`version` `{v}` is not supported (the emulator implements 3.3.x)"
            ),
            Self::Invalid { path, problem } => write!(f, "`{path}`: {problem}"),
            Self::Duration { path, value } => write!(
                f,
                "`{path}`: `{value}` is not a positive duration like \"30s\", \"5m\" or \"1h30m\""
            ),
            Self::UnknownAppVersion {
                profile,
                app,
                version,
            } => write!(
                f,
                "The application configuration is not valid for profile `{profile}`: no app version `{app}`/`{version}`"
            ),
            Self::MinAboveMax {
                profile,
                stage,
                min,
                max,
            } => write!(
                f,
                "profile `{profile}`, stage `{stage}`: min_team_size {min} is above max_team_size {max}"
            ),
        }
    }
}

impl std::error::Error for MatchmakerConfigError {}

/// One stage of a profile: `initial`, or an expansion with every earlier one applied.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Stage {
    /// `initial` or the expansion's key (seconds since ticket creation), as `MM_EXPANSION` names it.
    pub name: String,
    /// Ticket age from which it applies.
    pub from: Duration,
    /// The rule kinds at this stage, aligned with [`Profile::rules`].
    pub kinds: Vec<Kind>,
}

impl Stage {
    /// `(team_count, min_team_size, max_team_size)` at this stage.
    pub(crate) fn teams(&self) -> (u32, u32, u32) {
        self.kinds
            .iter()
            .find_map(|k| match k {
                Kind::PlayerCount {
                    team_count,
                    min,
                    max,
                } => Some((*team_count, *min, *max)),
                _ => None,
            })
            .unwrap_or((1, 1, 1))
    }
}

/// One profile: an isolated queue deploying one app version.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Profile {
    pub name: String,
    pub app: String,
    pub version: String,
    pub expiration: Duration,
    pub removal: Duration,
    pub inactivity: Duration,
    /// Rule names and their initial kinds, in the config's order.
    pub rules: Vec<Rule>,
    /// `initial` first, then each expansion in key order.
    pub stages: Vec<Stage>,
}

impl Profile {
    /// The index (in [`Profile::stages`]) of the stage a ticket of this age is in.
    pub(crate) fn stage_index_at(&self, age: Duration) -> usize {
        self.stages.iter().rposition(|s| s.from <= age).unwrap_or(0)
    }

    /// The stage a ticket of this age is in.
    pub(crate) fn stage_at(&self, age: Duration) -> &Stage {
        &self.stages[self.stage_index_at(age)]
    }

    /// The largest `max_team_size` of any stage (a group never grows past it).
    pub(crate) fn largest_team(&self) -> u32 {
        self.stages.iter().map(|s| s.teams().2).max().unwrap_or(1)
    }
}

/// A checked matchmaker configuration.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Config {
    pub max_deployment_retry_count: u32,
    pub allowed_cors_origins: Vec<String>,
    pub profiles: BTreeMap<String, Profile>,
}

type Result<T> = std::result::Result<T, MatchmakerConfigError>;

fn invalid(path: &str, problem: impl Into<String>) -> MatchmakerConfigError {
    MatchmakerConfigError::Invalid {
        path: path.to_owned(),
        problem: problem.into(),
    }
}

fn object<'a>(value: &'a Value, path: &str) -> Result<&'a Map<String, Value>> {
    value
        .as_object()
        .ok_or_else(|| invalid(path, "must be a JSON object"))
}

/// Refuses keys of `object` not in `known` (a typo would otherwise be silently ignored).
fn only_keys(object: &Map<String, Value>, path: &str, known: &[&str]) -> Result<()> {
    match object.keys().find(|k| !known.contains(&k.as_str())) {
        Some(key) => Err(invalid(
            &join(path, key),
            format!("unknown key (expected one of: {})", known.join(", ")),
        )),
        None => Ok(()),
    }
}

fn join(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_owned()
    } else {
        format!("{path}.{key}")
    }
}

fn required<'a>(object: &'a Map<String, Value>, path: &str, key: &str) -> Result<&'a Value> {
    object
        .get(key)
        .ok_or_else(|| invalid(&join(path, key), "is required"))
}

fn string(value: &Value, path: &str) -> Result<String> {
    match value.as_str() {
        Some(s) if !s.is_empty() => Ok(s.to_owned()),
        Some(_) => Err(invalid(path, "must not be empty")),
        None => Err(invalid(path, "must be a string")),
    }
}

fn count(value: &Value, path: &str, least: u64) -> Result<u64> {
    match value.as_u64() {
        Some(n) if n >= least => Ok(n),
        _ => Err(invalid(
            path,
            format!("must be an integer of at least {least}"),
        )),
    }
}

fn number(value: &Value, path: &str) -> Result<f64> {
    match value.as_f64() {
        Some(n) if n >= 0.0 => Ok(n),
        _ => Err(invalid(path, "must be a number of at least 0")),
    }
}

/// Go's `time.ParseDuration` format (what Edgegap's examples use: `"30s"`, `"5m"`, `"1h30m"`,
/// `"500ms"`); `None` unless it is a positive duration.
pub(crate) fn parse_duration(text: &str) -> Option<Duration> {
    let mut rest = text;
    let mut total = 0f64;
    if rest.is_empty() {
        return None;
    }
    while !rest.is_empty() {
        let digits = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        let (amount, tail) = rest.split_at(digits);
        if amount.is_empty() || amount == "." || amount.matches('.').count() > 1 {
            return None;
        }
        let amount: f64 = amount.parse().ok()?;
        let unit_len = tail
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(tail.len());
        let (unit, next) = tail.split_at(unit_len);
        let scale = match unit {
            "ns" => 1e-9,
            "us" | "µs" => 1e-6,
            "ms" => 1e-3,
            "s" => 1.0,
            "m" => 60.0,
            "h" => 3600.0,
            _ => return None,
        };
        total += amount * scale;
        rest = next;
    }
    (total > 0.0 && total < 1e12).then(|| Duration::from_secs_f64(total))
}

fn duration(object: &Map<String, Value>, path: &str, key: &str) -> Result<Duration> {
    let path = join(path, key);
    let value = object
        .get(key)
        .ok_or_else(|| invalid(&path, "is required"))?;
    let text = value
        .as_str()
        .ok_or_else(|| invalid(&path, "must be a duration string like \"5m\""))?;
    parse_duration(text).ok_or_else(|| MatchmakerConfigError::Duration {
        path,
        value: text.to_owned(),
    })
}

/// The attribute keys each rule type takes.
fn attribute_keys(kind: &str) -> &'static [&'static str] {
    match kind {
        "player_count" => &["team_count", "min_team_size", "max_team_size"],
        "latencies" => &["difference", "max_latency"],
        "number_difference" => &["max_difference"],
        "intersection" => &["overlap"],
        _ => &[],
    }
}

/// Reads one rule of `rules.initial`.
fn rule(name: &str, value: &Value, path: &str) -> Result<Rule> {
    let object = object(value, path)?;
    only_keys(object, path, &["type", "attributes"])?;
    let kind_name = string(required(object, path, "type")?, &join(path, "type"))?;
    let attrs_path = join(path, "attributes");
    let empty = Map::new();
    let attrs = match object.get("attributes") {
        Some(v) => self::object(v, &attrs_path)?,
        None => &empty,
    };
    let keys = attribute_keys(&kind_name);
    only_keys(attrs, &attrs_path, keys)?;
    let get = |key: &str| required(attrs, &attrs_path, key);
    let at = |key: &str| join(&attrs_path, key);
    let kind = match kind_name.as_str() {
        "player_count" => Kind::PlayerCount {
            team_count: small(count(get("team_count")?, &at("team_count"), 1)?),
            min: small(count(get("min_team_size")?, &at("min_team_size"), 1)?),
            max: small(count(get("max_team_size")?, &at("max_team_size"), 1)?),
        },
        "latencies" => Kind::Latencies {
            difference: number(get("difference")?, &at("difference"))?,
            max_latency: number(get("max_latency")?, &at("max_latency"))?,
        },
        "number_difference" => Kind::NumberDifference {
            max_difference: number(get("max_difference")?, &at("max_difference"))?,
        },
        "string_equality" => Kind::StringEquality,
        "intersection" => Kind::Intersection {
            overlap: small(count(get("overlap")?, &at("overlap"), 0)?) as usize,
        },
        other => {
            return Err(invalid(
                &join(path, "type"),
                format!(
                    "unknown rule type `{other}` (player_count, latencies, number_difference, string_equality, intersection)"
                ),
            ));
        }
    };
    Ok(Rule {
        name: name.to_owned(),
        kind,
    })
}

/// A team or overlap number, capped so that sums never overflow.
fn small(n: u64) -> u32 {
    n.min(10_000) as u32
}

/// Applies an expansion's overrides to `kind` (the rule called `path`'s last segment).
fn expand(kind: &Kind, overrides: &Value, path: &str) -> Result<Kind> {
    let object = object(overrides, path)?;
    let get = |key: &str| object.get(key);
    let at = |key: &str| join(path, key);
    let keys = match kind {
        Kind::PlayerCount { .. } => attribute_keys("player_count"),
        Kind::Latencies { .. } => attribute_keys("latencies"),
        Kind::NumberDifference { .. } => attribute_keys("number_difference"),
        Kind::Intersection { .. } => attribute_keys("intersection"),
        Kind::StringEquality => attribute_keys("string_equality"),
    };
    only_keys(object, path, keys)?;
    Ok(match kind {
        Kind::PlayerCount {
            team_count,
            min,
            max,
        } => Kind::PlayerCount {
            team_count: match get("team_count") {
                Some(v) => small(count(v, &at("team_count"), 1)?),
                None => *team_count,
            },
            min: match get("min_team_size") {
                Some(v) => small(count(v, &at("min_team_size"), 1)?),
                None => *min,
            },
            max: match get("max_team_size") {
                Some(v) => small(count(v, &at("max_team_size"), 1)?),
                None => *max,
            },
        },
        Kind::Latencies {
            difference,
            max_latency,
        } => Kind::Latencies {
            difference: match get("difference") {
                Some(v) => number(v, &at("difference"))?,
                None => *difference,
            },
            max_latency: match get("max_latency") {
                Some(v) => number(v, &at("max_latency"))?,
                None => *max_latency,
            },
        },
        Kind::NumberDifference { max_difference } => Kind::NumberDifference {
            max_difference: match get("max_difference") {
                Some(v) => number(v, &at("max_difference"))?,
                None => *max_difference,
            },
        },
        Kind::Intersection { overlap } => Kind::Intersection {
            overlap: match get("overlap") {
                Some(v) => small(count(v, &at("overlap"), 0)?) as usize,
                None => *overlap,
            },
        },
        Kind::StringEquality => Kind::StringEquality,
    })
}

fn check_teams(profile: &str, stage: &Stage) -> Result<()> {
    let (_, min, max) = stage.teams();
    if min > max {
        return Err(MatchmakerConfigError::MinAboveMax {
            profile: profile.to_owned(),
            stage: stage.name.clone(),
            min: u64::from(min),
            max: u64::from(max),
        });
    }
    Ok(())
}

fn profile(
    name: &str,
    value: &Value,
    path: &str,
    version_exists: &dyn Fn(&str, &str) -> bool,
) -> Result<Profile> {
    let object = object(value, path)?;
    only_keys(
        object,
        path,
        &[
            "ticket_expiration_period",
            "ticket_removal_period",
            "group_inactivity_removal_period",
            "application",
            "rules",
        ],
    )?;
    let expiration = duration(object, path, "ticket_expiration_period")?;
    let removal = duration(object, path, "ticket_removal_period")?;
    let inactivity = duration(object, path, "group_inactivity_removal_period")?;
    let app_path = join(path, "application");
    let application = self::object(required(object, path, "application")?, &app_path)?;
    only_keys(application, &app_path, &["name", "version"])?;
    let app = string(
        required(application, &app_path, "name")?,
        &join(&app_path, "name"),
    )?;
    let version = string(
        required(application, &app_path, "version")?,
        &join(&app_path, "version"),
    )?;
    let rules_path = join(path, "rules");
    let rules_object = self::object(required(object, path, "rules")?, &rules_path)?;
    only_keys(rules_object, &rules_path, &["initial", "expansions"])?;
    let initial_path = join(&rules_path, "initial");
    let initial = self::object(
        required(rules_object, &rules_path, "initial")?,
        &initial_path,
    )?;
    let mut rules = Vec::new();
    for (rule_name, value) in initial {
        rules.push(rule(rule_name, value, &join(&initial_path, rule_name))?);
    }
    let player_counts = rules
        .iter()
        .filter(|r| matches!(r.kind, Kind::PlayerCount { .. }))
        .count();
    if player_counts != 1 {
        return Err(invalid(
            &initial_path,
            format!("needs exactly one `player_count` rule, found {player_counts}"),
        ));
    }
    if rules
        .iter()
        .filter(|r| matches!(r.kind, Kind::Latencies { .. }))
        .count()
        > 1
    {
        return Err(invalid(&initial_path, "takes at most one `latencies` rule"));
    }
    let mut stages = vec![Stage {
        name: "initial".to_owned(),
        from: Duration::ZERO,
        kinds: rules.iter().map(|r| r.kind.clone()).collect(),
    }];
    check_teams(name, &stages[0])?;
    let expansions_path = join(&rules_path, "expansions");
    let empty = Map::new();
    let expansions = match rules_object.get("expansions") {
        Some(v) => self::object(v, &expansions_path)?,
        None => &empty,
    };
    let mut keyed: Vec<(u64, &String, &Value)> = Vec::new();
    for (key, value) in expansions {
        let seconds = key
            .parse::<u64>()
            .ok()
            .filter(|_| key.bytes().all(|b| b.is_ascii_digit()))
            .ok_or_else(|| {
                invalid(
                    &join(&expansions_path, key),
                    "an expansion's key is a whole number of seconds since ticket creation",
                )
            })?;
        keyed.push((seconds, key, value));
    }
    keyed.sort_by_key(|(seconds, _, _)| *seconds);
    for (seconds, key, value) in keyed {
        let path = join(&expansions_path, key);
        let overrides = self::object(value, &path)?;
        let mut kinds = stages.last().map(|s| s.kinds.clone()).unwrap_or_default();
        for (rule_name, rule_overrides) in overrides {
            let Some(i) = rules.iter().position(|r| &r.name == rule_name) else {
                return Err(invalid(
                    &join(&path, rule_name),
                    "names no rule of `rules.initial`",
                ));
            };
            kinds[i] = expand(&kinds[i], rule_overrides, &join(&path, rule_name))?;
        }
        let stage = Stage {
            name: key.clone(),
            from: Duration::from_secs(seconds.min(1_000_000_000)),
            kinds,
        };
        check_teams(name, &stage)?;
        stages.push(stage);
    }
    if !version_exists(&app, &version) {
        return Err(MatchmakerConfigError::UnknownAppVersion {
            profile: name.to_owned(),
            app,
            version,
        });
    }
    Ok(Profile {
        name: name.to_owned(),
        app,
        version,
        expiration,
        removal,
        inactivity,
        rules,
        stages,
    })
}

/// Parses and checks a matchmaker configuration; `version_exists(app, version)` says whether
/// the emulator serves that app version.
pub(crate) fn parse(text: &str, version_exists: &dyn Fn(&str, &str) -> bool) -> Result<Config> {
    let value: Value =
        serde_json::from_str(text).map_err(|e| MatchmakerConfigError::Json(e.to_string()))?;
    let root = object(&value, "(config)")?;
    only_keys(
        root,
        "",
        &[
            "version",
            "inspect",
            "max_deployment_retry_count",
            "allowed_cors_origins",
            "profiles",
        ],
    )?;
    let version = string(required(root, "", "version")?, "version")?;
    let mut parts = version.split('.');
    let supported = parts.next() == Some("3")
        && parts.next() == Some("3")
        && parts
            .next()
            .is_some_and(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()))
        && parts.next().is_none();
    if !supported {
        return Err(MatchmakerConfigError::Version(version));
    }
    if let Some(inspect) = root.get("inspect")
        && !inspect.is_boolean()
    {
        return Err(invalid("inspect", "must be true or false"));
    }
    let max_deployment_retry_count = match root.get("max_deployment_retry_count") {
        Some(v) => small(count(v, "max_deployment_retry_count", 0)?),
        None => 3,
    };
    let allowed_cors_origins = match root.get("allowed_cors_origins") {
        None => Vec::new(),
        Some(Value::Array(items)) => items
            .iter()
            .enumerate()
            .map(|(i, v)| {
                v.as_str().map(str::to_owned).ok_or_else(|| {
                    invalid(&format!("allowed_cors_origins[{i}]"), "must be a string")
                })
            })
            .collect::<Result<_>>()?,
        Some(_) => {
            return Err(invalid(
                "allowed_cors_origins",
                "must be an array of origins",
            ));
        }
    };
    let profiles_value = object(required(root, "", "profiles")?, "profiles")?;
    if profiles_value.is_empty() {
        return Err(invalid("profiles", "needs at least one profile"));
    }
    let mut profiles = BTreeMap::new();
    for (name, value) in profiles_value {
        let path = join("profiles", name);
        profiles.insert(name.clone(), profile(name, value, &path, version_exists)?);
    }
    Ok(Config {
        max_deployment_retry_count,
        allowed_cors_origins,
        profiles,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const CASUAL: &str = r#"{
      "version": "3.3.2", "inspect": true, "max_deployment_retry_count": 3,
      "allowed_cors_origins": ["http://localhost:8080"],
      "profiles": { "casual": {
        "ticket_expiration_period": "5m", "ticket_removal_period": "1m",
        "group_inactivity_removal_period": "5m",
        "application": { "name": "my-game", "version": "v1" },
        "rules": {
          "initial": { "match_size": { "type": "player_count",
              "attributes": { "team_count": 1, "min_team_size": 2, "max_team_size": 4 } } },
          "expansions": { "30": { "match_size": { "min_team_size": 1 } } } } } } }"#;

    fn any_version(_: &str, _: &str) -> bool {
        true
    }

    #[test]
    fn parses_the_casual_template_with_its_stages() {
        let config = parse(CASUAL, &any_version).expect("valid");
        let profile = &config.profiles["casual"];
        assert_eq!(profile.expiration, Duration::from_secs(300));
        assert_eq!(profile.stages.len(), 2);
        assert_eq!(profile.stage_at(Duration::from_secs(29)).name, "initial");
        assert_eq!(profile.stage_at(Duration::from_secs(30)).teams(), (1, 1, 4));
        assert_eq!(profile.largest_team(), 4);
        assert_eq!(config.max_deployment_retry_count, 3);
    }

    #[test]
    fn durations_follow_go() {
        assert_eq!(parse_duration("30s"), Some(Duration::from_secs(30)));
        assert_eq!(parse_duration("1h30m"), Some(Duration::from_secs(5400)));
        assert_eq!(parse_duration("500ms"), Some(Duration::from_millis(500)));
        assert_eq!(parse_duration("1.5m"), Some(Duration::from_secs(90)));
        for bad in ["", "5", "5 m", "m", "-5m", "0s", "5min", "..5s", "1e3s"] {
            assert_eq!(parse_duration(bad), None, "{bad}");
        }
    }

    #[test]
    fn refuses_what_the_dashboard_refuses() {
        let refuse =
            |from: &str, to: &str| parse(&CASUAL.replace(from, to), &any_version).expect_err(to);
        assert!(matches!(
            refuse("\"min_team_size\": 2", "\"min_team_size\": 5"),
            MatchmakerConfigError::MinAboveMax { .. }
        ));
        assert!(matches!(
            refuse(
                "\"5m\", \"ticket_removal",
                "\"5 minutes\", \"ticket_removal"
            ),
            MatchmakerConfigError::Duration { .. }
        ));
        assert!(matches!(
            refuse("3.3.2", "2.1.0"),
            MatchmakerConfigError::Version(_)
        ));
        assert!(matches!(
            refuse("\"player_count\"", "\"players\""),
            MatchmakerConfigError::Invalid { .. }
        ));
        assert!(matches!(
            refuse("\"max_team_size\": 4", "\"max_teamsize\": 4"),
            MatchmakerConfigError::Invalid { .. }
        ));
        assert!(matches!(
            refuse(
                "{ \"match_size\": { \"min_team_size\": 1 } }",
                "{ \"size\": {} }"
            ),
            MatchmakerConfigError::Invalid { .. }
        ));
        assert!(matches!(
            refuse("\"min_team_size\": 1 }", "\"min_team_size\": 9 }"),
            MatchmakerConfigError::MinAboveMax { .. }
        ));
        assert!(matches!(
            parse(CASUAL, &|_, _| false),
            Err(MatchmakerConfigError::UnknownAppVersion { .. })
        ));
        assert!(matches!(
            parse("{", &any_version),
            Err(MatchmakerConfigError::Json(_))
        ));
    }
}
