"""The lakehouse layer: Iceberg catalog, table schemas, and the single write path (:class:`FeatureStore`)."""

from reelhouse.lakehouse.catalog import catalog_properties, open_catalog
from reelhouse.lakehouse.schemas import ALL_TABLES, TableDef, table_def
from reelhouse.lakehouse.slice_files import SliceFileWriter
from reelhouse.lakehouse.slices import FeatureSlice, slices_filter
from reelhouse.lakehouse.store import FeatureStore, PinnedStore, ReadOnlyStore, WriteResult, new_run_id, snapshot_ids
from reelhouse.lakehouse.warehouse import WarehouseUnavailable, probe_warehouse, storage_failure, storage_failure_in_text

__all__ = [
    "ALL_TABLES",
    "FeatureSlice",
    "FeatureStore",
    "PinnedStore",
    "ReadOnlyStore",
    "SliceFileWriter",
    "TableDef",
    "WarehouseUnavailable",
    "WriteResult",
    "catalog_properties",
    "new_run_id",
    "open_catalog",
    "probe_warehouse",
    "slices_filter",
    "snapshot_ids",
    "storage_failure",
    "storage_failure_in_text",
    "table_def",
]
