//! Issue 19, several UPS accounts: the loopback world has two accounts with two OAuth
//! clients (`east` 123X56 through `demo-client`, `west` 456Y78 through `west-client`), and
//! the bundled mappings ship warehouse MAIN / location 1 as 123X56 and WEST / 2 as 456Y78.
//!
//! Guards: one UPS client per OAuth client (each its own token and daily count, in the
//! simulator and in the store), each shipment shipped by its own account's client, both
//! tokens reused after a restart, and a shipper number with no configured account refused
//! with `ups_account_unknown` before any UPS call, the record waiting until the account
//! is added and the job replayed.

use crate::pipeline_support::*;
use upsync::app::world::WEST_CLIENT;
use upsync::pipeline::JobState;
use upsync::ups::TokenStore;

const EAST_CLIENT: &str = "demo-client";

/// Shipments in the UPS simulator as (client id, shipper number).
fn shipped_by(w: &upsync::app::world::World) -> Vec<(String, String)> {
    w.ups
        .shipments()
        .as_array()
        .into_iter()
        .flatten()
        .map(|s| {
            (
                s["client_id"].as_str().unwrap_or_default().to_string(),
                s["shipper_number"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect()
}

upsync::both_stores! {
    /// Two accounts with separate OAuth clients: each client fetched its own token (the
    /// simulator's per-client counter and the store's per-client daily count), every shipment
    /// went out through its own account's client, and a restart (new clients over the same
    /// store) reuses both tokens without asking UPS again. Fails against a daemon that ships
    /// every account through one client (west's shipments would show `demo-client`, and
    /// `west-client` would have no token).
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn each_account_ships_through_its_own_client_with_its_own_token_and_budget(store_url) {
        let dir = tempfile::tempdir().unwrap();
        let mut o = options(dir.path(), 10, 10);
        o.store_url = store_url;
        let w = start(o).await;
        upsync_ok(&w, &["once"]).await;
        let all = jobs(&w);
        assert!(
            all.iter().all(|j| j.state == JobState::Tracking),
            "{}",
            describe(&all)
        );

        // Each shipment went out through the client of its own account.
        let shipped = shipped_by(&w);
        assert_eq!(shipped.len(), all.len(), "{shipped:?}");
        for (client, shipper) in &shipped {
            let want = match shipper.as_str() {
                "123X56" => EAST_CLIENT,
                "456Y78" => WEST_CLIENT.0,
                other => panic!("unexpected shipper {other}"),
            };
            assert_eq!(client, want, "shipper {shipper} shipped by {client}");
        }
        assert!(shipped.iter().any(|(_, s)| s == "123X56"), "{shipped:?}");
        assert!(shipped.iter().any(|(_, s)| s == "456Y78"), "{shipped:?}");
        // The ledger's jobs say which account they went out on.
        for j in &all {
            let s = j.shipment.as_ref().unwrap();
            let tn = &j.result.as_ref().unwrap().packages[0].tracking_number;
            assert_eq!(&tn[2..8], s.account_number, "{}", j.id);
        }

        // One token per client, counted per client by the simulator and by the store.
        let stats = w.ups.stats();
        let east_tokens = stat(&stats, &format!("token.issued.{EAST_CLIENT}"));
        let west_tokens = stat(&stats, &format!("token.issued.{}", WEST_CLIENT.0));
        assert_eq!(east_tokens, 1, "{stats:?}");
        assert_eq!(west_tokens, 1, "{stats:?}");
        assert_eq!(stat(&stats, "token.issued"), 2, "{stats:?}");
        let store = w.open_store().unwrap();
        let counts = upsync::app::adapters::VaultTokenStore::new(store.clone());
        let today = chrono::Utc::now().date_naive();
        assert_eq!(counts.token_requests(EAST_CLIENT, today), 1);
        assert_eq!(counts.token_requests(WEST_CLIENT.0, today), 1);
        assert!(counts.load(EAST_CLIENT).is_some() && counts.load(WEST_CLIENT.0).is_some());

        // A restart: new clients over the same store reuse both stored tokens.
        let cfg = w.config().unwrap();
        let accounts = upsync::app::accounts::Accounts::build(&cfg, &store).unwrap();
        assert_eq!(accounts.clients().len(), 2);
        for number in ["123X56", "456Y78"] {
            let client = accounts.client_for(number).unwrap();
            client.ensure_token().await.unwrap();
            client.track(&shipped_tn(&all, number)).await.unwrap();
        }
        assert_eq!(
            accounts.client_for("123X56").unwrap().credential(),
            EAST_CLIENT
        );
        assert_eq!(
            accounts.by_name("west").unwrap().credential(),
            WEST_CLIENT.0
        );
        assert!(accounts.client_for("999X99").is_none());
        let stats = w.ups.stats();
        assert_eq!(stat(&stats, "token.issued"), 2, "no new token: {stats:?}");
        assert_eq!(counts.token_requests(EAST_CLIENT, today), 1);
        assert_eq!(counts.token_requests(WEST_CLIENT.0, today), 1);
    }
}

/// A 1Z number of the account `number` among the jobs.
fn shipped_tn(all: &[upsync::pipeline::Job], number: &str) -> String {
    all.iter()
        .filter_map(|j| j.result.as_ref())
        .flat_map(|r| r.packages.iter())
        .map(|p| p.tracking_number.clone())
        .find(|tn| &tn[2..8] == number)
        .unwrap()
}

upsync::both_stores! {
    /// A shipper number that no configured account has (here: the mapping picks 456Y78 by an
    /// expression, and `ups.accounts` lists only `east`) is refused before any UPS call with
    /// `ups_account_unknown`, naming the record, the number and the fix; the job waits in the
    /// dead-letter queue, and once the account is added, `jobs replay` ships it through the new
    /// account's client. Fails against a carrier that sends every shipment to one client (the
    /// simulator would ship or refuse it with 120100 instead).
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn an_unknown_shipper_number_is_a_coded_error_and_the_record_waits(store_url) {
        let dir = tempfile::tempdir().unwrap();
        let mut o = options(dir.path(), 12, 0);
        o.store_url = store_url;
        let w = start(o).await;
        let mapping = w.dir.join("mappings/acumatica-shipment.yaml");
        let text = std::fs::read_to_string(&mapping).unwrap();
        let literal = "account: {literal: \"456Y78\"}";
        assert!(text.contains(literal));
        std::fs::write(
            &mapping,
            text.replace(
                literal,
                "account: {path: UsrNoSuchField, default: {literal: \"456Y78\"}}",
            ),
        )
        .unwrap();
        let config = std::fs::read_to_string(&w.config_path).unwrap();
        let west = config
            .lines()
            .find(|l| l.contains("name: west"))
            .unwrap()
            .to_string();
        std::fs::write(&w.config_path, config.replace(&format!("{west}\n"), "")).unwrap();
        // `check` cannot see an expression's value: the configuration is valid.
        upsync_ok(&w, &["check", "--no-credentials"]).await;

        upsync_ok(&w, &["once"]).await;
        let all = jobs(&w);
        let waiting: Vec<_> = all.iter().filter(|j| j.state == JobState::Failed).collect();
        assert!(!waiting.is_empty(), "{}", describe(&all));
        for j in &waiting {
            let e = j.last_error.as_ref().unwrap();
            assert_eq!(e.code, "ups_account_unknown", "{}", j.id);
            assert!(
                e.message.contains(&j.number)
                    && e.message.contains("456Y78")
                    && e.message.contains("ups.accounts"),
                "{}",
                e.message
            );
            assert_eq!(j.shipment.as_ref().unwrap().account_number, "456Y78");
        }
        assert!(
            all.iter()
                .filter(|j| j.state != JobState::Failed)
                .all(|j| j.state == JobState::Tracking),
            "{}",
            describe(&all)
        );
        // Nothing reached UPS for the unknown account.
        assert!(shipped_by(&w).iter().all(|(_, s)| s == "123X56"));
        assert_eq!(
            stat(&w.ups.stats(), &format!("token.issued.{}", WEST_CLIENT.0)),
            0
        );

        // The fix: add the account, replay.
        std::fs::write(&w.config_path, config).unwrap();
        for j in &waiting {
            upsync_ok(&w, &["jobs", "replay", &j.id]).await;
        }
        // Replay ships the record (as a new job when the failure write-back gave the record a
        // new version; the old job is then superseded).
        let after = jobs(&w);
        for j in &waiting {
            assert!(
                after
                    .iter()
                    .any(|a| a.record_id == j.record_id && a.state == JobState::Tracking),
                "{}",
                describe(&after)
            );
        }
        let west_shipped = shipped_by(&w)
            .into_iter()
            .filter(|(_, s)| s == "456Y78")
            .collect::<Vec<_>>();
        assert_eq!(west_shipped.len(), waiting.len());
        assert!(west_shipped.iter().all(|(c, _)| c == WEST_CLIENT.0));
    }
}
