//! Issue 16 through the real binary: a corrupt store is never called healthy by `check`,
//! `jobs list` or `store verify`; hostile configuration files never crash, balloon or leak;
//! `check` fails when it cannot check credentials; backup and restore of a store.
//! Each test names what it guards; all of them failed on the old main (exit 0 "valid",
//! exit 134, a 6 GB process, the key in the output, an empty db silently created).

use crate::common::*;

fn stdout_and_err(o: &std::process::Output) -> String {
    format!("{}{}", stdout(o), stderr(o))
}

/// A minimal valid configuration (credentials skipped with --no-credentials).
fn minimal(sb: &Sandbox) {
    sb.write("config/upsync.yaml", "ups: {account_number: \"123X56\"}\n");
}

/// A store with some records, closed.
fn filled_store(sb: &Sandbox) {
    let s = upsync::store::Store::open(&sb.state_dir, None).unwrap();
    for i in 0..2000 {
        s.put_json(
            upsync::store::Tree::Cursors,
            &format!("c{i:05}"),
            &serde_json::json!({"i": i, "pad": "y".repeat(200)}),
        )
        .unwrap();
    }
    s.flush().unwrap();
}

/// Flip one byte inside a live record (the last copy of record c01000 in sled's log:
/// a byte in a segment sled has already given up is garbage and rightly not reported).
fn flip_a_byte(sb: &Sandbox) {
    let db = sb.state_dir.join("db").join("db");
    let mut bytes = std::fs::read(&db).unwrap();
    let marker = br#"{"i":1000,"#;
    let off = bytes
        .windows(marker.len())
        .rposition(|w| w == marker)
        .expect("record c01000 in the log")
        + 2;
    bytes[off] ^= 0x5a;
    std::fs::write(&db, &bytes).unwrap();
}

/// Must show: `upsync check` on a store with one corrupted page exits non-zero and names
/// corruption (it said "valid", exit 0).
#[test]
fn check_on_a_corrupted_store_exits_non_zero_and_names_corruption() {
    let sb = Sandbox::new();
    minimal(&sb);
    filled_store(&sb);
    let out = sb.run(&["check", "--no-credentials"], "");
    assert_eq!(out.status.code(), Some(0), "{}", stdout_and_err(&out));
    assert!(stdout(&out).contains("store verified"), "{}", stdout(&out));

    flip_a_byte(&sb);
    let out = sb.run(&["check", "--no-credentials"], "");
    let text = stdout_and_err(&out);
    assert_eq!(out.status.code(), Some(78), "{text}");
    assert!(text.contains("corrupt"), "{text}");
    assert!(text.contains("restore"), "{text}");
    assert!(!text.contains("is valid"), "{text}");

    let out = sb.run(&["store", "verify"], "");
    assert!(!out.status.success(), "{}", stdout_and_err(&out));
    assert!(stdout_and_err(&out).contains("corrupt"));
}

/// Guards: `state/db/` deleted with the manifest kept made `jobs list` create an empty db
/// and exit 0; now an error naming the loss and the fix, and nothing is created.
#[test]
fn a_deleted_db_next_to_its_manifest_stops_jobs_list() {
    let sb = Sandbox::new();
    minimal(&sb);
    filled_store(&sb);
    std::fs::remove_dir_all(sb.state_dir.join("db")).unwrap();
    let out = sb.run(&["jobs", "list"], "");
    let text = stdout_and_err(&out);
    assert!(!out.status.success(), "{text}");
    assert!(
        text.contains("missing or was emptied") && text.contains("restore"),
        "{text}"
    );
    assert!(!sb.state_dir.join("db").exists());
}

