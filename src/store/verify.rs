//! [`Store::verify`]: read every record of every tree (sled checks its CRCs on the way)
//! and decode it, within a time bound.

use super::*;

impl Store {
    /// Read every record of every tree (sled verifies its checksums as it reads) and
    /// decode every cursor; see [`Store::verify_with`] for typed decoding of the rest.
    pub fn verify(&self, bound: std::time::Duration) -> Result<VerifyReport, StoreError> {
        self.verify_with(bound, &|_, _, _| Ok(()))
    }

    /// [`Store::verify`] plus `decode` for every value (typed decoding of jobs and
    /// cursors, which this layer does not know). Returns the report when every record read
    /// is sound; the first damage is returned as [`StoreError::Corrupt`] (the report of
    /// [`Store::scan`] lists all of it). A scan cut short by `bound` is
    /// [`StoreError::VerifyIncomplete`] only when nothing at all could be read.
    pub fn verify_with(
        &self,
        bound: std::time::Duration,
        decode: Decoder<'_>,
    ) -> Result<VerifyReport, StoreError> {
        let report = self.scan(bound, decode);
        if let Some((tree, key, why)) = report.damaged.first() {
            let e = StoreError::Corrupt {
                tree,
                reason: format!(
                    "{key}: {why}{}",
                    match report.damaged.len() {
                        1 => String::new(),
                        n => format!(" (and {} more damaged records)", n - 1),
                    }
                ),
            };
            self.health.record(&e);
            return Err(e);
        }
        Ok(report)
    }

    /// The full scan behind [`Store::verify_with`]: every damaged record listed.
    pub fn scan(&self, bound: std::time::Duration, decode: Decoder<'_>) -> VerifyReport {
        let started = std::time::Instant::now();
        let mut r = VerifyReport {
            complete: true,
            ..VerifyReport::default()
        };
        'trees: for tree in Tree::ALL {
            let mut n = 0u64;
            for item in self.tree(tree).iter() {
                if started.elapsed() > bound {
                    r.complete = false;
                    r.per_tree.push((tree.name(), n));
                    break 'trees;
                }
                match item {
                    Err(e) => {
                        r.damaged
                            .push((tree.name(), "(unreadable)".into(), e.to_string()));
                        // An iterator error does not advance reliably: next tree.
                        break;
                    }
                    Ok((k, v)) => {
                        n += 1;
                        let key = String::from_utf8_lossy(&k).into_owned();
                        // Cursors are JSON by contract (get_json/put_json only); other
                        // trees hold raw index values too: their owners' decoder checks.
                        if tree == Tree::Cursors {
                            if let Err(e) = serde_json::from_slice::<serde::de::IgnoredAny>(&v) {
                                r.damaged.push((
                                    tree.name(),
                                    key.clone(),
                                    format!("not JSON: {e}"),
                                ));
                                continue;
                            }
                        }
                        if let Err(why) = decode(tree, &key, &v) {
                            r.damaged.push((tree.name(), key, why));
                        }
                    }
                }
            }
            r.per_tree.push((tree.name(), n));
            r.records += n;
        }
        r.elapsed = started.elapsed();
        r
    }
}
