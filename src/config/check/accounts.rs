//! `check` pass 4 for the UPS accounts (issue 19): the single-account keys or
//! `ups.accounts[]`, never both; unique names and shipper numbers; sane environment/base
//! URL per account; every literal ship-from `account` of every mapping is a configured
//! account. Vault entries are checked by the credentials pass (each account's
//! `credentials` is one of `Config::credential_names`).

#[allow(unused_imports)]
use super::*;

fn is_shipper_number(n: &str) -> bool {
    n.len() == 6 && n.chars().all(|c| c.is_ascii_alphanumeric())
}

pub(super) fn check_accounts(r: &mut CheckReport, file: &Path, ups: &UpsConfig) {
    if ups.accounts.is_empty() {
        let acct = ups.account_number.as_deref().unwrap_or("").trim();
        if ups.account_number.is_none() {
            r.problem(
                file,
                "ups.account_number",
                "no UPS account: neither `ups.account_number` nor `ups.accounts` is set",
                "list your accounts under `ups.accounts` (name, account_number, credentials), or set `ups.account_number` for a single account",
            );
        } else if !is_shipper_number(acct) {
            r.problem(
                file,
                "ups.account_number",
                format!("`{acct}` is not a UPS account number (6 letters or digits)"),
                "copy the shipper number from your UPS account (e.g. 123X56)",
            );
        } else {
            // How to migrate, in the one-line summary.
            r.notes.push(
                "1 UPS account (single-account form; for several, move account_number/credentials into `ups.accounts`)".to_string(),
            );
        }
        return;
    }
    if let Some(n) = &ups.account_number {
        r.problem(
            file,
            "ups.account_number",
            format!("both `ups.account_number` ({n}) and `ups.accounts` are set; upsync cannot tell which form you mean"),
            format!(
                "move it into `ups.accounts` as `- {{name: main, account_number: \"{n}\", credentials: {}}}` and remove `ups.account_number` and `ups.credentials`",
                ups.credentials
            ),
        );
    }
    r.notes.push(format!("{} UPS accounts", ups.accounts.len()));
    let mut names: BTreeMap<String, usize> = BTreeMap::new();
    let mut numbers: BTreeMap<String, usize> = BTreeMap::new();
    for (i, a) in ups.accounts.iter().enumerate() {
        let at = format!("ups.accounts[{i}]");
        let name = a.name.trim();
        if name.is_empty()
            || !name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        {
            r.problem(
                file,
                format!("{at}.name"),
                format!("`{name}` is not a usable account name"),
                "use letters, digits, `-` and `_` only, e.g. east or warehouse-west",
            );
        } else if let Some(first) = names.get(name) {
            r.problem(
                file,
                format!("{at}.name"),
                format!("account name `{name}` is already used by ups.accounts[{first}]"),
                "give every account its own name",
            );
        } else {
            names.insert(name.to_string(), i);
        }
        let n = a.account_number.trim().to_ascii_uppercase();
        if !is_shipper_number(&n) {
            r.problem(
                file,
                format!("{at}.account_number"),
                format!("`{n}` is not a UPS account number (6 letters or digits)"),
                "copy the shipper number from your UPS account (e.g. 123X56)",
            );
        } else if let Some(first) = numbers.get(&n) {
            r.problem(
                file,
                format!("{at}.account_number"),
                format!("shipper number {n} is already ups.accounts[{first}]; a shipment's shipper number must pick one account"),
                "list every shipper number once",
            );
        } else {
            numbers.insert(n, i);
        }
        if a.credentials.trim().is_empty() {
            r.problem(
                file,
                format!("{at}.credentials"),
                "empty vault entry name",
                "name the vault entry holding this account's client_id/client_secret, e.g. `ups-east`",
            );
        }
        if let Some(url) = &a.base_url {
            if let Err(m) = check_http_url(url, false) {
                r.problem(file, format!("{at}.base_url"), m, "use a full URL such as https://onlinetools.ups.com, or remove it to use `environment`");
            }
            if a.environment.is_some() {
                r.warning(
                    file,
                    format!("{at}.environment"),
                    "has no effect: `base_url` is set and overrides it",
                    "remove one of the two",
                );
            }
        }
        if a.token_budget_per_day == Some(0) {
            r.problem(
                file,
                format!("{at}.token_budget_per_day"),
                "a budget of 0 tokens per day allows no UPS call",
                "use UPS's limit (250) or less, but at least 1",
            );
        }
        if let Some(q) = &a.quotas {
            let all = q
                .all_apis_requests_per_second
                .map(|v| ("all_apis_requests_per_second", v));
            for (key, value) in q.entries().into_iter().chain(all) {
                if value == 0 {
                    r.problem(
                        file,
                        format!("{at}.quotas.{key}"),
                        "a quota of 0 requests per second would block every call",
                        "use at least 1",
                    );
                }
            }
        }
        if let Some(t) = &a.retry {
            super::ups::check_retry(
                r,
                file,
                &format!("{at}.retry"),
                t.max_attempts,
                t.initial_backoff_ms,
                t.max_backoff_ms,
            );
        }
    }
    // Accounts sharing one vault entry on one host share one client: its settings are the
    // first account's, so differing ones would be silently ignored.
    let resolved = ups.resolved_accounts();
    for (i, a) in resolved.iter().enumerate() {
        if let Some(first) = resolved[..i]
            .iter()
            .find(|b| b.credentials == a.credentials && b.base_url == a.base_url)
        {
            if first.token_budget_per_day != a.token_budget_per_day
                || first.quotas != a.quotas
                || first.timeouts != a.timeouts
                || first.retry != a.retry
                || first.api_versions != a.api_versions
            {
                r.warning(
                    file,
                    a.key_path.clone(),
                    format!(
                        "shares the OAuth client `{}` with account `{}`, whose budget, quotas, versions, timeouts and retry apply to both (one client, one token, one budget)",
                        a.credentials, first.name
                    ),
                    "give accounts of one OAuth client the same settings",
                );
            }
        }
    }
}

