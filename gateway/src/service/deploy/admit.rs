//! The deploy body policy: which fields a client may set, which application versions it may
//! deploy, and `users` set to the caller's address.

use std::net::IpAddr;

use bevy_edgegap::api::{DeployRequest, User};
use serde_json::{Map, Value};

use crate::auth::OWNER_TAG_PREFIX;
use crate::config::Policy;
use crate::error::ApiError;

/// Most `users` kept from a client when `policy.client_users` is on.
const MAX_CLIENT_USERS: usize = 16;

/// Checks a client's deploy body against the policy and turns it into the upstream request,
/// `users` set to the caller's address. Refusals are 400 (malformed) or 403 (not allowed).
pub(crate) fn admit(
    policy: &Policy,
    body: &[u8],
    caller: IpAddr,
) -> Result<DeployRequest, ApiError> {
    let value: Value = serde_json::from_slice(body)
        .map_err(|e| ApiError::BadRequest(format!("the body is not valid JSON: {e}")))?;
    let Value::Object(mut fields) = value else {
        return Err(ApiError::BadRequest(
            "the body must be a JSON object".into(),
        ));
    };
    check_fields(policy, &fields)?;
    let client_users = fields.remove("users");
    fields.insert("users".into(), Value::Array(Vec::new()));
    let mut request: DeployRequest = serde_json::from_value(Value::Object(fields))
        .map_err(|e| ApiError::BadRequest(format!("invalid deploy body: {e}")))?;
    if !policy.allows(&request.application, &request.version) {
        return Err(ApiError::Forbidden(format!(
            "application `{}` version `{}` may not be deployed through this gateway",
            request.application, request.version
        )));
    }
    if policy.client_users
        && let Some(users) = client_users.filter(|u| !u.is_null())
    {
        let users: Vec<User> = serde_json::from_value(users)
            .map_err(|e| ApiError::BadRequest(format!("invalid `users`: {e}")))?;
        request.users = users.into_iter().take(MAX_CLIENT_USERS).collect();
    }
    if request.users.is_empty() {
        request.users.push(User::IpAddress {
            ip_address: caller.to_string(),
        });
    }
    request.validate().map_err(|e| ApiError::upstream(&e))?;
    Ok(request)
}

/// Which body fields a client may set.
fn check_fields(policy: &Policy, fields: &Map<String, Value>) -> Result<(), ApiError> {
    let forbidden = |what: String| Err(ApiError::Forbidden(what));
    for (name, value) in fields {
        match name.as_str() {
            "application" | "version" | "users" | "require_cached_locations" => {}
            "environment_variables" => {
                for var in value.as_array().into_iter().flatten() {
                    let key = var.get("key").and_then(Value::as_str).unwrap_or_default();
                    if !policy.env_keys.iter().any(|k| k == key) {
                        return forbidden(format!(
                            "environment variable `{key}` may not be set by clients"
                        ));
                    }
                }
            }
            "tags" => {
                for tag in value.as_array().into_iter().flatten() {
                    let tag = tag.as_str().unwrap_or_default();
                    if tag.starts_with(OWNER_TAG_PREFIX) || !policy.tags.iter().any(|t| t == tag) {
                        return forbidden(format!("tag `{tag}` may not be set by clients"));
                    }
                }
            }
            "webhook_on_ready" | "webhook_on_error" | "webhook_on_terminated"
                if policy.webhooks => {}
            "resources" if policy.resources => {}
            other => return forbidden(format!("`{other}` may not be set by clients")),
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::AllowedVersion;

    fn policy() -> Policy {
        let mut policy = Policy::default();
        policy.allow.push(AllowedVersion {
            application: "game".into(),
            version: "v1".into(),
        });
        policy
    }

    fn refused(policy: &Policy, body: &str) -> ApiError {
        admit(policy, body.as_bytes(), [1, 2, 3, 4].into()).unwrap_err()
    }

    #[test]
    fn admitted_deploys_get_the_callers_address() {
        let request = admit(
            &policy(),
            br#"{"application":"game","version":"v1"}"#,
            [1, 2, 3, 4].into(),
        )
        .unwrap();
        assert_eq!(
            request.users,
            vec![User::IpAddress {
                ip_address: "1.2.3.4".into()
            }]
        );
        // Client users are replaced unless the policy keeps them.
        let body = br#"{"application":"game","version":"v1","users":[{"user_type":"ip_address","user_data":{"ip_address":"9.9.9.9"}}]}"#;
        let request = admit(&policy(), body, [1, 2, 3, 4].into()).unwrap();
        assert_eq!(request.users.len(), 1);
        assert!(
            matches!(&request.users[0], User::IpAddress { ip_address } if ip_address == "1.2.3.4")
        );
        let mut keep = policy();
        keep.client_users = true;
        let request = admit(&keep, body, [1, 2, 3, 4].into()).unwrap();
        assert!(
            matches!(&request.users[0], User::IpAddress { ip_address } if ip_address == "9.9.9.9")
        );
    }

    #[test]
    fn forbidden_fields_and_versions_are_403_and_garbage_is_400() {
        let p = policy();
        for body in [
            r#"{"application":"game","version":"v2"}"#,
            r#"{"application":"other","version":"v1"}"#,
            r#"{"application":"game","version":"v1","environment_variables":[{"key":"X","value":"1"}]}"#,
            r#"{"application":"game","version":"v1","tags":["vip"]}"#,
            r#"{"application":"game","version":"v1","webhook_on_ready":{"url":"http://x"}}"#,
            r#"{"application":"game","version":"v1","resources":{"cpu_units":4096,"memory_mib":8192}}"#,
            r#"{"application":"game","version":"v1","private_host_ids":["h"]}"#,
        ] {
            assert!(
                matches!(refused(&p, body), ApiError::Forbidden(_)),
                "{body}"
            );
        }
        for body in ["", "[]", "{", r#"{"application":"game"}"#] {
            assert!(
                matches!(refused(&p, body), ApiError::BadRequest(_)),
                "{body}"
            );
        }
    }

    #[test]
    fn allowlisted_env_keys_and_tags_pass_but_never_an_owner_tag() {
        let mut p = policy();
        p.env_keys.push("MAP".into());
        p.tags.push("ranked".into());
        p.tags.push("gw-0000000000000000".into());
        let ok = admit(
            &p,
            br#"{"application":"game","version":"v1","environment_variables":[{"key":"MAP","value":"dust"}],"tags":["ranked"]}"#,
            [1, 2, 3, 4].into(),
        )
        .unwrap();
        assert_eq!(ok.tags, vec!["ranked".to_owned()]);
        assert!(matches!(
            refused(
                &p,
                r#"{"application":"game","version":"v1","tags":["gw-0000000000000000"]}"#
            ),
            ApiError::Forbidden(_)
        ));
    }
}
