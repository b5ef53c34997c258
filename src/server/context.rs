//! The deployment's own context and tags, through the injected `ARBITRIUM_CONTEXT_URL` and
//! `ARBITRIUM_CONTEXT_TOKEN` (the server-side counterpart of Agones' `SetLabel`).

use bevy::ecs::system::SystemParam;
use bevy::log::{debug, warn};
use bevy::prelude::*;

use super::announce::Announce;
use super::call::{Call, Outcome};
use super::config::ServerConfig;
use super::env::ArbitriumEnv;
use crate::api::{
    CreateContextTag, DeleteContextTag, DeploymentContext, DeploymentTag, EdgegapError, Endpoint,
    GetContext, Secret,
};
use crate::time::Instant;

/// Read this deployment's context (`GET $ARBITRIUM_CONTEXT_URL`); the answer arrives as
/// [`ContextRead`].
#[derive(Message, Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ReadContext;

/// The answer to [`ReadContext`]. Both a [`Message`] and a global [`Event`] (for observers).
#[derive(Message, Event, Debug, Clone, PartialEq)]
pub struct ContextRead {
    /// The context, or why it could not be read: an [`EdgegapError::Invalid`] naming the
    /// variable when one is missing or invalid (`ARBITRIUM_REQUEST_ID` when not running on
    /// Edgegap), nothing sent.
    pub result: Result<DeploymentContext, EdgegapError>,
}

/// Tag this deployment (`POST $ARBITRIUM_CONTEXT_URL/tags`); the answer arrives as
/// [`ContextTagAdded`].
#[derive(Message, Debug, Clone, PartialEq, Eq)]
pub struct AddContextTag {
    /// The tag.
    pub name: String,
}

impl AddContextTag {
    /// Add tag `name`.
    pub fn new(name: impl Into<String>) -> Self {
        Self { name: name.into() }
    }
}

/// The answer to [`AddContextTag`] (`409` when the tag exists). Both a [`Message`] and a
/// global [`Event`].
#[derive(Message, Event, Debug, Clone, PartialEq)]
pub struct ContextTagAdded {
    /// The tag asked for.
    pub name: String,
    /// The created tag, or the error.
    pub result: Result<DeploymentTag, EdgegapError>,
}

/// Remove one of this deployment's tags (`DELETE $ARBITRIUM_CONTEXT_URL/tags/{name}`); the
/// answer arrives as [`ContextTagRemoved`].
#[derive(Message, Debug, Clone, PartialEq, Eq)]
pub struct RemoveContextTag {
    /// The tag.
    pub name: String,
}

impl RemoveContextTag {
    /// Remove tag `name`.
    pub fn new(name: impl Into<String>) -> Self {
        Self { name: name.into() }
    }
}

/// The answer to [`RemoveContextTag`]. Both a [`Message`] and a global [`Event`].
#[derive(Message, Event, Debug, Clone, PartialEq)]
pub struct ContextTagRemoved {
    /// The tag asked for.
    pub name: String,
    /// `Ok` once removed.
    pub result: Result<(), EdgegapError>,
}

/// Context calls in flight.
#[derive(Resource, Default)]
pub(crate) struct ContextCalls {
    reads: Vec<Call<GetContext>>,
    adds: Vec<(String, Call<CreateContextTag>)>,
    removes: Vec<(String, Call<DeleteContextTag>)>,
}

/// The checked context URL and token (one check, one error kind: [`EdgegapError::Invalid`]).
fn injected(env: Option<&ArbitriumEnv>) -> Result<(String, Secret), EdgegapError> {
    env.ok_or_else(super::env::not_on_edgegap)?
        .context_endpoint()
}

/// Prepares a call; the first attempt goes out when [`send_and_poll`] polls it, in the same
/// frame.
fn start<E: Endpoint>(
    endpoint: Result<E, EdgegapError>,
    config: &ServerConfig,
    what: &'static str,
) -> Result<Call<E>, EdgegapError> {
    Call::start(
        endpoint?,
        config.context_retry.clone(),
        config.attempt_timeout,
        what,
    )
}

