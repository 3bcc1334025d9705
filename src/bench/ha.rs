//! Scenario `ha` (issue 22): several daemons on one PostgreSQL database, one of them
//! SIGKILLed at random moments.
//!
//! The bench serves the simulators (in this process) and runs the real binary
//! (`upsync run`) as daemon processes on a generated configuration pointing at them and at
//! the shared database (`--store-url`, or a throwaway server from
//! [`crate::store::pgserver`]; each run gets a database of its own, created on that
//! server). Four runs, one JSON line:
//!
//! 1. throughput, no kills: 1 daemon on sled, 1 daemon on PostgreSQL, `--daemons` (3) on
//!    PostgreSQL (`sled_1_per_second`, `postgres_1_per_second`, `postgres_3_per_second`);
//! 2. HA: `--daemons` daemons while new records keep arriving; every round one daemon is
//!    SIGKILLed at a random moment and started again (`--kills` rounds, ≥ 20); then the
//!    daemons finish the work and the audit ([`super::audit`]) compares the UPS simulator's
//!    shipments by reference with the ERP write-backs: `duplicates` (every extra shipment
//!    for a reference, even one voided by reconciliation), `lost`.
//!
//! `max_takeover_seconds` (the takeover time of docs/cluster.md): for each kill, the time
//! from the kill until every lease the killed daemon held (read from `upsync_leases` just
//! before the kill) that some other daemon still wanted was granted to another daemon
//! (its fence raised), for a job waiting for a retry counted from when it comes due;
//! leases nobody claims again within the lease time plus 15 s are not counted. By design it is at most `lease_seconds`
//! (a grant lasts 3/5 of it, the others claim every fifth or every cycle of the 1-second
//! schedule: `cluster::lease_ttl`); `takeover_within_lease` says whether this run held it. `token_requests`: OAuth
//! requests the UPS simulator answered in the HA run, next to those of the one-daemon run.
//!
//! Records come from NetSuite by default (`--mix` changes it): the Acumatica simulator's
//! licence allows 2 API sessions, so with 3 daemons the third would wait for a free one.
//!
//! Never: print the database password (the URL is never printed).

use rand::{Rng, SeedableRng};

use super::*;

/// Settings of an `ha` run (the bench's, or a test's).
#[derive(Debug, Clone)]
pub struct Ha {
    /// The `upsync` binary the daemons run.
    pub exe: PathBuf,
    pub daemons: usize,
    /// SIGKILL rounds (HA run).
    pub kills: usize,
    /// `store.lease_seconds` of the daemons.
    pub lease_seconds: u64,
    /// Seeded records.
    pub shipments: usize,
    /// Which ERPs. NetSuite by default: the Acumatica simulator's licence allows 2 API
    /// sessions (a trial licence), so a third daemon would wait for a free one and the
    /// figures would measure the licence, not the cluster.
    pub mix: Mix,
    /// `pipeline.jobs_in_flight`.
    pub concurrency: u32,
}

/// Where the databases come from: a server the caller named, or one we started.
struct Databases {
    base_url: String,
    _own: Option<crate::store::pgserver::PgServer>,
    next: usize,
}

impl Databases {
    fn new(url: Option<&str>) -> anyhow::Result<Databases> {
        match url {
            Some(u) => Ok(Databases {
                base_url: u.to_string(),
                _own: None,
                next: 0,
            }),
            None => {
                let s =
                    crate::store::pgserver::PgServer::start(crate::store::pgserver::PgOptions {
                        durable: true,
                    })
                    .context("no --store-url given and no PostgreSQL server could be started")?;
                let url = s.create_database()?;
                Ok(Databases {
                    base_url: url,
                    _own: Some(s),
                    next: 0,
                })
            }
        }
    }

    /// A new, empty database on the server: its URL.
    async fn fresh(&mut self) -> anyhow::Result<String> {
        self.next += 1;
        let name = format!("upsync_ha_{}_{}", std::process::id(), self.next);
        let pool = crate::cluster::pool(&self.base_url, 1)?;
        let c = pool.get().await.context("cannot connect to --store-url")?;
        c.batch_execute(&format!("CREATE DATABASE {name}"))
            .await
            .context("cannot create a database for the run (the role needs CREATEDB)")?;
        let mut u = url::Url::parse(&self.base_url).context("--store-url is not a URL")?;
        u.set_path(&format!("/{name}"));
        Ok(u.to_string())
    }
}

