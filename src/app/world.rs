//! A complete loopback world for `demo`, `bench` and integration tests: the UPS, Acumatica
//! and NetSuite simulators started in-process, seeded, and a working directory with a
//! configuration, connector profiles and mappings (the bundled ones, embedded in the
//! binary so this works from any directory), a master key and the credentials in the vault.
//!
//! ```text
//! <dir>/upsync.yaml  master.key  state/  labels/  connectors/*.yaml  mappings/*.yaml
//! ```
//!
//! The daemon itself is not started here: callers assemble it in-process
//! ([`crate::app::wiring::assemble`]) or run the binary with [`World::command`].

use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::Context;

use crate::sim;
use crate::store::{MasterKey, Store};

/// Bundled profiles and mappings (the files in `connectors/` and `mappings/`).
pub const ACUMATICA_PROFILE: &str = include_str!("../../connectors/acumatica.yaml");
pub const NETSUITE_PROFILE: &str = include_str!("../../connectors/netsuite.yaml");
pub const ACUMATICA_MAPPING: &str = include_str!("../../mappings/acumatica-shipment.yaml");
pub const NETSUITE_MAPPING: &str = include_str!("../../mappings/netsuite-itemfulfillment.yaml");

/// What to start. Serializable: a bench hands it to its simulator child process.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct WorldOptions {
    /// Working directory (created); everything the daemon writes goes below it.
    pub dir: PathBuf,
    /// Seeded shipments in the Acumatica simulator (0 = no Acumatica connector).
    pub acumatica_shipments: usize,
    /// Seeded fulfillments in the NetSuite simulator (0 = no NetSuite connector).
    pub netsuite_fulfillments: usize,
    /// Records that fail on purpose (bad address, missing weight), per ERP.
    pub bad_records: usize,
    /// Seed of the simulators' generators.
    pub seed_value: u64,
    /// Fault specs (`sim::common::faults`) per simulator.
    pub ups_faults: String,
    pub acumatica_faults: String,
    pub netsuite_faults: String,
    /// Added latency of every UPS answer, milliseconds.
    pub ups_latency_ms: u64,
    /// UPS token bucket per client (requests/s); `None` = unlimited.
    pub ups_rate_limit: Option<u32>,
    /// UPS token lifetime, seconds.
    pub ups_token_ttl_seconds: u64,
    /// Every request each simulator receives, one sub-folder per simulator.
    pub record_dir: Option<PathBuf>,
    /// Connector schedule (cron) written into the config.
    pub schedule: String,
    /// `http.listen` written into the config.
    pub http_listen: String,
    /// Tracking mode written into the config (`poll`, `track_alert` or `quantum_view`).
    /// `track_alert` uses v2: the UPS simulator pushes to [`Self::webhook_base`].
    pub tracking_mode: String,
    /// `http://127.0.0.1:PORT` of the daemon's listener (bound by the caller before the
    /// world starts): the UPS simulator's Track Alert v2 destination and token URL.
    pub webhook_base: Option<String>,
    /// UPS per-API quota written into the config (requests/s, 0 = no quota).
    pub ups_quota_per_second: u32,
    /// `pipeline.jobs_in_flight`.
    pub jobs_in_flight: u32,
    /// UPS simulator background tick (tracking progression pushes), ms; 0 = none.
    pub ups_tick_ms: u64,
    /// Run the simulators on a runtime of their own (threads named `sim-worker`), so the
    /// benchmark can tell their CPU from upsync's. Off where tests pause tokio's clock.
    /// The store: `None` = sled under `state/` (the default); `Some(url)` = the
    /// PostgreSQL database at `url` (`store.backend: postgres`, issue 22).
    pub store_url: Option<String>,
    pub separate_sim_runtime: bool,
    /// UPS simulator: minutes before a new shipment is found by reference (sim clock).
    pub ups_reference_index_delay_minutes: i64,
    /// `pipeline.reconcile` of the written configuration.
    pub reconcile_absent_after_seconds: u64,
    pub reconcile_min_lookups: u32,
    /// One UPS account (`ups.account_number`, the demo client for both shipper numbers)
    /// instead of the two accounts with two OAuth clients (issue 19). The quota benchmark
    /// uses it: its figure is one client's quota at work.
    pub ups_single_account: bool,
    /// Add `international.paperless` (electronic invoice, a certificate of origin) to the
    /// world's mappings ([`crate::app::documents::enable_in_world`]; the demo does).
    pub paperless_documents: bool,
    /// Return records seeded per ERP, with their return connectors and one outbound
    /// shipment flagged for an automatic return (`app/returns.rs`); 0 = none.
    pub returns: usize,
    /// The Acumatica simulator's long-running actions: status answers owed before 204, and
    /// running time in ms (`AcumaticaSimConfig::action_polls`, `action_ms`).
    pub acumatica_action_polls: u32,
    pub acumatica_action_ms: u64,
    /// The Acumatica simulator's licence: API sessions signed in at once (its
    /// `max_sessions`; 2 like a trial licence).
    pub acumatica_max_sessions: usize,
}

