//! `upsync rates quote`: quote one shipment as the checkout endpoint would
//! (`POST /v1/rates`, [`crate::checkout`]): from the cache, UPS within
//! `checkout.timeout_ms`, or the fallback table; print a table, or the endpoint's JSON
//! with `--json`.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use serde_json::{json, Value};

use crate::cli::Globals;

#[derive(Debug, clap::Subcommand)]
pub enum RatesCommand {
    /// Quote one shipment: services, list and account charges, transit days, source.
    Quote(QuoteArgs),
}

#[derive(Debug, clap::Args)]
pub struct QuoteArgs {
    /// Ship-from: a warehouse key of `checkout.ship_from`, or an address
    /// `STREET,CITY,STATE,POSTAL,COUNTRY` (`100 Main St,Atlanta,GA,30301,US`).
    #[arg(long, required_unless_present = "file")]
    pub from: Option<String>,
    /// Ship-to: `STREET,CITY,STATE,POSTAL,COUNTRY` (`1 Elm Lane,Roswell,GA,30075,US`;
    /// STATE may be empty where the country has none).
    #[arg(long, required_unless_present = "file")]
    pub to: Option<String>,
    /// The ship-to is residential.
    #[arg(long)]
    pub residential: bool,
    /// Package weight; repeat for several packages.
    #[arg(long, required_unless_present = "file")]
    pub weight: Vec<String>,
    /// Weight unit: lb, kg or oz.
    #[arg(long, default_value = "lb")]
    pub weight_unit: String,
    /// Package dimensions LxWxH (inches), in the order of --weight.
    #[arg(long)]
    pub dims: Vec<String>,
    /// A JSON body as `POST /v1/rates` takes it, instead of the options above.
    #[arg(long, conflicts_with_all = ["from", "to", "weight", "dims"])]
    pub file: Option<PathBuf>,
    /// Print the endpoint's JSON answer instead of a table.
    #[arg(long)]
    pub json: bool,
}

/// `upsync rates …`.
pub async fn run(g: &Globals, cmd: RatesCommand) -> anyhow::Result<ExitCode> {
    match cmd {
        RatesCommand::Quote(a) => quote(g, a).await,
    }
}

fn address(s: &str, what: &str) -> anyhow::Result<Value> {
    let parts: Vec<&str> = s.split(',').map(str::trim).collect();
    let [street, city, state, postal, country] = parts.as_slice() else {
        anyhow::bail!(
            "--{what} {s:?}: write STREET,CITY,STATE,POSTAL,COUNTRY, e.g. \"1 Elm Lane,Roswell,GA,30075,US\""
        );
    };
    Ok(json!({"lines": [street], "city": city, "state": state,
              "postal_code": postal, "country": country}))
}

fn body(a: &QuoteArgs) -> anyhow::Result<Value> {
    if let Some(f) = &a.file {
        let text =
            std::fs::read_to_string(f).with_context(|| format!("cannot read {}", f.display()))?;
        return serde_json::from_str(&text).with_context(|| format!("{} is not JSON", f.display()));
    }
    let from = a.from.as_deref().unwrap_or_default();
    let from = if from.contains(',') {
        address(from, "from")?
    } else {
        json!(from)
    };
    let mut to = address(a.to.as_deref().unwrap_or_default(), "to")?;
    to["residential"] = json!(a.residential);
    if a.dims.len() > a.weight.len() {
        anyhow::bail!("more --dims than --weight: give one --weight per package");
    }
    let mut packages = Vec::new();
    for (i, w) in a.weight.iter().enumerate() {
        let mut p = json!({"weight": w, "weight_unit": a.weight_unit});
        if let Some(d) = a.dims.get(i) {
            let v: Vec<&str> = d.split(['x', 'X']).map(str::trim).collect();
            let [l, wd, h] = v.as_slice() else {
                anyhow::bail!("--dims {d:?}: write LxWxH, e.g. 12x10x6");
            };
            p["length"] = json!(l);
            p["width"] = json!(wd);
            p["height"] = json!(h);
        }
        packages.push(p);
    }
    Ok(json!({"ship_from": from, "ship_to": to, "packages": packages}))
}

async fn quote(g: &Globals, a: QuoteArgs) -> anyhow::Result<ExitCode> {
    let body = body(&a)?;
    let rates = match crate::app::wiring::quote_once(&g.config, &body).await? {
        Ok(r) => r,
        Err(bad) => {
            eprintln!("upsync: {bad}");
            return Ok(ExitCode::from(2));
        }
    };
    if a.json {
        println!("{}", serde_json::to_string_pretty(&rates)?);
        return Ok(ExitCode::SUCCESS);
    }
    let reason = rates
        .estimate_reason
        .map(|r| format!(" ({r})"))
        .unwrap_or_default();
    println!("source: {}{reason}", rates.source.as_str());
    println!(
        "{:<5} {:<32} {:>10} {:>10} {:<4} {:>7}",
        "code", "service", "list", "account", "cur", "days"
    );
    let or_dash = |x: Option<String>| x.unwrap_or_else(|| "-".into());
    for s in &rates.services {
        println!(
            "{:<5} {:<32} {:>10} {:>10} {:<4} {:>7}",
            s.service_code,
            s.service_name,
            or_dash(s.charge_list.map(|d| d.to_string())),
            or_dash(s.charge_account.map(|d| d.to_string())),
            s.currency,
            or_dash(s.transit_days.map(|d| d.to_string())),
        );
    }
    Ok(ExitCode::SUCCESS)
}
