//! The server plugin's settings, copied into the world for its systems.

use std::time::Duration;

use bevy::prelude::Resource;

use crate::http::RetryPolicy;

/// What [`EdgegapServerPlugin`](super::EdgegapServerPlugin) was configured with, as a
/// resource (the match-lifecycle policies are their own resource, `policy::Policies`). The
/// defaults are documented on the plugin's builder methods.
#[derive(Resource, Debug, Clone)]
pub(crate) struct ServerConfig {
    pub grace: Duration,
    pub handle_signals: bool,
    pub self_stop_retry: RetryPolicy,
    pub context_retry: RetryPolicy,
    pub attempt_timeout: Duration,
    pub self_stop_on_panic: bool,
    pub last_resort_timeout: Duration,
}

impl Default for ServerConfig {
    fn default() -> Self {
        Self {
            grace: Duration::from_secs(4),
            handle_signals: true,
            self_stop_retry: RetryPolicy {
                max_attempts: 100,
                max_elapsed: Some(Duration::from_secs(60)),
                ..RetryPolicy::default()
            },
            context_retry: RetryPolicy::default(),
            attempt_timeout: Duration::from_secs(10),
            self_stop_on_panic: false,
            last_resort_timeout: Duration::from_secs(3),
        }
    }
}
