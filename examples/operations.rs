//! The admin side of Edgegap, as a script of checked steps: deploy tagged deployments, list
//! them with a JSON filter and page through them, tag CRUD, locations, container logs,
//! metrics, private-fleet hosts and a fleet deploy, then bulk-stop everything by tag.
//!
//! ```text
//! cargo run --example operations
//! ```
//!
//! **Emulator only.** It starts `edgegap-emulator` in-process on a free loopback port and never
//! talks to the real Edgegap, even when `EDGEGAP_TOKEN` is set: its last step stops every
//! deployment carrying a tag, which you do not want to run against a live organisation by
//! accident. To aim these calls at a real account, copy the systems into your own tool and
//! build its [`EdgegapConfig`] with [`EdgegapConfig::from_env`].
//!
//! Each step prints one line. Every answer is checked: a wrong one prints `FAILED: ...` and the
//! process exits with code 1 (the whole run is also bounded by [`TIME_LIMIT`]). Success exits
//! with code 0, in about a second.
//!
//! # How it is built
//!
//! Every step is a state of [`Step`]. Entering a state issues the step's calls through the
//! [`Edgegap`] system parameter; each call returns an entity, and an observer on that entity
//! checks the [`EdgegapResponse`] and moves on to the next state. Deployments are followed by
//! one system reading the `Deployment*` messages ([`follow_deployments`]).

use std::collections::{BTreeSet, HashSet};
use std::fmt::Display;
use std::time::{Duration, Instant};

use bevy::app::ScheduleRunnerPlugin;
use bevy::ecs::system::SystemParam;
use bevy::prelude::*;
use bevy::state::app::StatesPlugin;
use bevy_edgegap::api::{
    CreateTag, DeleteTag, GetContainerLogs, GetMetrics, GetTag, ListLocations, ListTags, UpdateTag,
};
use bevy_edgegap::prelude::*;
use edgegap_emulator::{AppVersion, Emulator, Location, PrivateHost};

/// The application the emulator knows.
const APP: &str = "arena";
/// The tag every deployment of this run carries; the bulk stop targets it.
const RUN_TAG: &str = "ops-demo";
/// The private fleet, and its one host that accepts deployments.
const FLEET: &str = "ops-fleet";
const ACTIVE_HOST: &str = "alpha-eu-1f2e3d4c";
/// Versions deployed on the public cloud, in order.
const DEPLOYS: [&str; 5] = ["1.0.0", "1.0.0", "1.0.0", "1.1.0", "1.1.0"];
/// Page size when paging through the list (5 deployments → 3 pages).
const PAGE_SIZE: u32 = 2;
/// The whole run must end within this.
const TIME_LIMIT: Duration = Duration::from_secs(30);