pub(super) async fn ha(args: &BenchArgs, dir: &Path) -> anyhow::Result<Map<String, Value>> {
    let h = Ha {
        exe: std::env::current_exe()?,
        concurrency: args.concurrency,
        mix: args.mix.unwrap_or(Mix::Netsuite),
        daemons: args.daemons.max(2),
        kills: args.kills.max(1),
        lease_seconds: args.lease_seconds.max(5),
        shipments: args.shipments.unwrap_or(150),
    };
    let mut dbs = Databases::new(args.store_url.as_deref())?;
    let mut m = Map::new();
    m.insert("scenario".into(), json!("ha"));
    m.insert("daemons".into(), json!(h.daemons));
    m.insert("lease_seconds".into(), json!(h.lease_seconds));

    // 1. Throughput side by side.
    let sled_1 = plain_run(&h, &dir.join("sled-1"), None, 1).await?;
    let url = dbs.fresh().await?;
    let pg_1 = plain_run(&h, &dir.join("pg-1"), Some(&url), 1).await?;
    let url = dbs.fresh().await?;
    let pg_n = plain_run(&h, &dir.join("pg-n"), Some(&url), h.daemons).await?;
    m.insert(
        "sled_1_per_second".into(),
        json!(round(sled_1.per_second, 1)),
    );
    m.insert(
        "postgres_1_per_second".into(),
        json!(round(pg_1.per_second, 1)),
    );
    m.insert(
        format!("postgres_{}_per_second", h.daemons),
        json!(round(pg_n.per_second, 1)),
    );
    m.insert("throughput_shipments".into(), json!(sled_1.shipments));
    let clean = [&sled_1, &pg_1, &pg_n]
        .iter()
        .all(|r| r.lost == 0 && r.duplicates == 0);
    m.insert("throughput_runs_clean".into(), json!(clean));

    // 2. HA with kills.
    let url = dbs.fresh().await?;
    let r = kill_run(&h, &dir.join("ha"), &url).await?;
    m.insert("kills".into(), json!(r.kills));
    m.insert("shipments".into(), json!(r.shipments));
    m.insert("expected".into(), json!(r.expected));
    m.insert("duplicates".into(), json!(r.duplicates));
    m.insert("lost".into(), json!(r.lost));
    m.insert("inconsistent".into(), json!(r.inconsistent));
    m.insert(
        "max_takeover_seconds".into(),
        json!(round(r.max_takeover, 2)),
    );
    m.insert("takeovers_measured".into(), json!(r.takeovers));
    m.insert(
        "takeover_within_lease".into(),
        json!(r.max_takeover <= h.lease_seconds as f64),
    );
    m.insert("token_requests".into(), json!(r.token_requests));
    m.insert(
        "token_requests_one_daemon".into(),
        json!(pg_1.token_requests),
    );
    m.insert(
        format!("token_requests_{}_daemons_no_kills", h.daemons),
        json!(pg_n.token_requests),
    );
    m.insert(
        "max_takeover_seconds_by_kind".into(),
        json!(r
            .takeover_by_kind
            .iter()
            .map(|(k, v)| (k.clone(), json!(round(*v, 2))))
            .collect::<Map<String, Value>>()),
    );
    m.insert(
        "shipments_per_second".into(),
        json!(round(r.shipments as f64 / r.seconds.max(0.001), 1)),
    );
    m.insert("seconds".into(), json!(round(r.seconds, 1)));
    m.insert("seed".into(), json!(r.seed));
    Ok(m)
}

/// What a run came to.
#[derive(Debug, Default)]
pub struct RunFigures {
    pub shipments: usize,
    pub expected: usize,
    pub lost: usize,
    /// Every extra UPS shipment for one reference, voided or not.
    pub duplicates: usize,
    pub inconsistent: usize,
    pub per_second: f64,
    pub seconds: f64,
    pub token_requests: u64,
    pub kills: usize,
    pub max_takeover: f64,
    /// The slowest takeover per lease kind (`connector`, `job`, `tracking`, …).
    pub takeover_by_kind: BTreeMap<String, f64>,
    pub takeovers: usize,
    pub seed: u64,
}

/// The world of a run: simulators, config (PostgreSQL when `url`), credentials stored.
pub async fn world(h: &Ha, dir: &Path, url: Option<&str>) -> anyhow::Result<World> {
    let mut o = WorldOptions::new(dir);
    let n = h.shipments.max(2);
    (o.acumatica_shipments, o.netsuite_fulfillments) = match h.mix {
        Mix::Acumatica => (n, 0),
        Mix::Netsuite => (0, n),
        Mix::Both => (n - n / 2, n / 2),
    };
    o.jobs_in_flight = h.concurrency;
    o.separate_sim_runtime = true;
    o.schedule = "* * * * * *".into();
    // In-doubt jobs of a killed daemon: UPS indexes at once here, so a short absence proof
    // is enough (the crash suite covers the lagging index).
    o.reconcile_absent_after_seconds = 3;
    o.reconcile_min_lookups = 2;
    o.store_url = url.map(str::to_string);
    let w = World::start(o).await?;
    if url.is_some() {
        // The world writes `store: {backend: postgres, url, pool_size}`; add the lease time.
        let cfg = std::fs::read_to_string(&w.config_path)?;
        let cfg = cfg.replace(
            "  pool_size: 4\n",
            &format!("  pool_size: 4\n  lease_seconds: {}\n", h.lease_seconds),
        );
        std::fs::write(&w.config_path, cfg)?;
    }
    Ok(w)
}

