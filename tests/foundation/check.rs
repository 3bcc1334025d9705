//! Foundation (issue 2), `upsync check` through the real binary: every problem at once
//! with file and key path, exit 78; the documented example config is accepted given its
//! files and credentials; credentials presence is checked in the vault.

use crate::common::*;

/// A sandbox laid out like the repository: config/, connectors/, mappings/ — with the
/// bundled profiles and mappings (`check` validates them deeply, fixtures included).
fn repo_like() -> Sandbox {
    let sb = Sandbox::new();
    for f in [
        "connectors/acumatica.yaml",
        "connectors/netsuite.yaml",
        "mappings/acumatica-shipment.yaml",
        "mappings/acumatica-shipment.test.yaml",
        "mappings/netsuite-itemfulfillment.yaml",
        "mappings/netsuite-itemfulfillment.test.yaml",
    ] {
        let text = std::fs::read_to_string(format!("{}/{f}", env!("CARGO_MANIFEST_DIR")))
            .unwrap_or_else(|e| panic!("{f}: {e}"));
        sb.write(f, &text);
    }
    sb
}

fn set_creds(sb: &Sandbox, name: &str, json: &str) {
    let out = sb.run(&["creds", "set", name], json);
    assert!(out.status.success(), "{}", stderr(&out));
}

/// Must show 4: three independent mistakes, all reported with their paths, exit 78.
#[test]
fn three_independent_mistakes_are_all_reported_with_paths_and_exit_78() {
    let sb = repo_like();
    sb.write(
        "config/upsync.yaml",
        r#"
ups:
  account_number: "123X56"
  acount_numbr: "456Y78"          # mistake 1: unknown key
connectors:
  - name: acu
    type: acumatica
    profile: ../connectors/acumatica.yaml
    mapping: ../mappings/missing.yaml   # mistake 2: no such file
    schedule: "*/5 * * * *"
    credentials: acumatica
  - name: ns
    type: netsuite
    profile: ../connectors/netsuite.yaml
    mapping: ../mappings/netsuite-itemfulfillment.yaml
    schedule: "0 25 * * *"              # mistake 3: hour 25
    credentials: netsuite
"#,
    );
    // Credentials skipped (--no-credentials), so the three mistakes are all.
    let mut c = sb.cmd(&["check", "--no-credentials"]);
    c.env_remove("UPSYNC_MASTER_KEY_FILE");
    let out = c.output().unwrap();
    let text = stdout(&out);
    assert_eq!(out.status.code(), Some(78), "{text}{}", stderr(&out));
    let errors: Vec<&str> = text.lines().filter(|l| l.starts_with("error:")).collect();
    assert_eq!(errors.len(), 3, "{text}");
    let file = sb.config.display().to_string();
    let find = |path: &str| {
        errors
            .iter()
            .find(|l| l.contains(&format!("{file}: {path}: ")))
            .unwrap_or_else(|| panic!("no error for {path} in:\n{text}"))
            .to_string()
    };
    let unknown = find("ups.acount_numbr");
    assert!(
        unknown.contains("unknown key") && unknown.contains("account_number"),
        "{unknown}"
    );
    let mapping = find("connectors[0].mapping");
    assert!(
        mapping.contains("missing.yaml") && mapping.contains("does not exist"),
        "{mapping}"
    );
    let cron = find("connectors[1].schedule");
    assert!(
        cron.contains("0 25 * * *") && cron.contains("fix:"),
        "{cron}"
    );
    assert!(
        text.lines().last().unwrap().contains("3 problems"),
        "summary line: {text}"
    );
}