impl WorldOptions {
    pub fn new(dir: &Path) -> WorldOptions {
        WorldOptions {
            dir: dir.to_path_buf(),
            store_url: None,
            acumatica_shipments: 10,
            netsuite_fulfillments: 10,
            bad_records: 0,
            seed_value: 42,
            ups_faults: String::new(),
            acumatica_faults: String::new(),
            netsuite_faults: String::new(),
            ups_latency_ms: 0,
            ups_rate_limit: None,
            ups_token_ttl_seconds: 14399,
            record_dir: None,
            schedule: "*/10 * * * * *".into(),
            http_listen: "127.0.0.1:0".into(),
            tracking_mode: "poll".into(),
            webhook_base: None,
            ups_quota_per_second: 0,
            jobs_in_flight: 16,
            ups_tick_ms: 0,
            separate_sim_runtime: false,
            ups_reference_index_delay_minutes: 0,
            reconcile_absent_after_seconds: 1800,
            reconcile_min_lookups: 3,
            ups_single_account: false,
            paperless_documents: false,
            returns: 0,
            acumatica_action_polls: 1,
            acumatica_action_ms: 0,
            acumatica_max_sessions: 2,
        }
    }
}

/// The client UPS (the simulator) uses at the daemon's webhook token URL (Track Alert v2).
pub const WEBHOOK_CLIENT: (&str, &str) = ("ups-push", "ups-push-secret");

/// The second UPS OAuth client of the world (account `west`, 456Y78; vault entry
/// `ups-west`). The first is the simulator's demo client (`ups`, account `east`, 123X56).
pub const WEST_CLIENT: (&str, &str) = ("west-client", "west-secret");

/// The OAuth clients the world's UPS simulator registers (a test that starts a UPS
/// simulator of its own for the world's configuration registers these too).
pub fn ups_sim_clients() -> Vec<sim::ups::ClientSpec> {
    vec![
        sim::ups::ClientSpec::demo(),
        sim::ups::ClientSpec {
            client_id: WEST_CLIENT.0.into(),
            client_secret: WEST_CLIENT.1.into(),
            accounts: vec!["456Y78".into()],
        },
    ]
}

/// Name prefix of the simulators' own threads (see [`WorldOptions::separate_sim_runtime`]).
pub const SIM_THREAD_NAME: &str = "sim-worker";

/// The simulators' own runtime; dropped without blocking (it may be dropped from async
/// code, where a plain runtime drop would panic).
struct SimRuntime(Option<tokio::runtime::Runtime>);

impl Drop for SimRuntime {
    fn drop(&mut self) {
        if let Some(rt) = self.0.take() {
            rt.shutdown_background();
        }
    }
}