fn main() -> AppExit {
    if std::env::var_os("EDGEGAP_TOKEN").is_some() {
        println!(
            "note: EDGEGAP_TOKEN is ignored: this example only talks to an in-process emulator"
        );
    }

    // The emulator: two simulated versions of one app, two locations, a private fleet with an
    // active and a pending host, and a short lifecycle (INITIALIZING → READY in 5 × 10 ms).
    let emulator = Emulator::builder()
        .app_version(AppVersion::simulated(APP, "1.0.0").port("gameport", 7777, "UDP"))
        .app_version(AppVersion::simulated(APP, "1.1.0").port("gameport", 7777, "UDP"))
        .location(
            Location::new("Montreal", "Canada", "North America", 45.5, -73.6)
                .administrative_division("Quebec")
                .tag("tier", "1"),
        )
        .location(Location::new("Frankfurt", "Germany", "Europe", 50.1, 8.7))
        .private_host(
            FLEET,
            PrivateHost::new(ACTIVE_HOST).place("Paris", "France", "Europe", 48.9, 2.3),
        )
        .private_host(
            FLEET,
            PrivateHost::new("beta-eu-9a8b7c6d").status("PENDING"),
        )
        .lifecycle_step(Duration::from_millis(10))
        .start();
    let emulator = match emulator {
        Ok(emulator) => emulator,
        Err(error) => {
            eprintln!("FAILED: cannot start the emulator: {error}");
            return AppExit::from_code(1);
        }
    };
    println!("emulator on {}", emulator.base_url());

    // The client, polling fast because the emulator is fast. Rate limits stay Edgegap's
    // documented ones on both sides: the client queues what would go over them. That shows in
    // the output: the first deploys' polls spend the 20/s status budget within 100 ms, so the
    // fleet deployment's first poll waits until about 1 s into the run.
    let config = EdgegapConfig::new(emulator.base_url(), emulator.token()).with_poll(PollPolicy {
        initial: Duration::from_millis(20),
        max: Duration::from_millis(500),
        multiplier: 2.0,
    });

    let exit = App::new()
        .add_plugins((
            MinimalPlugins.set(ScheduleRunnerPlugin::run_loop(Duration::from_millis(2))),
            StatesPlugin,
            EdgegapClientPlugin::new(config),
        ))
        .init_state::<Step>()
        .insert_resource(Run::default())
        .add_systems(OnEnter(Step::Deploy), deploy)
        .add_systems(OnEnter(Step::Filter), list_with_filter)
        .add_systems(OnEnter(Step::Page), first_page)
        .add_systems(OnEnter(Step::TagCreate), tag_create)
        .add_systems(OnEnter(Step::TagList), tag_list)
        .add_systems(OnEnter(Step::TagGet), tag_get)
        .add_systems(OnEnter(Step::TagRename), tag_rename)
        .add_systems(OnEnter(Step::TagDelete), tag_delete)
        .add_systems(OnEnter(Step::Locations), locations)
        .add_systems(OnEnter(Step::Logs), container_logs)
        .add_systems(OnEnter(Step::Metrics), metrics)
        .add_systems(OnEnter(Step::FleetHosts), fleet_hosts)
        .add_systems(OnEnter(Step::FleetDeploy), fleet_deploy)
        .add_systems(OnEnter(Step::BulkStop), bulk_stop)
        .add_systems(OnEnter(Step::Gone), confirm_gone)
        .add_systems(OnEnter(Step::Done), finish)
        .add_systems(Update, (follow_deployments, time_limit))
        .run();

    // Dropping the handle shuts the emulator down.
    drop(emulator);
    exit
}

/// The steps, in order.
#[derive(States, Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
enum Step {
    /// Five tagged deployments, waited until READY.
    #[default]
    Deploy,
    /// `ListDeployments` with a JSON filter.
    Filter,
    /// `ListDeployments` page by page.
    Page,
    TagCreate,
    TagList,
    TagGet,
    TagRename,
    TagDelete,
    Locations,
    Logs,
    Metrics,
    FleetHosts,
    /// A deploy onto the fleet's active host, waited until READY.
    FleetDeploy,
    /// `BulkStop` by tag, waited until every deployment is TERMINATED.
    BulkStop,
    /// A last list: nothing with the tag is left.
    Gone,
    Done,
}

/// What the run has seen so far.
#[derive(Resource)]
struct Run {
    started: Instant,
    /// Deployment entities with their version, in deploy order.
    deployments: Vec<(Entity, &'static str)>,
    ready: HashSet<Entity>,
    terminated: HashSet<Entity>,
    /// Request ids seen while paging.
    paged: Vec<RequestId>,
    pages: u32,
    failed: bool,
}

impl Default for Run {
    fn default() -> Self {
        Self {
            started: Instant::now(),
            deployments: Vec::new(),
            ready: HashSet::new(),
            terminated: HashSet::new(),
            paged: Vec::new(),
            pages: 0,
            failed: false,
        }
    }
}

/// Everything an observer needs to check an answer and move on.
#[derive(SystemParam)]
struct Script<'w, 's> {
    run: ResMut<'w, Run>,
    step: Res<'w, State<Step>>,
    next: ResMut<'w, NextState<Step>>,
    exit: MessageWriter<'w, AppExit>,
    deployments: Query<'w, 's, &'static Deployment>,
}

impl Script<'_, '_> {
    /// Prints the step's line and moves to `next`.
    fn pass(&mut self, next: Step, line: impl Display) {
        if self.run.failed {
            return;
        }
        let ms = self.run.started.elapsed().as_millis();
        println!(
            "[{ms:>5} ms] {:<12} {line}",
            format!("{:?}", self.step.get())
        );
        self.next.set(next);
    }

    /// Prints why the run failed and exits with code 1 (once).
    fn fail(&mut self, why: impl Display) {
        if !self.run.failed {
            self.run.failed = true;
            eprintln!("FAILED in step {:?}: {why}", self.step.get());
            self.exit.write(AppExit::from_code(1));
        }
    }

