//! `upsync demo --console` (issue 21 Must show): after the run the console stays up, the
//! demo prints its URL and where the admin token is, the token logs in, the pages show the
//! demo's connectors and jobs and the one record left for the admin to fix (a package
//! without weight, with the fix printed), and SIGTERM ends the demo with its usual exit
//! status.

use std::time::Duration;

use tokio::io::{AsyncBufReadExt, BufReader};

use crate::pipeline_support::bin;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_demo_keeps_the_console_up_and_says_how_to_log_in() {
    let dir = tempfile::tempdir().unwrap();
    let work = dir.path().join("demo");
    let mut child = tokio::process::Command::new(bin())
        .args(["demo", "--shipments", "2", "--console", "--dir"])
        .arg(&work)
        .env_remove("UPSYNC_LOG")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let (mut url, mut token_line, mut seen) = (None, None, Vec::new());
    let read = async {
        while let Some(l) = lines.next_line().await.unwrap() {
            if let Some(u) = l.strip_prefix("console: ") {
                url = Some(u.to_string());
            }
            if l.starts_with("admin token: ") {
                token_line = Some(l.clone());
                break;
            }
            seen.push(l);
        }
    };
    tokio::time::timeout(Duration::from_secs(240), read)
        .await
        .expect("the demo prints the console's URL");
    let url = url.unwrap_or_else(|| panic!("no console line:\n{}", seen.join("\n")));
    let token_line = token_line.unwrap();
    assert!(
        url.starts_with("http://127.0.0.1:") && url.ends_with("/console/"),
        "{url}"
    );
    assert!(token_line.contains("`console-admin`"), "{token_line}");
    assert!(
        seen.iter().any(|l| l.contains("delivered")),
        "the table comes before the console:\n{}",
        seen.join("\n")
    );
    let token_file = work.join("console-admin-token");
    assert!(
        token_line.contains(&token_file.display().to_string()),
        "{token_line}"
    );
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(&token_file).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600, "the token file is private");
    let token = std::fs::read_to_string(&token_file).unwrap();

    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let r = http.get(&url).send().await.unwrap();
    assert_eq!(r.status(), 303, "not logged in yet");
    let base = url.trim_end_matches("/console/");
    let r = http
        .post(format!("{base}/console/login"))
        .form(&[("token", token.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    let cookie = r.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_string();
    let page = |path: &'static str| {
        let (http, cookie, base) = (http.clone(), cookie.clone(), base.to_string());
        async move {
            let r = http
                .get(format!("{base}{path}"))
                .header("cookie", cookie)
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), 200, "{path}");
            r.text().await.unwrap()
        }
    };
    let overview = page("/console/").await;
    assert!(
        overview.contains(">acumatica<") && overview.contains(">netsuite<"),
        "{overview}"
    );
    // One record waits for the admin, with the fix printed.
    let waiting = seen
        .iter()
        .find_map(|l| {
            l.strip_prefix("Acumatica shipment ")
                .and_then(|r| r.split(' ').next())
        })
        .unwrap_or_else(|| panic!("no dead-letter line:\n{}", seen.join("\n")))
        .to_string();
    assert!(
        seen.iter()
            .any(|l| l.starts_with("fix it in the simulator, then press Replay: curl ")),
        "{}",
        seen.join("\n")
    );
    let dead = page("/console/dead-letters").await;
    assert!(
        dead.contains(&format!("data-number=\"{waiting}\"")) && dead.contains("package_weight_"),
        "{dead}"
    );
    let delivered = page("/console/jobs?status=delivered").await;
    assert!(
        delivered.matches("/console/job?id=").count() >= 2,
        "{delivered}"
    );

    // SIGTERM ends it (exit 0: every parcel was delivered).
    let pid = child.id().unwrap() as i32;
    unsafe {
        libc::kill(pid, libc::SIGTERM);
    }
    let status = tokio::time::timeout(Duration::from_secs(30), child.wait())
        .await
        .expect("the demo stops on SIGTERM")
        .unwrap();
    assert_eq!(status.code(), Some(0));
}