/// Run `fut` (a simulator's `spawn`) on `rt` when given, so every task it starts lives there.
async fn on<T: Send + 'static>(
    rt: &Option<SimRuntime>,
    fut: impl std::future::Future<Output = anyhow::Result<T>> + Send + 'static,
) -> anyhow::Result<T> {
    match rt.as_ref().and_then(|r| r.0.as_ref()) {
        Some(rt) => rt.spawn(fut).await.context("simulator runtime")?,
        None => fut.await,
    }
}

/// Where the daemon reaches the simulators (loopback base URLs); what a simulator child
/// process prints first (`upsync sim world`, [`crate::bench`]).
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct SimUrls {
    pub ups: String,
    pub acumatica: Option<String>,
    pub netsuite: Option<String>,
}

/// The simulators of a world, running in this process (on a runtime of their own when
/// [`WorldOptions::separate_sim_runtime`]).
pub struct Simulators {
    pub ups: sim::ups::SimHandle,
    pub acumatica: Option<sim::acumatica::SimHandle>,
    pub netsuite: Option<sim::netsuite::SimHandle>,
    /// Declared last: dropped after the handles above.
    rt: Option<SimRuntime>,
}

/// The prepared working directory of a world: configuration, profiles, mappings, master
/// key and the credentials in the vault. It does not care where the simulators run.
#[derive(Debug, Clone)]
pub struct WorldDir {
    pub dir: PathBuf,
    pub config_path: PathBuf,
    pub key_path: PathBuf,
    pub state_dir: PathBuf,
    pub label_dir: PathBuf,
    /// The PostgreSQL store's URL (`None`: sled under [`Self::state_dir`]).
    pub store_url: Option<String>,
}

/// The running simulators and the prepared working directory. Derefs to its [`WorldDir`]
/// (`w.dir`, `w.config_path`, `w.open_store()`, `w.assemble(…)`).
pub struct World {
    pub ups: sim::ups::SimHandle,
    pub acumatica: Option<sim::acumatica::SimHandle>,
    pub netsuite: Option<sim::netsuite::SimHandle>,
    files: WorldDir,
    /// Declared last: dropped after the handles above.
    _sim_runtime: Option<SimRuntime>,
}

impl std::ops::Deref for World {
    type Target = WorldDir;

    fn deref(&self) -> &WorldDir {
        &self.files
    }
}

/// Where a world's store lives: sled under `state_dir`, or the database at `url`.
fn store_location(state_dir: &Path, url: Option<&str>) -> crate::store::Location {
    match url {
        None => crate::store::Location::Sled(state_dir.to_path_buf()),
        Some(u) => crate::store::Location::Postgres(crate::store::PgTarget {
            url: u.to_string(),
            pool_size: 4,
        }),
    }
}

impl World {
    /// Start the simulators, write the working directory, store the credentials.
    pub async fn start(o: WorldOptions) -> anyhow::Result<World> {
        let sims = Simulators::start(&o).await?;
        let files = WorldDir::write(&o, &sims.urls(), Some(&sims))?;
        let Simulators {
            ups,
            acumatica,
            netsuite,
            rt,
        } = sims;
        Ok(World {
            ups,
            acumatica,
            netsuite,
            files,
            _sim_runtime: rt,
        })
    }

    /// The working directory alone.
    pub fn files(&self) -> &WorldDir {
        &self.files
    }

    /// Assemble on the UPS simulator's clock, so tracking follows `ups.advance(…)`.
    pub async fn assemble_on_sim_clock(
        &self,
        store: Arc<Store>,
    ) -> anyhow::Result<crate::app::wiring::Assembly> {
        let core = self.ups.core.clone();
        let clock = crate::model::Clock::from_fn(move || core.clock.now());
        crate::app::wiring::assemble_with_clock(self.config()?, store, clock).await
    }
}