/// Start one `upsync run` daemon on `w`'s configuration, its log in `log`.
pub fn spawn_daemon(w: &World, h: &Ha, log: &Path) -> anyhow::Result<tokio::process::Child> {
    let log = std::fs::File::create(log)?;
    tokio::process::Command::from(w.command(&h.exe))
        .arg("run")
        .env("UPSYNC_LOG", "info")
        .stdout(std::process::Stdio::null())
        .stderr(log)
        .kill_on_drop(true)
        .spawn()
        .context("cannot start `upsync run`")
}

/// Send `sig` to a daemon started by [`spawn_daemon`].
pub fn signal(child: &tokio::process::Child, sig: libc::c_int) {
    if let Some(pid) = child.id() {
        // SAFETY: signalling our own child by pid.
        unsafe {
            libc::kill(pid as i32, sig);
        }
    }
}

async fn stop_all(children: &mut [tokio::process::Child]) {
    for c in children.iter() {
        signal(c, libc::SIGTERM);
    }
    for c in children.iter_mut() {
        if tokio::time::timeout(Duration::from_secs(20), c.wait())
            .await
            .is_err()
        {
            let _ = c.kill().await;
        }
    }
}

/// Wait until every expected record is written back (or `within` passes).
async fn until_done(w: &World, within: Duration) -> Audit {
    let t0 = Instant::now();
    loop {
        let a = audit(w);
        if (a.lost == 0 && a.expected > 0) || t0.elapsed() > within {
            return a;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

fn figures(w: &World, a: &Audit, seconds: f64) -> RunFigures {
    RunFigures {
        shipments: a.written_back,
        expected: a.expected,
        lost: a.lost,
        duplicates: a.duplicates + a.ups_voided,
        inconsistent: a.inconsistent,
        per_second: a.written_back as f64 / seconds.max(0.001),
        seconds,
        token_requests: w.ups.stats().get("token.issued").copied().unwrap_or(0),
        ..Default::default()
    }
}

/// `daemons` daemons, no kills: time until every record is written back.
async fn plain_run(
    h: &Ha,
    dir: &Path,
    url: Option<&str>,
    daemons: usize,
) -> anyhow::Result<RunFigures> {
    let w = world(h, dir, url).await?;
    let t0 = Instant::now();
    let mut children = (0..daemons)
        .map(|i| spawn_daemon(&w, h, &dir.join(format!("daemon-{i}.log"))))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let a = until_done(&w, Duration::from_secs(300)).await;
    let seconds = t0.elapsed().as_secs_f64();
    stop_all(&mut children).await;
    Ok(figures(&w, &a, seconds))
}

/// The unexpired leases a daemon (by pid) holds: name → fence.
async fn leases_of(pool: &deadpool_postgres::Pool, pid: u32) -> anyhow::Result<Vec<(String, i64)>> {
    let c = pool.get().await?;
    let rows = c
        .query(
            "SELECT name, fence FROM upsync_leases WHERE owner LIKE $1 AND expires_at > now()",
            &[&format!("%:{pid}:%")],
        )
        .await?;
    Ok(rows.into_iter().map(|r| (r.get(0), r.get(1))).collect())
}

/// Seconds from now until each of `held` is granted to another daemon, per lease kind
/// (those not taken within `bound` are not counted).
async fn takeover(
    pool: deadpool_postgres::Pool,
    held: Vec<(String, i64)>,
    bound: Duration,
) -> BTreeMap<String, f64> {
    let t0 = Instant::now();
    // A job waiting for a retry when its daemon died is wanted only once it comes due
    // (docs/cluster.md, "Takeover"): its takeover counts from then, not from the kill.
    let due_in = jobs_due_in(&pool, &held).await;
    let mut pending = held;
    let mut last = BTreeMap::new();
    while !pending.is_empty() && t0.elapsed() < bound {
        tokio::time::sleep(Duration::from_millis(50)).await;
        let Ok(c) = pool.get().await else { continue };
        let names: Vec<String> = pending.iter().map(|(n, _)| n.clone()).collect();
        let Ok(rows) = c
            .query(
                "SELECT name, fence FROM upsync_leases WHERE name = ANY($1)",
                &[&names],
            )
            .await
        else {
            continue;
        };
        let now: HashMap<String, i64> = rows.into_iter().map(|r| (r.get(0), r.get(1))).collect();
        pending.retain(|(n, f)| {
            let taken = now.get(n).is_some_and(|g| g > f);
            if taken {
                let kind = n.split(':').next().unwrap_or_default().to_string();
                let from = due_in.get(n).copied().unwrap_or(0.0);
                let took = (t0.elapsed().as_secs_f64() - from).max(0.0);
                let e = last.entry(kind).or_insert(0.0);
                *e = f64::max(*e, took);
            }
            !taken
        });
    }
    last
}

/// For each `job:<id>` lease of `held` whose job waits for a retry: seconds from now until
/// it comes due (its stored `next_attempt_at`).
async fn jobs_due_in(
    pool: &deadpool_postgres::Pool,
    held: &[(String, i64)],
) -> HashMap<String, f64> {
    let keys: Vec<Vec<u8>> = held
        .iter()
        .filter_map(|(n, _)| n.strip_prefix("job:"))
        .map(|id| format!("j/{id}").into_bytes())
        .collect();
    let mut due = HashMap::new();
    let Ok(c) = pool.get().await else { return due };
    let Ok(rows) = c
        .query(
            "SELECT key, value FROM upsync_kv WHERE tree = 'jobs' AND key = ANY($1)",
            &[&keys],
        )
        .await
    else {
        return due;
    };
    let now = chrono::Utc::now();
    for r in rows {
        let (key, value): (Vec<u8>, Vec<u8>) = (r.get(0), r.get(1));
        let Ok(job) = serde_json::from_slice::<crate::pipeline::Job>(&value) else {
            continue;
        };
        if let Some(at) = job.next_attempt_at.filter(|at| *at > now) {
            let id = String::from_utf8_lossy(&key[2..]).to_string();
            due.insert(
                format!("job:{id}"),
                (at - now).num_milliseconds() as f64 / 1000.0,
            );
        }
    }
    due
}

/// The HA run on the (empty) database at `url`: `h.daemons` daemons, `h.kills` SIGKILL
/// rounds while records keep arriving, then the audit.
pub async fn kill_run(h: &Ha, dir: &Path, url: &str) -> anyhow::Result<RunFigures> {
    let seed: u64 = std::env::var("UPSYNC_HA_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(rand::random);
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    let w = world(h, dir, Some(url)).await?;
    let pool = crate::cluster::pool(url, 2)?;
    let http = reqwest::Client::new();
    let t0 = Instant::now();
    let mut children = (0..h.daemons)
        .map(|i| spawn_daemon(&w, h, &dir.join(format!("daemon-{i}-0.log"))))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let bound = Duration::from_secs(h.lease_seconds + 15);
    let mut measures = Vec::new();
    let mut kills = 0;
    for round in 0..h.kills {
        tokio::time::sleep(Duration::from_millis(rng.gen_range(300..2500))).await;
        // New records keep arriving, so kills land on work in progress.
        for _ in 0..rng.gen_range(0..4) {
            if let Some(a) = &w.acumatica {
                release_acumatica(&http, &a.base_url).await?;
            }
            if let Some(n) = &w.netsuite {
                http.post(format!("{}/_sim/netsuite/fulfillments", n.base_url))
                    .json(&json!({}))
                    .send()
                    .await?
                    .error_for_status()?;
            }
        }
        let i = rng.gen_range(0..children.len());
        let pid = children[i].id().unwrap_or(0);
        let held = leases_of(&pool, pid).await.unwrap_or_default();
        signal(&children[i], libc::SIGKILL);
        let _ = children[i].wait().await;
        kills += 1;
        measures.push(tokio::spawn(takeover(pool.clone(), held, bound)));
        // A killed daemon cannot sign out of Acumatica: let its licence session idle out.
        if let Some(a) = &w.acumatica {
            a.core.clock.advance(chrono::Duration::minutes(21));
        }
        children[i] = spawn_daemon(&w, h, &dir.join(format!("daemon-{i}-{}.log", round + 1)))?;
    }
    let a = until_done(&w, Duration::from_secs(300)).await;
    let seconds = t0.elapsed().as_secs_f64();
    stop_all(&mut children).await;
    let mut max_takeover: f64 = 0.0;
    let mut takeover_by_kind: BTreeMap<String, f64> = BTreeMap::new();
    let mut takeovers = 0;
    for m in measures {
        let Ok(kinds) = m.await else { continue };
        takeovers += usize::from(!kinds.is_empty());
        for (k, s) in kinds {
            max_takeover = max_takeover.max(s);
            let e = takeover_by_kind.entry(k).or_insert(0.0);
            *e = e.max(s);
        }
    }
    Ok(RunFigures {
        kills,
        max_takeover,
        takeover_by_kind,
        takeovers,
        seed,
        ..figures(&w, &a, seconds)
    })
}
