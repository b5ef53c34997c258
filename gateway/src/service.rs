//! The client-facing HTTP service: one [`router`], state in one [`AppState`], a [`Player`]
//! extractor that refuses with 401, and the three Edgegap-shaped handlers.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Bytes;
use axum::extract::rejection::QueryRejection;
use axum::extract::{ConnectInfo, DefaultBodyLimit, FromRequestParts, Path, Query, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};
use bevy_edgegap::api::{
    DeployRequest, DeploymentStatus, EdgegapError, GetStatus, HttpResponse, ListDeployments,
    ListPage, RequestId, Status, StopDeployment, User, Webhook,
};
use serde::Deserialize;
use serde_json::{Map, Value};
use tokio::sync::watch;

use crate::auth::{OWNER_TAG_PREFIX, OwnerKey, TrustedProxies, Verifier};
use crate::config::Policy;
use crate::error::ApiError;
use crate::store::{Claim, Store};
use crate::upstream::Upstream;
use crate::view::{Snapshot, StatusView};

/// Longest accepted `Idempotency-Key`.
const MAX_IDEMPOTENCY_KEY_LEN: usize = 64;
/// Longest accepted deploy body.
const MAX_BODY_BYTES: usize = 64 * 1024;
/// How long a deploy waits for another deploy with the same key to finish.
const IN_PROGRESS_WAIT: Duration = Duration::from_secs(10);
/// Most `users` kept from a client when `policy.client_users` is on.
const MAX_CLIENT_USERS: usize = 16;
/// Longest a status request may be held (`?wait=`), in seconds.
pub(crate) const MAX_WAIT_SECS: u64 = 25;

/// Everything the handlers share.
pub(crate) struct AppState {
    pub(crate) upstream: Upstream,
    /// Coalesced status reads and long-poll wake-ups.
    pub(crate) view: StatusView,
    /// The path secret of `POST /webhooks/{secret}`.
    pub(crate) webhook_secret: String,
    /// `<public_url>/webhooks/<secret>`, set on every deploy; `None`: no webhooks.
    pub(crate) webhook_url: Option<String>,
    /// `true` once the gateway stops: held requests are answered at once.
    pub(crate) stopping: watch::Receiver<bool>,
    pub(crate) verifier: Verifier,
    pub(crate) policy: Policy,
    pub(crate) owner_key: OwnerKey,
    pub(crate) proxies: TrustedProxies,
    pub(crate) store: Arc<dyn Store>,
    /// The longest an upstream call takes (budget wait + timeout, and a second): an
    /// idempotency claim older than this was abandoned by a dead replica.
    pub(crate) longest_call: Duration,
}

/// The authenticated caller.
pub(crate) struct Player {
    /// `sub`, or `anon:<ip>` in anonymous mode.
    id: String,
    /// The owner tag of `id`.
    owner: String,
    /// The caller's address (socket peer, or `X-Forwarded-For` from a trusted proxy).
    address: IpAddr,
}

impl FromRequestParts<Arc<AppState>> for Player {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &Arc<AppState>,
    ) -> Result<Self, ApiError> {
        let peer = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|c| c.0.ip())
            .unwrap_or(IpAddr::from([127, 0, 0, 1]));
        let forwarded = parts
            .headers
            .get("x-forwarded-for")
            .and_then(|v| v.to_str().ok());
        let address = state.proxies.client(peer, forwarded);
        let authorization = parts
            .headers
            .get(header::AUTHORIZATION)
            .map(|v| v.to_str().unwrap_or("\u{0}"));
        let id = state
            .verifier
            .player(authorization, address)
            .inspect_err(|_| {
                let sent = authorization.unwrap_or_default();
                let bare = ["Bearer ", "bearer ", "token "]
                    .iter()
                    .find_map(|scheme| sent.strip_prefix(scheme))
                    .unwrap_or(sent);
                if state.upstream.is_org_token(bare) {
                    tracing::warn!(
                        "a client at `{address}` sent the organisation token as its player token; \
                     refused. Rotate the token if it has leaked"
                    );
                }
            })?;
        let owner = state.owner_key.tag(&id);
        Ok(Self { id, owner, address })
    }
}

/// The gateway's routes.
pub(crate) fn router(state: Arc<AppState>) -> Router {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/v2/deployments", post(deploy))
        .route("/v1/status/{request_id}", get(status))
        .route("/v1/stop/{request_id}", delete(stop))
        .route("/webhooks/{secret}", post(webhook))
        .fallback(not_served)
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .with_state(state)
}