impl Simulators {
    /// Start the simulators `o` asks for, seeded.
    pub async fn start(o: &WorldOptions) -> anyhow::Result<Simulators> {
        std::fs::create_dir_all(&o.dir)
            .with_context(|| format!("cannot create {}", o.dir.display()))?;
        let rec = |name: &str| o.record_dir.as_ref().map(|d| d.join(name));
        let rt = if o.separate_sim_runtime {
            Some(SimRuntime(Some(
                tokio::runtime::Builder::new_multi_thread()
                    .worker_threads(2)
                    .thread_name(SIM_THREAD_NAME)
                    .enable_all()
                    .build()
                    .context("simulator runtime")?,
            )))
        } else {
            None
        };

        let ups = on(
            &rt,
            sim::ups::spawn(sim::ups::UpsSimConfig {
                faults: o.ups_faults.clone(),
                latency_ms: o.ups_latency_ms,
                rate_limit_per_second: o.ups_rate_limit,
                token_ttl_seconds: o.ups_token_ttl_seconds,
                record_dir: rec("ups"),
                tick_interval_ms: o.ups_tick_ms,
                reference_index_delay_minutes: o.ups_reference_index_delay_minutes,
                // Two OAuth clients (issue 19): `demo-client` (account `east`, 123X56,
                // negotiated rates; also entitled to 456Y78 like a UPS profile holding
                // both, so Quantum View through the designated account sees every file)
                // and `west-client` (account `west`, 456Y78 only, not eligible for
                // negotiated rates → Alert 120900).
                clients: ups_sim_clients(),
                webhook: o.webhook_base.as_ref().map(|b| sim::ups::WebhookConfig {
                    url: format!("{b}{}", crate::tracking::TRACK_ALERT_PATH),
                    token_url: Some(format!("{b}{}", crate::tracking::TOKEN_PATH)),
                    client_id: Some(WEBHOOK_CLIENT.0.into()),
                    client_secret: Some(WEBHOOK_CLIENT.1.into()),
                }),
                ..Default::default()
            }),
        )
        .await
        .context("UPS simulator")?;
        let acumatica = if o.acumatica_shipments > 0 {
            Some(
                on(
                    &rt,
                    sim::acumatica::spawn(sim::acumatica::AcumaticaSimConfig {
                        seed: o.acumatica_shipments,
                        seed_value: o.seed_value,
                        seed_bad: o.bad_records,
                        faults: o.acumatica_faults.clone(),
                        record_dir: rec("acumatica"),
                        action_polls: o.acumatica_action_polls,
                        action_ms: o.acumatica_action_ms,
                        max_sessions: o.acumatica_max_sessions,
                        ..Default::default()
                    }),
                )
                .await
                .context("Acumatica simulator")?,
            )
        } else {
            None
        };
        let netsuite = if o.netsuite_fulfillments > 0 {
            Some(
                on(
                    &rt,
                    sim::netsuite::spawn(sim::netsuite::NetSuiteSimConfig {
                        seed: o.netsuite_fulfillments,
                        seed_value: o.seed_value,
                        seed_bad: o.bad_records,
                        faults: o.netsuite_faults.clone(),
                        record_dir: rec("netsuite"),
                        ..Default::default()
                    }),
                )
                .await
                .context("NetSuite simulator")?,
            )
        } else {
            None
        };

        Ok(Simulators {
            ups,
            acumatica,
            netsuite,
            rt,
        })
    }

    /// Their base URLs.
    pub fn urls(&self) -> SimUrls {
        SimUrls {
            ups: self.ups.base_url.clone(),
            acumatica: self.acumatica.as_ref().map(|a| a.base_url.clone()),
            netsuite: self.netsuite.as_ref().map(|n| n.base_url.clone()),
        }
    }
}

