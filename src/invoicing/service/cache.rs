//! The PDFs of documents, rendered off the async threads and kept for the last ones asked for.
use super::*;

/// Rendered PDFs of the last documents asked for. An issued document never changes, so its
/// bytes are the same for everyone allowed to see it (the caller checks who asks, first).
pub(crate) type Rendered = (Uuid, String, Vec<u8>);
pub(crate) static RENDERED: std::sync::Mutex<Vec<(Uuid, std::sync::Arc<Rendered>)>> =
    std::sync::Mutex::new(Vec::new());
pub(crate) const RENDERED_KEPT: usize = 64;

pub(crate) fn cached(id: Uuid) -> Option<std::sync::Arc<Rendered>> {
    let kept = RENDERED.lock().unwrap_or_else(|p| p.into_inner());
    kept.iter().find(|(k, _)| *k == id).map(|(_, v)| v.clone())
}

pub(crate) fn keep(id: Uuid, rendered: std::sync::Arc<Rendered>) {
    let mut kept = RENDERED.lock().unwrap_or_else(|p| p.into_inner());
    kept.retain(|(k, _)| *k != id);
    if kept.len() >= RENDERED_KEPT {
        kept.remove(0);
    }
    kept.push((id, rendered));
}

/// The PDF of a document: (order, number, bytes), rendered off the async threads (CPU work),
/// once while it stays among the last ones asked for.
pub async fn pdf(db: &Db, id: Uuid) -> Result<Option<std::sync::Arc<Rendered>>, AppError> {
    if let Some(hit) = cached(id) {
        return Ok(Some(hit));
    }
    let Some((order, doc)) = load(db, id).await? else {
        return Ok(None);
    };
    let number = doc.number.clone();
    let bytes = tokio::task::spawn_blocking(move || crate::invoicing::pdf::render(&doc))
        .await
        .map_err(|e| e.to_string())
        .and_then(|r| r)
        .map_err(|e| {
            tracing::error!(error = %e, invoice = %id, "PDF rendering failed");
            AppError::Internal
        })?;
    let rendered = std::sync::Arc::new((order, number, bytes));
    keep(id, rendered.clone());
    Ok(Some(rendered))
}