async fn healthz() -> Response {
    json(StatusCode::OK, r#"{"status":"ok"}"#.into())
}

async fn not_served() -> ApiError {
    ApiError::Edgegap {
        status: StatusCode::NOT_FOUND,
        message: "not served by the gateway: only POST /v2/deployments, GET /v1/status/{id} \
                  and DELETE /v1/stop/{id}"
            .into(),
    }
}

fn json(status: StatusCode, body: Vec<u8>) -> Response {
    (
        status,
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        )],
        body,
    )
        .into_response()
}

/// Edgegap's answer, forwarded as is.
fn forward(response: &HttpResponse) -> Response {
    let status = StatusCode::from_u16(response.status).unwrap_or(StatusCode::OK);
    json(status, response.body.clone())
}

/// `POST /v2/deployments`.
async fn deploy(
    State(state): State<Arc<AppState>>,
    player: Player,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let key = idempotency_key(&headers)?;
    let request = admit(&state.policy, &body, player.address)?;
    let window = Duration::from_secs(state.policy.idempotency_window_secs);
    if let Some(key) = &key {
        let deadline = Instant::now() + IN_PROGRESS_WAIT;
        loop {
            match store(
                state
                    .store
                    .claim_idempotency(&player.owner, key, window, state.longest_call)
                    .await,
            )? {
                Claim::New => break,
                Claim::Abandoned => {
                    // The replica that claimed this key died mid-deploy: answer what its
                    // deploy created, if anything, rather than create a second server.
                    if let Some(id) = adopt_abandoned(&state, &player.owner).await? {
                        store(
                            state
                                .store
                                .commit_live(&player.owner, Some(id.clone()))
                                .await,
                        )?;
                        store(
                            state
                                .store
                                .finish_idempotency(&player.owner, key, Some(id.clone()), window)
                                .await,
                        )?;
                        tracing::warn!(
                            "`{key}` by `{}` was abandoned mid-deploy; found `{id}` by its owner tag",
                            player.owner
                        );
                        return Ok(accepted(&id));
                    }
                    break;
                }
                Claim::Done(id) => {
                    tracing::debug!("idempotent replay of `{key}` by `{}`: `{id}`", player.owner);
                    return Ok(accepted(&id));
                }
                Claim::InProgress if Instant::now() < deadline => {
                    tokio::time::sleep(Duration::from_millis(25)).await;
                }
                Claim::InProgress => {
                    return Err(ApiError::busy(
                        "a deploy with this Idempotency-Key is still in progress",
                        Duration::from_secs(1),
                    ));
                }
            }
        }
    }
    let result = deploy_new(&state, &player, request).await;
    if let Some(key) = &key {
        let outcome = match &result {
            Ok((id, _)) => Some(id.clone()),
            Err(_) => None,
        };
        store(
            state
                .store
                .finish_idempotency(&player.owner, key, outcome, window)
                .await,
        )?;
    }
    result.map(|(_, response)| response)
}

/// Rate, quota, then the upstream deploy with the owner tag.
async fn deploy_new(
    state: &AppState,
    player: &Player,
    mut request: DeployRequest,
) -> Result<(RequestId, Response), ApiError> {
    let per_minute = state.policy.deploys_per_minute;
    let rate = store(
        state
            .store
            .acquire(
                &format!("player:{}", player.owner),
                f64::from(per_minute) / 60.0,
                per_minute,
                Duration::ZERO,
            )
            .await,
    )?;
    if let Err(retry_after) = rate {
        return Err(ApiError::TooMany {
            message: format!("at most {per_minute} deploys per minute per player"),
            retry_after,
        });
    }
    reserve_slot(state, player).await?;
    request.tags.push(player.owner.clone());
    if let Some(url) = &state.webhook_url {
        // A client's own webhook (allowed by `policy.webhooks`) is kept.
        for slot in [
            &mut request.webhook_on_ready,
            &mut request.webhook_on_error,
            &mut request.webhook_on_terminated,
        ] {
            slot.get_or_insert_with(|| Webhook { url: url.clone() });
        }
    }
    let answer = state.upstream.call(&request).await;
    let (id, response) = match answer {
        Ok(Ok((deployed, raw))) => (deployed.request_id, accepted_raw(&raw)),
        // v2 422: created, but in error. It exists: count it and pass Edgegap's answer on.
        Ok(Err(EdgegapError::Api {
            status,
            body,
            request_id: Some(id),
            ..
        })) => (
            id,
            json(
                StatusCode::from_u16(status).unwrap_or(StatusCode::UNPROCESSABLE_ENTITY),
                body.into_bytes(),
            ),
        ),
        Ok(Err(error)) if maybe_created(&error) => {
            // Edgegap may have created it without an answer we could read: look for it by
            // owner tag rather than let the client's retry create a second server.
            let found = adopt(state, &player.owner).await;
            let Some(id) = found else {
                store(state.store.commit_live(&player.owner, None).await)?;
                tracing::warn!("deploy for `{}` failed upstream: {error}", player.owner);
                return Err(ApiError::upstream(&error));
            };
            tracing::warn!(
                "deploy for `{}` was answered unreadably ({error}); found `{id}` by its owner tag",
                player.owner
            );
            (id.clone(), accepted(&id))
        }
        Ok(Err(error)) => {
            store(state.store.commit_live(&player.owner, None).await)?;
            tracing::debug!("deploy for `{}` failed upstream: {error}", player.owner);
            return Err(ApiError::upstream(&error));
        }
        Err(refused) => {
            store(state.store.commit_live(&player.owner, None).await)?;
            return Err(refused);
        }
    };
    store(
        state
            .store
            .commit_live(&player.owner, Some(id.clone()))
            .await,
    )?;
    tracing::info!(
        "deployed `{id}` ({} {}) for player `{}` (owner tag `{}`)",
        request.application,
        request.version,
        player.id,
        player.owner
    );
    Ok((id, response))
}