impl WorldDir {
    /// Write the working directory for simulators at `urls`. `sims` are the in-process
    /// simulators when there are any: return records ([`WorldOptions::returns`]) are seeded
    /// into them, so a world with returns needs them.
    pub fn write(
        o: &WorldOptions,
        urls: &SimUrls,
        sims: Option<&Simulators>,
    ) -> anyhow::Result<WorldDir> {
        if o.returns > 0 && sims.is_none() {
            anyhow::bail!("a world with return records needs its simulators in this process");
        }
        let dir = o.dir.clone();
        for sub in ["connectors", "mappings", "labels"] {
            std::fs::create_dir_all(dir.join(sub))?;
        }
        std::fs::write(dir.join("connectors/acumatica.yaml"), ACUMATICA_PROFILE)?;
        std::fs::write(dir.join("connectors/netsuite.yaml"), NETSUITE_PROFILE)?;
        std::fs::write(
            dir.join("mappings/acumatica-shipment.yaml"),
            ACUMATICA_MAPPING,
        )?;
        std::fs::write(
            dir.join("mappings/netsuite-itemfulfillment.yaml"),
            NETSUITE_MAPPING,
        )?;
        if o.paperless_documents {
            crate::app::documents::enable_in_world(&dir)?;
        }

        let mut connectors = String::new();
        if let Some(url) = &urls.acumatica {
            connectors.push_str(&format!(
                r#"  - name: acumatica
    type: acumatica
    profile: connectors/acumatica.yaml
    mapping: mappings/acumatica-shipment.yaml
    schedule: "{schedule}"
    credentials: acumatica
    options:
      instance_url: "{url}"
    label_sink:
      type: directory
      path: labels
"#,
                schedule = o.schedule,
                url = url
            ));
        }
        if let Some(url) = &urls.netsuite {
            connectors.push_str(&format!(
                r#"  - name: netsuite
    type: netsuite
    profile: connectors/netsuite.yaml
    mapping: mappings/netsuite-itemfulfillment.yaml
    schedule: "{schedule}"
    credentials: netsuite
    options:
      base_url: "{url}"
    label_sink:
      type: directory
      path: labels
"#,
                schedule = o.schedule,
                url = url
            ));
        }
        connectors.push_str(&crate::app::returns::seed_world(
            &dir,
            o.returns,
            &o.schedule,
            sims.and_then(|s| s.acumatica.as_ref())
                .map(|a| (&*a.state, a.base_url.as_str())),
            sims.and_then(|s| s.netsuite.as_ref())
                .map(|n| (&*n.sim, n.base_url.as_str())),
        )?);
        // 0 = no quota: a limit far above anything the simulators can serve.
        let q = if o.ups_quota_per_second == 0 {
            1_000_000
        } else {
            o.ups_quota_per_second
        };
        let config = format!(
            r#"# Written by upsync's loopback world (demo/bench/tests).
state_dir: state
ups:
  base_url: "{ups}"
{accounts}  quotas:
    oauth_requests_per_second: {oauth}
    address_validation_requests_per_second: {q}
    rating_requests_per_second: {q}
    shipping_requests_per_second: {q}
    void_requests_per_second: {q}
    label_recovery_requests_per_second: {q}
    tracking_requests_per_second: {q}
    track_alert_requests_per_second: {q}
    all_apis_requests_per_second: {q}
connectors:
{connectors}tracking:
  mode: {tracking}
  track_alert:
    version: v2
    credentials: ups-webhook
http:
  listen: "{listen}"
pipeline:
  jobs_in_flight: {jobs}
  retry:
    initial_backoff_seconds: 1
    max_backoff_seconds: 5
  reconcile:
    absent_after_seconds: {absent}
    min_lookups: {lookups}
"#,
            ups = urls.ups,
            accounts = if o.ups_single_account {
                "  account_number: \"123X56\"\n  credentials: ups\n"
            } else {
                "  # Two accounts, two OAuth clients (one token and budget each). The mappings'\n  # ship_from entries spread shipments over both (MAIN / location 1 -> east, WEST / 2 -> west).\n  accounts:\n    - {name: east, account_number: \"123X56\", credentials: ups}\n    - {name: west, account_number: \"456Y78\", credentials: ups-west}\n"
            },
            oauth = q.min(5),
            tracking = o.tracking_mode,
            listen = o.http_listen,
            jobs = o.jobs_in_flight,
            absent = o.reconcile_absent_after_seconds,
            lookups = o.reconcile_min_lookups,
        );
        let config = match &o.store_url {
            None => config,
            Some(url) => {
                format!("{config}\nstore:\n  backend: postgres\n  url: \"{url}\"\n  pool_size: 4\n")
            }
        };
        let config_path = dir.join("upsync.yaml");
        std::fs::write(&config_path, config)?;

        let key_path = dir.join("master.key");
        if !key_path.exists() {
            std::fs::write(&key_path, MasterKey::generate_text())?;
            #[cfg(unix)]
            {
                use std::os::unix::fs::PermissionsExt;
                std::fs::set_permissions(&key_path, std::fs::Permissions::from_mode(0o600))?;
            }
        }
        let state_dir = dir.join("state");
        {
            let location = store_location(&state_dir, o.store_url.as_deref());
            let store = location.open(Some(MasterKey::load(&key_path)?))?;
            let put = |name: &str, fields: &[(&str, &str)]| -> anyhow::Result<()> {
                let json = serde_json::Value::Object(
                    fields
                        .iter()
                        .map(|(k, v)| (k.to_string(), serde_json::Value::String(v.to_string())))
                        .collect(),
                );
                crate::store::creds::Credentials::parse(&json.to_string())?.save(&store, name)?;
                Ok(())
            };
            put(
                "ups",
                &[
                    ("client_id", "demo-client"),
                    ("client_secret", "demo-secret"),
                ],
            )?;
            put(
                "ups-west",
                &[
                    ("client_id", WEST_CLIENT.0),
                    ("client_secret", WEST_CLIENT.1),
                ],
            )?;
            put("acumatica", &[("username", "admin"), ("password", "demo")])?;
            put(
                "ups-webhook",
                &[
                    ("client_id", WEBHOOK_CLIENT.0),
                    ("client_secret", WEBHOOK_CLIENT.1),
                ],
            )?;
            put(
                "netsuite",
                &[
                    ("type", "m2m"),
                    ("client_id", sim::netsuite::DEMO_CLIENT_ID),
                    ("certificate_id", sim::netsuite::DEMO_CERTIFICATE_ID),
                    ("private_key_pem", sim::netsuite::DEMO_M2M_PRIVATE_KEY_PEM),
                ],
            )?;
            store.flush()?;
        }
        Ok(WorldDir {
            label_dir: dir.join("labels"),
            dir,
            config_path,
            key_path,
            state_dir,
            store_url: o.store_url.clone(),
        })
    }

