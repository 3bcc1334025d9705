//! Ingest's flushes across a source's pages: a page that brought records is flushed before
//! the cursor moves past it; a page without records (an Acumatica window split) is not,
//! and the cursor is made durable once at the end of the reading.

use super::*;

/// A source answering a fixed list of pages, one per poll (the cursor is the page's index),
/// noting the store's flush count at each poll.
struct Paged {
    pages: Vec<Vec<ErpRecord>>,
    store: Arc<Store>,
    flushes_at_poll: Mutex<Vec<u64>>,
}

#[async_trait]
impl Source for Paged {
    fn name(&self) -> &str {
        "erp"
    }
    async fn ping(&self) -> Result<(), SourceError> {
        Ok(())
    }
    async fn poll(&self, cursor: &Cursor) -> Result<Page, SourceError> {
        let at = cursor.0.as_u64().unwrap_or(0) as usize;
        self.flushes_at_poll
            .lock()
            .unwrap()
            .push(self.store.flushes_run());
        Ok(Page {
            records: self.pages.get(at).cloned().unwrap_or_default(),
            cursor: Cursor(serde_json::json!(at + 1)),
            more: at + 1 < self.pages.len(),
        })
    }
    async fn fetch(&self, _id: &str) -> Result<Option<ErpRecord>, SourceError> {
        Ok(None)
    }
    async fn write_back(&self, _plan: &WriteBack) -> Result<(), SourceError> {
        Ok(())
    }
}

fn record(id: &str) -> ErpRecord {
    ErpRecord {
        source: "erp".into(),
        id: id.into(),
        number: format!("N{id}"),
        version: "000001".into(),
        modified: Utc::now(),
        data: serde_json::json!({}),
    }
}

/// One cycle over `pages`: the store's flushes in all, the flushes between one poll and
/// the next, and the stored cursor after it.
async fn cycle_over(pages: Vec<Vec<ErpRecord>>) -> (u64, Vec<u64>, Option<serde_json::Value>) {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(Store::open(dir.path(), None).unwrap());
    let source = Arc::new(Paged {
        pages,
        store: store.clone(),
        flushes_at_poll: Mutex::default(),
    });
    let conn = Arc::new(Connector::new(
        "erp",
        source.clone(),
        Arc::new(FakeMapper),
        ConnectorSettings::default(),
    ));
    let p = Pipeline::new(
        Ledger::new(store.clone()),
        Arc::new(FakeUps::default()),
        vec![conn.clone()],
        PipelineSettings::default(),
        Clock::from_fn(Utc::now),
    );
    let before = store.flushes_run();
    p.run_cycle(&conn).await.unwrap();
    let cursor = store
        .get_json::<serde_json::Value>(crate::store::Tree::Cursors, "erp")
        .unwrap();
    let at = source.flushes_at_poll.lock().unwrap().clone();
    let between = at.windows(2).map(|w| w[1] - w[0]).collect();
    (store.flushes_run() - before, between, cursor)
}

#[tokio::test]
async fn pages_without_records_are_not_flushed_and_the_cursor_is_flushed_once() {
    let (flushes, between, cursor) = cycle_over(vec![vec![], vec![], vec![]]).await;
    assert_eq!(
        flushes, 1,
        "one flush for the cursor at the end, none per empty page"
    );
    assert_eq!(between, vec![0, 0]);
    assert_eq!(
        cursor,
        Some(serde_json::json!(3)),
        "the last page's cursor is stored"
    );
}

#[tokio::test]
async fn a_page_with_records_is_flushed_before_the_cursor_moves_past_it() {
    let (_, between, cursor) =
        cycle_over(vec![vec![], vec![record("a"), record("b")], vec![]]).await;
    // Nothing but the reading runs between two polls: the page with records (the second)
    // was flushed before the next poll, the empty one before it was not.
    assert_eq!(between, vec![0, 1]);
    assert_eq!(cursor, Some(serde_json::json!(3)));
}