/// Whether a failed deploy may still have created a deployment: no answer, an unreadable
/// answer, or a 5xx. (A 4xx, 429 included, created nothing.)
fn maybe_created(error: &EdgegapError) -> bool {
    match error.status() {
        Some(status) => status >= 500 || matches!(error, EdgegapError::Decode { .. }),
        None => error.may_have_been_sent(),
    }
}

/// Reserves a live slot; when full, first forgets deployments Edgegap says are over.
async fn reserve_slot(state: &AppState, player: &Player) -> Result<(), ApiError> {
    let max = state.policy.max_live_per_player;
    let hold = state.longest_call * 2;
    if store(state.store.reserve_live(&player.owner, max, hold).await)? {
        return Ok(());
    }
    for id in store(state.store.live(&player.owner).await)? {
        let over = match state.upstream.call(&GetStatus::new(id.clone())).await? {
            Ok((status, _)) => is_over(&status) || !owned(&status, &player.owner),
            Err(error) if error.is_not_found() => true,
            Err(_) => false,
        };
        if over {
            store(state.store.remove_live(&player.owner, &id).await)?;
        }
    }
    if store(state.store.reserve_live(&player.owner, max, hold).await)? {
        return Ok(());
    }
    Err(ApiError::TooMany {
        message: format!("at most {max} live deployment(s) per player; stop one first"),
        retry_after: Duration::from_secs(5),
    })
}

/// `GET /v1/status/{request_id}` query: `?wait=<seconds>&since=<Status.X>` (long-poll).
#[derive(Debug, Default, Deserialize)]
pub(crate) struct StatusQuery {
    wait: Option<String>,
    since: Option<String>,
}

/// What a status request holds for: until the status differs from `since`, for `wait`.
#[derive(Debug, PartialEq)]
pub(crate) struct Hold {
    since: Status,
    wait: Duration,
}

impl StatusQuery {
    /// `None` (answer at once) without `since` or with `wait=0`; `wait` is capped at 25 s and
    /// defaults to it; anything but whole seconds is 400.
    pub(crate) fn hold(&self) -> Result<Option<Hold>, ApiError> {
        let wait = match self.wait.as_deref() {
            None => MAX_WAIT_SECS,
            Some(text) => text.trim().parse::<u64>().map_err(|_| {
                ApiError::BadRequest(format!(
                    "`wait` must be whole seconds (0 to {MAX_WAIT_SECS}), not `{text}`"
                ))
            })?,
        };
        Ok(self
            .since
            .as_deref()
            .filter(|_| wait > 0)
            .map(|since| Hold {
                since: Status::parse(since),
                wait: Duration::from_secs(wait.min(MAX_WAIT_SECS)),
            }))
    }
}

