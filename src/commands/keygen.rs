//! `upsync keygen`: print a new random master key (base64) for `UPSYNC_MASTER_KEY_FILE`.

use std::io::IsTerminal;
use std::process::ExitCode;

use crate::store::MasterKey;

/// `upsync keygen`: the key on stdout, how to install it on stderr.
pub fn keygen() -> anyhow::Result<ExitCode> {
    let key = MasterKey::generate_text();
    print!("{key}");
    if std::io::stdout().is_terminal() {
        eprintln!(
            "\nThis is a new master key (base64, 32 bytes). Install it so only upsync can read it, e.g.:\n  \
             (umask 077; upsync keygen > /etc/upsync/master.key)   # mode 600\n  \
             export UPSYNC_MASTER_KEY_FILE=/etc/upsync/master.key    # or systemd: LoadCredential=master.key:/etc/upsync/master.key\n\
             Keep a copy somewhere safe: without it the vault cannot be read."
        );
    } else {
        eprintln!(
            "upsync: new master key written to stdout; make sure the file is mode 600 (chmod 600 FILE) and point UPSYNC_MASTER_KEY_FILE at it"
        );
    }
    Ok(ExitCode::SUCCESS)
}
