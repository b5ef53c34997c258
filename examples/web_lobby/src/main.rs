//! A lobby page built from a Bevy app: `MinimalPlugins` and the client plugin in gateway mode,
//! the DOM through `web-sys` (no renderer). A player clicks "Play": the page deploys a server
//! through `edgegap-gateway`, lists each status as it comes, then shows the address to
//! connect to; "Stop server" stops it.
//!
//! The page reads `?gateway=<gateway URL>&token=<player token>` (and optionally `&app=` and
//! `&version=`) from its own URL: a real game gets the token from its auth backend. The
//! gateway must allow the page's origin (`allowed_cors_origins`).
//!
//! Try it: `cargo run -p edgegap-web-tests -- --serve-lobby` builds it, starts an emulator and
//! a gateway, and prints the URL to open. `cargo xtask test-web` clicks it in headless
//! Chromium and saves `target/web-tests/web_lobby.png`.

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
            show_error("open this page with ?gateway=<gateway URL>&token=<player token>");
            return;
        };
        let clicks = Clicks::default();
        clicks.listen("play");
        App::new()
            .add_plugins(MinimalPlugins)
            .add_plugins(bevy::log::LogPlugin::default())
            .add_plugins(EdgegapClientPlugin::new(
                EdgegapConfig::gateway(&page.gateway, &page.token)
                    // The first status poll soon after the deploy; later ones are the
                    // gateway's long-polls, each held until the status changes.
                    .with_poll(PollPolicy {
                        initial: Duration::from_millis(100),
                        ..PollPolicy::default()
                    }),
            ))
            .insert_resource(clicks)
            .insert_resource(Lobby {
                app: page.app,
                version: page.version,
                deployment: None,
                ready: false,
                handled: 0,
            })
            .add_systems(Startup, open_lobby)
            .add_systems(Update, (play_or_stop, show_progress))
            .run();
    }

    /// What the page's URL says.
    struct Page {
        gateway: String,
        token: String,
        app: String,
        version: String,
    }

    impl Page {
        fn from_url() -> Option<Self> {
            let search = web_sys::window()?.location().search().ok()?;
            let params = web_sys::UrlSearchParams::new_with_str(&search).ok()?;
            Some(Self {
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