    /// The configuration, loaded and validated as the daemon does.
    pub fn config(&self) -> anyhow::Result<crate::config::Config> {
        crate::config::load(&self.config_path).map_err(|r| anyhow::anyhow!("{r}"))
    }

    /// Let a killed daemon's lease time pass (PostgreSQL store; nothing to do on sled, whose
    /// leases die with the process): every lease runs out and every daemon's heartbeat goes
    /// stale, as `store.lease_seconds` after a SIGKILL would make them. Call it only while no
    /// daemon of this world runs, as a crash test does between rounds.
    pub async fn expire_leases(&self) -> anyhow::Result<()> {
        let Some(url) = &self.store_url else {
            return Ok(());
        };
        let (client, conn) = tokio_postgres::connect(url, tokio_postgres::NoTls).await?;
        let conn = tokio::spawn(conn);
        // The tables exist once a daemon has opened the store; before that there is nothing
        // to expire.
        let r = client
            .batch_execute(
                "DO $$ BEGIN
                   IF to_regclass('upsync_leases') IS NOT NULL THEN
                     UPDATE upsync_leases SET expires_at = now() - interval '1 second'
                       WHERE expires_at > now() - interval '1 second';
                     UPDATE upsync_daemons SET heartbeat_at = now() - interval '1 hour';
                   END IF;
                 END $$;",
            )
            .await;
        drop(client);
        let _ = conn.await;
        r?;
        Ok(())
    }

    /// Open the store with the world's key (only while no daemon holds it).
    pub fn open_store(&self) -> anyhow::Result<Arc<Store>> {
        let location = store_location(&self.state_dir, self.store_url.as_deref());
        Ok(Arc::new(
            location.open(Some(MasterKey::load(&self.key_path)?))?,
        ))
    }

