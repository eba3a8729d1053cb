//! Listings from the auction's source: its events, scored by the production version of the
//! model that reads the source's schema (trained first when the registry has none).

use super::listing::Listing;
use crate::data::load::training_events;
use crate::model::serving::ServingModel;
use crate::model::train::train_and_register;
use crate::plan::Plan;
use crate::program::{Auction, Program, SourceKind};

/// Events scored per prediction call.
const BATCH: usize = 4_096;

/// The first `auction.listings` events of the auction's source, with their labels as true
/// prices and the model's estimates and intervals. Events without a label are skipped.
pub fn load_listings(program: &Program, plan: &Plan, auction: &Auction) -> Result<(Vec<Listing>, u32), String> {
    let source = program
        .sources
        .iter()
        .find(|s| s.name == auction.source)
        .ok_or_else(|| format!("auction `{}`: no source `{}`", auction.name, auction.source))?;
    let model = plan.models.iter().find(|m| m.schema.name == source.schema).ok_or_else(|| {
        format!("auction `{}`: no model reads the schema `{}` of source `{}`", auction.name, source.schema, source.name)
    })?;
    let spec = match &source.kind {
        SourceKind::Generate { seed, .. } => {
            SourceKind::Generate { seed: *seed, rate: None, rows: Some(auction.listings) }
        }
        csv @ SourceKind::Csv { .. } => csv.clone(),
        _ => {
            return Err(format!(
                "auction `{}`: listings come from a generator or a CSV file; `{}` is neither",
                auction.name, source.name
            ))
        }
    };
    let registry = crate::registry::open(&model.model.registry).map_err(|e| e.to_string())?;
    let name = model.model.registered_name();
    if registry.production(name).ok().flatten().is_none() {
        let train = model.model.train.clone().ok_or_else(|| {
            format!("model `{}` has no production version and declares no `train:` data", model.model.name)
        })?;
        tracing::info!("no production version of `{name}` in {}: training one first", registry.location());
        train_and_register(model, &train, registry.as_ref())?;
    }
    let serving = ServingModel::production(registry.as_ref(), name, &model.features, model.model.predictor)
        .map_err(|e| e.to_string())?;
    let label = model
        .schema
        .fields
        .iter()
        .position(|f| f.name == model.model.label)
        .ok_or_else(|| format!("the schema has no label field `{}`", model.model.label))?;
    let loaded = training_events(&spec, &model.schema)?;
    let events: Vec<_> = loaded.events.into_iter().take(auction.listings as usize).collect();
    let mut listings = Vec::with_capacity(events.len());
    for chunk in events.chunks(BATCH) {
        let predictions =
            serving.predict_events(chunk.iter().map(|e| e.values.as_slice())).map_err(|e| e.to_string())?;
        for (event, p) in chunk.iter().zip(predictions) {
            let Some(true_price) = event.values[label].as_f64().filter(|v| v.is_finite() && *v > 0.0) else { continue };
            let [lower, upper] = p.interval.unwrap_or([p.estimate, p.estimate]);
            listings.push(Listing { id: event.id, true_price, estimate: p.estimate, lower, upper });
        }
    }
    if listings.is_empty() {
        return Err(format!(
            "auction `{}`: none of the {} events of `{}` has a `{}` (the true price)",
            auction.name,
            events.len(),
            source.name,
            model.model.label
        ));
    }
    if listings.len() < events.len() {
        tracing::warn!(
            "{} of {} listings had no `{}` and were left out",
            events.len() - listings.len(),
            events.len(),
            model.model.label
        );
    }
    Ok((listings, serving.version()))
}