    /// The value of a successful call, or a failure naming `what`.
    fn ok<'a, T>(&mut self, result: &'a Result<T, EdgegapError>, what: &str) -> Option<&'a T> {
        match result {
            Ok(value) => Some(value),
            Err(error) => {
                self.fail(format!("{what}: {error}"));
                None
            }
        }
    }

    /// `Some(())` when `holds`, else a failure with `why`. Use with `?` in observers.
    fn check(&mut self, holds: bool, why: impl FnOnce() -> String) -> Option<()> {
        if holds {
            Some(())
        } else {
            self.fail(why());
            None
        }
    }

    /// The request id of the `index`th deployment.
    fn request_id(&self, index: usize) -> RequestId {
        self.run
            .deployments
            .get(index)
            .and_then(|(entity, _)| self.deployments.get(*entity).ok())
            .and_then(|d| d.request_id().cloned())
            .unwrap_or_default()
    }

    /// The request ids of the deployments whose version is `version` (all when `None`).
    fn request_ids(&self, version: Option<&str>) -> BTreeSet<RequestId> {
        self.run
            .deployments
            .iter()
            .filter(|(_, v)| version.is_none_or(|version| *v == version))
            .filter_map(|(entity, _)| self.deployments.get(*entity).ok())
            .filter_map(|d| d.request_id().cloned())
            .collect()
    }
}

/// Deploys the public-cloud deployments, each tagged with [`RUN_TAG`] and its version.
fn deploy(mut edgegap: Edgegap, mut run: ResMut<Run>) {
    for version in DEPLOYS {
        let entity = edgegap.deploy(
            DeployRequest::new(APP, version)
                .user_ip("203.0.113.7")
                .tag(RUN_TAG)
                .tag(format!("v{version}")),
        );
        run.deployments.push((entity, version));
    }
}

/// Follows every deployment through the `Deployment*` messages: fails the run on a failure,
/// and ends the waiting steps once every deployment is READY (or TERMINATED).
fn follow_deployments(
    mut ready: MessageReader<DeploymentReady>,
    mut failed: MessageReader<DeploymentFailed>,
    mut terminated: MessageReader<DeploymentTerminated>,
    mut script: Script,
) {
    for ready in ready.read() {
        script.run.ready.insert(ready.entity);
    }
    for gone in terminated.read() {
        script.run.terminated.insert(gone.entity);
    }
    if let Some(failure) = failed.read().next() {
        script.fail(format!(
            "deployment `{}` failed: {}",
            failure.request_id.as_ref().map_or("?", RequestId::as_str),
            failure.reason
        ));
        return;
    }
    let all = script.run.deployments.len();
    match script.step.get() {
        Step::Deploy if script.run.ready.len() == all => {
            let ids = script.request_ids(None);
            script.pass(
                Step::Filter,
                format!("{all} deployments READY: {}", join(&ids)),
            );
        }
        Step::FleetDeploy if script.run.ready.len() == all => {
            let id = script.request_id(all - 1);
            script.pass(
                Step::BulkStop,
                format!("fleet deployment `{id}` READY on `{ACTIVE_HOST}`"),
            );
        }
        Step::BulkStop if script.run.terminated.len() == all => {
            script.pass(Step::Gone, format!("all {all} deployments TERMINATED"));
        }
        _ => {}
    }
}

/// `ListDeployments` with a JSON filter: version 1.1.0 AND tagged [`RUN_TAG`], newest first.
fn list_with_filter(mut edgegap: Edgegap) {
    let query = DeploymentQuery::new()
        .filter("app_version", QueryOperator::Eq, "1.1.0")
        .filter("tags", QueryOperator::In, vec![RUN_TAG])
        .order_by("created_at", SortOrder::Desc);
    println!("              query = {}", query.to_json());
    let call = edgegap.list_deployments(ListDeployments::new().query(query));
    edgegap.commands().entity(call).observe(
        |answer: On<EdgegapResponse<ListDeployments>>, mut script: Script| {
            let Some(list) = script.ok(&answer.result, "list with a filter") else {
                return;
            };
            let got: BTreeSet<RequestId> = list.data.iter().map(|d| d.request_id.clone()).collect();
            let want = script.request_ids(Some("1.1.0"));
            if script
                .check(got == want, || {
                    format!("filter matched {} instead of {}", join(&got), join(&want))
                })
                .is_some()
            {
                script.pass(Step::Page, format!("filter matched {}", join(&got)));
            }
        },
    );
}

/// The first page of every deployment of [`APP`], [`PAGE_SIZE`] at a time.
fn first_page(mut edgegap: Edgegap) {
    request_page(&mut edgegap, 1);
}