    /// Assemble the daemon in-process against this world.
    pub async fn assemble(
        &self,
        store: Arc<Store>,
    ) -> anyhow::Result<crate::app::wiring::Assembly> {
        crate::app::wiring::assemble(self.config()?, store).await
    }

    /// A command running `binary` against this world (config, key, no inherited state dir).
    pub fn command(&self, binary: &Path) -> std::process::Command {
        let mut c = std::process::Command::new(binary);
        c.arg("--config")
            .arg(&self.config_path)
            .env("UPSYNC_MASTER_KEY_FILE", &self.key_path)
            .env_remove("UPSYNC_STATE_DIR")
            .env_remove("CREDENTIALS_DIRECTORY")
            .current_dir(&self.dir);
        c
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_world_ships_both_erps_end_to_end_in_process() {
        let dir = tempfile::tempdir().unwrap();
        let mut o = WorldOptions::new(dir.path());
        o.acumatica_shipments = 6;
        o.netsuite_fulfillments = 6;
        let w = World::start(o).await.unwrap();
        let store = w.open_store().unwrap();
        let a = w.assemble(store.clone()).await.unwrap();
        for c in a.pipeline.connectors() {
            let r = a.pipeline.run_cycle(c).await.unwrap();
            assert!(r.records_read > 0, "{}: {r:?}", c.name);
            assert!(r.paused.is_none(), "{}: {r:?}", c.name);
        }
        let counts = a.pipeline.ledger().state_counts();
        let tracking: i64 = counts
            .iter()
            .filter(|((_, s), _)| *s == crate::pipeline::JobState::Tracking)
            .map(|(_, n)| *n)
            .sum();
        let all: i64 = counts.values().sum();
        assert!(tracking > 0 && tracking == all, "{counts:?}");
        assert_eq!(
            w.ups.stats().get("ship.created").copied(),
            Some(tracking as u64)
        );
        assert!(std::fs::read_dir(&w.label_dir).unwrap().count() as i64 >= tracking);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn tracking_follows_parcels_to_delivery_on_the_simulator_clock() {
        let dir = tempfile::tempdir().unwrap();
        let mut o = WorldOptions::new(dir.path());
        o.acumatica_shipments = 4;
        o.netsuite_fulfillments = 0;
        let w = World::start(o).await.unwrap();
        let store = w.open_store().unwrap();
        let a = w.assemble_on_sim_clock(store).await.unwrap();
        for c in a.pipeline.connectors() {
            a.pipeline.run_cycle(c).await.unwrap();
        }
        let shipped = a
            .pipeline
            .ledger()
            .jobs(None, Some(crate::pipeline::JobState::Tracking))
            .count();
        assert!(shipped > 0);
        assert!(a.tracker.scan_jobs().unwrap() > 0);
        // Twelve simulated days, a tick every simulated hour.
        for _ in 0..(12 * 24) {
            w.ups.advance(chrono::Duration::hours(1)).await;
            a.tracker.tick().await.unwrap();
        }
        let delivered = a
            .pipeline
            .ledger()
            .jobs(None, Some(crate::pipeline::JobState::Delivered))
            .count();
        assert_eq!(delivered, shipped, "every shipped job delivered");
        let counts = a.pipeline.ledger().state_counts();
        assert_eq!(
            counts
                .get(&(
                    "acumatica".to_string(),
                    crate::pipeline::JobState::Delivered
                ))
                .copied(),
            Some(shipped as i64),
            "the shared ledger's counts follow tracking"
        );
        // The ERP shows the delivery.
        let acu = w.acumatica.as_ref().unwrap();
        let shipments = acu.state.shipments();
        let shown = shipments
            .iter()
            .filter(|s| s.to_string().contains("Delivered"))
            .count();
        assert!(
            shown >= shipped,
            "{shown} of {shipped} records show Delivered"
        );
    }
}
