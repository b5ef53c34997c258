//! A lobby page built from a Bevy app: `MinimalPlugins` and the client plugin, the DOM through
//! `web-sys` (no renderer). It has two modes, chosen by its URL:
//!
//! - **Through the gateway** (`?gateway=<gateway URL>&token=<player token>`, optionally
//!   `&app=` and `&version=`): "Play" deploys a server through `edgegap-gateway`, lists each
//!   status as it comes, then shows the address to connect to; "Stop server" stops it. A real
//!   game gets the token from its auth backend.
//! - **Through Edgegap's matchmaker** (`?matchmaker=<matchmaker URL>&mm_token=<its
//!   token>&profile=<profile>`): "Play" is `MatchmakerPlugin`'s `find_match`; the page lists
//!   the group, each status and the ticket, then the address of the server the matchmaker
//!   assigned (every player of the match sees the same one); "Leave" before a match leaves.
//!
//! Either service must allow the page's origin (`allowed_cors_origins`).
//!
//! Try it: `cargo run -p edgegap-web-tests -- --serve-lobby` builds it, starts an emulator
//! (with a matchmaker) and a gateway, and prints both URLs to open. `cargo xtask test-web`
//! clicks it in headless Chromium and saves `target/web-tests/web_lobby.png`, then opens it
//! in two tabs in matchmaker mode and checks that both land on one server.

#[cfg(target_arch = "wasm32")]
fn main() {
    lobby::run();
}

#[cfg(not(target_arch = "wasm32"))]
fn main() {
    eprintln!(
        "web_lobby runs in a browser: `cargo run -p edgegap-web-tests -- --serve-lobby` builds \
         it for wasm32 and serves it with an emulator and a gateway"
    );
}