/// Asks for one page; [`on_page`] asks for the next until there is none.
fn request_page(edgegap: &mut Edgegap, page: u32) {
    let call = edgegap.list_deployments(
        ListDeployments::new()
            .filter("app_name", QueryOperator::Eq, APP)
            .order_by("created_at", SortOrder::Asc)
            .page(page)
            .limit(PAGE_SIZE),
    );
    edgegap.commands().entity(call).observe(on_page);
}

fn on_page(answer: On<EdgegapResponse<ListDeployments>>, mut script: Script, mut edgegap: Edgegap) {
    let Some(list) = script.ok(&answer.result, "list a page") else {
        return;
    };
    script.run.pages += 1;
    script
        .run
        .paged
        .extend(list.data.iter().map(|d| d.request_id.clone()));
    // Pages are asked for one after the other from 1, so this was page `pages`.
    match list.next_page(script.run.pages, PAGE_SIZE) {
        Some(page) if script.run.pages < 100 => request_page(&mut edgegap, page),
        _ => {
            let paged = script.run.paged.clone();
            let unique: BTreeSet<RequestId> = paged.iter().cloned().collect();
            let want = script.request_ids(None);
            let pages = script.run.pages;
            let expected_pages = DEPLOYS.len().div_ceil(PAGE_SIZE as usize) as u32;
            if script
                .check(unique == want && paged.len() == want.len(), || {
                    format!(
                        "paging gave {paged:?}, expected each of {} once",
                        join(&want)
                    )
                })
                .and_then(|()| {
                    script.check(pages == expected_pages, || {
                        format!("{pages} pages of {PAGE_SIZE}, expected {expected_pages}")
                    })
                })
                .is_some()
            {
                script.pass(
                    Step::TagCreate,
                    format!(
                        "{} deployments over {pages} pages of {PAGE_SIZE}",
                        paged.len()
                    ),
                );
            }
        }
    }
}

/// Tags CRUD on the first deployment: create `map-dust` ...
fn tag_create(mut edgegap: Edgegap, script: Script) {
    let call = edgegap.create_tag(script.request_id(0), "map-dust");
    edgegap.commands().entity(call).observe(
        |answer: On<EdgegapResponse<CreateTag>>, mut script: Script| {
            if let Some(tag) = script.ok(&answer.result, "create a tag") {
                let line = format!("created `{}` on `{}`", tag.name, script.request_id(0));
                if script
                    .check(tag.name == "map-dust", || format!("created `{}`", tag.name))
                    .is_some()
                {
                    script.pass(Step::TagList, line);
                }
            }
        },
    );
}

/// ... list the tags (the deploy's two and the new one) ...
fn tag_list(mut edgegap: Edgegap, script: Script) {
    let call = edgegap.list_tags(script.request_id(0));
    edgegap.commands().entity(call).observe(
        |answer: On<EdgegapResponse<ListTags>>, mut script: Script| {
            let Some(list) = script.ok(&answer.result, "list tags") else {
                return;
            };
            // Besides ours, every deploy carries the plugin's own correlation (`bx-…`) and
            // instance (`bi-…`) tags, with which it finds a deploy whose answer was lost.
            let names: BTreeSet<&str> = list
                .tags
                .iter()
                .map(|t| t.name.as_str())
                .filter(|name| !name.starts_with("bx-") && !name.starts_with("bi-"))
                .collect();
            let want = BTreeSet::from([RUN_TAG, "v1.0.0", "map-dust"]);
            let line = format!("tags are {names:?}");
            if script
                .check(names == want, || {
                    format!("tags {names:?}, expected {want:?}")
                })
                .is_some()
            {
                script.pass(Step::TagGet, line);
            }
        },
    );
}

/// ... get one ...
fn tag_get(mut edgegap: Edgegap, script: Script) {
    let call = edgegap.get_tag(script.request_id(0), "map-dust");
    edgegap.commands().entity(call).observe(
        |answer: On<EdgegapResponse<GetTag>>, mut script: Script| {
            if let Some(tag) = script.ok(&answer.result, "get a tag") {
                let line = format!(
                    "`{}` created at `{}`",
                    tag.name,
                    tag.create_time.as_deref().unwrap_or("?")
                );
                if script
                    .check(tag.name == "map-dust", || format!("got `{}`", tag.name))
                    .is_some()
                {
                    script.pass(Step::TagRename, line);
                }
            }
        },
    );
}