/// `GET /v1/status/{request_id}`: Edgegap's status object, if the caller owns it, from the
/// gateway's view (at most one upstream read per deployment per interval). With
/// `?since=<Status.X>&wait=<seconds>`, held until the status differs from `since`, or `wait`
/// has passed (then answered with the unchanged status).
async fn status(
    State(state): State<Arc<AppState>>,
    player: Player,
    Path(request_id): Path<String>,
    query: Result<Query<StatusQuery>, QueryRejection>,
) -> Result<Response, ApiError> {
    let query = query.map_err(|e| ApiError::BadRequest(format!("invalid query: {e}")))?;
    let hold = query.hold()?;
    plausible_id(&request_id)?;
    let entry = state.view.entry(&request_id);
    let mut changes = entry.subscribe();
    let mut stopping = state.stopping.clone();
    let start = Instant::now();
    let deadline = start + hold.as_ref().map_or(Duration::ZERO, |h| h.wait);
    let interval = state.view.interval();
    let hold_interval = state.view.hold_interval();
    let mut fresh_after = start.checked_sub(interval).unwrap_or(start);
    loop {
        let snapshot = state
            .view
            .read_entry(&state.upstream, &request_id, &entry, fresh_after)
            .await?;
        // Our own read was sent on the channel too: mark it seen, so only what comes after
        // it wakes us; and if something did come in between, look again.
        changes.borrow_and_update();
        if !entry.is_current(&snapshot) && Instant::now() < deadline {
            fresh_after = snapshot.at + Duration::from_nanos(1);
            continue;
        }
        let status = owned_snapshot(&snapshot, &player, &request_id)?;
        let unchanged = hold
            .as_ref()
            .is_some_and(|h| status.current_status == h.since);
        if !unchanged || Instant::now() >= deadline || *stopping.borrow() {
            return answer_status(&state, &player, &snapshot).await;
        }
        // Without webhooks, re-read every interval; with them, only now and then, in case one
        // is lost (a webhook, a stop or another replica's read wakes us before).
        let next_read = (snapshot.at + hold_interval).min(deadline);
        tokio::select! {
            _ = changes.changed() => {}
            () = tokio::time::sleep_until(next_read.into()) => {}
            _ = stopping.wait_for(|s| *s) => {}
        }
        let now = Instant::now();
        fresh_after = if now >= deadline || *stopping.borrow() {
            // Answer from the view: no extra read just because the wait is over.
            now.checked_sub(interval).unwrap_or(now)
        } else {
            // Woken by a new snapshot, or the wait passed: something newer than this.
            snapshot.at + Duration::from_nanos(1)
        };
    }
}

/// Forwards a snapshot's status, forgetting the live slot of a deployment that is over.
async fn answer_status(
    state: &AppState,
    player: &Player,
    snapshot: &Snapshot,
) -> Result<Response, ApiError> {
    let (status, raw) = match &snapshot.result {
        Ok(ok) => ok,
        Err(error) => return Err(ApiError::upstream(error)),
    };
    if is_over(status) {
        store(
            state
                .store
                .remove_live(&player.owner, &status.request_id)
                .await,
        )?;
    }
    Ok(forward(raw))
}

