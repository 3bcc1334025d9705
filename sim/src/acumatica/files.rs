//! Files attached to a shipment: `PUT`/`GET …/files/{filename}` by key values and
//! `GET /files/{fileId}` (ERP-NOTES.md §A).

use super::*;

// ---------------------------------------------------------------------------------------
// Files

/// `PUT /Shipment/{ids}/files/{filename}`: ACU-SPEC (`Shipment_PutFile`) declares `ids` as
/// "The values of the key fields of the record. The values are slash-delimited." — for a
/// Shipment the ShipmentNbr, not the record's `id` GUID (only `GET/DELETE /Shipment/{id}`
/// take the GUID). A GUID there finds no record: the documented "No entity satisfies the
/// condition" HttpError with 500 (ERP-NOTES §A3, §G5).
pub(super) async fn put_file(
    State(st): State<Arc<AcuState>>,
    Path((ep, ver, ids, filename)): Path<(String, String, String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let drop_after = match enter(&st, "files", &ep, &ver, &headers).await {
        Ok(d) => d,
        Err(r) => return r,
    };
    let mut g = st.lock();
    let Some(sid) = g.order.get(&ids).cloned() else {
        drop(g);
        st.core.stats.incr("files.no_entity");
        return no_entity();
    };
    let nbr = g.shipments[&sid]["ShipmentNbr"]["value"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let full_name = format!("Shipments ({nbr})\\{filename}");
    let existing = g
        .files_by_shipment
        .get(&sid)
        .into_iter()
        .flatten()
        .find(|id| g.files.get(*id).is_some_and(|f| f.name == full_name))
        .cloned();
    let fid = match existing {
        Some(fid) => fid,
        None => {
            let fid = uuid::Uuid::new_v4().to_string();
            g.files_by_shipment
                .entry(sid.clone())
                .or_default()
                .push(fid.clone());
            fid
        }
    };
    g.files.insert(
        fid.clone(),
        StoredFile {
            id: fid.clone(),
            name: full_name,
            data: body,
        },
    );
    let list: Vec<Value> = {
        let mut v: Vec<&StoredFile> = g.files_by_shipment[&sid]
            .iter()
            .filter_map(|id| g.files.get(id))
            .collect();
        v.sort_by(|a, b| a.name.cmp(&b.name));
        v.iter()
            .map(|f| json!({"id": f.id, "filename": f.name, "href": format!("/entity/{ep}/{ver}/files/{}", f.id)}))
            .collect()
    };
    if let Some(r) = g.shipments.get_mut(&sid) {
        r["files"] = Value::Array(list);
    }
    drop(g);
    if drop_after {
        return common::faults::broken_response();
    }
    StatusCode::NO_CONTENT.into_response()
}

pub(super) fn file_response(f: &StoredFile) -> Response {
    (
        StatusCode::OK,
        [("content-type", "application/octet-stream")],
        f.data.clone(),
    )
        .into_response()
}

pub(super) async fn get_attached_file(
    State(st): State<Arc<AcuState>>,
    Path((ep, ver, ids, filename)): Path<(String, String, String, String)>,
    headers: HeaderMap,
) -> Response {
    if let Err(r) = enter(&st, "files", &ep, &ver, &headers).await {
        return r;
    }
    let g = st.lock();
    let Some(sid) = g.order.get(&ids).cloned() else {
        return no_entity();
    };
    let suffix = format!("\\{filename}");
    match g
        .files_by_shipment
        .get(&sid)
        .into_iter()
        .flatten()
        .filter_map(|id| g.files.get(id))
        .find(|f| f.name.ends_with(&suffix))
    {
        Some(f) => file_response(f),
        None => no_entity(),
    }
}

pub(super) async fn get_file(
    State(st): State<Arc<AcuState>>,
    Path((ep, ver, file_id)): Path<(String, String, String)>,
    headers: HeaderMap,
) -> Response {
    if let Err(r) = enter(&st, "files", &ep, &ver, &headers).await {
        return r;
    }
    let g = st.lock();
    match g.files.get(&file_id) {
        Some(f) => file_response(f),
        None => no_entity(),
    }
}