/// ... rename it ...
fn tag_rename(mut edgegap: Edgegap, script: Script) {
    let call = edgegap.update_tag(script.request_id(0), "map-dust", "map-mirage");
    edgegap.commands().entity(call).observe(
        |answer: On<EdgegapResponse<UpdateTag>>, mut script: Script| {
            if let Some(tag) = script.ok(&answer.result, "rename a tag") {
                let line = format!("renamed `map-dust` to `{}`", tag.name);
                if script
                    .check(tag.name == "map-mirage", || {
                        format!("renamed to `{}`", tag.name)
                    })
                    .is_some()
                {
                    script.pass(Step::TagDelete, line);
                }
            }
        },
    );
}

/// ... and delete it; a get afterwards must answer 404.
fn tag_delete(mut edgegap: Edgegap, script: Script) {
    let id = script.request_id(0);
    let call = edgegap.delete_tag(id.clone(), "map-mirage");
    edgegap.commands().entity(call).observe(
        move |answer: On<EdgegapResponse<DeleteTag>>, mut script: Script, mut edgegap: Edgegap| {
            if script.ok(&answer.result, "delete a tag").is_none() {
                return;
            }
            let check = edgegap.get_tag(id.clone(), "map-mirage");
            edgegap.commands().entity(check).observe(
                |answer: On<EdgegapResponse<GetTag>>, mut script: Script| {
                    let not_found = matches!(&answer.result, Err(e) if e.is_not_found());
                    if script
                        .check(not_found, || {
                            format!("a deleted tag answered {:?}", answer.result)
                        })
                        .is_some()
                    {
                        script.pass(Step::Locations, "deleted `map-mirage`; a get answers 404");
                    }
                },
            );
        },
    );
}

/// `GET /v1/locations` for the app version, with location tags.
fn locations(mut edgegap: Edgegap) {
    let call = edgegap.locations(ListLocations::new().app(APP).version("1.0.0").tags(true));
    edgegap.commands().entity(call).observe(
        |answer: On<EdgegapResponse<ListLocations>>, mut script: Script| {
            let Some(list) = script.ok(&answer.result, "list locations") else {
                return;
            };
            let cities: Vec<&str> = list
                .locations
                .iter()
                .filter_map(|l| l.location.city.as_deref())
                .collect();
            let montreal_tier = list
                .locations
                .iter()
                .find(|l| l.location.city.as_deref() == Some("Montreal"))
                .and_then(|l| l.tags.iter().find(|t| t.key == "tier"))
                .map(|t| t.value.clone());
            let line = format!(
                "{cities:?}, Montreal tier `{}`",
                montreal_tier.as_deref().unwrap_or("?")
            );
            if script
                .check(cities == ["Montreal", "Frankfurt"], || {
                    format!("locations {cities:?}")
                })
                .and_then(|()| {
                    script.check(montreal_tier.as_deref() == Some("1"), || {
                        format!("Montreal's tier tag is {montreal_tier:?}")
                    })
                })
                .is_some()
            {
                script.pass(Step::Logs, line);
            }
        },
    );
}

/// The first deployment's container logs.
fn container_logs(mut edgegap: Edgegap, script: Script) {
    let call = edgegap.container_logs(script.request_id(0));
    edgegap.commands().entity(call).observe(
        |answer: On<EdgegapResponse<GetContainerLogs>>, mut script: Script| {
            let Some(logs) = script.ok(&answer.result, "container logs") else {
                return;
            };
            let text = logs.logs.clone().unwrap_or_default();
            let id = script.request_id(0);
            let first = text.lines().next().unwrap_or("").to_owned();
            if script
                .check(text.contains(id.as_str()), || {
                    format!("the logs do not name `{id}`: {text:?}")
                })
                .is_some()
            {
                script.pass(
                    Step::Metrics,
                    format!("{} lines, first: {first}", text.lines().count()),
                );
            }
        },
    );
}

/// The first deployment's metrics over its whole life.
fn metrics(mut edgegap: Edgegap, script: Script) {
    let call = edgegap.metrics(script.request_id(0));
    edgegap.commands().entity(call).observe(
        |answer: On<EdgegapResponse<GetMetrics>>, mut script: Script| {
            let Some(metrics) = script.ok(&answer.result, "metrics") else {
                return;
            };
            let cpu = metrics
                .cpu
                .as_ref()
                .map(|s| s.datasets.clone())
                .unwrap_or_default();
            let mem = metrics
                .mem
                .as_ref()
                .map(|s| s.datasets.clone())
                .unwrap_or_default();
            if script
                .check(!cpu.is_empty() && cpu.len() == mem.len(), || {
                    format!("cpu {cpu:?} and mem {mem:?} are not series of one length")
                })
                .is_some()
            {
                script.pass(
                    Step::FleetHosts,
                    format!(
                        "{} points; cpu `{:?}` %, memory `{:?}` MB",
                        cpu.len(),
                        cpu.last().unwrap_or(&0.0),
                        mem.last().unwrap_or(&0.0)
                    ),
                );
            }
        },
    );
}