#[cfg(target_arch = "wasm32")]
mod lobby {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicU32, Ordering};
    use std::time::Duration;

    use bevy::prelude::*;
    use bevy_edgegap::api::DeployRequest;
    use bevy_edgegap::prelude::*;
    use wasm_bindgen::JsCast;
    use wasm_bindgen::prelude::*;

    /// The port players connect to.
    const PORT_NAME: &str = "gameport";

    pub fn run() {
        let Some(page) = Page::from_url() else {
            show_error(
                "open this page with ?gateway=<gateway URL>&token=<player token>, or with \
                 ?matchmaker=<matchmaker URL>&mm_token=<its token>&profile=<profile>",
            );
            return;
        };
        let clicks = Clicks::default();
        clicks.listen("play");
        let mut app = App::new();
        app.add_plugins(MinimalPlugins)
            .add_plugins(bevy::log::LogPlugin::default())
            .insert_resource(clicks)
            .add_systems(Startup, open_lobby);
        match page {
            Page::Gateway {
                gateway,
                token,
                app: application,
                version,
            } => {
                set_text(
                    "hint",
                    "A Bevy app in this page (MinimalPlugins, no renderer) deploys a game \
                     server through edgegap-gateway.",
                );
                app.add_plugins(EdgegapClientPlugin::new(
                    EdgegapConfig::gateway(&gateway, &token)
                        // The first status poll soon after the deploy; later ones are the
                        // gateway's long-polls, each held until the status changes.
                        .with_poll(PollPolicy {
                            initial: Duration::from_millis(100),
                            ..PollPolicy::default()
                        }),
                ))
                .insert_resource(Lobby {
                    app: application,
                    version,
                    deployment: None,
                    ready: false,
                    handled: 0,
                })
                .add_systems(Update, (play_or_stop, show_progress));
            }
            Page::Matchmaker {
                matchmaker,
                token,
                profile,
            } => {
                set_text(
                    "hint",
                    "A Bevy app in this page (MinimalPlugins, no renderer) finds a match \
                     through Edgegap's matchmaker, which deploys the server.",
                );
                app.add_plugins(MatchmakerPlugin::new(MatchmakerConfig::new(
                    matchmaker, token,
                )))
                .insert_resource(Queue {
                    profile,
                    search: None,
                    handled: 0,
                })
                .add_systems(Update, (play_or_leave, show_search));
            }
        }
        app.run();
    }

    /// What the page's URL says: which service to play through.
    enum Page {
        Gateway {
            gateway: String,
            token: String,
            app: String,
            version: String,
        },
        Matchmaker {
            matchmaker: String,
            token: String,
            profile: String,
        },
    }

    impl Page {
        fn from_url() -> Option<Self> {
            let search = web_sys::window()?.location().search().ok()?;
            let params = web_sys::UrlSearchParams::new_with_str(&search).ok()?;
            if let Some(matchmaker) = params.get("matchmaker") {
                return Some(Self::Matchmaker {
                    matchmaker,
                    token: params.get("mm_token")?,
                    profile: params.get("profile")?,
                });
            }
            Some(Self::Gateway {
                gateway: params.get("gateway")?,
                token: params.get("token")?,
                app: params.get("app").unwrap_or_else(|| "my-game".into()),
                version: params.get("version").unwrap_or_else(|| "1.0.0".into()),
            })
        }
    }

    /// Clicks on the button, counted by its DOM listener (the app reads them each frame).
    #[derive(Resource, Default, Clone)]
    struct Clicks(Arc<AtomicU32>);

    impl Clicks {
        fn listen(&self, id: &str) {
            let Some(button) = element(id) else { return };
            let count = self.0.clone();
            let listener = Closure::<dyn FnMut()>::new(move || {
                count.fetch_add(1, Ordering::SeqCst);
            });
            let _ =
                button.add_event_listener_with_callback("click", listener.as_ref().unchecked_ref());
            // The button lives as long as the page.
            listener.forget();
        }

        fn count(&self) -> u32 {
            self.0.load(Ordering::SeqCst)
        }
    }

    /// The lobby's state: the player's deployment, if any.
    #[derive(Resource)]
    struct Lobby {
        app: String,
        version: String,
        deployment: Option<Entity>,
        ready: bool,
        handled: u32,
    }

    fn open_lobby() {
        set_button("Play", true);
    }

    /// "Play" deploys; once READY, the button stops the server.
    fn play_or_stop(clicks: Res<Clicks>, mut lobby: ResMut<Lobby>, mut edgegap: Edgegap) {
        if clicks.count() == lobby.handled {
            return;
        }
        lobby.handled = clicks.count();
        match (lobby.deployment, lobby.ready) {
            (None, _) => {
                let request = DeployRequest::new(lobby.app.clone(), lobby.version.clone());
                lobby.deployment = Some(edgegap.deploy(request));
                clear("statuses");
                set_text("address", "");
                set_text("error", "");
                add_status("deploying…");
                set_button("Deploying…", false);
            }
            (Some(entity), true) => {
                edgegap.stop_deployment(entity);
                lobby.ready = false;
                set_button("Stopping…", false);
            }
            (Some(_), false) => {}
        }
    }

    /// Writes each step of the deployment to the page.
    fn show_progress(
        mut lobby: ResMut<Lobby>,
        mut created: MessageReader<DeploymentCreated>,
        mut changed: MessageReader<DeploymentStatusChanged>,
        mut ready: MessageReader<DeploymentReady>,
        mut failed: MessageReader<DeploymentFailed>,
        mut terminated: MessageReader<DeploymentTerminated>,
    ) {
        for created in created.read() {
            add_status(&format!("deployment {}", created.request_id));
        }
        for change in changed.read() {
            add_status(&change.to.to_string());
        }
        for ready in ready.read() {
            lobby.ready = true;
            let text = match ready.address(PORT_NAME) {
                Some(address) => {
                    let protocol = ready
                        .status
                        .port(PORT_NAME)
                        .and_then(|p| p.protocol.clone())
                        .unwrap_or_default();
                    format!("Connect to {address} ({PORT_NAME}, {protocol})")
                }
                None => format!("READY, but no `{PORT_NAME}` port"),
            };
            set_text("address", &text);
            set_button("Stop server", true);
        }
        for failed in failed.read() {
            set_text("error", &format!("{:?}", failed.reason));
            lobby.deployment = None;
            set_button("Play", true);
        }
        for _ in terminated.read() {
            add_status("stopped");
            set_text("address", "");
            lobby.deployment = None;
            lobby.ready = false;
            set_button("Play", true);
        }
    }

    /// The matchmaker mode's state: the player's search, if any.
    #[derive(Resource)]
    struct Queue {
        profile: String,
        search: Option<Entity>,
        handled: u32,
    }

    /// "Play" searches (a group of one, ready at once); "Leave" before a match leaves.
    fn play_or_leave(clicks: Res<Clicks>, mut queue: ResMut<Queue>, mut matchmaker: Matchmaker) {
        if clicks.count() == queue.handled {
            return;
        }
        queue.handled = clicks.count();
        match queue.search {
            None => {
                // No attributes: the profile has only a `player_count` rule.
                let attributes = std::collections::BTreeMap::<String, String>::new();
                queue.search = Some(matchmaker.find_match(queue.profile.clone(), attributes));
                clear("statuses");
                set_text("address", "");
                set_text("error", "");
                add_status(&format!("searching in `{}`…", queue.profile));
                set_button("Leave", true);
            }
            Some(search) => {
                matchmaker.leave(search);
                set_button("Leaving…", false);
            }
        }
    }

    /// Writes each step of the search to the page.
    fn show_search(
        mut queue: ResMut<Queue>,
        mut joined: MessageReader<GroupJoined>,
        mut changed: MessageReader<MatchmakingStatusChanged>,
        mut found: MessageReader<MatchFound>,
        mut assigned: MessageReader<HostAssigned>,
        mut cancelled: MessageReader<MatchmakingCancelled>,
        mut failed: MessageReader<MatchmakingFailed>,
    ) {
        for joined in joined.read() {
            add_status(&format!("group {}", joined.group_id));
        }
        for change in changed.read() {
            add_status(&change.to.to_string());
        }
        for found in found.read() {
            add_status(&format!(
                "ticket {}",
                found.ticket_id.as_deref().unwrap_or("?")
            ));
            // Too late to leave: the server is being deployed.
            set_button("Matched", false);
        }
        for assigned in assigned.read() {
            let text = match assigned.address(PORT_NAME) {
                Some(address) => format!(
                    "Connect to {address} ({PORT_NAME}) · server {}",
                    assigned.assignment.fqdn.as_deref().unwrap_or("?")
                ),
                None => format!("HOST_ASSIGNED, but no `{PORT_NAME}` port"),
            };
            set_text("address", &text);
            set_button("Assigned", false);
        }
        for cancelled in cancelled.read() {
            set_text("error", &format!("Search ended: {}", cancelled.reason));
            queue.search = None;
            set_button("Play", true);
        }
        for failed in failed.read() {
            set_text("error", &format!("Matchmaking failed: {}", failed.error));
            queue.search = None;
            set_button("Play", true);
        }
    }

    fn element(id: &str) -> Option<web_sys::Element> {
        web_sys::window()?.document()?.get_element_by_id(id)
    }

    fn set_text(id: &str, text: &str) {
        if let Some(element) = element(id) {
            element.set_text_content(Some(text));
        }
    }

    fn clear(id: &str) {
        set_text(id, "");
    }

    fn add_status(text: &str) {
        let Some(list) = element("statuses") else {
            return;
        };
        let Some(item) = list
            .owner_document()
            .and_then(|document| document.create_element("li").ok())
        else {
            return;
        };
        item.set_text_content(Some(text));
        let _ = list.append_child(&item);
    }

    fn set_button(text: &str, enabled: bool) {
        if let Some(button) =
            element("play").and_then(|e| e.dyn_into::<web_sys::HtmlButtonElement>().ok())
        {
            button.set_text_content(Some(text));
            button.set_disabled(!enabled);
        }
    }

    fn show_error(text: &str) {
        set_text("error", text);
    }
}
