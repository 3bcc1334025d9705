//! The pickups page (`GET /console/pickups`: site, date, PRN, state, shipments covered)
//! and its cancel button (`POST /console/actions/cancel-pickup`, CSRF-checked like the
//! other actions; the same operation as `upsync pickups cancel PRN`).

use super::*;

pub(super) async fn page_pickups(
    State(st): State<ConsoleState>,
    axum::Extension(s): axum::Extension<Session>,
) -> Response {
    match st.backend.pickups() {
        Ok(rows) => render(
            "pickups.html",
            context! { rows => rows, ..page(&s, "pickups") },
        ),
        Err(e) => failed(&s, &e),
    }
}

pub(super) async fn cancel_pickup(
    State(st): State<ConsoleState>,
    axum::Extension(s): axum::Extension<Session>,
    Form(f): Form<ActionForm>,
) -> Response {
    if !auth::csrf_ok(&s, f.csrf.as_deref()) {
        return csrf_refused();
    }
    let msg = match st.backend.cancel_pickup(&f.id).await {
        Ok(state) => format!("Pickup {}: it is now {state}.", f.id),
        Err(e) => format!("Cancelling pickup {} failed: {e}", f.id),
    };
    tracing::info!(prn = %f.id, outcome = %msg, action = "cancel_pickup", "console action");
    st.sessions.flash(&s.id, msg);
    Redirect::to("/console/pickups").into_response()
}