/// `POST /webhooks/{secret}`: Edgegap says a deployment moved on. A wrong secret is 404. The
/// claim itself is never believed: the webhook is passed to every replica (through the
/// store), and when someone waits on that deployment, on any replica, ONE upstream read
/// (shared with any other read under way after the webhook arrived, on any replica) refreshes
/// the view, and that read is what wakes the waiters. A forged webhook changes nothing. The
/// webhook is answered 204 before that read, so a slow upstream never makes Edgegap give up
/// on us.
async fn webhook(
    State(state): State<Arc<AppState>>,
    Path(secret): Path<String>,
    body: Bytes,
) -> Result<Response, ApiError> {
    if !crate::upstream::same_secret(secret.as_bytes(), state.webhook_secret.as_bytes()) {
        return Err(ApiError::NotFound);
    }
    let id = serde_json::from_slice::<Value>(&body)
        .ok()
        .and_then(|v| v.get("request_id")?.as_str().map(str::to_owned))
        .ok_or_else(|| ApiError::BadRequest("a webhook body needs a `request_id`".into()))?;
    plausible_id(&id)?;
    // Without the store, this replica confirms it alone. Answered at once either way:
    // Edgegap gives up on a webhook that takes 10 s, and the read may wait for budget.
    if let Some((entry, arrived)) = state.view.webhook(&id).await {
        tokio::spawn(confirm_webhook(Arc::clone(&state), id, entry, arrived));
    }
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// The one read confirming a webhook about `id` (sent at or after `arrived`), which wakes the
/// requests held on it. Refused for budget (Edgegap's 20 status reads/s are spent), it is
/// retried after the budget's `Retry-After` while someone still waits, rather than leaving
/// them to their slow fallback re-read.
pub(crate) async fn confirm_webhook(
    state: Arc<AppState>,
    id: String,
    entry: Arc<crate::view::Entry>,
    arrived: Instant,
) {
    const ATTEMPTS: usize = 10;
    tracing::debug!("webhook for `{id}`: reading its status");
    for _ in 0..ATTEMPTS {
        match state
            .view
            .read_entry(&state.upstream, &id, &entry, arrived)
            .await
        {
            Err(ApiError::Unavailable { retry_after, .. })
                if entry.has_waiters() && !*state.stopping.borrow() =>
            {
                tokio::time::sleep(
                    retry_after.clamp(Duration::from_millis(50), Duration::from_secs(2)),
                )
                .await;
            }
            Err(error) => {
                tracing::debug!("the read confirming a webhook for `{id}` failed: {error:?}");
                return;
            }
            Ok(_) => return,
        }
    }
}

/// `DELETE /v1/stop/{request_id}`: stops it, if the caller owns it.
async fn stop(
    State(state): State<Arc<AppState>>,
    player: Player,
    Path(request_id): Path<String>,
) -> Result<Response, ApiError> {
    plausible_id(&request_id)?;
    let snapshot = state.view.read(&state.upstream, &request_id).await?;
    let id = owned_snapshot(&snapshot, &player, &request_id)?
        .request_id
        .clone();
    let answer = state
        .upstream
        .call(&StopDeployment::new(id.clone()))
        .await?;
    // Whatever the answer, the view's status is out of date, on every replica.
    state.view.invalidate(id.as_str()).await;
    match answer {
        Ok((_, raw)) => {
            store(state.store.remove_live(&player.owner, &id).await)?;
            tracing::info!("stopped `{id}` for player `{}`", player.id);
            Ok(forward(&raw))
        }
        Err(error) => {
            if error.is_already_terminated() || error.is_not_found() {
                store(state.store.remove_live(&player.owner, &id).await)?;
            }
            Err(ApiError::upstream(&error))
        }
    }
}

/// Ids that cannot be Edgegap's are 404 without an upstream read.
fn plausible_id(request_id: &str) -> Result<(), ApiError> {
    let plausible = !request_id.is_empty()
        && request_id.len() <= 64
        && request_id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    if plausible {
        Ok(())
    } else {
        Err(ApiError::NotFound)
    }
}

/// The snapshot's status, or 404 when it is unknown or not the caller's (an upstream failure
/// is answered as such).
fn owned_snapshot<'a>(
    snapshot: &'a Snapshot,
    player: &Player,
    request_id: &str,
) -> Result<&'a DeploymentStatus, ApiError> {
    match &snapshot.result {
        Ok((status, _)) if owned(status, &player.owner) => Ok(status),
        Ok(_) => {
            tracing::debug!(
                "player `{}` asked for `{request_id}`, which is not theirs: 404",
                player.id
            );
            Err(ApiError::NotFound)
        }
        Err(error) => Err(ApiError::upstream(error)),
    }
}

fn owned(status: &DeploymentStatus, owner: &str) -> bool {
    status.tags.iter().any(|t| t == owner)
}

fn is_over(status: &DeploymentStatus) -> bool {
    matches!(
        status.current_status,
        Status::Terminating | Status::Terminated | Status::Error
    )
}

/// `202 {"request_id": ..}`, as Edgegap answers a deploy.
fn accepted(id: &RequestId) -> Response {
    json(
        StatusCode::ACCEPTED,
        serde_json::json!({ "request_id": id })
            .to_string()
            .into_bytes(),
    )
}

fn accepted_raw(raw: &HttpResponse) -> Response {
    forward(raw)
}

fn store<T>(result: Result<T, crate::store::StoreError>) -> Result<T, ApiError> {
    result.map_err(|e| {
        tracing::error!("{e}");
        ApiError::busy(
            "the gateway's shared state is unavailable",
            Duration::from_secs(1),
        )
    })
}

/// The `Idempotency-Key` header: absent, or printable ASCII of at most 64 characters.
fn idempotency_key(headers: &HeaderMap) -> Result<Option<String>, ApiError> {
    let Some(value) = headers.get("idempotency-key") else {
        return Ok(None);
    };
    let bytes = value.as_bytes();
    if bytes.is_empty()
        || bytes.len() > MAX_IDEMPOTENCY_KEY_LEN
        || !bytes.iter().all(|b| (0x21..=0x7e).contains(b))
    {
        return Err(ApiError::BadRequest(format!(
            "Idempotency-Key must be 1 to {MAX_IDEMPOTENCY_KEY_LEN} printable ASCII characters"
        )));
    }
    Ok(Some(String::from_utf8_lossy(bytes).into_owned()))
}

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