#[test]
fn the_documented_example_is_accepted_given_its_files_and_credentials() {
    let sb = repo_like();
    let example =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/config/upsync.yaml"))
            .unwrap();
    sb.write("config/upsync.yaml", &example);

    // Without a master key: an error (issue 16 item 5: a deploy pre-flight must not pass
    // a service that then fails), saying why and that --no-credentials skips the pass.
    let mut c = sb.cmd(&["check"]);
    c.env_remove("UPSYNC_MASTER_KEY_FILE");
    let out = c.output().unwrap();
    let text = stdout(&out);
    assert_eq!(out.status.code(), Some(78), "{text}{}", stderr(&out));
    assert!(
        text.contains("credentials could not be checked")
            && text.contains("UPSYNC_MASTER_KEY_FILE")
            && text.contains("--no-credentials"),
        "{text}"
    );
    let mut c = sb.cmd(&["check", "--no-credentials"]);
    c.env_remove("UPSYNC_MASTER_KEY_FILE");
    let out = c.output().unwrap();
    let text = stdout(&out);
    assert_eq!(out.status.code(), Some(0), "{text}{}", stderr(&out));
    assert!(text.contains("credentials not checked"), "{text}");

    // With the key but nothing stored: each missing entry is named.
    let out = sb.run(&["check"], "");
    let text = stdout(&out);
    assert_eq!(out.status.code(), Some(78), "{text}");
    for path in [
        "ups.credentials",
        "connectors[0].credentials",
        "connectors[1].credentials",
        "connectors[0].push.secret",
    ] {
        assert!(
            text.contains(&format!(": {path}: credentials `")),
            "{path}:\n{text}"
        );
    }
    assert!(text.contains("upsync creds set acumatica"), "{text}");

    set_creds(
        &sb,
        "ups",
        r#"{"client_id":"demo-client","client_secret":"demo-secret"}"#,
    );
    set_creds(&sb, "acumatica", r#"{"username":"admin","password":"pw"}"#);
    set_creds(&sb, "netsuite", r#"{"client_id":"c","certificate_id":"k"}"#);
    // The push's shared secret needs its `secret` field.
    set_creds(&sb, "acumatica-push", r#"{"token":"x"}"#);
    let out = sb.run(&["check"], "");
    let text = stdout(&out);
    assert_eq!(out.status.code(), Some(78), "{text}");
    assert!(
        text.contains(
            "connectors[0].push.secret: credentials `acumatica-push` have no `secret` field"
        ),
        "{text}"
    );
    set_creds(&sb, "acumatica-push", r#"{"secret":"Bearer x"}"#);
    let out = sb.run(&["check"], "");
    let text = stdout(&out);
    assert_eq!(out.status.code(), Some(0), "{text}");
    assert!(
        text.contains("is valid") && text.contains("2 connectors"),
        "{text}"
    );
    assert!(!text.contains("error:"), "{text}");
}

#[test]
fn ups_credentials_without_a_client_secret_are_a_problem() {
    let sb = repo_like();
    sb.write("config/upsync.yaml", "ups: {account_number: \"123X56\"}\n");
    set_creds(&sb, "ups", r#"{"client_id":"only-the-id"}"#);
    let out = sb.run(&["check"], "");
    let text = stdout(&out);
    assert_eq!(out.status.code(), Some(78), "{text}");
    assert!(
        text.contains("ups.credentials") && text.contains("client_secret"),
        "{text}"
    );
    assert!(!text.contains("only-the-id"), "{text}");
}

#[test]
fn environment_overrides_are_checked_and_named() {
    let sb = repo_like();
    sb.write("config/upsync.yaml", "ups: {account_number: \"123X56\"}\n");
    let out = sb
        .cmd(&["check"])
        .env("UPSYNC__HTTP__LISTEN", "everywhere")
        .env("UPSYNC__UPS__COLOUR", "brown")
        .output()
        .unwrap();
    let text = stdout(&out);
    assert_eq!(out.status.code(), Some(78), "{text}");
    assert!(
        text.contains("http.listen") && text.contains("UPSYNC__HTTP__LISTEN"),
        "{text}"
    );
    assert!(
        text.contains("ups.colour") && text.contains("UPSYNC__UPS__COLOUR"),
        "{text}"
    );
}

#[test]
fn a_missing_or_broken_config_file_is_reported_with_exit_78() {
    let sb = Sandbox::new();
    let out = sb.run(&["check"], "");
    assert_eq!(out.status.code(), Some(78));
    assert!(
        stdout(&out).contains("cannot read the configuration file"),
        "{}",
        stdout(&out)
    );

    sb.write(
        "config/upsync.yaml",
        "ups:\n  account_number: \"123X56\n  label: {}\n",
    );
    let out = sb.run(&["check"], "");
    let text = stdout(&out);
    assert_eq!(out.status.code(), Some(78));
    // file:line
    assert!(
        text.contains(&format!("{}:", sb.config.display())) && text.contains("YAML"),
        "{text}"
    );
    assert!(!sb.state_dir.exists(), "check must not create the state");
}

#[test]
fn a_wrong_master_key_is_an_error_for_check_and_changes_nothing() {
    let sb = repo_like();
    sb.write("config/upsync.yaml", "ups: {account_number: \"123X56\"}\n");
    set_creds(&sb, "ups", r#"{"client_id":"a","client_secret":"b"}"#);
    assert_eq!(sb.run(&["check"], "").status.code(), Some(0));
    let before = checksums(&sb.state_dir);
    let wrong = sb.path().join("wrong.key");
    write_key(&wrong, 0o600);
    let out = sb
        .cmd(&["check"])
        .env("UPSYNC_MASTER_KEY_FILE", &wrong)
        .output()
        .unwrap();
    let text = stdout(&out);
    assert_eq!(out.status.code(), Some(78), "{text}");
    assert!(text.contains("master key does not match"), "{text}");
    assert_eq!(before, checksums(&sb.state_dir));
}

/// Issue 17: a connector's `options` are its type's typed options (an unknown key is an
/// error naming the entry, the key and the accepted keys; before, any key was accepted and
/// silently ignored), and the deprecated `ups.label.format` draws a warning saying the
/// mapping decides (before, it was accepted and read by nothing).
#[test]
fn an_unknown_connector_option_is_a_problem_and_label_format_a_warning() {
    let sb = repo_like();
    let example =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/config/upsync.yaml"))
            .unwrap()
            .replace("      tenant: Company\n", "      tennant: Company\n")
            .replace("  label:\n", "  label:\n    format: zpl\n");
    sb.write("config/upsync.yaml", &example);
    let mut c = sb.cmd(&["check", "--no-credentials"]);
    c.env_remove("UPSYNC_MASTER_KEY_FILE");
    let out = c.output().unwrap();
    let text = stdout(&out);
    assert_eq!(out.status.code(), Some(78), "{text}{}", stderr(&out));
    assert!(
        text.contains("connectors[0].options") && text.contains("tennant"),
        "{text}"
    );
    assert!(
        text.contains("instance_url (or base_url), tenant"),
        "{text}"
    );
    assert!(
        text.contains("warning:") && text.contains("ups.label.format"),
        "{text}"
    );
}