/// The literal `ship_from.entries.*.account` values of a mapping file (`{literal: …}`).
/// Expressions are decided per record and checked at run time.
fn literal_ship_from_accounts(mapping: &Path) -> Vec<(String, String)> {
    let Ok(text) = std::fs::read_to_string(mapping) else {
        return Vec::new();
    };
    let Ok(v) = serde_norway::from_str::<Value>(&text) else {
        return Vec::new();
    };
    let Some(entries) = v.pointer("/ship_from/entries").and_then(Value::as_object) else {
        return Vec::new();
    };
    entries
        .iter()
        .filter_map(|(k, e)| {
            let lit = e.pointer("/account/literal").and_then(Value::as_str)?;
            Some((k.clone(), lit.trim().to_ascii_uppercase()))
        })
        .collect()
}

/// Every literal ship-from account of every connector's mapping must be a configured
/// account: a shipment of another shipper number would wait with `ups_account_unknown`.
/// In the single-account form every shipper number goes through the one OAuth client (as
/// before `ups.accounts`; UPS decides whether the client may use it), so nothing to check.
pub(super) fn check_ship_from_accounts(
    r: &mut CheckReport,
    file: &Path,
    base: &Path,
    ups: &UpsConfig,
    raw_connectors: &[Value],
) {
    if ups.accounts.is_empty() {
        return;
    }
    let accounts = ups.resolved_accounts();
    for (i, entry) in raw_connectors.iter().enumerate() {
        let Some(p) = entry.get("mapping").and_then(Value::as_str) else {
            continue;
        };
        let path = resolve(base, Path::new(p));
        for (key, number) in literal_ship_from_accounts(&path) {
            if !is_shipper_number(&number) || accounts.iter().any(|a| a.account_number == number) {
                continue;
            }
            let known: Vec<String> = accounts
                .iter()
                .map(|a| format!("{} ({})", a.account_number, a.name))
                .collect();
            r.problem(
                file,
                format!("connectors[{i}].mapping"),
                format!(
                    "ship_from entry `{key}` of {} ships as account {number}, which is not a configured UPS account (configured: {})",
                    path.display(),
                    known.join(", ")
                ),
                format!("add `{{name: …, account_number: \"{number}\", credentials: …}}` to `ups.accounts`, or correct the entry's `account`"),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report(yaml: &str) -> CheckReport {
        let ups: UpsConfig = serde_norway::from_str(yaml).unwrap();
        let mut r = CheckReport::default();
        check_accounts(&mut r, Path::new("upsync.yaml"), &ups);
        r
    }

    fn paths(r: &CheckReport) -> Vec<String> {
        r.problems.iter().map(|p| p.path.clone()).collect()
    }

    /// Both forms at once is an error whose fix shows the migrated entry.
    #[test]
    fn both_forms_at_once_is_an_error_that_says_how_to_migrate() {
        let r = report(
            "account_number: \"123X56\"\naccounts:\n  - {name: east, account_number: \"456Y78\", credentials: ups-east}\n",
        );
        assert_eq!(paths(&r), ["ups.account_number"]);
        assert!(r.problems[0].fix.contains("account_number: \"123X56\""));
        // The single-account form alone is fine and gets the migration note.
        let r = report("account_number: \"123X56\"\n");
        assert!(r.problems.is_empty());
        assert!(r.notes.iter().any(|n| n.contains("ups.accounts")));
        // Neither: no account at all.
        let r = report("environment: sandbox\n");
        assert_eq!(paths(&r), ["ups.account_number"]);
    }

    /// A literal ship-from account that no configured account has is a problem naming the
    /// entry, the number and the fix; expressions are left to run time; the
    /// single-account form accepts every number (its one client serves them all).
    #[test]
    fn literal_ship_from_accounts_must_be_configured() {
        let dir = tempfile::tempdir().unwrap();
        let mapping = dir.path().join("m.yaml");
        std::fs::write(
            &mapping,
            "ship_from:\n  key: W\n  entries:\n    MAIN: {account: {literal: \"123X56\"}}\n    WEST: {account: {literal: \"456y78\"}}\n    EXPR: {account: {path: Acct, default: {literal: \"999Z99\"}}}\n",
        )
        .unwrap();
        let raw = vec![serde_json::json!({"mapping": "m.yaml"})];
        let file = dir.path().join("upsync.yaml");
        let run = |yaml: &str| {
            let ups: UpsConfig = serde_norway::from_str(yaml).unwrap();
            let mut r = CheckReport::default();
            check_ship_from_accounts(&mut r, &file, dir.path(), &ups, &raw);
            r
        };
        let r = run("accounts:\n  - {name: east, account_number: \"123X56\", credentials: ups}\n");
        assert_eq!(r.problems.len(), 1, "{:?}", r.problems);
        let p = &r.problems[0];
        assert_eq!(p.path, "connectors[0].mapping");
        assert!(p.message.contains("WEST") && p.message.contains("456Y78"));
        assert!(p.fix.contains("ups.accounts"));
        let r = run("accounts:\n  - {name: east, account_number: \"123X56\", credentials: ups}\n  - {name: west, account_number: \"456Y78\", credentials: ups-west}\n");
        assert!(r.problems.is_empty(), "{:?}", r.problems);
        let r = run("account_number: \"123X56\"\n");
        assert!(r.problems.is_empty(), "{:?}", r.problems);
    }

    /// Names and shipper numbers are unique, numbers well-formed, URLs sane, budgets and
    /// quotas positive.
    #[test]
    fn accounts_are_validated_each_problem_at_its_key() {
        let r = report(
            r#"
accounts:
  - {name: east, account_number: "123X56", credentials: a}
  - {name: east, account_number: "123x56", credentials: b}
  - {name: "bad name", account_number: "12", credentials: ""}
  - {name: lab, account_number: "789Z12", credentials: c, base_url: "ftp://x", token_budget_per_day: 0}
"#,
        );
        let p = paths(&r);
        for want in [
            "ups.accounts[1].name",
            "ups.accounts[1].account_number",
            "ups.accounts[2].name",
            "ups.accounts[2].account_number",
            "ups.accounts[2].credentials",
            "ups.accounts[3].base_url",
            "ups.accounts[3].token_budget_per_day",
        ] {
            assert!(p.iter().any(|x| x == want), "{want} missing in {p:?}");
        }
    }
}