/// Guards: 3,000 nested `- ` overflowed the stack (exit 134); a 352-byte alias bomb grew
/// `check` to 6 GB. Both are now configuration errors (exit 78) within seconds.
#[test]
fn hostile_yaml_is_a_config_error_not_a_crash() {
    let sb = Sandbox::new();
    sb.write("config/upsync.yaml", &("- ".repeat(3000) + "x\n"));
    let out = sb.run(&["check", "--no-credentials"], "");
    let text = stdout_and_err(&out);
    assert_eq!(out.status.code(), Some(78), "{text}");
    assert!(text.contains("nests deeper"), "{text}");

    let mut bomb = String::from("a: &a [x,x,x,x,x,x,x,x,x]\n");
    let names = ["a", "b", "c", "d", "e", "f", "g", "h", "i"];
    for w in names.windows(2) {
        let (p, n) = (w[0], w[1]);
        bomb.push_str(&format!(
            "{n}: &{n} [*{p},*{p},*{p},*{p},*{p},*{p},*{p},*{p},*{p}]\n"
        ));
    }
    sb.write("config/upsync.yaml", &bomb);
    let started = std::time::Instant::now();
    let out = sb.run(&["check", "--no-credentials"], "");
    let text = stdout_and_err(&out);
    assert_eq!(out.status.code(), Some(78), "{text}");
    assert!(text.contains("aliases"), "{text}");
    assert!(started.elapsed() < std::time::Duration::from_secs(20));
}

/// Guards: `profile:` at the master key file printed the whole key; `mapping:` at a
/// system file echoed its lines; `profile: /dev/zero` read without bound.
#[test]
fn files_named_by_the_config_are_never_echoed_nor_read_unbounded() {
    let sb = Sandbox::new();
    let key = std::fs::read_to_string(&sb.key_file).unwrap();
    let key = key.trim();
    sb.write(
        "config/passwd",
        "root:x:0:0:root:/root:/bin/bash\nsecretuser:x:1:1::/:/bin/sh\n",
    );
    sb.write(
        "config/upsync.yaml",
        &format!(
            "ups: {{account_number: \"123X56\"}}\nconnectors:\n  - {{name: a, type: acumatica, profile: {}, mapping: passwd, schedule: \"*/5 * * * *\", credentials: a}}\n  - {{name: b, type: acumatica, profile: /dev/zero, mapping: passwd, schedule: \"*/5 * * * *\", credentials: b}}\n",
            sb.key_file.display()
        ),
    );
    let out = sb.run(&["check", "--no-credentials"], "");
    let text = stdout_and_err(&out);
    assert_eq!(out.status.code(), Some(78), "{text}");
    assert!(!text.contains(key), "the key leaked:\n{text}");
    assert!(
        !text.contains(&key[..12]),
        "part of the key leaked:\n{text}"
    );
    assert!(
        !text.contains("secretuser") && !text.contains("/bin/bash"),
        "{text}"
    );
    assert!(text.contains("a device"), "{text}");
    assert!(text.contains("single text value"), "{text}");
}

/// Backup while the store is open elsewhere in the process is covered by the unit test;
/// here: `store backup` of a stopped store, then the copy restores (verify + reopen).
#[test]
fn store_backup_and_restore() {
    let sb = Sandbox::new();
    minimal(&sb);
    filled_store(&sb);
    let to = sb.path().join("backups/one");
    let out = sb.run(&["store", "backup", to.to_str().unwrap()], "");
    assert!(out.status.success(), "{}", stdout_and_err(&out));
    assert!(stdout(&out).contains("backed up"), "{}", stdout(&out));
    // Damage the original: `store verify` says so; `store export` salvages what still
    // reads into a state directory that opens.
    flip_a_byte(&sb);
    let out = sb.run(&["store", "verify"], "");
    assert!(!out.status.success(), "{}", stdout_and_err(&out));
    let salvaged = sb.path().join("backups/salvaged");
    let out = sb.run(&["store", "export", salvaged.to_str().unwrap()], "");
    assert!(out.status.success(), "{}", stdout_and_err(&out));
    assert!(stdout(&out).contains("exported"), "{}", stdout(&out));
    let s = upsync::store::Store::open(&salvaged, None).unwrap();
    s.verify(std::time::Duration::from_secs(30)).unwrap();
    drop(s);
    // Restore the backup in place of the damaged original.
    std::fs::rename(&sb.state_dir, sb.path().join("state.damaged")).unwrap();
    std::fs::rename(&to, &sb.state_dir).unwrap();
    let out = sb.run(&["store", "verify"], "");
    assert!(out.status.success(), "{}", stdout_and_err(&out));
    let s = upsync::store::Store::open(&sb.state_dir, None).unwrap();
    let v: serde_json::Value = s
        .get_json(upsync::store::Tree::Cursors, "c01999")
        .unwrap()
        .unwrap();
    assert_eq!(v["i"], 1999);
}

