//! The data commons: datasets and map layers each department owns, the rules by which they are shared (standing,
//! area-bound, activation-bound), what residents and the public see, and who read what.

mod datasets;
mod layers;
mod osm_layers;

use crate::kernel::Kernel;

pub use crate::registry::REGISTER;
pub use crate::util::{PUBLIC_CELL_DEG, PUBLIC_MIN_COUNT};

pub use datasets::{
    AccessView, ActivationCondition, DataConfig, DatasetImportReport, DatasetInput, DatasetView, FieldSpec, FieldType, KINDS,
    MAX_IMPORT_BYTES, PolicyInput, PolicyView, ResidentAccessView, RowProblem,
};
pub use layers::{DEFAULT_MAP_LAYERS, DEFAULT_MAP_LAYERS_KEY, FeatureQuery, LayerImport, LayerImportReport, LayerView};
pub use osm_layers::{OSM_LICENCE, layers};

/// The commons context's use cases.
#[derive(Debug, Clone)]
pub struct Commons {
    pub(crate) kernel: Kernel,
    pub(crate) registry: crate::registry::Registry,
    pub(crate) incidents: crate::incidents::Incidents,
    pub(crate) warnings: crate::warnings::Warnings,
}

impl Commons {
    pub(crate) fn new(
        kernel: Kernel,
        registry: crate::registry::Registry,
        incidents: crate::incidents::Incidents,
        warnings: crate::warnings::Warnings,
    ) -> Commons {
        Commons { kernel, registry, incidents, warnings }
    }
}