/// Writes the answers, as messages and as global events.
#[derive(SystemParam)]
pub(crate) struct ContextAnswers<'w, 's> {
    read: Announce<'w, 's, ContextRead>,
    added: Announce<'w, 's, ContextTagAdded>,
    removed: Announce<'w, 's, ContextTagRemoved>,
}

/// Starts the context calls asked for and sends their first attempts in the same frame. Runs
/// in [`EdgegapServerSystems::Send`](super::EdgegapServerSystems::Send).
pub(crate) fn start_context_calls(
    mut reads: MessageReader<ReadContext>,
    mut adds: MessageReader<AddContextTag>,
    mut removes: MessageReader<RemoveContextTag>,
    env: Option<Res<ArbitriumEnv>>,
    config: Res<ServerConfig>,
    mut calls: ResMut<ContextCalls>,
    mut answers: ContextAnswers,
) {
    let env = env.as_deref();
    let mut started = false;
    for _ in reads.read() {
        let endpoint = injected(env).map(|(url, token)| GetContext::new(url, token));
        match start(endpoint, &config, "read context") {
            Ok(call) => calls.reads.push(call),
            Err(error) => {
                warn!("cannot read the deployment context: {error}");
                answers.read.send(ContextRead { result: Err(error) });
            }
        }
        started = true;
    }
    for add in adds.read() {
        let endpoint =
            injected(env).map(|(url, token)| CreateContextTag::new(url, token, add.name.clone()));
        match start(endpoint, &config, "add context tag") {
            Ok(call) => calls.adds.push((add.name.clone(), call)),
            Err(error) => {
                warn!("cannot add tag `{}`: {error}", add.name);
                answers.added.send(ContextTagAdded {
                    name: add.name.clone(),
                    result: Err(error),
                });
            }
        }
        started = true;
    }
    for remove in removes.read() {
        let endpoint = injected(env)
            .map(|(url, token)| DeleteContextTag::new(url, token, remove.name.clone()));
        match start(endpoint, &config, "remove context tag") {
            Ok(call) => calls.removes.push((remove.name.clone(), call)),
            Err(error) => {
                warn!("cannot remove tag `{}`: {error}", remove.name);
                answers.removed.send(ContextTagRemoved {
                    name: remove.name.clone(),
                    result: Err(error),
                });
            }
        }
        started = true;
    }
    if started {
        send_and_poll(&mut calls, &mut answers);
    }
}

/// Polls `calls`, handing each finished result to `deliver`.
fn drain<C, T>(
    calls: &mut Vec<C>,
    now: Instant,
    mut poll: impl FnMut(&mut C, Instant) -> Option<Outcome<T>>,
    mut deliver: impl FnMut(&C, Result<T, EdgegapError>),
) {
    calls.retain_mut(|call| match poll(call, now) {
        Some(outcome) => {
            deliver(call, outcome.result);
            false
        }
        None => true,
    });
}

/// Polls every call (which sends what is due, first attempts included) and delivers the
/// finished ones.
fn send_and_poll(calls: &mut ContextCalls, answers: &mut ContextAnswers) {
    let now = Instant::now();
    drain(&mut calls.reads, now, Call::poll, |_, result| {
        debug!(
            "context read: `{}`",
            if result.is_ok() { "ok" } else { "failed" }
        );
        answers.read.send(ContextRead { result });
    });
    drain(
        &mut calls.adds,
        now,
        |(_, call), now| call.poll(now),
        |(name, _), result| {
            debug!("tag `{name}` added: `{}`", result.is_ok());
            answers.added.send(ContextTagAdded {
                name: name.clone(),
                result,
            });
        },
    );
    drain(
        &mut calls.removes,
        now,
        |(_, call), now| call.poll(now),
        |(name, _), result| {
            debug!("tag `{name}` removed: `{}`", result.is_ok());
            answers.removed.send(ContextTagRemoved {
                name: name.clone(),
                result,
            });
        },
    );
}

/// Polls the context calls. Runs in
/// [`EdgegapServerSystems::Receive`](super::EdgegapServerSystems::Receive).
pub(crate) fn poll_context_calls(mut calls: ResMut<ContextCalls>, mut answers: ContextAnswers) {
    send_and_poll(&mut calls, &mut answers);
}