/// The private fleet's hosts: one ACTIVE, one PENDING.
fn fleet_hosts(mut edgegap: Edgegap) {
    let call = edgegap.fleet_hosts(FLEET);
    edgegap.commands().entity(call).observe(
        |answer: On<EdgegapResponse<ListFleetHosts>>, mut script: Script| {
            let Some(hosts) = script.ok(&answer.result, "fleet hosts") else {
                return;
            };
            let active: Vec<&str> = hosts
                .data
                .iter()
                .filter(|h| h.is_active())
                .map(|h| h.host_id.as_str())
                .collect();
            let line = format!("{} hosts, active: {active:?}", hosts.data.len());
            if script
                .check(hosts.data.len() == 2 && active == [ACTIVE_HOST], || {
                    format!("hosts {:?}", hosts.data)
                })
                .is_some()
            {
                script.pass(Step::FleetDeploy, line);
            }
        },
    );
}

/// A deploy onto the fleet's active host; [`follow_deployments`] waits for READY.
fn fleet_deploy(mut edgegap: Edgegap, mut run: ResMut<Run>) {
    let deploy = DeployRequest::new(APP, "1.0.0")
        .user_ip("203.0.113.7")
        .tag(RUN_TAG)
        .tag("fleet");
    let entity = edgegap.deploy_to_fleet(FleetDeployRequest::new(deploy, [ACTIVE_HOST]));
    run.deployments.push((entity, "1.0.0"));
}

/// `BulkStop` of everything tagged [`RUN_TAG`]: the answer lists what it stops, and
/// [`follow_deployments`] waits until each one is TERMINATED.
fn bulk_stop(mut edgegap: Edgegap) {
    let call = edgegap.bulk_stop(BulkStop::new().tags(FilterType::Any, [RUN_TAG]));
    edgegap.commands().entity(call).observe(
        |answer: On<EdgegapResponse<BulkStop>>, mut script: Script| {
            let Some(stopped) = script.ok(&answer.result, "bulk stop") else {
                return;
            };
            let got: BTreeSet<RequestId> = stopped
                .processable
                .iter()
                .map(|p| p.request_id.clone())
                .collect();
            let want = script.request_ids(None);
            if script
                .check(got == want, || {
                    format!("bulk stop took {}, expected {}", join(&got), join(&want))
                })
                .is_some()
            {
                println!("              bulk stop accepted {} deployments", got.len());
            }
        },
    );
}

/// A last filtered list: no active deployment carries [`RUN_TAG`].
fn confirm_gone(mut edgegap: Edgegap) {
    let call = edgegap.list_deployments(ListDeployments::new().filter(
        "tags",
        QueryOperator::In,
        vec![RUN_TAG],
    ));
    edgegap.commands().entity(call).observe(
        |answer: On<EdgegapResponse<ListDeployments>>, mut script: Script| {
            let Some(list) = script.ok(&answer.result, "final list") else {
                return;
            };
            let left = list.data.len();
            if script
                .check(left == 0, || format!("{left} deployments still listed"))
                .is_some()
            {
                script.pass(
                    Step::Done,
                    format!("no active deployment tagged `{RUN_TAG}`"),
                );
            }
        },
    );
}

fn finish(run: Res<Run>, mut exit: MessageWriter<AppExit>) {
    if !run.failed {
        println!(
            "ok: every step passed in {} ms",
            run.started.elapsed().as_millis()
        );
        exit.write(AppExit::Success);
    }
}

/// Fails the run if it takes longer than [`TIME_LIMIT`].
fn time_limit(mut script: Script) {
    if script.run.started.elapsed() > TIME_LIMIT {
        script.fail(format!("no progress within {TIME_LIMIT:?}"));
    }
}

/// `a, b, c` for log lines.
fn join(ids: &BTreeSet<RequestId>) -> String {
    let ids: Vec<&str> = ids.iter().map(RequestId::as_str).collect();
    format!("[{}]", ids.join(", "))
}