/// Guards issue 16 item 3 ("say the type and position, not the value"): a value of the
/// wrong type is reported by its type, not echoed.
#[test]
fn a_wrong_type_is_named_by_its_type_not_its_value() {
    let sb = Sandbox::new();
    sb.write(
        "config/upsync.yaml",
        "ups: {account_number: \"123X56\"}\npipeline: {retention_days: \"Zs3cretVALUE\"}\n",
    );
    let out = sb.run(&["check", "--no-credentials"], "");
    let text = stdout_and_err(&out);
    assert_eq!(out.status.code(), Some(78), "{text}");
    assert!(text.contains("pipeline.retention_days"), "{text}");
    assert!(text.contains("a string"), "{text}");
    assert!(!text.contains("Zs3cretVALUE"), "{text}");
}

/// Guards issue 16 item 6: `0.0.0.0` as the listen address was accepted without a word.
#[test]
fn a_public_listen_address_draws_a_warning() {
    let sb = Sandbox::new();
    sb.write(
        "config/upsync.yaml",
        "ups: {account_number: \"123X56\"}\nhttp: {listen: \"0.0.0.0:8080\"}\n",
    );
    let out = sb.run(&["check", "--no-credentials"], "");
    let text = stdout_and_err(&out);
    assert_eq!(out.status.code(), Some(0), "{text}");
    assert!(
        text.contains("warning:")
            && text.contains("http.listen")
            && text.contains("allow_public_listen"),
        "{text}"
    );
    sb.write(
        "config/upsync.yaml",
        "ups: {account_number: \"123X56\"}\nhttp: {listen: \"0.0.0.0:8080\", allow_public_listen: true}\n",
    );
    let out = sb.run(&["check", "--no-credentials"], "");
    assert!(!stdout(&out).contains("http.listen"), "{}", stdout(&out));
}

/// Guards issue 16 item 2: `run` on a store with a flipped byte served `/readyz` 200 and
/// `once` exited 0. Both now stop before doing anything, naming corruption and the fix.
#[test]
fn run_and_once_refuse_a_corrupted_store() {
    let sb = Sandbox::new();
    sb.write(
        "config/upsync.yaml",
        "ups: {account_number: \"123X56\"}\nhttp: {listen: \"127.0.0.1:0\"}\n",
    );
    filled_store(&sb);
    flip_a_byte(&sb);
    for args in [&["run"][..], &["once"][..]] {
        let out = sb.run(args, "");
        let text = stdout_and_err(&out);
        assert!(!out.status.success(), "{args:?}: {text}");
        assert!(
            text.contains("corrupt") && text.contains("restore"),
            "{args:?}: {text}"
        );
    }
}

/// `upsync jobs list | head -0`: a reader that went away ends the listing quietly, as a
/// Unix tool does (SIGPIPE), instead of a panic with exit 101 and a backtrace hint.
#[test]
fn a_listing_into_a_closed_pipe_ends_quietly() {
    use std::os::fd::{FromRawFd, OwnedFd};
    use std::os::unix::process::ExitStatusExt;
    use std::process::Stdio;
    let sb = Sandbox::new();
    minimal(&sb);
    let mut fds = [0; 2];
    // SAFETY: pipe2 fills two fresh descriptors, each owned exactly once below.
    assert_eq!(unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) }, 0);
    let (reader, writer) = unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) };
    drop(reader);
    let out = sb
        .cmd(&["jobs", "list"])
        .stdin(Stdio::null())
        .stdout(Stdio::from(writer))
        .stderr(Stdio::piped())
        .output()
        .unwrap();
    let err = stderr(&out);
    assert!(!err.contains("panicked"), "{err}");
    assert_eq!(
        out.status.signal(),
        Some(libc::SIGPIPE),
        "{:?}: {err}",
        out.status
    );
}