/// Every live deployment on Edgegap with an owner tag that `wanted` accepts, as
/// `(owner tag, id)`, over every page of the list.
async fn list_owned(
    state: &AppState,
    wanted: impl Fn(&str) -> bool,
) -> Result<Vec<(String, RequestId)>, String> {
    const PAGE_SIZE: u32 = 100;
    const MAX_PAGES: u32 = 1000;
    let mut found = Vec::new();
    let mut page = 1;
    while page <= MAX_PAGES {
        let list = ListDeployments::new().page(page).limit(PAGE_SIZE);
        let (list, _) = state
            .upstream
            .call(&list)
            .await
            .map_err(|e| format!("{e:?}"))?
            .map_err(|e| e.to_string())?;
        let next = list.next_page(page, PAGE_SIZE);
        for deployment in list.data {
            for tag in deployment.tags.iter().filter(|t| wanted(t)) {
                found.push((tag.clone(), deployment.request_id.clone()));
            }
        }
        match next {
            Some(next) => page = next,
            None => break,
        }
    }
    Ok(found)
}

/// Counts the live deployments carrying owner tags (the rebuild at start).
pub(crate) async fn rebuild(state: &AppState) -> Result<usize, String> {
    let found = list_owned(state, is_owner_tag).await?;
    let n = found.len();
    state
        .store
        .add_live(found)
        .await
        .map_err(|e| e.to_string())?;
    Ok(n)
}

/// After a deploy that may have been processed: the one deployment carrying `owner`'s tag
/// that the gateway does not know yet, if there is exactly one.
async fn adopt(state: &AppState, owner: &str) -> Option<RequestId> {
    let known = state.store.live(owner).await.ok()?;
    let found = list_owned(state, |t| t == owner).await.ok()?;
    let mut new = found
        .into_iter()
        .map(|(_, id)| id)
        .filter(|id| !known.contains(id));
    match (new.next(), new.next()) {
        (Some(id), None) => Some(id),
        _ => None,
    }
}

/// After a deploy abandoned by a dead replica: the one deployment carrying `owner`'s tag that
/// the gateway does not count yet, if there is exactly one. A failed list is 503: deploying
/// blindly could make a second server.
async fn adopt_abandoned(state: &AppState, owner: &str) -> Result<Option<RequestId>, ApiError> {
    let known = store(state.store.live(owner).await)?;
    let found = list_owned(state, |t| t == owner).await.map_err(|error| {
        tracing::warn!("cannot look for an abandoned deploy of `{owner}`: {error}");
        ApiError::busy(
            "cannot check Edgegap for an interrupted deploy; retry later",
            state.longest_call,
        )
    })?;
    let new: Vec<RequestId> = found
        .into_iter()
        .map(|(_, id)| id)
        .filter(|id| !known.contains(id))
        .collect();
    Ok(match new.as_slice() {
        [id] => Some(id.clone()),
        _ => None,
    })
}

fn is_owner_tag(tag: &str) -> bool {
    tag.strip_prefix(OWNER_TAG_PREFIX)
        .is_some_and(|rest| rest.len() == 16 && rest.bytes().all(|b| b.is_ascii_hexdigit()))
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
    fn only_unanswered_unreadable_or_5xx_deploys_may_have_created_something() {
        use bevy_edgegap::api::{HttpResponse, api_error};
        let api = |status: u16| api_error(&HttpResponse::new(status, r#"{"message":"x"}"#));
        assert!(maybe_created(&api(500)));
        assert!(maybe_created(&api(502)));
        assert!(maybe_created(&EdgegapError::Timeout));
        assert!(maybe_created(&EdgegapError::decode(202, b"{", "eof")));
        assert!(maybe_created(&EdgegapError::transport(true, "reset")));
        assert!(!maybe_created(&EdgegapError::transport(false, "refused")));
        assert!(!maybe_created(&api(400)));
        assert!(!maybe_created(&api(429)));
        assert!(!maybe_created(&EdgegapError::Config("no token".into())));
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
        assert!(is_owner_tag("gw-0123456789abcdef"));
        assert!(!is_owner_tag("gw-xyz"));
    }
}
